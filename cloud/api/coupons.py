"""Coupons HQ gives (HQ session): to a list of members, by id or phone, or to an RFM segment,
from a template."""

import time
from typing import Any

from fastapi import APIRouter, HTTPException, status

from cloud.api.deps import SessionDep, SettingsDep
from cloud.api.errors import InvalidInput, Refusal, errors
from cloud.api.hq import HQUserDep
from cloud.members import service
from cloud.members.models import Member
from cloud.members.schemas import CouponGiven, CouponIssueCreate, CouponIssuePublic, CouponNotGiven
from contract.members import BadPhone, mask_phone, phone_hash

router = APIRouter(prefix="/api/v1/hq/coupons", tags=["hq", "members"], responses=errors(401, 403))

TEMPLATE_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "model": InvalidInput | Refusal,
        "description": "Input refused, or a template_id the newest configuration lacks",
    }
}


@router.post("", responses={**errors(400), **TEMPLATE_REFUSED})
def issue(
    body: CouponIssueCreate, session: SessionDep, settings: SettingsDep, _user: HQUserDep
) -> CouponIssuePublic:
    """One coupon per member listed, or in `segment` (a member listed twice, by id and phone,
    or also in the segment, gets one), unless
    they already hold the template's per-member limit of unused ones. Recipients HQ does not
    know, erased ones and those at the limit are listed in `skipped`; phones only by mask."""
    template = body.template
    if template is None:
        assert body.template_id is not None
        template = service.members_config(session).coupon(body.template_id)
        if template is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"no coupon template {body.template_id!r} in the newest configuration",
            )
    now = time.time()
    recipients: list[tuple[str, Member | None]] = [
        (m, service.find(session, member_id=m)) for m in body.members
    ]
    for phone in body.phones:
        try:
            shown = mask_phone(phone)
            found = service.find(session, phone_hash=phone_hash(settings.member_key_bytes(), phone))
        except BadPhone:
            recipients.append(("(not a phone number)", None))
            continue
        recipients.append((shown, found))
    if body.segment is not None:
        recipients.extend((m.id, m) for m in service.segment_members(session, body.segment))
    given: list[CouponGiven] = []
    skipped: list[CouponNotGiven] = []
    seen: set[str] = set()
    for shown, member in recipients:
        if member is None:
            skipped.append(CouponNotGiven(recipient=shown, reason="not a member"))
        elif member.erased_at is not None:
            skipped.append(CouponNotGiven(recipient=shown, reason="erased"))
        elif member.id in seen:
            skipped.append(CouponNotGiven(recipient=shown, reason="listed twice"))
        else:
            seen.add(member.id)
            coupon = service.issue_coupon(session, member, template, body.source, now)
            if coupon is None:
                reason = f"holds {template.per_member_limit} unused {template.id!r} already"
                skipped.append(CouponNotGiven(recipient=shown, reason=reason))
            else:
                given.append(CouponGiven(member=member.id, coupon=service.issued(coupon)))
    session.commit()
    return CouponIssuePublic(issued=given, skipped=skipped)
