"""The ordering desk: everything between a diner's (or kiosk's) order and the kitchen's
printers, with the boards, the diners' pages and the queue screens told of each change."""

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edge.auth import RateLimiter
from edge.config import Settings
from edge.devices.service import DeviceChanges
from edge.inventory import DeviceSpec, Inventory
from edge.live import LiveHub
from edge.menu.models import AppliedConfig, SoldOut
from edge.menu.service import MenuState
from edge.mqtt import HubMqtt
from edge.orders import errors
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.models import Order
from edge.orders.schemas import LineRequest, order_public
from edge.orders.service import Origin
from edge.printing import service as printing
from edge.printing.models import PrintJob
from edge.printing.spooler import PrinterWorker, Spooler
from edge.tables import service as tables
from edge.tables.models import DiningTable
from edge.tables.tokens import TokenSigner
from edge.uplink import service as outbox
from smartstore.menu import MenuFile, StoreConfig, load_menu
from smartstore.wire import EventAck, encode
from smartstore.wire.const import QOS_STATE, AckStatus
from smartstore.wire.payloads import KioskOrderEvent, ReadyBoard
from smartstore.wire.topics import ready_topic
from smartstore.wire.uplink import ConfigApplied, ConfigAppliedEvent

log = logging.getLogger(__name__)

READY_SHOWN = 10  # numbers on a queue screen at once


@dataclass(frozen=True, slots=True)
class KioskOrder:
    device: DeviceSpec
    event: KioskOrderEvent
    received_at: float


def staff_order(order: Order, jobs: list[PrintJob]) -> dict[str, Any]:
    data = order_public(order, printing.all_kitchen_sent(jobs))
    data["print"] = [printing.job_public(j) for j in jobs]
    data["member"] = order.member_code  # staff only: a diner's page never shows it
    return data


STAFF_ONLY = frozenset({"print", "member"})


def diner_view(public: dict[str, Any]) -> dict[str, Any]:
    """What the diner's phone gets of an order: no print jobs, no member code."""
    return {k: v for k, v in public.items() if k not in STAFF_ONLY}


class OrderDesk:
    def __init__(
        self,
        settings: Settings,
        inventory: Inventory,
        sessions: sessionmaker[Session],
        board: LiveHub,
        diners: LiveHub,
        mqtt: HubMqtt,
        on_devices: Callable[[DeviceChanges], None],
        on_fact: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.store = settings.store_id
        self._sessions = sessions
        self._board = board
        self._diners = diners
        self._mqtt = mqtt
        self._on_devices = on_devices
        self._on_fact = on_fact  # an outbox row was committed: the cloud sender may go
        self.signer = TokenSigner(settings.secret_key.get_secret_value(), settings.store_id)
        self.routes = printing.Routes.from_inventory(inventory)
        self.order_limiter = RateLimiter(settings.orders_per_table_per_minute)
        self.call_limiter = RateLimiter(settings.calls_per_table_per_minute)
        self.menu_state: MenuState | None = None
        self.config: StoreConfig | None = None  # HQ's, when one was ever applied
        self.config_version: int | None = None
        with sessions.begin() as session:
            tables.sync_tables(session, inventory, time.time())
            recovered = printing.recover_interrupted(session)
            applied = session.scalar(
                select(AppliedConfig).order_by(AppliedConfig.version.desc()).limit(1)
            )
            if applied is not None:
                # The last good configuration from HQ outranks the local file.
                self.config = StoreConfig.model_validate(applied.document)
                self.config_version = applied.version
            menu = self.config.menu if self.config is not None else self._load_menu()
            if menu is not None:
                self.menu_state = MenuState.load(session, menu)
        if recovered:
            log.warning("%d tickets were being sent when the hub stopped: reprinting", recovered)
        self.spooler = Spooler(
            [
                PrinterWorker(
                    address,
                    sessions,
                    lambda: self.menu.menu,
                    settings.store_name,
                    settings.battery_low_pct,
                    self,
                )
                for address in self.routes.addresses.values()
            ]
        )
        self._kiosk_queue: queue.SimpleQueue[KioskOrder | None] = queue.SimpleQueue()
        self._kiosk_thread = threading.Thread(target=self._kiosk_run, name="kiosk-orders")

    def _load_menu(self) -> MenuFile | None:
        path = self.settings.menu_file
        if not path.exists():
            log.warning("no menu at %s: ordering is off until one is installed", path)
            return None
        return load_menu(path)

    @property
    def menu(self) -> MenuState:
        if self.menu_state is None:
            raise OrderError(
                503,
                "no_menu",
                "菜单未加载，请联系服务员 / The menu is not loaded, please ask staff",
            )
        return self.menu_state

    def start(self) -> None:
        self.spooler.start()
        self._kiosk_thread.start()
        self.publish_ready()

    def stop(self) -> None:
        self._kiosk_queue.put(None)
        self._kiosk_thread.join(timeout=10)
        self.spooler.stop()

    # Configuration from HQ.
    def apply_config(self, version: int, config: StoreConfig) -> None:
        """Store it and the fact for HQ in one transaction, then serve it."""
        now = time.time()
        with self._sessions.begin() as session:
            session.merge(
                AppliedConfig(
                    version=version, document=config.model_dump(mode="json"), applied_at=now
                )
            )
            event = ConfigAppliedEvent(
                id=f"cfg-{version}-{uuid.uuid4().hex[:12]}",
                occurred_at=now,
                data=ConfigApplied(version=version),
            )
            outbox.enqueue(session, [event])
            sold_out = set(session.scalars(select(SoldOut.dish_id)))
        if self.menu_state is None:
            self.menu_state = MenuState(config.menu, sold_out)
        else:
            self.menu_state.replace(config.menu)
        self.config, self.config_version = config, version
        self._on_fact()
        self._board.publish({"type": "config", "version": version})
        self._diners.publish({"type": "config", "version": version})

    def check_open(self, now: float) -> None:
        if self.config is None:
            return
        local = time.localtime(now)
        if not self.config.is_open(local.tm_wday, time.strftime("%H:%M", local)):
            raise OrderError(
                409, "store_closed", "本店现在不营业 / The store is not open for orders now"
            )

    # Tables and their tokens.
    def table_for(self, session: Session, token: str) -> DiningTable:
        signed = self.signer.verify(token)
        table = tables.current(session, signed) if signed is not None else None
        if table is None:
            raise errors.bad_token()
        return table

    def token_of(self, table: DiningTable) -> str:
        return self.signer.sign(table.id, table.qr_version)

    # Orders.
    def place(
        self, origin: Origin, key: str, lines: Sequence[LineRequest], note: str
    ) -> tuple[dict[str, Any], bool]:
        """The order as the diner sees it, and whether it is new."""
        state = self.menu
        self.check_open(time.time())
        with self._sessions.begin() as session:
            if origin.table_id is not None:
                table = tables.get(session, origin.table_id)
                if not table.is_open:
                    raise errors.table_closed(table.name)
            placed = orders.place_order(
                session,
                state.menu,
                state.sold_out,
                self.routes,
                origin,
                key,
                lines,
                note,
                time.time(),
            )
            order = placed.order
            jobs = printing.jobs_for_orders(session, [order.id])[order.id]
            public = staff_order(order, jobs)
        if placed.created:
            self.spooler.nudge({j.printer_id for j in jobs})
            self._announce(order, public)
        return public, placed.created

    def _announce(self, order: Order, public: dict[str, Any]) -> None:
        self._on_fact()
        self._board.publish({"type": "orders", "orders": [public]})
        if order.table_id is not None:
            diner = diner_view(public)
            self._diners.publish({"type": "order", "order": diner}, key=order.table_id)

    def orders_changed(self, order_ids: list[int]) -> None:
        with self._sessions() as session:
            rows = [o for i in order_ids if (o := session.get(Order, i)) is not None]
            jobs = printing.jobs_for_orders(session, order_ids)
            for order in rows:
                self._announce(order, staff_order(order, jobs[order.id]))

    # The spooler's listener.
    def print_jobs_changed(self, order_ids: list[int]) -> None:
        self.orders_changed(order_ids)

    def devices_changed_by_spooler(self, changes: DeviceChanges) -> None:
        self._on_devices(changes)

    def void_line(self, uid: str, line_id: int, staff: str) -> dict[str, Any]:
        with self._sessions.begin() as session:
            order = orders.void_line(session, self.routes, uid, line_id, staff, time.time())
            order_id = order.id
        self.spooler.nudge()
        self.orders_changed([order_id])
        return self.staff_view(order_id)

    def mark_done(self, uid: str) -> dict[str, Any]:
        with self._sessions.begin() as session:
            order_id = orders.mark_done(session, uid, time.time()).id
        self.orders_changed([order_id])
        self.publish_ready()
        return self.staff_view(order_id)

    def staff_view(self, order_id: int) -> dict[str, Any]:
        with self._sessions() as session:
            order = session.get(Order, order_id)
            assert order is not None
            return staff_order(order, printing.jobs_for_orders(session, [order_id])[order_id])

    def open_orders(self, session: Session) -> list[dict[str, Any]]:
        rows = orders.open_orders(session)
        jobs = printing.jobs_for_orders(session, [o.id for o in rows])
        return [staff_order(o, jobs[o.id]) for o in rows]

    def reprint(self, job_uid: str) -> dict[str, object]:
        with self._sessions.begin() as session:
            job = printing.reprint(session, job_uid, time.time())
            session.flush()
            public, order_id, printer = printing.job_public(job), job.order_id, job.printer_id
        self.spooler.nudge({printer})
        if order_id is not None:
            self.orders_changed([order_id])
        return public

    def request_bill(self, table: DiningTable) -> bool:
        """Print the table's receipt; False when there is nothing on the bill yet."""
        with self._sessions.begin() as session:
            rows = orders.table_orders(session, table.id, table.opened_at)
            job = printing.queue_receipt(session, self.routes, table.id, rows, time.time())
            printer = job.printer_id if job is not None else None
        if printer is not None:
            self.spooler.nudge({printer})
        return printer is not None

    # Queue screens.
    def publish_ready(self) -> None:
        with self._sessions() as session:
            numbers = orders.ready_numbers(session, orders.local_day(time.time()), READY_SHOWN)
        board = ReadyBoard(ready=numbers, ts_ms=int(time.time() * 1000))
        self._mqtt.publish(ready_topic(self.store), encode(board), QOS_STATE, retain=True)

    # Kiosks: orders arrive as MQTT events, answered on the kiosk's ack topic.
    def submit_kiosk(self, item: KioskOrder) -> None:
        self._kiosk_queue.put(item)

    def _kiosk_run(self) -> None:
        while (item := self._kiosk_queue.get()) is not None:
            try:
                self._kiosk_order(item)
            except Exception:
                # Unanswered: the kiosk resends with the same id, and the key makes it one order.
                log.exception("kiosk order %s failed", item.event.id)

    def _kiosk_order(self, item: KioskOrder) -> None:
        event, device = item.event, item.device
        origin = Origin(
            orders.SOURCE_KIOSK, None, "", device_id=device.id, member_code=event.member
        )
        try:
            lines = [
                LineRequest(dish=x.dish, qty=x.qty, options=dict(x.options), note=x.note)
                for x in event.lines
            ]
            public, _ = self.place(origin, f"kiosk:{device.id}:{event.id}", lines, event.note)
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
        self._mqtt.publish_ack(device.type, device.id, encode(ack))
