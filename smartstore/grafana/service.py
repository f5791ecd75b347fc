"""Service quality per store: calls, how fast staff answer, devices seen, rejected messages.

The queries are those of the hand-written dashboard this replaced; room is left for a
"waiting at the door" row once the waitlist writes its points (WAITING_AT_THE_DOOR below)."""

from grafana_foundation_sdk.builders import dashboard, piechart
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DynamicConfigValue
from grafana_foundation_sdk.models.piechart import (
    PieChartLabels,
    PieChartLegendValues,
    PieChartType,
)

from edge.telemetry.points import M_CALL_RESPONSES, M_CALLS, M_DEVICE_TELEMETRY, M_HUB_INGEST
from smartstore.grafana.influxql import DATASOURCE, STORE, TAG, Q, region_variable, store_variable
from smartstore.grafana.panels import big_number, rows, series, thresholds

UID = "smartstore-service"
FILE = "store-service.json"

CALLS_PER_HOUR = (
    f'SELECT sum("count") FROM "{M_CALLS}" WHERE {STORE} AND $timeFilter GROUP BY time(1h), "store"'
)
RESPONSE_P = (
    'SELECT percentile("response_s", {p}) FROM "'
    + M_CALL_RESPONSES
    + '" WHERE '
    + STORE
    + ' AND $timeFilter GROUP BY time($__interval), "store" fill(none)'
)
URGENT_SHARE = (
    f'SELECT count("response_s") FROM "{M_CALL_RESPONSES}" WHERE {STORE} AND $timeFilter '
    'GROUP BY "urgent"'
)
DEVICES_SEEN = (
    f'SELECT count("seen") FROM (SELECT last("seen") AS "seen" FROM "{M_DEVICE_TELEMETRY}" '
    f'WHERE {STORE} AND $timeFilter GROUP BY "store", "device") GROUP BY "store"'
)
REJECTED = (
    f'SELECT sum("rejected") FROM "{M_HUB_INGEST}" WHERE {STORE} AND $timeFilter '
    'GROUP BY time($__interval), "reason" fill(none)'
)
BATTERY_AND_SIGNAL = (
    'SELECT min("battery_pct") AS "battery_min", last("rssi_dbm") AS "rssi_last" '
    f'FROM "{M_DEVICE_TELEMETRY}" WHERE {STORE} AND $timeFilter GROUP BY "store", "device"'
)

# Diners waiting at the door (the waitlist) belong here, beside the calls, once the hub
# writes them: a row of panels appended in build() below.
WAITING_AT_THE_DOOR: list[dashboard.Row] = []


def _urgent_share() -> piechart.Panel:
    def named(label: str, colour: str) -> list[DynamicConfigValue]:
        return [
            DynamicConfigValue(id_val="displayName", value=label),
            DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour}),
        ]

    return (
        piechart.Panel()
        .title("Share of answered calls that went urgent")
        .description(
            "Answered calls (call_responses) by their urgent tag: true if the call had turned"
            " urgent before staff acknowledged it. Calls never answered are not counted."
        )
        .datasource(DATASOURCE)
        .with_target(Q(URGENT_SHARE, "urgent=$tag_urgent"))
        .span(6)
        .height(8)
        .unit("short")
        .decimals(0)
        .pie_type(PieChartType.DONUT)
        .display_labels([PieChartLabels.PERCENT])
        .legend(
            piechart.PieChartLegendOptions()
            .show_legend(True)
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .values([PieChartLegendValues.VALUE, PieChartLegendValues.PERCENT])
        )
        .override_by_name("urgent=true", named("went urgent", "red"))
        .override_by_name("urgent=false", named("answered in time", "green"))
    )


def build() -> dashboard.Dashboard:
    d = (
        dashboard.Dashboard("Smartstore — store service")
        .uid(UID)
        .description(
            "HQ view of the stores: calls, response times, urgent calls, devices, and what the"
            " hubs rejected. Data: InfluxDB database smartstore (see edge/telemetry/points.py)."
        )
        .tags([TAG])
        .readonly()
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time("now-24h", "now")
        .with_variable(region_variable())
        .with_variable(store_variable(M_CALLS))
        .with_panel(
            series(
                "Calls per hour per store",
                "Calls opened (measurement calls, field count), summed per hour and store.",
                [Q(CALLS_PER_HOUR, "$tag_store")],
                bars=True,
                stacked=True,
            ).decimals(0)
        )
        .with_panel(
            series(
                "Call response time p50 / p95",
                "Seconds from a call being opened to staff acknowledging it"
                " (call_responses.response_s), per store.",
                [
                    Q(RESPONSE_P.format(p=50), "p50 $tag_store"),
                    Q(RESPONSE_P.format(p=95), "p95 $tag_store", ref_id="B"),
                ],
                unit="s",
                calcs=("mean", "max"),
            ).interval("15m")
        )
        .with_panel(_urgent_share())
        .with_panel(
            big_number(
                "Devices seen in the last 5 min",
                "Devices with at least one telemetry point (device_telemetry.seen) in the last"
                " 5 minutes, per store. Always the last 5 minutes, whatever the dashboard range.",
                Q(DEVICES_SEEN, "$tag_store"),
                thresholds((None, "red"), (1, "green")),
            ).time_from("5m")
        )
        .with_panel(
            series(
                "Hub rejected messages by reason",
                "MQTT messages the store hubs refused (hub_ingest.rejected), by reason.",
                [Q(REJECTED, "$tag_reason")],
                bars=True,
                stacked=True,
            )
            .decimals(0)
            .interval("1m")
        )
        .with_panel(
            rows(
                "Battery (min) and signal per device",
                "Lowest battery level (device_telemetry.battery_pct) and last signal strength"
                " (rssi_dbm) per device over the dashboard range, lowest battery first.",
                [Q(BATTERY_AND_SIGNAL, table=True)],
                sort_by="battery_min",
                descending=False,
                units={"battery_min": "percent", "rssi_last": "dBm"},
                width=24,
                height=10,
            )
        )
    )
    for row in WAITING_AT_THE_DOOR:
        d = d.with_row(row)
    return d
