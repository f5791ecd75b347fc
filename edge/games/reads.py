"""The draw's reads as plain SQL on the play's own transaction (its SQLite connection).

A spin asks about a dozen small questions (is the play known, is the campaign paused, the
party's limits, how much of a prize and of the budget is given, farming patterns). Through
the ORM each costs a statement built, its cache key computed and its rows turned into
objects; at a burst of 500 spins a second those dominated the writer's time
(docs/benchmarks.md, "Games"). Here each is one prepared statement with `?` parameters, read
by the transaction that then writes the play: the counts are as exact as before. The writes
stay in the ORM. These read only what is flushed: the plays before this one in the batch are
(each is flushed when its savepoint ends); the play being decided is not yet and counts
against nothing.
"""

from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from edge.db import sqlite_of
from edge.games.models import REFUSED, RESERVED

# Paid, held, released (the statements below spell out one `?` each).
assert len(RESERVED) == 3


def _row(session: Session, sql: str, params: tuple[Any, ...]) -> Any:
    """The first row the statement gives, or None."""
    return sqlite_of(session).execute(sql, params).fetchone()


def _one(session: Session, sql: str, params: tuple[Any, ...]) -> Any:
    row = _row(session, sql, params)
    return row[0] if row is not None else None


class TableRow(NamedTuple):
    name: str
    opened_at: float
    qr_version: int


def table(session: Session, table_id: str) -> TableRow | None:
    """The table a verified token names (the caller compares its QR version)."""
    row = _row(
        session, "SELECT name, opened_at, qr_version FROM dining_tables WHERE id = ?", (table_id,)
    )
    return TableRow(*row) if row is not None else None


def play_known(session: Session, play_id: str) -> bool:
    return _one(session, "SELECT 1 FROM game_plays WHERE id = ?", (play_id,)) is not None


def paused(session: Session, campaign_id: str) -> bool:
    return _one(session, "SELECT 1 FROM game_pauses WHERE campaign = ?", (campaign_id,)) is not None


class Bill(NamedTuple):
    """What a play needs of the party's paid bill."""

    uid: str
    member_id: str | None
    gross_fen: int | None  # before the member's discounts (None: paid before they existed)
    amount_fen: int


def party_bill(session: Session, table_id: str, opened_at: float, paid_since: float) -> Bill | None:
    """The party's latest paid bill not refunded."""
    row = _row(
        session,
        "SELECT uid, member_id, gross_fen, amount_fen FROM payments"
        " WHERE table_id = ? AND party_opened_at = ?"
        " AND refunded_at IS NULL AND paid_at >= ? ORDER BY paid_at DESC LIMIT 1",
        (table_id, opened_at, paid_since),
    )
    return Bill(*row) if row is not None else None


class MemberRow(NamedTuple):
    """What a play needs of its member (the ORM's object only where a coupon is made)."""

    id: str
    joined_at: float


def member(session: Session, member_id: str) -> MemberRow | None:
    """The member, unless erased."""
    row = _row(
        session, "SELECT id, joined_at FROM members WHERE id = ? AND NOT erased", (member_id,)
    )
    return MemberRow(*row) if row is not None else None


_LIMITS = (
    "SELECT"
    " (SELECT count(*) FROM game_plays INDEXED BY ix_game_plays_table"
    "   WHERE campaign = ? AND status != ? AND table_id = ? AND party_opened_at = ?),"
    " (SELECT count(*) FROM game_plays WHERE campaign = ? AND status != ?"
    "   AND member_id = ? AND day = ?),"
    " (SELECT count(*) FROM game_plays WHERE campaign = ? AND status != ?"
    "   AND session = ? AND day = ?),"
    " (SELECT count(*) FROM game_plays WHERE campaign = ? AND once = ?)"
)


def limit_counts(
    session: Session,
    campaign_id: str,
    table_id: str,
    party_opened_at: float,
    member_id: str | None,
    phone: str,
    day: str,
    once: str | None,
) -> tuple[int, int, int, int]:
    """Plays not refused by this party, by the member today, by the phone today; plays with
    this once key. A missing member, phone or key counts 0 (NULL matches nothing)."""
    row = (
        sqlite_of(session)
        .execute(
            _LIMITS,
            (
                *(campaign_id, REFUSED, table_id, party_opened_at),
                *(campaign_id, REFUSED, member_id, day),
                *(campaign_id, REFUSED, phone or None, day),
                *(campaign_id, once),
            ),
        )
        .fetchone()
    )
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


_TALLIES = (
    "SELECT"
    " (SELECT count(*) FROM game_plays WHERE campaign = ? AND status IN (?, ?, ?)"
    "   AND prize = ?),"
    " (SELECT count(*) FROM game_plays WHERE campaign = ? AND status IN (?, ?, ?)"
    "   AND prize = ? AND day = ?),"
    " (SELECT coalesce(sum(cost_fen), 0) FROM game_plays WHERE campaign = ?"
    "   AND status IN (?, ?, ?) AND day = ?)"
)


def tallies(session: Session, campaign_id: str, prize_id: str, day: str) -> tuple[int, int, int]:
    """(given of this prize in the campaign, given today, the campaign's spending today):
    paid, held and released plays (a refused play gave its stock and budget back)."""
    row = (
        sqlite_of(session)
        .execute(
            _TALLIES,
            (
                *(campaign_id, *RESERVED, prize_id),
                *(campaign_id, *RESERVED, prize_id, day),
                *(campaign_id, *RESERVED, day),
            ),
        )
        .fetchone()
    )
    return int(row[0]), int(row[1]), int(row[2])


def new_members_at_table(session: Session, table_id: str, since: float) -> set[str]:
    """Members who joined since `since` and played at this table since then."""
    rows = sqlite_of(session).execute(
        "SELECT DISTINCT p.member_id FROM game_plays p JOIN members m ON m.id = p.member_id"
        " WHERE p.table_id = ? AND p.at >= ? AND m.joined_at >= ?",
        (table_id, since, since),
    )
    return {r[0] for r in rows}


def members_on_phone(session: Session, phone: str, day: str) -> set[str]:
    rows = sqlite_of(session).execute(
        "SELECT DISTINCT member_id FROM game_plays"
        " WHERE session = ? AND day = ? AND member_id IS NOT NULL",
        (phone, day),
    )
    return {r[0] for r in rows}


def member_paid(session: Session, member_id: str) -> bool:
    """Whether the member paid a bill here (not refunded)."""
    return (
        _one(
            session,
            "SELECT 1 FROM payments WHERE member_id = ? AND refunded_at IS NULL LIMIT 1",
            (member_id,),
        )
        is not None
    )


def unpaid_newcomers_on_phone(
    session: Session, phone: str, since_day: str, joined_since: float, but: str
) -> set[str]:
    """Members other than `but` who played on this phone since `since_day`, joined since
    `joined_since`, hold a coupon (the welcome one, a game's) and never paid a bill here."""
    rows = sqlite_of(session).execute(
        "SELECT DISTINCT p.member_id FROM game_plays p JOIN members m ON m.id = p.member_id"
        " WHERE p.session = ? AND p.day >= ? AND p.member_id != ? AND m.joined_at >= ?"
        " AND EXISTS (SELECT 1 FROM member_coupons c WHERE c.member_id = m.id)"
        " AND NOT EXISTS (SELECT 1 FROM payments pay WHERE pay.member_id = m.id"
        " AND pay.refunded_at IS NULL)",
        (phone, since_day, but, joined_since),
    )
    return {r[0] for r in rows}
