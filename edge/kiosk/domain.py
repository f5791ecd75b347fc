"""The kiosk domain: orders from self-order kiosks arrive as MQTT events, are placed like a
diner's, and are answered on the kiosk's ack topic (the kiosk resends until answered)."""

import logging
import queue
from collections.abc import Sequence
from dataclasses import dataclass

from contract import EventAck, encode, parse_payload
from contract.const import AckStatus, Channel, DeviceType
from contract.inventory import DeviceSpec
from contract.payloads import KioskOrderEvent
from edge.core.domain import Domain, HubContext, MqttRoute, Startable
from edge.core.ingest import checked
from edge.core.worker import Worker
from edge.orders import service as orders
from edge.orders.domain import OrdersDomain
from edge.orders.errors import OrderError
from edge.orders.schemas import LineRequest
from edge.orders.service import Origin

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KioskOrder:
    device: DeviceSpec
    event: KioskOrderEvent
    received_at: float


def parse_kiosk_order(device: DeviceSpec, payload: bytes, now: float) -> KioskOrder:
    return KioskOrder(device, checked(device, parse_payload(payload, KioskOrderEvent)), now)


class KioskIntake(Worker):
    """Places kiosk orders one at a time, off the MQTT thread (an order takes a transaction)."""

    name = "kiosk-orders"

    def __init__(self, hub: HubContext, desk: OrdersDomain) -> None:
        super().__init__()
        self._hub = hub
        self._desk = desk
        self._queue: queue.SimpleQueue[KioskOrder | None] = queue.SimpleQueue()

    def submit(self, item: KioskOrder) -> None:
        self._queue.put(item)

    def on_stop(self) -> None:
        self._queue.put(None)

    def run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._place(item)
            except Exception:
                # Unanswered: the kiosk resends with the same id, and the key makes it one order.
                log.exception("kiosk order %s failed", item.event.id)

    def _place(self, item: KioskOrder) -> None:
        event, device = item.event, item.device
        origin = Origin(
            orders.SOURCE_KIOSK, None, "", device_id=device.id, member_code=event.member
        )
        try:
            lines = [
                LineRequest(dish=x.dish, qty=x.qty, options=dict(x.options), note=x.note)
                for x in event.lines
            ]
            public, _ = self._desk.place(origin, f"kiosk:{device.id}:{event.id}", lines, event.note)
        except OrderError as err:
            ack = EventAck(
                id=event.id,
                status=AckStatus.REJECTED,
                error=err.code,
                data={"message": err.message},
            )
        else:
            ack = EventAck(
                id=event.id,
                status=AckStatus.OK,
                data={"order": public["id"], "no": public["no"], "total_fen": public["total_fen"]},
            )
        self._hub.mqtt.publish_ack(device.type, device.id, encode(ack))


class KioskDomain(Domain):
    name = "kiosk"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.intake = KioskIntake(hub, hub.get(OrdersDomain))

    def mqtt_routes(self) -> Sequence[MqttRoute]:
        return (
            MqttRoute(
                Channel.EVENT,
                frozenset({DeviceType.KIOSK}),
                parse_kiosk_order,
                sink=self.intake.submit,
            ),
        )

    def workers(self) -> Sequence[Startable]:
        return (self.intake,)
