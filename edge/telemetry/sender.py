"""Drains the on-disk point buffer into InfluxDB through influxdb-client.

influxdb-client's own batching buffer lives in memory and gives up after its retries, so it is
used here only as a synchronous writer: a batch leaves the disk buffer after InfluxDB said 204.
"""

import logging
import random
import time

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import WriteOptions, WriteType
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from sqlalchemy.orm import Session, sessionmaker

from edge.core.worker import Worker
from edge.telemetry import buffer

log = logging.getLogger(__name__)

IDLE_S = 1.0
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 30.0
# Answers that will not change by retrying the same points. 401/403 (a token being fixed),
# 404 (a database being created) and 429 are worth waiting for.
PERMANENT_STATUSES = frozenset({400, 413, 422})


class InfluxSender(Worker):
    name = "influx-sender"
    join_timeout_s = 15.0

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
        super().__init__()
        self._sessions = sessions
        self._url = url
        self._bucket = bucket
        self._org = org
        self._batch_size = batch_size
        self._max_points = max_points
        self._client = (
            InfluxDBClient(url=url, token=token, org=org, timeout=10_000) if url else None
        )
        self.dropped = 0
        self.refused = 0
        self.sent = 0
        self.healthy = False

    def stop(self) -> None:
        super().stop()
        if self._client is not None:
            self._client.close()

    def _trim(self) -> None:
        with self._sessions.begin() as session:
            dropped = buffer.trim(session, self._max_points)
        if dropped:
            self.dropped += dropped
            log.warning("InfluxDB buffer full: dropped the %d oldest points", dropped)

    def _wait(self, seconds: float) -> None:
        """Sleep, but keep the buffer within its bound while waiting."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            self.sleep(min(left, IDLE_S))
            self._trim()

    def run(self) -> None:
        backoff = BACKOFF_MIN_S
        write_api = (
            self._client.write_api(
                write_options=WriteOptions(write_type=WriteType.synchronous, max_retries=0)
            )
            if self._client is not None
            else None
        )
        while not self.stopping:
            self._trim()
            if write_api is None:
                self._wait(IDLE_S)
                continue
            with self._sessions() as session:
                rows = buffer.oldest(session, self._batch_size)
            if not rows:
                self._wait(IDLE_S)
                continue
            try:
                write_api.write(
                    self._bucket,
                    self._org,
                    [line for _, line in rows],
                    WritePrecision.NS,  # type: ignore[arg-type]  # the enum's values are str
                )
            except ApiException as exc:
                if exc.status in PERMANENT_STATUSES:
                    # InfluxDB refuses these points for good (a field type conflict, a bad
                    # line): retrying would block every point behind them.
                    log.error(
                        "InfluxDB refused %d points (%s); dropping them", len(rows), exc.status
                    )
                    self.refused += len(rows)
                    self._remove_through(rows[-1][0])
                    continue
                backoff = self._failed(exc, backoff)
                continue
            except Exception as exc:
                backoff = self._failed(exc, backoff)
                continue
            self._remove_through(rows[-1][0])
            self.sent += len(rows)
            if not self.healthy:
                log.info("InfluxDB at %s reachable; sending buffered points", self._url)
            self.healthy = True
            backoff = BACKOFF_MIN_S
            if len(rows) < self._batch_size:
                self._wait(IDLE_S)

    def _remove_through(self, last_id: int) -> None:
        with self._sessions.begin() as session:
            buffer.remove_through(session, last_id)

    def _failed(self, exc: Exception, backoff: float) -> float:
        if self.healthy or backoff == BACKOFF_MIN_S:
            log.warning("InfluxDB at %s unreachable (%s); points wait on disk", self._url, exc)
        self.healthy = False
        # Jitter: a chain's hubs coming back at once do not retry in step.
        self._wait(backoff * random.uniform(0.5, 1.0))
        return min(backoff * 2, BACKOFF_MAX_S)
