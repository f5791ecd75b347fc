"""What the HQ API accepts and returns."""

import functools
import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator

from cloud.const import (
    MAX_BATCH_EVENTS,
    MAX_EVENT_DATA_BYTES,
    REGION_PATTERN,
    STORE_ID_PATTERN,
    STORE_NAME_MAX,
    EventType,
)
from cloud.models import IngestedEvent, Store
from contract.uplink import UplinkData, UplinkEnvelope, data_model


def _unstorable(value: Any) -> bool:
    """PostgreSQL text (and JSONB) cannot hold U+0000, nor a lone surrogate (valid in JSON,
    not in UTF-8): either would fail at the database as a 500 instead of a clear 422."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return "\x00" in value
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def _storable(value: str) -> str:
    if _unstorable(value):
        raise ValueError("text must be UTF-8 without U+0000")
    return value


StoredText = Annotated[str, AfterValidator(_storable)]


class StoreCreate(BaseModel):
    id: str = Field(pattern=STORE_ID_PATTERN)
    name: StoredText = Field(min_length=1, max_length=STORE_NAME_MAX)
    region: str | None = Field(default=None, pattern=REGION_PATTERN)


class StoreRegion(BaseModel):
    """A store's region (null: none); the dashboards' Region variable lists it."""

    region: str | None = Field(pattern=REGION_PATTERN)


class StorePublic(BaseModel):
    id: str
    name: str
    region: str | None


class StoreToken(BaseModel):
    """A store and its new token: the only time the token is ever shown."""

    id: str
    name: str
    token: str

    @classmethod
    def of(cls, store: Store, token: str) -> "StoreToken":
        return cls(id=store.id, name=store.name, token=token)


class EventIn(UplinkEnvelope):
    """An event as ingest takes it: the contract's envelope (id, type, schema version `v`,
    occurred_at), checked strictly, so a batch with one bad envelope is refused whole; its
    `data` as sent, stored as it came. `typed_data` reads the data with the contract's model
    of its type."""

    type: EventType
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _bounded(cls, data: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        size = len(text.encode())
        if size > MAX_EVENT_DATA_BYTES:
            raise ValueError(f"data is {size} bytes as JSON; at most {MAX_EVENT_DATA_BYTES}")
        if _unstorable(data):
            raise ValueError("data must be UTF-8 text without U+0000")
        return data

    @functools.cached_property
    def checked_data(self) -> UplinkData | ValidationError:
        """The data read once with the contract's model (ingest asks several times a batch)."""
        try:
            return data_model(self.type).model_validate(self.data)
        except ValidationError as exc:
            return exc

    def typed_data(self) -> UplinkData:
        """The data as the contract's model of this type and version; ValidationError when
        it does not match (the event is stored all the same and left out of the reports, as
        it always was: docs/hq-reports.md)."""
        checked = self.checked_data
        if isinstance(checked, ValidationError):
            raise checked
        return checked

    def contract_problem(self) -> str | None:
        """Why the data does not match the contract (`data.<field>: <why>`), or None."""
        try:
            self.typed_data()
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in ("data", *first["loc"]))
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            return f"{where}: {first['msg']}{more}"
        return None


class IngestBatch(BaseModel):
    store: str = Field(pattern=STORE_ID_PATTERN)
    events: list[EventIn] = Field(max_length=MAX_BATCH_EVENTS)
    # The hub's clock as it sent the batch: HQ keeps the store's clock offset from it, so the
    # fleet view shows a store whose timestamps (and so its hourly sales) are off.
    sent_at: float | None = Field(default=None, ge=0, allow_inf_nan=False, strict=True)


class IngestResult(BaseModel):
    stored: list[str]
    duplicates: list[str]
    received_at: float  # HQ's clock: the hub compares its own with it


class EventPublic(BaseModel):
    id: str
    type: str
    occurred_at: float
    received_at: float
    data: dict[str, Any]

    @classmethod
    def of(cls, event: IngestedEvent) -> "EventPublic":
        return cls(
            id=event.event_id,
            type=event.type,
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            data=event.data,
        )
