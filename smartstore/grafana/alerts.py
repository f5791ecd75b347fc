"""HQ's alert rules, provisioned from a file beside the dashboards
(dashboards/provisioning/alerting/smartstore.yaml, Grafana's file format, apiVersion 1).

Each rule is one InfluxQL query per store (A), its last value (B) and a threshold (C): the
rule fires per store (Grafana makes one alert instance per series, labelled with its tags).
tests/test_dashboards.py runs every query on InfluxDB with a seeded bad and good store and
evaluates B and C as Grafana does. What HQ sees: docs/grafana.md.
"""

from dataclasses import dataclass
from typing import Any, Final, Literal

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.alerting import RelativeTimeRange

from cloud.const import M_HUB_STATUS
from edge.telemetry.points import M_CALL_RESPONSES, M_DEVICE_ALARMS
from smartstore.grafana.influxql import DATASOURCE_UID, FOLDER, Q

GROUP: Final = "smartstore"
EVALUATE_EVERY: Final = "1m"
EXPRESSIONS: Final = "__expr__"  # Grafana's server-side expressions "data source"

HUB_OFFLINE_S: Final = 300  # a hub offline for 5 minutes
PAPER_OUT_FOR: Final = "2m"  # a printer out of paper for 2 minutes
BACKLOG_AGE_S: Final = 600  # an outbox backlog older than 10 minutes
RESPONSE_P95_S: Final = 180  # call response p95 over 3 minutes
# The p95 is of the calls answered in the last half hour: a window long enough for a few
# calls in a quiet store, short enough that the alert clears soon after service recovers.
RESPONSE_WINDOW_S: Final = 1800
# Alarms are points when raised and cleared: one raised weeks ago and never cleared is still
# out of paper (the hub raises it again only after a clear).
ALARM_LOOKBACK_S: Final = 30 * 86400


@dataclass(frozen=True)
class Rule:
    uid: str
    title: str
    query: str  # InfluxQL, one series per store (and device)
    lookback_s: int  # the query's time range, ending now
    above: float  # fires when the series' last value is above this
    for_: str  # how long the condition must hold
    no_data: Literal["OK", "NoData", "Alerting"]
    summary: str


RULES: Final = (
    Rule(
        "smartstore-hub-offline",
        "Hub offline for 5 minutes",
        f'SELECT last("since_seen_s") FROM "{M_HUB_STATUS}" WHERE $timeFilter GROUP BY "store"',
        600,
        HUB_OFFLINE_S,
        "0s",
        # hub_status comes from HQ's own exporter: none at all means HQ's exporter (or its
        # InfluxDB) is down, and then no hub is watched: say so.
        "Alerting",
        "Store {{ $labels.store }}: its hub has not reached HQ for over 5 minutes.",
    ),
    Rule(
        "smartstore-printer-paper-out",
        "Printer out of paper for 2 minutes",
        f'SELECT last("active") FROM "{M_DEVICE_ALARMS}" WHERE "kind" = \'paper_out\' '
        'AND $timeFilter GROUP BY "store", "device"',
        ALARM_LOOKBACK_S,
        0,
        PAPER_OUT_FOR,
        "OK",  # no paper alarm in 30 days
        "Store {{ $labels.store }}: printer {{ $labels.device }} is out of paper.",
    ),
    Rule(
        "smartstore-outbox-backlog",
        "Outbox backlog older than 10 minutes",
        f'SELECT last("backlog_age_s") FROM "{M_HUB_STATUS}" WHERE $timeFilter GROUP BY "store"',
        600,
        BACKLOG_AGE_S,
        "0s",
        "OK",  # the hub-offline rule covers silence
        "Store {{ $labels.store }}: its hub's oldest unsent fact waited over 10 minutes.",
    ),
    Rule(
        "smartstore-call-response-p95",
        "Call response p95 over 3 minutes",
        f'SELECT percentile("response_s", 95) FROM "{M_CALL_RESPONSES}" WHERE $timeFilter '
        'GROUP BY "store"',
        RESPONSE_WINDOW_S,
        RESPONSE_P95_S,
        "0s",
        # No call answered in the window: the store is closed (or quiet). That is what
        # limits this rule to service hours.
        "OK",
        "Store {{ $labels.store }}: 95% of calls answered in the last 30 minutes took up"
        " to {{ $values.B }} s (over 3 minutes).",
    ),
)


def _rule(r: Rule) -> alerting.Rule:
    query = (
        alerting.Query("A")
        .datasource_uid(DATASOURCE_UID)
        .relative_time_range(RelativeTimeRange(from_val=r.lookback_s, to=0))
        .model(Q(r.query))
    )
    last = (
        alerting.Query("B")
        .datasource_uid(EXPRESSIONS)
        .model(expr.TypeReduce().ref_id("B").expression("A").reducer("last"))
    )
    threshold = (
        alerting.Query("C")
        .datasource_uid(EXPRESSIONS)
        .model(
            expr.TypeThreshold()
            .ref_id("C")
            .expression("B")
            .conditions(
                [
                    expr.ExprTypeThresholdConditions().evaluator(
                        expr.ExprTypeThresholdConditionsEvaluator().type("gt").params([r.above])
                    )
                ]
            )
        )
    )
    return (
        alerting.Rule(r.title)
        .uid(r.uid)
        .queries([query, last, threshold])
        .condition("C")
        .for_val(r.for_)
        .no_data_state(r.no_data)
        .exec_err_state("Error")
        .annotations({"summary": r.summary})
        .labels({"team": "hq"})
    )


def provisioning() -> dict[str, Any]:
    """The alert rules file: the SDK builds each rule in the HTTP API's shape; the file format
    names the folder and group once for the group, so those keys go."""
    rules = []
    for r in RULES:
        built: dict[str, Any] = JSONEncoder().default(_rule(r).build())
        for key in ("folderUID", "orgID", "ruleGroup"):
            built.pop(key, None)
        rules.append(_plain(built))
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": FOLDER,
                "interval": EVALUATE_EVERY,
                "rules": rules,
            }
        ],
    }


def _plain(node: Any) -> Any:
    """The SDK's objects as plain dicts and lists (what YAML can write)."""
    to_json = getattr(node, "to_json", None)
    if callable(to_json):
        return _plain(to_json())
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
