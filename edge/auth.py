"""Staff login: a PIN per staff member, a signed session cookie, and a limit on guessing."""

import base64
import hmac
import threading
import time
from collections import defaultdict, deque
from collections.abc import Collection
from enum import StrEnum
from hashlib import sha256

COOKIE = "ss_staff"


class Role(StrEnum):
    """What a staff member may do at this store: a waiter runs the floor (calls, orders,
    payments, tables, the line, sold-out marks); a manager also what changes money or the store
    after the fact (docs/hub.md "Staff roles")."""

    WAITER = "waiter"
    MANAGER = "manager"


def role_of(managers: Collection[str], staff: str) -> Role:
    return Role.MANAGER if staff in managers else Role.WAITER


class SessionSigner:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), sha256).hexdigest()

    def issue(self, staff: str, ttl_s: float, now: float | None = None) -> str:
        expires = int((now or time.time()) + ttl_s)
        name = base64.urlsafe_b64encode(staff.encode()).decode().rstrip("=")
        body = f"{name}.{expires}"
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str, now: float | None = None) -> str | None:
        """The staff name in a valid, unexpired token; otherwise None."""
        if not token.isascii():  # compare_digest refuses other text: a forged cookie is no one
            return None
        try:
            name, expires, mac = token.split(".")
            if not hmac.compare_digest(mac, self._mac(f"{name}.{expires}")):
                return None
            if int(expires) < (now or time.time()):
                return None
            return base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        except ValueError:
            return None


def check_pin(staff: dict[str, str], name: str, pin: str) -> bool:
    expected = staff.get(name)
    # Compare against something even for unknown names, so timing does not reveal who exists.
    return hmac.compare_digest((expected or "\0" * 8).encode(), pin.encode()) and bool(expected)


class RateLimiter:
    """At most `per_minute` events (failed logins, orders) per client in any 60 s."""

    WINDOW_S = 60.0

    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.RLock()  # take() checks and counts under one hold

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds until `client` may try again; 0 when it may try now."""
        now = now or time.monotonic()
        with self._lock:
            fails = self._fails[client]
            while fails and fails[0] <= now - self.WINDOW_S:
                fails.popleft()
            if len(fails) < self._limit:
                return 0.0
            return fails[0] + self.WINDOW_S - now

    def failed(self, client: str, now: float | None = None) -> None:
        with self._lock:
            self._fails[client].append(now or time.monotonic())

    def take(self, client: str) -> bool:
        """Count one event for `client` if it is within its limit; False (nothing counted)
        when it is not."""
        now = time.monotonic()
        with self._lock:
            if self.retry_after(client, now) > 0:
                return False
            self._fails[client].append(now)
            return True

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._fails.pop(client, None)
