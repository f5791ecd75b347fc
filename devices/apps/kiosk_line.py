"""Taking a number for the line at the door at the kiosk (docs/waitlist.md): the diner taps the
party's size, the kiosk sends a QueueTakeEvent over MQTT, the hub answers with the number on
the kiosk's ack topic, and the kiosk prints a slip with a QR code of the number's phone page.

Like an order (devices/apps/kiosk.py): QoS 0 with an id made here, resent until answered, and
given up ACK_GRACE_S before the diner is told it failed, so that no copy is left that could
become a number for a party that walked away. The id is the hub's idempotency key: a resend
gets the same number.
"""

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract import EventAck, encode
from contract.const import QOS_KIOSK_ORDER, AckStatus
from contract.payloads import QueueTakeEvent
from devices.apps.slip import QueueSlip, render_queue_slip, send_slip

if TYPE_CHECKING:
    from devices.apps.kiosk import KioskApp

log = logging.getLogger(__name__)

ACK_GRACE_S = 5.0
LINE_AWAY = "请到前台取号 / Please ask at the counter for a number"
NOT_TAKEN = "未能取号，请到前台 / No number could be taken, please ask at the counter"
BAD_SIZE = "人数无效 / Not a valid number of people"


@dataclass
class Ticket:
    id: str
    attempt: str
    state: str  # sending | taken | rejected | failed | refused
    size: int
    started: float = 0.0
    stop_sending_at: float = 0.0
    deadline: float = 0.0
    number: str | None = None
    ahead: int | None = None
    est: tuple[int, int] | None = None
    url: str | None = None
    message: str | None = None
    printed: bool | None = None


class LineDesk:
    """The kiosk's side of the waitlist; every method runs on the kiosk's loop thread."""

    def __init__(self, kiosk: "KioskApp") -> None:
        self.kiosk = kiosk
        self.ticket: Ticket | None = None
        kiosk.live.set("line", {"type": "line", "ticket": None})

    def take(self, message: dict[str, Any]) -> None:
        attempt = str(message.get("attempt", ""))[:64]
        size = message.get("size")
        current = self.ticket
        if current is not None and (current.state == "sending" or current.attempt == attempt):
            self.publish()  # a double tap, or the page reconnected: the same request
            return
        k = self.kiosk
        if not isinstance(size, int) or isinstance(size, bool):
            self.ticket = Ticket("", attempt, "refused", 0, message=BAD_SIZE)
            self.publish()
            return
        if not (k.connected and k.hub_online):  # nothing is sent: the diner asks at the counter
            self.ticket = Ticket("", attempt, "refused", 0, message=LINE_AWAY)
            self.publish()
            return
        event_id = k.next_event_id()
        event = QueueTakeEvent(
            id=event_id, type="queue_take", party=size, ts_ms=int(time.time() * 1000)
        )
        now = time.monotonic()
        timeout = k.kiosk.order_timeout_s
        self.ticket = Ticket(
            event_id, attempt, "sending", size, now, now + timeout - ACK_GRACE_S, now + timeout
        )
        k.send_event(encode(event), event_id, qos=QOS_KIOSK_ORDER)
        self.publish()

    def answered(self, ack: EventAck) -> bool:
        """True when the ack was for a number (handled here), False when it is the order's."""
        t = self.ticket
        if t is None or ack.id != t.id:
            return False
        if t.state not in ("sending", "failed"):
            return True  # a second ack for a resend: already shown
        data = ack.data or {}
        if ack.status is AckStatus.OK:
            t.state = "taken"
            t.number = str(data.get("number", ""))
            ahead = data.get("ahead")
            t.ahead = ahead if isinstance(ahead, int) else None
            low, high = data.get("est_low_min"), data.get("est_high_min")
            t.est = (low, high) if isinstance(low, int) and isinstance(high, int) else None
            hub = self.kiosk.kiosk.hub_url.rstrip("/")
            t.url = f"{hub}/w/{data.get('token')}" if hub and data.get("token") else None
            if self.kiosk.kiosk.printer_host is not None:
                self._print(t)
        else:
            t.state = "rejected"
            text = data.get("message")
            t.message = text if isinstance(text, str) else NOT_TAKEN
        self.publish()
        return True

    def tick(self, now: float) -> None:
        t = self.ticket
        if t is None or t.state != "sending":
            return
        if now >= t.stop_sending_at and self.kiosk.pending.pop(t.id, None) is not None:
            log.warning("%s: no answer to number request %s; last copy sent", self.kiosk.id, t.id)
        if now >= t.deadline:
            t.state, t.message = "failed", NOT_TAKEN
            self.publish()

    def reset(self) -> None:
        if self.ticket is not None and self.ticket.state != "sending":
            self.ticket = None
            self.publish()

    def publish(self) -> None:
        t = self.ticket
        ticket = None
        if t is not None:
            ticket = {
                "attempt": t.attempt, "state": t.state, "size": t.size, "number": t.number,
                "ahead": t.ahead, "est": list(t.est) if t.est else None, "url": t.url,
                "message": t.message, "printed": t.printed,
            }  # fmt: skip
        self.kiosk.live.set("line", {"type": "line", "ticket": ticket})

    def _print(self, t: Ticket) -> None:
        k = self.kiosk
        host, port = k.kiosk.printer_host, k.kiosk.printer_port
        assert host is not None and t.number is not None
        slip = QueueSlip(
            number=t.number,
            size=t.size,
            ahead=t.ahead,
            est=t.est,
            url=t.url,
            created_at=time.time(),
            kiosk=k.id,
            store_name=k.menu.store_name if k.menu is not None else "",
        )

        def work() -> None:
            try:
                send_slip(host, port, render_queue_slip(slip))
                ok = True
            except OSError as exc:
                log.warning("%s: the slip printer %s:%s failed: %s", k.id, host, port, exc)
                ok = False
            k.loop.call_soon_threadsafe(lambda: self._printed(t, ok))

        threading.Thread(target=work, name="kiosk-queue-slip", daemon=True).start()

    def _printed(self, t: Ticket, ok: bool) -> None:
        t.printed = ok
        if t is self.ticket:
            self.publish()
