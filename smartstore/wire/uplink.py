"""The hub -> cloud contract: which facts a hub forwards, by name. One list for both sides:
a new type is added here, then sent by the hub and accepted by the cloud."""

from typing import Final, Literal, get_args

CALL_OPENED: Final = "call.opened"  # id co-<call uid>
CALL_ANSWERED: Final = "call.answered"  # id ca-<call uid>
DEVICE_ALARM: Final = "device.alarm"  # id da-<alarm uid>-raised | da-<alarm uid>-cleared
ORDER_PLACED: Final = "order.placed"  # id op-<order uid>
ORDER_LINE_VOIDED: Final = "order.line_voided"  # id ov-<order uid>-<line id>
ORDER_DONE: Final = "order.done"  # id od-<order uid>
TICKET_PRINTED: Final = "ticket.printed"  # id tp-<print job uid>
PAYMENT_RECORDED: Final = "payment.recorded"  # id pay-<payment uid>: a table's bill paid
CONFIG_APPLIED: Final = "config.applied"  # id cfg-<version>-<hub boot>: the hub runs it now

UplinkEventType = Literal[
    "call.opened",
    "call.answered",
    "device.alarm",
    "order.placed",
    "order.line_voided",
    "order.done",
    "ticket.printed",
    "config.applied",
    "payment.recorded",
]
UPLINK_EVENT_TYPES: Final[tuple[str, ...]] = get_args(UplinkEventType)
assert set(UPLINK_EVENT_TYPES) == {
    CALL_OPENED,
    CALL_ANSWERED,
    DEVICE_ALARM,
    ORDER_PLACED,
    ORDER_LINE_VOIDED,
    ORDER_DONE,
    TICKET_PRINTED,
    CONFIG_APPLIED,
    PAYMENT_RECORDED,
}

# A hub clock further than this from HQ's (measured on every batch: `sent_at` against HQ's
# `received_at`) is flagged on the hub's board and in HQ's fleet view: its orders land in the
# wrong hour of the sales reports. Network latency is far below it.
CLOCK_SKEW_WARN_S: Final = 120.0


def clock_ok(offset_s: float | None) -> bool:
    return offset_s is None or abs(offset_s) <= CLOCK_SKEW_WARN_S
