# mypy: disallow-untyped-calls=False
# (influxdb-client's Point has no type hints: see cloud/sales_influx.py.)
"""RFM: every member's recency, frequency and money quintiles, and the plan's eight segments
(docs/analytics.md).

Over each member's paid bills at HQ (`member_spend`, refunds excluded, every id of the member
resolved, erased members left out), read from the sums per id that ingest keeps beside them
(`member_totals`, `member_store_bills`: cloud/members/spend.py): R orders the last bill's
time, F the number of bills, M the amount paid. Each is PostgreSQL's `NTILE(5)` over all
scored members, 5 the best (most recent, most bills, most paid). NTILE cuts equal values
wherever a fifth ends; a member's score is the lowest tile any member with the same value
got, so equal figures always score alike (with many one-bill members, they all have F = 1:
nobody is "frequent" for one bill). That lowest tile is computed from each figure's RANK()
(`_tile`): the same number, with one sort per figure.

A score is high from SCORE_HIGH_FROM (the middle quintile and up); the segment is the plan's
name for (R high?, F high?, M high?): SEGMENT_OF. The scoring replaces the whole table in one
transaction, so readers see the previous scoring or this one, never a mix.
"""

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision
from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from cloud.analytics.models import MemberRfm, SegmentCount
from cloud.const import M_RFM_SEGMENTS, RFM_HIGH_FROM, RFM_TILES
from cloud.members.models import Member, MemberId, MemberStoreBills, MemberTotals
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


def _tile(rank: Any, n: Any) -> Any:
    """NTILE(TILES) of the row at 1-based position `rank` of `n`, as PostgreSQL deals rows:
    the first n % TILES tiles get one row more. At a figure's RANK() (the first position of
    its equal figures) this is the lowest tile NTILE gives any of them: the rule, with one
    sort per figure instead of NTILE's and a second to find each figure's lowest tile."""
    rank, n = type_coerce(rank, Integer), type_coerce(n, Integer)
    q = n // TILES
    rem = n - q * TILES
    head = rem * (q + 1)  # the rows in the tiles that have one more
    return case(
        (rank <= head, (rank - 1) // (q + 1) + 1),
        else_=rem + (rank - 1 - head) // func.nullif(q, 0) + 1,
    )


def figures() -> Select[str, float | None, int, int]:
    """(member, last_paid_at, bills, spend_fen) of every member to score: their ids' sums
    resolved to them, erased members left out."""
    return (
        select(
            MemberId.member.label("member"),
            func.max(MemberTotals.last_paid_at).label("last_paid_at"),
            func.sum(MemberTotals.bills).label("bills"),
            func.sum(MemberTotals.spend_fen).label("spend_fen"),
        )
        .join(MemberId, MemberId.id == MemberTotals.member_id)
        .join(Member, Member.id == MemberId.member)
        .where(MemberTotals.bills > 0, Member.erased_at.is_(None))
        .group_by(MemberId.member)
    )


def score(session: Session, now: float) -> Scoring:
    """Score every member with a paid bill; replaces the last scoring (the caller commits).

    Reads each id's sums that ingest keeps (cloud/members/spend.py: a row per id, not per
    bill), the ids resolved to their members."""
    if session.get_bind().dialect.name == "postgresql":
        # The groupings and sorts of a million members in memory rather than spilled to
        # disk, for this transaction only.
        session.execute(text(f"SET LOCAL work_mem = '{RFM_WORK_MEM}'"))
    per_member = figures().cte("per_member")
    raw = select(
        *per_member.c,
        func.rank().over(order_by=per_member.c.last_paid_at).label("r0"),
        func.rank().over(order_by=per_member.c.bills).label("f0"),
        func.rank().over(order_by=per_member.c.spend_fen).label("m0"),
        func.count().over().label("n"),
    ).cte("raw")
    tiles = select(
        raw.c.member,
        raw.c.last_paid_at,
        raw.c.bills,
        raw.c.spend_fen,
        _tile(raw.c.r0, raw.c.n).label("r"),
        _tile(raw.c.f0, raw.c.n).label("f"),
        _tile(raw.c.m0, raw.c.n).label("m"),
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
    visits = alias_visits(session)
    for store, seg, n in session.execute(store_counts()):
        visits[(store, seg)] += int(n)
    counts = [
        {"store_id": store, "segment": seg, "members": n, "scored_at": now}
        for (store, seg), n in sorted(visits.items())
    ]
    if counts:
        session.execute(insert(SegmentCount), counts)
    by_segment = {
        Segment(s): int(n)
        for s, n in session.execute(
            select(MemberRfm.segment, func.count()).group_by(MemberRfm.segment)
        )
    }
    return Scoring(scored_at=now, members=sum(by_segment.values()), by_segment=by_segment)


def store_counts() -> Select[str, str, int]:
    """(store, segment, members) over members' own ids: the members who paid a bill at each
    store, each once (a member's own id is their HQ id, so its stores join the scoring
    directly). A plain SELECT of a few thousand rows, so that PostgreSQL may scan the store
    rows with parallel workers, which it never does for an INSERT … SELECT."""
    at = MemberStoreBills
    return (
        select(at.store_id, MemberRfm.segment, func.count())
        .join(MemberRfm, MemberRfm.member == at.member_id)
        .where(at.bills > 0)
        .group_by(at.store_id, MemberRfm.segment)
    )


CHUNK: Final = 1000  # ids per IN (…) list


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def alias_visits(session: Session) -> Counter[tuple[str, str]]:
    """(store, segment) -> members more, from the stores of members' other ids (a hub offline
    made one for a known phone: few), where the member's own id has no bill. Read by those
    ids (the planner cannot know how few they are, and would scan every store row again)."""
    at = MemberStoreBills
    aliases: dict[str, str] = {
        i: m
        for i, m in session.execute(
            select(MemberId.id, MemberId.member).where(MemberId.id != MemberId.member)
        )
    }
    if not aliases:
        return Counter()
    paid = at.bills > 0
    own: set[tuple[str, str]] = set()
    for chunk in _chunks(set(aliases.values())):
        query = select(at.member_id, at.store_id).where(at.member_id.in_(chunk), paid)
        own.update((m, store) for m, store in session.execute(query))
    visits: set[tuple[str, str]] = set()
    for chunk in _chunks(aliases):
        for member_id, store in session.execute(
            select(at.member_id, at.store_id).where(at.member_id.in_(chunk), paid)
        ):
            if (aliases[member_id], store) not in own:
                visits.add((aliases[member_id], store))
    segments: dict[str, str] = {}
    for chunk in _chunks({m for m, _ in visits}):
        query = select(MemberRfm.member, MemberRfm.segment).where(MemberRfm.member.in_(chunk))
        segments.update((m, seg) for m, seg in session.execute(query))
    return Counter((store, segments[m]) for m, store in visits if m in segments)


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
