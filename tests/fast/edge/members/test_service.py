"""The members rules at the hub, on a scratch database: joining, balances as sums, what a bill
may take off (coupons, points, the offline allowance), earning on what was paid, reversals."""

import re
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.inventory import Inventory
from contract.members import (
    COUPON_CODE_PATTERN,
    CouponKind,
    CouponTemplate,
    IssuedCoupon,
    MemberLookup,
    MembersConfig,
    Segment,
    derived_coupon_code,
    member_code,
    phone_hash,
    read_member_code,
)
from contract.menu import MenuFile
from edge.members import bill as member_bill
from edge.members import coupons as member_coupons
from edge.members import ledger
from edge.members import service as members
from edge.members.models import Coupon, Member
from edge.members.popular import PopularNow
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.models import Order
from edge.orders.schemas import LineRequest
from edge.printing.service import Routes
from edge.tables import service as tables
from tests.fast.edge.orders.placing import key, line, place
from tests.fast.helpers import NOW, STAFF, StoreDb, outbox

KEY = b"k" * 32
PHONE = "13800138000"
CONFIG = MembersConfig()


@pytest.fixture
def store(db: StoreDb, inventory: Inventory, menu: MenuFile, routes: Routes) -> StoreDb:
    """A1 ordered 6800 fen (kungpao 3800, two beers 3000); a member joined at A1."""
    with db.sessions.begin() as s:
        tables.sync_tables(s, inventory, NOW - 3600)
    with db.sessions.begin() as s:
        place(s, menu, routes, [line("kungpao", spice="hot")], idem=key(1))
        place(s, menu, routes, [line("beer", 2)], idem=key(2))
        m = members.join(s, CONFIG, PHONE, phone_hash(KEY, PHONE), "07-15", NOW)
        members.attach(s, "A1", NOW - 3600, m, NOW, replace=False)
    return db


def _member(s: Session) -> Member:
    return s.scalars(select(Member)).one()


def _price(
    db: StoreDb, coupon: str | None = None, points: int = 0, online: bool = True
) -> member_bill.BillDiscount:
    with db.reads() as s:
        bill = orders.party_bill(s, "A1")
        return member_bill.price_bill(
            s,
            CONFIG,
            "S1",
            _member(s),
            bill.gross_fen,
            member_bill.dish_prices(bill.orders),
            coupon,
            points,
            online,
            NOW,
        )


def _refused(db: StoreDb, **kw: object) -> str:
    with pytest.raises(OrderError) as caught:
        _price(db, **kw)  # type: ignore[arg-type]
    assert " / " in caught.value.message  # Chinese / English
    return caught.value.code


def _grant(db: StoreDb, points: int) -> None:
    with db.sessions.begin() as s:
        ledger.adjust(s, _member(s), points, "test", STAFF, NOW)


def _pay(db: StoreDb, coupon: str | None = None, points: int = 0, online: bool = True) -> str:
    with db.sessions.begin() as s:
        bill = orders.party_bill(s, "A1")
        discount = member_bill.price_bill(
            s,
            CONFIG,
            "S1",
            _member(s),
            bill.gross_fen,
            member_bill.dish_prices(bill.orders),
            coupon,
            points,
            online,
            NOW,
        )
        payment = orders.record_payment(s, bill, "cash", STAFF, NOW, None, discount.off_fen)
        member_bill.record_paid(s, CONFIG, discount, payment, NOW)
        return payment.uid


def _welcome(db: StoreDb) -> str:
    with db.reads() as s:
        [c] = member_coupons.usable_coupons(s, _member(s).id, NOW)
        return c.code


def test_joining_keeps_a_mask_and_a_hash_never_the_number(store: StoreDb) -> None:
    with store.reads() as s:
        m = _member(s)
        assert (m.phone_masked, m.phone_hash) == ("138****8000", phone_hash(KEY, PHONE))
        assert PHONE not in repr([(c.name, getattr(m, c.name)) for c in Member.__table__.c])
        facts = outbox(s)
        assert PHONE not in repr([f.data for f in facts])
        assert [f.type for f in facts][-2:] == ["member.joined", "coupon.issued"]
    with store.sessions.begin() as s, pytest.raises(OrderError) as caught:
        members.join(s, CONFIG, PHONE, phone_hash(KEY, PHONE), None, NOW)
    assert caught.value.code == "already_member"


def test_a_bill_takes_one_coupon_and_points_up_to_a_tenth(store: StoreDb) -> None:
    welcome = _welcome(store)
    assert _price(store, welcome).coupon_off_fen == 2000
    _grant(store, 5000)
    # 10% of what is left after the coupon: 4800 fen -> 480 points.
    assert _refused(store, coupon=welcome, points=481) == "points_over_cap"
    d = _price(store, welcome, 480)
    assert (d.off_fen, d.points_off_fen) == (2480, 480)
    assert _refused(store, points=-1) == "bad_points"
    assert _refused(store, coupon="CAAAAAAAAAA") == "unknown_coupon"


def test_a_coupon_checks_its_minimum_window_store_and_dish(store: StoreDb) -> None:
    made: list[str] = []

    def give(**terms: object) -> str:
        template = CouponTemplate(id="t", name_zh="券", name_en="Coupon", **terms)  # type: ignore[arg-type]
        code = f"C{len(made) + 2}{'A' * 9}"
        made.append(code)
        issued = IssuedCoupon.issue(template, code, NOW - 10, NOW + 10)
        with store.sessions.begin() as s:
            s.add(
                Coupon(
                    code=code,
                    member_id=_member(s).id,
                    terms=issued.model_dump(mode="json"),
                    source="hq",
                    valid_from=NOW - 10,
                    valid_until=NOW + 10,
                    issued_at=NOW,
                )
            )
        return code

    assert (
        _refused(store, coupon=give(kind=CouponKind.AMOUNT_OFF, value_fen=100, min_spend_fen=9000))
        == "below_minimum"
    )
    assert (
        _refused(
            store, coupon=give(kind=CouponKind.FREE_DISH, dish="fish", stores=None, value_fen=0)
        )
        == "dish_not_ordered"
    )
    free_beer = give(kind=CouponKind.FREE_DISH, dish="beer", stores=None, value_fen=0, percent=0)
    assert _price(store, free_beer).coupon_off_fen == 1500  # one beer
    elsewhere = give(kind=CouponKind.PERCENT_OFF, percent=50, stores=["S9"])
    assert _refused(store, coupon=elsewhere) == "coupon_not_here"


def test_offline_a_member_spends_what_the_hub_knew_at_most_the_day_allowance(
    store: StoreDb,
) -> None:
    _grant(store, 3000)
    with store.reads() as s:
        assert ledger.spendable(s, CONFIG, _member(s), False, NOW) == 2000
        assert ledger.spendable(s, CONFIG, _member(s), True, NOW) == 3000
    _pay(store, points=600, online=False)  # 600 <= 10% of 6800
    with store.reads() as s:
        m = _member(s)
        assert ledger.spendable(s, CONFIG, m, False, NOW) == 1400  # 2000 - 600 today
        assert ledger.balance(s, m) == 3000 - 600 + (6800 - 600) // 10
        [fact] = [f for f in outbox(s) if f.type == "member.points" and f.data["cause"] == "redeem"]
        assert fact.data["offline"] is True


def test_earning_is_on_what_was_paid_and_a_refund_reverses_it_once(store: StoreDb) -> None:
    uid = _pay(store, _welcome(store))
    with store.reads() as s:
        assert ledger.balance(s, _member(s)) == (6800 - 2000) // 10
    with store.sessions.begin() as s:
        refunded = orders.refund_payment(s, uid, STAFF, "cold", NOW + 60)
        member_bill.reverse_paid(s, refunded, STAFF, NOW + 60)
    with store.sessions.begin() as s, pytest.raises(OrderError) as caught:
        orders.refund_payment(s, uid, STAFF, "again", NOW + 61)
    assert caught.value.code == "already_refunded"
    with store.reads() as s:
        m = _member(s)
        assert ledger.balance(s, m) == 0
        assert len(member_coupons.usable_coupons(s, m.id, NOW)) == 1  # the coupon is back
        assert ledger.spend_12m(s, m, NOW) == 0  # a refunded bill is no spend


def test_levels_follow_twelve_months_of_spend_here_and_elsewhere(store: StoreDb) -> None:
    with store.sessions.begin() as s:
        m = _member(s)
        assert ledger.level_id(s, CONFIG, m, NOW) == "normal"
        m.hq_spend_elsewhere_fen = 200_000 - 6800
    _pay(store)
    with store.reads() as s:
        m = _member(s)
        assert ledger.level_id(s, CONFIG, m, NOW) == "silver"
        assert ledger.level_id(s, CONFIG, m, NOW + 366 * 86400) == "normal"  # a year later
        assert CONFIG.points_earned(10_000, "gold") == 1500


def test_hq_answers_make_the_replica_follow_and_an_erasure_removes_personal_data(
    store: StoreDb,
) -> None:
    with store.sessions.begin() as s:
        m = _member(s)
        terms = IssuedCoupon.issue(CONFIG.coupons[0], "CBBBBBBBBBB", NOW, NOW + 100)
        found = MemberLookup(
            member=m.id,
            ids=[m.id],
            phone_masked=m.phone_masked,
            spend_12m_elsewhere_fen=0,
            balance_elsewhere=700,
            coupons=[terms],
            segment=Segment.IMPORTANT_WIN_BACK,
        )
        members.apply_lookup(s, m, found, NOW)
        assert ledger.balance(s, m) == 700
        assert m.segment == "重要挽留"  # offers for a segment work offline
        assert {c.code for c in member_coupons.usable_coupons(s, m.id, NOW)} >= {"CBBBBBBBBBB"}
        members.apply_lookup(s, m, found.model_copy(update={"erased": True}), NOW)
        assert (m.phone_hash, m.phone_masked, m.birthday, m.card_no) == (None, "", None, None)
        assert m.segment is None


def test_the_birthday_coupon_comes_once_a_year_in_the_birthday_month(store: StoreDb) -> None:
    july = time.mktime((2027, 7, 3, 12, 0, 0, 0, 0, -1))
    with store.sessions.begin() as s:
        m = _member(s)
        member_coupons.birthday_coupon(s, CONFIG, m, july)
        member_coupons.birthday_coupon(s, CONFIG, m, july + 86400)
        sources = [c.source for c in s.scalars(select(Coupon).where(Coupon.member_id == m.id))]
    assert sorted(sources) == ["birthday", "welcome"]


def test_a_member_code_is_good_this_minute_and_the_last_only() -> None:
    now = 1_800_000_030.0
    code = member_code(KEY, "mabcdefgh23456789", now)
    assert read_member_code(KEY, code, now + 60) is not None
    assert read_member_code(KEY, code, now + 120) is None
    assert read_member_code(b"x" * 32, code, now) is None
    assert read_member_code(KEY, code.replace(":MABC", ":MABD"), now) is None


def test_a_waived_bill_earns_nothing_and_counts_for_no_level(store: StoreDb) -> None:
    with store.sessions.begin() as s:
        bill = orders.party_bill(s, "A1")
        discount = member_bill.price_bill(
            s, CONFIG, "S1", _member(s), bill.gross_fen, {}, None, 0, True, NOW
        )
        payment = orders.record_payment(s, bill, "waived", STAFF, NOW)
        member_bill.record_paid(s, CONFIG, discount, payment, NOW)
        assert payment.points_earned == 0
    with store.reads() as s:
        m = _member(s)
        assert ledger.balance(s, m) == 0 and ledger.spend_12m(s, m, NOW) == 0


def test_a_line_of_a_paid_order_cannot_be_voided(store: StoreDb, routes: Routes) -> None:
    uid = _pay(store)
    assert uid
    with store.reads() as s:
        order = s.scalars(select(Order).where(Order.table_id == "A1")).first()
        assert order is not None
        order_uid, line_id = order.uid, order.lines[0].id
    with store.sessions.begin() as s, pytest.raises(OrderError) as caught:
        orders.void_line(s, routes, order_uid, line_id, STAFF, NOW)
    assert caught.value.code == "already_paid" and "退款" in caught.value.message


def test_a_coupon_used_at_another_store_is_retired_here(store: StoreDb) -> None:
    welcome = _welcome(store)
    with store.sessions.begin() as s:
        m = _member(s)
        found = MemberLookup(
            member=m.id,
            ids=[m.id],
            phone_masked=m.phone_masked,
            spend_12m_elsewhere_fen=0,
            balance_elsewhere=0,
            used_coupons=[welcome],
        )
        members.apply_lookup(s, m, found, NOW)
    assert _refused(store, coupon=welcome) == "coupon_used"


def test_gifts_made_at_two_stores_for_one_phone_are_one_coupon() -> None:
    digest = phone_hash(KEY, PHONE)
    assert derived_coupon_code(digest.encode(), "welcome") == derived_coupon_code(
        digest.encode(), "welcome"
    )
    assert derived_coupon_code(digest.encode(), "birthday:2027") != derived_coupon_code(
        digest.encode(), "birthday:2028"
    )
    assert re.fullmatch(COUPON_CODE_PATTERN, derived_coupon_code(b"x", "welcome"))


@pytest.mark.parametrize("raw", ["2-3", "12-1", "02-3", "13-01", "02-30", "x"])
def test_a_birthday_must_be_a_real_month_and_day(raw: str) -> None:
    with pytest.raises(OrderError) as caught:
        members.parse_birthday(raw)
    assert caught.value.code == "bad_birthday"
    assert members.parse_birthday("1990-02-29") == "02-29"


@pytest.mark.parametrize(
    "code", ["SSM1:MABCDEFGHIJ:²:X", "SSM1:MABCDEFGH23456789:29930997:é", "SSM1::1:A", "x" * 200]
)
def test_a_crafted_member_code_names_no_one(code: str) -> None:
    assert read_member_code(KEY, code, 1_795_859_820.0) is None


# --- recommendations -------------------------------------------------------------------------

HOUR_S = 3600.0


def _order_at(
    s: Session, menu: MenuFile, routes: Routes, n: int, lines: list[LineRequest], at: float
) -> Order:
    placed = place(s, menu, routes, lines, idem=key(100 + n), now=at)
    placed.order.created_at = at
    return placed.order


def test_popular_now_is_this_hour_of_the_day_over_two_weeks(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    """Counted: this hour on each of the last 14 days (quantities, voided lines not); not
    counted: the next hour, or this hour 15 days ago."""
    now = NOW - NOW % HOUR_S + 20 * 60  # 20 past an hour: room either side of each order
    day = members.DAY_S
    with db.sessions.begin() as s:
        _order_at(s, menu, routes, 1, [line("rice", 2)], now - 5 * 60)
        _order_at(s, menu, routes, 2, [line("rice", 1)], now - 13 * day)
        _order_at(s, menu, routes, 3, [line("tea", 2, temp="hot")], now - 3 * day + 10 * 60)
        _order_at(s, menu, routes, 4, [line("beer", 9)], now - 2 * day + HOUR_S)  # next hour
        _order_at(s, menu, routes, 5, [line("plum", 9)], now - 15 * day)  # too long ago
        voided = _order_at(s, menu, routes, 6, [line("kungpao", 9, spice="hot")], now - day)
        voided.lines[0].status = "void"
        _order_at(s, menu, routes, 7, [line("kungpao", 1, spice="mild")], now - 7 * day)
    with db.reads() as s:
        assert members.popular_now(s, now) == ["rice", "tea", "kungpao"]
        assert members.popular_now(s, now, limit=1) == ["rice"]
        # An hour later the beer ordered then is the favourite.
        assert members.popular_now(s, now + HOUR_S)[0] == "beer"


def test_your_usual_is_what_the_member_ordered_most(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    with db.sessions.begin() as s:
        mine = [
            _order_at(s, menu, routes, 1, [line("tea", 1, temp="hot"), line("rice", 1)], NOW),
            _order_at(s, menu, routes, 2, [line("tea", 2, temp="iced")], NOW - 400 * 86_400),
            _order_at(s, menu, routes, 3, [line("beer", 5)], NOW),
        ]
        other = _order_at(s, menu, routes, 4, [line("plum", 9)], NOW)
        for o in mine:
            o.member_id = "m-me"
        other.member_id = "m-other"
        mine[2].lines[0].status = "void"  # voided: not what they eat
    with db.reads() as s:
        assert members.usual(s, "m-me") == ["tea", "rice"]
        assert members.usual(s, "m-other") == ["plum"]
        assert members.usual(s, "m-nobody") == []


def test_popular_now_counts_an_order_the_moment_it_is_placed(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    """The hub's answer is summed once a minute, with newer orders added as they come: the
    same ranking as summing again, one order after another."""
    popular = PopularNow()
    now = NOW - NOW % HOUR_S + 20 * 60
    with db.sessions.begin() as s:
        _order_at(s, menu, routes, 1, [line("rice", 3)], now - members.DAY_S)
    with db.reads() as s:
        assert popular.dishes(s, now) == ["rice"]
    for n, (dish, qty) in enumerate([("beer", 2), ("beer", 2), ("plum", 1)], start=2):
        with db.sessions.begin() as s:
            _order_at(s, menu, routes, n, [line(dish, qty)], now + n)
        with db.reads() as s:
            assert popular.dishes(s, now + n) == members.popular_now(s, now + n)
    with db.reads() as s:
        assert popular.dishes(s, now + 10) == ["beer", "rice", "plum"]
