"""A smart table unit: a call button and a bill button, a status light and a small display."""

from typing import ClassVar

from contract import DeviceType
from contract.const import CallReason
from devices.call_button import CallButton


class SmartTable(CallButton):
    device_type: ClassVar[DeviceType] = DeviceType.SMART_TABLE
    reasons: ClassVar[tuple[CallReason, ...]] = (CallReason.SERVICE, CallReason.BILL)
