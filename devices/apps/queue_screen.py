"""The queue screen app: a TV in the waiting area showing the order numbers ready for pick-up
(the hub's retained ReadyBoard, newest first), a chime when a number is added, the text staff
send with `display`, and a plain "not connected" when the hub or the broker is away."""

from typing import ClassVar

from devices.apps.app import AppDevice
from devices.apps.config import QueueScreenConfig
from devices.apps.live import Live
from devices.loop import DeviceLoop
from devices.queue_screen import QueueScreen


class QueueScreenApp(AppDevice, QueueScreen):
    page: ClassVar[str] = "queue.html"

    def __init__(self, loop: DeviceLoop, config: QueueScreenConfig, live: Live) -> None:
        super().__init__(loop, config, live)
        live.set(
            "config",
            {
                "type": "config",
                "device": config.device_id,
                "display_s": config.display_s,
                "chime": config.chime,
            },
        )
        live.set("ready", {"type": "ready", "ready": None})

    def handle_other(self, topic: str, payload: bytes) -> None:
        before = self.ready
        super().handle_other(topic, payload)  # the hub's state (AppDevice), or the ready board
        if self.ready is not before:
            self.live.set("ready", {"type": "ready", "ready": self.ready})
