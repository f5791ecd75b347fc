"""Members at the hub: joining, the ledger, coupons, what a bill may take off, earning, refunds.
Functions take an open Session; the caller commits, so a payment, its coupon use, its ledger
entries and their outbox rows are one transaction (a hub killed between them keeps all or none).

Money-like rules (docs/members.md):
- A balance is a sum: HQ's figure for everywhere else, plus every entry made here.
- Entry ids are made here from what caused them (`e-<payment uid>` earns, `r-<payment uid>`
  spends, `rf-…` reverses): the same cause can never make a second entry, and HQ dedups by id.
- A coupon is used by one conditional UPDATE; a second use of the same code changes no row and
  is refused.
- Offline (HQ not asked successfully just now) a member spends at most what the hub last knew
  and at most `offline_points_per_day` here: what HQ allowed, never more.
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.members import (
    BadPhone,
    CouponTemplate,
    EntryCause,
    IssuedCoupon,
    MemberLookup,
    MembersConfig,
    coupon_off_fen,
    mask_phone,
    new_card_no,
    new_coupon_code,
    new_member_id,
    normalize_phone,
)
from contract.uplink import (
    CouponIssued,
    CouponIssuedEvent,
    CouponRedeemed,
    CouponRedeemedEvent,
    CouponReleased,
    CouponReleasedEvent,
    MemberJoined,
    MemberJoinedEvent,
    PointsEntryEvent,
)
from contract.uplink import (
    PointsEntry as PointsFact,
)
from edge.members.models import Coupon, Member, PartyMember, PointsEntry
from edge.orders.errors import OrderError
from edge.orders.models import Order, OrderLine, Payment
from edge.uplink import service as outbox

DAY_S = 86_400.0
YEAR_S = 365 * DAY_S
DINER = "diner"
SYSTEM = "system"
ADJUST_MAX = 100_000  # points a manager may add or take in one adjustment


class MemberNotFound(LookupError):
    pass


def error(status: int, code: str, zh: str, en: str) -> OrderError:
    return OrderError(status, code, f"{zh} / {en}")


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
    text = raw.strip()[-5:]
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
        card_no=new_card_no(),
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
        issue_coupon(session, member, template, "welcome", now)
    return member


def already_member() -> OrderError:
    return error(
        409,
        "already_member",
        "这个手机号已是会员，请登录",
        "This number is a member already: sign in instead",
    )


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
    member.card_no = member.card_no or found.card_no
    member.hq_balance_elsewhere = found.balance_elsewhere
    member.hq_spend_elsewhere_fen = found.spend_12m_elsewhere_fen
    member.hq_checked_at = now
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


# --- the ledger --------------------------------------------------------------------------


def local_points(session: Session, member_id: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.member_id == member_id
        )
    )
    return int(total or 0)


def balance(session: Session, member: Member) -> int:
    return member.hq_balance_elsewhere + local_points(session, member.id)


def spend_12m(session: Session, member: Member, now: float) -> int:
    here = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
            Payment.member_id == member.id,
            Payment.paid_at >= now - YEAR_S,
            Payment.refunded_at.is_(None),
        )
    )
    return member.hq_spend_elsewhere_fen + int(here or 0)


def level_id(session: Session, config: MembersConfig, member: Member, now: float) -> str:
    return config.level_for(spend_12m(session, member, now)).id


def offline_spent_today(session: Session, member_id: str, now: float) -> int:
    day_start = time.mktime((*time.localtime(now)[:3], 0, 0, 0, 0, 0, -1))
    spent = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.member_id == member_id,
            PointsEntry.cause == EntryCause.REDEEM.value,
            PointsEntry.offline.is_(True),
            PointsEntry.at >= day_start,
        )
    )
    return -int(spent or 0)


def spendable(
    session: Session, config: MembersConfig, member: Member, online: bool, now: float
) -> int:
    """Points the member may spend here now: the balance when HQ just answered; offline the
    balance the hub last knew, and at most what HQ allows a store a day."""
    have = max(balance(session, member), 0)
    if online:
        return have
    left_today = config.offline_points_per_day - offline_spent_today(session, member.id, now)
    return max(min(have, left_today), 0)


def add_entry(
    session: Session,
    entry_id: str,
    member_id: str,
    points: int,
    cause: EntryCause,
    ref: str,
    by: str,
    now: float,
    reason: str = "",
    offline: bool = False,
) -> PointsEntry:
    entry = PointsEntry(
        id=entry_id,
        member_id=member_id,
        points=points,
        cause=cause.value,
        ref=ref,
        reason=reason,
        offline=offline,
        at=now,
        by=by,
    )
    session.add(entry)
    fact = PointsFact(
        entry=entry_id,
        member=member_id,
        points=points,
        cause=cause,
        ref=ref,
        reason=reason,
        offline=offline,
        at=now,
        by=by,
    )
    outbox.enqueue(session, [PointsEntryEvent(id=f"pt-{entry_id}", occurred_at=now, data=fact)])
    return entry


def adjust(
    session: Session, member: Member, points: int, reason: str, staff: str, now: float
) -> PointsEntry:
    """A manager's correction, with its reason (sent to HQ like every entry)."""
    if points == 0 or abs(points) > ADJUST_MAX:
        raise error(
            422,
            "bad_points",
            f"调整积分须在 ±{ADJUST_MAX} 之内且不为 0",
            f"An adjustment is 1 to {ADJUST_MAX} points, up or down",
        )
    if not reason.strip():
        raise error(422, "reason_required", "请写明调整原因", "Say why the points change")
    if points < 0 and balance(session, member) + points < 0:
        raise error(
            409,
            "not_enough_points",
            "积分不足，不能扣成负数",
            "That would make the balance negative",
        )
    entry_id = f"a-{uuid.uuid4().hex}"
    return add_entry(
        session, entry_id, member.id, points, EntryCause.ADJUST, "", staff, now, reason.strip()
    )


def history(session: Session, member_id: str, limit: int = 20) -> list[PointsEntry]:
    return list(
        session.scalars(
            select(PointsEntry)
            .where(PointsEntry.member_id == member_id)
            .order_by(PointsEntry.at.desc())
            .limit(limit)
        )
    )


# --- coupons -----------------------------------------------------------------------------


def issue_coupon(
    session: Session, member: Member, template: CouponTemplate, source: str, now: float
) -> Coupon | None:
    """One coupon from `template`, unless the member already holds as many unused as the
    template allows (None then)."""
    held = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(
            Coupon.member_id == member.id,
            Coupon.redeemed_payment.is_(None),
            Coupon.valid_until > now,
            func.json_extract(Coupon.terms, "$.template") == template.id,
        )
    )
    if (held or 0) >= template.per_member_limit:
        return None
    until = now + template.valid_days * DAY_S
    issued = IssuedCoupon.issue(template, new_coupon_code(), now, until)
    coupon = Coupon(
        code=issued.code,
        member_id=member.id,
        terms=issued.model_dump(mode="json"),
        source=source,
        valid_from=now,
        valid_until=until,
        issued_at=now,
    )
    session.add(coupon)
    fact = CouponIssued(
        coupon=coupon.code,
        member=member.id,
        template=template.id,
        source=source,
        valid_from=now,
        valid_until=until,
        issued_at=now,
    )
    outbox.enqueue(session, [CouponIssuedEvent(id=f"ci-{coupon.code}", occurred_at=now, data=fact)])
    return coupon


def birthday_coupon(session: Session, config: MembersConfig, member: Member, now: float) -> None:
    """Once a year, in the birthday's month, when the member is seen."""
    if config.birthday_coupon is None or member.birthday is None:
        return
    local = time.localtime(now)
    if member.birthday[:2] != f"{local.tm_mon:02d}" or member.birthday_year == local.tm_year:
        return
    template = config.coupon(config.birthday_coupon)
    assert template is not None
    member.birthday_year = local.tm_year
    issue_coupon(session, member, template, "birthday", now)


def usable_coupons(session: Session, member_id: str, now: float) -> list[Coupon]:
    return list(
        session.scalars(
            select(Coupon)
            .where(
                Coupon.member_id == member_id,
                Coupon.redeemed_payment.is_(None),
                Coupon.valid_from <= now,
                Coupon.valid_until > now,
            )
            .order_by(Coupon.valid_until)
        )
    )


def coupon_terms(coupon: Coupon) -> IssuedCoupon:
    return IssuedCoupon.model_validate(coupon.terms)


# --- a bill ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BillDiscount:
    member: Member | None
    coupon: Coupon | None = None
    coupon_off_fen: int = 0
    points: int = 0
    points_off_fen: int = 0
    offline: bool = False

    @property
    def off_fen(self) -> int:
        return self.coupon_off_fen + self.points_off_fen


def dish_prices(orders: Sequence[Order]) -> dict[str, int]:
    """The dearest unit price of each dish still on the bill (a free-dish coupon takes one)."""
    prices: dict[str, int] = {}
    for order in orders:
        for line in order.lines:
            if line.status == "ok":
                prices[line.dish_id] = max(prices.get(line.dish_id, 0), line.unit_price_fen)
    return prices


def price_bill(
    session: Session,
    config: MembersConfig,
    store: str,
    member: Member | None,
    gross_fen: int,
    prices: dict[str, int],
    coupon_code: str | None,
    points: int,
    online: bool,
    now: float,
) -> BillDiscount:
    """What the coupon and the points take off a bill of `gross_fen`, or a clear refusal.
    Nothing is written: record_paid does that in the payment's transaction."""
    if member is None:
        if coupon_code or points:
            raise error(409, "no_member", "这桌没有会员，不能用券或积分", "No member at this table")
        return BillDiscount(None)
    coupon, coupon_off = None, 0
    if coupon_code:
        coupon = session.get(Coupon, coupon_code.strip().upper())
        if coupon is None or coupon.member_id != member.id:
            raise error(
                404, "unknown_coupon", "这张券不属于该会员", "This coupon is not the member's"
            )
        if coupon.redeemed_payment is not None:
            raise coupon_used()
        if not coupon.valid_from <= now < coupon.valid_until:
            raise error(
                409, "coupon_expired", "这张券不在有效期内", "This coupon is not valid today"
            )
        off = coupon_off_fen(coupon_terms(coupon).terms(), gross_fen, prices, store)
        if off == "below_minimum":
            minimum = coupon_terms(coupon).min_spend_fen / 100
            raise error(
                409,
                "below_minimum",
                f"未满{minimum:g}元，不能用这张券",
                f"This coupon needs a bill of at least {minimum:g} yuan",
            )
        if off == "not_here":
            raise error(409, "coupon_not_here", "这张券不能在本店使用", "Not valid in this store")
        if off == "dish_not_ordered":
            raise error(
                409,
                "dish_not_ordered",
                "账单上没有这张券的菜品",
                "The coupon's dish is not on the bill",
            )
        coupon_off = off
    points_off = 0
    if points:
        if points < 0:
            raise error(422, "bad_points", "积分须为正数", "Points must be positive")
        after_coupon = gross_fen - coupon_off
        cap = config.max_redeem_points(after_coupon)
        if points > cap:
            raise error(
                409,
                "points_over_cap",
                f"积分最多抵账单的{config.redeem_cap_pct}%（{cap}分）",
                f"Points pay at most {config.redeem_cap_pct}% of the bill ({cap} points)",
            )
        allowed = spendable(session, config, member, online, now)
        if points > allowed:
            why_zh = "可用积分不足" if online else "门店离线，今日可用积分不足"
            why_en = "Not enough points" if online else "Offline: not that many points today"
            raise OrderError(
                409,
                "not_enough_points",
                f"{why_zh}（{allowed}） / {why_en} ({allowed})",
                spendable=allowed,
            )
        points_off = points * config.point_value_fen
    return BillDiscount(member, coupon, coupon_off, points, points_off, offline=not online)


def coupon_used() -> OrderError:
    return error(409, "coupon_used", "这张券已经用过了", "This coupon has been used already")


def record_paid(
    session: Session, config: MembersConfig, discount: BillDiscount, payment: Payment, now: float
) -> None:
    """The member's side of a payment, in its transaction: the coupon used (once: a second
    use changes no row and is refused), the points spent, the points earned on what was paid."""
    member = discount.member
    if member is None:
        return
    if discount.coupon is not None:
        used = session.execute(
            update(Coupon)
            .where(Coupon.code == discount.coupon.code, Coupon.redeemed_payment.is_(None))
            .values(redeemed_payment=payment.uid, redeemed_at=now, off_fen=discount.coupon_off_fen)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise coupon_used()
        fact = CouponRedeemed(
            coupon=discount.coupon.code,
            member=member.id,
            payment=payment.uid,
            off_fen=discount.coupon_off_fen,
            offline=discount.offline,
            at=now,
        )
        event_id = f"cr-{discount.coupon.code}-{payment.uid}"
        outbox.enqueue(session, [CouponRedeemedEvent(id=event_id, occurred_at=now, data=fact)])
    if discount.points:
        add_entry(
            session,
            f"r-{payment.uid}",
            member.id,
            -discount.points,
            EntryCause.REDEEM,
            payment.uid,
            payment.by,
            now,
            offline=discount.offline,
        )
    level = level_id(session, config, member, now)
    earned = config.points_earned(payment.amount_fen, level)
    if earned > 0:
        add_entry(
            session,
            f"e-{payment.uid}",
            member.id,
            earned,
            EntryCause.EARN,
            payment.uid,
            payment.by,
            now,
        )
    payment.member_id = member.id
    payment.coupon_code = discount.coupon.code if discount.coupon is not None else None
    payment.coupon_off_fen = discount.coupon_off_fen
    payment.points_used = discount.points
    payment.points_off_fen = discount.points_off_fen
    payment.points_earned = earned


def reverse_paid(session: Session, payment: Payment, staff: str, now: float) -> None:
    """A refunded bill gives back what it spent and takes back what it earned, once (the
    entries' ids are made from the payment's: a second refund cannot make them again)."""
    if payment.member_id is None:
        return
    if payment.points_earned:
        add_entry(
            session,
            f"rf-e-{payment.uid}",
            payment.member_id,
            -payment.points_earned,
            EntryCause.REFUND,
            payment.uid,
            staff,
            now,
        )
    if payment.points_used:
        add_entry(
            session,
            f"rf-r-{payment.uid}",
            payment.member_id,
            payment.points_used,
            EntryCause.REFUND,
            payment.uid,
            staff,
            now,
        )
    if payment.coupon_code is not None:
        session.execute(
            update(Coupon)
            .where(Coupon.code == payment.coupon_code, Coupon.redeemed_payment == payment.uid)
            .values(redeemed_payment=None, redeemed_at=None, off_fen=None)
        )
        fact = CouponReleased(
            coupon=payment.coupon_code, member=payment.member_id, payment=payment.uid, at=now
        )
        event_id = f"cx-{payment.coupon_code}-{payment.uid}"
        outbox.enqueue(session, [CouponReleasedEvent(id=event_id, occurred_at=now, data=fact)])


# --- the party's member -----------------------------------------------------------------


def party_member(session: Session, table_id: str, opened_at: float) -> Member | None:
    row = session.scalar(
        select(PartyMember).where(
            PartyMember.table_id == table_id, PartyMember.party_opened_at == opened_at
        )
    )
    if row is None:
        return None
    member = session.get(Member, row.member_id)
    return member if member is not None and not member.erased else None


def attach(
    session: Session, table_id: str, opened_at: float, member: Member, now: float, replace: bool
) -> Member:
    """The party's member: the first who signs in keeps it (staff may replace it at the bill).
    Returns the party's member after the call."""
    row = session.scalar(
        select(PartyMember).where(
            PartyMember.table_id == table_id, PartyMember.party_opened_at == opened_at
        )
    )
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
    rows = session.execute(
        select(OrderLine.dish_id, func.sum(OrderLine.qty).label("n"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.member_id == member_id, OrderLine.status == "ok")
        .group_by(OrderLine.dish_id)
        .order_by(func.sum(OrderLine.qty).desc(), OrderLine.dish_id)
        .limit(limit)
    )
    return [str(dish) for dish, _n in rows]


def popular_now(session: Session, now: float, limit: int = 3, days: int = 14) -> list[str]:
    """The dishes this store sells most in this hour of the day, over the last `days` days."""
    hour = time.localtime(now).tm_hour
    rows = session.execute(
        select(OrderLine.dish_id, Order.created_at, OrderLine.qty)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.created_at >= now - days * DAY_S, OrderLine.status == "ok")
    )
    counts: dict[str, int] = {}
    for dish, created, qty in rows:
        if time.localtime(created).tm_hour == hour:
            counts[dish] = counts.get(dish, 0) + int(qty)
    ranked = sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    return [d for d, _n in ranked[:limit]]
