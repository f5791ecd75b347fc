"""The HQ dashboards (dashboards/) and the HQ stack (docker-compose.yml), checked without Grafana.

Grafana itself cannot run on this machine (Debian has no Grafana package and there is no Docker
daemon here), so nothing in this file loads a dashboard into Grafana or renders it. What is
checked instead:

- every dashboard JSON parses, has a uid, and every InfluxQL query in it names only the
  measurements, tags and fields that edge/telemetry/points.py (the hubs) and
  cloud/sales_influx.py and cloud/fleet_influx.py (HQ) really write;
- every panel query, with Grafana's macros substituted the way Grafana would, runs without an
  error on the real InfluxDB 1.6.7 (session fixture `influxdb`) over points built by the real
  functions of edge/telemetry/points.py, and the main panels return what was written;
- the provisioning files, the dashboards and docker-compose.yml agree with each other, and
  Debian's docker-compose 1.29 accepts the compose file (`docker-compose config -q`).
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud import const as cloud_const
from cloud.analytics.rfm import segment_points
from cloud.db import Base as CloudBase
from cloud.db import make_engine, make_sessions
from cloud.fleet_influx import liability_points, status_points
from cloud.games_influx import budget_points
from cloud.members.models import PointsEntry as MemberPoints
from cloud.models import ConfigDocument, Store
from cloud.sales_influx import SalesEvent, sales_points
from contract import DeviceType, PrinterTelemetry, Telemetry
from contract.campaigns import Budget, CampaignsConfig
from contract.const import CoverState, PaperLevel
from contract.inventory import DeviceSpec
from edge.calls.models import Call
from edge.devices.models import Alarm
from edge.telemetry import points
from edge.telemetry.points import M_CALL_RESPONSES, M_CALLS, M_DEVICE_TELEMETRY, M_HUB_INGEST
from smartstore.services import InfluxServer
from tests.games import wheel

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "dashboards"
PROVISIONING = DASHBOARDS / "provisioning"
COMPOSE = ROOT / "docker-compose.yml"
DATASOURCE_UID = "smartstore-influx"
DB = "smartstore"

Schema = dict[str, tuple[frozenset[str], frozenset[str]]]  # measurement -> (tags, fields)


# --- what edge/telemetry/points.py writes -------------------------------------------------


def _split(text: str, sep: str) -> list[str]:
    """Split line protocol on `sep`, honouring backslash escapes and double-quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == sep and not quoted:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def parse_line(line: str) -> tuple[str, dict[str, str], frozenset[str], int]:
    """(measurement, tags, field names, timestamp in ns) of one line-protocol point."""
    series, fields, ts = _split(line, " ")
    measurement, *tag_pairs = _split(series, ",")
    tags = dict(_unescape(p).split("=", 1) for p in tag_pairs)
    names = frozenset(_unescape(_split(f, "=")[0]) for f in _split(fields, ","))
    return _unescape(measurement), tags, names, int(ts)


def _button(device_id: str, zone: str = "A") -> DeviceSpec:
    return DeviceSpec(id=device_id, type=DeviceType.CALL_BUTTON, zone=zone)


def _call(
    call_id: int,
    device_id: str,
    created_at: float,
    response_s: float | None = None,
    urgent_after_s: float | None = None,
) -> Call:
    acked_at = None if response_s is None else created_at + response_s
    urgent_at = None if urgent_after_s is None else created_at + urgent_after_s
    return Call(
        id=call_id,
        device_id=device_id,
        zone="A",
        table_name="A1",
        reason="service",
        created_at=created_at,
        last_press_at=created_at,
        presses=1,
        urgent_at=urgent_at,
        acked_at=acked_at,
        acked_by=None if acked_at is None else "alice",
        response_s=response_s,
    )


def measurement_names() -> set[str]:
    """Every M_* constant of edge.telemetry.points (the hubs) and cloud.const (HQ)."""
    return {
        v
        for module in (points, cloud_const)
        for k, v in vars(module).items()
        if k.startswith("M_") and isinstance(v, str)
    }


def hq_lines(now: float) -> list[str]:
    """What HQ writes, every optional field filled in: an order, a void, a payment, member,
    coupon, feedback, waitlist and game events, a store's hub status, the liability, RFM counts
    and a campaign's budget."""
    order = {
        "order": "o1",
        "source": "table",
        "lines": [
            {
                "dish": "tea",
                "name_zh": "茶",
                "name_en": "Tea",
                "station": "bar",
                "qty": 2,
                "unit_price_fen": 500,
            }
        ],
    }
    void = {"order": "o1", "dish": "tea", "qty": 1, "unit_price_fen": 500, "by": "alice"}
    payment = {
        "payment": "p1",
        "table": "A1",
        "amount_fen": 500,
        "method": "cash",
        "orders": ["o1"],
        "paid_at": now,
        "by": "alice",
        "member": "mschema001",
    }
    member = "mschema001"
    joined = {"member": member, "phone_hash": "a" * 64, "phone_masked": "138****0000",
              "consent": "c", "joined_at": now}  # fmt: skip
    entry = {"entry": "e-schema01", "member": member, "points": 50, "cause": "earn", "ref": "p1",
             "at": now, "by": "alice"}  # fmt: skip
    issued = {"coupon": "CAAAAAAAAAA", "member": member, "template": "welcome",
              "source": "welcome", "valid_from": now, "valid_until": now,
              "issued_at": now}  # fmt: skip
    redeemed = {"coupon": "CAAAAAAAAAA", "member": member, "payment": "p1", "off_fen": 100,
                "at": now}  # fmt: skip
    rated = {"payment": "p1", "table": "A1", "food": 5, "service": 4, "comment": "ok", "at": now}
    seated = {"party": "p" * 32, "number": "A001", "group": "A", "size": 2, "what": "seated",
              "source": "kiosk", "priority": False, "taken_at": now - 600, "at": now,
              "est_low_s": 300.0, "est_s": 500.0, "est_high_s": 800.0, "waited_s": 600.0,
              "error_s": 100.0, "table": "A1"}  # fmt: skip
    played = {"play": "gschema001", "campaign": "wheel", "kind": "wheel", "member": member,
              "table": "A1", "payment": "p1", "prize": "c20", "prize_kind": "coupon",
              "cost_fen": 2000, "rand": 3, "total": 100, "status": "paid", "flag": "",
              "signature": "ab" * 32, "at": now}  # fmt: skip
    events = [
        SalesEvent(1, "S1", "op-o1", "order.placed", now, now, order),
        SalesEvent(2, "S1", "ov-o1-1", "order.line_voided", now, now, void),
        SalesEvent(3, "S1", "pay-p1", "payment.recorded", now, now, payment),
        SalesEvent(4, "S1", "mj-mschema001", "member.joined", now, now, joined),
        SalesEvent(5, "S1", "pt-e-schema01", "member.points", now, now, entry),
        SalesEvent(6, "S1", "ci-CAAAAAAAAAA", "coupon.issued", now, now, issued),
        SalesEvent(7, "S1", "cr-CAAAAAAAAAA-p1", "coupon.redeemed", now, now, redeemed),
        SalesEvent(8, "S1", "fb-p1", "feedback.given", now, now, rated),
        SalesEvent(9, "S1", "wl-" + "p" * 32 + "-seated", "waitlist.party", now, now, seated),
        SalesEvent(10, "S1", "gp-gschema001", "game.played", now, now, played),
    ]
    engine = make_engine("sqlite://")
    CloudBase.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        session.add(
            Store(
                id="S1",
                name="S1",
                created_at=now,
                last_seen_at=now,
                clock_offset_s=0.5,
                backlog_age_s=0.0,
                region="华东",
            )
        )
        session.flush()
        # An entry made at S1: the liability's per-store point (points_net) besides the chain's.
        session.add(
            MemberPoints(
                entry="e-schema01", member_id=member, store_id="S1", points=50, cause="earn",
                ref="p1", reason="", offline=False, at=now, by="alice", received_at=now,
            )
        )  # fmt: skip
        # A campaign with a day budget running at S1: the campaign_budget point.
        campaigns = CampaignsConfig(campaigns=[wheel(budget=Budget(per_store_day_fen=50_000))])
        session.add(ConfigDocument(scope="*", document={"campaigns": campaigns.model_dump(
            mode="json")}, published_at=now, published_by="hq"))  # fmt: skip
        session.commit()
        status = status_points(session, now)
        owed = liability_points(session, now)
        budget = budget_points(session, now)
    engine.dispose()
    segments = segment_points([("S1", "重要价值", 1)], now)
    return [*sales_points(events, {}), *status, *owed, *segments, *budget]


def points_schema() -> Schema:
    """Tags and fields per measurement, read off points made by the real functions (every
    optional field filled in)."""
    now = time.time()
    full = PrinterTelemetry(
        battery_pct=50.0,
        rssi_dbm=-60,
        fw="1.0.0",
        uptime_s=10,
        paper=PaperLevel.LOW,
        cover=CoverState.CLOSED,
        printer_online=True,
    )
    alarm = Alarm(id=1, device_id="btn-001", kind="offline", raised_at=now)
    lines = [
        points.device_telemetry("S1", _button("btn-001"), full, now),
        points.device_alarm("S1", alarm, True),
        points.call_opened("S1", _call(1, "btn-001", now)),
        points.call_answered("S1", _call(1, "btn-001", now, response_s=5.0, urgent_after_s=1.0)),
        points.hub_ingest("S1", "bad_json", 1, now),
        *hq_lines(now),
    ]
    schema: Schema = {}
    for line in lines:
        measurement, tags, fields, _ = parse_line(line)
        # A measurement's kinds of points may differ (member_liability: the chain's, and per
        # store): its schema is all of them.
        known_tags, known_fields = schema.get(measurement, (frozenset(), frozenset()))
        schema[measurement] = (known_tags | frozenset(tags), known_fields | frozenset(fields))
    return schema


SCHEMA = points_schema()


def test_the_schema_covers_every_measurement_constant() -> None:
    assert set(SCHEMA) == measurement_names()
    assert {M_DEVICE_TELEMETRY, M_CALLS, M_CALL_RESPONSES, M_HUB_INGEST} <= set(SCHEMA)


# --- the dashboards ------------------------------------------------------------------------


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.rglob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a JSON object"
    return data


def all_panels(container: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside (collapsed) rows."""
    for panel in container.get("panels", []):
        yield panel
        yield from all_panels(panel)


def variable_query(variable: Mapping[str, Any]) -> str:
    query = variable.get("query", "")
    return str(query.get("query", "") if isinstance(query, dict) else query)


def influx_queries(dashboard: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(where, InfluxQL, panel) for every panel target and every query variable."""
    found: list[tuple[str, str, Mapping[str, Any]]] = []
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            found.append(
                (f"panel {panel.get('title')!r} {target.get('refId')}", target["query"], panel)
            )
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            found.append((f"variable ${variable['name']}", variable_query(variable), {}))
    return found


def datasource_uids(node: Any) -> Iterator[str]:
    """The uid of every datasource reference anywhere in a dashboard."""
    if isinstance(node, dict):
        ref = node.get("datasource")
        if isinstance(ref, dict) and ref.get("type") != "grafana":
            yield str(ref.get("uid"))
        elif isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from datasource_uids(value)
    elif isinstance(node, list):
        for value in node:
            yield from datasource_uids(value)


# InfluxQL keywords and functions: the only unquoted words a dashboard query may contain.
_KEYWORDS = frozenset(
    {
        *("SELECT", "FROM", "WHERE", "AND", "OR", "GROUP", "BY", "AS", "TIME", "NOW"),
        *("FILL", "NONE", "NULL", "PREVIOUS", "LINEAR", "ORDER", "ASC", "DESC", "TZ"),
        *("LIMIT", "SLIMIT", "OFFSET", "SHOW", "TAG", "VALUES", "WITH", "KEY"),
        *("SUM", "COUNT", "MEAN", "MEDIAN", "MIN", "MAX", "LAST", "FIRST", "PERCENTILE"),
        *("SPREAD", "STDDEV", "DISTINCT", "DIFFERENCE", "DERIVATIVE", "NON_NEGATIVE_DERIVATIVE"),
        *("TOP", "BOTTOM"),
    }
)
_GROUP_ITEM = r'(?:time\([^)]*\)|"[^"]+")'
_GROUP_BY = re.compile(
    rf"\bGROUP\s+BY\s+({_GROUP_ITEM}(?:\s*,\s*{_GROUP_ITEM})*)"
    r"(?=\s*(?:$|\)|fill\(|ORDER\b|LIMIT\b|SLIMIT\b|tz\())",
    re.IGNORECASE,
)


def schema_problems(query: str, schema: Schema) -> list[str]:
    """Names in an InfluxQL query that edge/telemetry/points.py does not write.

    Identifiers must be double-quoted, so that every name can be found and checked."""
    problems: list[str] = []
    for m in re.finditer(r"\bFROM\s+(\S)", query, re.IGNORECASE):
        if m.group(1) not in '"(':
            problems.append("a FROM without a double-quoted measurement or a subquery")
    # FROM "a" or FROM "a", "b" (the store variable: a measurement and hub_status)
    measurements = [
        name
        for names in re.findall(r'\bFROM\s+("[^"]+"(?:\s*,\s*"[^"]+")*)', query, re.IGNORECASE)
        for name in re.findall(r'"([^"]+)"', names)
    ]
    if not measurements:
        problems.append("no measurement")
    unknown = sorted(set(measurements) - set(schema))
    problems += [f"unknown measurement {m!r}" for m in unknown]
    known = [m for m in measurements if m in schema]
    tags = set().union(*(schema[m][0] for m in known))
    fields = set().union(*(schema[m][1] for m in known))
    aliases = set(re.findall(r'\bAS\s+"([^"]+)"', query, re.IGNORECASE))
    # An outer query may select a subquery's output columns by their alias.
    selectable = fields | aliases if re.search(r"\bFROM\s+\(", query, re.IGNORECASE) else fields

    used_fields = re.findall(r'\b\w+\(\s*"([^"]+)"', query)
    for func, arg in re.findall(r"\b(\w+)\(\s*([A-Za-z_]\w*)\s*[,)]", query):
        if func.lower() != "fill":
            problems.append(f"unquoted argument {arg!r} of {func}()")
    problems += [f"{f!r} is not a field of {known}" for f in used_fields if f not in selectable]

    group_bys = _GROUP_BY.findall(query)
    if len(group_bys) != len(re.findall(r"\bGROUP\s+BY\b", query, re.IGNORECASE)):
        problems.append("a GROUP BY that is not time(...) and double-quoted tags")
    used_tags = [t for clause in group_bys for t in re.findall(r'"([^"]+)"', clause)]
    used_tags += re.findall(r'"([^"]+)"\s*(?:=~|!~|!=|<>|=)', query)
    used_tags += re.findall(r'\bWITH\s+KEY\s*(?:=~|=)\s*"([^"]+)"', query, re.IGNORECASE)
    problems += [f"{t!r} is not a tag of {known}" for t in used_tags if t not in tags]

    for name in re.findall(r'"([^"]+)"', query):
        if name not in set(measurements) | tags | fields | aliases:
            problems.append(f"{name!r} is not a measurement, tag or field")

    bare = re.sub(r"'(?:[^'\\]|\\.)*'", " ", query)  # string literals
    bare = re.sub(r"/(?:[^/\\]|\\.)*/", " ", bare)  # regex literals
    bare = re.sub(r'"[^"]*"', " ", bare)  # quoted identifiers, checked above
    # Grafana variables and macros (${__from}ms: Grafana's epoch milliseconds)
    bare = re.sub(r"\$\{?\w+\}?(?:ms\b)?", " ", bare)
    bare = re.sub(r"\b\d+(?:\.\d+)?(?:ns|u|µ|ms|s|m|h|d|w)?\b", " ", bare)  # numbers, durations
    words = re.findall(r"[A-Za-z_]\w*", bare)
    problems += [f"unquoted identifier {w!r}" for w in words if w.upper() not in _KEYWORDS]
    return problems


def test_the_name_check_catches_wrong_names() -> None:
    good = 'SELECT sum("count") FROM "calls" WHERE "store" =~ /^$store$/ GROUP BY time(1h), "store"'
    assert schema_problems(good, SCHEMA) == []
    for bad in (
        good.replace('"calls"', '"call"'),
        good.replace('"count"', '"counts"'),
        good.replace('"store" =~', '"shop" =~'),
        good.replace(', "store"', ', "count"'),
        good.replace(', "store"', ", store"),
        good.replace('sum("count")', "sum(count)"),
        'SELECT "battery_pct" FROM "calls"',
    ):
        assert schema_problems(bad, SCHEMA), bad


def test_there_is_a_dashboard() -> None:
    for name in ("store-service.json", "chain-today.json", "fleet.json"):
        assert DASHBOARDS / name in dashboard_files()


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_parses_and_names_only_what_points_write(path: Path) -> None:
    dashboard = load(path)
    assert dashboard.get("uid"), f"{path.name} has no uid"
    assert dashboard.get("title")
    panels = [p for p in all_panels(dashboard) if p.get("type") != "row"]
    assert panels, f"{path.name} has no panels"
    ids = [p.get("id") for p in panels]
    assert len(set(ids)) == len(ids), f"panel ids repeat: {ids}"
    for panel in panels:
        assert panel.get("targets"), f"panel {panel.get('title')!r} has no query"
        for target in panel["targets"]:
            assert target.get("rawQuery") is True and target.get("query"), panel.get("title")
    assert set(datasource_uids(dashboard)) == {DATASOURCE_UID}
    problems = [
        f"{where}: {problem}"
        for where, query, _ in influx_queries(dashboard)
        for problem in schema_problems(query, SCHEMA)
    ]
    assert problems == []


def test_store_service_dashboard_has_the_store_variable() -> None:
    dashboard = load(DASHBOARDS / "store-service.json")
    assert dashboard["uid"] == "smartstore-service"
    (store,) = [v for v in dashboard["templating"]["list"] if v["name"] == "store"]
    assert variable_query(store) == (
        'SHOW TAG VALUES FROM "calls", "hub_status" WITH KEY = "store"'
        ' WHERE "region" =~ /^$region$/'
    )
    assert store["multi"] is True and store["includeAll"] is True
    for _, query, panel in influx_queries(dashboard):
        if panel:
            assert '"store" =~ /^$store$/' in query, query


# --- the queries on the real InfluxDB -------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    influxdb: InfluxServer
    stores: tuple[str, str]


def write_lines(influxdb: InfluxServer, lines: Sequence[str]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the test's own loopback InfluxDB
        f"{influxdb.url}/write?db={DB}&precision=n",
        data="\n".join(lines).encode(),
        method="POST",
    )
    # Generous: a busy CI machine has been seen to take over 10 s for one write.
    with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
        assert resp.status == 204


@pytest.fixture(scope="module")
def seeded(influxdb: InfluxServer) -> Seeded:
    """Two stores' worth of points from the real point functions, all in the last hour."""
    a, b = ("H" + secrets.token_hex(4) for _ in range(2))
    now = time.time()
    btn1, btn2, btn3 = _button("btn-001"), _button("btn-002"), _button("btn-003", zone="")

    def telemetry(store: str, device: DeviceSpec, battery: float, rssi: int, ago: float) -> str:
        t = Telemetry(battery_pct=battery, rssi_dbm=rssi, fw="1.0.0", uptime_s=60)
        return points.device_telemetry(store, device, t, now - ago)

    lines = [
        points.call_opened(a, _call(1, "btn-001", now - 200)),
        points.call_opened(a, _call(2, "btn-002", now - 150)),
        points.call_opened(a, _call(3, "btn-001", now - 100)),
        points.call_opened(b, _call(1, "btn-001", now - 120)),
        points.call_answered(a, _call(1, "btn-001", now - 200, response_s=10.0)),
        points.call_answered(
            a, _call(2, "btn-002", now - 150, response_s=130.0, urgent_after_s=120.0)
        ),
        telemetry(a, btn1, 80.0, -60, ago=180),
        telemetry(a, btn1, 35.0, -71, ago=60),
        telemetry(a, btn2, 60.0, -55, ago=30),
        telemetry(a, btn3, 15.0, -80, ago=1800),  # in the last hour, not the last 5 minutes
        telemetry(b, btn1, 90.0, -50, ago=45),
        points.hub_ingest(a, "bad_json", 2, now - 90),
        points.hub_ingest(a, "too_large", 1, now - 80),
        points.hub_ingest(a, "bad_json", 3, now - 40),
    ]
    write_lines(influxdb, lines)
    return Seeded(influxdb, (a, b))


_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration_s(text: str) -> int:
    assert re.fullmatch(r"\d+[smhdw]", text), f"{text!r} is not an InfluxQL duration"
    return int(text[:-1]) * _SECONDS[text[-1]]


def interpolate(
    query: str,
    panel: Mapping[str, Any],
    stores: Sequence[str],
    now: float | None = None,
    regions: Sequence[str] | None = None,
) -> str:
    """What Grafana sends for `query`: the panel's time range (its own `timeFrom` if it has one,
    else the last hour, ending `now`, moved back by its `timeShift`) as Grafana writes
    $timeFilter and ${__from}/${__to} for InfluxDB (epoch milliseconds), a 1m interval,
    $store as a multi-value selection of `stores`, and $region as one of `regions` (None:
    All, the variable's `.*`)."""
    to = time.time() if now is None else now
    to -= _duration_s(str(panel.get("timeShift") or "0s"))
    since = to - _duration_s(str(panel.get("timeFrom") or "1h"))
    start_ms, end_ms = round(since * 1000), round(to * 1000)
    q = query.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
    q = q.replace("${__from}", str(start_ms)).replace("${__to}", str(end_ms))
    q = q.replace("$__interval", "1m")
    q = q.replace("$store", "(" + "|".join(re.escape(s) for s in stores) + ")")
    picked = ".*" if regions is None else "(" + "|".join(re.escape(r) for r in regions) + ")"
    q = q.replace("$region", picked)
    leftover = re.search(r"\$\{?\w+", q)
    assert leftover is None, f"{leftover.group(0)} is not substituted in {query}"
    return q


def run_panel(seeded: Seeded, title: str, ref: str = "A") -> list[dict[str, Any]]:
    dashboard = load(DASHBOARDS / "store-service.json")
    (panel,) = [p for p in all_panels(dashboard) if p.get("title") == title]
    (target,) = [t for t in panel["targets"] if t["refId"] == ref]
    return seeded.influxdb.query(interpolate(target["query"], panel, seeded.stores), db=DB)


def totals(series: Sequence[Mapping[str, Any]], tag: str, column: str) -> dict[str, float]:
    """The non-null values of `column`, summed per value of `tag`."""
    result: dict[str, float] = {}
    for s in series:
        i = s["columns"].index(column)
        key = s["tags"][tag]
        result[key] = result.get(key, 0) + sum(row[i] for row in s["values"] if row[i] is not None)
    return result


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_every_query_runs_on_the_real_influxdb(seeded: Seeded, path: Path) -> None:
    errors: list[str] = []
    for where, query, panel in influx_queries(load(path)):
        q = interpolate(query, panel, seeded.stores)
        try:
            seeded.influxdb.query(q, db=DB)
        except RuntimeError as exc:  # InfluxDB ran the query and reported an error
            errors.append(f"{where}: {exc}\n  {q}")
        except urllib.error.HTTPError as exc:  # 400: InfluxDB could not parse it
            with exc:
                errors.append(f"{where}: HTTP {exc.code} {exc.read().decode()}\n  {q}")
    assert errors == []


def test_store_variable_lists_the_stores(seeded: Seeded) -> None:
    series: list[dict[str, Any]] = seeded.influxdb.query(
        'SHOW TAG VALUES FROM "calls" WITH KEY = "store"', db=DB
    )
    values = {row[1] for s in series for row in s["values"]}
    assert set(seeded.stores) <= values


def test_calls_per_hour_counts_the_calls_written(seeded: Seeded) -> None:
    a, b = seeded.stores
    series = run_panel(seeded, "Calls per hour per store")
    assert totals(series, "store", "sum") == {a: 3, b: 1}


def test_response_time_percentiles(seeded: Seeded) -> None:
    a, _ = seeded.stores
    p50 = run_panel(seeded, "Call response time p50 / p95", "A")
    p95 = run_panel(seeded, "Call response time p50 / p95", "B")
    assert [s["tags"]["store"] for s in p50] == [a] and [s["tags"]["store"] for s in p95] == [a]
    p50_values = [row[1] for row in p50[0]["values"]]
    p95_values = [row[1] for row in p95[0]["values"]]
    assert set(p50_values) <= {10.0, 130.0} and min(p50_values) == 10.0
    assert max(p95_values) == 130.0


def test_urgent_share(seeded: Seeded) -> None:
    series = run_panel(seeded, "Share of answered calls that went urgent")
    assert totals(series, "urgent", "count") == {"true": 1, "false": 1}


def test_devices_seen_in_the_last_5_minutes(seeded: Seeded) -> None:
    a, b = seeded.stores
    series = run_panel(seeded, "Devices seen in the last 5 min")
    assert totals(series, "store", "count") == {a: 2, b: 1}  # not btn-003, seen 30 min ago


def test_battery_min_and_signal_per_device(seeded: Seeded) -> None:
    a, b = seeded.stores
    series = run_panel(seeded, "Battery (min) and signal per device")
    rows = {
        (s["tags"]["store"], s["tags"]["device"]): dict(
            zip(s["columns"], s["values"][0], strict=True)
        )
        for s in series
    }
    assert {k: (r["battery_min"], r["rssi_last"]) for k, r in rows.items()} == {
        (a, "btn-001"): (35.0, -71),
        (a, "btn-002"): (60.0, -55),
        (a, "btn-003"): (15.0, -80),
        (b, "btn-001"): (90.0, -50),
    }


def test_rejected_messages_by_reason(seeded: Seeded) -> None:
    series = run_panel(seeded, "Hub rejected messages by reason")
    assert totals(series, "reason", "sum") == {"bad_json": 5, "too_large": 1}


# --- provisioning and docker-compose.yml ---------------------------------------------------


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def test_provisioning_and_compose_agree() -> None:
    (ds,) = load_yaml(PROVISIONING / "datasources" / "influxdb.yaml")["datasources"]
    assert ds["uid"] == DATASOURCE_UID and ds["type"] == "influxdb"
    assert ds["url"] == "${INFLUX_URL}"
    assert ds["jsonData"]["dbName"] == DB
    assert ds["jsonData"].get("version", "InfluxQL") == "InfluxQL"
    (provider,) = load_yaml(PROVISIONING / "dashboards" / "smartstore.yaml")["providers"]
    assert provider["type"] == "file"
    dashboards_dir = provider["options"]["path"]
    assert dashboards_dir == "/var/lib/grafana/dashboards"

    compose = load_yaml(COMPOSE)
    assert compose["version"] == "3.8"
    services = compose["services"]
    assert services["influxdb"]["image"] == "influxdb:1.8"
    assert services["influxdb"]["environment"]["INFLUXDB_DB"] == DB
    assert services["mosquitto"]["image"] == "eclipse-mosquitto:2"
    grafana = services["grafana"]
    assert grafana["image"].startswith("grafana/grafana-oss")
    assert "influxdb" in grafana["depends_on"]
    assert any(p.split(":")[-1] == "3000" for p in grafana["ports"])
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    assert mounts["./dashboards/provisioning"] == "/etc/grafana/provisioning"
    assert mounts["./dashboards"] == dashboards_dir
    env = grafana["environment"]
    assert env["INFLUX_URL"] == "${INFLUX_URL:-http://influxdb:8086}"
    # No secret in the file: the admin password is a required variable.
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_debians_docker_compose_accepts_the_compose_file(tmp_path: Path) -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("Debian's docker-compose is not installed (apt-get install docker-compose)")
    no_dotenv = tmp_path / "empty.env"  # an operator's .env next to the file must not count
    no_dotenv.write_text("", encoding="utf-8")
    command = [exe, "--env-file", str(no_dotenv), "-f", str(COMPOSE), "config", "-q"]
    env = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    # The HQ stack's other secrets (tests/test_compose.py checks each is required too).
    env |= {"POSTGRES_PASSWORD": "x", "SMARTSTORE_CLOUD_ADMIN_TOKEN": "x" * 32}
    ok = subprocess.run(
        command,
        cwd=ROOT,
        env={**env, "GRAFANA_ADMIN_PASSWORD": "only-for-the-config-check"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in missing.stderr
