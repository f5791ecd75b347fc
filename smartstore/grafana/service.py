"""Service quality per store: calls, how fast staff answer, devices seen, rejected messages,
and the line at the door (the waitlist's points HQ writes, cloud/sales_influx.py).

The calls' queries are those of the hand-written dashboard this replaced."""

from grafana_foundation_sdk.builders import dashboard, piechart
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DynamicConfigValue
from grafana_foundation_sdk.models.piechart import (
    PieChartLabels,
    PieChartLegendValues,
    PieChartType,
)

from cloud.const import M_WAITLIST
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

# The line at the door: waits of the parties seated (minutes), per hour and store...
SEATED = f'FROM "{M_WAITLIST}" WHERE {STORE} AND "what" = \'seated\' AND $timeFilter'
DOOR_WAIT_P = (
    'SELECT percentile("waited_s", {p}) / 60 ' + SEATED + ' GROUP BY time(1h), "store" fill(none)'
)
# ...how many parties were seated, left the line or did not come when called, per hour...
DOOR_OUTCOMES = (
    f'SELECT sum("count") FROM "{M_WAITLIST}" WHERE {STORE} AND "what" =~ '
    '/^(seated|left|no_show)$/ AND $timeFilter GROUP BY time(1h), "what" fill(none)'
)
# ...and per store over the range: the wait, how good the estimate was, who gave up.
DOOR_BY_STORE = (
    'SELECT count("waited_s") AS "seated", percentile("waited_s", 50) / 60 AS "wait_p50", '
    'percentile("waited_s", 90) / 60 AS "wait_p90", median("abs_error_s") / 60 AS '
    '"estimate_error_p50", mean("over_upper") AS "waited_past_range" '
    + SEATED
    + ' GROUP BY "store"'
)
DOOR_GAVE_UP = (
    'SELECT sum("count") AS "parties" '
    f'FROM "{M_WAITLIST}" WHERE {STORE} AND "what" =~ /^(left|no_show)$/ AND $timeFilter '
    'GROUP BY "store", "what"'
)


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
    return _waiting_at_the_door(d)


def _waiting_at_the_door(d: dashboard.Dashboard) -> dashboard.Dashboard:
    return (
        d.with_row(dashboard.Row("Waiting at the door"))
        .with_panel(
            series(
                "Wait at the door p50 / p90 per hour",
                "Minutes from taking a number to being seated (waitlist.waited_s of the"
                " parties seated), per hour of seating and store.",
                [
                    Q(DOOR_WAIT_P.format(p=50), "p50 $tag_store"),
                    Q(DOOR_WAIT_P.format(p=90), "p90 $tag_store", ref_id="B"),
                ],
                unit="m",
                calcs=("mean", "max"),
            )
        )
        .with_panel(
            series(
                "Seated, left the line, no-shows per hour",
                "Parties of the line at the door per hour (waitlist, by `what`): seated, left"
                " the line (from their phone or told staff), and called but never came.",
                [Q(DOOR_OUTCOMES, "$tag_what")],
                bars=True,
                stacked=True,
            ).decimals(0)
        )
        .with_panel(
            rows(
                "Waiting at the door by store",
                "Over the dashboard range, per store: parties seated, their wait (p50, p90,"
                " minutes), the median error of the estimate they were shown (minutes) and"
                " the share that waited past the range's upper end.",
                [Q(DOOR_BY_STORE, table=True)],
                sort_by="wait_p90",
                units={
                    "wait_p50": "m",
                    "wait_p90": "m",
                    "estimate_error_p50": "m",
                    "waited_past_range": "percentunit",
                },
            )
        )
        .with_panel(
            rows(
                "Left the line and no-shows by store",
                "Over the dashboard range, per store: parties that left the line and those"
                " called who never came (waitlist, what = left | no_show).",
                [Q(DOOR_GAVE_UP, table=True)],
                sort_by="parties",
            )
        )
    )
