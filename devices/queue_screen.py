"""A queue screen in the waiting area: shows the order numbers ready for pick-up and the
waitlist's board (retained topics the hub keeps current) and whatever text staff send it."""

import logging
from typing import ClassVar

from contract import DeviceType, ReadyBoard, WireError, parse_payload, ready_topic
from contract.payloads import WaitlistBoard
from contract.topics import waitlist_topic
from devices.base import SimDevice

log = logging.getLogger(__name__)


class QueueScreen(SimDevice):
    device_type: ClassVar[DeviceType] = DeviceType.QUEUE_SCREEN

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.ready: list[int] = []
        self.waitlist: WaitlistBoard | None = None

    def extra_subscriptions(self) -> list[str]:
        return [ready_topic(self.store), waitlist_topic(self.store)]

    def handle_other(self, topic: str, payload: bytes) -> None:
        if topic == waitlist_topic(self.store):
            try:
                self.waitlist = parse_payload(payload, WaitlistBoard) if payload else None
            except WireError as err:
                log.warning("%s got a bad waitlist board: %s", self.id, err)
            return
        try:
            self.ready = list(parse_payload(payload, ReadyBoard).ready)
        except WireError as err:
            log.warning("%s got a bad ready board: %s", self.id, err)
