"""What hubs send: batches of events, stored exactly once per (store, event id)."""

import json
import logging
import time
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud import sales_facts
from cloud.api.deps import CurrentStore, SessionDep, SettingsDep
from cloud.api.errors import BatchRefused, errors
from cloud.const import MAX_BATCH_EVENTS, MAX_INGEST_BODY_BYTES, DoubleRedeemPolicy
from cloud.members import ingest as members
from cloud.models import IngestedEvent, Store, table_of
from cloud.sales_facts import Fact
from cloud.schemas import EventIn, IngestBatch, IngestResult
from contract.uplink import CONFIG_APPLIED, ConfigApplied, UplinkData

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["ingest"])


def _unprocessable(detail: Any) -> NoReturn:
    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _event_id(events: Any, index: int) -> str:
    """` (id "…")` for the message when the refused event has a readable id, else ""."""
    event = events[index] if isinstance(events, list) and index < len(events) else None
    event_id = event.get("id") if isinstance(event, dict) else None
    return f" (id {json.dumps(event_id[:64])})" if isinstance(event_id, str) else ""


def _invalid_batch(exc: ValidationError, events: Any = None) -> dict[str, Any]:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    indexes = sorted(
        {
            e["loc"][1]
            for e in errors
            if len(e["loc"]) > 1 and e["loc"][0] == "events" and isinstance(e["loc"][1], int)
        }
    )
    if indexes:
        first = next(e for e in errors if e["loc"][:2] == ("events", indexes[0]))
        where = ".".join(str(part) for part in first["loc"][2:]) or "the event"
        message = (
            f"event {indexes[0]}{_event_id(events, indexes[0])} is invalid"
            f" ({where}: {first['msg']}); nothing was stored"
        )
    else:
        message = "the batch is invalid; nothing was stored"
    return {
        "message": message,
        "index": indexes[0] if indexes else None,
        "indexes": indexes,
        "errors": errors,
    }


async def read_batch(request: Request, store: CurrentStore) -> IngestBatch:
    """The whole batch, validated before anything is stored: one bad event refuses it all.

    Depends on the store so that an unauthenticated body is never read.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_INGEST_BODY_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"the body is over {MAX_INGEST_BODY_BYTES} bytes"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_INGEST_BODY_BYTES:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"the body is over {MAX_INGEST_BODY_BYTES} bytes"
            )
    try:
        raw = json.loads(body, parse_constant=_refuse_constant)
    except ValueError as exc:
        _unprocessable({"message": f"the body is not JSON: {exc}", "index": None})
    events = raw.get("events") if isinstance(raw, dict) else None
    if isinstance(events, list) and len(events) > MAX_BATCH_EVENTS:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"a batch holds at most {MAX_BATCH_EVENTS} events, this one has {len(events)}: "
            "send it in several batches",
        )
    try:
        return IngestBatch.model_validate(raw)
    except ValidationError as exc:
        _unprocessable(_invalid_batch(exc, events))


Batch = Annotated[IngestBatch, Depends(read_batch)]


def _store_events(
    session: Session, store_id: str, events: list[EventIn], policy: DoubleRedeemPolicy
) -> set[str]:
    """Insert what is new, in one statement and one transaction; returns the ids inserted."""
    if not events:
        session.commit()  # a heartbeat: the store's last_seen_at
        return set()
    now = time.time()
    rows = [
        {
            "store_id": store_id,
            "event_id": e.id,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "received_at": now,
            "data": e.data,
        }
        # Sorted: concurrent batches that overlap take their row locks in the same order.
        for e in sorted(events, key=lambda e: e.id)
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(IngestedEvent)
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["store_id", "event_id"])
        .returning(table.c.event_id)
    )
    # An executemany: SQLAlchemy sends it as a few multi-row INSERTs ("insertmanyvalues") from
    # one cached compilation; building a 500-row VALUES statement per batch cost more than
    # running it.
    stored = set(session.scalars(statement, rows))
    # What the reports count, in the same transaction: a fact exists exactly when its event does.
    fresh = [e for e in events if e.id in stored]
    _warn_off_contract(store_id, fresh)
    # Before the member facts: a coupon issued in this batch takes its terms from the
    # configuration the store runs.
    versions = [v for e in fresh if (v := _config_version(e)) is not None]
    if versions:
        store = session.get(Store, store_id)
        if store is not None and (store.config_version or 0) < max(versions):
            store.config_version = max(versions)
            session.flush()
    facts = [Fact(e.id, e.type, e.occurred_at, e.data, _typed(e)) for e in fresh]
    sales_facts.record(session, store_id, facts)
    members.record(session, store_id, facts, policy)
    session.commit()
    return stored


def _typed(event: EventIn) -> UplinkData | None:
    checked = event.checked_data
    return None if isinstance(checked, ValidationError) else checked


def _config_version(event: EventIn) -> int | None:
    if event.type != CONFIG_APPLIED:
        return None
    try:
        data = event.typed_data()
    except ValidationError:
        return None
    return data.version if isinstance(data, ConfigApplied) else None


def _warn_off_contract(store_id: str, events: list[EventIn]) -> None:
    """Events whose data does not match the contract are stored all the same (HQ keeps what
    the hub said; the reports leave them out): say which, once per batch."""
    problems = [(e, p) for e in events if (p := e.contract_problem()) is not None]
    if problems:
        event, problem = problems[0]
        log.warning(
            "store %s: %d event(s) stored whose data does not match the contract (reports"
            " leave them out); the first: %s %r (v%d): %s",
            store_id,
            len(problems),
            event.type,
            event.id,
            event.v,
            problem,
        )


def _inline_schema(model: type[IngestBatch]) -> dict[str, Any]:
    """The model's JSON schema with its $defs inlined: the body is read by hand (see
    read_batch), so FastAPI does not document it; this puts it in the OpenAPI document."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


@router.post(
    "/ingest",
    responses={
        **errors(401, 403, 413),
        422: {"model": BatchRefused, "description": "The batch is refused whole"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(IngestBatch)}},
        }
    },
)
def ingest(
    store: CurrentStore, batch: Batch, session: SessionDep, settings: SettingsDep
) -> IngestResult:
    if batch.store != store.id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this token is for store {store.id!r}, not {batch.store!r}"
        )
    unique: dict[str, EventIn] = {}
    for event in batch.events:
        unique.setdefault(event.id, event)  # an id twice in one batch: the first one counts
    now = time.time()
    store.last_seen_at = now  # an empty batch is the hub's heartbeat
    if batch.sent_at is not None:
        store.clock_offset_s = round(batch.sent_at - now, 1)
        # The hub sends its outbox oldest first, so the batch's oldest event is the head of its
        # backlog: how long it waited, on the hub's own clock (no offset to correct).
        oldest = min((e.occurred_at for e in batch.events), default=batch.sent_at)
        store.backlog_age_s = round(max(0.0, batch.sent_at - oldest), 1)
    stored = _store_events(session, store.id, list(unique.values()), settings.double_redeem_policy)
    return IngestResult(
        stored=[i for i in unique if i in stored],
        duplicates=[i for i in unique if i not in stored],
        received_at=now,
    )
