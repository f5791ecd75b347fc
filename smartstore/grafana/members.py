"""Members and campaigns: members joined and active, points issued and redeemed, what HQ owes
(points and coupons outstanding), coupons issued and redeemed, RFM segments, and diners'
ratings after the bill; the campaigns the hubs run (plays, winners per prize, cost against
the stores' budgets, plays held as possibly farmed, members and bills that played).

Written by HQ: member_activity, points, coupons and feedback from the hubs' events
(cloud/sales_influx.py); member_liability every few minutes (cloud/fleet_influx.py);
rfm_segments at each scoring (cloud/api/rfm.py); games from the hubs' plays and staff's
decisions and campaign_budget with the liability (cloud/games_influx.py). Chain-wide points
have the store tag "*" (points are one balance across the chain; a member counts once):
their panels show them whatever stores are picked."""

from typing import Final

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

from cloud.const import (
    CHAIN_STORE_TAG,
    M_CAMPAIGN_BUDGET,
    M_COUPONS,
    M_FEEDBACK,
    M_GAMES,
    M_LIABILITY,
    M_MEMBER_ACTIVITY,
    M_POINTS,
    M_RFM_SEGMENTS,
)
from smartstore.grafana.chain import CHAIN_TZ
from smartstore.grafana.influxql import STORE, TAG, Q, region_variable, store_variable
from smartstore.grafana.panels import YUAN, big_number, rows, series, thresholds

UID = "smartstore-members"
FILE = "members.json"
# The store filter, or the chain's own points.
STORE_OR_CHAIN: Final = f"({STORE} OR \"store\" = '{CHAIN_STORE_TAG}')"
CHAIN: Final = f"\"store\" = '{CHAIN_STORE_TAG}'"
# RFM is scored nightly and the liability every few minutes: their panels look back this far
# for the last point, whatever the dashboard's range.
SNAPSHOT_LOOKBACK: Final = "7d"


def per_day(*tags: str) -> str:
    """GROUP BY days in the chain's zone (and `tags`)."""
    by = "".join(f', "{t}"' for t in tags)
    return f"time(1d){by} fill(none) tz('{CHAIN_TZ}')"


DAY: Final = per_day()

JOINED_PER_DAY = (
    f'SELECT sum("count") AS "joined" FROM "{M_MEMBER_ACTIVITY}" WHERE "kind" = \'joined\' '
    f"AND {STORE} AND $timeFilter GROUP BY {per_day('store')}"
)
ACTIVE_PER_DAY = (
    f'SELECT count(distinct("member")) AS "active" FROM "{M_MEMBER_ACTIVITY}" '
    f"WHERE \"kind\" = 'visit' AND {STORE} AND $timeFilter GROUP BY {DAY}"
)
MEMBERS_BY_STORE = (
    f'SELECT sum("count") AS "member_visits", count(distinct("member")) AS "active" '
    f'FROM "{M_MEMBER_ACTIVITY}" WHERE "kind" = \'visit\' AND {STORE} AND $timeFilter '
    'GROUP BY "store"'
)
POINTS_PER_DAY = (
    f'SELECT sum("issued") AS "issued", sum("redeemed") AS "redeemed" FROM "{M_POINTS}" '
    f"WHERE {STORE} AND $timeFilter GROUP BY {DAY}"
)
POINTS_BY_CAUSE = (
    f'SELECT sum("issued") AS "issued", sum("redeemed") AS "redeemed" FROM "{M_POINTS}" '
    f'WHERE {STORE} AND $timeFilter GROUP BY "cause"'
)
LIABILITY_NOW = (
    f'SELECT last("points_value_fen") / 100 AS "points_owed" FROM "{M_LIABILITY}" '
    f"WHERE {STORE_OR_CHAIN} AND time > now() - {SNAPSHOT_LOOKBACK}"
)
COUPONS_OWED_NOW = (
    f'SELECT last("coupons_value_fen") / 100 AS "coupons_owed" FROM "{M_LIABILITY}" '
    f"WHERE {STORE_OR_CHAIN} AND time > now() - {SNAPSHOT_LOOKBACK}"
)
LIABILITY_OVER_TIME = (
    f'SELECT last("points_value_fen") / 100 AS "points", last("coupons_value_fen") / 100 '
    f'AS "coupons" FROM "{M_LIABILITY}" WHERE {STORE_OR_CHAIN} AND $timeFilter '
    "GROUP BY time($__interval) fill(previous)"
)
COUPONS_PER_DAY = (
    f'SELECT sum("count") FROM "{M_COUPONS}" WHERE {STORE} AND $timeFilter '
    f"GROUP BY {per_day('kind')}"
)
COUPONS_BY_STORE = (
    f'SELECT last("coupons_outstanding") AS "outstanding", last("coupons_value_fen") / 100 '
    f'AS "value", last("points_net") AS "points_net" FROM "{M_LIABILITY}" WHERE {STORE} '
    f'AND time > now() - {SNAPSHOT_LOOKBACK} GROUP BY "store"'
)
SEGMENTS = (
    f'SELECT last("members") AS "members" FROM "{M_RFM_SEGMENTS}" WHERE {STORE_OR_CHAIN} '
    f'AND time > now() - {SNAPSHOT_LOOKBACK} GROUP BY "store", "segment"'
)
RATINGS_PER_DAY = (
    f'SELECT mean("food") AS "food", mean("service") AS "service", sum("count") AS "ratings" '
    f'FROM "{M_FEEDBACK}" WHERE {STORE} AND $timeFilter '
    f"GROUP BY {per_day('store')}"
)

# Campaigns: sums of the `games` fields (cloud/games_influx.py) are HQ's report over the range.
PLAYS_PER_DAY = (
    f'SELECT sum("plays") AS "plays", sum("won") AS "winners" FROM "{M_GAMES}" '
    f"WHERE {STORE} AND $timeFilter GROUP BY {per_day('campaign')}"
)
WINNERS_BY_PRIZE = (
    f'SELECT sum("won") AS "winners", sum("cost_fen") / 100 AS "cost" FROM "{M_GAMES}" '
    f'WHERE {STORE} AND $timeFilter AND "prize" != \'-\' GROUP BY "campaign", "prize"'
)
COST_PER_DAY = (
    f'SELECT sum("cost_fen") / 100 AS "cost" FROM "{M_GAMES}" WHERE {STORE} AND $timeFilter '
    f"GROUP BY {per_day('campaign')}"
)
# The day's budget of the stores picked: each store's last figure that day, summed.
BUDGET_PER_DAY = (
    'SELECT sum("budget") AS "budget" FROM (SELECT last("day_budget_fen") / 100 AS "budget" '
    f'FROM "{M_CAMPAIGN_BUDGET}" WHERE {STORE} AND $timeFilter '
    f"GROUP BY {per_day('store', 'campaign')}) GROUP BY {per_day('campaign')}"
)
HELD_NOW = f'SELECT sum("held") AS "held" FROM "{M_GAMES}" WHERE {STORE} AND $timeFilter'
CAMPAIGNS_BY_STORE = (
    'SELECT sum("plays") AS "plays", sum("won") AS "winners", sum("cost_fen") / 100 AS "cost", '
    'sum("held") AS "held", sum("released") AS "released", sum("refused") AS "refused", '
    'count(distinct("member")) AS "members", sum("new_member") AS "new_members", '
    f'count(distinct("bill")) AS "bills" FROM "{M_GAMES}" WHERE {STORE} AND $timeFilter '
    'GROUP BY "campaign", "store"'
)
FLAGS_PER_DAY = (
    f'SELECT sum("plays") AS "flagged" FROM "{M_GAMES}" WHERE "status" = \'flagged\' '
    f"AND {STORE} AND $timeFilter GROUP BY {per_day('store')}"
)


def build() -> dashboard.Dashboard:
    return (
        dashboard.Dashboard("Smartstore — members and campaigns")
        .uid(UID)
        .description(
            "Members joined and active, points issued and redeemed, what HQ owes, coupons"
            " issued and redeemed, RFM segments, diners' ratings after the bill; the campaigns'"
            " plays, winners, cost against budget and flags."
        )
        .tags([TAG])
        .readonly()
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("5m")
        .time("now-30d", "now")
        .with_variable(region_variable())
        .with_variable(store_variable(M_MEMBER_ACTIVITY))
        .with_panel(
            big_number(
                "Points owed (the chain)",
                "The members' positive balances at the point value, in yuan: HQ's liability"
                " for points, every 5 minutes.",
                Q(LIABILITY_NOW),
                thresholds((None, "blue")),
                unit=YUAN,
            )
        )
        .with_panel(
            big_number(
                "Coupons owed (the chain)",
                "Coupons not used and not expired, by what they take off (a free dish or an"
                " uncapped percentage counts 0), in yuan.",
                Q(COUPONS_OWED_NOW),
                thresholds((None, "blue")),
                unit=YUAN,
            )
        )
        .with_panel(
            series(
                "Liability over time",
                "Points and coupons owed, in yuan (the chain's).",
                [Q(LIABILITY_OVER_TIME)],
                unit=YUAN,
                calcs=("last",),
            )
        )
        .with_panel(
            series(
                "Members joined per day",
                f"New members per store and day (days in {CHAIN_TZ}).",
                [Q(JOINED_PER_DAY, "$tag_store")],
                bars=True,
                stacked=True,
            ).decimals(0)
        )
        .with_panel(
            series(
                "Active members per day",
                "Members with a paid bill that day in the stores picked, each once.",
                [Q(ACTIVE_PER_DAY)],
                bars=True,
            ).decimals(0)
        )
        .with_panel(
            rows(
                "Members by store",
                "Bills paid by members and the members who paid them, over the range.",
                [Q(MEMBERS_BY_STORE, table=True)],
                sort_by="active",
            )
        )
        .with_panel(
            series(
                "Points issued and redeemed per day",
                "Points given (earned, adjustments up, refunds returning points) and taken"
                " (spent on bills, refunds taking back what a bill earned).",
                [Q(POINTS_PER_DAY)],
                bars=True,
            ).decimals(0)
        )
        .with_panel(
            rows(
                "Points by cause",
                "Points issued and redeemed over the range, by why.",
                [Q(POINTS_BY_CAUSE, table=True)],
                sort_by="issued",
            )
        )
        .with_panel(
            series(
                "Coupons issued and redeemed per day",
                "Coupons the hubs gave (welcome, birthday) and coupons used on bills.",
                [Q(COUPONS_PER_DAY, "$tag_kind")],
                bars=True,
            ).decimals(0)
        )
        .with_panel(
            rows(
                "Coupons outstanding by store of issue",
                "Not used, not expired: how many and what they take off (yuan); points_net:"
                " points earned minus spent there. (hq): what HQ issued itself.",
                [Q(COUPONS_BY_STORE, table=True)],
                sort_by="outstanding",
                units={"value": YUAN},
            )
        )
        .with_panel(
            rows(
                "RFM segments",
                "Members per segment at the last scoring: store * is the chain (each member"
                " once); a store counts the members who paid a bill there.",
                [Q(SEGMENTS, table=True)],
                sort_by="members",
            )
        )
        .with_panel(
            series(
                "Ratings after the bill per day",
                "Diners' mean rating of food and service (1-5) per day, and how many rated;"
                " compare with call response times on the service dashboard.",
                [Q(RATINGS_PER_DAY, "$tag_store $col")],
                calcs=("mean",),
            )
        )
        .with_panel(
            big_number(
                "Campaign plays held for a check",
                "Plays the hubs held as possibly farmed (the reason is on the store's /games"
                " page and in HQ's report), not yet released or refused: held in the range"
                " minus decided in it.",
                Q(HELD_NOW),
                thresholds((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            series(
                "Campaign plays and winners per day",
                f"Plays (spins, quiz answers, scans, stamps) and plays that paid a prize, per"
                f" campaign and day (days in {CHAIN_TZ}).",
                [Q(PLAYS_PER_DAY, "$tag_campaign $col")],
                bars=True,
            ).decimals(0)
        )
        .with_panel(
            series(
                "Campaign cost against budget per day",
                "What the prizes paid and held cost (points at their value, a coupon at what it"
                " takes off, a dish at its price), in yuan, against the day's budget HQ gave"
                " the stores picked; refused plays give theirs back.",
                [
                    Q(COST_PER_DAY, "$tag_campaign cost"),
                    Q(BUDGET_PER_DAY, "$tag_campaign budget", ref_id="B"),
                ],
                unit=YUAN,
                calcs=("sum", "max"),
            )
        )
        .with_panel(
            rows(
                "Campaign winners by prize",
                "Prizes paid (staff's releases included) and their cost in yuan, over the range.",
                [Q(WINNERS_BY_PRIZE, table=True)],
                sort_by="winners",
                units={"cost": YUAN},
            )
        )
        .with_panel(
            rows(
                "Campaigns by store",
                "Per campaign and store over the range: plays, winners, cost (yuan), held /"
                " released / refused plays, members who played (new_members: the scan-QR"
                " gift of members who joined), bills that played.",
                [Q(CAMPAIGNS_BY_STORE, table=True)],
                sort_by="plays",
                units={"cost": YUAN},
                width=24,
            )
        )
        .with_panel(
            series(
                "Campaign plays flagged per day",
                "Plays held as possibly farmed (many new members at one table, one phone for"
                " many members), per store and day.",
                [Q(FLAGS_PER_DAY, "$tag_store")],
                bars=True,
                stacked=True,
            ).decimals(0)
        )
    )
