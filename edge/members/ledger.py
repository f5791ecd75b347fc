"""A member's points: entries made here (ids from their cause, so a cause can never make a
second one), balances as sums, the level, and what may be spent offline."""

import time
import uuid

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from contract.members import (
    EntryCause,
    MembersConfig,
)
from contract.uplink import (
    PointsEntry as PointsFact,
)
from contract.uplink import (
    PointsEntryEvent,
)
from edge.db import insert_row
from edge.members.errors import error
from edge.members.models import Member, PointsEntry
from edge.orders.models import Payment
from edge.uplink import service as outbox

DAY_S = 86_400.0
YEAR_S = 365 * DAY_S
ADJUST_MAX = 100_000  # points a manager may add or take in one adjustment


# --- the ledger --------------------------------------------------------------------------

# The member tab's reads, built once: a statement made per call spends more of the hub's time
# building it and its cache key than SQLite spends answering it (bench/bench_members_hub.py).
_LOCAL_POINTS = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
    PointsEntry.member_id == bindparam("member")
)
_SPEND_HERE = select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
    Payment.member_id == bindparam("member"),
    Payment.paid_at >= bindparam("since"),
    Payment.refunded_at.is_(None),
    Payment.method != "waived",  # let off: nothing was spent
)
_HISTORY = (
    select(PointsEntry)
    .where(PointsEntry.member_id == bindparam("member"))
    .order_by(PointsEntry.at.desc())
    .limit(bindparam("limit"))
)


def local_points(session: Session, member_id: str) -> int:
    total = session.scalar(_LOCAL_POINTS, {"member": member_id})
    return int(total or 0)


def balance(session: Session, member: Member) -> int:
    return member.hq_balance_elsewhere + local_points(session, member.id)


def spend_12m(session: Session, member: Member, now: float) -> int:
    here = session.scalar(_SPEND_HERE, {"member": member.id, "since": now - YEAR_S})
    return member.hq_spend_elsewhere_fen + int(here or 0)


def level_id(session: Session, config: MembersConfig, member: Member, now: float) -> str:
    return config.level_for(spend_12m(session, member, now)).id


def offline_spent_today(session: Session, member_id: str, now: float) -> int:
    day_start = time.mktime((*time.localtime(now)[:3], 0, 0, 0, 0, 0, -1))
    spent = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.member_id == member_id,
            PointsEntry.cause == EntryCause.REDEEM.value,
            PointsEntry.offline.is_(True),
            PointsEntry.at >= day_start,
        )
    )
    return -int(spent or 0)


def spendable(
    session: Session, config: MembersConfig, member: Member, online: bool, now: float
) -> int:
    """Points the member may spend here now: the balance when HQ just answered; offline the
    balance the hub last knew, and at most what HQ allows a store a day."""
    have = max(balance(session, member), 0)
    if online:
        return have
    left_today = config.offline_points_per_day - offline_spent_today(session, member.id, now)
    return max(min(have, left_today), 0)


def add_entry(
    session: Session,
    entry_id: str,
    member_id: str,
    points: int,
    cause: EntryCause,
    ref: str,
    by: str,
    now: float,
    reason: str = "",
    offline: bool = False,
) -> PointsEntry:
    entry = PointsEntry(
        id=entry_id,
        member_id=member_id,
        points=points,
        cause=cause.value,
        ref=ref,
        reason=reason,
        offline=offline,
        at=now,
        by=by,
    )
    # Written at once, not at the next flush: every bill with a member and every spin that
    # wins points passes here (edge/db.py, insert_row).
    insert_row(session, entry)
    fact = PointsFact(
        entry=entry_id,
        member=member_id,
        points=points,
        cause=cause,
        ref=ref,
        reason=reason,
        offline=offline,
        at=now,
        by=by,
    )
    outbox.enqueue(session, [PointsEntryEvent(id=f"pt-{entry_id}", occurred_at=now, data=fact)])
    return entry


def adjust(
    session: Session, member: Member, points: int, reason: str, staff: str, now: float
) -> PointsEntry:
    """A manager's correction, with its reason (sent to HQ like every entry)."""
    if points == 0 or abs(points) > ADJUST_MAX:
        raise error(
            422,
            "bad_points",
            f"调整积分须在 ±{ADJUST_MAX} 之内且不为 0",
            f"An adjustment is 1 to {ADJUST_MAX} points, up or down",
        )
    if not reason.strip():
        raise error(422, "reason_required", "请写明调整原因", "Say why the points change")
    if points < 0 and balance(session, member) + points < 0:
        raise error(
            409,
            "not_enough_points",
            "积分不足，不能扣成负数",
            "That would make the balance negative",
        )
    entry_id = f"a-{uuid.uuid4().hex}"
    return add_entry(
        session, entry_id, member.id, points, EntryCause.ADJUST, "", staff, now, reason.strip()
    )


def history(session: Session, member_id: str, limit: int = 20) -> list[PointsEntry]:
    return list(session.scalars(_HISTORY, {"member": member_id, "limit": limit}))
