"""The line and the bookings (edge/waitlist/service.py) on the hub's real SQLite schema."""

import threading
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from contract.menu import MenuFile, Opening, StoreConfig
from contract.waitlist import WaitlistConfig
from edge.db import make_engine
from edge.orders.errors import OrderError
from edge.orders.models import Payment
from edge.tables.models import DiningTable
from edge.waitlist import service
from edge.waitlist.models import WaitParty
from tests.fast.helpers import StoreDb, outbox

CONFIG = WaitlistConfig()
NOW = time.time()  # numbers are per local day: today


def take(s: Session, key: str, size: int, now: float = NOW, **kw: object) -> WaitParty:
    return service.take_number(s, CONFIG, key, size, "phone", now, **kw).party  # type: ignore[arg-type]


def test_numbers_per_group_once_per_request_and_bad_sizes_refused(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        a1, b1, a2 = take(s, "k1", 2), take(s, "k2", 4), take(s, "k3", 1)
        assert (a1.number, b1.number, a2.number) == ("A001", "B001", "A002")
        again = service.take_number(s, CONFIG, "k1", 2, "phone", NOW + 5)
        assert again.party.id == a1.id and not again.created  # a retried tap: the same number
        assert take(s, "k4", 9).number == "D001" and take(s, "k5", 5).number == "C001"
        for size in (0, 200, -1):
            with pytest.raises(OrderError) as err:
                take(s, f"bad{size}", size)
            assert err.value.code == "bad_party_size"
            assert "1 到 30" in err.value.message and "1 to 30" in err.value.message
        tomorrow = take(s, "k6", 2, now=NOW + 86400)
        assert tomorrow.number == "A001"  # numbers restart every day
        facts = outbox(s)
    assert [f.type for f in facts] == ["waitlist.party"] * 6
    assert facts[0].data["what"] == "taken" and facts[0].data["number"] == "A001"
    assert facts[0].data["est_high_s"] >= facts[0].data["est_s"]


def test_priority_goes_first_but_nobody_is_passed_over_more_than_n_times(db: StoreDb) -> None:
    config = WaitlistConfig(max_passed_over=2)
    with db.sessions.begin() as s:
        plain = [take(s, f"p{n}", 2, now=NOW + n) for n in range(2)]
        gold = [take(s, f"g{n}", 2, now=NOW + 10 + n, priority=True) for n in range(3)]
        assert service.ahead_of(s, config, gold[0]) == 0
        assert service.ahead_of(s, config, plain[0]) == 2  # the first two gold go first
        called = [service.call(s, config, NOW + 100 + n, group="A").number for n in range(5)]
    # Two gold jump everyone; then A001 and A002 were passed over twice: their turn first.
    assert called == ["A003", "A004", "A001", "A002", "A005"]


def test_call_seat_skip_put_back_and_leave(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        s.add(DiningTable(id="A1", name="A1", is_open=False))
        p = take(s, "c1", 2)
        q = take(s, "c2", 2)
        assert service.ahead_of(s, CONFIG, q) == 1
        service.call(s, CONFIG, NOW + 60, group="A")
        assert p.status == "called" and service.ahead_of(s, CONFIG, q) == 1
        with pytest.raises(OrderError, match="more seconds"):
            service.skip_no_show(s, CONFIG, p, NOW + 61)
        service.skip_no_show(s, CONFIG, p, NOW + 60 + CONFIG.no_show_grace_s)
        assert p.status == "no_show" and service.ahead_of(s, CONFIG, q) == 0
        service.put_back(s, p, NOW + 400)  # they were at the door after all
        assert p.status == "waiting" and service.ahead_of(s, CONFIG, q) == 1
        service.call(s, CONFIG, NOW + 410, party=p)
        table = service.seat(s, p, "A1", NOW + 420)
        assert table.is_open and table.opened_at == NOW + 420  # the table's new party
        service.leave(s, q, NOW + 430)
        with pytest.raises(OrderError, match="no longer in the line"):
            service.seat(s, q, "A2", NOW + 440)
        facts = [(f.data["number"], f.data["what"]) for f in outbox(s)]
        seated = next(f for f in outbox(s) if f.data["what"] == "seated")
    assert facts == [
        ("A001", "taken"), ("A002", "taken"), ("A001", "called"), ("A001", "no_show"),
        ("A001", "put_back"), ("A001", "called"), ("A001", "seated"), ("A002", "left"),
    ]  # fmt: skip
    assert seated.data["waited_s"] == 420 and seated.data["table"] == "A1"
    assert seated.data["error_s"] == pytest.approx(420 - seated.data["est_s"])


def test_turn_times_come_from_the_tables_payments(db: StoreDb) -> None:
    config = WaitlistConfig()
    group = config.groups[0]
    with db.sessions.begin() as s:
        for n in range(6):  # six parties seated and paid after 30 minutes each
            p = take(s, f"t{n}", 2, now=NOW - 20000 + n)
            service.call(s, config, NOW - 19000 + n, party=p)
            s.add(DiningTable(id=f"T{n}", name=f"T{n}"))
            service.seat(s, p, f"T{n}", NOW - 18000 + n)
            s.add(Payment(table_id=f"T{n}", table_name=f"T{n}", amount_fen=100, method="cash",
                          paid_at=NOW - 16200 + n, by="alice"))  # fmt: skip
        busy = take(s, "busy", 2, now=NOW - 900)
        service.call(s, config, NOW - 700, party=busy)
        service.seat(s, busy, "T0", NOW - 600)  # sat 10 minutes ago, not paid yet
        state = service.group_state(s, config, group, NOW)
    assert state.turn_s == 1800.0 and state.busy == [pytest.approx(600.0)]


def test_bookings_check_input_and_capacity(db: StoreDb, menu: MenuFile) -> None:
    store = StoreConfig(
        menu=menu,
        hours={d: [Opening(open="11:00", close="22:00")] for d in
               ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    )  # fmt: skip
    day = time.strftime("%Y-%m-%d", time.localtime(NOW + 86400))

    def req(
        key: str, slot: str = "19:30", size: int = 4, when: str = day
    ) -> service.BookingRequest:
        return service.BookingRequest(key, when, slot, size, "王", "13800138000")

    with db.sessions.begin() as s:
        b, created = service.book(s, CONFIG, store, req("b1"), NOW)
        assert created and b.phone_mask == "138****8000" and b.grp == "B"
        assert service.book(s, CONFIG, store, req("b1"), NOW)[0].id == b.id
        service.book(s, CONFIG, store, req("b2"), NOW)
        with pytest.raises(OrderError, match="slot is full") as full:
            service.book(s, CONFIG, store, req("b3"), NOW)
        assert full.value.status == 409
        cases = {
            "bad_party_size": req("x1", size=0),
            "slot_past": req("x2", when=time.strftime("%Y-%m-%d", time.localtime(NOW - 86400))),
            "store_closed_then": req("x3", slot="09:00"),
            "bad_slot": req("x4", slot="19:20"),
        }
        for code, bad in cases.items():
            with pytest.raises(OrderError) as err:
                service.book(s, CONFIG, store, bad, NOW)
            assert err.value.code == code and " / " in err.value.message
        party = service.arrive(s, CONFIG, b, NOW + 86400)
        assert party.source == "booking" and party.priority and party.number == "B001"


def test_fifty_parties_booking_the_last_places_at_once_get_exactly_the_capacity(
    db: StoreDb,
) -> None:
    """Fifty threads, each its own connection and transaction, as fifty HTTP requests."""
    day = time.strftime("%Y-%m-%d", time.localtime(NOW + 86400))
    engines = [make_engine(db.path, for_writes=True) for _ in range(10)]
    makers = [sessionmaker(e, expire_on_commit=False) for e in engines]
    barrier = threading.Barrier(50)
    results: list[str] = []

    def one(n: int) -> None:
        request = service.BookingRequest(f"race{n}", day, "19:00", 2, "", "13800138000")
        barrier.wait()
        try:
            with makers[n % 10].begin() as s:
                service.book(s, CONFIG, None, request, NOW)
            results.append("ok")
        except OrderError as err:
            results.append(err.code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(50)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for e in engines:
            e.dispose()
    assert results.count("ok") == CONFIG.groups[0].slot_capacity == 2
    assert results.count("slot_full") == 48


def test_priority_members_may_book_further_ahead(db: StoreDb) -> None:
    far = time.strftime("%Y-%m-%d", time.localtime(NOW + 10 * 86400))
    request = service.BookingRequest("far1", far, "12:00", 2, "", "13800138000")
    with db.sessions.begin() as s:
        with pytest.raises(OrderError, match="7 days ahead"):
            service.book(s, CONFIG, None, request, NOW)
        booking, created = service.book(s, CONFIG, None, request, NOW, priority=True)
    assert created and booking.day == far


def test_held_places_only_for_priority_until_their_release_then_for_anyone(db: StoreDb) -> None:
    groups = [g.model_copy(update={"slot_capacity": 3, "priority_held": 1}) if g.id == "A"
              else g for g in CONFIG.groups]  # fmt: skip
    config = CONFIG.model_copy(update={"groups": groups, "priority_hold_release_min": 60})
    day = time.strftime("%Y-%m-%d", time.localtime(NOW + 2 * 86400))
    at = service.slot_start(day, "19:00")

    def book(key: str, now: float, priority: bool = False) -> str:
        request = service.BookingRequest(key, day, "19:00", 2, "", "13800138000")
        try:
            with db.sessions.begin() as s:
                service.book(s, config, None, request, now, priority=priority)
        except OrderError as err:
            return err.code
        return "ok"

    assert [book(f"n{n}", NOW) for n in range(3)] == ["ok", "ok", "slot_held"]
    with db.sessions.begin() as s:
        assert service.slots_left(s, config, day, NOW) == {"19:00": {"A": 0}}
        assert service.slots_left(s, config, day, NOW, priority=True) == {"19:00": {"A": 1}}
    assert book("g1", NOW, priority=True) == "ok"
    assert book("g2", NOW, priority=True) == "slot_full"
    assert book("n3", at - 30 * 60) == "slot_full"  # released, but the slot is full

    # A priority booking made first takes the held place: the others may still have two.
    other = time.strftime("%Y-%m-%d", time.localtime(NOW + 3 * 86400))
    day, at = other, service.slot_start(other, "19:00")
    assert book("g3", NOW, priority=True) == "ok"
    assert [book(f"m{n}", NOW) for n in range(3)] == ["ok", "ok", "slot_full"]
    # An hour before the slot a held place nobody with priority took is anyone's.
    day = time.strftime("%Y-%m-%d", time.localtime(NOW + 4 * 86400))
    at = service.slot_start(day, "19:00")
    assert [book(f"r{n}", NOW) for n in range(3)] == ["ok", "ok", "slot_held"]
    assert book("r3", at - 59 * 60) == "ok"
