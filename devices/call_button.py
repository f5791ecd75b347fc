"""A call button (ESP32 on a table): one press calls staff."""

import time
from typing import ClassVar

from contract import CallButtonEvent, DeviceType, encode
from contract.const import CallReason
from devices.base import SimDevice


class CallButton(SimDevice):
    device_type: ClassVar[DeviceType] = DeviceType.CALL_BUTTON
    reasons: ClassVar[tuple[CallReason, ...]] = (CallReason.SERVICE,)

    def press(self, reason: CallReason = CallReason.SERVICE) -> str:
        """Must run on the loop's thread. Returns the event id."""
        event_id = self.next_event_id()
        event = CallButtonEvent(id=event_id, reason=reason, ts_ms=int(time.time() * 1000))
        self.send_event(encode(event), event_id)
        return event_id
