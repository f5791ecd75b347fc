"""The self-order kiosk app: diners order on its touchscreen; the order goes to the hub over
MQTT (KioskOrderEvent), and the number and total come back on the kiosk's ack topic. Diners
also take a number for the line at the door here (devices/apps/kiosk_line.py).

Where things come from:
- the menu and its sold-out marks: the hub's retained KioskMenu on store/{store}/hub/menu (the
  broker's ACL lets kiosks read it); a change of sold-out marks arrives within a moment;
- the dish pictures: the hub's /media/{picture} over HTTP, fetched by this app (never by the
  browser, never from the internet) and kept in memory, so pictures stay while the hub is away;
- a member or coupon code: the camera (devices/camera_reader.py), if the config names one.

An order, from the diner's tap to the answer (the `CurrentOrder` states):
- refused: the hub is away (its retained state says offline, or the broker is unreachable),
  the menu is missing: nothing is sent, the diner is told to order at the counter;
- sending: the event is sent at QoS 0 with an id made here, and resent (2 s, 4 s, 4 s ...)
  until the hub acks it. QoS 0: the broker never keeps a copy for the hub while it is away,
  so a copy exists only while it travels (docs/wire-contract.md, KioskOrderEvent);
- placed / rejected: the hub's ack (number and total, or why not, in Chinese and English);
- failed: no ack within order_timeout_s. Resending stops ACK_GRACE_S before that, so when
  the diner is told, no copy is left anywhere that could still become an order. If a hub that
  took the last copy answers after all, the diner (if still there) sees the number.
"""

import logging
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import httpx
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from pydantic import ValidationError

from contract import (
    EventAck,
    KioskMenu,
    KioskOrderEvent,
    KioskOrderLine,
    WireError,
    encode,
    menu_topic,
    parse_payload,
)
from contract.const import (
    KIOSK_MENU_MAX_BYTES,
    KIOSK_NOTE_MAX,
    KIOSK_ORDER_MAX_LINES,
    MAX_PAYLOAD_BYTES,
    MEMBER_CODE_MAX,
    QOS_KIOSK_ORDER,
    AckStatus,
)
from contract.menu import MAX_QTY, Dish
from contract.mqtt import tls_context
from devices.apps.app import AppDevice
from devices.apps.config import KioskConfig
from devices.apps.kiosk_line import LineDesk
from devices.apps.live import Live, Message
from devices.apps.slip import Slip, SlipLine, render_slip, send_slip
from devices.kiosk import Kiosk
from devices.loop import DeviceLoop

log = logging.getLogger(__name__)

ACK_GRACE_S = 5.0  # the last copy leaves this long before the diner is told it failed
TICK_S = 0.5
PICTURE_NAME = r"^[A-Za-z0-9_.-]{1,64}$"  # as contract.menu.Dish.picture
PICTURES_MAX = 300  # pictures kept in memory (a menu's worth)
PICTURE_MAX_BYTES = 2_000_000
MEDIA_TYPES = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}

HUB_AWAY = "请到前台点餐 / Please order at the counter"
NOT_PLACED = "未能下单，请到前台点餐 / Your order could not be placed. Please order at the counter"


class CodeReader(Protocol):
    """A camera that reports codes: devices.camera_reader.CameraReader, or a stand-in."""

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...


CameraFactory = Callable[[int | str, Callable[[str], None]], CodeReader]


def camera_reader(source: int | str, on_code: Callable[[str], None]) -> CodeReader:
    """The kiosk's camera (OpenCV, imported only when a camera is configured). A file source
    (demos, tests) is played in a loop at its own pace."""
    from devices.camera_reader import CameraReader

    if isinstance(source, str) and source.isdigit():
        source = int(source)
    reader = CameraReader(source, on_code)
    if not reader.live:
        reader = CameraReader(source, on_code, loop=True, realtime=True)
    return reader


class OrderState(StrEnum):
    REFUSED = "refused"
    SENDING = "sending"
    PLACED = "placed"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass
class CurrentOrder:
    id: str
    attempt: str  # the page's id for this press of "place order": a repeat is the same order
    state: OrderState
    lines: list[KioskOrderLine] = field(default_factory=list)
    member: bool = False
    started: float = 0.0  # monotonic
    stop_sending_at: float = 0.0
    deadline: float = 0.0
    no: int | None = None
    total_fen: int | None = None
    error: str | None = None
    message: str | None = None
    late: bool = False  # the hub answered after the diner was told it failed
    printed: bool | None = None  # None: no printer, or not yet
    member_phone: str | None = None  # the member the hub found for the scanned code (masked)


class KioskApp(AppDevice, Kiosk):
    page: ClassVar[str] = "kiosk.html"
    resend_max_s: ClassVar[float] = 4.0  # a diner is waiting: resend often, briefly

    def __init__(
        self,
        loop: DeviceLoop,
        config: KioskConfig,
        live: Live,
        camera: CameraFactory | None = camera_reader,
    ) -> None:
        self.menu: KioskMenu | None = None  # before the base publishes the first status
        super().__init__(loop, config, live)
        self.kiosk = config
        self.current: CurrentOrder | None = None
        self.member: str | None = None
        self.pictures: dict[str, tuple[bytes, str]] = {}
        self._pictures_lock = threading.Lock()
        self._camera: CodeReader | None = None
        self.line = LineDesk(self)  # numbers for the line at the door (kiosk_line.py)
        self.on_ack = lambda _d, ack, _latency: self._on_ack(ack)
        if camera is not None and config.camera_source is not None:
            self._camera = camera(config.camera_source, self._code_read)
        live.set(
            "config",
            {
                "type": "config",
                "device": config.device_id,
                "idle_timeout_s": config.idle_timeout_s,
                "order_timeout_s": config.order_timeout_s,
                "printer": config.printer_host is not None,
                "camera": self._camera is not None,
                "max_qty": MAX_QTY,
                "max_lines": KIOSK_ORDER_MAX_LINES,
                "note_max": KIOSK_NOTE_MAX,
            },
        )
        live.set("member", {"type": "member", "code": None})
        live.set("menu", {"type": "menu", "menu": None})

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        self.loop.call_later(TICK_S, self._tick)
        if self._camera is not None:
            try:
                self._camera.start()
            except Exception:
                # A kiosk without its camera still takes orders; the board shows it online.
                log.exception("%s: the camera did not start; ordering goes on without it", self.id)
                self._camera = None

    def close(self) -> None:
        if self._camera is not None:
            self._camera.stop()

    # --- MQTT ----------------------------------------------------------------------------
    def extra_subscriptions(self) -> list[str]:
        return [*super().extra_subscriptions(), menu_topic(self.store)]

    def handle_other(self, topic: str, payload: bytes) -> None:
        if topic != menu_topic(self.store):
            super().handle_other(topic, payload)
            return
        if not payload:
            self.menu = None  # the hub has no menu to sell from
        else:
            try:
                self.menu = parse_payload(payload, KioskMenu, KIOSK_MENU_MAX_BYTES)
            except WireError as err:
                log.warning("%s got a bad menu: %s", self.id, err)
                return
        self.live.set("menu", self._menu_message())
        self.publish_status()

    def hub_changed(self) -> None:
        if self.hub_online and self.connected:
            # The hub is back: what waits for its answer goes again now.
            for p in self.pending.values():
                p.next_send = 0.0

    def status(self) -> Message:
        return {**super().status(), "can_order": self.can_order()}

    def can_order(self) -> bool:
        return bool(self.connected and self.hub_online and self.menu is not None)

    # --- the page ------------------------------------------------------------------------
    def on_page_message(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "place":
            self.place(message)
        elif kind == "queue_take":
            self.line.take(message)
        elif kind == "reset":  # the next diner (idle, or "new order"): forget this one's
            if self.current is not None and self.current.state is not OrderState.SENDING:
                self.current = None
                self.live.set("order", {"type": "order", "order": None})
            self.line.reset()
            self._set_member(None)
        elif kind == "forget_member":
            self._set_member(None)

    def place(self, message: Message) -> None:
        attempt = str(message.get("attempt", ""))[:64]
        current = self.current
        if current is not None and (
            current.state is OrderState.SENDING or (attempt and current.attempt == attempt)
        ):
            self._publish_order()  # a double tap, or the page reconnected: the same order
            return
        if not self.can_order():
            self._refuse(attempt, "hub_away", HUB_AWAY)
            return
        try:
            raw_lines = message.get("lines")
            if not isinstance(raw_lines, list) or not 1 <= len(raw_lines) <= KIOSK_ORDER_MAX_LINES:
                raise ValueError("lines")
            lines = [KioskOrderLine.model_validate(x) for x in raw_lines]
            note = str(message.get("note", ""))[:KIOSK_NOTE_MAX]
        except (ValueError, ValidationError):
            self._refuse(attempt, "bad_order", "订单无效 / This order is not valid")
            return
        event_id = self.next_event_id()
        event = KioskOrderEvent(
            id=event_id,
            type="order",
            lines=lines,
            note=note,
            member=self.member,
            ts_ms=int(time.time() * 1000),
        )
        payload = encode(event)
        if len(payload) > MAX_PAYLOAD_BYTES:
            self._refuse(attempt, "too_large", "订单太长 / This order is too long, please split it")
            return
        now = time.monotonic()
        timeout = self.kiosk.order_timeout_s
        self.current = CurrentOrder(
            id=event_id,
            attempt=attempt,
            state=OrderState.SENDING,
            lines=lines,
            member=self.member is not None,
            started=now,
            stop_sending_at=now + timeout - ACK_GRACE_S,
            deadline=now + timeout,
        )
        self.send_event(payload, event_id, qos=QOS_KIOSK_ORDER)
        self._publish_order()

    def _refuse(self, attempt: str, error: str, message: str) -> None:
        self.current = CurrentOrder(
            id="", attempt=attempt, state=OrderState.REFUSED, error=error, message=message
        )
        self._publish_order()

    # --- answers and time ----------------------------------------------------------------
    def handle_unmatched_ack(self, ack: EventAck) -> None:
        if self.line.answered(ack):
            return
        current = self.current
        if current is not None and ack.id == current.id:
            self._answered(ack)  # resending had stopped (the grace period, or given up)
        elif ack.id.startswith(f"{self.id}-") and ack.status is AckStatus.OK:
            log.warning("%s: order %s was answered after its diner left: %s", self.id, ack.id, ack)

    def _on_ack(self, ack: EventAck) -> None:
        if not self.line.answered(ack):  # a number's answer, or an order's
            self._answered(ack)

    def _answered(self, ack: EventAck) -> None:
        current = self.current
        if current is None or ack.id != current.id:
            return
        data = ack.data or {}
        if current.state is OrderState.FAILED:
            if ack.status is not AckStatus.OK:
                return
            log.error(
                "%s: order %s was placed after the diner was told it failed (no %s)",
                self.id,
                ack.id,
                data.get("no"),
            )
            current.late = True
        elif current.state is not OrderState.SENDING:
            return  # a second ack for a resend: the answer is already shown
        if ack.status is AckStatus.OK:
            current.state = OrderState.PLACED
            no, total = data.get("no"), data.get("total_fen")
            current.no = no if isinstance(no, int) else None
            current.total_fen = total if isinstance(total, int) else None
            phone = data.get("member")
            current.member_phone = phone if isinstance(phone, str) else None
            self._set_member(None)  # used: the next diner starts without it
            if self.kiosk.printer_host is not None and current.no is not None:
                self._print_slip(current)
        else:
            current.state = OrderState.REJECTED
            current.error = ack.error
            message = data.get("message")
            current.message = message if isinstance(message, str) else None
        self._publish_order()

    def _tick(self) -> None:
        if self._stopped:
            return
        current = self.current
        now = time.monotonic()
        self.line.tick(now)
        if current is not None and current.state is OrderState.SENDING:
            if now >= current.stop_sending_at and self.pending.pop(current.id, None) is not None:
                log.warning("%s: no answer to order %s; last copy sent", self.id, current.id)
            if now >= current.deadline:
                current.state = OrderState.FAILED
                current.error = "no_answer"
                current.message = NOT_PLACED
                self._publish_order()
        self.loop.call_later(TICK_S, self._tick)

    def _publish_order(self) -> None:
        self.live.set("order", {"type": "order", "order": self._order_message()})

    def _order_message(self) -> dict[str, Any] | None:
        c = self.current
        if c is None:
            return None
        return {
            "id": c.id,
            "attempt": c.attempt,
            "state": c.state.value,
            "no": c.no,
            "total_fen": c.total_fen,
            "error": c.error,
            "message": c.message,
            "late": c.late,
            "printed": c.printed,
            "member_phone": c.member_phone,
            "waited_s": round(time.monotonic() - c.started, 1) if c.started else 0,
        }

    # --- the slip ------------------------------------------------------------------------
    def _print_slip(self, order: CurrentOrder) -> None:
        host, port = self.kiosk.printer_host, self.kiosk.printer_port
        assert host is not None and order.no is not None
        slip = Slip(
            order_no=order.no,
            total_fen=order.total_fen or 0,
            lines=tuple(self._slip_line(x) for x in order.lines),
            created_at=time.time(),
            kiosk=self.id,
            store_name=self.menu.store_name if self.menu is not None else "",
            member=order.member,
        )

        def work() -> None:
            try:
                send_slip(host, port, render_slip(slip))
                ok = True
            except OSError as exc:
                log.warning("%s: the slip printer %s:%s failed: %s", self.id, host, port, exc)
                ok = False
            self.loop.call_soon_threadsafe(lambda: self._printed(order, ok))

        threading.Thread(target=work, name="kiosk-slip", daemon=True).start()

    def _printed(self, order: CurrentOrder, ok: bool) -> None:
        order.printed = ok
        if order is self.current:
            self._publish_order()

    def _slip_line(self, line: KioskOrderLine) -> SlipLine:
        dish = self.menu.menu.dish(line.dish) if self.menu is not None else None
        if dish is None:
            return SlipLine(line.qty, line.dish, "")
        return SlipLine(line.qty, dish.name_zh, dish.name_en, _option_labels(dish, line.options))

    # --- the camera ----------------------------------------------------------------------
    def _code_read(self, text: str) -> None:
        """On the camera's thread: hand the code to the loop."""
        code = text.strip()[:MEMBER_CODE_MAX]
        if code:
            self.loop.call_soon_threadsafe(lambda: self._set_member(code))

    def _set_member(self, code: str | None) -> None:
        self.member = code
        shown = None if code is None else (code if len(code) <= 8 else "…" + code[-6:])
        self.live.set("member", {"type": "member", "code": shown})

    # --- the menu and its pictures -------------------------------------------------------
    def _menu_message(self) -> Message:
        if self.menu is None:
            return {"type": "menu", "menu": None}
        menu, sold_out = self.menu.menu, set(self.menu.sold_out)
        dishes = []
        for d in menu.dishes:
            item = d.model_dump(exclude={"station", "picture"})
            item["picture"] = f"/media/{d.picture}" if d.picture else None
            item["sold_out"] = d.id in sold_out
            dishes.append(item)
        return {
            "type": "menu",
            "menu": {
                "version": menu.version,
                "store_name": self.menu.store_name,
                "categories": [c.model_dump() for c in menu.categories],
                "dishes": dishes,
            },
        }

    def add_routes(self, app: FastAPI) -> None:
        hub_url = self.kiosk.hub_url.rstrip("/")
        # A hub serving HTTPS shows the certificate the store CA signed (`provision --tls`);
        # the CA in this kiosk's config is what vouches for it.
        ca = self.kiosk.mqtt.ca_certificate
        verify: ssl.SSLContext | bool = tls_context(ca) if ca is not None else True

        @app.get("/media/{name}", include_in_schema=False)
        async def media(name: str) -> Response:
            if not re.fullmatch(PICTURE_NAME, name) or name.startswith("."):
                raise HTTPException(404, "no such picture")
            with self._pictures_lock:
                kept = self.pictures.get(name)
            if kept is None and hub_url:
                kept = await _fetch_picture(f"{hub_url}/media/{name}", name, verify)
                if kept is not None:
                    with self._pictures_lock:
                        if len(self.pictures) >= PICTURES_MAX:
                            self.pictures.pop(next(iter(self.pictures)))
                        self.pictures[name] = kept
            if kept is None:
                raise HTTPException(404, "no such picture")
            body, media_type = kept
            return Response(body, media_type=media_type, headers={"Cache-Control": "no-cache"})


async def _fetch_picture(
    url: str, name: str, verify: ssl.SSLContext | bool = True
) -> tuple[bytes, str] | None:
    try:
        async with httpx.AsyncClient(timeout=5, verify=verify) as client:
            r = await client.get(url)
    except httpx.HTTPError as exc:
        log.info("picture %s not fetched from the hub: %s", name, exc)
        return None
    if r.status_code != 200 or len(r.content) > PICTURE_MAX_BYTES:
        return None
    suffix = name.rsplit(".", 1)[-1].lower()
    media_type = MEDIA_TYPES.get(suffix, r.headers.get("content-type", "application/octet-stream"))
    return r.content, media_type


def _option_labels(dish: Dish, options: dict[str, str]) -> tuple[str, ...]:
    labels = []
    for option_id, choice_id in options.items():
        option = dish.option(option_id)
        choice = option.choice(choice_id) if option is not None else None
        if choice is not None:
            labels.append(f"{choice.name_zh} {choice.name_en}")
    return tuple(labels)
