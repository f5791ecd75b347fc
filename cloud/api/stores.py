"""HQ admin: register stores, rotate and revoke their tokens, read what they sent."""

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud.api.deps import AdminOnly, SessionDep
from cloud.api.errors import errors
from cloud.const import EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, STORE_ID_PATTERN, EventType
from cloud.models import IngestedEvent, Store
from cloud.schemas import EventPublic, StoreCreate, StorePublic, StoreRegion, StoreToken
from cloud.tokens import hash_token, new_token

router = APIRouter(
    prefix="/api/v1/stores", tags=["stores"], dependencies=[AdminOnly], responses=errors(401)
)

StoreId = Annotated[str, Path(pattern=STORE_ID_PATTERN)]


def _store(session: Session, store_id: str) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no store {store_id!r}")
    return store


def _issue(store: Store, response: Response) -> StoreToken:
    token = new_token()
    store.token_hash = hash_token(token)
    store.token_issued_at = time.time()
    store.revoked_at = None
    response.headers["Cache-Control"] = "no-store"
    return StoreToken.of(store, token)


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(400, 409))
def create_store(body: StoreCreate, session: SessionDep, response: Response) -> StoreToken:
    if session.get(Store, body.id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"store {body.id!r} already exists")
    store = Store(id=body.id, name=body.name, created_at=time.time(), region=body.region)
    result = _issue(store, response)
    session.add(store)
    try:
        session.commit()
    except IntegrityError:  # registered concurrently
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"store {body.id!r} already exists") from None
    return result


@router.put("/{store_id}/region", responses=errors(404))
def set_region(store_id: StoreId, body: StoreRegion, session: SessionDep) -> StorePublic:
    """File the store under a region (null: none). HQ's next `hub_status` points carry it,
    and the dashboards' Region variable picks its stores (docs/grafana.md)."""
    store = _store(session, store_id)
    store.region = body.region
    session.commit()
    return StorePublic(id=store.id, name=store.name, region=store.region)


@router.post("/{store_id}/token", responses=errors(404))
def rotate_token(store_id: StoreId, session: SessionDep, response: Response) -> StoreToken:
    """A new token for the store; the old one stops working. Also re-enables a revoked store."""
    store = _store(session, store_id)
    result = _issue(store, response)
    session.commit()
    return result


@router.post("/{store_id}/revoke", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def revoke_token(store_id: StoreId, session: SessionDep) -> None:
    store = _store(session, store_id)
    store.token_hash = None
    store.revoked_at = time.time()
    session.commit()


@router.get("/{store_id}/events", responses=errors(404))
def list_events(
    store_id: StoreId,
    session: SessionDep,
    event_type: Annotated[EventType | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=EVENTS_PAGE_MAX)] = EVENTS_PAGE_DEFAULT,
) -> list[EventPublic]:
    """The store's events, most recently received first."""
    _store(session, store_id)
    query = select(IngestedEvent).where(IngestedEvent.store_id == store_id)
    if event_type is not None:
        query = query.where(IngestedEvent.type == event_type)
    query = query.order_by(IngestedEvent.received_at.desc(), IngestedEvent.id.desc()).limit(limit)
    return [EventPublic.of(e) for e in session.scalars(query)]
