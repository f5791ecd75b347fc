"""Where the call-button presses a benchmark sent ended up, counted per press and per device
from three observations that do not depend on each other:

- the hub's database after it was killed: each press's row in `call_events` (by event id), and
  `calls.presses`, the count a call accumulates (one open call per button here, each new press
  adds one: a press counted twice shows there, though its row could be stored only once);
- the board client on the WebSocket: each event id it was sent, and the presses each call
  showed;
- the buttons: the ids they sent (an id is `{device}-{boot}-{seq}`), and the presses still
  unacknowledged when they stopped.

bench_calls and bench_fleet both tally with `tally_presses` and table with `press_rows`.
"""

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.common import Table, at_most, median, percentile, zero


def device_of(event_id: str) -> str:
    return event_id.rsplit("-", 2)[0]


def _over_under(expected: Counter[str], got: Counter[str]) -> tuple[int, int]:
    """Summed per device: how many more than expected, how many fewer."""
    devices = expected.keys() | got.keys()
    over = sum(max(0, got[d] - expected[d]) for d in devices)
    under = sum(max(0, expected[d] - got[d]) for d in devices)
    return over, under


def tally(
    sent: Mapping[str, float],
    stored_ids: Iterable[str],
    db_presses: Mapping[str, int],
    board_events: Iterable[tuple[str, float]],
    board_calls: Mapping[str, Mapping[str, Any]],
) -> dict[str, float]:
    """The figures, from: sent (event id -> wall clock it was published), the event ids in
    call_events, calls.presses summed per device, the board's (event id, wall clock received)
    in order, and the board's calls (id -> device, presses shown)."""
    per_device = Counter(device_of(e) for e in sent)
    stored = Counter(stored_ids)
    seen = Counter(eid for eid, _ in board_events)
    first_seen: dict[str, float] = {}
    for eid, t in board_events:
        first_seen.setdefault(eid, t)
    shown: Counter[str] = Counter()
    for call in board_calls.values():
        shown[str(call["device"])] += int(call["presses"])
    db_over, db_under = _over_under(per_device, Counter(dict(db_presses)))
    board_over, board_under = _over_under(per_device, shown)
    latencies = [(first_seen[e] - t) * 1000 for e, t in sent.items() if e in first_seen]
    return {
        "sent": len(sent),
        "stored": sum(1 for e in sent if e in stored),
        "lost": sum(1 for e in sent if e not in stored),
        "dup_db": db_over,
        "short_db": db_under,
        "dup_board": sum(n - 1 for n in seen.values()),
        "missing_board": sum(1 for e in sent if e not in seen),
        "miscounted_board": board_over + board_under,
        "unexpected": len((stored.keys() | seen.keys()) - sent.keys()),
        "p50": median(latencies),
        "p99": percentile(latencies, 99),
        "max": max(latencies) if latencies else float("nan"),
    }


def tally_presses(
    sent: Mapping[str, float], board: Mapping[str, Any], db_path: Path
) -> dict[str, float]:
    """`tally` with the hub's database read (the hub is dead by now) and the board's output."""
    with sqlite3.connect(db_path) as db:
        stored_ids = [r[0] for r in db.execute("SELECT event_id FROM call_events")]
        db_presses = {
            str(d): int(n)
            for d, n in db.execute("SELECT device_id, sum(presses) FROM calls GROUP BY device_id")
        }
    events = [(str(e), float(t)) for e, t in board["events"]]
    return tally(sent, stored_ids, db_presses, events, board["calls"])


def press_rows(table: Table, p99_ms: float) -> None:
    """The correctness rows both press benchmarks publish, then the latency rows."""
    table.add("lost (sent, no row in the hub's call_events)", "lost", zero())
    table.add(
        "duplicated (database: calls.presses above presses sent, per button)", "dup_db", zero()
    )
    table.add("short (database: calls.presses below presses sent, per button)", "short_db", zero())
    table.add("duplicated (board: an event id received twice)", "dup_board", zero())
    table.add("not shown on the board (event id never received)", "missing_board", zero())
    table.add(
        "miscounted on the board's calls (presses shown ≠ sent, per button)",
        "miscounted_board",
        zero(),
    )
    table.add("unexpected (ids stored or shown, never sent)", "unexpected", zero())
    table.add("unacknowledged by the hub when the buttons stopped", "unacked", zero())
    table.add("press → board p50 (ms)", "p50", fmt="{:.1f}")
    table.add("press → board p99 (ms)", "p99", at_most(p99_ms), fmt="{:.1f}")
    table.add("press → board max (ms)", "max", fmt="{:.1f}")
