# mypy: disallow-untyped-calls=False
# (influxdb-client's Point and client have no type hints: see the same override of
# edge.telemetry in pyproject.toml.)
"""Sales into InfluxDB for Grafana: measurements `sales`, `orders`, `payments` and `feedback`
(docs/influxdb-schema.md, "Written by HQ"; docs/hq-reports.md), the members', the line at
the door's (`waitlist`, from `waitlist.party`: docs/waitlist.md) and the campaigns' (`games`:
cloud/games_influx.py) from the same events.

A thread reads `order.placed`, `order.line_voided`, `payment.recorded` and `feedback.given`
from ingested_events
in id order after a watermark and writes one point per line and void (`sales`), per order
(`orders`: the chain dashboard's orders and average order) and per bill paid (`payments`: the
daily visits and average bill) and per party's rating after the bill (`feedback`) with
influxdb-client's synchronous API.

The watermark lives in memory only: HQ's schema has no generic place for it, and a table would
need a migration. On every start the exporter goes back `lookback_s` (by HQ's receive time) and
writes those events again. That is harmless because a point is fully determined by its event:
the same measurement, tags and timestamp overwrite the point already there instead of adding to
it. An exporter stopped for longer than the lookback leaves a gap; restart it with a longer one.
"""

import logging
import random
import threading
import time
import zlib
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import WriteApi, WriteOptions, WriteType
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.config import Settings
from cloud.const import (
    M_COUPONS,
    M_FEEDBACK,
    M_MEMBER_ACTIVITY,
    M_ORDERS,
    M_PAYMENTS,
    M_POINTS,
    M_SALES,
    M_WAITLIST,
)
from cloud.db import make_engine, make_sessions
from cloud.games_influx import game_points, plays_decided, released_plays
from cloud.models import IngestedEvent
from cloud.sales_facts import MAX_EPOCH_S, PlacedOrder, VoidedLine, parse, placed_orders
from contract.uplink import (
    COUPON_ISSUED,
    COUPON_REDEEMED,
    FEEDBACK_GIVEN,
    GAME_PLAYED,
    GAME_RELEASED,
    MEMBER_JOINED,
    MEMBER_POINTS,
    ORDER_LINE_VOIDED,
    ORDER_PLACED,
    PAYMENT_RECORDED,
    WAITLIST_PARTY,
    CouponIssued,
    CouponRedeemed,
    FeedbackGiven,
    GamePlayed,
    MemberJoined,
    PaymentRecorded,
    PointsEntry,
    WaitlistParty,
)

log = logging.getLogger(__name__)

EXPORTED = (
    ORDER_PLACED,
    ORDER_LINE_VOIDED,
    PAYMENT_RECORDED,
    FEEDBACK_GIVEN,
    MEMBER_JOINED,
    MEMBER_POINTS,
    COUPON_ISSUED,
    COUPON_REDEEMED,
    WAITLIST_PARTY,
    GAME_PLAYED,
    GAME_RELEASED,
)
LOOKBACK_S = 7 * 86400
# PostgreSQL hands out ids when rows are inserted, not when they commit: a batch still being
# committed can hold lower ids than rows already visible. Rows are exported only once they were
# received this long ago, by when every lower id has committed or never will.
SETTLE_S = 30.0
BATCH_SIZE = 2000
IDLE_S = 1.0
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0
# Answers that retrying the same points cannot change (see edge/telemetry/sender.py).
PERMANENT_STATUSES = frozenset({400, 413, 422})
UNKNOWN = "-"  # a tag with no value, as in docs/influxdb-schema.md: never an empty group


@dataclass(frozen=True)
class SalesEvent:
    id: int
    store: str
    event_id: str
    type: str
    occurred_at: float
    received_at: float
    data: Any


def _ns(epoch_s: float) -> int:
    return round(epoch_s * 1_000_000) * 1000


def _void_slot(event_id: str) -> int:
    """Below the microsecond, so that two voids (orders, payments) at the same instant keep two
    points: the line id from `ov-<order>-<line id>`, or a stable hash of the event id."""
    tail = event_id.rsplit("-", 1)[-1]
    return int(tail) % 1000 if tail.isdigit() else zlib.crc32(event_id.encode()) % 1000


def _point(
    store: str, dish: str, station: str, source: str, qty: int, revenue: int, ns: int
) -> str:
    return str(
        Point(M_SALES)
        .tag("store", store)
        .tag("dish", dish)
        .tag("station", station or UNKNOWN)
        .tag("source", source or UNKNOWN)
        .field("qty", qty)
        .field("revenue_fen", revenue)
        .time(ns, WritePrecision.NS)
        .to_line_protocol()
    )


def _member_point(e: "SalesEvent", kind: str, member: str) -> str:
    # The member id is a field, not a tag: COUNT(DISTINCT("member")) counts active members
    # without a series per member.
    return str(
        Point(M_MEMBER_ACTIVITY)
        .tag("store", e.store)
        .tag("kind", kind)
        .field("count", 1)
        .field("member", member)
        .time(_ns(e.occurred_at) + _void_slot(e.event_id), WritePrecision.NS)
        .to_line_protocol()
    )


def _waitlist_point(e: "SalesEvent", party: WaitlistParty) -> str:
    """One step of a party in the line at the door. The group and the step are tags (a few
    values each); the wait and the estimate's error are fields of the steps that end a wait
    (seated, left, no_show), so that percentiles over `what = 'seated'` are the seated wait."""
    point = (
        Point(M_WAITLIST)
        .tag("store", e.store)
        .tag("group", party.group)
        .tag("what", party.what)
        .tag("source", party.source or UNKNOWN)
        .field("count", 1)
        .field("size", party.size)
    )
    if party.waited_s is not None:
        point = point.field("waited_s", float(party.waited_s))
    if party.error_s is not None:
        point = point.field("abs_error_s", abs(float(party.error_s)))
    if party.what == "seated" and party.waited_s is not None and party.est_high_s is not None:
        point = point.field("over_upper", int(party.waited_s > party.est_high_s))
    ns = _ns(e.occurred_at) + _void_slot(e.event_id)
    return str(point.time(ns, WritePrecision.NS).to_line_protocol())


def sales_points(
    events: list[SalesEvent],
    orders: dict[tuple[str, str], tuple[float, PlacedOrder | None]],
    played: dict[tuple[str, str], GamePlayed] | None = None,
) -> list[str]:
    """Line protocol for the events; `orders` gives a void its order's station and source,
    `played` a staff decision its play (cloud/games_influx.py).

    A placed line's time is the order's (occurred_at is its created_at) plus the line's index in
    nanoseconds, so that lines never overwrite each other and a re-export rewrites the same point.
    """
    lines: list[str] = []
    for e in events:
        if e.type == ORDER_PLACED:
            order = parse(PlacedOrder, e.data)
            if order is None:
                continue
            base = _ns(e.occurred_at)
            total = sum(x.qty * x.unit_price_fen for x in order.lines)
            lines.append(
                str(
                    Point(M_ORDERS)
                    .tag("store", e.store)
                    .tag("source", order.source or UNKNOWN)
                    .field("count", 1)
                    .field("total_fen", total)
                    .time(base + _void_slot(e.event_id), WritePrecision.NS)
                    .to_line_protocol()
                )
            )
            for i, x in enumerate(order.lines):
                revenue = x.qty * x.unit_price_fen
                lines.append(
                    _point(e.store, x.dish, x.station, order.source, x.qty, revenue, base + i)
                )
        elif e.type == PAYMENT_RECORDED:
            payment = parse(PaymentRecorded, e.data)
            if payment is None:
                continue
            lines.append(
                str(
                    Point(M_PAYMENTS)
                    .tag("store", e.store)
                    .tag("method", payment.method or UNKNOWN)
                    .field("count", 1)
                    .field("amount_fen", payment.amount_fen)
                    .time(_ns(e.occurred_at) + _void_slot(e.event_id), WritePrecision.NS)
                    .to_line_protocol()
                )
            )
            if payment.member is not None:
                lines.append(_member_point(e, "visit", payment.member))
        elif e.type == MEMBER_JOINED:
            joined = parse(MemberJoined, e.data)
            if joined is not None:
                lines.append(_member_point(e, "joined", joined.member))
        elif e.type == MEMBER_POINTS:
            entry = parse(PointsEntry, e.data)
            if entry is not None:
                lines.append(
                    str(
                        Point(M_POINTS)
                        .tag("store", e.store)
                        .tag("cause", entry.cause.value)
                        .field("issued", max(entry.points, 0))
                        .field("redeemed", max(-entry.points, 0))
                        .time(_ns(e.occurred_at) + _void_slot(e.event_id), WritePrecision.NS)
                        .to_line_protocol()
                    )
                )
        elif e.type in (COUPON_ISSUED, COUPON_REDEEMED):
            issued = e.type == COUPON_ISSUED
            coupon = parse(CouponIssued if issued else CouponRedeemed, e.data)
            if coupon is not None:
                off = coupon.off_fen if isinstance(coupon, CouponRedeemed) else 0
                lines.append(
                    str(
                        Point(M_COUPONS)
                        .tag("store", e.store)
                        .tag("kind", "issued" if issued else "redeemed")
                        .field("count", 1)
                        .field("off_fen", off)
                        .time(_ns(e.occurred_at) + _void_slot(e.event_id), WritePrecision.NS)
                        .to_line_protocol()
                    )
                )
        elif e.type in (GAME_PLAYED, GAME_RELEASED):
            ns = _ns(e.occurred_at) + _void_slot(e.event_id)
            lines.extend(game_points(e.store, e.type, e.data, ns, played or {}))
        elif e.type == FEEDBACK_GIVEN:
            given = parse(FeedbackGiven, e.data)
            if given is None:
                continue
            # The ratings per store and day beside the calls' response times (dashboards/).
            lines.append(
                str(
                    Point(M_FEEDBACK)
                    .tag("store", e.store)
                    .field("count", 1)
                    .field("food", given.food)
                    .field("service", given.service)
                    .field("commented", int(bool(given.comment)))
                    .time(_ns(e.occurred_at) + _void_slot(e.event_id), WritePrecision.NS)
                    .to_line_protocol()
                )
            )
        elif e.type == WAITLIST_PARTY:
            party = parse(WaitlistParty, e.data)
            if party is not None:
                lines.append(_waitlist_point(e, party))
        elif (void := parse(VoidedLine, e.data)) is not None:
            key = (e.store, void.order)
            placed = orders[key][1] if key in orders else None
            if key in orders and placed is None:
                continue  # its order made no points, being unreadable: as in the reports
            # The void's own data has neither: they come from its order, when HQ has it.
            station, source = UNKNOWN, UNKNOWN
            if placed is not None:
                source = placed.source
                station = next((x.station for x in placed.lines if x.dish == void.dish), UNKNOWN)
            ns = _ns(e.occurred_at) + _void_slot(e.event_id)
            revenue = -void.qty * void.unit_price_fen
            lines.append(_point(e.store, void.dish, station, source, -void.qty, revenue, ns))
    return lines


class SalesExporter:
    """Settings: url (empty: export nothing), token, org, and bucket (for InfluxDB 1.x
    `database/retention_policy`), as for the hub's sender."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        lookback_s: float = LOOKBACK_S,
        settle_s: float = SETTLE_S,
        batch_size: int = BATCH_SIZE,
        idle_s: float = IDLE_S,
        backoff_min_s: float = BACKOFF_MIN_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self._sessions = sessions
        self._url = url
        self._bucket = bucket
        self._org = org
        self._lookback_s = lookback_s
        self._settle_s = settle_s
        self._batch_size = batch_size
        self._idle_s = idle_s
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sales-exporter", daemon=True)
        self._client = (
            InfluxDBClient(url=url, token=token, org=org, timeout=10_000) if url else None
        )
        # The id of the last event exported (or given up on); None until the start position
        # is known.
        self.watermark: int | None = None
        self.sent = 0
        self.refused = 0
        self.healthy = False

    def start(self) -> "SalesExporter":
        if self._client is not None:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        assert self._client is not None
        write_api = self._client.write_api(
            write_options=WriteOptions(write_type=WriteType.synchronous, max_retries=0)
        )
        backoff = self._backoff_min_s
        while not self._stop.is_set():
            try:
                if self.watermark is None:
                    self.watermark = self._start_position()
                more = self._export_batch(write_api)
            except Exception as exc:
                # InfluxDB or the database away: the watermark has not moved, so the same
                # events are read again after the wait.
                if self.healthy or backoff == self._backoff_min_s:
                    log.warning("sales export to %s failing (%s); retrying", self._url, exc)
                self.healthy = False
                self._stop.wait(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self._backoff_max_s)
                continue
            if not self.healthy:
                log.info("sales export to %s running from event id %s", self._url, self.watermark)
            self.healthy = True
            backoff = self._backoff_min_s
            if not more:
                self._stop.wait(self._idle_s)

    def _start_position(self) -> int:
        cutoff = time.time() - self._lookback_s
        with self._sessions() as session:
            # Rows received before the cutoff all committed long ago: everything after the
            # highest of their ids is either exported again or new.
            last = session.scalar(
                select(func.max(IngestedEvent.id)).where(IngestedEvent.received_at < cutoff)
            )
        return int(last or 0)

    def _export_batch(self, write_api: WriteApi) -> bool:
        """Export the next batch; True when a full batch was ready (more may be waiting)."""
        assert self.watermark is not None
        horizon = time.time() - self._settle_s
        with self._sessions() as session:
            rows = session.execute(
                select(
                    IngestedEvent.id,
                    IngestedEvent.store_id,
                    IngestedEvent.event_id,
                    IngestedEvent.type,
                    IngestedEvent.occurred_at,
                    IngestedEvent.received_at,
                    IngestedEvent.data,
                )
                .where(
                    IngestedEvent.id > self.watermark,
                    IngestedEvent.type.in_(EXPORTED),
                )
                .order_by(IngestedEvent.id)
                .limit(self._batch_size)
            ).all()
            # A prefix only: skipping an unsettled row would pass its id for good.
            events = [
                SalesEvent(*row) for row in takewhile(lambda r: r.received_at < horizon, rows)
            ]
            if not events:
                return False
            voided = {
                (e.store, str(e.data.get("order")))
                for e in events
                if e.type == ORDER_LINE_VOIDED and isinstance(e.data, dict)
            }
            orders = placed_orders(session, voided)
            played = plays_decided(
                session, released_plays((e.store, e.type, e.data) for e in events)
            )
        exportable = [e for e in events if 0 <= e.occurred_at < MAX_EPOCH_S]
        self._write(write_api, sales_points(exportable, orders, played))
        self.watermark = events[-1].id
        return len(events) == self._batch_size

    def _write(self, write_api: WriteApi, lines: list[str]) -> None:
        if not lines:
            return
        try:
            write_api.write(
                self._bucket,
                self._org,
                lines,
                WritePrecision.NS,  # type: ignore[arg-type]  # the enum's values are str
            )
        except ApiException as exc:
            if exc.status not in PERMANENT_STATUSES:
                raise
            if len(lines) == 1:
                log.error("InfluxDB refused a sales point (%s): %s", exc.status, lines[0])
                self.refused += 1
                return
            # Halves until the refused points are found: one bad point must not take the
            # rest of its batch with it.
            half = len(lines) // 2
            self._write(write_api, lines[:half])
            self._write(write_api, lines[half:])
            return
        self.sent += len(lines)


def exporter_for(settings: Settings) -> SalesExporter | None:
    """The one exporter a cloud deployment runs (not one per uvicorn worker), or None when no
    InfluxDB is configured."""
    if not settings.influx_url:
        return None
    sessions = make_sessions(make_engine(settings.database_url))
    return SalesExporter(
        sessions,
        settings.influx_url,
        settings.influx_token.get_secret_value(),
        settings.influx_org,
        settings.influx_bucket,
        lookback_s=settings.sales_lookback_s,
    )
