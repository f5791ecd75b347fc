"""Placing, voiding and finishing orders. Functions take an open Session; the caller commits.

An order, its lines, its kitchen print jobs and its outbox row are written in one transaction:
an accepted order always has its tickets queued, and HQ always hears of it.
"""

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.orm import Session

from contract.menu import MAX_LINES, MAX_QTY, MenuFile
from contract.uplink import (
    OrderDone,
    OrderDoneEvent,
    OrderLineVoided,
    OrderLineVoidedEvent,
    OrderPlaced,
    OrderPlacedEvent,
    PaymentRecorded,
    PaymentRecordedEvent,
    PaymentRefunded,
    PaymentRefundedEvent,
    PlacedLine,
)
from edge.orders.errors import OrderError
from edge.orders.models import Order, OrderLine, Payment
from edge.orders.schemas import LineRequest
from edge.printing import service as printing
from edge.tables.models import DiningTable
from edge.uplink import service as outbox

SOURCE_TABLE = "table"
SOURCE_KIOSK = "kiosk"
ACCEPTED = "accepted"
DONE = "done"
LINE_OK = "ok"
LINE_VOID = "void"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an order comes from: a table's QR code, or a kiosk."""

    source: str
    table_id: str | None
    table_name: str
    device_id: str | None = None
    member_code: str | None = None
    member_id: str | None = None  # the member the code (or the table's signed-in diner) names


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    created: bool  # False: the key was already used for this same order (a retry)


class OrderNotFound(LookupError):
    pass


def request_hash(origin: Origin, lines: Sequence[LineRequest], note: str) -> str:
    canonical = json.dumps(
        {
            "where": [origin.source, origin.table_id, origin.device_id],
            "lines": [[x.dish, x.qty, sorted(x.options.items()), x.note] for x in lines],
            "note": note,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def local_day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(at))


def place_order(
    session: Session,
    menu: MenuFile,
    sold_out: frozenset[str],
    printers: printing.Routes,
    origin: Origin,
    key: str,
    lines: Sequence[LineRequest],
    note: str,
    now: float,
) -> Placed:
    digest = request_hash(origin, lines, note)
    existing = by_key(session, key)
    if existing is not None:
        if existing.request_hash != digest:
            raise OrderError(
                409,
                "key_reused",
                "这个订单号已用于另一份订单 / This order key was already used for another order",
            )
        return Placed(existing, created=False)
    priced = _price(menu, sold_out, lines)
    day = local_day(now)
    last_no = session.scalar(select(func.max(Order.no)).where(Order.day == day)) or 0
    order = Order(
        key=key,
        request_hash=digest,
        no=last_no + 1,
        day=day,
        source=origin.source,
        table_id=origin.table_id,
        table_name=origin.table_name,
        device_id=origin.device_id,
        member_code=origin.member_code,
        member_id=origin.member_id,
        created_at=now,
        total_fen=sum(x.unit_price_fen * x.qty for x in priced),
        note=_clean_note(note),
    )
    if origin.table_id is not None and (table := session.get(DiningTable, origin.table_id)):
        order.party_opened_at = table.opened_at
    order.lines = priced
    session.add(order)
    session.flush()
    printing.queue_kitchen_tickets(session, printers, order, now)
    outbox.enqueue(session, [_placed_event(order)])
    return Placed(order, created=True)


def _clean_note(note: str) -> str:
    return note.strip()


def _price(
    menu: MenuFile, sold_out: frozenset[str], lines: Sequence[LineRequest]
) -> list[OrderLine]:
    """Each line priced from the menu; the first problem refuses the whole order."""
    if not lines or len(lines) > MAX_LINES:
        raise OrderError(
            422,
            "empty_order",
            f"订单须有 1 到 {MAX_LINES} 项 / An order needs 1 to {MAX_LINES} lines",
        )
    priced = []
    for req in lines:
        dish = menu.dish(req.dish)
        if dish is None:
            raise OrderError(
                422,
                "unknown_dish",
                "菜单上没有这道菜 / This dish is not on the menu",
                dish=req.dish,
            )
        if dish.id in sold_out:
            raise OrderError(
                409,
                "sold_out",
                f"{dish.name_zh}已售罄 / {dish.name_en} is sold out",
                dish=dish.id,
            )
        if not 1 <= req.qty <= MAX_QTY:
            raise OrderError(
                422,
                "bad_quantity",
                f"{dish.name_zh}：数量须为 1 到 {MAX_QTY} / "
                f"{dish.name_en}: quantity must be 1 to {MAX_QTY}",
                dish=dish.id,
            )
        chosen: list[dict[str, object]] = []
        unit = dish.price_fen
        for opt_id in req.options:
            if dish.option(opt_id) is None:
                raise _bad_option(dish.name_zh, dish.name_en, dish.id)
        for option in dish.options:
            choice_id = req.options.get(option.id)
            if choice_id is None:
                if option.required:
                    raise OrderError(
                        422,
                        "bad_option",
                        f"{dish.name_zh}：请选择{option.name_zh} / "
                        f"{dish.name_en}: choose the {option.name_en.lower()}",
                        dish=dish.id,
                    )
                continue
            choice = option.choice(choice_id)
            if choice is None:
                raise _bad_option(dish.name_zh, dish.name_en, dish.id)
            unit += choice.price_fen
            chosen.append(
                {
                    "option": option.id,
                    "choice": choice.id,
                    "name_zh": choice.name_zh,
                    "name_en": choice.name_en,
                    "price_fen": choice.price_fen,
                }
            )
        priced.append(
            OrderLine(
                dish_id=dish.id,
                name_zh=dish.name_zh,
                name_en=dish.name_en,
                station=dish.station,
                qty=req.qty,
                unit_price_fen=unit,
                options=chosen,
                note=req.note.strip(),
            )
        )
    return priced


def _bad_option(name_zh: str, name_en: str, dish_id: str) -> OrderError:
    return OrderError(
        422,
        "bad_option",
        f"{name_zh}：没有这个选项 / {name_en}: no such option",
        dish=dish_id,
    )


def _placed_event(order: Order) -> OrderPlacedEvent:
    data = OrderPlaced(
        order=order.uid,
        no=order.no,
        source=order.source,
        table=order.table_name,
        device=order.device_id,
        created_at=order.created_at,
        total_fen=order.total_fen,
        lines=[
            PlacedLine(
                dish=x.dish_id,
                name_zh=x.name_zh,
                name_en=x.name_en,
                station=x.station,
                qty=x.qty,
                unit_price_fen=x.unit_price_fen,
            )
            for x in order.lines
        ],
    )
    return OrderPlacedEvent(id=f"op-{order.uid}", occurred_at=order.created_at, data=data)


def by_key(session: Session, key: str) -> Order | None:
    return session.scalar(select(Order).where(Order.key == key))


def by_uid(session: Session, uid: str) -> Order:
    order = session.scalar(select(Order).where(Order.uid == uid))
    if order is None:
        raise OrderNotFound(uid)
    return order


def void_line(
    session: Session, printers: printing.Routes, uid: str, line_id: int, staff: str, now: float
) -> Order:
    """Take a line off an order: its station prints a VOID ticket; voiding twice is a no-op."""
    order = by_uid(session, uid)
    line = next((x for x in order.lines if x.id == line_id), None)
    if line is None:
        raise OrderNotFound(f"{uid}/{line_id}")
    if line.status == LINE_VOID:
        return order
    if is_paid(session, order):
        # What was paid is given back by a refund (a manager's), which also reverses what
        # the bill earned and spent; a void after the bill would leave those standing.
        raise OrderError(
            409,
            "already_paid",
            "这单已结账，请用退款 / This order has been paid: refund it instead",
        )
    line.status = LINE_VOID
    line.voided_at = now
    line.voided_by = staff
    order.total_fen -= line.unit_price_fen * line.qty
    printing.queue_void_ticket(session, printers, order, line, now)
    voided = OrderLineVoided(
        order=order.uid,
        dish=line.dish_id,
        qty=line.qty,
        unit_price_fen=line.unit_price_fen,
        by=staff,
    )
    outbox.enqueue(
        session,
        [OrderLineVoidedEvent(id=f"ov-{order.uid}-{line.id}", occurred_at=now, data=voided)],
    )
    return order


def is_paid(session: Session, order: Order) -> bool:
    """A payment (not refunded) covers this order."""
    # The uid is 32 hex digits: found in the JSON list's text, it is that order's payment.
    paid = select(Payment.id).where(
        Payment.refunded_at.is_(None), func.instr(cast(Payment.order_uids, String), order.uid) > 0
    )
    return bool(session.scalar(paid.exists().select()))


def mark_done(session: Session, uid: str, now: float) -> Order:
    order = by_uid(session, uid)
    if order.status == ACCEPTED:
        order.status = DONE
        order.done_at = now
        done = OrderDone(order=order.uid, no=order.no, ready_s=round(now - order.created_at, 3))
        outbox.enqueue(session, [OrderDoneEvent(id=f"od-{order.uid}", occurred_at=now, data=done)])
    return order


def open_orders(session: Session) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.status == ACCEPTED).order_by(Order.id)))


def table_orders(session: Session, table_id: str, opened_at: float) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(Order.table_id == table_id, _in_party(opened_at)).order_by(Order.id)
        )
    )


def _in_party(opened_at: Any) -> Any:
    """An order of the party seated at `opened_at` (older orders without the key: by time)."""
    by_key = Order.party_opened_at == opened_at
    return by_key | (Order.party_opened_at.is_(None) & (Order.created_at >= opened_at))


def _party_paid(table: type[DiningTable] | DiningTable) -> Any:
    """The table's current party has paid: a payment names it (older payments: by time)."""
    by_key = Payment.party_opened_at == table.opened_at
    old_row = Payment.party_opened_at.is_(None) & (Payment.paid_at >= table.opened_at)
    return select(Payment.id).where(Payment.table_id == table.id, by_key | old_row).exists()


def amounts_due(session: Session, table_id: str | None = None) -> dict[str, int]:
    """What each table's party (or one table's) owes now, open or closed: the sum
    `settle_table` records."""
    query = (
        select(Order.table_id, func.sum(Order.total_fen))
        .join(DiningTable, DiningTable.id == Order.table_id)
        .where(_in_party(DiningTable.opened_at), ~_party_paid(DiningTable))
        .group_by(Order.table_id)
    )
    if table_id is not None:
        query = query.where(Order.table_id == table_id)
    return {str(table): int(total) for table, total in session.execute(query)}


def ready_numbers(session: Session, day: str, limit: int) -> list[int]:
    """The numbers the queue screens show: the latest orders marked done today."""
    rows = session.scalars(
        select(Order.no)
        .where(Order.day == day, Order.status == DONE)
        .order_by(Order.done_at.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Bill:
    """What a party (or a kiosk order at the counter) owes now: every order still on it."""

    table_id: str  # "" for a kiosk order
    table_name: str
    party_opened_at: float | None
    orders: list[Order]
    gross_fen: int  # voided lines are already off each order's total


KIOSK_BILL = "自助 Kiosk"


def party_bill(session: Session, table_id: str) -> Bill:
    table = session.get(DiningTable, table_id)
    if table is None:
        raise OrderNotFound(table_id)
    if session.scalar(select(_party_paid(table))):
        raise OrderError(409, "already_paid", "这桌已结账 / This table has paid already")
    rows = table_orders(session, table_id, table.opened_at)
    return _bill(table.id, table.name, table.opened_at, rows)


def order_bill(session: Session, uid: str) -> Bill:
    """A kiosk order paid at the counter (a table's orders are paid as the table's bill)."""
    order = by_uid(session, uid)
    if order.table_id is not None:
        raise OrderError(
            409, "table_order", "桌台订单请在桌台结账 / A table's orders are paid as its bill"
        )
    # The uid is 32 hex digits: found in the JSON list's text, it is that order's payment.
    paid = select(Payment.id).where(
        Payment.table_id == "", func.instr(cast(Payment.order_uids, String), uid) > 0
    )
    if session.scalar(paid.exists().select()):
        raise OrderError(409, "already_paid", "这单已结账 / This order has been paid already")
    return _bill("", f"{KIOSK_BILL} {order.no}", None, [order])


def _bill(table_id: str, name: str, opened_at: float | None, rows: list[Order]) -> Bill:
    amount = sum(o.total_fen for o in rows)
    if amount <= 0:
        raise OrderError(409, "nothing_to_pay", "还没有消费 / Nothing to pay yet")
    return Bill(table_id, name, opened_at, rows, amount)


def record_payment(
    session: Session,
    bill: Bill,
    method: str,
    staff: str,
    now: float,
    expected_fen: int | None = None,
    off_fen: int = 0,
) -> Payment:
    """The payment row (its fact for HQ is `enqueue_payment`, once the members domain has
    added what the member did); a table closes."""
    if expected_fen is not None and expected_fen != bill.gross_fen:
        raise OrderError(
            409,
            "bill_changed",
            "账单有变化，请核对后再收款 / The bill changed: check it, then take the payment",
            amount_fen=bill.gross_fen,
        )
    payment = Payment(
        table_id=bill.table_id,
        table_name=bill.table_name,
        amount_fen=bill.gross_fen - off_fen,
        gross_fen=bill.gross_fen,
        method=method,
        order_uids=[o.uid for o in bill.orders],
        paid_at=now,
        by=staff,
        party_opened_at=bill.party_opened_at,
    )
    session.add(payment)
    if bill.table_id and (table := session.get(DiningTable, bill.table_id)) is not None:
        table.is_open = False
    session.flush()
    return payment


def enqueue_payment(session: Session, payment: Payment) -> None:
    paid = PaymentRecorded(
        payment=payment.uid,
        table=payment.table_name,
        amount_fen=payment.amount_fen,
        method=payment.method,
        orders=payment.order_uids,
        paid_at=payment.paid_at,
        by=payment.by,
        member=payment.member_id,
        gross_fen=payment.gross_fen,
        coupon=payment.coupon_code,
        coupon_off_fen=payment.coupon_off_fen,
        points_used=payment.points_used,
        points_off_fen=payment.points_off_fen,
        points_earned=payment.points_earned,
    )
    event = PaymentRecordedEvent(id=f"pay-{payment.uid}", occurred_at=payment.paid_at, data=paid)
    outbox.enqueue(session, [event])


def settle_table(
    session: Session,
    table_id: str,
    method: str,
    staff: str,
    now: float,
    expected_fen: int | None = None,
) -> Payment:
    """Staff took the table's payment (no member, no discount): one payment for every order
    since the table opened, recorded with its outbox row; the table closes (its QR code takes
    no more orders until staff open it for the next party)."""
    payment = record_payment(
        session, party_bill(session, table_id), method, staff, now, expected_fen
    )
    enqueue_payment(session, payment)
    return payment


def payment_by_uid(session: Session, uid: str) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.uid == uid))
    if payment is None:
        raise OrderNotFound(uid)
    return payment


def refund_payment(session: Session, uid: str, staff: str, reason: str, now: float) -> Payment:
    """A manager gives a paid bill back: recorded once (a second refund is refused), sent to
    HQ; what the bill earned and spent is the members domain's to reverse, in this transaction."""
    payment = payment_by_uid(session, uid)
    if not reason.strip():
        raise OrderError(422, "reason_required", "请写明退款原因 / Say why the bill is refunded")
    done = session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.refunded_at.is_(None))
        .values(refunded_at=now, refunded_by=staff)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise OrderError(409, "already_refunded", "这笔已退款 / This bill was refunded already")
    session.refresh(payment)
    refunded = PaymentRefunded(
        payment=payment.uid,
        table=payment.table_name,
        amount_fen=payment.amount_fen,
        refunded_at=now,
        by=staff,
        reason=reason.strip()[:200],
    )
    outbox.enqueue(
        session, [PaymentRefundedEvent(id=f"rf-{payment.uid}", occurred_at=now, data=refunded)]
    )
    return payment
