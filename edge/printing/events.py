"""Printing news on the hub's bus."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PrintJobsChanged:
    """Tickets of these orders were queued, printed or failed: their pages should show it."""

    order_ids: list[int]
