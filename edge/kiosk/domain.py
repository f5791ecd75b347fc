"""The kiosk domain: orders from self-order kiosks arrive as MQTT events (a number for the
line at the door too: handed to the waitlist domain), are placed like a
diner's, and are answered on the kiosk's ack topic (the kiosk resends until answered). The
menu a kiosk shows is published here too: retained on store/{store}/hub/menu (KioskMenu),
again whenever sold-out marks or HQ's configuration change."""

import logging
import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass

from contract import EventAck, KioskMenu, encode, menu_topic, parse_payload
from contract.const import KIOSK_MENU_MAX_BYTES, QOS_STATE, AckStatus, Channel, DeviceType
from contract.inventory import DeviceSpec
from contract.payloads import KioskOrderEvent
from edge.core.domain import Domain, HubContext, MqttRoute, Startable
from edge.core.ingest import checked
from edge.core.worker import Worker
from edge.members.domain import MembersDomain
from edge.menu.domain import ConfigApplied, MenuDomain, SoldOutChanged
from edge.orders import service as orders
from edge.orders.domain import OrdersDomain
from edge.orders.errors import OrderError
from edge.orders.schemas import LineRequest
from edge.orders.service import Origin
from edge.waitlist.domain import KioskTake, WaitlistDomain, is_queue_take, parse_kiosk_take

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KioskOrder:
    device: DeviceSpec
    event: KioskOrderEvent
    received_at: float


def parse_kiosk_order(device: DeviceSpec, payload: bytes, now: float) -> KioskOrder:
    return KioskOrder(device, checked(device, parse_payload(payload, KioskOrderEvent)), now)


def parse_kiosk_event(device: DeviceSpec, payload: bytes, now: float) -> KioskOrder | KioskTake:
    """A kiosk's event: a number for the line at the door (the waitlist's), or an order."""
    if is_queue_take(payload):
        return parse_kiosk_take(device, payload, now)
    return parse_kiosk_order(device, payload, now)


class KioskIntake(Worker):
    """Places kiosk orders one at a time, off the MQTT thread (an order takes a transaction)."""

    name = "kiosk-orders"

    def __init__(self, hub: HubContext, desk: OrdersDomain, members: MembersDomain) -> None:
        super().__init__()
        self._hub = hub
        self._desk = desk
        self._members = members
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

    def _member(self, code: str | None) -> tuple[str, str] | None:
        """The member a scanned code names (id, masked phone); OrderError for a code that
        names no one (expired, copied, mistyped): the diner scans again, nothing is placed."""
        if not code:
            return None
        found = self._members.identify(code, time.time())
        if found is None:
            raise OrderError(
                422,
                "unknown_member_code",
                "会员码无效或已过期，请刷新会员码后重扫 / "
                "This member code is not valid (expired?): refresh it and scan again",
            )
        return found[0], found[1]

    def _place(self, item: KioskOrder) -> None:
        event, device = item.event, item.device
        member = None
        try:
            member = self._member(event.member)
            origin = Origin(
                orders.SOURCE_KIOSK,
                None,
                "",
                device_id=device.id,
                member_code=event.member,
                member_id=member[0] if member is not None else None,
            )
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
            data: dict[str, str | int] = {
                "order": public["id"],
                "no": public["no"],
                "total_fen": public["total_fen"],
            }
            if member is not None:  # the kiosk shows whose order earns ("138****8000")
                data["member"] = member[1]
            ack = EventAck(
                id=event.id,
                status=AckStatus.OK,
                data=data,
            )
        self._hub.mqtt.publish_ack(device.type, device.id, encode(ack))


class KioskDomain(Domain):
    name = "kiosk"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.intake = KioskIntake(hub, hub.get(OrdersDomain), hub.get(MembersDomain))
        self._menu = hub.get(MenuDomain)
        self._waitlist = hub.get(WaitlistDomain)
        hub.bus.subscribe(SoldOutChanged, lambda _e: self.publish_menu())
        hub.bus.subscribe(ConfigApplied, lambda _e: self.publish_menu())

    def start(self) -> None:
        super().start()
        self.publish_menu()

    def publish_menu(self) -> None:
        """The retained kiosk menu; an empty retained message (none) while there is no menu
        to sell from, so that kiosks do not keep offering an old one."""
        topic = menu_topic(self.hub.store)
        state = self._menu.state
        payload = b""
        if state is not None:
            document = KioskMenu(
                menu=state.menu,
                sold_out=sorted(state.sold_out),
                store_name=self.hub.settings.store_name,
                ts_ms=int(time.time() * 1000),
            )
            payload = encode(document)
            if len(payload) > KIOSK_MENU_MAX_BYTES:
                log.error(
                    "the kiosk menu is %d bytes, over %d: kiosks get none (shorten descriptions)",
                    len(payload),
                    KIOSK_MENU_MAX_BYTES,
                )
                payload = b""
        self.hub.mqtt.publish(topic, payload, QOS_STATE, retain=True)

    def mqtt_routes(self) -> Sequence[MqttRoute]:
        return (
            MqttRoute(
                Channel.EVENT,
                frozenset({DeviceType.KIOSK}),
                parse_kiosk_event,
                sink=self._deliver,
            ),
        )

    def _deliver(self, item: KioskOrder | KioskTake) -> None:
        if isinstance(item, KioskTake):
            self._waitlist.intake.submit(item)
        else:
            self.intake.submit(item)

    def workers(self) -> Sequence[Startable]:
        return (self.intake,)
