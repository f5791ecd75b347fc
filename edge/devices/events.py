"""Device news on the hub's bus, for the boards."""

from dataclasses import dataclass

from edge.devices.service import DeviceChanges


@dataclass(frozen=True, slots=True)
class DevicesChanged:
    """Devices changed outside the store writer (a printer failed or came back)."""

    changes: DeviceChanges
