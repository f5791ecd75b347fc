"""The waitlist domain: numbers at the door (kiosk over MQTT, phones over HTTP), the line the
staff call from, the board every queue screen shows (retained on store/{store}/hub/waitlist),
each waiting phone's live page, and reservations by slot (docs/waitlist.md)."""

import json
import logging
import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract import EventAck, encode, parse_payload
from contract.const import QOS_STATE, AckStatus, EventType
from contract.inventory import DeviceSpec
from contract.menu import StoreConfig
from contract.payloads import GroupBoard, QueueTakeEvent, WaitlistBoard
from contract.store_requests import KIND_BOOKING, BookingAsk
from contract.topics import waitlist_topic
from contract.waitlist import RECENT_CALLED, WaitlistConfig
from edge.auth import RateLimiter
from edge.core.domain import AfterCommit, Domain, HubContext, Startable
from edge.core.ingest import checked
from edge.core.worker import Worker
from edge.members import ledger
from edge.members.domain import MembersDomain
from edge.members.models import Member
from edge.menu.domain import ConfigApplied, MenuDomain
from edge.orders import errors
from edge.orders.errors import OrderError
from edge.uplink.domain import UplinkDomain
from edge.uplink.events import FactsCommitted
from edge.waitlist import service
from edge.waitlist.models import Booking, WaitParty
from edge.waitlist.tokens import NumberSigner

log = logging.getLogger(__name__)

BOARD_REFRESH_S = 30.0  # estimates on the screens and phones age: republished this often
LIVE_KEY = "waitlist"  # the phones' live feed key (hub.diners)


@dataclass(frozen=True, slots=True)
class KioskTake:
    device: DeviceSpec
    event: QueueTakeEvent
    received_at: float


def is_queue_take(payload: bytes) -> bool:
    """Whether a kiosk's event is a number request (the kiosk domain hands those here)."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and data.get("type") == EventType.QUEUE_TAKE.value


def parse_kiosk_take(device: DeviceSpec, payload: bytes, now: float) -> KioskTake:
    return KioskTake(device, checked(device, parse_payload(payload, QueueTakeEvent)), now)


class TakeIntake(Worker):
    """Issues kiosk numbers one at a time, off the MQTT thread (each takes a transaction)."""

    name = "waitlist-kiosk"

    def __init__(self, domain: "WaitlistDomain") -> None:
        super().__init__()
        self._domain = domain
        self._queue: queue.SimpleQueue[KioskTake | None] = queue.SimpleQueue()

    def submit(self, item: KioskTake) -> None:
        self._queue.put(item)

    def on_stop(self) -> None:
        self._queue.put(None)

    def run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._domain.answer_kiosk(item)
            except Exception:
                # Unanswered: the kiosk resends with the same id, and the key makes it one number.
                log.exception("kiosk number %s failed", item.event.id)


class WaitlistDomain(Domain):
    name = "waitlist"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        s = hub.settings
        self.signer = NumberSigner(s.secret_key.get_secret_value(), hub.store)
        self._menu = hub.get(MenuDomain)
        self._members = hub.get(MembersDomain)
        # Numbers cost nothing but a place in the line: a script must not fill the line.
        self.phone_takes = RateLimiter(s.waitlist_takes_per_client_per_minute)
        self.kiosk_takes = RateLimiter(s.waitlist_takes_per_kiosk_per_minute)
        self.bookings = RateLimiter(s.bookings_per_client_per_minute)
        self.intake = TakeIntake(self)
        self._published_at = 0.0
        hub.bus.subscribe(ConfigApplied, lambda _e: self.changed())
        hub.get(UplinkDomain).requests.register(KIND_BOOKING, self.book_for_hq)

    @classmethod
    def router(cls) -> APIRouter:
        from edge.waitlist.routes import router

        return router

    @property
    def config(self) -> WaitlistConfig:
        store = self._menu.config
        return store.waitlist if store is not None else WaitlistConfig()

    @property
    def store_config(self) -> StoreConfig | None:
        """HQ's whole configuration (opening hours for bookings); None before HQ sent one."""
        return self._menu.config

    def start(self) -> None:
        super().start()
        self.publish_board()

    def workers(self) -> Sequence[Startable]:
        return (self.intake,)

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        if now - self._published_at < BOARD_REFRESH_S:
            return None
        self._published_at = now
        return self.publish_board  # the screens' estimates; the phones ask every 30 s

    # --- taking a number ---------------------------------------------------------------

    def priority_of(self, session: Session, member_id: str | None, now: float) -> bool:
        if member_id is None or not self._members.enabled:
            return False
        member = session.get(Member, member_id)
        if member is None or member.erased:  # an erased member is nobody's priority
            return False
        config = self._members.config
        return ledger.level_id(session, config, member, now) in self.config.priority_levels

    def take(
        self, key: str, size: int, source: str, now: float, member_id: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        with self.hub.sessions.begin() as session:
            priority = self.priority_of(session, member_id, now)
            taken = service.take_number(
                session, self.config, key, size, source, now, member_id, priority
            )
            public = self.public(session, taken.party, now)
        if taken.created:
            self.changed()
        return public, taken.created

    def answer_kiosk(self, item: KioskTake) -> None:
        event, device = item.event, item.device
        try:
            if not self.kiosk_takes.take(device.id):
                raise errors.rate_limited()
            public, _ = self.take(
                f"kiosk:{device.id}:{event.id}", event.party, service.FROM_KIOSK, time.time()
            )
        except OrderError as err:
            ack = EventAck(
                id=event.id, status=AckStatus.REJECTED, error=err.code,
                data={"message": err.message},
            )  # fmt: skip
        else:
            ack = EventAck(
                id=event.id,
                status=AckStatus.OK,
                data={
                    "number": public["number"],
                    "group": public["group"],
                    "size": public["size"],
                    "ahead": public["ahead"],
                    "est_low_min": public["est_low_min"],
                    "est_high_min": public["est_high_min"],
                    "token": public["token"],
                },
            )
        self.hub.mqtt.publish_ack(device.type, device.id, encode(ack))

    # --- bookings ----------------------------------------------------------------------

    def book(
        self, request: service.BookingRequest, member_id: str | None, now: float
    ) -> tuple[dict[str, Any], bool]:
        """A booking by the rules of the store (its capacity, its hours, the member's
        priority); the booking as staff see it, and whether it is new."""
        with self.hub.sessions.begin() as session:
            priority = self.priority_of(session, member_id, now)
            booking, created = service.book(
                session, self.config, self.store_config, request, now, member_id, priority
            )
            public = booking_public(booking)
        if created:
            self.changed()
        return public, created

    def book_for_hq(self, request_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A booking HQ took for this store (edge/uplink/requests_pull.py): decided here like
        one from the booking page; HQ's request id is its key, so a request handed again is
        the same booking."""
        try:
            ask = BookingAsk.model_validate(body)
        except ValidationError:
            err = service.bad_request()
            return err.status, {"detail": err.detail()}
        request = service.BookingRequest(
            f"hq:{request_id}", ask.day, ask.slot, ask.size, ask.name, ask.phone
        )
        try:
            public, created = self.book(request, ask.member_id, time.time())
        except OrderError as err:
            return err.status, {"detail": err.detail()}
        return (201 if created else 200), public

    # --- what people see ---------------------------------------------------------------

    def party_of_token(self, session: Session, token: str) -> WaitParty:
        uid = self.signer.verify(token)
        if uid is None:
            raise service.bad_token()
        try:
            return service.by_uid(session, uid)
        except OrderError:
            raise service.bad_token() from None

    def public(self, session: Session, party: WaitParty, now: float) -> dict[str, Any]:
        """A party as its phone page (and the kiosk's slip) shows it."""
        config = self.config
        group = config.group(party.grp)
        ahead = service.ahead_of(session, config, party)
        est = (
            service.estimate_ahead(session, config, group, ahead, now)
            if group is not None and party.status == service.WAITING
            else None
        )
        low, high = est.minutes if est is not None else (None, None)
        return {
            "number": party.number,
            "group": party.grp,
            "group_zh": group.name_zh if group else "",
            "group_en": group.name_en if group else "",
            "size": party.size,
            "status": party.status,
            "ahead": ahead,
            "est_low_min": low,
            "est_high_min": high,
            "priority": party.priority,
            # The phone page says it honestly: priority parties may go first, but nobody is
            # passed over more than this many times.
            "max_passed_over": config.max_passed_over,
            "passed_over": party.passed_over,
            "called_at": party.called_at,
            "calls": party.calls,
            "taken_at": party.created_at,
            "token": self.signer.sign(party.uid),
            "source": party.source,
            "table": party.table_id,
        }

    def board_doc(self, session: Session, now: float) -> WaitlistBoard:
        config = self.config
        day = service.local_day(now)
        rows = list(
            session.scalars(
                select(WaitParty)
                .where(WaitParty.day == day, WaitParty.called_at.is_not(None))
                .order_by(WaitParty.called_at.desc())
            )
        )
        groups = []
        for g in config.groups:
            called = [p for p in rows if p.grp == g.id]
            calling = next((p for p in called if p.status == service.CALLED), None)
            line = service.waiting(session, day, g.id)
            est = service.estimate_ahead(session, config, g, len(line), now)
            low, high = est.minutes
            groups.append(
                GroupBoard(
                    group=g.id,
                    name_zh=g.name_zh,
                    name_en=g.name_en,
                    calling=calling.number if calling else None,
                    recent=[p.number for p in called if p is not calling][:RECENT_CALLED],
                    waiting=len(line),
                    est_low_min=low,
                    est_high_min=high,
                )
            )
        latest = rows[0] if rows else None
        return WaitlistBoard(
            groups=groups,
            call_seq=sum(p.calls for p in rows),
            called=latest.number if latest else None,
            called_at_ms=int(latest.called_at * 1000) if latest and latest.called_at else None,
            ts_ms=int(now * 1000),
        )

    def publish_board(self) -> None:
        now = time.time()
        self._published_at = now  # the writer's tick republishes BOARD_REFRESH_S after this
        with self.hub.reads() as session:
            doc = self.board_doc(session, now)
        self.hub.mqtt.publish(waitlist_topic(self.hub.store), encode(doc), QOS_STATE, retain=True)

    def changed(self) -> None:
        """After a commit that changed the line: the screens, the phones and the staff."""
        self.publish_board()
        self.hub.diners.publish({"type": "waitlist"}, key=LIVE_KEY)
        self.hub.board.publish({"type": "waitlist"})
        self.hub.bus.publish(FactsCommitted())

    def staff_view(self, session: Session, now: float) -> dict[str, Any]:
        config = self.config
        day = service.local_day(now)
        groups = []
        for g in config.groups:
            order = service.call_order(service.waiting(session, day, g.id), config.max_passed_over)
            called = session.scalars(
                select(WaitParty)
                .where(WaitParty.day == day, WaitParty.grp == g.id)
                .where(WaitParty.status.in_((service.CALLED, service.NO_SHOW)))
                .order_by(WaitParty.called_at.desc())
            )
            groups.append(
                {
                    "id": g.id, "name_zh": g.name_zh, "name_en": g.name_en,
                    "min_size": g.min_size, "max_size": g.max_size,
                    "waiting": [self._row(p, now) for p, _ in order],
                    "called": [self._row(p, now) for p in called],
                }
            )  # fmt: skip
        bookings = [booking_public(b) for b in service.day_bookings(session, day)]
        return {
            "groups": groups,
            "bookings": bookings,
            "no_show_grace_s": config.no_show_grace_s,
            "now": now,
        }

    @staticmethod
    def _row(p: WaitParty, now: float) -> dict[str, Any]:
        return {
            "id": p.uid, "number": p.number, "size": p.size, "status": p.status,
            "priority": p.priority, "passed_over": p.passed_over, "source": p.source,
            "waited_s": now - p.created_at, "called_at": p.called_at, "calls": p.calls,
            "est_low_s": p.est_low_s, "est_high_s": p.est_high_s,
        }  # fmt: skip


def booking_public(b: Booking) -> dict[str, Any]:
    """A booking as staff and its diner see it: the phone only masked."""
    return {
        "id": b.uid, "day": b.day, "slot": b.slot, "group": b.grp, "size": b.size,
        "name": b.name, "phone": b.phone_mask, "status": b.status,
    }  # fmt: skip
