"""A self-order kiosk: orders over MQTT, answered by the hub on the kiosk's ack topic with the
order's number and total (or why not). The order id is made on the kiosk and resent until
the hub answers; a resend finds the same order."""

import random
from typing import ClassVar

from contract import DeviceType, KioskOrderEvent, KioskOrderLine, encode
from contract.menu import MenuFile
from devices.base import SimDevice


class Kiosk(SimDevice):
    device_type: ClassVar[DeviceType] = DeviceType.KIOSK

    def order(self, lines: list[KioskOrderLine], member: str | None = None) -> str:
        """Must run on the loop's thread. Returns the order's id."""
        event_id = self.next_event_id()
        event = KioskOrderEvent(id=event_id, type="order", lines=lines, member=member)
        self.send_event(encode(event), event_id)
        return event_id


def random_lines(menu: MenuFile, sold_out: frozenset[str] = frozenset()) -> list[KioskOrderLine]:
    """What a hungry simulated diner picks: one to three dishes, an option for each."""
    dishes = [d for d in menu.dishes if d.id not in sold_out]
    lines = []
    for dish in random.sample(dishes, k=min(len(dishes), random.randint(1, 3))):
        options = {o.id: random.choice(o.choices).id for o in dish.options if o.required}
        lines.append(KioskOrderLine(dish=dish.id, qty=random.randint(1, 2), options=options))
    return lines
