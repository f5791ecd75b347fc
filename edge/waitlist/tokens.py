"""Signed number tokens: what a slip's QR code and the phone page's address carry.

`<party uid>.<signature>`: an HMAC-SHA256 of store and party under a key derived from the
hub's secret for this one purpose (a number token can never pass for a table's QR code or a
staff session). It names one party; a forged or altered one is refused.
"""

import base64
import hashlib
import hmac
import re

_PURPOSE = b"smartstore waitlist-number v1"
_SIG_BYTES = 12
_TOKEN = re.compile(r"^([0-9a-f]{32})\.([A-Za-z0-9_-]{16})$")


class NumberSigner:
    def __init__(self, secret: str, store: str) -> None:
        self._key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
        self._store = store

    def _sig(self, uid: str) -> str:
        mac = hmac.new(self._key, f"{self._store}\x00{uid}".encode(), "sha256")
        return base64.urlsafe_b64encode(mac.digest()[:_SIG_BYTES]).decode().rstrip("=")

    def sign(self, uid: str) -> str:
        return f"{uid}.{self._sig(uid)}"

    def verify(self, token: str) -> str | None:
        """The party uid the token names, if the hub signed it; else None."""
        m = _TOKEN.match(token)
        if m is None or not hmac.compare_digest(m.group(2), self._sig(m.group(1))):
            return None
        return m.group(1)
