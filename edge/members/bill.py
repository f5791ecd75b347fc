"""What a bill may take off (one coupon, points up to the cap, offline within the allowance),
and what a payment does for its member, in the payment's transaction: the coupon used once
(a conditional update), the points spent and earned; a refund reverses them once."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from contract.members import (
    EntryCause,
    MembersConfig,
    coupon_off_fen,
)
from contract.uplink import (
    CouponRedeemed,
    CouponRedeemedEvent,
    CouponReleased,
    CouponReleasedEvent,
)
from edge.members import share
from edge.members.coupons import coupon_terms
from edge.members.errors import coupon_used, error
from edge.members.ledger import add_entry, level_id, spendable
from edge.members.models import Coupon, Member
from edge.orders.errors import OrderError
from edge.orders.models import Order, Payment
from edge.uplink import service as outbox

# --- a bill ------------------------------------------------------------------------------

WAIVED = "waived"  # edge/orders/schemas.py PaymentRequest.method


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
    # A waived bill (let off, walked out on) was not paid: it earns nothing.
    earned = 0 if payment.method == WAIVED else config.points_earned(payment.amount_fen, level)
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
    # The friend's first bill of an invitation: both rewards go back with it.
    share.on_refund(session, payment, staff, now)
