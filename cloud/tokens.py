"""Store tokens: random, shown once, stored as a SHA-256 hash.

A token is 32 random bytes, so a plain (unsalted, fast) hash is enough: there is nothing to
guess from it, and lookup by hash keeps the comparison out of Python.
"""

import hashlib
import secrets

from cloud.const import STORE_TOKEN_BYTES


def new_token() -> str:
    return secrets.token_urlsafe(STORE_TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
