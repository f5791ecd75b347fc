"""What HQ stores: the stores it knows and the events their hubs forwarded."""

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cloud.const import STORE_NAME_MAX
from cloud.db import Base


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for executemany inserts (typed as a Table, which
    `Model.__table__` is not)."""
    return Base.metadata.tables[model.__tablename__]


# JSONB on PostgreSQL (queryable, compact), plain JSON text on SQLite.
JsonObject = JSON().with_variant(JSONB(), "postgresql")


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(STORE_NAME_MAX))
    # SHA-256 (hex) of the store's current token; NULL once revoked.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Double)
    token_issued_at: Mapped[float | None] = mapped_column(Double)
    revoked_at: Mapped[float | None] = mapped_column(Double)
    # When its hub last reached HQ (any authenticated ingest, empty heartbeats included).
    last_seen_at: Mapped[float | None] = mapped_column(Double)
    # The configuration version the store's hub last said it runs (config.applied).
    config_version: Mapped[int | None] = mapped_column(Integer)
    # The hub's clock minus HQ's, seconds, as of its last batch (positive: the hub is ahead).
    clock_offset_s: Mapped[float | None] = mapped_column(Double)
    # How long the oldest event of its last batch had waited in the hub's outbox (the batch's
    # sent_at minus that event's time, both on the hub's clock); 0 after an empty batch (the
    # heartbeat of an empty outbox); NULL until a hub that says sent_at sends a batch.
    backlog_age_s: Mapped[float | None] = mapped_column(Double)
    # When its hub last opened its long poll for HQ's requests (store_requests): HQ takes a
    # booking for the store only while this is recent.
    requests_polled_at: Mapped[float | None] = mapped_column(Double)
    # The region HQ files the store under (cloud/const.py REGION_PATTERN); NULL: none.
    region: Mapped[str | None] = mapped_column(String(32))


class HQUser(Base):
    """Someone at HQ who reads reports (an analyst) or also changes things (an admin), for the
    whole chain or for some stores; separate from stores and from the admin token
    (docs/hq-reports.md "HQ users")."""

    __tablename__ = "hq_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Double)
    role: Mapped[str] = mapped_column(String(16))  # cloud.const.HQRole
    # The store ids this user sees; None: the whole chain.
    stores: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class HQSession(Base):
    __tablename__ = "hq_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), ForeignKey("hq_users.username"))
    expires_at: Mapped[float] = mapped_column(Double)


class IngestedEvent(Base):
    __tablename__ = "ingested_events"
    __table_args__ = (
        # The idempotency key: a hub resends until acknowledged; a repeat is a no-op.
        UniqueConstraint("store_id", "event_id"),
        Index("ix_ingested_events_store_received", "store_id", "received_at"),
        Index("ix_ingested_events_store_type_received", "store_id", "type", "received_at"),
    )

    # BIGINT identity on PostgreSQL; SQLite autoincrements only an INTEGER primary key.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    # Epoch seconds. occurred_at is the hub's clock, received_at HQ's: they may disagree.
    occurred_at: Mapped[float] = mapped_column(Double)
    received_at: Mapped[float] = mapped_column(Double)
    data: Mapped[dict[str, Any]] = mapped_column(JsonObject)


class ConfigDocument(Base):
    """A configuration HQ published (menu, opening hours) for one store or for all.

    Versions are one sequence across scopes: a store runs the newest document addressed to it
    or to all, so a store-specific menu published after a chain-wide one wins, and the next
    chain-wide one wins again."""

    __tablename__ = "config_documents"
    __table_args__ = (Index("ix_config_documents_scope_version", "scope", "version"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32))  # a store id, or "*" for every store
    document: Mapped[dict[str, Any]] = mapped_column(JsonObject)
    published_at: Mapped[float] = mapped_column(Double)
    published_by: Mapped[str] = mapped_column(String(64))


class SaleFact(Base):
    """Orders, their lines and voids, as reports count them (cloud/sales_facts.py): written with
    the events at ingest, so a report is a GROUP BY, not a pass over every event's JSON."""

    __tablename__ = "sale_facts"
    __table_args__ = (
        Index("ix_sale_facts_at_store", "at", "store_id"),
        Index("ix_sale_facts_store_order", "store_id", "order_uid"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    order_uid: Mapped[str] = mapped_column(Text)  # as the hub and its voids name it
    kind: Mapped[str] = mapped_column(String(8))  # order | line | void | bad (an unreadable order)
    # The order's time (hub clock): where its lines and voids count. A void of an order HQ has
    # not got counts at its own time until the order arrives.
    at: Mapped[float] = mapped_column(Double)
    at_s: Mapped[int] = mapped_column(BigInteger)  # floor(at): bucketed with integer division
    dish: Mapped[str | None] = mapped_column(String(64))
    name_zh: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    qty: Mapped[int] = mapped_column(BigInteger, default=0)  # negative for a void
    revenue_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class KitchenFact(Base):
    """Kitchen timings: order to ticket (`ticket`) and order to ready (`ready`), in seconds."""

    __tablename__ = "kitchen_facts"
    __table_args__ = (Index("ix_kitchen_facts_at_store", "at", "store_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[float] = mapped_column(Double)  # the event's time (hub clock)
    seconds: Mapped[float] = mapped_column(Double)


class SaleHour(Base):
    """One store's sales facts summed per UTC hour (cloud/sales_rollups.py): what the reports
    read for whole hours, so a month of a chain is a few hundred thousand rows, not tens of
    millions. Kept in the same transaction as the facts; the facts stay the source."""

    __tablename__ = "sale_hours"
    __table_args__ = (Index("ix_sale_hours_hour", "hour_s"),)

    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"), primary_key=True)
    hour_s: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch of the UTC hour
    facts: Mapped[int] = mapped_column(BigInteger)  # order, line and void facts: 0 = no row
    orders: Mapped[int] = mapped_column(BigInteger)
    qty: Mapped[int] = mapped_column(BigInteger)  # items net of voids
    revenue_fen: Mapped[int] = mapped_column(BigInteger)
    visits: Mapped[int] = mapped_column(BigInteger)  # payment facts (paid bills)
    paid_fen: Mapped[int] = mapped_column(BigInteger)


class DishHour(Base):
    """One store's dish per UTC hour: quantity and revenue net of voids, and the names of the
    newest order line in that hour (what the dish reports show)."""

    __tablename__ = "dish_hours"
    __table_args__ = (Index("ix_dish_hours_hour", "hour_s"),)

    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"), primary_key=True)
    hour_s: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dish: Mapped[str] = mapped_column(String(64), primary_key=True)
    facts: Mapped[int] = mapped_column(BigInteger)  # line and void facts: 0 = no row
    qty: Mapped[int] = mapped_column(BigInteger)
    revenue_fen: Mapped[int] = mapped_column(BigInteger)
    # The newest line's names and time; NULL while the hour holds only voids.
    name_zh: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    name_at: Mapped[float | None] = mapped_column(Double)


class StoreRequestRow(Base):
    """A request HQ passes to a store's hub (a booking), and the hub's answer.

    pending -> claimed (the hub took it: it decides now, and its answer is final) -> answered;
    or pending -> expired (HQ stopped waiting first: no hub may claim it any more). Both moves
    are one UPDATE ... WHERE status = 'pending', so PostgreSQL settles the race between a late
    hub and HQ's caller giving up."""

    __tablename__ = "store_requests"
    __table_args__ = (
        # The caller's idempotency key: the same request id is the same booking.
        UniqueConstraint("store_id", "request_id"),
        Index("ix_store_requests_store_status", "store_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    request_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    # The phone number is replaced by its mask once the request is settled (answered or
    # expired): HQ keeps it only until the hub has it.
    body: Mapped[dict[str, Any]] = mapped_column(JsonObject)
    status: Mapped[str] = mapped_column(String(8))  # pending | claimed | answered | expired
    created_at: Mapped[float] = mapped_column(Double)
    created_by: Mapped[str] = mapped_column(String(64))
    # A backstop for a caller that went away: a pending request is never handed out after.
    expires_at: Mapped[float] = mapped_column(Double)
    claimed_at: Mapped[float | None] = mapped_column(Double)
    answered_at: Mapped[float | None] = mapped_column(Double)
    answer_status: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JsonObject)
