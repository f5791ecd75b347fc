"""The fleet across stores: hubs online, clock offsets, outbox backlog age, devices offline,
printers out of paper, batteries to change.

hub_status is written by HQ (cloud/fleet_influx.py): only HQ sees whether a hub calls; the
device measurements by the hubs (edge/telemetry/points.py)."""

from typing import Final

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

from cloud.const import M_HUB_STATUS
from edge.telemetry.points import M_DEVICE_ALARMS, M_DEVICE_TELEMETRY
from smartstore.grafana.influxql import STORE, TAG, Q, region_variable, store_variable
from smartstore.grafana.panels import big_number, rows, series, thresholds

UID = "smartstore-fleet"
FILE = "fleet.json"
# The hub raises its low-battery alarm at 20% (edge/config.py battery_low_pct). A little above
# it, a weekly round of battery changes also catches those about to alarm; tune it to the
# buttons' real drain once HQ has a few months of battery_pct.
BATTERY_CHANGE_PCT: Final = 25
# An alarm is a point when raised and one when cleared: one still active was raised at most
# this long ago to be seen (older ones: the hub's GET /api/alarms).
ALARMS_LOOKBACK: Final = "30d"
NOW: Final = "5m"  # panels about "now" look at the last hub_status points (every 30 s)

LAST_STATUS = (
    f'SELECT last("online") AS "online" FROM "{M_HUB_STATUS}" WHERE {STORE} AND $timeFilter '
    'GROUP BY "store"'
)
HUBS_ONLINE = f'SELECT sum("online") AS "online" FROM ({LAST_STATUS})'
HUBS_OFFLINE = f'SELECT count("online") AS "offline" FROM ({LAST_STATUS}) WHERE "online" < 1'
HUBS = (
    'SELECT last("online") AS "online", last("since_seen_s") AS "since_seen_s", '
    'last("clock_offset_s") AS "clock_offset_s", last("backlog_age_s") AS "backlog_age_s" '
    f'FROM "{M_HUB_STATUS}" WHERE {STORE} AND $timeFilter GROUP BY "store"'
)
CLOCK_OFFSET = (
    f'SELECT last("clock_offset_s") FROM "{M_HUB_STATUS}" WHERE {STORE} AND $timeFilter '
    'GROUP BY time($__interval), "store" fill(none)'
)
BACKLOG_AGE = (
    f'SELECT max("backlog_age_s") FROM "{M_HUB_STATUS}" WHERE {STORE} AND $timeFilter '
    'GROUP BY time($__interval), "store" fill(none)'
)


def _alarms_now(kind: str) -> str:
    return (
        f'SELECT last("active") AS "active" FROM "{M_DEVICE_ALARMS}" WHERE "kind" = \'{kind}\' '
        f'AND {STORE} AND time > now() - {ALARMS_LOOKBACK} GROUP BY "store", "device"'
    )


DEVICES_OFFLINE = (
    f'SELECT sum("active") AS "devices_offline" FROM ({_alarms_now("offline")}) GROUP BY "store"'
)
PAPER_OUT = (
    f'SELECT "active" AS "out_of_paper" FROM ({_alarms_now("paper_out")}) WHERE "active" > 0 '
    'GROUP BY "store", "device"'
)
BATTERIES = (
    'SELECT "battery" FROM (SELECT last("battery_pct") AS "battery" '
    f'FROM "{M_DEVICE_TELEMETRY}" WHERE {STORE} AND time > now() - 7d GROUP BY "store", "device")'
    f' WHERE "battery" < {BATTERY_CHANGE_PCT} GROUP BY "store", "device"'
)


def build() -> dashboard.Dashboard:
    return (
        dashboard.Dashboard("Smartstore — fleet")
        .uid(UID)
        .description(
            "Every store's hub and devices: which hubs reach HQ, their clocks and outbox"
            " backlog, devices offline, printers out of paper, batteries to change."
        )
        .tags([TAG])
        .readonly()
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time("now-24h", "now")
        .with_variable(region_variable())
        .with_variable(store_variable(M_HUB_STATUS))
        .with_panel(
            big_number(
                "Hubs online",
                "Stores whose hub reached HQ in the last 3 minutes (hub_status.online, written"
                " by HQ every 30 s).",
                Q(HUBS_ONLINE, "online"),
                thresholds((None, "green")),
            ).time_from(NOW)
        )
        .with_panel(
            big_number(
                "Hubs offline",
                "Stores HQ has heard from whose hub has not called for 3 minutes or more.",
                Q(HUBS_OFFLINE, "offline"),
                thresholds((None, "green"), (1, "red")),
            ).time_from(NOW)
        )
        .with_panel(
            rows(
                "Hubs",
                "Per store, as of HQ's last look: online, seconds since its hub last called,"
                " its clock minus HQ's, and how long its oldest unsent fact had waited.",
                [Q(HUBS, table=True)],
                sort_by="since_seen_s",
                units={"since_seen_s": "s", "clock_offset_s": "s", "backlog_age_s": "s"},
            ).time_from(NOW)
        )
        .with_panel(
            series(
                "Clock offset by store",
                "The hub's clock minus HQ's (seconds; positive: the hub is ahead). Sales land in"
                " the wrong hours while it is off.",
                [Q(CLOCK_OFFSET, "$tag_store")],
                unit="s",
                calcs=("last", "max"),
            ).min(None)  # type: ignore[arg-type]
        )
        .with_panel(
            series(
                "Outbox backlog age by store",
                "How long the oldest fact of each batch had waited in the hub's outbox.",
                [Q(BACKLOG_AGE, "$tag_store")],
                unit="s",
                calcs=("last", "max"),
            )
        )
        .with_panel(
            rows(
                "Devices offline by store",
                "Devices whose offline alarm is raised now (device_alarms).",
                [Q(DEVICES_OFFLINE, table=True)],
                sort_by="devices_offline",
                width=8,
            )
        )
        .with_panel(
            rows(
                "Printers out of paper",
                "Printers whose paper-out alarm is raised now.",
                [Q(PAPER_OUT, table=True)],
                width=8,
            )
        )
        .with_panel(
            rows(
                "Batteries to change this week",
                f"Devices whose last battery level in the last 7 days is below"
                f" {BATTERY_CHANGE_PCT}%, lowest first.",
                [Q(BATTERIES, table=True)],
                sort_by="battery",
                descending=False,
                units={"battery": "percent"},
                width=8,
            )
        )
    )
