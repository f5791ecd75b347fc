"""The queue screen app: a TV in the waiting area showing the order numbers ready for pick-up
(the hub's retained ReadyBoard, newest first), a chime when a number is added, the waitlist
(per table group the number called, the last few, how many wait, the estimated wait; a new
call is spoken in Chinese), the text staff send with `display`, and a plain "not connected"
when the hub or the broker is away."""

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
        live.set("waitlist", {"type": "waitlist", "board": None})

    def handle_other(self, topic: str, payload: bytes) -> None:
        before, line = self.ready, self.waitlist
        super().handle_other(topic, payload)  # the hub's state (AppDevice), or a board
        if self.ready is not before:
            self.live.set("ready", {"type": "ready", "ready": self.ready})
        if self.waitlist is not line:
            board = self.waitlist.model_dump(mode="json") if self.waitlist is not None else None
            self.live.set("waitlist", {"type": "waitlist", "board": board})
