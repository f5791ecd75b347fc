"""What happens to calls. Functions take an open Session; the caller commits."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from contract import CallButtonEvent
from contract.const import CallReason
from contract.inventory import DeviceSpec
from contract.uplink import CallAnswered, CallAnsweredEvent, CallOpened, CallOpenedEvent
from edge.calls.models import Call, CallEvent
from edge.telemetry import points
from edge.telemetry.buffer import buffer_points
from edge.uplink import service as outbox


@dataclass(frozen=True, slots=True)
class Press:
    device: DeviceSpec
    event: CallButtonEvent
    received_at: float


@dataclass(slots=True)
class PressOutcome:
    new_event_ids: list[tuple[str, str]]  # (device, event id) stored for the first time
    calls: list[Call]  # calls created or changed


class CallNotFound(LookupError):
    pass


def record_presses(session: Session, store: str, presses: Sequence[Press]) -> PressOutcome:
    """Store a batch of presses. A press whose (device, id) is already stored changes nothing.

    A press on a device that already has an open call adds to that call (the diner is
    pressing again), instead of opening a second one.
    """
    outcome = PressOutcome(new_event_ids=[], calls=[])
    if not presses:
        return outcome
    devices = {p.device.id for p in presses}
    # Both columns in the filter, so SQLite walks the (device_id, event_id) unique index
    # instead of scanning every press ever stored.
    stored = {
        (row[0], row[1])
        for row in session.execute(
            select(CallEvent.device_id, CallEvent.event_id).where(
                CallEvent.device_id.in_(devices),
                CallEvent.event_id.in_({p.event.id for p in presses}),
            )
        )
    }
    open_calls = {
        c.device_id: c
        for c in session.scalars(
            select(Call).where(Call.acked_at.is_(None), Call.device_id.in_(devices))
        )
    }
    fresh: list[Press] = []
    opened: list[tuple[Press, Call]] = []
    for press in presses:
        key = (press.device.id, press.event.id)
        if key in stored:
            continue
        stored.add(key)
        fresh.append(press)
        call = open_calls.get(press.device.id)
        if call is None:
            call = Call(
                device_id=press.device.id,
                zone=press.device.zone,
                table_name=press.device.table,
                reason=press.event.reason.value,
                created_at=press.received_at,
                last_press_at=press.received_at,
                presses=0,
            )
            session.add(call)
            open_calls[press.device.id] = call
            opened.append((press, call))
        call.presses += 1
        call.last_press_at = press.received_at
        outcome.new_event_ids.append(key)
    if not fresh:
        return outcome
    session.flush()  # one flush gives every new call its id
    session.execute(
        insert(CallEvent),
        [
            {
                "device_id": p.device.id,
                "event_id": p.event.id,
                "call_id": open_calls[p.device.id].id,
                "received_at": p.received_at,
                "reason": p.event.reason.value,
                "device_ts_ms": p.event.ts_ms,
            }
            for p in fresh
        ],
    )
    buffer_points(session, [points.call_opened(store, c) for _, c in opened])
    outbox.enqueue(session, [_opened_event(c) for _, c in opened])
    outcome.calls = list(
        {open_calls[p.device.id].id: open_calls[p.device.id] for p in fresh}.values()
    )
    return outcome


QR_CALLER_PREFIX = "qr-"  # calls from a table's QR page stand where a device id would
CALLER_MAX = 32  # calls.device_id


def qr_caller(table_id: str) -> str:
    """The caller id of a table's QR page: `qr-<table>`, within the 32 characters a device id
    has. A longer one keeps its start (readable) and ends in a hash of the whole id, so two
    tables whose ids share a long prefix never share an open call."""
    caller = QR_CALLER_PREFIX + table_id
    if len(caller) <= CALLER_MAX:
        return caller
    digest = hashlib.sha256(table_id.encode()).hexdigest()[:12]
    return f"{caller[: CALLER_MAX - len(digest) - 1]}~{digest}"


def call_from_table(
    session: Session, store: str, table_id: str, table_name: str, zone: str, reason: str, now: float
) -> Call:
    """A diner called from the table's page. Like a second press, calling again while a call
    is open adds to it; asking for the bill makes the open call a bill call."""
    caller = qr_caller(table_id)
    call = session.scalar(select(Call).where(Call.acked_at.is_(None), Call.device_id == caller))
    if call is not None:
        call.presses += 1
        call.last_press_at = now
        if reason == CallReason.BILL:
            call.reason = reason
        return call
    call = Call(
        device_id=caller,
        zone=zone,
        table_name=table_name,
        reason=reason,
        created_at=now,
        last_press_at=now,
        presses=1,
    )
    session.add(call)
    session.flush()
    buffer_points(session, [points.call_opened(store, call)])
    outbox.enqueue(session, [_opened_event(call)])
    return call


def acknowledge(session: Session, store: str, call_id: int, staff: str, now: float) -> Call:
    """Mark a call answered by `staff`. Acknowledging twice keeps the first answer."""
    call = session.get(Call, call_id)
    if call is None:
        raise CallNotFound(call_id)
    if call.acked_at is None:
        call.acked_at = now
        call.acked_by = staff
        call.response_s = response_s = round(now - call.created_at, 3)
        buffer_points(session, [points.call_answered(store, call)])
        answered = CallAnswered(
            call=call.uid,
            device=call.device_id,
            zone=call.zone,
            table=call.table_name,
            reason=call.reason,
            opened_at=call.created_at,
            acked_by=staff,
            response_s=response_s,
            urgent=call.urgent_at is not None,
        )
        outbox.enqueue(
            session, [CallAnsweredEvent(id=f"ca-{call.uid}", occurred_at=now, data=answered)]
        )
    return call


def _opened_event(call: Call) -> CallOpenedEvent:
    """What HQ learns of a call opened: where, why (answered: who, how fast; see acknowledge)."""
    data = CallOpened(
        call=call.uid,
        device=call.device_id,
        zone=call.zone,
        table=call.table_name,
        reason=call.reason,
        opened_at=call.created_at,
    )
    return CallOpenedEvent(id=f"co-{call.uid}", occurred_at=call.created_at, data=data)


def escalate(session: Session, now: float, urgent_after_s: float) -> list[Call]:
    """Mark calls unanswered for longer than `urgent_after_s` as urgent; return them."""
    rows = session.scalars(
        update(Call)
        .where(
            Call.acked_at.is_(None),
            Call.urgent_at.is_(None),
            Call.created_at <= now - urgent_after_s,
        )
        .values(urgent_at=now)
        .returning(Call)
    )
    return list(rows)


def open_calls(session: Session) -> list[Call]:
    return list(session.scalars(select(Call).where(Call.acked_at.is_(None)).order_by(Call.id)))


def recent_calls(session: Session, limit: int) -> list[Call]:
    return list(session.scalars(select(Call).order_by(Call.id.desc()).limit(limit)))
