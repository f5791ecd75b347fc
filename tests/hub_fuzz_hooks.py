"""A check of our own that Schemathesis runs beside its own (SCHEMATHESIS_HOOKS names this
module; tests/test_hub_fuzz.py): a request the hub refuses (4xx) changes nothing in its
database.

Before each request that may write (not GET), the rows of every table the HTTP API writes are
read (a second, read-only connection to the hub's SQLite file, beside the hub's own); after a
refusal they must be the same. Tables that the hub's own workers change without a request
(print jobs, the outbox to HQ, telemetry, device state and commands timing out) are left out:
they may move between any two requests.
"""

import hashlib
import os
import sqlite3
from typing import Any

import schemathesis

BACKGROUND = frozenset(
    {"influx_points", "outbox", "print_jobs", "devices", "alarms", "device_commands"}
)
# The hub's database (SMARTSTORE_FUZZ_DB, set by the test) and the rows before the last call.
_before: dict[str, str] = {}


def _fingerprint() -> dict[str, str]:
    """Each API-written table's rows, as one hash per table."""
    path = os.environ["SMARTSTORE_FUZZ_DB"]
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name not in BACKGROUND and not name.startswith(("sqlite_", "alembic"))
        ]
        prints: dict[str, str] = {}
        for table in sorted(tables):
            digest = hashlib.sha256()
            for row in db.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode())
            prints[table] = digest.hexdigest()
        return prints
    finally:
        db.close()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    _before.clear()
    if case.method.upper() != "GET":
        _before.update(_fingerprint())


@schemathesis.check
def refusal_changes_nothing(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx answer to a request that may write left the database as it was."""
    if case.method.upper() == "GET" or not 400 <= response.status_code < 500 or not _before:
        return None
    after = _fingerprint()
    changed = sorted(t for t in after if after[t] != _before.get(t))
    if changed:
        raise AssertionError(
            f"refused with {response.status_code}, yet changed: {', '.join(changed)}"
        )
    return True
