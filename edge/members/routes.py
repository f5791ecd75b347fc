"""Members over HTTP: the diner's member tab (join, sign in, the member code) with the table's
token and the member's own cookie; sign-in confirmations and adjustments for staff."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from contract.http import JsonInt
from edge.api.deps import CurrentManager, CurrentStaff, HubDep, domain_of
from edge.api.errors import STAFF, errors
from edge.members import coupons as member_coupons
from edge.members import errors as member_errors
from edge.members import ledger, service
from edge.members.code_image import qr_svg
from edge.members.domain import HQ_TAB_AGE_S, MEMBER_COOKIE, MEMBER_SESSION_S, MembersDomain
from edge.members.models import Member
from edge.menu.domain import MenuDomain
from edge.orders.errors import OrderError
from edge.tables.domain import TablesDomain
from edge.uplink.events import FactsCommitted

router = APIRouter(tags=["members"])

Members = Annotated[MembersDomain, Depends(domain_of(MembersDomain))]
Tables = Annotated[TablesDomain, Depends(domain_of(TablesDomain))]
MemberCookie = Annotated[str | None, Cookie(alias=MEMBER_COOKIE)]


class JoinRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"phone": "13600136000", "consent": True, "birthday": "1990-05-01"}]
        }
    )

    phone: str = Field(max_length=32)
    consent: bool = Field(strict=True)  # to the privacy statement shown beside the form
    birthday: str | None = Field(default=None, max_length=10)
    invite: str | None = Field(default=None, max_length=80)  # a member's share code


class SignInRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13800138000"}]})

    phone: str = Field(max_length=32)


class AdjustRequest(BaseModel):
    points: JsonInt = Field(ge=-(10**9), le=10**9)
    reason: str = Field(max_length=200)


def _set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        MEMBER_COOKIE,
        token,
        max_age=int(MEMBER_SESSION_S),
        httponly=True,  # a script on the page can never read it
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _table(hub: HubDep, tables: TablesDomain, token: str) -> tuple[str, str, float]:
    with hub.reads() as session:
        t = tables.table_for(session, token)
        return t.id, t.name, t.opened_at


def _privacy(members: MembersDomain) -> dict[str, Any]:
    return {"version": members.config.privacy_version, "url": "/static/privacy.html"}


@router.get("/api/diner/{token}/member", responses=errors(403))
def my_membership(
    token: str,
    hub: HubDep,
    tables: Tables,
    members: Members,
    response: Response,
    cookie: MemberCookie = None,
) -> dict[str, Any]:
    """The member signed in on this phone (None if nobody), with what is popular here now.
    Opening it makes the member the party's (the first to sign in at the table) and gives a
    birthday coupon due: those are the only writes, made once, so a page asking again (each
    time it opens) reads only."""
    table_id, _name, opened_at = _table(hub, tables, token)
    now = time.time()
    with hub.reads() as session:
        member = members.member_of_session(session, cookie) if members.enabled else None
        member_id = member.id if member is not None else None
        due = member is not None and (
            service.party_member(session, table_id, opened_at) is None
            or member_coupons.birthday_due(members.config, member, now)
        )
        if member is None or (not due and members.fresh(member, HQ_TAB_AGE_S, now)):
            # Nothing to write, nothing to ask HQ: the page's usual case, answered from this
            # one read (bench/bench_members_hub.py).
            return _tab(session, members, response, cookie, member, table_id, opened_at, now)
    if member_id is not None:
        members.refresh(member_id, max_age_s=HQ_TAB_AGE_S)  # HQ's answer when there is one
    if due and member_id is not None:
        try:
            with hub.sessions.begin() as session:
                member = service.by_id(session, member_id)
                service.attach(session, table_id, opened_at, member, now, replace=False)
                member_coupons.birthday_coupon(session, members.config, member, now)
        except member_errors.MemberNotFound:  # erased at HQ on their request: signed out
            member_id = None
        hub.bus.publish(FactsCommitted())  # a birthday coupon is a fact for HQ
    with hub.reads() as session:
        try:
            member = service.by_id(session, member_id) if member_id is not None else None
        except member_errors.MemberNotFound:  # erased at HQ (HQ's answer just now)
            member = None
        return _tab(session, members, response, cookie, member, table_id, opened_at, now)


def _tab(
    session: Session,
    members: MembersDomain,
    response: Response,
    cookie: str | None,
    member: Member | None,
    table_id: str,
    opened_at: float,
    now: float,
) -> dict[str, Any]:
    """The member tab's answer, read in `session`."""
    view = members.view(session, member, now) if member is not None else None
    party = service.party_member(session, table_id, opened_at)
    if cookie and member is None and members.enabled:
        response.delete_cookie(MEMBER_COOKIE)  # names nobody (any more): signed out
    return {
        "enabled": members.enabled,
        "member": view,
        "party_member": party.phone_masked if party is not None else None,
        "popular": members.popular.dishes(session, now),
        "privacy": _privacy(members),
    }


@router.post(
    "/api/diner/{token}/member/join",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 403, 409, 422, 429, 503),
)
def join(
    token: str,
    body: JoinRequest,
    hub: HubDep,
    tables: Tables,
    members: Members,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    table_id, _name, opened_at = _table(hub, tables, token)
    members.require()
    if not body.consent:
        raise OrderError(
            422,
            "consent_required",
            "请先阅读并同意隐私说明 / Please read and agree to the privacy statement",
        )
    if not members.join_limiter.take(table_id):
        raise OrderError(
            429, "rate_limited", "操作太频繁，请稍后再试 / Too many requests, please wait a minute"
        )
    now = time.time()
    member = members.join(body.phone, body.birthday, now, body.invite or None)
    with hub.sessions.begin() as session:
        service.attach(session, table_id, opened_at, service.by_id(session, member.id), now, False)
    with hub.reads() as session:
        view = members.view(session, service.by_id(session, member.id), now)
    _set_cookie(response, request, members.session_token(member.id))
    return {"member": view}


@router.post(
    "/api/diner/{token}/member/sign-in",
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(400, 403, 422, 429, 503),
)
def ask_sign_in(
    token: str, body: SignInRequest, hub: HubDep, tables: Tables, members: Members
) -> dict[str, Any]:
    """A member on a new phone: a waiter confirms at the table (no SMS here). The answer is the
    same whether or not the number is a member: the page never tells strangers who is."""
    table_id, name, _opened = _table(hub, tables, token)
    request = members.ask_sign_in(table_id, name, body.phone, time.time())
    return {"id": request.id, "state": request.state}


@router.get("/api/diner/{token}/member/sign-in/{request_id}", responses=errors(403))
def sign_in_state(
    token: str,
    request_id: str,
    hub: HubDep,
    tables: Tables,
    members: Members,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    table_id, _name, _opened = _table(hub, tables, token)
    asked = members.sign_in_state(table_id, request_id)
    if asked is None:
        return {"id": request_id, "state": "expired"}
    if asked.state == "confirmed" and asked.session is not None:
        _set_cookie(response, request, asked.session)
    return {"id": asked.id, "state": asked.state}


@router.post("/api/diner/{token}/member/sign-out", responses=errors(403))
def sign_out(token: str, hub: HubDep, tables: Tables, response: Response) -> dict[str, bool]:
    _table(hub, tables, token)
    response.delete_cookie(MEMBER_COOKIE)
    return {"signed_out": True}


@router.get("/api/diner/{token}/member/code", responses=errors(401, 403))
def my_code(
    token: str, hub: HubDep, tables: Tables, members: Members, cookie: MemberCookie = None
) -> dict[str, Any]:
    """The member code for this minute (the page asks again when it runs out)."""
    _table(hub, tables, token)
    now = time.time()
    with hub.reads() as session:
        member = members.member_of_session(session, cookie)
        if member is None:
            raise OrderError(401, "not_signed_in", "请先登录会员 / Sign in as a member first")
        return {"code": members.code_for(member.id, now), "valid_s": 60 - int(now) % 60}


@router.get("/api/diner/{token}/member/invite", responses=errors(401, 403))
def my_invitation(
    token: str, hub: HubDep, tables: Tables, members: Members, cookie: MemberCookie = None
) -> dict[str, Any]:
    """Invite a friend: the member's share code (signed: nobody makes one for someone else),
    what both earn when the friend pays a first bill, and the friends who joined with it."""
    _table(hub, tables, token)
    with hub.reads() as session:
        member = members.member_of_session(session, cookie)
        if member is None:
            raise OrderError(401, "not_signed_in", "请先登录会员 / Sign in as a member first")
        member_id = member.id
    return members.invitation(member_id, time.time())


@router.get("/api/diner/{token}/member/code.svg", include_in_schema=False)
def my_code_image(
    token: str, hub: HubDep, tables: Tables, members: Members, cookie: MemberCookie = None
) -> Response:
    """The same code as a QR image (drawn here: the phone ships no QR library)."""
    _table(hub, tables, token)
    with hub.reads() as session:
        member = members.member_of_session(session, cookie)
        if member is None:
            raise OrderError(401, "not_signed_in", "请先登录会员 / Sign in as a member first")
        code = members.code_for(member.id, time.time())
    return Response(
        qr_svg(code),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


# --- staff ------------------------------------------------------------------------------


@router.get("/api/members/sign-ins", responses=errors(STAFF))
def sign_ins(members: Members, _staff: CurrentStaff) -> dict[str, Any]:
    return {"sign_ins": members.pending_sign_ins()}


@router.post("/api/members/sign-ins/{request_id}/confirm", responses=errors(STAFF, 404, 409, 503))
def confirm_sign_in(request_id: str, members: Members, _staff: CurrentStaff) -> dict[str, Any]:
    return members.decide_sign_in(request_id, True)


@router.post("/api/members/sign-ins/{request_id}/refuse", responses=errors(STAFF, 404, 409, 503))
def refuse_sign_in(request_id: str, members: Members, _staff: CurrentStaff) -> dict[str, Any]:
    return members.decide_sign_in(request_id, False)


@router.post("/api/members/{member_id}/adjust", responses=errors(STAFF, 400, 404, 409, 422))
def adjust(
    member_id: str, body: AdjustRequest, hub: HubDep, members: Members, manager: CurrentManager
) -> dict[str, Any]:
    """A manager corrects a member's points, with a reason; HQ receives the entry."""
    now = time.time()
    try:
        with hub.sessions.begin() as session:
            member = service.by_id(session, member_id)
            entry = ledger.adjust(session, member, body.points, body.reason, manager, now)
            result = {"entry": entry.id, "points": ledger.balance(session, member)}
    except member_errors.MemberNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这个会员 / no such member") from None
    hub.bus.publish(FactsCommitted())
    return result


def menu_names(hub: HubDep) -> dict[str, str]:
    state = hub.get(MenuDomain).state
    return {d.id: d.label for d in state.menu.dishes} if state is not None else {}
