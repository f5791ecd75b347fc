"""Print jobs: queued with what they print, claimed and settled by the spooler.

A job is `pending` until the spooler claims it (`sending`, committed before the first byte
leaves) and `sent` once the printer took every byte. A job found `sending` at start-up may or
may not have printed; it goes again marked REPRINT, so a ticket is never lost and never
printed twice without saying so.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from contract.const import DeviceType
from contract.inventory import RECEIPT_STATION, Inventory
from contract.uplink import TicketPrinted, TicketPrintedEvent
from edge.orders.models import Order, OrderLine
from edge.printing.models import PENDING, SENDING, SENT, PrintJob
from edge.printing.tickets import TicketKind
from edge.uplink import service as outbox


@dataclass(frozen=True, slots=True)
class PrinterAddress:
    device_id: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Routes:
    """Which printer prints each station's tickets, from the inventory."""

    by_station: dict[str, str]
    receipt_printer: str
    addresses: dict[str, PrinterAddress]

    @classmethod
    def from_inventory(cls, inventory: Inventory) -> "Routes":
        printers = [d for d in inventory.devices if d.type is DeviceType.PRINTER and d.address]
        by_station: dict[str, str] = {}
        for p in printers:
            by_station.setdefault(p.station, p.id)
        addresses = {}
        for p in printers:
            host, port = p.address.rsplit(":", 1)
            addresses[p.id] = PrinterAddress(p.id, host, int(port))
        receipt = by_station.get(RECEIPT_STATION) or (printers[0].id if printers else "")
        return cls(by_station, receipt, addresses)

    def printer_for(self, station: str) -> str:
        return self.by_station.get(station, "")


class JobNotFound(LookupError):
    pass


def queue_kitchen_tickets(session: Session, routes: Routes, order: Order, now: float) -> None:
    """One ticket per station the order's lines go to, in the order's transaction."""
    stations: dict[str, list[int]] = {}
    for line in order.lines:
        stations.setdefault(line.station, []).append(line.id)
    for station, line_ids in stations.items():
        session.add(
            PrintJob(
                order_id=order.id,
                table_id=order.table_id,
                kind=TicketKind.KITCHEN.value,
                station=station,
                printer_id=routes.printer_for(station),
                line_ids=line_ids,
                created_at=now,
            )
        )


def queue_void_ticket(
    session: Session, routes: Routes, order: Order, line: OrderLine, now: float
) -> None:
    session.add(
        PrintJob(
            order_id=order.id,
            table_id=order.table_id,
            kind=TicketKind.VOID.value,
            station=line.station,
            printer_id=routes.printer_for(line.station),
            line_ids=[line.id],
            created_at=now,
        )
    )


def queue_receipt(
    session: Session,
    routes: Routes,
    table_id: str | None,
    orders: Iterable[Order],
    now: float,
    payment_uid: str | None = None,
) -> PrintJob | None:
    """The bill for a table's current party (or a kiosk order): every line still on its
    orders; with `payment_uid`, the paid receipt (coupon, points, what was paid)."""
    line_ids = [x.id for o in orders for x in o.lines if x.status == "ok"]
    if not line_ids:
        return None
    job = PrintJob(
        table_id=table_id,
        kind=TicketKind.RECEIPT.value,
        station=RECEIPT_STATION,
        printer_id=routes.receipt_printer,
        line_ids=line_ids,
        payment_uid=payment_uid,
        created_at=now,
    )
    session.add(job)
    return job


def queue_prize_ticket(
    session: Session,
    routes: Routes,
    table_id: str,
    station: str,
    prize: dict[str, str],
    now: float,
) -> PrintJob:
    """A game's free dish at its station's printer, marked PRIZE, in the play's transaction.
    `prize`: name_zh, name_en, campaign_zh, campaign_en, play."""
    job = PrintJob(
        table_id=table_id,
        kind=TicketKind.PRIZE.value,
        station=station,
        printer_id=routes.printer_for(station),
        line_ids=[],
        prize=prize,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def reprint(session: Session, uid: str, now: float) -> PrintJob:
    """Staff asked for a ticket again: a new job, marked REPRINT, on the same printer."""
    original = session.scalar(select(PrintJob).where(PrintJob.uid == uid))
    if original is None:
        raise JobNotFound(uid)
    job = PrintJob(
        order_id=original.order_id,
        table_id=original.table_id,
        kind=original.kind,
        station=original.station,
        printer_id=original.printer_id,
        line_ids=list(original.line_ids),
        prize=original.prize,
        reprint=True,
        reprint_of=original.id,
        created_at=now,
    )
    session.add(job)
    return job


def recover_interrupted(session: Session) -> int:
    """At start-up: jobs caught mid-send go again, marked REPRINT."""
    result = session.execute(
        update(PrintJob)
        .where(PrintJob.status == SENDING)
        .values(status=PENDING, reprint=True, last_error="interrupted while sending")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def next_job(session: Session, printer_id: str) -> PrintJob | None:
    """The printer's next job: kitchen work (tickets, voids, prizes) in the order it came, and
    receipts only when no kitchen work waits. A store without a cashier printer prints its
    receipts on a kitchen printer (Routes); a diner waits for a receipt at the till, a cook
    must never wait for one."""
    receipt_last = case((PrintJob.kind == TicketKind.RECEIPT.value, 1), else_=0)
    return session.scalar(
        select(PrintJob)
        .where(PrintJob.printer_id == printer_id, PrintJob.status == PENDING)
        .order_by(receipt_last, PrintJob.id)
        .limit(1)
    )


def claim(session: Session, job_id: int) -> PrintJob | None:
    job = session.get(PrintJob, job_id)
    if job is None or job.status != PENDING:
        return None
    job.status = SENDING
    job.attempts += 1
    return job


def release(session: Session, job_id: int) -> PrintJob:
    """A claimed job goes back unsent: the printer said it cannot print (paper out, cover
    open) when asked on the job's connection, before any of the ticket left."""
    job = session.get(PrintJob, job_id)
    assert job is not None and job.status == SENDING
    job.status = PENDING
    job.attempts -= 1  # not an attempt: only a status question went out
    return job


def settle_sent(session: Session, job_id: int, now: float) -> PrintJob:
    job = session.get(PrintJob, job_id)
    assert job is not None
    job.status = SENT
    job.sent_at = now
    job.last_error = None
    # Staff reprints are copies (their own job, reprint_of set); an original resent after a
    # power cut or a broken send is still the ticket HQ times, once, when it finally went.
    if job.order_id is not None and job.kind == TicketKind.KITCHEN.value and job.reprint_of is None:
        order = session.get(Order, job.order_id)
        assert order is not None
        # HQ's "time from order to kitchen ticket".
        printed = TicketPrinted(
            order=order.uid,
            station=job.station,
            printer=job.printer_id,
            ordered_at=order.created_at,
            printed_at=now,
            latency_s=round(now - order.created_at, 3),
        )
        outbox.enqueue(
            session, [TicketPrintedEvent(id=f"tp-{job.uid}", occurred_at=now, data=printed)]
        )
    return job


def settle_failed(session: Session, job_id: int, error: str, maybe_printed: bool) -> PrintJob:
    job = session.get(PrintJob, job_id)
    assert job is not None
    job.status = PENDING
    job.last_error = error[:200]
    if maybe_printed:
        job.reprint = True
    return job


def jobs_for_orders(session: Session, order_ids: Iterable[int]) -> dict[int, list[PrintJob]]:
    ids = list(order_ids)
    result: dict[int, list[PrintJob]] = {i: [] for i in ids}
    if ids:
        for job in session.scalars(
            select(PrintJob).where(PrintJob.order_id.in_(ids)).order_by(PrintJob.id)
        ):
            assert job.order_id is not None
            result[job.order_id].append(job)
    return result


def lines_by_id(session: Session, line_ids: Iterable[int]) -> list[OrderLine]:
    ids = list(line_ids)
    rows = {x.id: x for x in session.scalars(select(OrderLine).where(OrderLine.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def job_public(job: PrintJob) -> dict[str, object]:
    return {
        "id": job.uid,
        "station": job.station,
        "printer": job.printer_id,
        "kind": job.kind,
        "status": job.status,
        "reprint": job.reprint,
        "attempts": job.attempts,
        "error": job.last_error,
        "created_at": job.created_at,
        "sent_at": job.sent_at,
    }


def all_kitchen_sent(jobs: list[PrintJob]) -> bool:
    return all(j.status == SENT for j in jobs if j.kind == TicketKind.KITCHEN.value)
