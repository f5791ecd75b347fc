"""Order news on the hub's bus."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrderReady:
    """The kitchen finished an order: its number may be called."""

    order_id: int
