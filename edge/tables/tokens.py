"""Signed table tokens: what a table's QR code carries.

`<table id>.<qr version>.<signature>`; the signature is an HMAC-SHA256 of store, table and
version under a key derived from the hub's secret for this one purpose. Short enough for a
QR code a phone reads from across a table; nothing secret in it but the signature.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from contract.const import ID_PATTERN

_PURPOSE = b"smartstore table-qr v1"
_SIG_BYTES = 12  # 96 bits: forging one by guessing is out of reach, and the code stays small
_TOKEN = re.compile(r"^(" + ID_PATTERN[1:-1] + r")\.([0-9]{1,6})\.([A-Za-z0-9_-]{16})$")


@dataclass(frozen=True, slots=True)
class TableToken:
    table: str
    version: int


class TokenSigner:
    def __init__(self, secret: str, store: str) -> None:
        self._key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
        self._store = store

    def _sig(self, table: str, version: int) -> str:
        mac = hmac.new(self._key, f"{self._store}\x00{table}\x00{version}".encode(), "sha256")
        return base64.urlsafe_b64encode(mac.digest()[:_SIG_BYTES]).decode().rstrip("=")

    def sign(self, table: str, version: int) -> str:
        return f"{table}.{version}.{self._sig(table, version)}"

    def verify(self, token: str) -> TableToken | None:
        """The table and version the token names, if the hub signed it; else None. Whether
        that version is still the table's current one is the caller's check."""
        m = _TOKEN.match(token)
        if m is None:
            return None
        table, version = m.group(1), int(m.group(2))
        if not hmac.compare_digest(m.group(3), self._sig(table, version)):
            return None
        return TableToken(table, version)
