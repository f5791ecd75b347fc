"""Orders after pricing: one order per idempotency key, voids, done, the numbers screens call
(edge/orders/service.py)."""

import pytest
from sqlalchemy import select

from contract.menu import MenuFile
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.models import Order, OrderLine
from edge.orders.schemas import LineRequest
from edge.orders.service import Origin
from edge.printing.models import PrintJob
from edge.printing.service import Routes
from tests.fast.edge.orders.placing import TABLE_A1, TABLE_A2, key, line, place
from tests.fast.helpers import NOW, STAFF, StoreDb, count, outbox, outbox_types

# kungpao 2 x 3800 + rice 2 x 300
DINNER = [line("kungpao", 2, spice="medium"), line("rice", 2)]


def _jobs(db: StoreDb) -> list[tuple[str, str, str]]:
    with db.reads() as s:
        return [(j.kind, j.station, j.printer_id) for j in s.scalars(select(PrintJob))]


# --- idempotency: the same tap, retried, is one order and one ticket -------------------------


def test_a_retried_key_returns_the_same_order_and_stores_nothing_more(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    with db.sessions.begin() as s:
        first = place(s, menu, routes, DINNER)
    with db.sessions.begin() as s:
        again = place(s, menu, routes, DINNER, now=NOW + 30)
        assert (first.created, again.created) == (True, False)
        assert (again.order.uid, again.order.no, again.order.total_fen) == (
            first.order.uid,
            1,
            8200,
        )
        assert again.order.created_at == NOW  # the original, not the retry's time
    with db.reads() as s:
        assert (count(s, Order), count(s, OrderLine)) == (1, 2)
        assert outbox_types(s) == ["order.placed"]
    assert _jobs(db) == [("kitchen", "hot", "printer-01")]


def test_a_retry_finds_its_order_even_when_the_dish_sold_out_since(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    # The diner took the last portion; the answer was lost on bad Wi-Fi; the retry must say
    # "ordered", not "sold out".
    with db.sessions.begin() as s:
        first = place(s, menu, routes, DINNER)
    with db.sessions.begin() as s:
        again = place(s, menu, routes, DINNER, sold_out=frozenset({"kungpao"}))
        assert (again.created, again.order.uid) == (False, first.order.uid)


@pytest.mark.parametrize(
    ("lines", "note", "origin"),
    [
        pytest.param([line("kungpao", 2, spice="medium")], "birthday", TABLE_A1, id="a-line-less"),
        pytest.param(
            [line("kungpao", 3, spice="medium"), line("rice", 2)], "birthday", TABLE_A1, id="qty"
        ),
        pytest.param(
            [line("kungpao", 2, spice="mild"), line("rice", 2)], "birthday", TABLE_A1, id="option"
        ),
        pytest.param(DINNER, "anniversary", TABLE_A1, id="note"),
        pytest.param(DINNER, "birthday", TABLE_A2, id="another-table"),
    ],
)
def test_a_key_reused_for_another_order_is_refused(
    db: StoreDb,
    menu: MenuFile,
    routes: Routes,
    lines: list[LineRequest],
    note: str,
    origin: Origin,
) -> None:
    with db.sessions.begin() as s:
        first = place(s, menu, routes, DINNER, note="birthday", origin=TABLE_A1)
    with db.sessions.begin() as s, pytest.raises(OrderError) as caught:
        place(s, menu, routes, lines, note=note, origin=origin)
    err = caught.value
    assert (err.status, err.code) == (409, "key_reused")
    assert err.message == (
        "这个订单号已用于另一份订单 / This order key was already used for another order"
    )
    with db.reads() as s:
        [order] = s.scalars(select(Order))
        assert (order.uid, order.total_fen, order.note) == (first.order.uid, 8200, "birthday")
        assert outbox_types(s) == ["order.placed"]


# --- voids ----------------------------------------------------------------------------------


def _dinner(db: StoreDb, menu: MenuFile, routes: Routes) -> tuple[str, int, int]:
    """An 8200 fen order at A1: its uid, its kungpao line and its rice line."""
    with db.sessions.begin() as s:
        order = place(s, menu, routes, DINNER).order
        return order.uid, order.lines[0].id, order.lines[1].id


def test_a_voided_line_comes_off_the_total_prints_void_and_tells_hq(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    uid, _, rice = _dinner(db, menu, routes)
    with db.sessions.begin() as s:
        order = orders.void_line(s, routes, uid, rice, STAFF, NOW + 60)
        assert order.total_fen == 7600
    with db.reads() as s:
        order = orders.by_uid(s, uid)
        voided = order.lines[1]
        assert (order.total_fen, voided.status, voided.voided_by, voided.voided_at) == (
            7600,
            "void",
            STAFF,
            NOW + 60,
        )
        assert [x.line_total_fen for x in order.lines] == [7600, 0]
        void_job = s.scalars(select(PrintJob).where(PrintJob.kind == "void")).one()
        assert (void_job.station, void_job.printer_id, void_job.line_ids) == (
            "hot",
            "printer-01",
            [rice],
        )
        placed, void = outbox(s)
        assert placed.type == "order.placed"
        assert (void.id, void.type) == (f"ov-{uid}-{rice}", "order.line_voided")
        assert void.data == {
            "order": uid,
            "dish": "rice",
            "qty": 2,
            "unit_price_fen": 300,
            "by": STAFF,
        }


def test_voiding_twice_takes_the_line_off_once(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    uid, kungpao, rice = _dinner(db, menu, routes)
    for _ in range(2):
        with db.sessions.begin() as s:
            orders.void_line(s, routes, uid, rice, STAFF, NOW + 60)
    with db.sessions.begin() as s:
        assert orders.by_uid(s, uid).total_fen == 7600
        assert outbox_types(s) == ["order.placed", "order.line_voided"]
        # Voiding every line leaves an order of nothing, not a negative one.
        assert orders.void_line(s, routes, uid, kungpao, "bob", NOW + 90).total_fen == 0
    assert [kind for kind, _, _ in _jobs(db)] == ["kitchen", "void", "void"]


def test_voiding_what_does_not_exist_is_not_found(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    uid, _, _ = _dinner(db, menu, routes)
    with db.sessions.begin() as s:
        other = place(s, menu, routes, [line("beer")], idem=key(2)).order
        other_line = other.lines[0].id
    with db.sessions.begin() as s:
        with pytest.raises(orders.OrderNotFound):
            orders.void_line(s, routes, "no-such-order", 1, STAFF, NOW)
        with pytest.raises(orders.OrderNotFound):
            orders.void_line(s, routes, uid, 999, STAFF, NOW)
        with pytest.raises(orders.OrderNotFound):  # a line of another order
            orders.void_line(s, routes, uid, other_line, STAFF, NOW)
        assert orders.by_uid(s, uid).total_fen == 8200


# --- done and the numbers the screens call --------------------------------------------------


def test_done_records_when_and_tells_hq_once(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    uid, _, _ = _dinner(db, menu, routes)
    with db.sessions.begin() as s:
        order = orders.mark_done(s, uid, NOW + 300.25)
        assert (order.status, order.done_at) == ("done", NOW + 300.25)
    with db.sessions.begin() as s:
        assert orders.mark_done(s, uid, NOW + 999).done_at == NOW + 300.25  # the first stands
    with db.reads() as s:
        assert outbox_types(s) == ["order.placed", "order.done"]
        done = outbox(s)[-1]
        assert (done.id, done.type) == (f"od-{uid}", "order.done")
        assert done.data == {"order": uid, "no": 1, "ready_s": 300.25}
        assert orders.open_orders(s) == []
    with db.sessions.begin() as s, pytest.raises(orders.OrderNotFound):
        orders.mark_done(s, "no-such-order", NOW)


def test_ready_numbers_are_today_s_done_orders_latest_first(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    today = orders.local_day(NOW)
    tomorrow = NOW + 24 * 3600
    with db.sessions.begin() as s:
        uids = [place(s, menu, routes, [line("rice")], idem=key(n)).order.uid for n in (1, 2, 3, 4)]
        late = place(s, menu, routes, [line("rice")], idem=key(5), now=tomorrow).order.uid
    with db.sessions.begin() as s:
        orders.mark_done(s, uids[1], NOW + 10)  # no. 2
        orders.mark_done(s, uids[0], NOW + 20)  # no. 1
        orders.mark_done(s, uids[3], NOW + 30)  # no. 4; no. 3 is still cooking
        orders.mark_done(s, late, tomorrow + 10)  # tomorrow's no. 1
    with db.reads() as s:
        assert orders.ready_numbers(s, today, 10) == [4, 1, 2]
        assert orders.ready_numbers(s, today, 2) == [4, 1]
        assert orders.ready_numbers(s, orders.local_day(tomorrow), 10) == [1]
        assert [o.no for o in orders.open_orders(s)] == [3]
