"""The chain today: sales per store and hour against the same weekday last week, orders,
bills and the average bill, top dishes, voids, and visits per day (the daily metrics).

Sales, orders and payments are written by HQ (cloud/sales_influx.py) from what the hubs
forward, timed by the hubs' clocks; money is integer fen, shown in yuan (/ 100)."""

from typing import Final

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

from cloud.const import M_ORDERS, M_PAYMENTS, M_SALES
from smartstore.grafana.influxql import STORE, TAG, Q, region_variable, store_variable
from smartstore.grafana.panels import YUAN, rows, series

UID = "smartstore-chain"
FILE = "chain-today.json"
# HQ's day for the per-day panel (InfluxQL groups days in UTC unless told). One chain, one
# zone; a chain across zones would need a zone per store, which the store config lacks.
CHAIN_TZ: Final = "Asia/Shanghai"
LAST_WEEK: Final = "7d"

SALES_PER_HOUR = (
    f'SELECT sum("revenue_fen") / 100 FROM "{M_SALES}" WHERE {STORE} AND $timeFilter '
    'GROUP BY time(1h), "store" fill(none)'
)
SALES_TODAY = (
    f'SELECT sum("revenue_fen") / 100 AS "today" FROM "{M_SALES}" WHERE {STORE} '
    'AND $timeFilter GROUP BY "store"'
)
# The same stretch of time a week earlier: Grafana's ${__from}/${__to} are epoch ms.
SALES_LAST_WEEK = (
    f'SELECT sum("revenue_fen") / 100 AS "same_weekday_last_week" FROM "{M_SALES}" '
    f"WHERE {STORE} AND time >= ${{__from}}ms - {LAST_WEEK} AND time <= ${{__to}}ms - {LAST_WEEK} "
    'GROUP BY "store"'
)
ORDERS_PER_HOUR = (
    f'SELECT sum("count") FROM "{M_ORDERS}" WHERE {STORE} AND $timeFilter '
    'GROUP BY time(1h), "store" fill(none)'
)
ORDERS = (
    f'SELECT sum("count") AS "orders", sum("total_fen") / sum("count") / 100 AS "average_order"'
    f' FROM "{M_ORDERS}" WHERE {STORE} AND $timeFilter GROUP BY "store"'
)
BILLS = (
    f'SELECT sum("count") AS "bills", sum("amount_fen") / sum("count") / 100 AS "average_bill"'
    f' FROM "{M_PAYMENTS}" WHERE {STORE} AND $timeFilter GROUP BY "store"'
)
TOP_DISHES_PER_HOUR = (
    'SELECT top("qty", "dish", 5) AS "qty" FROM (SELECT sum("qty") AS "qty" '
    f'FROM "{M_SALES}" WHERE {STORE} AND $timeFilter GROUP BY time(1h), "dish") GROUP BY time(1h)'
)
DISHES = (
    f'SELECT sum("qty") AS "qty", sum("revenue_fen") / 100 AS "revenue" FROM "{M_SALES}" '
    f'WHERE {STORE} AND $timeFilter GROUP BY "dish"'
)
# A void is a sales point with a negative quantity and revenue.
VOIDS = (
    f'SELECT sum("qty") * -1 AS "items_voided", sum("revenue_fen") / -100 AS "value_voided" '
    f'FROM "{M_SALES}" WHERE "qty" < 0 AND {STORE} AND $timeFilter GROUP BY "store"'
)
VISITS_PER_DAY = (
    f'SELECT sum("count") AS "visits", sum("amount_fen") / sum("count") / 100 AS "average_bill"'
    f' FROM "{M_PAYMENTS}" WHERE {STORE} AND $timeFilter GROUP BY time(1d), "store" fill(none)'
    f" tz('{CHAIN_TZ}')"
)


def build() -> dashboard.Dashboard:
    return (
        dashboard.Dashboard("Smartstore — chain today")
        .uid(UID)
        .description(
            "Sales, orders, bills, dishes and voids of every store since midnight, against the"
            " same weekday last week. Data: InfluxDB measurements sales, orders and payments,"
            " written by HQ (cloud/sales_influx.py)."
        )
        .tags([TAG])
        .readonly()
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time("now/d", "now")
        .with_variable(region_variable())
        .with_variable(store_variable(M_SALES))
        .with_panel(
            series(
                "Sales per hour by store",
                "Revenue net of voids (sales.revenue_fen) per hour and store, in yuan.",
                [Q(SALES_PER_HOUR, "$tag_store")],
                unit=YUAN,
                bars=True,
                stacked=True,
            )
        )
        .with_panel(
            series(
                "Same weekday last week, per hour",
                "The panel on the left, a week earlier (the same hours of the same weekday).",
                [Q(SALES_PER_HOUR, "$tag_store")],
                unit=YUAN,
                bars=True,
                stacked=True,
            ).time_shift(LAST_WEEK)
        )
        .with_panel(
            rows(
                "Sales by store: today against the same weekday last week",
                "Revenue net of voids since the start of the range, and over the same stretch"
                " of time a week earlier.",
                [Q(SALES_TODAY, table=True), Q(SALES_LAST_WEEK, ref_id="B", table=True)],
                sort_by="today",
                units={"today": YUAN, "same_weekday_last_week": YUAN},
            )
        )
        .with_panel(
            rows(
                "Orders, bills and average bill by store",
                "Orders placed (orders) and their average value before voids; bills paid"
                " (payments) and the average bill.",
                [Q(ORDERS, table=True), Q(BILLS, ref_id="B", table=True)],
                sort_by="orders",
                units={"average_order": YUAN, "average_bill": YUAN},
            )
        )
        .with_panel(
            series(
                "Orders per hour by store",
                "Orders placed (orders.count) per hour and store.",
                [Q(ORDERS_PER_HOUR, "$tag_store")],
                bars=True,
                stacked=True,
            ).decimals(0)
        )
        .with_panel(
            rows(
                "Top dishes by hour",
                "The five dishes sold most each hour (quantity net of voids).",
                [Q(TOP_DISHES_PER_HOUR, table=True)],
                by_time=True,
            )
        )
        .with_panel(
            rows(
                "Dishes",
                "Quantity and revenue net of voids per dish over the range, best seller first.",
                [Q(DISHES, table=True)],
                sort_by="qty",
                units={"revenue": YUAN},
            )
        )
        .with_panel(
            rows(
                "Voids by store",
                "Items staff took off orders, and their value.",
                [Q(VOIDS, table=True)],
                sort_by="items_voided",
                units={"value_voided": YUAN},
            )
        )
        .with_panel(
            rows(
                "Visits and average bill per day (last 30 days)",
                f"Daily metrics: visits are bills paid; days in {CHAIN_TZ}. New and returning"
                " members and coupon use come with members.",
                [Q(VISITS_PER_DAY, table=True)],
                units={"average_bill": YUAN},
                width=24,
                by_time=True,
            ).time_from("30d")
        )
    )
