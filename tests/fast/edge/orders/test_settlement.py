"""A table's bill: what its party owes (amounts_due) and paying it (settle_table).

A party is the table's orders since staff seated it (DiningTable.opened_at), keyed on that
time, not on the clock: docs/ordering-api.md, "POST /api/tables/{id}/pay".
"""

import pytest
from sqlalchemy import select

from contract.inventory import Inventory
from contract.menu import MenuFile
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.models import Order, Payment
from edge.printing.service import Routes
from edge.tables import service as tables
from tests.fast.edge.orders.placing import KIOSK, TABLE_A2, key, line, place
from tests.fast.helpers import NOW, STAFF, StoreDb, count, outbox

SEATED = NOW - 3600  # when the tables were opened for their current party


@pytest.fixture
def store(db: StoreDb, inventory: Inventory, menu: MenuFile, routes: Routes) -> StoreDb:
    """A1 has ordered 6800 fen (kungpao 3800, then 2 beers 3000), A2 300, a kiosk 1500."""
    with db.sessions.begin() as s:
        tables.sync_tables(s, inventory, SEATED)
    with db.sessions.begin() as s:
        place(s, menu, routes, [line("kungpao", spice="hot")], idem=key(1))
        place(s, menu, routes, [line("beer", 2)], idem=key(2), now=NOW + 60)
        place(s, menu, routes, [line("rice")], idem=key(3), origin=TABLE_A2)
        place(s, menu, routes, [line("beer")], idem=key(4), origin=KIOSK)
    return db


def _due(db: StoreDb, table: str | None = None) -> dict[str, int]:
    with db.reads() as s:
        return orders.amounts_due(s, table)


def _pay(
    db: StoreDb, table: str, method: str = "cash", expected: int | None = None, at: float = NOW
) -> Payment:
    with db.sessions.begin() as s:
        return orders.settle_table(s, table, method, STAFF, at + 600, expected)


def _refusal(db: StoreDb, table: str, expected: int | None = None) -> OrderError:
    with pytest.raises(OrderError) as caught:
        _pay(db, table, expected=expected)
    return caught.value


def test_what_each_table_owes(store: StoreDb) -> None:
    assert _due(store) == {"A1": 6800, "A2": 300}  # a kiosk order is paid at the kiosk
    assert _due(store, "A1") == {"A1": 6800}
    assert _due(store, "B1") == {}


def test_paying_records_the_bill_closes_the_table_and_tells_hq(store: StoreDb) -> None:
    payment = _pay(store, "A1", "wechat", expected=6800)
    with store.reads() as s:
        a1_orders = [o.uid for o in s.scalars(select(Order).where(Order.table_id == "A1"))]
        row = s.scalars(select(Payment)).one()
        assert (row.uid, row.table_name, row.amount_fen, row.method, row.by) == (
            payment.uid,
            "A1",
            6800,
            "wechat",
            STAFF,
        )
        assert (row.order_uids, row.paid_at, row.party_opened_at) == (a1_orders, NOW + 600, SEATED)
        assert tables.get(s, "A1").is_open is False
        fact = outbox(s)[-1]
        assert (fact.id, fact.type) == (f"pay-{payment.uid}", "payment.recorded")
        assert fact.data == {
            "payment": payment.uid,
            "table": "A1",
            "amount_fen": 6800,
            "method": "wechat",
            "orders": a1_orders,
            "paid_at": NOW + 600,
            "by": STAFF,
            # No member at this table: nothing off, nothing earned.
            "member": None,
            "gross_fen": 6800,
            "coupon": None,
            "coupon_off_fen": 0,
            "points_used": 0,
            "points_off_fen": 0,
            "points_earned": 0,
        }
    assert _due(store) == {"A2": 300}


def test_a_bill_that_changed_since_the_waiter_saw_it_is_refused(
    store: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    # The waiter showed 6800; the table ordered rice meanwhile: 7100 is due.
    with store.sessions.begin() as s:
        place(s, menu, routes, [line("rice")], idem=key(9), now=NOW + 120)
    err = _refusal(store, "A1", expected=6800)
    assert (err.status, err.code, err.extra) == (409, "bill_changed", {"amount_fen": 7100})
    with store.reads() as s:
        assert count(s, Payment) == 0
        assert tables.get(s, "A1").is_open is True
    assert _pay(store, "A1", expected=7100).amount_fen == 7100


def test_a_table_pays_once(store: StoreDb) -> None:
    _pay(store, "A1")
    err = _refusal(store, "A1")
    assert (err.status, err.code) == (409, "already_paid")
    with store.reads() as s:
        assert count(s, Payment) == 1


def test_nothing_to_pay_and_no_such_table(store: StoreDb) -> None:
    err = _refusal(store, "B1")
    assert (err.status, err.code) == (409, "nothing_to_pay")
    with pytest.raises(orders.OrderNotFound):
        _pay(store, "Z9")


def test_a_waived_bill_is_recorded_for_hq_and_ends_the_party(store: StoreDb) -> None:
    payment = _pay(store, "A2", "waived")
    assert (payment.method, payment.amount_fen) == ("waived", 300)
    with store.reads() as s:
        assert outbox(s)[-1].data["method"] == "waived"
    assert _due(store) == {"A1": 6800}


def test_voided_lines_are_off_the_bill(store: StoreDb, routes: Routes) -> None:
    with store.sessions.begin() as s:
        beers = s.scalars(select(Order).where(Order.total_fen == 3000)).one()
        orders.void_line(s, routes, beers.uid, beers.lines[0].id, STAFF, NOW + 90)
    assert _due(store, "A1") == {"A1": 3800}
    assert _pay(store, "A1", expected=3800).amount_fen == 3800


def test_a_bill_voided_to_nothing_has_nothing_to_pay(store: StoreDb, routes: Routes) -> None:
    with store.sessions.begin() as s:
        rice = s.scalars(select(Order).where(Order.table_id == "A2")).one()
        orders.void_line(s, routes, rice.uid, rice.lines[0].id, STAFF, NOW + 90)
    assert _due(store, "A2") == {"A2": 0}
    assert _refusal(store, "A2").code == "nothing_to_pay"


def test_a_table_closed_before_paying_still_owes_and_can_pay(store: StoreDb) -> None:
    with store.sessions.begin() as s:
        tables.set_open(s, "A1", False, NOW + 200, party_settled=False)
    assert _due(store, "A1") == {"A1": 6800}
    # Opened again unpaid: the same party goes on, nothing falls off its bill.
    with store.sessions.begin() as s:
        row = tables.set_open(s, "A1", True, NOW + 300, party_settled=False)
        assert (row.is_open, row.opened_at) == (True, SEATED)
    assert _due(store, "A1") == {"A1": 6800}
    with store.sessions.begin() as s:
        tables.set_open(s, "A1", False, NOW + 400, party_settled=False)
    assert _pay(store, "A1", expected=6800).amount_fen == 6800
    assert _due(store, "A1") == {}


def test_the_next_party_starts_with_an_empty_bill(
    store: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    _pay(store, "A1")  # at NOW + 600
    next_party = NOW + 900
    with store.sessions.begin() as s:
        assert (
            tables.set_open(s, "A1", True, next_party, party_settled=True).opened_at == next_party
        )
    assert _due(store, "A1") == {}
    with store.sessions.begin() as s:
        place(s, menu, routes, [line("plum", 2)], idem=key(10), now=next_party + 60)
    assert _due(store, "A1") == {"A1": 2000}
    payment = _pay(store, "A1", "card", expected=2000, at=next_party)
    assert payment.amount_fen == 2000
    assert len(payment.order_uids) == 1


def test_a_clock_set_back_does_not_mix_two_parties(
    store: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    # The hub's clock jumps back an hour (a Pi without a real-time clock) after A1 paid: the
    # next party is seated "before" the last one's orders. By time they would be one bill;
    # by party they are not.
    _pay(store, "A1")
    earlier = NOW - 7200
    with store.sessions.begin() as s:
        tables.set_open(s, "A1", True, earlier, party_settled=True)
    assert _due(store, "A1") == {}
    with store.sessions.begin() as s:
        place(s, menu, routes, [line("woodear")], idem=key(11), now=earlier + 60)
    assert _due(store, "A1") == {"A1": 1800}
    assert _pay(store, "A1", expected=1800, at=earlier).amount_fen == 1800


def test_orders_from_before_party_keys_go_by_time(store: StoreDb, menu: MenuFile) -> None:
    # Rows written by an older hub have no party_opened_at: they belong to the party seated
    # before they were made.
    with store.sessions.begin() as s:
        for n, created in ((1, SEATED - 10), (2, SEATED + 10)):
            s.add(
                Order(
                    key=f"legacy-{n:012d}",
                    request_hash="-",
                    no=100 + n,
                    day=orders.local_day(created),
                    source="table",
                    table_id="B1",
                    table_name="B1",
                    created_at=created,
                    total_fen=1000 * n,
                )
            )
    assert _due(store, "B1") == {"B1": 2000}
    assert _pay(store, "B1", expected=2000).amount_fen == 2000
    assert _due(store, "B1") == {}
