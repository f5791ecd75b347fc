"""One thread per printer: takes its pending jobs in order and sends them over TCP. It is the
only one that talks to its printer, so its status questions never interleave with a ticket.

It asks the printer how it is (ESC/POS DLE EOT, contract/printer_status.py): before each job
and right after it, on the job's own connection, and every `printer_status_every_s` while
idle, on a connection of its own. Jobs wait (pending, nothing is lost) while the printer says
paper out, cover open or offline (asked again every HELD_POLL_S), while its bridge reports the
same over MQTT, and while its TCP port refuses (retried with backoff); the board shows an
alarm for each. A printer that takes the connection but does not answer is unknown: it
prints as before status existed, and no alarm changes. A job is marked `sending` in a
committed transaction before the first byte (status questions included) leaves.
"""

import logging
import random
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contract.const import CoverState, PaperLevel, Presence
from contract.menu import MenuFile
from contract.printer_status import PrinterStatus
from edge.core.bus import EventBus
from edge.core.worker import Worker
from edge.devices import service as devices
from edge.devices.events import DevicesChanged
from edge.devices.models import Device
from edge.devices.service import DeviceChanges
from edge.orders.models import Order, Payment
from edge.printing import service as jobs
from edge.printing.events import PrintJobsChanged
from edge.printing.models import PrintJob
from edge.printing.service import PrinterAddress
from edge.printing.tickets import Ticket, TicketKind, TicketLine, render, yuan
from edge.printing.transport import (
    PrinterHungUp,
    PrinterLink,
    PrinterUnreachable,
    PrintInterrupted,
)
from edge.tables.models import DiningTable
from edge.telemetry import points
from edge.telemetry.buffer import buffer_points

log = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0
HELD_POLL_S = 1.0  # a printer holding tickets (paper out...) is asked this often
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
SEND_TIMEOUT_S = 5.0
STATUS_TIMEOUT_S = 1.0
KIOSK_LABEL = "自助点餐 Kiosk"


def printer_blocked(device: Device | None) -> str | None:
    """Why the printer cannot take a ticket now, by its bridge's last report (MQTT); None if
    it can. (What the printer answers the spooler itself is the worker's `hold`.) An offline
    bridge's last report is stale, as for its alarms: the spooler asks the printer instead."""
    if device is None or device.state == Presence.OFFLINE:
        return None
    if device.paper == PaperLevel.OUT:
        return "paper out"
    if device.cover == CoverState.OPEN:
        return "cover open"
    if device.printer_online is False:
        return "printer off"
    return None


def build_ticket(session: Session, menu: MenuFile, job: PrintJob, store_name: str) -> Ticket:
    if job.prize is not None:
        return _prize_ticket(session, menu, job)
    lines = jobs.lines_by_id(session, job.line_ids)
    order = session.get(Order, job.order_id) if job.order_id is not None else None
    station = menu.station(job.station)
    if order is not None:
        table = order.table_name if order.table_id else f"{KIOSK_LABEL} {order.device_id or ''}"
        no, created_at, note = order.no, order.created_at, order.note
    else:
        table_row = session.get(DiningTable, job.table_id) if job.table_id else None
        table = table_row.name if table_row else (job.table_id or "")
        no, created_at, note = 0, job.created_at, ""
    return Ticket(
        kind=TicketKind(job.kind),
        job_id=job.uid,
        station=station.label if station else job.station,
        table=table,
        order_no=no,
        created_at=created_at,
        lines=tuple(
            TicketLine(
                name_zh=x.name_zh,
                name_en=x.name_en,
                qty=x.qty,
                options=tuple(f"{o['name_zh']} {o['name_en']}" for o in x.options),
                note=x.note,
                line_total_fen=x.unit_price_fen * x.qty,
            )
            for x in lines
        ),
        note=note,
        reprint=job.reprint,
        kiosk=order is not None and order.table_id is None,
        total_fen=sum(x.unit_price_fen * x.qty for x in lines),
        store_name=store_name,
        summary=_paid_summary(session, job.payment_uid) if job.payment_uid else (),
    )


def _prize_ticket(session: Session, menu: MenuFile, job: PrintJob) -> Ticket:
    """A game's free dish: no order behind it; the play and campaign say where it came from."""
    assert job.prize is not None
    prize = job.prize
    station = menu.station(job.station)
    table_row = session.get(DiningTable, job.table_id) if job.table_id else None
    return Ticket(
        kind=TicketKind.PRIZE,
        job_id=job.uid,
        station=station.label if station else job.station,
        table=table_row.name if table_row else (job.table_id or ""),
        order_no=0,
        created_at=job.created_at,
        lines=(TicketLine(name_zh=str(prize["name_zh"]), name_en=str(prize["name_en"]), qty=1),),
        note=f"{prize['campaign_zh']} {prize['campaign_en']} · {prize['play']}",
        reprint=job.reprint,
    )


def _paid_summary(session: Session, payment_uid: str) -> tuple[tuple[str, str], ...]:
    """A paid receipt's lines under the total, in Chinese and English."""
    payment = session.scalar(select(Payment).where(Payment.uid == payment_uid))
    if payment is None:
        return ()
    rows: list[tuple[str, str]] = []
    if payment.coupon_off_fen:
        rows.append((f"优惠券 Coupon {payment.coupon_code}", yuan(-payment.coupon_off_fen)))
    if payment.points_used:
        rows.append((f"积分抵扣 Points used {payment.points_used}", yuan(-payment.points_off_fen)))
    rows.append(("实付 Paid", yuan(payment.amount_fen)))
    if payment.member_id is not None:
        rows.append(("本次积分 Points earned", f"+{payment.points_earned}"))
        if payment.points_balance is not None:
            rows.append(("积分余额 Points balance", str(payment.points_balance)))
    return tuple(rows)


class PrinterWorker(Worker):
    # A step may connect, ask, send and ask again, each bounded by SEND_TIMEOUT_S.
    join_timeout_s = 3 * SEND_TIMEOUT_S + 5

    def __init__(
        self,
        address: PrinterAddress,
        sessions: sessionmaker[Session],
        menu: Callable[[], MenuFile],
        store_name: str,
        battery_low_pct: float,
        bus: EventBus,
        status_every_s: float = 15.0,
        status_timeout_s: float = STATUS_TIMEOUT_S,
        store: str = "",
    ) -> None:
        super().__init__()
        self.name = f"spool-{address.device_id}"
        self.address = address
        self._sessions = sessions
        self._menu = menu
        self._store_name = store_name
        self._battery_low_pct = battery_low_pct
        self._bus = bus
        self._status_every_s = status_every_s
        self._status_timeout_s = status_timeout_s
        self._store = store
        self._failures = 0
        # Why the printer's own last answer says tickets must wait; None: they may go.
        self.hold: str | None = None
        self._next_poll = 0.0  # monotonic: the first idle poll right at start

    def run(self) -> None:
        while not self.stopping:
            try:
                delay = self._step()
            except Exception:
                log.exception("print spooler for %s failed; retrying", self.address.device_id)
                delay = RETRY_MAX_S
            if delay:
                self.wait(delay)

    def _step(self) -> float:
        """Print one job, or ask the printer how it is; return how long to wait before the
        next step (0: go on)."""
        printer = self.address.device_id
        with self._sessions.begin() as session:
            job = jobs.next_job(session, printer)
            job_id = job.id if job is not None else None
            reported = printer_blocked(session.get(Device, printer)) if job_id else None
        if job_id is None:
            return self._idle()
        if reported is not None:
            return IDLE_WAIT_S  # its bridge's alarm is on the board already
        if self.hold is not None:
            wait = self._next_poll - time.monotonic()
            if wait > 0:
                return min(wait, IDLE_WAIT_S)
            self._poll(HELD_POLL_S)
            if self.hold is not None:
                return HELD_POLL_S  # still paper out, cover open...: its alarm is up
        return self._print(job_id)

    def _idle(self) -> float:
        if self._status_every_s <= 0:
            return IDLE_WAIT_S
        wait = self._next_poll - time.monotonic()
        if wait <= 0:
            self._poll(self._status_every_s)
            wait = self._next_poll - time.monotonic()
        return max(min(wait, IDLE_WAIT_S), 0.01)

    def _poll(self, every_s: float) -> None:
        """Ask the printer how it is, on a connection of its own (no ticket is in flight)."""
        a = self.address
        answer, reachable = None, True
        try:
            with PrinterLink(a.host, a.port, SEND_TIMEOUT_S) as link:
                answer = link.status(self._status_timeout_s)
        except PrinterUnreachable:
            reachable = False  # powered off, unplugged: its alarm says so
        except PrinterHungUp:
            pass  # took the connection and said nothing: unknown
        self._next_poll = time.monotonic() + every_s
        # Refused: the next job finds out for itself, with its own alarm and backoff.
        self.hold = answer.blocked if answer is not None else None
        with self._sessions.begin() as session:
            changes = self._found(session, answer, reachable)
        self._tell(None, changes)

    def _print(self, job_id: int) -> float:
        with self._sessions.begin() as session:
            claimed = jobs.claim(session, job_id)
            assert claimed is not None
            data = render(build_ticket(session, self._menu(), claimed, self._store_name))
            order_id = claimed.order_id
        # Committed as `sending`: from here a crash means "maybe printed".
        a = self.address
        try:
            link = PrinterLink(a.host, a.port, SEND_TIMEOUT_S)
        except PrinterUnreachable as exc:
            return self._failed(job_id, order_id, exc, maybe_printed=False, reachable=False)
        with link:
            try:
                before = link.status(self._status_timeout_s)
            except PrinterHungUp as exc:
                return self._failed(job_id, order_id, exc, maybe_printed=False, reachable=True)
            if before is not None and before.blocked is not None:
                return self._held(job_id, before)
            try:
                link.send(data)
                # A printer answers once it has the bytes before the question (a bridge: once
                # it wrote them to its printer); a printer that did not answer before is not
                # asked again.
                after = link.status(SEND_TIMEOUT_S) if before is not None else None
            except (PrintInterrupted, PrinterHungUp) as exc:
                return self._failed(job_id, order_id, exc, maybe_printed=True, reachable=True)
        self._failures = 0
        answer = after or before
        self.hold = answer.blocked if answer is not None else None
        with self._sessions.begin() as session:
            jobs.settle_sent(session, job_id, time.time())
            changes = self._found(session, answer, True)
        self._tell(order_id, changes)
        return 0.0

    def _held(self, job_id: int, answer: PrinterStatus) -> float:
        """Asked on the job's connection, the printer said it cannot print: the job waits."""
        printer = self.address.device_id
        self.hold = answer.blocked
        self._next_poll = time.monotonic() + HELD_POLL_S
        with self._sessions.begin() as session:
            jobs.release(session, job_id)
            changes = self._found(session, answer, True)
        self._tell(None, changes)
        log.warning("printer %s: %s; its tickets wait", printer, self.hold)
        return HELD_POLL_S

    def _failed(
        self,
        job_id: int,
        order_id: int | None,
        exc: OSError,
        maybe_printed: bool,
        reachable: bool,
    ) -> float:
        printer = self.address.device_id
        error = f"{'interrupted' if maybe_printed else 'unreachable'}: {exc}"[:200]
        self.hold = None
        with self._sessions.begin() as session:
            jobs.settle_failed(session, job_id, error, maybe_printed=maybe_printed)
            changes = self._found(session, None, reachable, error)
        self._tell(order_id, changes)
        self._failures += 1
        backoff = min(RETRY_FIRST_S * 2.0 ** (self._failures - 1), RETRY_MAX_S)
        log.warning("printer %s: %s; retry in %.1fs", printer, error, backoff)
        return backoff * random.uniform(0.8, 1.2)

    def _found(
        self,
        session: Session,
        answer: PrinterStatus | None,
        reachable: bool,
        print_error: str | None = None,
    ) -> DeviceChanges:
        """What the spooler found, on the printer's device row, its alarms and their InfluxDB
        points, in the caller's transaction."""
        changes = devices.read_printer(
            session,
            self.address.device_id,
            answer,
            reachable,
            self._battery_low_pct,
            time.time(),
            print_error=print_error,
        )
        buffer_points(
            session,
            [points.device_alarm(self._store, a, True) for a in changes.raised]
            + [points.device_alarm(self._store, a, False) for a in changes.cleared],
        )
        return changes

    def _tell(self, order_id: int | None, changes: DeviceChanges) -> None:
        if order_id is not None:
            self._bus.publish(PrintJobsChanged([order_id]))
        if changes:
            self._bus.publish(DevicesChanged(changes))


class Spooler:
    """A worker per printer with an address in the inventory."""

    def __init__(self, workers: list[PrinterWorker]) -> None:
        self.workers = {w.address.device_id: w for w in workers}

    def start(self) -> None:
        for w in self.workers.values():
            w.start()

    def stop(self) -> None:
        for w in self.workers.values():
            w.stop()

    def nudge(self, printer_ids: set[str] | None = None) -> None:
        for pid, w in self.workers.items():
            if printer_ids is None or pid in printer_ids:
                w.nudge()
