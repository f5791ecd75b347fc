"""A self-order kiosk. Ordering over MQTT arrives with the ordering work; today it keeps its
presence, heartbeats, and shows text staff send it."""

from typing import ClassVar

from devices.base import SimDevice
from smartstore.wire import DeviceType


class Kiosk(SimDevice):
    device_type: ClassVar[DeviceType] = DeviceType.KIOSK
