"""Popular here now (docs/members.md, "Recommendations"): the dishes this store sells most
in this hour of the day over the last two weeks, from the hub's own orders (offline too).

Every member tab and menu asks for it. The sum over two weeks is made again at most once a
REFRESH_S (and when the hour turns); between, only orders newer than the last one counted
are added (a range of the primary key): a page sees an order the moment it is placed, and a
busy hour costs a small query, not two weeks of lines. A line voided after it was counted
leaves the ranking at the next full sum (REFRESH_S at most): a ranking, not a bill. Chosen over
a per-hour summary table kept by the order path: nothing is added to the order transaction
(the 20 orders/s path), nothing to migrate or to keep right when a line is voided.
"""

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from edge.members import service

REFRESH_S = 60.0
DAYS = 14
LIMIT = 3


@dataclass
class _Sum:
    hour: tuple[int, int, int]  # (year, day of the year, hour): local
    at: float  # when the two weeks were summed
    last_order: int  # the newest order counted
    counts: dict[str, int] = field(default_factory=dict)


class PopularNow:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # one page sums or adds at a time; the rest wait for it
        self._sum: _Sum | None = None

    def dishes(self, session: Session, now: float) -> list[str]:
        local = time.localtime(now)
        hour = (local.tm_year, local.tm_yday, local.tm_hour)
        with self._lock:
            s = self._sum
            # Bounded by the newest order id read first: an order committed meanwhile is
            # counted next time, never twice (the reads are not one snapshot).
            last = service.last_order_id(session)
            windows = service.hour_windows(now, DAYS)
            if s is None or s.hour != hour or not 0 <= now - s.at < REFRESH_S:
                counts = service.dish_counts(session, windows, upto_order=last)
                s = self._sum = _Sum(hour, now, last, counts)
            elif last > s.last_order:
                for dish, n in service.dish_counts(session, windows, s.last_order, last).items():
                    s.counts[dish] = s.counts.get(dish, 0) + n
                s.last_order = last
            return service.ranked(s.counts, LIMIT)
