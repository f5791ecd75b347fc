"""What HQ people read: their login, service quality per store, and the fleet's health."""

import threading
import time
from collections import defaultdict, deque
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cloud.api.deps import AdminOnly, SessionDep, unauthorized
from cloud.api.errors import errors
from cloud.api.hq_access import HQPrincipal, HQUserDep, current_hq_user
from cloud.api.reports import csv_response, json_or_csv, percentile
from cloud.const import (
    HQ_LOGIN_FAILURES_PER_MINUTE,
    HQ_PASSWORD_MIN,
    HQ_SCOPE_MAX_STORES,
    HQ_SESSION_S,
    STORE_ID_PATTERN,
    STORE_ONLINE_WITHIN_S,
    HQRole,
)
from cloud.models import HQSession, HQUser, IngestedEvent, Store
from cloud.passwords import check_password, hash_password
from cloud.tokens import hash_token, new_token
from contract.uplink import CALL_ANSWERED, CALL_OPENED, DEVICE_ALARM, clock_ok

router = APIRouter(prefix="/api/v1/hq", tags=["hq"])

USERNAME = r"^[A-Za-z0-9_.@-]{1,64}$"
ALARM_HISTORY_S = 30 * 86400


StoreId = Annotated[str, Field(pattern=STORE_ID_PATTERN)]
Scope = Annotated[
    list[StoreId] | None,
    Field(
        min_length=1,
        max_length=HQ_SCOPE_MAX_STORES,
        description="the stores this user sees; null: the whole chain",
    ),
]


class HQAccess(BaseModel):
    # Least privilege unless said otherwise: a new user reads, an admin is made on purpose.
    role: HQRole = HQRole.ANALYST
    stores: Scope = None


class HQUserCreate(HQAccess):
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=HQ_PASSWORD_MIN, max_length=200)


class HQUserPublic(BaseModel):
    username: str
    role: HQRole
    stores: list[str] | None

    @classmethod
    def of(cls, user: HQUser) -> "HQUserPublic":
        return cls(username=user.username, role=HQRole(user.role), stores=user.stores)


class HQLogin(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)


class HQSessionPublic(BaseModel):
    token: str
    expires_at: float


class _Failures:
    """Wrong passwords per (client, username) in the last minute. Per process: with several
    workers the bound is this times the workers, still a bound."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def too_many(self, key: tuple[str, str], now: float) -> bool:
        with self._lock:
            q = self._seen[key]
            while q and q[0] <= now - 60:
                q.popleft()
            return len(q) >= HQ_LOGIN_FAILURES_PER_MINUTE

    def add(self, key: tuple[str, str], now: float) -> None:
        with self._lock:
            self._seen[key].append(now)


def _failures_of(request: Request) -> _Failures:
    app_state = request.app.state
    if not hasattr(app_state, "hq_login_failures"):
        app_state.hq_login_failures = _Failures()
    failures: _Failures = app_state.hq_login_failures
    return failures


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminOnly],
    responses=errors(400, 401, 404, 409),
)
def create_user(body: HQUserCreate, session: SessionDep) -> HQUserPublic:
    """A new HQ user: an analyst of the whole chain unless `role` and `stores` say otherwise."""
    user = HQUser(
        username=body.username,
        password_hash=hash_password(body.password),
        created_at=time.time(),
        role=body.role.value,
        stores=_known_stores(session, body.stores),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username!r} exists") from None
    return HQUserPublic.of(user)


def _known_stores(session: SessionDep, stores: list[str] | None) -> list[str] | None:
    if stores is None:
        return None
    unknown = sorted(
        set(stores) - set(session.scalars(select(Store.id).where(Store.id.in_(stores))))
    )
    if unknown:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no store {', '.join(unknown)}")
    return sorted(set(stores))


@router.put("/users/{username}/access", dependencies=[AdminOnly], responses=errors(400, 401, 404))
def set_access(username: str, body: HQAccess, session: SessionDep) -> HQUserPublic:
    """Change what a user may do and see; it applies to their next request."""
    user = session.get(HQUser, username)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}")
    user.role, user.stores = body.role.value, _known_stores(session, body.stores)
    session.commit()
    return HQUserPublic.of(user)


@router.get("/me", responses=errors(401))
def me(user: HQUserDep) -> HQUserPublic:
    """Who this session is, with role and scope: pages show only what it may do."""
    stores = None if user.stores is None else sorted(user.stores)
    return HQUserPublic(username=user.username, role=user.role, stores=stores)


@router.post("/login", responses=errors(400, 401, 429))
def login(
    body: HQLogin, request: Request, response: Response, session: SessionDep
) -> HQSessionPublic:
    now = time.time()
    key = (request.client.host if request.client else "?", body.username)
    failures = _failures_of(request)
    if failures.too_many(key, now):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many wrong passwords; wait a minute",
            headers={"Retry-After": "60"},
        )
    user = session.get(HQUser, body.username)
    if user is None or not check_password(body.password, user.password_hash):
        failures.add(key, now)
        raise unauthorized("wrong username or password")
    token = new_token()
    session.add(
        HQSession(
            token_hash=hash_token(token), username=user.username, expires_at=now + HQ_SESSION_S
        )
    )
    session.commit()
    response.headers["Cache-Control"] = "no-store"
    return HQSessionPublic(token=token, expires_at=now + HQ_SESSION_S)


# Every HQ route takes one of cloud.api.hq_access's dependencies; re-exported for the report
# modules that import it from here.
__all__ = ["HQPrincipal", "HQUserDep", "current_hq_user", "router"]


class StoreService(BaseModel):
    store: str
    calls_opened: int
    calls_answered: int
    response_p50_s: float | None
    response_p95_s: float | None
    urgent_share: float | None


@router.get(
    "/service", response_model=None, responses={**errors(401, 403), **json_or_csv(StoreService)}
)
def service_quality(
    session: SessionDep,
    user: HQUserDep,
    since: Annotated[float, Query(ge=0, description="epoch seconds, by the store's clock")] = 0.0,
    until: Annotated[float | None, Query(ge=0)] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> list[StoreService] | Response:
    """Per store: calls opened and answered, and how fast they were answered."""
    query = select(IngestedEvent.store_id, IngestedEvent.type, IngestedEvent.data).where(
        IngestedEvent.type.in_([CALL_OPENED, CALL_ANSWERED]), IngestedEvent.occurred_at >= since
    )
    if until is not None:
        query = query.where(IngestedEvent.occurred_at < until)
    opened: dict[str, int] = defaultdict(int)
    answered: dict[str, list[float]] = defaultdict(list)
    urgent: dict[str, int] = defaultdict(int)
    for store_id, kind, data in session.execute(query):
        if kind == CALL_OPENED:
            opened[store_id] += 1
        elif isinstance(data.get("response_s"), int | float):
            answered[store_id].append(float(data["response_s"]))
            urgent[store_id] += bool(data.get("urgent"))
    stores = user.visible(sorted(set(session.scalars(select(Store.id)))), lambda s: s)
    rows = [
        StoreService(
            store=s,
            calls_opened=opened[s],
            calls_answered=len(answered[s]),
            response_p50_s=percentile(answered[s], 50),
            response_p95_s=percentile(answered[s], 95),
            urgent_share=round(urgent[s] / len(answered[s]), 3) if answered[s] else None,
        )
        for s in stores
    ]
    if format == "csv":
        return csv_response(rows, StoreService, "service.csv")
    return rows


class OpenAlarm(BaseModel):
    device: str
    device_type: str
    kind: str
    since: float


class StoreHealth(BaseModel):
    store: str
    name: str
    online: bool
    last_seen_at: float | None
    config_version: int | None  # the configuration the store's hub runs
    # The hub's clock minus HQ's at its last batch; clock_ok is false past CLOCK_SKEW_WARN_S
    # (contract.uplink): its sales land in the wrong hours until its time is fixed.
    clock_offset_s: float | None
    clock_ok: bool
    # How long the oldest event of the hub's last batch had waited in its outbox (0: the hub
    # had nothing queued); None until its hub says when it sends.
    backlog_age_s: float | None
    open_alarms: list[OpenAlarm]


class FleetHealth(BaseModel):
    stores_total: int
    stores_online: int
    devices_offline: int
    printer_problems: int
    clocks_off: int
    stores: list[StoreHealth]


@router.get("/fleet", responses=errors(401, 403))
def fleet_health(session: SessionDep, user: HQUserDep) -> FleetHealth:
    """Which stores reach HQ, and which of their devices have an alarm open right now."""
    now = time.time()
    latest: dict[tuple[str, str], tuple[float, dict[str, object]]] = {}
    for store_id, occurred_at, data in session.execute(
        select(IngestedEvent.store_id, IngestedEvent.occurred_at, IngestedEvent.data)
        .where(
            IngestedEvent.type == DEVICE_ALARM, IngestedEvent.received_at >= now - ALARM_HISTORY_S
        )
        .order_by(IngestedEvent.occurred_at)
    ):
        latest[(store_id, str(data.get("alarm")))] = (
            occurred_at,
            data,
        )  # cleared comes after raised
    open_by_store: dict[str, list[OpenAlarm]] = defaultdict(list)
    for (store_id, _), (_, data) in latest.items():
        if data.get("active"):
            open_by_store[store_id].append(
                OpenAlarm(
                    device=str(data.get("device")),
                    device_type=str(data.get("device_type")),
                    kind=str(data.get("kind")),
                    since=float(data.get("raised_at") or 0.0),  # type: ignore[arg-type]
                )
            )
    stores = user.visible(
        (
            StoreHealth(
                store=s.id,
                name=s.name,
                online=s.last_seen_at is not None and s.last_seen_at >= now - STORE_ONLINE_WITHIN_S,
                last_seen_at=s.last_seen_at,
                config_version=s.config_version,
                clock_offset_s=s.clock_offset_s,
                clock_ok=clock_ok(s.clock_offset_s),
                backlog_age_s=s.backlog_age_s,
                open_alarms=sorted(open_by_store[s.id], key=lambda a: a.since),
            )
            for s in session.scalars(
                select(Store).where(Store.revoked_at.is_(None)).order_by(Store.id)
            )
        ),
        lambda h: h.store,
    )
    alarms = [a for s in stores for a in s.open_alarms]
    return FleetHealth(
        stores_total=len(stores),
        stores_online=sum(s.online for s in stores),
        devices_offline=sum(a.kind == "offline" for a in alarms),
        printer_problems=sum(a.device_type == "printer" for a in alarms),
        clocks_off=sum(not s.clock_ok for s in stores),
        stores=stores,
    )
