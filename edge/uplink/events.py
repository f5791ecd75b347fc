"""What the uplink listens for on the hub's bus."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FactsCommitted:
    """A transaction committed outbox rows: the cloud sender may go now."""
