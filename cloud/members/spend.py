"""Members' paid bills at HQ (`member_spend`), and each id's bills summed beside them.

RFM scores every member on their last bill, number of bills and amount paid (cloud/analytics/
rfm.py). Summing twenty million bills at each scoring takes minutes (docs/benchmarks.md,
"RFM"); so ingest keeps the sums in the bills' own transaction: `member_totals` (a row per id)
and `member_store_bills` (a row per id and store it paid at), and the scoring reads a million
rows instead. Both are keyed by the id as sent, as the bills are: a bill counts whatever its
id's mapping to a member, and whenever that mapping arrives (the scoring resolves the ids).

A new bill adds to its id's rows (`INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`); a
refund cannot be subtracted from a "last bill" time, so the id's rows are counted again from
its bills, after taking the id's row lock (a concurrent new bill then waits, and the count,
made by a statement that starts after the lock, sees every bill committed before it). One
batch's ids are changed in sorted order, so concurrent batches never deadlock on them.
`recount` makes any id's rows from its bills: the migration that made the tables uses the same
rule, and tests/test_member_totals.py checks the kept sums against it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from cloud.members import service
from cloud.members.models import MemberSpend, MemberStoreBills, MemberTotals
from cloud.models import table_of
from contract.uplink import PaymentRecorded, PaymentRefunded


@dataclass
class _Added:
    bills: int = 0
    spend_fen: int = 0
    last_paid_at: float = 0.0


def record(
    session: Session,
    store: str,
    payments: Iterable[PaymentRecorded],
    refunds: Iterable[PaymentRefunded],
) -> None:
    """A batch's member bills and refunds (payments first: a bill refunded in the same batch
    is refunded), with their ids' sums, in the caller's transaction."""
    added: dict[str, _Added] = {}
    for d in payments:
        if d.member is None:
            continue
        row: dict[str, Any] = {
            "member_id": d.member,
            "store_id": store,
            "payment": d.payment,
            "amount_fen": d.amount_fen,
            "paid_at": d.paid_at,
            "refunded_at": None,
        }
        insert = service.insert_ignore(session, MemberSpend, ["store_id", "payment"])
        new = session.execute(insert.returning(MemberSpend.id), row).first()
        if new is not None:  # not a bill HQ had already
            a = added.setdefault(d.member, _Added(last_paid_at=d.paid_at))
            a.bills += 1
            a.spend_fen += d.amount_fen
            a.last_paid_at = max(a.last_paid_at, d.paid_at)
    recount_ids: set[str] = set()
    for r in refunds:
        mine = (MemberSpend.store_id == store) & (MemberSpend.payment == r.payment)
        first = session.execute(
            update(MemberSpend)
            .where(mine, MemberSpend.refunded_at.is_(None))
            .values(refunded_at=r.refunded_at)
            .returning(MemberSpend.member_id)
        ).all()
        if first:
            recount_ids.add(first[0][0])
        else:  # refunded before (or a bill HQ never got): the refund's time as sent last
            session.execute(update(MemberSpend).where(mine).values(refunded_at=r.refunded_at))
    for member_id in sorted(set(added) | recount_ids):
        if member_id in recount_ids:
            recount(session, member_id, [store])
        else:
            _add(session, member_id, store, added[member_id])


def _add(session: Session, member_id: str, store: str, a: _Added) -> None:
    totals = table_of(MemberTotals)
    stmt = service.upsert(session, MemberTotals)
    later = stmt.excluded.last_paid_at
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["member_id"],
            set_={
                "bills": totals.c.bills + stmt.excluded.bills,
                "spend_fen": totals.c.spend_fen + stmt.excluded.spend_fen,
                "last_paid_at": case(
                    (
                        totals.c.last_paid_at.is_(None) | (later > totals.c.last_paid_at),
                        later,
                    ),
                    else_=totals.c.last_paid_at,
                ),
            },
        ),
        {
            "member_id": member_id,
            "bills": a.bills,
            "spend_fen": a.spend_fen,
            "last_paid_at": a.last_paid_at,
        },
    )
    stores = table_of(MemberStoreBills)
    stmt = service.upsert(session, MemberStoreBills)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["member_id", "store_id"],
            set_={"bills": stores.c.bills + stmt.excluded.bills},
        ),
        {"member_id": member_id, "store_id": store, "bills": a.bills},
    )


def recount(session: Session, member_id: str, stores: Iterable[str]) -> None:
    """`member_id`'s sums (and its bills at `stores`) counted again from its bills."""
    totals = table_of(MemberTotals)
    lock = service.upsert(session, MemberTotals)
    # Takes the id's row lock, made if need be (a concurrent first bill of the id waits).
    session.execute(
        lock.on_conflict_do_update(index_elements=["member_id"], set_={"bills": totals.c.bills}),
        {"member_id": member_id, "bills": 0, "spend_fen": 0, "last_paid_at": None},
    )
    mine = (MemberSpend.member_id == member_id) & MemberSpend.refunded_at.is_(None)
    bills, spend, last = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(MemberSpend.amount_fen), 0),
            func.max(MemberSpend.paid_at),
        ).where(mine)
    ).one()
    session.execute(
        update(MemberTotals)
        .where(MemberTotals.member_id == member_id)
        .values(bills=bills, spend_fen=spend, last_paid_at=last)
    )
    for store in sorted(set(stores)):
        n = session.scalar(select(func.count()).where(mine, MemberSpend.store_id == store))
        stmt = service.upsert(session, MemberStoreBills)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["member_id", "store_id"], set_={"bills": stmt.excluded.bills}
            ),
            {"member_id": member_id, "store_id": store, "bills": n or 0},
        )


def rebuild(session: Session) -> None:
    """Every id's sums again from the bills (the migration that made the tables): one GROUP BY
    each, in the database."""
    session.execute(delete(MemberTotals))
    session.execute(delete(MemberStoreBills))
    paid = MemberSpend.refunded_at.is_(None)
    session.execute(
        insert(MemberTotals).from_select(
            ["member_id", "bills", "spend_fen", "last_paid_at"],
            select(
                MemberSpend.member_id,
                func.count(),
                func.sum(MemberSpend.amount_fen),
                func.max(MemberSpend.paid_at),
            )
            .where(paid)
            .group_by(MemberSpend.member_id),
        )
    )
    session.execute(
        insert(MemberStoreBills).from_select(
            ["member_id", "store_id", "bills"],
            select(MemberSpend.member_id, MemberSpend.store_id, func.count())
            .where(paid)
            .group_by(MemberSpend.member_id, MemberSpend.store_id),
        )
    )
