"""Drains the on-disk point buffer into InfluxDB through influxdb-client.

influxdb-client's own batching buffer lives in memory and gives up after its retries, so it is
used here only as a synchronous writer: a batch leaves the disk buffer after InfluxDB said 204.
"""

import logging
import random
import threading

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import WriteOptions, WriteType
from influxdb_client.domain.write_precision import WritePrecision
from sqlalchemy.orm import Session, sessionmaker

from edge.telemetry import buffer

log = logging.getLogger(__name__)

IDLE_S = 1.0
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 30.0


class InfluxSender:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        url: str,
        token: str,
        org: str,
        bucket: str,
        batch_size: int,
        max_points: int,
    ) -> None:
        self._sessions = sessions
        self._url = url
        self._bucket = bucket
        self._org = org
        self._batch_size = batch_size
        self._max_points = max_points
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="influx-sender", daemon=True)
        self._client = (
            InfluxDBClient(url=url, token=token, org=org, timeout=10_000) if url else None
        )
        self.dropped = 0
        self.sent = 0
        self.healthy = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        write_api = (
            self._client.write_api(
                write_options=WriteOptions(write_type=WriteType.synchronous, max_retries=0)
            )
            if self._client is not None
            else None
        )
        while not self._stop.is_set():
            with self._sessions.begin() as session:
                dropped = buffer.trim(session, self._max_points)
                rows = buffer.oldest(session, self._batch_size) if write_api else []
            if dropped:
                self.dropped += dropped
                log.warning("InfluxDB buffer full: dropped the %d oldest points", dropped)
            if not rows or write_api is None:
                self._stop.wait(IDLE_S)
                continue
            try:
                write_api.write(
                    self._bucket,
                    self._org,
                    [line for _, line in rows],
                    WritePrecision.NS,  # type: ignore[arg-type]  # the enum's values are str
                )
            except Exception as exc:
                if self.healthy or backoff == BACKOFF_MIN_S:
                    log.warning(
                        "InfluxDB at %s unreachable (%s); points wait on disk", self._url, exc
                    )
                self.healthy = False
                # Jitter: a store's worth of hubs coming back at once do not retry in step.
                self._stop.wait(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            with self._sessions.begin() as session:
                buffer.remove_through(session, rows[-1][0])
            self.sent += len(rows)
            if not self.healthy:
                log.info("InfluxDB at %s reachable; sending buffered points", self._url)
            self.healthy = True
            backoff = BACKOFF_MIN_S
            if len(rows) < self._batch_size:
                self._stop.wait(IDLE_S)
