"""Drains the outbox into the cloud's idempotent ingest.

A batch leaves the outbox only for the ids the cloud answered (stored now, or already there),
so a timeout whose batch did land, a hub killed mid-batch, or a partly known batch all end with
each event in the cloud once. A refused token keeps everything and says so.
"""

import logging
import random
import time

import httpx
from sqlalchemy.orm import Session, sessionmaker

from contract.uplink import clock_ok
from edge.core.worker import Worker
from edge.uplink import service

log = logging.getLogger(__name__)

IDLE_S = 1.0
# With nothing to send, an empty batch this often tells HQ the store is up.
HEARTBEAT_S = 60.0
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0
INGEST_PATH = "/api/v1/ingest"


def cloud_client(url: str, token: str) -> httpx.Client:
    """How the hub talks to HQ: its store token, and timeouts that never hang a sender."""
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(15.0, connect=5.0),
    )


class CloudSender(Worker):
    name = "cloud-sender"
    join_timeout_s = 15.0

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: str,
        url: str,
        token: str,
        batch_size: int,
    ) -> None:
        super().__init__()
        self._sessions = sessions
        self._store = store
        self._url = url.rstrip("/")
        self._token = token
        self._batch_size = batch_size
        self.sent = 0
        self.healthy = False
        self.last_error = ""
        # This hub's clock minus HQ's, from the last answer (None before one): a hub without
        # a real-time clock can come back from a power cut with the wrong time.
        self.clock_offset_s: float | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._url)  # a hub without HQ keeps its outbox

    def run(self) -> None:
        backoff = BACKOFF_MIN_S
        last_contact = 0.0
        with cloud_client(self._url, self._token) as client:
            while not self.stopping:
                with self._sessions() as session:
                    rows = service.oldest(session, self._batch_size)
                    batch = [service.as_sent(r) for r in rows]
                if not batch and time.monotonic() - last_contact < HEARTBEAT_S:
                    self.wait(IDLE_S)  # a nudge (new events) sends at once
                    continue
                error = self._send(client, batch)
                if error is None:
                    last_contact = time.monotonic()
                    backoff = BACKOFF_MIN_S
                    continue
                if self.healthy or self.last_error != error:
                    log.warning("cloud uplink: %s; the outbox keeps every event until then", error)
                self.healthy = False
                self.last_error = error
                # Jitter: a chain's hubs coming back at once do not retry in step.
                self.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _send(self, client: httpx.Client, batch: list[dict[str, object]]) -> str | None:
        """Send one batch; return why it failed, or None when the cloud confirmed it."""
        sent_at = time.time()
        try:
            r = client.post(
                INGEST_PATH, json={"store": self._store, "events": batch, "sent_at": sent_at}
            )
        except httpx.HTTPError as exc:
            return f"cloud unreachable ({type(exc).__name__})"
        if r.status_code in (401, 403):
            return (
                f"the cloud refuses this store's token ({r.status_code});"
                " check SMARTSTORE_CLOUD_TOKEN"
            )
        if r.status_code != 200:
            # 4xx other than auth is a bug in one of us: keep the events and say so loudly.
            return f"the cloud answered {r.status_code}: {r.text[:200]}"
        answer = r.json()
        if isinstance(hq_time := answer.get("received_at"), int | float):
            # HQ's clock read about half-way through the round trip.
            offset = round((sent_at + time.time()) / 2 - hq_time, 1)
            if clock_ok(self.clock_offset_s) and not clock_ok(offset):
                log.warning(
                    "this hub's clock is %+.0f s off HQ's: orders get the wrong time;"
                    " check the hub's time (NTP, or set it by hand)",
                    offset,
                )
            self.clock_offset_s = offset
        confirmed = [*answer.get("stored", []), *answer.get("duplicates", [])]
        with self._sessions.begin() as session:
            service.confirm(session, confirmed)
        self.sent += len(answer.get("stored", []))
        if not self.healthy:
            log.info("cloud uplink: connected; draining the outbox")
        self.healthy = True
        self.last_error = ""
        return None
