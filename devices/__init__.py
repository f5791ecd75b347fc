"""Device types: their messages (in contract) and simulators that speak the contract
over a real broker."""

from devices.base import SimDevice
from devices.call_button import CallButton
from devices.loop import DeviceLoop

__all__ = ["CallButton", "DeviceLoop", "SimDevice"]
