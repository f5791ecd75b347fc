"""Asking HQ about a member (GET /api/v1/members/lookup): the hub's replica follows HQ's answer
when there is one. A short timeout: a diner or a waiter is waiting, and without an answer the
hub goes on with what it knows (within the offline allowance)."""

import logging
import threading
import time

import httpx
from pydantic import ValidationError

from contract.members import MemberLookup

log = logging.getLogger(__name__)

LOOKUP_PATH = "/api/v1/members/lookup"
LOOKUP_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0


class HqAway(Exception):
    """HQ did not answer (no cloud configured, network down, an error): go on offline."""


class HqMembers:
    def __init__(self, url: str, token: str, cool_off_s: float) -> None:
        self._url = url.rstrip("/")
        self._token = token
        # After a failure, HQ is not asked again for this long (Settings.member_lookup_cool_off_s).
        self._cool_off_s = cool_off_s
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self.last_ok: float | None = None  # time.time() of HQ's last answer
        self.last_error = ""
        self._failed_at: float | None = None  # monotonic time of HQ's last failure

    @property
    def enabled(self) -> bool:
        return bool(self._url)

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    base_url=self._url,
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=httpx.Timeout(LOOKUP_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
                )
            return self._client

    def lookup(
        self,
        *,
        member: str | None = None,
        phone_hash: str | None = None,
        card_no: str | None = None,
    ) -> MemberLookup | None:
        """HQ's member (None: HQ knows none such); HqAway when HQ cannot be asked."""
        if not self.enabled:
            raise HqAway("no HQ configured")
        if self._failed_at is not None and time.monotonic() - self._failed_at < self._cool_off_s:
            raise HqAway("HQ did not answer just now")
        params = {
            k: v
            for k, v in (("member", member), ("phone_hash", phone_hash), ("card_no", card_no))
            if v is not None
        }
        try:
            r = self._http().get(LOOKUP_PATH, params=params)
            if r.status_code == httpx.codes.NOT_FOUND:
                self.last_ok, self.last_error, self._failed_at = time.time(), "", None
                return None
            r.raise_for_status()
            found = MemberLookup.model_validate(r.json())
        except (httpx.HTTPError, ValueError, ValidationError) as exc:
            # Never the query in the log: a phone hash is personal data too.
            self.last_error = type(exc).__name__
            self._failed_at = time.monotonic()
            log.warning("member lookup at HQ failed (%s): going on offline", self.last_error)
            raise HqAway(self.last_error) from None
        self.last_ok, self.last_error, self._failed_at = time.time(), "", None
        return found

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
