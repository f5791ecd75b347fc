"""Members at the hub: finding and joining, HQ's answers, erasure, the party's member and
recommendations. Functions take an open Session; the caller commits (docs/members.md).

The ledger is edge/members/ledger.py, coupons edge/members/coupons.py, what a bill may take off
and what a payment does for its member edge/members/bill.py."""

import re
import time

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.members import (
    BadPhone,
    MemberLookup,
    MembersConfig,
    derived_coupon_code,
    mask_phone,
    new_card_no,
    new_member_id,
    normalize_phone,
)
from contract.uplink import (
    MemberJoined,
    MemberJoinedEvent,
)
from edge.members import share, stamps
from edge.members.coupons import issue_coupon
from edge.members.errors import MemberNotFound, already_member, error
from edge.members.models import Coupon, Member, PartyMember
from edge.orders.models import Order, OrderLine
from edge.uplink import service as outbox

DAY_S = 86_400.0
# A coupon HQ says was used at another store: this hub's copy is retired under this mark.
USED_ELSEWHERE = "elsewhere"
YEAR_S = 365 * DAY_S


# --- finding and joining -----------------------------------------------------------------


def by_id(session: Session, member_id: str) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.erased:
        raise MemberNotFound(member_id)
    return member


def by_phone_hash(session: Session, phone_hash: str) -> Member | None:
    return session.scalar(select(Member).where(Member.phone_hash == phone_hash))


def by_card(session: Session, card_no: str) -> Member | None:
    return session.scalar(select(Member).where(Member.card_no == card_no, ~Member.erased))


def check_phone(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except BadPhone:
        raise error(
            422, "bad_phone", "请输入11位手机号码", "Enter an 11-digit mobile number"
        ) from None


def parse_birthday(raw: str | None) -> str | None:
    """MM-DD from "MM-DD" or "YYYY-MM-DD" (the year is not kept: not needed)."""
    if not raw:
        return None
    match = re.fullmatch(r"(?:\d{4}-)?(\d{2}-\d{2})", raw.strip())
    text = match.group(1) if match else ""
    try:
        time.strptime(f"2000-{text}", "%Y-%m-%d")  # 2000: a leap year, so 02-29 is a day
    except ValueError:
        raise error(422, "bad_birthday", "生日格式不对", "The birthday is not a date") from None
    return text


def join(
    session: Session,
    config: MembersConfig,
    phone: str,
    phone_hash: str,
    birthday: str | None,
    now: float,
) -> Member:
    """A new member, made here (online or not: HQ merges ids by phone hash), with the welcome
    coupon. An existing phone is refused: the diner signs in instead."""
    if by_phone_hash(session, phone_hash) is not None:
        raise already_member()
    member = Member(
        id=new_member_id(),
        phone_hash=phone_hash,
        phone_masked=mask_phone(phone),
        birthday=birthday,
        card_no=_unused_card_no(session),
        consent=config.privacy_version,
        joined_at=now,
        joined_here=True,
    )
    session.add(member)
    try:
        session.flush()
    except IntegrityError:  # the same phone joined at this moment on another phone
        raise already_member() from None
    joined = MemberJoined(
        member=member.id,
        phone_hash=phone_hash,
        phone_masked=member.phone_masked,
        birthday=birthday,
        card_no=member.card_no,
        consent=member.consent,
        joined_at=now,
    )
    outbox.enqueue(session, [MemberJoinedEvent(id=f"mj-{member.id}", occurred_at=now, data=joined)])
    if config.welcome_coupon is not None:
        template = config.coupon(config.welcome_coupon)
        assert template is not None  # MembersConfig checks its references
        # Made from the phone's hash: joining again at another store while HQ is away gives
        # the same coupon, not a second one (HQ merges the member; the coupon is one row).
        welcome = derived_coupon_code(phone_hash.encode(), "welcome")
        issue_coupon(session, member, template, "welcome", now, welcome)
    return member


def _unused_card_no(session: Session) -> str:
    while True:
        card = new_card_no()
        if session.scalar(select(Member.id).where(Member.card_no == card)) is None:
            return card


def adopt(session: Session, phone_hash: str | None, found: MemberLookup, now: float) -> Member:
    """A member HQ knows, seen here for the first time (or again): the replica follows HQ."""
    member = session.get(Member, found.member)
    if member is None and phone_hash is not None:
        member = by_phone_hash(session, phone_hash)
    if member is None:
        member = next((m for i in found.ids if (m := session.get(Member, i)) is not None), None)
    if member is None:
        member = Member(id=found.member, phone_hash=phone_hash, joined_at=now, joined_here=False)
        session.add(member)
    apply_lookup(session, member, found, now)
    return member


def apply_lookup(session: Session, member: Member, found: MemberLookup, now: float) -> None:
    if found.erased:
        erase(member)
        return
    member.phone_masked = found.phone_masked
    member.birthday = member.birthday or found.birthday
    if (
        member.card_no is None
        and found.card_no is not None
        and by_card(session, found.card_no) is None
    ):
        # Card numbers are made at each hub: two members of the chain can share one (rare).
        # The first keeps it here; the other is found by phone or code, never by that card.
        member.card_no = found.card_no
    member.hq_balance_elsewhere = found.balance_elsewhere
    member.hq_spend_elsewhere_fen = found.spend_12m_elsewhere_fen
    member.segment = found.segment.value if found.segment is not None else None
    member.hq_checked_at = now
    stamps.apply_lookup(session, member, found.stamps)
    share.apply_lookup(session, member, found.invited_by, now)
    if found.used_coupons:
        # Used at another store (HQ knows): this copy can no longer be spent here.
        session.execute(
            update(Coupon)
            .where(
                Coupon.code.in_(found.used_coupons),
                Coupon.member_id == member.id,
                Coupon.redeemed_payment.is_(None),
            )
            .values(redeemed_payment=USED_ELSEWHERE, redeemed_at=now)
        )
    known = set(session.scalars(select(Coupon.code).where(Coupon.member_id == member.id)))
    for c in found.coupons:
        if c.code not in known:
            session.add(
                Coupon(
                    code=c.code,
                    member_id=member.id,
                    terms=c.model_dump(mode="json"),
                    source="hq",
                    valid_from=c.valid_from,
                    valid_until=c.valid_until,
                    issued_at=now,
                )
            )
    session.flush()


def erase(member: Member) -> None:
    """HQ deleted the member's personal data: the replica keeps the id for its ledger only."""
    member.erased = True
    member.phone_hash = None
    member.phone_masked = ""
    member.birthday = None
    member.card_no = None
    member.segment = None


# --- the party's member -----------------------------------------------------------------


# Built once: the member tab reads these each time it opens (as in ledger.py).
_PARTY = select(PartyMember).where(
    PartyMember.table_id == bindparam("table"), PartyMember.party_opened_at == bindparam("opened")
)
_USUAL = (
    select(OrderLine.dish_id, func.sum(OrderLine.qty).label("n"))
    .join(Order, Order.id == OrderLine.order_id)
    .where(Order.member_id == bindparam("member"), OrderLine.status == "ok")
    .group_by(OrderLine.dish_id)
    .order_by(func.sum(OrderLine.qty).desc(), OrderLine.dish_id)
    .limit(bindparam("limit"))
)


def party_member(session: Session, table_id: str, opened_at: float) -> Member | None:
    row = session.scalar(_PARTY, {"table": table_id, "opened": opened_at})
    if row is None:
        return None
    member = session.get(Member, row.member_id)
    return member if member is not None and not member.erased else None


def attach(
    session: Session, table_id: str, opened_at: float, member: Member, now: float, replace: bool
) -> Member:
    """The party's member: the first who signs in keeps it (staff may replace it at the bill).
    Returns the party's member after the call."""
    row = session.scalar(_PARTY, {"table": table_id, "opened": opened_at})
    if row is None:
        session.add(
            PartyMember(table_id=table_id, party_opened_at=opened_at, member_id=member.id, at=now)
        )
        session.flush()
        return member
    if replace and row.member_id != member.id:
        row.member_id, row.at = member.id, now
        return member
    return session.get(Member, row.member_id) or member


# --- recommendations (from this hub's own orders: offline too) ---------------------------


def usual(session: Session, member_id: str, limit: int = 3) -> list[str]:
    """The dishes the member orders most here."""
    rows = session.execute(_USUAL, {"member": member_id, "limit": limit})
    return [str(dish) for dish, _n in rows]


def hour_windows(now: float, days: int) -> list[tuple[float, float]]:
    """[start, end) of this local hour of the day on each of the last `days` days, as far
    back as `now - days` and no later than `now`."""
    local = time.localtime(now)
    since = now - days * DAY_S
    windows = []
    for back in range(days + 1):
        # mktime normalises a day of the month below 1 and finds the day's own UTC offset.
        start = time.mktime(
            (local.tm_year, local.tm_mon, local.tm_mday - back, local.tm_hour, 0, 0, 0, 0, -1)
        )
        begin, end = max(start, since), min(start + 3600.0, now + 1.0)
        if begin < end:
            windows.append((begin, end))
    return windows


def dish_counts(
    session: Session,
    windows: list[tuple[float, float]],
    after_order: int = 0,
    upto_order: int | None = None,
) -> dict[str, int]:
    """Quantities ordered per dish (voided lines not) in orders made within `windows`, with an
    id in (after_order, upto_order]."""
    in_hours = or_(*(and_(Order.created_at >= a, Order.created_at < b) for a, b in windows))
    if after_order:  # the orders since the last count: a range of the primary key
        ids = and_(Order.id > after_order, Order.id <= (upto_order or after_order))
    else:
        # Two weeks of this hour: the time index (ix_orders_created). `+ 0` keeps SQLite's
        # planner (no statistics) from walking every order by id instead.
        ids = Order.id + 0 <= (last_order_id(session) if upto_order is None else upto_order)
    orders = select(Order.id).where(in_hours, ids)
    rows = session.execute(
        select(OrderLine.dish_id, func.sum(OrderLine.qty))
        .where(OrderLine.order_id.in_(orders), OrderLine.status == "ok")
        .group_by(OrderLine.dish_id)
    )
    return {str(dish): int(n) for dish, n in rows}


def last_order_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Order.id), 0))) or 0)


def ranked(counts: dict[str, int], limit: int = 3) -> list[str]:
    return [d for d, _n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:limit]]


def popular_now(session: Session, now: float, limit: int = 3, days: int = 14) -> list[str]:
    """The dishes this store sells most in this hour of the day, over the last `days` days."""
    return ranked(dish_counts(session, hour_windows(now, days)), limit)
