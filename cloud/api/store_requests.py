"""HQ takes a booking for a store and passes it to the store's hub, which decides.

Hubs reach HQ and never the other way round (NAT): each keeps a long poll open here
(GET /api/v1/store-requests, its store token). HQ's booking API stores the request in
PostgreSQL, the poll hands it to the hub, the hub claims it, books (or refuses) and answers;
HQ's caller, waiting meanwhile, gets the hub's answer. All state is in PostgreSQL, so any
worker may hold the hub's poll and any other the caller's request.

Who decides when they race, a hub answering late and HQ's caller giving up, is settled by one
row: the hub may act only on a request it moved from `pending` to `claimed`, HQ's caller gives
up only by moving it from `pending` to `expired`; each is one UPDATE ... WHERE status =
'pending', so exactly one of them wins. Expired: nothing was booked and the caller hears 503.
Claimed: the hub decides and its answer is final; a caller whose wait ends before the answer
hears 202 "pending" and reads the answer later (GET .../bookings/{request_id}). A deadline
checked by the hub's clock could not do this: a hub's clock may be minutes off HQ's.
"""

import asyncio
import threading
import time
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from cloud.api.deps import CurrentStore, SessionDep, SettingsDep
from cloud.api.errors import errors
from cloud.api.hq_access import HQAdminDep, HQUserDep
from cloud.const import (
    STORE_ID_PATTERN,
    STORE_POLLING_WITHIN_S,
    STORE_REQUEST_CHECK_S,
    STORE_REQUEST_CLAIMED_KEEP_S,
)
from cloud.models import Store, StoreRequestRow, table_of
from contract.store_requests import (
    KIND_BOOKING,
    POLL_WAIT_S,
    REQUEST_ID_PATTERN,
    BookingAsk,
    StoreAnswer,
    StoreRequest,
    StoreRequests,
)

router = APIRouter(prefix="/api/v1", tags=["store requests"])

PENDING, CLAIMED, ANSWERED, EXPIRED = "pending", "claimed", "answered", "expired"
EXPIRY_MARGIN_S = 2.0  # a pending request outlives its caller's wait by this, then is dead
UNREACHABLE = {
    "code": "store_unreachable",
    "message": "门店主机连接不上，未预订 / The store's hub is not reachable: nothing was booked",
}
PENDING_MESSAGE = (
    "门店主机已接单，正在处理 / The store's hub has taken the request and decides; "
    "ask again for its answer"
)

StoreId = Annotated[str, Path(pattern=STORE_ID_PATTERN)]
RequestId = Annotated[str, Path(pattern=REQUEST_ID_PATTERN)]


class HQBooking(BookingAsk):
    request_id: str = Field(
        pattern=REQUEST_ID_PATTERN,
        description="the caller's id for this booking: sent again, it is the same booking",
    )


class StoreReason(BaseModel):
    code: str
    message: str = Field(description="中文 / English, for a person to read")


class StoreRefused(BaseModel):
    """The store's hub refused the booking (its code and bilingual reason), or could not be
    reached (code store_unreachable: nothing was booked)."""

    detail: StoreReason


class BookingAnswer(BaseModel):
    request_id: str
    state: Literal["booked", "refused", "pending", "unreachable"]
    message: str | None = None
    booking: dict[str, Any] | None = Field(default=None, description="as the store's hub has it")


def _sessions(session: Session) -> "sessionmaker[Session]":
    bind = session.get_bind()
    return sessionmaker(bind, expire_on_commit=False)


def _mask(body: dict[str, Any]) -> dict[str, Any]:
    phone = str(body.get("phone", ""))
    masked = phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"
    return {**body, "phone": masked}


class Sweep:
    """The phone number is kept in full only while a hub may still need it to book. A request
    whose caller's wait ended without `_expire` running (the caller's connection dropped), or
    that a hub claimed and never answered (the hub gone for days), would keep it for good:
    HQ expires those and masks their phone, at most every `store_request_sweep_s` per worker.
    One per app (create_app), not per module: HQs run side by side in one process (tests, the
    demo) each keep their own settings' pace."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def due(self, every_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                return False
            self._next = now + every_s
            return True


def forget_stale_phones(sessions: "sessionmaker[Session]", now: float) -> int:
    """Expire the requests nobody will finish, masking their phone; how many."""
    with sessions() as session:
        rows = session.scalars(
            select(StoreRequestRow)
            .where(
                or_(
                    (StoreRequestRow.status == PENDING) & (StoreRequestRow.expires_at <= now),
                    (StoreRequestRow.status == CLAIMED)
                    & (StoreRequestRow.claimed_at <= now - STORE_REQUEST_CLAIMED_KEEP_S),
                )
            )
            .with_for_update(skip_locked=True)
            .limit(500)
        ).all()
        for row in rows:
            row.status, row.body = EXPIRED, _mask(row.body)
        session.commit()
        return len(rows)


# --- the hub's side ---------------------------------------------------------------------


def _open_requests(sessions: "sessionmaker[Session]", store_id: str) -> list[StoreRequest]:
    """What the hub must act on: pending requests still waited for, and those it claimed and
    has not answered (a hub restarted between the two finishes them)."""
    now = time.time()
    with sessions() as session:
        rows = session.scalars(
            select(StoreRequestRow)
            .where(StoreRequestRow.store_id == store_id)
            .where(
                or_(
                    (StoreRequestRow.status == PENDING) & (StoreRequestRow.expires_at > now),
                    StoreRequestRow.status == CLAIMED,
                )
            )
            .order_by(StoreRequestRow.created_at)
            .limit(50)
        )
        return [StoreRequest(id=r.id, kind=KIND_BOOKING, body=r.body) for r in rows]


@router.get("/store-requests", responses=errors(401))
async def poll(
    request: Request,
    store: CurrentStore,
    session: SessionDep,
    settings: SettingsDep,
    wait: Annotated[float, Query(ge=0, le=POLL_WAIT_S, description="seconds to hold")] = 0.0,
) -> StoreRequests:
    """The hub's long poll: its open requests, as soon as there are any or after `wait`
    seconds (at most HQ's store_poll_hold_s). Opening it is what makes HQ take bookings for
    the store. A hub that hangs up (restarts, stops) is held no longer: nobody would read the
    answer, and HQ's own restart waits for no poll of a hub that is gone."""

    sessions = _sessions(session)

    def mark() -> None:
        store.requests_polled_at = time.time()
        session.commit()
        session.close()  # no connection held while the poll waits
        sweep: Sweep = request.app.state.store_request_sweep
        if sweep.due(settings.store_request_sweep_s):
            forget_stale_phones(sessions, time.time())

    await run_in_threadpool(mark)
    deadline = time.monotonic() + min(wait, settings.store_poll_hold_s)
    while True:
        found = await run_in_threadpool(_open_requests, sessions, store.id)
        if found or time.monotonic() >= deadline or await request.is_disconnected():
            return StoreRequests(requests=found)
        await asyncio.sleep(STORE_REQUEST_CHECK_S)


@router.post(
    "/store-requests/{request}/claim",
    responses={
        **errors(401, 404),
        410: {"model": StoreRefused, "description": "HQ stopped waiting: do not act on it"},
    },
)
def claim(request: str, store: CurrentStore, session: SessionDep) -> StoreRequest:
    """The hub takes the request: from now on it decides, and HQ waits for its answer. A
    request HQ gave up on first is refused (410): the hub must do nothing with it."""
    now = time.time()
    session.execute(
        update(StoreRequestRow)
        .where(StoreRequestRow.id == request, StoreRequestRow.store_id == store.id)
        .where(StoreRequestRow.status == PENDING, StoreRequestRow.expires_at > now)
        .values(status=CLAIMED, claimed_at=now)
    )
    session.commit()
    row = session.get(StoreRequestRow, request)
    if row is None or row.store_id != store.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such request for this store")
    if row.status not in (CLAIMED, ANSWERED):  # expired, or pending past its expiry
        raise HTTPException(
            status.HTTP_410_GONE,
            {"code": "request_expired", "message": "HQ 已不再等待 / HQ stopped waiting"},
        )
    return StoreRequest(id=row.id, kind=KIND_BOOKING, body=row.body)


@router.post(
    "/store-requests/{request}/answer",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**errors(400, 401, 404, 409)},
)
def answer(request: str, body: StoreAnswer, store: CurrentStore, session: SessionDep) -> Response:
    """The hub's answer to a request it claimed. The first answer stands (a resent one, after
    a lost reply, changes nothing)."""
    now = time.time()
    row = session.get(StoreRequestRow, request, with_for_update=True)
    if row is None or row.store_id != store.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such request for this store")
    if row.status == CLAIMED:
        row.status, row.answered_at = ANSWERED, now
        row.answer_status, row.answer = body.status, body.body
        row.body = _mask(row.body)
    elif row.status != ANSWERED:
        raise HTTPException(status.HTTP_409_CONFLICT, "claim the request before answering it")
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- HQ's side --------------------------------------------------------------------------


def _same(row: StoreRequestRow, ask: BookingAsk) -> bool:
    """A resent request id is the same booking only with the same booking in it (the phone
    may be masked by now: compared by its mask)."""
    mine = ask.model_dump(mode="json")
    return _mask(row.body) == _mask(mine)


def _settled(row: StoreRequestRow) -> JSONResponse | None:
    if row.status == ANSWERED and row.answer is not None and row.answer_status is not None:
        if row.answer_status < 300:
            return JSONResponse(
                BookingAnswer(
                    request_id=row.request_id, state="booked", booking=row.answer
                ).model_dump(),
                status_code=status.HTTP_201_CREATED,
            )
        detail = row.answer.get("detail") or {"code": "refused", "message": str(row.answer)}
        return JSONResponse({"detail": detail}, status_code=status.HTTP_409_CONFLICT)
    if row.status == EXPIRED or (row.status == PENDING and row.expires_at <= time.time()):
        return JSONResponse({"detail": UNREACHABLE}, status_code=503)
    return None


def _expire(sessions: "sessionmaker[Session]", row_id: str) -> StoreRequestRow:
    """Give up on the request unless a hub claimed it first; the row as it is then."""
    with sessions() as session:
        row = session.get(StoreRequestRow, row_id, with_for_update=True)
        assert row is not None
        if row.status == PENDING:
            row.status, row.body = EXPIRED, _mask(row.body)
        session.commit()
        return row


def _read(sessions: "sessionmaker[Session]", row_id: str) -> StoreRequestRow:
    with sessions() as session:
        row = session.get(StoreRequestRow, row_id)
        assert row is not None
        return row


def _insert(session: Session, values: dict[str, Any]) -> None:
    table = table_of(StoreRequestRow)
    dialect = session.get_bind().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(values)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["store_id", "request_id"]))


@router.post(
    "/hq/stores/{store_id}/bookings",
    status_code=status.HTTP_201_CREATED,
    response_model=BookingAnswer,
    responses={
        **errors(400, 401, 403, 404),
        202: {"model": BookingAnswer, "description": "The hub took it and decides: ask again"},
        409: {
            "model": StoreRefused,
            "description": "The store refused it, or the request id was used for another booking",
        },
        503: {
            "model": StoreRefused,
            "description": "The store's hub is not reachable: nothing was booked",
        },
    },
)
async def book_at_store(
    store_id: StoreId, body: HQBooking, session: SessionDep, user: HQAdminDep,
    settings: SettingsDep,
) -> JSONResponse:  # fmt: skip
    """Book a table at a store: its hub decides (capacity, opening hours, how far ahead), and
    its answer is this answer. A hub that is not polling, or does not take the request within
    the wait, gets nothing booked: 503. Sent again with the same request_id, the same booking
    (its answer, or its state)."""
    user.require_store(store_id)  # an admin of other stores books nothing here
    ask = BookingAsk.model_validate(body.model_dump(exclude={"request_id"}))
    asked = ask.model_dump(mode="json")
    now = time.time()

    def store_it() -> StoreRequestRow:
        store = session.get(Store, store_id)
        if store is None or store.revoked_at is not None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no store {store_id!r}")
        polling = (store.requests_polled_at or 0.0) >= now - STORE_POLLING_WITHIN_S
        _insert(
            session,
            {
                "id": uuid.uuid4().hex, "store_id": store_id, "request_id": body.request_id,
                "kind": KIND_BOOKING,
                # Never reaching a hub, it keeps no phone number.
                "body": asked if polling else _mask(asked),
                "status": PENDING if polling else EXPIRED, "created_at": now,
                "created_by": user.username,
                "expires_at": now + settings.store_request_wait_s + EXPIRY_MARGIN_S,
            },
        )  # fmt: skip
        session.commit()
        row = session.scalar(
            select(StoreRequestRow).where(
                StoreRequestRow.store_id == store_id, StoreRequestRow.request_id == body.request_id
            )
        )
        assert row is not None
        session.close()
        return row

    row = await run_in_threadpool(store_it)
    if not _same(row, ask):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            {"code": "request_id_reused", "message": "这个请求号已用于另一个预订 / This "
             "request_id was used for another booking"},
        )  # fmt: skip
    sessions = _sessions(session)
    deadline = time.monotonic() + settings.store_request_wait_s
    while True:
        settled = _settled(row)
        if settled is not None:
            return settled
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(STORE_REQUEST_CHECK_S)
        row = await run_in_threadpool(_read, sessions, row.id)
    row = await run_in_threadpool(_expire, sessions, row.id)
    settled = _settled(row)
    if settled is not None:
        return settled
    return JSONResponse(
        BookingAnswer(request_id=row.request_id, state="pending", message=PENDING_MESSAGE)
        .model_dump(),
        status_code=status.HTTP_202_ACCEPTED,
    )  # fmt: skip


@router.get(
    "/hq/stores/{store_id}/bookings/{request_id}",
    response_model=None,
    responses={
        **errors(401, 403, 404),
        201: {"model": BookingAnswer, "description": "Booked: the booking as the hub has it"},
        202: {"model": BookingAnswer, "description": "The hub took it and decides"},
        409: {"model": StoreRefused, "description": "The store refused it"},
        503: {"model": StoreRefused, "description": "Nothing was booked: the hub was away"},
    },
)
def booking_state(
    store_id: StoreId, request_id: RequestId, session: SessionDep, user: HQUserDep
) -> JSONResponse:
    """What became of a booking HQ took: booked (201), refused by the store (409), nothing
    booked as the hub was away (503), or still being decided by the hub (202)."""
    user.require_store(store_id)
    row = session.scalar(
        select(StoreRequestRow).where(
            StoreRequestRow.store_id == store_id, StoreRequestRow.request_id == request_id
        )
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such booking request")
    settled = _settled(row)
    if settled is not None:
        return settled
    return JSONResponse(
        BookingAnswer(request_id=row.request_id, state="pending", message=PENDING_MESSAGE)
        .model_dump(),
        status_code=status.HTTP_202_ACCEPTED,
    )  # fmt: skip
