"""The estimated wait: pure functions, so the hub, the fast tests and the bench compute the
same thing (docs/waitlist.md, "The estimate").

The model: a group's tables free up as their parties finish. A busy table's party has sat
for `elapsed` of a typical `turn` (the mean of the store's own recent turn times, seated to
paid), so it frees in about `turn - elapsed` (never less than a floor: a party past its turn
is about to leave, not gone). The party with k parties ahead takes the (k+1)-th table to
free up, every freed table serving the next party for another turn. Parties that will not
come (left the line, no-shows: today's share) are taken out of "ahead", and the time from a
call to sitting down is added. The middle is that time; the range is a band around it,
wider for a longer wait (the bench measures how often a party waited past its upper end).
"""

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean, median

# A party past its turn still takes a while to ask for the bill and leave.
OVERDUE_FLOOR = 0.12  # of a turn
MIN_SAMPLES = 5  # fewer of the store's own turn times than this: HQ's default turn time
TURN_SAMPLES = 40  # the most recent turn times the median is taken over
TURN_MIN_S, TURN_MAX_S = 5 * 60.0, 5 * 3600.0  # outside: a table paid at once, or forgotten
DEFAULT_SEAT_DELAY_S, MAX_SEAT_DELAY_S = 120.0, 1800.0  # called -> at the table
# Shares of parties that never come, assumed at the day's start (prior) and learned after.
DROP_PRIOR, DROP_PRIOR_WEIGHT = 0.10, 10
# The range: [mid * LOW - LOW_PAD, mid * HIGH + HIGH_PAD] (tuned with bench/bench_waitlist.py).
LOW, LOW_PAD_S = 0.75, 60.0
HIGH, HIGH_PAD_S = 1.15, 240.0


@dataclass(frozen=True, slots=True)
class Estimate:
    low_s: float
    mid_s: float
    high_s: float

    @property
    def minutes(self) -> tuple[int, int]:
        """The range as shown: whole minutes, the low end rounded down, the high one up."""
        return int(self.low_s // 60), max(1, math.ceil(self.high_s / 60))


def turn_time(samples: Sequence[float], default_s: float) -> float:
    """The store's typical turn time for a group: the mean of its recent ones (oldest first),
    or HQ's default until there are enough. The mean, not the median: how fast a group's
    tables free up over an evening is the mean (dining times have a long right tail)."""
    clean = [s for s in samples if TURN_MIN_S <= s <= TURN_MAX_S][-TURN_SAMPLES:]
    if len(clean) < MIN_SAMPLES:
        return default_s
    return float(mean(clean))


def seat_delay(samples: Sequence[float]) -> float:
    """From a call to the party at its table: today's median, or DEFAULT_SEAT_DELAY_S."""
    clean = [s for s in samples if 0 <= s <= MAX_SEAT_DELAY_S]
    return float(median(clean)) if len(clean) >= MIN_SAMPLES else DEFAULT_SEAT_DELAY_S


def drop_share(ended_seated: int, ended_gone: int) -> float:
    """Today's share of parties that left the line or did not come, shrunk to the prior."""
    total = ended_seated + ended_gone
    return (ended_gone + DROP_PRIOR * DROP_PRIOR_WEIGHT) / (total + DROP_PRIOR_WEIGHT)


def _nth_free(k: int, tables: int, busy_elapsed: Sequence[float], turn_s: float) -> float:
    """When the (k+1)-th table frees up (0 = the first)."""
    free_in = [max(turn_s - e, turn_s * OVERDUE_FLOOR) for e in busy_elapsed][:tables]
    free_in += [0.0] * (tables - len(free_in))
    heapq.heapify(free_in)
    at = 0.0
    for _ in range(k + 1):
        at = heapq.heappop(free_in)
        heapq.heappush(free_in, at + turn_s)
    return at


def wait(
    ahead: float,
    tables: int,
    busy_elapsed: Sequence[float],
    turn_s: float,
    drop: float = 0.0,
    delay_s: float = 0.0,
) -> Estimate:
    """The wait of a party with `ahead` parties before it (bookings due included), plus the
    time from being called to sitting down (`delay_s`)."""
    tables = max(1, tables)
    k = max(0.0, ahead * (1.0 - drop))
    lo_k = int(k)
    frac = k - lo_k
    mid = _nth_free(lo_k, tables, busy_elapsed, turn_s)
    if frac > 0:
        mid += frac * (_nth_free(lo_k + 1, tables, busy_elapsed, turn_s) - mid)
    mid += delay_s
    return Estimate(max(0.0, mid * LOW - LOW_PAD_S), mid, mid * HIGH + HIGH_PAD_S)


def naive(ahead: int, tables: int, average_turn_s: float) -> float:
    """What the issue compares against: parties ahead * average dining time / tables."""
    return ahead * average_turn_s / max(1, tables)
