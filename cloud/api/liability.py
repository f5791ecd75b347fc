"""What HQ owes its members (HQ session): points outstanding and coupons not yet used."""

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud.api.deps import SessionDep
from cloud.api.errors import errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response
from cloud.members import service
from cloud.members.models import Coupon, MemberId, PointsEntry
from cloud.members.schemas import LiabilityPublic, LiabilityRow
from contract.members import CouponKind

router = APIRouter(
    prefix="/api/v1/hq/liability", tags=["hq", "members"], responses=errors(401, 403)
)


def coupon_value_fen(kind: str, value_fen: int, cap_fen: int | None) -> int | None:
    """What a coupon can take off at most, known before a bill: an amount, or a percentage's
    cap. None for a percentage without a cap or a free dish (it depends on the bill)."""
    if kind == CouponKind.AMOUNT_OFF:
        return value_fen
    if kind == CouponKind.PERCENT_OFF and cap_fen is not None:
        return cap_fen
    return None


def compute(session: Session, now: float) -> LiabilityPublic:
    """Points outstanding: the sum of the members' positive balances (a negative one is a
    risk item, not a credit), valued at the newest chain-wide configuration's point value.
    Coupons outstanding: not used and not expired now, by value, per store of issue."""
    per_member = (
        select(func.sum(PointsEntry.points).label("balance"))
        .join(MemberId, MemberId.id == PointsEntry.member_id)
        .group_by(MemberId.member)
        .subquery()
    )
    members, outstanding = session.execute(
        select(func.count(), func.coalesce(func.sum(per_member.c.balance), 0)).where(
            per_member.c.balance > 0
        )
    ).one()
    unattributed = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.member_id.not_in(select(MemberId.id))
        )
    )
    rows: dict[str | None, LiabilityRow] = {}

    def row(store: str | None) -> LiabilityRow:
        if store not in rows:
            rows[store] = LiabilityRow(
                store=store,
                points_net=0,
                coupons_outstanding=0,
                coupons_value_fen=0,
                coupons_unvalued=0,
            )
        return rows[store]

    for store, points in session.execute(
        select(PointsEntry.store_id, func.sum(PointsEntry.points)).group_by(PointsEntry.store_id)
    ):
        row(store).points_net = int(points)
    coupons = session.execute(
        select(Coupon.issued_store, Coupon.kind, Coupon.value_fen, Coupon.cap_fen, func.count())
        .where(Coupon.redeemed_at.is_(None), Coupon.valid_until > now)
        .group_by(Coupon.issued_store, Coupon.kind, Coupon.value_fen, Coupon.cap_fen)
    )
    for store, kind, value, cap, n in coupons:
        r = row(store)
        r.coupons_outstanding += n
        each = coupon_value_fen(kind, value, cap)
        if each is None:
            r.coupons_unvalued += n
        else:
            r.coupons_value_fen += each * n
    stores = sorted(rows.values(), key=lambda r: (r.store is not None, r.store or ""))
    point_value = service.members_config(session).point_value_fen
    return LiabilityPublic(
        at=now,
        point_value_fen=point_value,
        members_with_points=int(members),
        points_outstanding=int(outstanding),
        points_value_fen=int(outstanding) * point_value,
        points_unattributed=int(unattributed or 0),
        coupons_outstanding=sum(r.coupons_outstanding for r in stores),
        coupons_value_fen=sum(r.coupons_value_fen for r in stores),
        coupons_unvalued=sum(r.coupons_unvalued for r in stores),
        stores=stores,
    )


@router.get(
    "",
    response_model=None,
    responses={
        200: {
            "model": LiabilityPublic,
            "description": "The liability: JSON, or its rows per store of issue as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def liability(
    session: SessionDep,
    _user: HQUserDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> LiabilityPublic | Response:
    """Points outstanding: the sum of the members' positive balances (a negative one is a
    risk item, not a credit), valued at the newest chain-wide configuration's point value.
    Coupons outstanding: not used and not expired now, by value, per store of issue."""
    answer = compute(session, time.time())
    if format == "csv":
        return csv_response(answer.stores, LiabilityRow, "liability.csv")
    return answer
