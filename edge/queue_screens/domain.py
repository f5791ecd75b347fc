"""The queue-screens domain: the numbers ready for pick-up, on a retained topic every queue
screen reads (a screen that reconnects gets the current list at once)."""

import time

from contract import encode
from contract.const import QOS_STATE
from contract.payloads import ReadyBoard
from contract.topics import ready_topic
from edge.core.domain import Domain, HubContext
from edge.orders import service as orders
from edge.orders.events import OrderReady

READY_SHOWN = 10  # numbers on a queue screen at once


class QueueScreensDomain(Domain):
    name = "queue_screens"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        hub.bus.subscribe(OrderReady, lambda _e: self.publish_ready())

    def start(self) -> None:
        self.publish_ready()

    def publish_ready(self) -> None:
        with self.hub.reads() as session:
            numbers = orders.ready_numbers(session, orders.local_day(time.time()), READY_SHOWN)
        board = ReadyBoard(ready=numbers, ts_ms=int(time.time() * 1000))
        self.hub.mqtt.publish(ready_topic(self.hub.store), encode(board), QOS_STATE, retain=True)
