"""The hub prices every order from its menu (edge/orders/service.py: place_order, _price).

Prices from the sample menu (smartstore/samples/menu.yaml), in fen: kungpao 3800 (spice
required, no surcharge), fish 8800 (size required; large +4000), tea 1200 (temperature
required), cucumber 1600 (garlic optional), rice 300, beer 1500.
"""

from typing import Any

import pytest
from sqlalchemy import select

from contract.menu import MAX_LINES, MAX_QTY, MenuFile
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.models import Order, OrderLine
from edge.orders.schemas import LineRequest
from edge.printing.models import PrintJob
from edge.printing.service import Routes
from edge.uplink.models import OutboxEvent
from tests.fast.edge.orders.placing import KIOSK, TABLE_A1, key, line, place
from tests.fast.helpers import NOW, StoreDb, count, outbox


def test_an_order_is_priced_from_the_menu_with_option_surcharges(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    lines = [
        line("kungpao", 2, spice="mild"),  # 2 x 3800
        line("fish", 1, size="large"),  # 8800 + 4000
        line("tea", 3, temp="iced"),  # 3 x 1200
        line("cucumber"),  # 1600, its garlic option is not required
    ]
    with db.sessions.begin() as s:
        placed = place(s, menu, routes, lines)
        uid = placed.order.uid
    assert placed.created

    with db.reads() as s:
        order = orders.by_uid(s, uid)
        assert order.total_fen == 7600 + 12800 + 3600 + 1600 == 25600
        assert [(x.dish_id, x.qty, x.unit_price_fen, x.line_total_fen) for x in order.lines] == [
            ("kungpao", 2, 3800, 7600),
            ("fish", 1, 12800, 12800),
            ("tea", 3, 1200, 3600),
            ("cucumber", 1, 1600, 1600),
        ]
        fish = order.lines[1]
        assert fish.options == [
            {
                "option": "size",
                "choice": "large",
                "name_zh": "一斤半",
                "name_en": "750 g",
                "price_fen": 4000,
            }
        ]
        # Names as they were when ordered: a later menu does not rewrite old bills.
        assert (fish.name_zh, fish.name_en, fish.station) == ("清蒸鲈鱼", "Steamed Sea Bass", "hot")
        assert order.lines[3].options == []
        assert (order.no, order.status, order.source, order.table_name) == (
            1,
            "accepted",
            "table",
            "A1",
        )

        # One kitchen ticket per station, each on its station's printer, in the same commit.
        jobs = s.scalars(
            select(PrintJob).where(PrintJob.order_id == order.id).order_by(PrintJob.id)
        )
        by_line = {x.id: x.dish_id for x in order.lines}
        assert [
            (j.kind, j.station, j.printer_id, [by_line[i] for i in j.line_ids]) for j in jobs
        ] == [
            ("kitchen", "hot", "printer-01", ["kungpao", "fish"]),
            ("kitchen", "bar", "printer-03", ["tea"]),
            ("kitchen", "cold", "printer-02", ["cucumber"]),
        ]

        # HQ hears of it with the hub's prices.
        [fact] = outbox(s)
        assert (fact.id, fact.type) == (f"op-{uid}", "order.placed")
        assert fact.data["total_fen"] == 25600
        assert [(x["dish"], x["qty"], x["unit_price_fen"]) for x in fact.data["lines"]] == [
            ("kungpao", 2, 3800),
            ("fish", 1, 12800),
            ("tea", 3, 1200),
            ("cucumber", 1, 1600),
        ]


def test_a_choice_without_surcharge_keeps_the_dish_price(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    with db.sessions.begin() as s:
        order = place(s, menu, routes, [line("fish", 2, size="regular")]).order
        assert (order.lines[0].unit_price_fen, order.total_fen) == (8800, 17600)
        assert order.lines[0].options[0]["price_fen"] == 0


def test_an_optional_option_chosen_is_recorded(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    with db.sessions.begin() as s:
        order = place(s, menu, routes, [line("cucumber", garlic="extra")]).order
        assert order.total_fen == 1600
        assert [(o["option"], o["choice"], o["name_en"]) for o in order.lines[0].options] == [
            ("garlic", "extra", "Extra garlic")
        ]


def test_a_price_sent_by_the_client_is_ignored(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    # LineRequest ignores unknown fields on purpose (docs/ordering-api.md).
    cheeky = LineRequest.model_validate({"dish": "beer", "qty": 2, "price_fen": 1})
    with db.sessions.begin() as s:
        assert place(s, menu, routes, [cheeky]).order.total_fen == 3000


def test_quantity_and_line_limits_are_inclusive(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    assert (MAX_QTY, MAX_LINES) == (50, 50)
    with db.sessions.begin() as s:
        most = place(s, menu, routes, [line("rice", MAX_QTY)], idem=key(1)).order
        widest = place(s, menu, routes, [line("rice")] * MAX_LINES, idem=key(2)).order
        assert most.total_fen == 50 * 300 == 15000
        assert (len(widest.lines), widest.total_fen) == (50, 15000)


def _refused(
    db: StoreDb,
    menu: MenuFile,
    routes: Routes,
    lines: list[LineRequest],
    sold_out: frozenset[str] = frozenset(),
) -> OrderError:
    """The error, and proof that nothing at all was stored: no order, ticket or HQ fact."""
    with db.sessions.begin() as s:
        with pytest.raises(OrderError) as caught:
            place(s, menu, routes, lines, sold_out=sold_out)
        assert (count(s, Order), count(s, OrderLine), count(s, PrintJob)) == (0, 0, 0)
        assert count(s, OutboxEvent) == 0
    return caught.value


@pytest.mark.parametrize(
    ("lines", "status", "code", "extra"),
    [
        pytest.param([], 422, "empty_order", {}, id="no-lines"),
        pytest.param([line("rice")] * (MAX_LINES + 1), 422, "empty_order", {}, id="51-lines"),
        pytest.param([line("lobster")], 422, "unknown_dish", {"dish": "lobster"}, id="unknown"),
        pytest.param([line("rice", 0)], 422, "bad_quantity", {"dish": "rice"}, id="qty-0"),
        pytest.param([line("rice", -2)], 422, "bad_quantity", {"dish": "rice"}, id="qty-neg"),
        pytest.param(
            [line("rice", MAX_QTY + 1)], 422, "bad_quantity", {"dish": "rice"}, id="qty-51"
        ),
        pytest.param([line("kungpao")], 422, "bad_option", {"dish": "kungpao"}, id="required"),
        pytest.param(
            [line("kungpao", spice="volcanic")], 422, "bad_option", {"dish": "kungpao"}, id="choice"
        ),
        pytest.param(
            [line("rice", size="large")], 422, "bad_option", {"dish": "rice"}, id="no-such-option"
        ),
        pytest.param(
            # The first problem refuses the whole order, good lines included.
            [line("beer", 2), line("tea", 1)],
            422,
            "bad_option",
            {"dish": "tea"},
            id="one-bad-line-of-two",
        ),
    ],
)
def test_a_bad_order_is_refused_whole_with_a_code_and_nothing_stored(
    db: StoreDb,
    menu: MenuFile,
    routes: Routes,
    lines: list[LineRequest],
    status: int,
    code: str,
    extra: dict[str, Any],
) -> None:
    err = _refused(db, menu, routes, lines)
    assert (err.status, err.code, err.extra) == (status, code, extra)
    assert " / " in err.message  # one bilingual message a diner can read as it is


def test_messages_say_what_to_fix(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    assert _refused(db, menu, routes, [line("kungpao")]).message == (
        "宫保鸡丁：请选择辣度 / Kung Pao Chicken: choose the spice level"
    )
    assert _refused(db, menu, routes, [line("rice", 51)]).message == (
        "米饭：数量须为 1 到 50 / Steamed Rice: quantity must be 1 to 50"
    )
    assert _refused(db, menu, routes, []).message == (
        "订单须有 1 到 50 项 / An order needs 1 to 50 lines"
    )


def test_a_sold_out_dish_refuses_the_order(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    err = _refused(
        db,
        menu,
        routes,
        [line("rice", 2), line("kungpao", spice="mild")],
        sold_out=frozenset({"kungpao"}),
    )
    assert (err.status, err.code, err.extra) == (409, "sold_out", {"dish": "kungpao"})
    assert err.message == "宫保鸡丁已售罄 / Kung Pao Chicken is sold out"


def test_notes_are_trimmed(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    with db.sessions.begin() as s:
        order = place(
            s, menu, routes, [line("rice", note="  less please \n")], note="  生日 birthday\t\n"
        ).order
        uid = order.uid
    with db.reads() as s:
        order = orders.by_uid(s, uid)
        assert (order.note, order.lines[0].note) == ("生日 birthday", "less please")


def test_numbers_count_per_day(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    tomorrow = NOW + 24 * 3600
    assert orders.local_day(tomorrow) != orders.local_day(NOW)
    with db.sessions.begin() as s:
        first = place(s, menu, routes, [line("rice")], idem=key(1)).order
        second = place(s, menu, routes, [line("rice")], idem=key(2), origin=KIOSK).order
        next_day = place(s, menu, routes, [line("rice")], idem=key(3), now=tomorrow).order
        assert [(o.no, o.day) for o in (first, second, next_day)] == [
            (1, orders.local_day(NOW)),
            (2, orders.local_day(NOW)),  # tables and kiosks share the day's numbers
            (1, orders.local_day(tomorrow)),
        ]


def test_where_an_order_comes_from_is_kept(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    with db.sessions.begin() as s:
        kiosk = place(s, menu, routes, [line("plum")], idem=key(1), origin=KIOSK).order
        table = place(s, menu, routes, [line("plum")], idem=key(2), origin=TABLE_A1).order
        assert (kiosk.source, kiosk.table_id, kiosk.device_id, kiosk.member_code) == (
            "kiosk",
            None,
            "kiosk-01",
            "M-42",
        )
        assert kiosk.party_opened_at is None
        # No dining_tables row for A1 in this test: the order falls back to "by time".
        assert (table.source, table.table_id, table.party_opened_at) == ("table", "A1", None)
