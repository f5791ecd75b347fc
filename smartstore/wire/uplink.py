"""The hub -> cloud contract: which facts a hub forwards, by name. One list for both sides:
a new type is added here, then sent by the hub and accepted by the cloud."""

from typing import Final, Literal, get_args

CALL_OPENED: Final = "call.opened"  # id co-<call uid>
CALL_ANSWERED: Final = "call.answered"  # id ca-<call uid>
DEVICE_ALARM: Final = "device.alarm"  # id da-<alarm uid>-raised | da-<alarm uid>-cleared

UplinkEventType = Literal["call.opened", "call.answered", "device.alarm"]
UPLINK_EVENT_TYPES: Final[tuple[str, ...]] = get_args(UplinkEventType)
assert set(UPLINK_EVENT_TYPES) == {CALL_OPENED, CALL_ANSWERED, DEVICE_ALARM}
