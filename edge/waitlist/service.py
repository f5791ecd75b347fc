"""The waitlist's service functions. Each takes an open Session and `now`; the caller commits
(the domain, in one transaction with the outbox rows for HQ). docs/waitlist.md."""

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, insert, literal, select
from sqlalchemy.orm import Session

from contract.menu import StoreConfig
from contract.uplink import BookingChanged, BookingChangedEvent, WaitlistParty, WaitlistPartyEvent
from contract.waitlist import SLOT_MINUTES, TableGroup, WaitlistConfig
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.models import Payment
from edge.tables import service as tables
from edge.tables.models import DiningTable
from edge.uplink import service as outbox
from edge.waitlist import estimate
from edge.waitlist.models import Booking, WaitParty

WAITING, CALLED, SEATED, LEFT, NO_SHOW = "waiting", "called", "seated", "left", "no_show"
IN_LINE = (WAITING, CALLED)
BOOKED, ARRIVED, CANCELLED = "booked", "arrived", "cancelled"
HOLDING = (BOOKED, ARRIVED)  # bookings that count against a slot's capacity
# Where a number was taken (WaitParty.source, and HQ's `source`).
FROM_KIOSK, FROM_PHONE, FROM_STAFF, FROM_BOOKING = "kiosk", "phone", "staff", "booking"
BUSY_WINDOW_S = 6 * 3600  # a seated party whose table was not paid for 6 h is not counted busy
TURN_WINDOW_S = 14 * 86400  # turn times from the last two weeks
BOOKING_ROUNDS = 4  # bookings due are counted until their count settles, at most this often
NAME_MAX = 40
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_SLOT = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def local_day(at: float) -> str:
    return orders.local_day(at)


# --- errors a diner or a waiter reads ----------------------------------------------------


def bad_size(most: int) -> OrderError:
    return OrderError(
        422, "bad_party_size", f"就餐人数须为 1 到 {most} 位 / A party is 1 to {most} people"
    )


def not_found() -> OrderError:
    return OrderError(404, "no_such_number", "没有这个号 / No such number in the line")


def not_in_line(number: str) -> OrderError:
    return OrderError(
        409, "not_in_line", f"{number} 号已不在队列中 / Number {number} is no longer in the line"
    )


def bad_request() -> OrderError:
    return OrderError(422, "bad_booking", "预订信息不完整 / The booking is not complete")


def bad_token() -> OrderError:
    return OrderError(
        403, "bad_number_token", "排号链接无效 / This waitlist link is not valid, please ask staff"
    )


# --- the line ----------------------------------------------------------------------------


def group_of(config: WaitlistConfig, size: int) -> TableGroup:
    group = config.group_for(size) if 1 <= size <= config.max_party else None
    if group is None:
        raise bad_size(config.max_party)
    return group


def by_key(session: Session, key: str) -> WaitParty | None:
    return session.scalar(select(WaitParty).where(WaitParty.key == key))


def by_uid(session: Session, uid: str) -> WaitParty:
    party = session.scalar(select(WaitParty).where(WaitParty.uid == uid))
    if party is None:
        raise not_found()
    return party


def find_number(session: Session, number: str, now: float) -> WaitParty:
    """Today's party of a number staff typed ("A012", "a12")."""
    m = re.fullmatch(r"([A-Za-z])0*([0-9]{1,3})", number.strip())
    if m is None:
        raise not_found()
    party = session.scalar(
        select(WaitParty).where(
            WaitParty.day == local_day(now),
            WaitParty.grp == m.group(1).upper(),
            WaitParty.seq == int(m.group(2)),
        )
    )
    if party is None:
        raise not_found()
    return party


@dataclass(frozen=True, slots=True)
class Taken:
    party: WaitParty
    created: bool  # False: the key was used before (a retried tap): the same number


def take_number(
    session: Session,
    config: WaitlistConfig,
    key: str,
    size: int,
    source: str,
    now: float,
    member_id: str | None = None,
    priority: bool = False,
    booking_id: int | None = None,
) -> Taken:
    """A number for a party: the next of its group today. The key makes it once."""
    found = by_key(session, key)
    if found is not None:
        return Taken(found, False)
    group = group_of(config, size)
    day = local_day(now)
    # The hub's write transactions take SQLite's write lock first (BEGIN IMMEDIATE): no
    # other writer reads the same maximum; the unique (day, group, seq) would refuse it anyway.
    last = session.scalar(
        select(func.max(WaitParty.seq)).where(WaitParty.day == day, WaitParty.grp == group.id)
    )
    party = WaitParty(
        key=key,
        day=day,
        grp=group.id,
        seq=(last or 0) + 1,
        size=size,
        source=source,
        member_id=member_id,
        priority=priority,
        created_at=now,
        booking_id=booking_id,
    )
    session.add(party)
    session.flush()
    est = estimate_for(session, config, party, now)
    party.est_low_s, party.est_s, party.est_high_s = est.low_s, est.mid_s, est.high_s
    _fact(session, party, "taken", now)
    return Taken(party, True)


def waiting(session: Session, day: str, group: str | None = None) -> list[WaitParty]:
    """Today's parties still waiting to be called, in the order they took their numbers."""
    q = select(WaitParty).where(WaitParty.day == day, WaitParty.status == WAITING)
    if group is not None:
        q = q.where(WaitParty.grp == group)
    return list(session.scalars(q.order_by(WaitParty.created_at, WaitParty.id)))


def call_order(line: Sequence[WaitParty], max_passed_over: int) -> list[tuple[WaitParty, int]]:
    """The order the waiting parties of one group will be called in, each with how many it
    jumps: a priority party goes before the others unless one of those it would jump was
    passed over `max_passed_over` times already (then the line goes in its order)."""
    rest = list(line)
    passed = {p.id: p.passed_over for p in rest}
    out: list[tuple[WaitParty, int]] = []
    while rest:
        pick, jumped = rest[0], 0
        if not pick.priority:
            first = next((i for i, p in enumerate(rest) if p.priority), None)
            if first is not None and all(passed[p.id] < max_passed_over for p in rest[:first]):
                pick, jumped = rest[first], first
                for p in rest[:first]:
                    passed[p.id] += 1
        out.append((pick, jumped))
        rest.remove(pick)
    return out


def ahead_of(session: Session, config: WaitlistConfig, party: WaitParty) -> int:
    """Parties before this one: those the line will call first, and those called and not yet
    seated (they take the next tables)."""
    if party.status != WAITING:
        return 0
    order = [
        p for p, _ in call_order(waiting(session, party.day, party.grp), config.max_passed_over)
    ]
    called = session.scalar(
        select(func.count()).where(
            WaitParty.day == party.day, WaitParty.grp == party.grp, WaitParty.status == CALLED
        )
    )
    position = next((i for i, p in enumerate(order) if p.id == party.id), len(order))
    return position + int(called or 0)


def call(
    session: Session, config: WaitlistConfig, now: float, group: str | None = None,
    party: WaitParty | None = None,
) -> WaitParty:  # fmt: skip
    """Call the next party of a group (priority rules applied), or a chosen one; calling a
    called party again repeats the call (the screens announce it again)."""
    if party is None:
        if group is None or config.group(group) is None:
            raise OrderError(404, "no_such_group", "没有这个桌型 / No such table group")
        order = call_order(waiting(session, local_day(now), group), config.max_passed_over)
        if not order:
            raise OrderError(
                409, "line_empty", "这一组没有人在等 / Nobody is waiting in this group"
            )
        party, jumped = order[0]
        line = waiting(session, local_day(now), group)
        for p in line[: line.index(party)] if jumped else ():
            p.passed_over += 1
    elif party.status not in IN_LINE:
        raise not_in_line(party.number)
    party.status = CALLED
    party.called_at = now
    party.calls += 1
    _fact(session, party, "called", now, suffix=f"-{party.calls}" if party.calls > 1 else "")
    return party


def seat(session: Session, party: WaitParty, table_id: str, now: float) -> DiningTable:
    """Seat a party at a table: the table's new party starts now (its QR code takes orders,
    its page and bill start empty). A table whose last party has not paid is refused."""
    if party.status not in IN_LINE:
        raise not_in_line(party.number)
    try:
        table = tables.get(session, table_id)
    except tables.TableNotFound:
        raise OrderError(404, "no_such_table", "没有这张桌子 / No such table") from None
    if orders.amounts_due(session, table_id).get(table_id, 0) > 0:
        raise OrderError(
            409,
            "table_not_settled",
            f"{table.name} 桌还有未结的账单 / Table {table.name} still has an unpaid bill",
        )
    table.is_open = True
    table.opened_at = now
    party.status, party.ended_at, party.table_id = SEATED, now, table_id
    waited = now - party.created_at
    _fact(
        session, party, "seated", now, waited_s=waited, table=table_id,
        error_s=waited - party.est_s if party.est_s is not None else None,
    )  # fmt: skip
    return table


def skip_no_show(session: Session, config: WaitlistConfig, party: WaitParty, now: float) -> None:
    """A called party that did not come, once the grace time has passed."""
    if party.status != CALLED or party.called_at is None:
        raise OrderError(
            409, "not_called", f"{party.number} 号还没有叫 / Number {party.number} was not called"
        )
    left = party.called_at + config.no_show_grace_s - now
    if left > 0:
        raise OrderError(
            409,
            "grace_time",
            f"叫号后请再等 {int(left) + 1} 秒 / Please give them {int(left) + 1} more seconds",
        )
    party.status, party.ended_at = NO_SHOW, now
    _fact(session, party, "no_show", now, waited_s=now - party.created_at)


def put_back(session: Session, party: WaitParty, now: float) -> None:
    """A called or skipped party back in the line, in its old place (it kept its number)."""
    if party.status not in (CALLED, NO_SHOW):
        raise OrderError(
            409, "not_called", f"{party.number} 号还没有叫 / Number {party.number} was not called"
        )
    party.status, party.ended_at = WAITING, None
    _fact(session, party, "put_back", now, suffix=f"-{party.calls}")


def leave(session: Session, party: WaitParty, now: float) -> None:
    """The diner left the line from their phone (or told staff)."""
    if party.status not in IN_LINE:
        raise not_in_line(party.number)
    party.status, party.ended_at = LEFT, now
    _fact(session, party, "left", now, waited_s=now - party.created_at)


def _fact(
    session: Session, party: WaitParty, what: str, now: float, suffix: str = "",
    waited_s: float | None = None, error_s: float | None = None, table: str | None = None,
) -> None:  # fmt: skip
    data = WaitlistParty(
        party=party.uid,
        number=party.number,
        group=party.grp,
        size=party.size,
        what=what,  # type: ignore[arg-type]
        source=party.source,
        priority=party.priority,
        taken_at=party.created_at,
        at=now,
        est_low_s=party.est_low_s,
        est_high_s=party.est_high_s,
        est_s=party.est_s,
        waited_s=waited_s,
        error_s=error_s,
        table=table,
    )
    event = WaitlistPartyEvent(id=f"wl-{party.uid}-{what}{suffix}", occurred_at=now, data=data)
    outbox.enqueue(session, [event])


# --- the estimate ------------------------------------------------------------------------


def group_tables(session: Session, config: WaitlistConfig, group: TableGroup) -> int:
    if group.tables:
        return len(group.tables)
    count = session.scalar(select(func.count()).select_from(DiningTable)) or 0
    return max(1, round(count / len(config.groups)))


def _seated_with_payment(
    session: Session, group: str, since: float
) -> list[tuple[WaitParty, float | None]]:
    """Parties of a group seated since `since`, each with when its table paid after (None:
    still at the table)."""
    seated = list(
        session.scalars(
            select(WaitParty).where(
                WaitParty.grp == group, WaitParty.status == SEATED, WaitParty.ended_at >= since
            )
        )
    )
    if not seated:
        return []
    table_ids = {p.table_id for p in seated if p.table_id}
    paid: dict[str, list[float]] = {}
    for table_id, paid_at in session.execute(
        select(Payment.table_id, Payment.paid_at).where(
            Payment.table_id.in_(table_ids), Payment.paid_at >= since
        )
    ):
        paid.setdefault(table_id, []).append(paid_at)
    out = []
    for p in seated:
        at = p.ended_at or 0.0
        after = [t for t in paid.get(p.table_id or "", []) if t >= at]
        out.append((p, min(after) if after else None))
    return out


@dataclass(frozen=True, slots=True)
class GroupState:
    tables: int
    busy: list[float]  # how long each busy table's party has sat
    turn_s: float
    drop: float  # today's share of parties that leave the line or do not come
    delay_s: float  # from a call to sitting down, today


def group_state(
    session: Session, config: WaitlistConfig, group: TableGroup, now: float
) -> GroupState:
    busy: list[float] = []
    delays: list[float] = []
    samples: list[tuple[float, float]] = []  # (paid at, turn time): the latest count
    for party, paid_at in _seated_with_payment(session, group.id, now - TURN_WINDOW_S):
        sat = party.ended_at or now
        if party.called_at is not None and party.day == local_day(now):
            delays.append(sat - party.called_at)
        if paid_at is not None:
            samples.append((paid_at, paid_at - sat))
        elif now - sat < BUSY_WINDOW_S:  # an unpaid table forgotten since is not busy
            busy.append(now - sat)
    if group.tables:  # tables seated without the line (walk-ins): their payments count too
        for opened, paid_at in session.execute(
            select(Payment.party_opened_at, Payment.paid_at).where(
                Payment.table_id.in_(group.tables),
                Payment.paid_at >= now - TURN_WINDOW_S,
                Payment.party_opened_at.is_not(None),
            )
        ):
            samples.append((paid_at, paid_at - (opened or paid_at)))
    turns = [turn for _, turn in sorted(samples)]
    turn = estimate.turn_time(turns, group.default_turn_min * 60.0)
    day = local_day(now)
    ended = dict(
        session.execute(
            select(WaitParty.status, func.count())
            .where(WaitParty.day == day, WaitParty.status.in_((SEATED, LEFT, NO_SHOW)))
            .group_by(WaitParty.status)
        ).all()
    )
    drop = estimate.drop_share(ended.get(SEATED, 0), ended.get(LEFT, 0) + ended.get(NO_SHOW, 0))
    return GroupState(
        group_tables(session, config, group), busy, turn, drop, estimate.seat_delay(delays)
    )


def bookings_due(session: Session, group: str, start: float, end: float) -> int:
    """Booked parties of a group whose slot falls in [start, end]: they will take tables."""
    n = session.scalar(
        select(func.count()).where(
            Booking.grp == group,
            Booking.status == BOOKED,
            Booking.slot_at >= start,
            Booking.slot_at <= end,
        )
    )
    return int(n or 0)


def estimate_ahead(
    session: Session, config: WaitlistConfig, group: TableGroup, ahead: int, now: float
) -> estimate.Estimate:
    g = group_state(session, config, group, now)
    est = estimate.wait(ahead, g.tables, g.busy, g.turn_s, g.drop, g.delay_s)
    hold = config.booking_hold_min * 60.0
    counted = 0
    for _ in range(BOOKING_ROUNDS):
        # Bookings due before the party's turn take tables first; counting them makes the
        # wait longer, which may bring more bookings in: a few rounds settle it.
        due = bookings_due(session, group.id, now - hold, now + est.mid_s)
        if due == counted:
            break
        counted = due
        est = estimate.wait(ahead + due / (1.0 - g.drop), g.tables, g.busy, g.turn_s, g.drop,
                            g.delay_s)  # fmt: skip
    return est


def estimate_for(
    session: Session, config: WaitlistConfig, party: WaitParty, now: float
) -> estimate.Estimate:
    group = config.group(party.grp) or config.groups[-1]
    return estimate_ahead(session, config, group, ahead_of(session, config, party), now)


# --- reservations ------------------------------------------------------------------------


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def _bad_booking(code: str, zh: str, en: str) -> OrderError:
    return OrderError(422, code, f"{zh} / {en}")


def slot_start(day: str, slot: str) -> float:
    """The slot's start as epoch seconds (store-local time, as the hub's clock is set)."""
    m = _SLOT.match(slot)
    if not _DAY.match(day) or m is None:
        raise _bad_booking("bad_slot", "日期或时间格式不对", "The date or time is not valid")
    if int(m.group(2)) % SLOT_MINUTES:
        raise _bad_booking(
            "bad_slot",
            f"请选择整 {SLOT_MINUTES} 分钟的时段",
            f"Slots start every {SLOT_MINUTES} minutes",
        )
    try:
        parsed = time.strptime(f"{day} {slot}", "%Y-%m-%d %H:%M")
    except ValueError:
        raise _bad_booking("bad_slot", "日期不存在", "No such date") from None
    return time.mktime(parsed)


@dataclass(frozen=True, slots=True)
class BookingRequest:
    key: str
    day: str
    slot: str
    size: int
    name: str
    phone: str  # checked, masked, then forgotten: never stored or logged whole


def book(
    session: Session,
    config: WaitlistConfig,
    store: StoreConfig | None,
    request: BookingRequest,
    now: float,
    member_id: str | None = None,
    priority: bool = False,
) -> tuple[Booking, bool]:
    """A reservation, if its slot has room for its group. The capacity check and the insert
    are one statement (INSERT ... SELECT ... WHERE count < capacity) inside the writer's
    transaction: fifty parties booking the last place at once get exactly the capacity."""
    found = session.scalar(select(Booking).where(Booking.key == request.key))
    if found is not None:
        return found, False
    group = group_of(config, request.size)
    at = slot_start(request.day, request.slot)
    if at <= now:
        raise _bad_booking("slot_past", "这个时段已经过去了", "This time has already passed")
    days = config.priority_book_days_ahead if priority else config.book_days_ahead
    if at > now + (days + 1) * 86400:
        raise _bad_booking(
            "too_far_ahead", f"最多可提前 {days} 天预订", f"Bookings open {days} days ahead"
        )
    local = time.localtime(at)
    if store is not None and not store.is_open(local.tm_wday, request.slot):
        raise _bad_booking(
            "store_closed_then", "这个时段不营业", "The store is not open at that time"
        )
    if not _PHONE.match(request.phone):
        raise _bad_booking("bad_phone", "请填写正确的手机号", "Please give a valid phone number")
    name = request.name.strip()[:NAME_MAX]
    uid = uuid.uuid4().hex
    columns = ("uid", "key", "day", "slot", "slot_at", "grp", "size", "name", "phone_mask",
               "member_id", "priority", "status", "created_at")  # fmt: skip
    values = (uid, request.key, request.day, request.slot, at, group.id, request.size, name,
              mask_phone(request.phone), member_id, priority, BOOKED, now)  # fmt: skip
    room = _has_room(
        request.day, request.slot, group, held_active(config, at, now) and not priority
    )
    source = select(*(literal(v) for v in values)).where(room)
    # The same key twice at once cannot both get here: the writer's transactions hold SQLite's
    # write lock from their start, so the second one found the first's row above.
    result = session.execute(
        insert(Booking).from_select([getattr(Booking, c) for c in columns], source)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        if session.scalar(select(_has_room(request.day, request.slot, group, False))):
            until = time.strftime("%H:%M", time.localtime(held_until(config, at)))
            raise OrderError(
                409,
                "slot_held",
                f"这个时段余下的桌位为会员保留，{until} 起开放 / The places left in this slot "
                f"are held for members until {until}",
            )
        raise OrderError(
            409,
            "slot_full",
            "这个时段已订满，请选择其他时间 / This slot is full, please pick another",
        )
    booking = session.scalar(select(Booking).where(Booking.uid == uid))
    assert booking is not None
    _booking_fact(session, booking, BOOKED, now)
    return booking, True


def held_until(config: WaitlistConfig, slot_at: float) -> float:
    return slot_at - config.priority_hold_release_min * 60.0


def held_active(config: WaitlistConfig, slot_at: float, now: float) -> bool:
    """Whether a slot's held places are still only for priority members."""
    return now < held_until(config, slot_at)


def _has_room(day: str, slot: str, group: TableGroup, held_apply: bool) -> ColumnElement[bool]:
    """The slot has a place for one more booking of the group: fewer holding bookings than
    its capacity; and when its held places still apply, the held places not yet taken by
    priority bookings are not counted as free. One SQL condition, evaluated in the insert."""
    holding = (
        select(func.count())
        .where(Booking.day == day, Booking.slot == slot, Booking.grp == group.id)
        .where(Booking.status.in_(HOLDING))
    )
    taken = holding.scalar_subquery()
    if not held_apply or group.priority_held == 0:
        return taken < group.slot_capacity
    held_taken = holding.where(Booking.priority.is_(True)).scalar_subquery()
    still_held = case((held_taken < group.priority_held, group.priority_held - held_taken), else_=0)
    return taken + still_held < group.slot_capacity


def booking_by_uid(session: Session, uid: str) -> Booking:
    booking = session.scalar(select(Booking).where(Booking.uid == uid))
    if booking is None:
        raise OrderError(404, "no_such_booking", "没有这个预订 / No such booking")
    return booking


def day_bookings(session: Session, day: str) -> list[Booking]:
    return list(
        session.scalars(select(Booking).where(Booking.day == day).order_by(Booking.slot_at))
    )


def arrive(session: Session, config: WaitlistConfig, booking: Booking, now: float) -> WaitParty:
    """A booked party arrived: it joins the line ahead of walk-ins (its table was held), with
    a number like everyone (the screens and the staff call it the same way)."""
    if booking.status != BOOKED:
        raise OrderError(
            409, "booking_not_open", "这个预订已处理 / This booking was handled already"
        )
    booking.status = ARRIVED
    _booking_fact(session, booking, ARRIVED, now)
    taken = take_number(
        session, config, f"booking:{booking.uid}", booking.size, FROM_BOOKING, now,
        member_id=booking.member_id, priority=True, booking_id=booking.id,
    )  # fmt: skip
    return taken.party


def booking_no_show(session: Session, config: WaitlistConfig, booking: Booking, now: float) -> None:
    if booking.status != BOOKED:
        raise OrderError(
            409, "booking_not_open", "这个预订已处理 / This booking was handled already"
        )
    hold_until = booking.slot_at + config.booking_hold_min * 60
    if now < hold_until:
        until = time.strftime("%H:%M", time.localtime(hold_until))
        raise OrderError(
            409, "held", f"桌位保留到 {until} / The table is held for them until {until}"
        )
    booking.status = NO_SHOW
    _booking_fact(session, booking, NO_SHOW, now)


def cancel_booking(session: Session, booking: Booking, now: float) -> None:
    if booking.status != BOOKED:
        raise OrderError(
            409, "booking_not_open", "这个预订已处理 / This booking was handled already"
        )
    booking.status = CANCELLED
    _booking_fact(session, booking, CANCELLED, now)


def _booking_fact(session: Session, booking: Booking, what: str, now: float) -> None:
    data = BookingChanged(
        booking=booking.uid, day=booking.day, slot=booking.slot, group=booking.grp,
        size=booking.size, what=what, at=now,  # type: ignore[arg-type]
    )  # fmt: skip
    event = BookingChangedEvent(id=f"bk-{booking.uid}-{what}", occurred_at=now, data=data)
    outbox.enqueue(session, [event])


def slots_left(
    session: Session, config: WaitlistConfig, day: str, now: float, priority: bool = False
) -> dict[str, dict[str, int]]:
    """Per slot with bookings, per group: places left for this diner (the held places not
    counted for a diner without priority while they are held). Slots without bookings: the
    group's capacity, less its held places for a diner without priority."""
    rows = session.execute(
        select(Booking.slot, Booking.slot_at, Booking.grp, Booking.priority, func.count())
        .where(Booking.day == day, Booking.status.in_(HOLDING))
        .group_by(Booking.slot, Booking.slot_at, Booking.grp, Booking.priority)
    )
    counts: dict[tuple[str, str], list[int]] = {}
    slot_at: dict[str, float] = {}
    for slot, at, grp, prio, n in rows:
        slot_at[slot] = at
        c = counts.setdefault((slot, grp), [0, 0])
        c[0] += int(n)
        c[1] += int(n) if prio else 0
    out: dict[str, dict[str, int]] = {}
    for (slot, grp), (taken, prio_taken) in sorted(counts.items()):
        group = config.group(grp)
        if group is None:
            continue
        held = 0
        if not priority and held_active(config, slot_at[slot], now):
            held = max(0, group.priority_held - prio_taken)
        out.setdefault(slot, {})[grp] = max(0, group.slot_capacity - taken - held)
    return out
