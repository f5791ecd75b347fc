# mypy: disallow-untyped-calls=False
# (influxdb-client's Point and client have no type hints: see cloud/sales_influx.py.)
"""Each store's hub as HQ sees it, into InfluxDB for Grafana: measurement `hub_status`; and
every LIABILITY_EVERY_S what HQ owes its members (`member_liability`, liability_points) and
each store's campaign budgets for the day (`campaign_budget`, cloud/games_influx.py).

Only HQ knows whether a hub is reaching it, how far its clock is off and how old its outbox
backlog is (ingest keeps all three on the store's row: cloud/api/ingest.py). Every
HUB_STATUS_EVERY_S a thread writes one point per registered store (revoked ones left out)
whose hub has reached HQ at least once:

    hub_status,store=S1 since_seen_s=12.3,online=1i,clock_offset_s=0.4,backlog_age_s=0

A hub that stops calling keeps getting points with a growing `since_seen_s`, which is what
the fleet dashboard and the hub-offline alert read (a silent hub writes nothing itself). A
store never heard from gets none: its hub is not installed yet. Points are written with
HQ's clock; a failed write is simply the next round's (these are samples, not facts).
"""

import logging
import threading
import time

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import WriteApi, WriteOptions, WriteType
from influxdb_client.domain.write_precision import WritePrecision
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.api.liability import compute as compute_liability
from cloud.config import Settings
from cloud.const import (
    CHAIN_STORE_TAG,
    HQ_ISSUER_TAG,
    HUB_STATUS_EVERY_S,
    LIABILITY_EVERY_S,
    M_HUB_STATUS,
    M_LIABILITY,
    STORE_ONLINE_WITHIN_S,
)
from cloud.db import make_engine, make_sessions
from cloud.games_influx import budget_points
from cloud.models import Store

log = logging.getLogger(__name__)


def status_points(session: Session, now: float) -> list[str]:
    """One `hub_status` line per store whose hub has reached HQ, as of `now` (HQ's clock)."""
    lines: list[str] = []
    stores = select(Store).where(Store.revoked_at.is_(None), Store.last_seen_at.is_not(None))
    for store in session.scalars(stores.order_by(Store.id)):
        assert store.last_seen_at is not None
        since = max(0.0, now - store.last_seen_at)
        point = (
            Point(M_HUB_STATUS)
            .tag("store", store.id)
            .field("since_seen_s", round(since, 1))
            .field("online", int(since <= STORE_ONLINE_WITHIN_S))
            .time(round(now * 1_000_000) * 1000, WritePrecision.NS)
        )
        if store.region is not None:
            # The store's region as of now: the dashboards' Region variable reads it here.
            point = point.tag("region", store.region)
        # Floats always (InfluxDB keeps a field's first type): 0.0, never 0.
        if store.clock_offset_s is not None:
            point = point.field("clock_offset_s", float(store.clock_offset_s))
        if store.backlog_age_s is not None:
            point = point.field("backlog_age_s", float(store.backlog_age_s))
        lines.append(str(point.to_line_protocol()))
    return lines


def liability_points(session: Session, now: float) -> list[str]:
    """What HQ owes its members now (cloud/api/liability.py), as `member_liability` lines: the
    chain's points outstanding (store "*": points are one balance across the chain), and per
    store of issue its coupons outstanding and the points made there (HQ's own: "(hq)")."""
    owed = compute_liability(session, now)
    ns = round(now * 1_000_000) * 1000
    lines = [
        str(
            Point(M_LIABILITY)
            .tag("store", CHAIN_STORE_TAG)
            .field("members_with_points", owed.members_with_points)
            .field("points_outstanding", owed.points_outstanding)
            .field("points_value_fen", owed.points_value_fen)
            .field("coupons_outstanding", owed.coupons_outstanding)
            .field("coupons_value_fen", owed.coupons_value_fen)
            .time(ns, WritePrecision.NS)
            .to_line_protocol()
        )
    ]
    for row in owed.stores:
        lines.append(
            str(
                Point(M_LIABILITY)
                .tag("store", row.store or HQ_ISSUER_TAG)
                .field("points_net", row.points_net)
                .field("coupons_outstanding", row.coupons_outstanding)
                .field("coupons_value_fen", row.coupons_value_fen)
                .time(ns, WritePrecision.NS)
                .to_line_protocol()
            )
        )
    return lines


class FleetExporter:
    """Settings as for the sales exporter: url (empty: nothing), token, org, bucket."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        every_s: float = HUB_STATUS_EVERY_S,
        liability_every_s: float = LIABILITY_EVERY_S,
    ) -> None:
        self._sessions = sessions
        self._url = url
        self._org = org
        self._bucket = bucket
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-exporter", daemon=True)
        self._client = InfluxDBClient(url=url, token=token, org=org, timeout=10_000)
        self._liability_every_s = liability_every_s
        self._liability_at = 0.0
        self.rounds = 0  # rounds written
        self.healthy = False

    def start(self) -> "FleetExporter":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._client.close()

    def _run(self) -> None:
        write_api = self._client.write_api(
            write_options=WriteOptions(write_type=WriteType.synchronous, max_retries=0)
        )
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._round(write_api)
            except Exception as exc:
                if self.healthy:
                    log.warning("hub status export to %s failing (%s)", self._url, exc)
                self.healthy = False
            else:
                self.healthy = True
                self.rounds += 1
            self._stop.wait(max(0.0, self._every_s - (time.monotonic() - started)))

    def _round(self, write_api: WriteApi) -> None:
        now = time.time()
        with self._sessions() as session:
            lines = status_points(session, now)
            # The liability sums every member's ledger: every few minutes, not every round.
            if now - self._liability_at >= self._liability_every_s:
                lines += liability_points(session, now)
                lines += budget_points(session, now)
                self._liability_at = now
        if lines:
            write_api.write(
                self._bucket,
                self._org,
                lines,
                WritePrecision.NS,  # type: ignore[arg-type]  # the enum's values are str
            )


def fleet_exporter_for(settings: Settings) -> FleetExporter | None:
    """The one fleet exporter a cloud deployment runs (beside the sales exporter), or None when
    no InfluxDB is configured."""
    if not settings.influx_url:
        return None
    return FleetExporter(
        make_sessions(make_engine(settings.database_url)),
        settings.influx_url,
        settings.influx_token.get_secret_value(),
        settings.influx_org,
        settings.influx_bucket,
    )
