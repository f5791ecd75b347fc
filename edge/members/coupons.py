"""Coupons a member holds: issued here (welcome, birthday) or by HQ; single use."""

import time

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from contract.members import (
    CouponTemplate,
    IssuedCoupon,
    MembersConfig,
    derived_coupon_code,
    new_coupon_code,
)
from contract.uplink import (
    CouponIssued,
    CouponIssuedEvent,
    CouponWithdrawn,
    CouponWithdrawnEvent,
)
from edge.members.models import Coupon, Member
from edge.uplink import service as outbox

DAY_S = 86_400.0
YEAR_S = 365 * DAY_S


# --- coupons -----------------------------------------------------------------------------


def issue_coupon(
    session: Session,
    member: Member,
    template: CouponTemplate,
    source: str,
    now: float,
    code: str | None = None,
) -> Coupon | None:
    """One coupon from `template`, unless the member already holds as many unused as the
    template allows (None then). `code`: one every hub makes alike (derived_coupon_code), so
    the same gift made at two stores is one coupon at HQ; None if this hub made it already."""
    if code is not None and session.get(Coupon, code) is not None:
        return None
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
    issued = IssuedCoupon.issue(template, code or new_coupon_code(), now, until)
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
    """Once a year, in the birthday's month, when the member is seen. Its code is made from
    the member's phone hash and the year, the same at every store: a second store's copy is
    the same coupon at HQ, which then lists it as used to every hub once it is spent."""
    if config.birthday_coupon is None or not birthday_due(config, member, now):
        return
    local = time.localtime(now)
    template = config.coupon(config.birthday_coupon)
    assert template is not None
    member.birthday_year = local.tm_year
    code = (
        derived_coupon_code(member.phone_hash.encode(), f"birthday:{local.tm_year}")
        if member.phone_hash is not None
        else None
    )
    issue_coupon(session, member, template, "birthday", now, code)


def birthday_due(config: MembersConfig, member: Member, now: float) -> bool:
    """The member's birthday coupon of this year is still to be given (it is their month)."""
    if config.birthday_coupon is None or member.birthday is None:
        return False
    local = time.localtime(now)
    return member.birthday[:2] == f"{local.tm_mon:02d}" and member.birthday_year != local.tm_year


# Built once: the member tab reads it each time it opens (as in ledger.py).
_USABLE = (
    select(Coupon)
    .where(
        Coupon.member_id == bindparam("member"),
        Coupon.redeemed_payment.is_(None),
        Coupon.valid_from <= bindparam("now"),
        Coupon.valid_until > bindparam("now"),
    )
    .order_by(Coupon.valid_until)
)


def usable_coupons(session: Session, member_id: str, now: float) -> list[Coupon]:
    return list(session.scalars(_USABLE, {"member": member_id, "now": now}))


def coupon_terms(coupon: Coupon) -> IssuedCoupon:
    return IssuedCoupon.model_validate(coupon.terms)


def withdraw(session: Session, coupon: Coupon, payment_uid: str, now: float) -> bool:
    """A reward coupon whose cause was refunded: it ends now, unless it was used (then its
    value is spent; HQ, told either way, lists a used one as a risk for a person to decide,
    not points taken back: a coupon's value has no points figure, and an entry made up for it
    would only drive the member's balance negative). True when it ended."""
    unused = coupon.redeemed_payment is None
    if unused:
        coupon.valid_until = min(coupon.valid_until, now)
    fact = CouponWithdrawn(coupon=coupon.code, member=coupon.member_id, payment=payment_uid, at=now)
    event = CouponWithdrawnEvent(id=f"cw-{coupon.code}", occurred_at=now, data=fact)
    outbox.enqueue(session, [event])
    return unused
