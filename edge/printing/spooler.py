"""One thread per printer: takes its pending jobs in order and sends them over TCP.

Waits (jobs stay pending, nothing is lost) while the printer's bridge reports paper out, the
cover open or the printer off, and while its TCP port refuses; the board shows an alarm for
each. A job is marked `sending` in a committed transaction before the first byte leaves.
"""

import logging
import random
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from contract.const import CoverState, PaperLevel
from contract.menu import MenuFile
from edge.core.bus import EventBus
from edge.core.worker import Worker
from edge.devices import service as devices
from edge.devices.events import DevicesChanged
from edge.devices.models import Device
from edge.devices.service import DeviceChanges
from edge.orders.models import Order
from edge.printing import service as jobs
from edge.printing.events import PrintJobsChanged
from edge.printing.models import PrintJob
from edge.printing.service import PrinterAddress
from edge.printing.tickets import Ticket, TicketKind, TicketLine, render
from edge.printing.transport import PrinterUnreachable, PrintInterrupted, send
from edge.tables.models import DiningTable

log = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
SEND_TIMEOUT_S = 5.0
KIOSK_LABEL = "自助点餐 Kiosk"


def printer_blocked(device: Device | None) -> str | None:
    """Why the printer cannot take a ticket now, by its bridge's last report; None if it can."""
    if device is None:
        return None
    if device.paper == PaperLevel.OUT:
        return "paper out"
    if device.cover == CoverState.OPEN:
        return "cover open"
    if device.printer_online is False:
        return "printer off"
    return None


def build_ticket(session: Session, menu: MenuFile, job: PrintJob, store_name: str) -> Ticket:
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
    )


class PrinterWorker(Worker):
    join_timeout_s = SEND_TIMEOUT_S + 5

    def __init__(
        self,
        address: PrinterAddress,
        sessions: sessionmaker[Session],
        menu: Callable[[], MenuFile],
        store_name: str,
        battery_low_pct: float,
        bus: EventBus,
    ) -> None:
        super().__init__()
        self.name = f"spool-{address.device_id}"
        self.address = address
        self._sessions = sessions
        self._menu = menu
        self._store_name = store_name
        self._battery_low_pct = battery_low_pct
        self._bus = bus
        self._failures = 0

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
        """Print one job; return how long to wait before the next step (0: go on)."""
        printer = self.address.device_id
        with self._sessions.begin() as session:
            job = jobs.next_job(session, printer)
            if job is None:
                return IDLE_WAIT_S
            blocked = printer_blocked(session.get(Device, printer))
            if blocked is not None:
                return IDLE_WAIT_S  # its bridge's alarm is on the board already
            claimed = jobs.claim(session, job.id)
            assert claimed is not None
            data = render(build_ticket(session, self._menu(), claimed, self._store_name))
            job_id, order_id = claimed.id, claimed.order_id
        # Committed as `sending`: from here a crash means "maybe printed".
        try:
            send(self.address.host, self.address.port, data, SEND_TIMEOUT_S)
        except (PrinterUnreachable, PrintInterrupted) as exc:
            maybe = isinstance(exc, PrintInterrupted)
            error = f"{'interrupted' if maybe else 'unreachable'}: {exc}"[:200]
            with self._sessions.begin() as session:
                jobs.settle_failed(session, job_id, error, maybe_printed=maybe)
                changes = devices.set_print_error(
                    session, printer, error, self._battery_low_pct, time.time()
                )
            self._tell(order_id, changes)
            self._failures += 1
            backoff = min(RETRY_FIRST_S * 2.0 ** (self._failures - 1), RETRY_MAX_S)
            log.warning("printer %s: %s; retry in %.1fs", printer, error, backoff)
            return backoff * random.uniform(0.8, 1.2)
        self._failures = 0
        with self._sessions.begin() as session:
            jobs.settle_sent(session, job_id, time.time())
            changes = devices.set_print_error(
                session, printer, None, self._battery_low_pct, time.time()
            )
        self._tell(order_id, changes)
        return 0.0

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
