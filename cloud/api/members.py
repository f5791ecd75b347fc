"""Members for HQ's people (HQ session): find one by phone, read their balance and ledger
across stores, adjust their points with a reason, erase their personal data on request.

Points are never turned into cash nor moved between members: no operation here does either.
Phone numbers come in the body of a POST (never in a URL, so never in an access log), are
hashed with the chain's member key at once, and never go out: answers show the mask.
"""

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud.api.deps import SessionDep, SettingsDep
from cloud.api.errors import InvalidInput, Refusal, errors
from cloud.api.hq import HQUserDep
from cloud.api.member_lookup import NO_MEMBER
from cloud.api.reports import csv_response
from cloud.const import IDEMPOTENCY_KEY_MAX, LEDGER_PAGE_DEFAULT, LEDGER_PAGE_MAX
from cloud.members import service
from cloud.members.models import Member, MemberId, PointsEntry
from cloud.members.schemas import (
    ErasurePublic,
    LedgerPublic,
    MemberPublic,
    MemberSearch,
    PointsAdjustmentCreate,
    PointsEntryPublic,
    StoreBalance,
)
from contract.members import MEMBER_ID_PATTERN, BadPhone, phone_hash

router = APIRouter(prefix="/api/v1/hq/members", tags=["hq", "members"], responses=errors(401, 403))
# Not under /members/: /members/search would also be a /members/{member} to every client that
# reads the paths (and to the Allow header of a 405).
search_router = APIRouter(prefix="/api/v1/hq", tags=["hq", "members"], responses=errors(401, 403))

MemberPath = Annotated[str, Path(pattern=MEMBER_ID_PATTERN, description="any id of the member")]


def member_or_404(session: Session, member_id: str) -> Member:
    found = service.find(session, member_id=member_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no member {member_id!r}")
    return found


def public(session: Session, member: Member, now: float) -> MemberPublic:
    ids = list(
        session.scalars(
            select(MemberId.id)
            .where(MemberId.member == member.id)
            .order_by(MemberId.joined_at, MemberId.id)
        )
    )
    by_store = service.balances_by_store(session, member.id)
    spend = service.spend_12m(session, member.id, now)
    return MemberPublic(
        member=member.id,
        ids=[member.id, *(i for i in ids if i != member.id)],
        phone_masked=member.phone_masked,
        birthday=member.birthday,
        card_no=member.card_no,
        consent=member.consent,
        joined_at=member.joined_at,
        joined_store=member.joined_store,
        erased=member.erased_at is not None,
        erased_at=member.erased_at,
        balance=sum(by_store.values()),
        balance_by_store=[
            StoreBalance(store=s, points=p)
            for s, p in sorted(by_store.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
        ],
        spend_12m_fen=spend,
        level=service.members_config(session).level_for(spend).id,
        coupons=[service.issued(c) for c in service.usable_coupons(session, member.id, now)],
    )


PHONE_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "model": InvalidInput | Refusal,
        "description": "Input refused, or not a mainland mobile number",
    }
}


@search_router.post("/member-search", responses={**errors(400), **NO_MEMBER, **PHONE_REFUSED})
def find_by_phone(
    body: MemberSearch, session: SessionDep, settings: SettingsDep, _user: HQUserDep
) -> MemberPublic:
    """The member with this phone number (hashed here with the chain's member key, as the
    hubs do; the number is neither stored nor logged)."""
    try:
        key = phone_hash(settings.member_key_bytes(), body.phone)
    except BadPhone:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "not a mainland mobile number"
        ) from None
    found = service.find(session, phone_hash=key)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no member has this phone number")
    return public(session, found, time.time())


@router.get("/{member}", responses=NO_MEMBER)
def read_member(member: MemberPath, session: SessionDep, _user: HQUserDep) -> MemberPublic:
    """A member by any of their ids: balance (the sum of every entry of every id), its split
    by the store that made the entries, spend over 12 months, level, coupons held."""
    return public(session, member_or_404(session, member), time.time())


@router.get(
    "/{member}/ledger",
    response_model=None,
    responses={
        200: {
            "model": LedgerPublic,
            "description": "A page of the ledger, newest first: JSON, or CSV with format=csv",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **NO_MEMBER,
    },
)
def ledger(
    member: MemberPath,
    session: SessionDep,
    _user: HQUserDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=LEDGER_PAGE_MAX)] = LEDGER_PAGE_DEFAULT,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> LedgerPublic | Response:
    """The member's entries across stores and HQ, newest first by the time they happened."""
    found = member_or_404(session, member)
    mine = PointsEntry.member_id.in_(service.ids_of(found.id))
    total, balance = session.execute(
        select(func.count(), func.coalesce(func.sum(PointsEntry.points), 0)).where(mine)
    ).one()
    rows = session.scalars(
        select(PointsEntry)
        .where(mine)
        .order_by(PointsEntry.at.desc(), PointsEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    entries = [PointsEntryPublic.of(e) for e in rows]
    if format == "csv":
        return csv_response(entries, PointsEntryPublic, f"ledger-{found.id}.csv")
    return LedgerPublic(
        member=found.id, balance=int(balance), total=int(total), offset=offset, entries=entries
    )


@router.post(
    "/{member}/adjustments",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": PointsEntryPublic, "description": "Done before with this Idempotency-Key"},
        **errors(400),
        **NO_MEMBER,
        409: {
            "model": Refusal,
            "description": "The key was used for another adjustment, or the balance would go"
            " below zero",
        },
    },
)
def adjust_points(
    member: MemberPath,
    body: PointsAdjustmentCreate,
    response: Response,
    session: SessionDep,
    user: HQUserDep,
    idempotency_key: Annotated[
        str, Header(min_length=1, max_length=IDEMPOTENCY_KEY_MAX, pattern=r"^[\x21-\x7e]+$")
    ],
) -> PointsEntryPublic:
    """Points added (or taken back) by HQ, with a reason: one entry per Idempotency-Key, so a
    retried POST adds nothing (200 with the entry made the first time)."""
    found = member_or_404(session, member)
    try:
        done = service.adjust(session, found, body.points, body.reason, user, idempotency_key)
    except service.AdjustmentConflict as exc:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return PointsEntryPublic.of(done.entry)


@router.delete("/{member}", responses=NO_MEMBER)
def erase_member(member: MemberPath, session: SessionDep, _user: HQUserDep) -> ErasurePublic:
    """On the member's request: their personal data goes (phone hash and mask, birthday,
    cards), from the member and from the events their hubs sent. The ledger and coupons stay
    under ids that no longer identify anyone; hubs asking are told `erased: true`."""
    found = member_or_404(session, member)
    service.erase(session, found, time.time())
    session.commit()
    assert found.erased_at is not None
    return ErasurePublic(member=found.id, erased_at=found.erased_at)
