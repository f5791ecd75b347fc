# mypy: disallow-untyped-calls=False
# (influxdb-client's Point has no type hints: see cloud/sales_influx.py.)
"""RFM: every member's recency, frequency and money quintiles, and the plan's eight segments
(docs/analytics.md).

Over each member's paid bills at HQ (`member_spend`, refunds excluded, every id of the member
resolved, erased members left out): R orders the last bill's time, F the number of bills, M
the amount paid. Each is PostgreSQL's `NTILE(5)` over all scored members, 5 the best (most
recent, most bills, most paid). NTILE cuts equal values wherever a fifth ends; a member's
score is the lowest tile any member with the same value got, so equal figures always score
alike (with many one-bill members, they all have F = 1: nobody is "frequent" for one bill).

A score is high from SCORE_HIGH_FROM (the middle quintile and up); the segment is the plan's
name for (R high?, F high?, M high?): SEGMENT_OF. The scoring replaces the whole table in one
transaction, so readers see the previous scoring or this one, never a mix.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision
from sqlalchemy import and_, case, delete, func, insert, literal, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Over

from cloud.analytics.models import MemberRfm, SegmentCount
from cloud.const import M_RFM_SEGMENTS, RFM_HIGH_FROM, RFM_TILES
from cloud.members.models import Member, MemberId, MemberSpend
from contract.members import Segment

TILES: Final = RFM_TILES
SCORE_HIGH_FROM: Final = RFM_HIGH_FROM  # 3, 4, 5 are high; 1, 2 low
RFM_WORK_MEM: Final = "256MB"

# (R high, F high, M high) -> segment: money decides 重要 (important) or 一般 (general); then
# recent and frequent 价值 (value), recent only 发展 (develop), frequent only 保持 (keep),
# neither 挽留 (win back).
SEGMENT_OF: Final[dict[tuple[bool, bool, bool], Segment]] = {
    (True, True, True): Segment.IMPORTANT_VALUE,
    (True, False, True): Segment.IMPORTANT_DEVELOP,
    (False, True, True): Segment.IMPORTANT_KEEP,
    (False, False, True): Segment.IMPORTANT_WIN_BACK,
    (True, True, False): Segment.GENERAL_VALUE,
    (True, False, False): Segment.GENERAL_DEVELOP,
    (False, True, False): Segment.GENERAL_KEEP,
    (False, False, False): Segment.GENERAL_WIN_BACK,
}


def segment_of(r: int, f: int, m: int) -> Segment:
    return SEGMENT_OF[(r >= SCORE_HIGH_FROM, f >= SCORE_HIGH_FROM, m >= SCORE_HIGH_FROM)]


@dataclass(frozen=True)
class Scoring:
    scored_at: float
    members: int
    by_segment: dict[Segment, int]


def score(session: Session, now: float) -> Scoring:
    """Score every member with a paid bill; replaces the last scoring (the caller commits)."""
    paid = MemberSpend.refunded_at.is_(None)
    if session.get_bind().dialect.name == "postgresql":
        # The groupings (a row per member; per store and member) in memory rather than
        # spilled to disk, for this transaction only.
        session.execute(text(f"SET LOCAL work_mem = '{RFM_WORK_MEM}'"))
    per_member = (
        select(
            MemberId.member.label("member"),
            func.max(MemberSpend.paid_at).label("last_paid_at"),
            func.count().label("bills"),
            func.sum(MemberSpend.amount_fen).label("spend_fen"),
        )
        .join(MemberId, MemberId.id == MemberSpend.member_id)
        .join(Member, Member.id == MemberId.member)
        .where(paid, Member.erased_at.is_(None))
        .group_by(MemberId.member)
        .cte("per_member")
    )

    def tile(figure: str) -> Over[int]:
        # Tie-broken by member id only so that the NTILE pass is deterministic; the MIN below
        # gives every equal figure the same score.
        return func.ntile(TILES).over(order_by=(per_member.c[figure], per_member.c.member))

    raw = select(
        *per_member.c,
        tile("last_paid_at").label("r0"),
        tile("bills").label("f0"),
        tile("spend_fen").label("m0"),
    ).cte("raw")
    tiles = select(
        raw.c.member,
        raw.c.last_paid_at,
        raw.c.bills,
        raw.c.spend_fen,
        func.min(raw.c.r0).over(partition_by=raw.c.last_paid_at).label("r"),
        func.min(raw.c.f0).over(partition_by=raw.c.bills).label("f"),
        func.min(raw.c.m0).over(partition_by=raw.c.spend_fen).label("m"),
    ).cte("tiles")
    high = SCORE_HIGH_FROM
    segment = case(
        *(
            (
                and_(
                    (tiles.c.r >= high) if r_high else (tiles.c.r < high),
                    (tiles.c.f >= high) if f_high else (tiles.c.f < high),
                    (tiles.c.m >= high) if m_high else (tiles.c.m < high),
                ),
                literal(name.value),
            )
            for (r_high, f_high, m_high), name in SEGMENT_OF.items()
        )
    )
    session.execute(delete(MemberRfm))
    session.execute(delete(SegmentCount))
    columns = ["member", "last_paid_at", "bills", "spend_fen", "r", "f", "m", "segment"]
    session.execute(
        insert(MemberRfm).from_select(
            [*columns, "scored_at"],
            select(
                tiles.c.member,
                tiles.c.last_paid_at,
                tiles.c.bills,
                tiles.c.spend_fen,
                tiles.c.r,
                tiles.c.f,
                tiles.c.m,
                segment,
                literal(now),
            ),
        )
    )
    # Per store: the members who paid a bill there, by segment (each member once per store).
    visited = (
        select(MemberSpend.store_id, MemberId.member)
        .join(MemberId, MemberId.id == MemberSpend.member_id)
        .where(paid)
        .distinct()
        .subquery()
    )
    session.execute(
        insert(SegmentCount).from_select(
            ["store_id", "segment", "members", "scored_at"],
            select(visited.c.store_id, MemberRfm.segment, func.count(), literal(now))
            .join(MemberRfm, MemberRfm.member == visited.c.member)
            .group_by(visited.c.store_id, MemberRfm.segment),
        )
    )
    by_segment = {
        Segment(s): int(n)
        for s, n in session.execute(
            select(MemberRfm.segment, func.count()).group_by(MemberRfm.segment)
        )
    }
    return Scoring(scored_at=now, members=sum(by_segment.values()), by_segment=by_segment)


def segment_points(counts: Sequence[tuple[str, str, int]], at: float) -> list[str]:
    """The `rfm_segments` lines for Grafana: one per (store, segment) of a scoring, at its time.
    `store` "*" is the chain (each member once)."""
    return [
        str(
            Point(M_RFM_SEGMENTS)
            .tag("store", store)
            .tag("segment", segment)
            .field("members", int(members))
            .time(round(at) * 1_000_000_000, WritePrecision.NS)
            .to_line_protocol()
        )
        for store, segment, members in counts
    ]
