"""The member risk list (HQ session): balances below zero, coupons used twice."""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from cloud.api.deps import SessionDep
from cloud.api.errors import errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, json_or_csv
from cloud.const import RISK, RISKS_PAGE_MAX, RiskKind, RiskLevel
from cloud.members.models import RiskItem
from cloud.members.schemas import RiskPublic, RiskRow

router = APIRouter(prefix="/api/v1/hq/risks", tags=["hq", "members"], responses=errors(401, 403))


@router.get("", response_model=None, responses=json_or_csv(RiskPublic))
def risks(
    session: SessionDep,
    user: HQUserDep,
    kind: Annotated[RiskKind | None, Query()] = None,
    level: Annotated[RiskLevel, Query(description="info: double redemptions honoured")] = RISK,
    since: Annotated[float, Query(ge=0, description="created at or after (HQ's clock)")] = 0.0,
    limit: Annotated[int, Query(ge=1, le=RISKS_PAGE_MAX)] = 100,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> list[RiskPublic] | Response:
    """Newest first. `overdraft`: a member's balance went below zero (points spent offline
    at several stores beyond what they had), one item per entry that did it. `double_redeem`:
    a coupon used a second time (the earliest use by the hubs' clocks is the one kept).
    `double_stamp`: a stamp card filled at two stores while HQ was away (the earlier
    completion counts; the member holds the card's one coupon code). `withdrawn_used`: a
    reward coupon (invite a friend) used although the refund of the friend's first bill
    withdrew it. `invite_limit`: a friend's reward beyond the campaign's friends per inviter
    per day, counted across the chain (each store holds the inviter to it there only)."""
    query = select(RiskItem).where(RiskItem.level == level, RiskItem.created_at >= since)
    if kind is not None:
        query = query.where(RiskItem.kind == kind)
    if user.stores is not None:
        query = query.where(RiskItem.store_id.in_(sorted(user.stores)))
    rows = [
        RiskPublic(
            id=r.id,
            kind=r.kind,
            level=r.level,
            member=r.member,
            store=r.store_id,
            created_at=r.created_at,
            detail=r.detail,
        )
        for r in session.scalars(query.order_by(RiskItem.id.desc()).limit(limit))
    ]
    if format == "csv":
        table = [
            RiskRow(**{**r.model_dump(), "detail": json.dumps(r.detail, ensure_ascii=False)})
            for r in rows
        ]
        return csv_response(table, RiskRow, "risks.csv")
    return rows
