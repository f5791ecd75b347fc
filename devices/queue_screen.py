"""A queue screen in the waiting area: shows what it is told (numbers called, a message)."""

from typing import ClassVar

from devices.base import SimDevice
from smartstore.wire import DeviceType


class QueueScreen(SimDevice):
    device_type: ClassVar[DeviceType] = DeviceType.QUEUE_SCREEN
