"""Members at HQ: reading and writing them, for ingest and for the routes (the caller commits).

A member is known by any id a hub made for them: `resolve` maps it to the member (HQ's id).
Balances and spend are sums over the rows of every id of the member, taken in the database:
one index range per id (ix_member_ids_member, then ix_points_entries_member_store_points).
"""

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud.analytics.models import MemberRfm
from cloud.const import ALL_STORES, HQ_ENTRY_PREFIX, ID_CHUNK, OVERDRAFT, RISK, SPEND_WINDOW_S
from cloud.members.models import (
    Coupon,
    Invitation,
    Member,
    MemberId,
    MemberSpend,
    PointsEntry,
    RiskItem,
    StampEntry,
)
from cloud.models import ConfigDocument, IngestedEvent, Store, table_of
from contract.campaigns import CampaignKind, CampaignsConfig, Cards, Stamp, stamp_cards
from contract.members import (
    CouponKind,
    CouponTemplate,
    InvitedBy,
    IssuedCoupon,
    MemberLookup,
    MembersConfig,
    Segment,
    StampSeen,
    new_coupon_code,
)
from contract.uplink import MEMBER_JOINED


def insert_ignore(session: Session, model: Any, key: list[str]) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING, on PostgreSQL and SQLite alike."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table_of(model)).on_conflict_do_nothing(index_elements=key)


def upsert(session: Session, model: Any) -> Any:
    """INSERT … for an ON CONFLICT DO UPDATE, on PostgreSQL and SQLite alike."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table_of(model))


# --- who is who -------------------------------------------------------------------------------


def resolve(session: Session, member_id: str) -> str | None:
    """The member (HQ's id) an id belongs to; None if HQ has not had its member.joined."""
    return session.scalar(select(MemberId.member).where(MemberId.id == member_id))


def resolve_many(session: Session, member_ids: Iterable[str]) -> dict[str, str]:
    """id -> member, for the ids HQ knows."""
    wanted = sorted(set(member_ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        query = select(MemberId.id, MemberId.member).where(MemberId.id.in_(chunk))
        found.update((i, m) for i, m in session.execute(query))
    return found


def ids_of(member: str) -> Select[str]:
    """Every id of a member, as a subquery."""
    return select(MemberId.id).where(MemberId.member == member)


def _balance(member: str, not_store: str | None) -> Select[Any]:
    query = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.member_id.in_(ids_of(member))
    )
    if not_store is not None:
        query = query.where(or_(PointsEntry.store_id.is_(None), PointsEntry.store_id != not_store))
    return query


def balance(session: Session, member: str, not_store: str | None = None) -> int:
    """The sum of the member's entries (those not from `not_store`, when given)."""
    return int(session.scalar(_balance(member, not_store)) or 0)


def balances_by_store(session: Session, member: str) -> dict[str | None, int]:
    """store (None: HQ) -> the sum of the member's entries made there."""
    query = (
        select(PointsEntry.store_id, func.sum(PointsEntry.points))
        .where(PointsEntry.member_id.in_(ids_of(member)))
        .group_by(PointsEntry.store_id)
    )
    return {store: int(points) for store, points in session.execute(query)}


def _spend_12m(member: str, now: float, not_store: str | None) -> Select[Any]:
    query = select(func.coalesce(func.sum(MemberSpend.amount_fen), 0)).where(
        MemberSpend.member_id.in_(ids_of(member)),
        MemberSpend.refunded_at.is_(None),
        MemberSpend.paid_at >= now - SPEND_WINDOW_S,
    )
    if not_store is not None:
        query = query.where(MemberSpend.store_id != not_store)
    return query


def spend_12m(session: Session, member: str, now: float, not_store: str | None = None) -> int:
    """Paid bills of the member over the last 12 months (by the hubs' clocks), net of refunds."""
    return int(session.scalar(_spend_12m(member, now, not_store)) or 0)


def issued(coupon: Coupon) -> IssuedCoupon:
    return IssuedCoupon(
        code=coupon.code,
        template=coupon.template,
        name_zh=coupon.name_zh,
        name_en=coupon.name_en,
        kind=CouponKind(coupon.kind),
        value_fen=coupon.value_fen,
        percent=coupon.percent,
        cap_fen=coupon.cap_fen,
        dish=coupon.dish,
        min_spend_fen=coupon.min_spend_fen,
        stores=coupon.stores,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
    )


def usable_coupons(
    session: Session, member: str, now: float, store: str | None = None
) -> list[Coupon]:
    """The member's coupons not used and not expired (valid at `store`, when given)."""
    rows = session.scalars(
        select(Coupon)
        .where(
            Coupon.member_id.in_(ids_of(member)),
            Coupon.redeemed_at.is_(None),
            Coupon.valid_until > now,
        )
        .order_by(Coupon.valid_until, Coupon.code)
    )
    return [c for c in rows if store is None or c.stores is None or store in c.stores]


def lookup(session: Session, member: Member, store: str, now: float) -> MemberLookup:
    """What the hub of `store` is told about a member (contract.members.MemberLookup)."""
    ids = list(
        session.scalars(
            select(MemberId.id)
            .where(MemberId.member == member.id)
            .order_by(MemberId.joined_at, MemberId.id)
        )
    )
    ids = [member.id, *(i for i in ids if i != member.id)]  # HQ's first
    # Both sums in one round trip: the lookup is on the hub's path while a diner waits.
    points, spend, segment = session.execute(
        select(
            _balance(member.id, store).scalar_subquery(),
            _spend_12m(member.id, now, store).scalar_subquery(),
            select(MemberRfm.segment).where(MemberRfm.member == member.id).scalar_subquery(),
        )
    ).one()
    return MemberLookup(
        member=member.id,
        ids=ids,
        phone_masked=member.phone_masked or "",
        birthday=member.birthday,
        card_no=member.card_no,
        spend_12m_elsewhere_fen=int(spend),
        balance_elsewhere=int(points),
        coupons=[issued(c) for c in usable_coupons(session, member.id, now, store)],
        erased=member.erased_at is not None,
        used_coupons=list(
            session.scalars(
                select(Coupon.code).where(
                    Coupon.member_id.in_(ids_of(member.id)),
                    Coupon.redeemed_at.is_not(None),
                    Coupon.valid_until > now,  # an expired copy cannot be used anyway
                )
            )
        ),
        segment=Segment(segment) if segment is not None and member.erased_at is None else None,
        stamps=[
            StampSeen(stamp=e.stamp, campaign=e.campaign, place=e.place, at=e.at)
            for e in session.scalars(
                select(StampEntry).where(
                    StampEntry.member_id.in_(ids_of(member.id)), StampEntry.store_id != store
                )
            )
        ],
        invited_by=_invited_by(session, member.id),
    )


def _invited_by(session: Session, member: str) -> InvitedBy | None:
    """The member's invitation (the first of their ids that has one)."""
    found = session.scalar(
        select(Invitation)
        .where(Invitation.friend_id.in_(ids_of(member)))
        .order_by(Invitation.at)
        .limit(1)
    )
    if found is None:
        return None
    return InvitedBy(
        inviter=found.inviter_id,
        campaign=found.campaign,
        at=found.at,
        rewarded=found.rewarded_payment is not None,
    )


def find(
    session: Session,
    *,
    member_id: str | None = None,
    phone_hash: str | None = None,
    card_no: str | None = None,
) -> Member | None:
    """A member by any of their ids, their phone hash or a card number; None if unknown."""
    if phone_hash is not None:
        return session.scalar(select(Member).where(Member.phone_hash == phone_hash))
    if card_no is not None:
        return session.scalar(
            select(Member)
            .join(MemberId, MemberId.member == Member.id)
            .where(MemberId.card_no == card_no)
            .order_by(MemberId.joined_at)
            .limit(1)
        )
    if member_id is not None:
        return session.scalar(
            select(Member)
            .join(MemberId, MemberId.member == Member.id)
            .where(MemberId.id == member_id)
        )
    return None


def segment_members(session: Session, segment: Segment) -> list[Member]:
    """The members of an RFM segment as of the last scoring, not erased, by id."""
    return list(
        session.scalars(
            select(Member)
            .join(MemberRfm, MemberRfm.member == Member.id)
            .where(MemberRfm.segment == segment.value, Member.erased_at.is_(None))
            .order_by(Member.id)
        )
    )


# --- HQ's rules, from the configuration the stores run ------------------------------------


def members_config(session: Session, store: str | None = None) -> MembersConfig:
    """The member rules in force: those of the configuration `store` runs (the version its hub
    last reported), else the newest document for it; for HQ (None), the newest for every
    store. HQ's defaults when none was published, or one from before members."""
    doc: ConfigDocument | None = None
    scopes = [ALL_STORES] if store is None else [ALL_STORES, store]
    if store is not None:
        running = session.scalar(select(Store.config_version).where(Store.id == store))
        if running is not None:
            doc = session.scalar(
                select(ConfigDocument).where(
                    ConfigDocument.version == running, ConfigDocument.scope.in_(scopes)
                )
            )
    if doc is None:
        doc = session.scalar(
            select(ConfigDocument)
            .where(ConfigDocument.scope.in_(scopes))
            .order_by(ConfigDocument.version.desc())
            .limit(1)
        )
    if doc is None:
        return MembersConfig()
    return MembersConfig.model_validate(doc.document.get("members", {}))


def campaigns_config(session: Session) -> CampaignsConfig:
    """The campaigns of the newest chain-wide configuration, else of the newest for any store
    (none before one was published)."""
    newest = select(ConfigDocument).order_by(ConfigDocument.version.desc()).limit(1)
    doc = session.scalar(newest.where(ConfigDocument.scope == ALL_STORES)) or session.scalar(newest)
    if doc is None:
        return CampaignsConfig()
    return CampaignsConfig.model_validate(doc.document.get("campaigns", {}))


def stamp_cards_public(session: Session, member: str) -> dict[str, tuple[Cards, int, int]]:
    """campaign -> (the member's cards, stamps to a full card, stamps in all), from every
    store's stamps, counted as the hubs count them."""
    needed = {
        c.id: c.stamp.stamps
        for c in campaigns_config(session).campaigns
        if c.kind is CampaignKind.STAMP_CARD and c.stamp is not None
    }
    by_campaign: dict[str, list[Stamp]] = {}
    for e in session.scalars(select(StampEntry).where(StampEntry.member_id.in_(ids_of(member)))):
        by_campaign.setdefault(e.campaign, []).append(Stamp(e.stamp, e.place, e.at))
    return {
        c: (stamp_cards(found, needed[c]), needed[c], len(found))
        for c, found in sorted(by_campaign.items())
        if c in needed
    }


# --- risks ----------------------------------------------------------------------------------


def risk_row(
    key: str,
    kind: str,
    member: str,
    store: str | None,
    detail: dict[str, Any],
    level: str = RISK,
) -> dict[str, Any]:
    return {
        "key": key,
        "kind": kind,
        "level": level,
        "member": member,
        "store_id": store,
        "detail": detail,
        "created_at": time.time(),
    }


def add_risks(session: Session, rows: list[dict[str, Any]]) -> None:
    """Risk items, each once per key (a re-evaluation or a retried batch adds nothing)."""
    if rows:
        session.execute(insert_ignore(session, RiskItem, ["key"]), rows)


def flag_overdrafts(session: Session, members: set[str], batch_entries: Sequence[str]) -> None:
    """Every member of `members` whose balance is below zero gets an overdraft risk item for
    each of `batch_entries` that is theirs and negative; a member made negative by something
    else (their ids merged) for their latest negative entry. Never a silent negative.

    A few statements whatever the batch: the negative balances in one GROUP BY, the batch's
    negative entries of those members in one query, the items in one insert."""
    if not members:
        return
    query = (
        select(MemberId.member, func.sum(PointsEntry.points))
        .join(PointsEntry, PointsEntry.member_id == MemberId.id)
        .where(MemberId.member.in_(sorted(members)))
        .group_by(MemberId.member)
        .having(func.sum(PointsEntry.points) < 0)
    )
    negative = {member: int(total) for member, total in session.execute(query)}
    if not negative:
        return
    culprits: dict[str, list[PointsEntry]] = {m: [] for m in negative}
    if batch_entries:
        rows = session.execute(
            select(MemberId.member, PointsEntry)
            .join(PointsEntry, PointsEntry.member_id == MemberId.id)
            .where(
                MemberId.member.in_(sorted(negative)),
                PointsEntry.entry.in_(sorted(batch_entries)),
                PointsEntry.points < 0,
            )
        )
        for member, entry in rows:
            culprits[member].append(entry)
    for member, found in culprits.items():
        if not found:  # made negative by a merge: its latest negative entry (rare)
            latest = session.scalar(
                select(PointsEntry)
                .where(PointsEntry.member_id.in_(ids_of(member)), PointsEntry.points < 0)
                .order_by(PointsEntry.at.desc(), PointsEntry.id.desc())
                .limit(1)
            )
            found += [latest] if latest is not None else []
    add_risks(
        session,
        [
            risk_row(
                f"{OVERDRAFT}:{e.entry}",
                OVERDRAFT,
                member,
                e.store_id,
                {
                    "entry": e.entry,
                    "points": e.points,
                    "balance": negative[member],
                    "offline": e.offline,
                    "cause": e.cause,
                    "ref": e.ref,
                    "at": e.at,
                },
            )
            for member in sorted(culprits)
            for e in culprits[member]
        ],
    )


# --- what HQ does itself ----------------------------------------------------------------


def hq_entry_id(idempotency_key: str) -> str:
    """The entry id of an HQ adjustment: made from its Idempotency-Key, so a retried POST
    names the same entry and the ledger's unique entry id keeps it once."""
    return HQ_ENTRY_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Adjusted:
    entry: PointsEntry
    created: bool


class AdjustmentConflict(Exception):
    """The Idempotency-Key was used for another adjustment, or the balance would go below 0."""


def adjust(
    session: Session, member: Member, points: int, reason: str, by: str, idempotency_key: str
) -> Adjusted:
    """An HQ adjustment (cause `adjust`): once per Idempotency-Key. Never below zero: HQ's own
    adjustments do not overdraw (a hub's offline ones are flagged instead)."""
    entry_id = hq_entry_id(idempotency_key)
    # The member's row locked (PostgreSQL): two adjustments of one member go one at a time, so
    # each sees the other's entry, when it looks for its key and when it checks the balance.
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    created = False
    entry = session.scalar(select(PointsEntry).where(PointsEntry.entry == entry_id))
    if entry is None:
        now_balance = balance(session, member.id) if points < 0 else 0
        if points < 0 and now_balance + points < 0:
            raise AdjustmentConflict(
                f"the balance is {now_balance}: taking {-points} would make it negative"
            )
        now = time.time()
        row = {
            "entry": entry_id,
            "member_id": member.id,
            "store_id": None,
            "points": points,
            "cause": "adjust",
            "ref": "",
            "reason": reason,
            "offline": False,
            "at": now,
            "by": by,
            "received_at": now,
        }
        statement = insert_ignore(session, PointsEntry, ["entry"])
        created = bool(
            list(session.execute(statement.returning(table_of(PointsEntry).c.entry), [row]))
        )
        entry = session.scalar(select(PointsEntry).where(PointsEntry.entry == entry_id))
        assert entry is not None
    # The same key again (a retried POST, or one racing with it for another member): the same
    # adjustment, or a conflict.
    if not created and (
        resolve(session, entry.member_id) != member.id
        or (entry.points, entry.reason) != (points, reason)
    ):
        raise AdjustmentConflict("this Idempotency-Key was used for another adjustment")
    return Adjusted(entry, created)


def issue_coupon(
    session: Session, member: Member, template: CouponTemplate, source: str, now: float
) -> Coupon | None:
    """A coupon of `template` for the member, unless they already hold its per-member limit
    of unused, unexpired ones (None then). The member's row is locked first (PostgreSQL), so
    two issues at once cannot both pass the limit."""
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    held = session.scalar(
        select(func.count()).where(
            Coupon.member_id.in_(ids_of(member.id)),
            Coupon.template == template.id,
            Coupon.redeemed_at.is_(None),
            Coupon.valid_until > now,
        )
    )
    if (held or 0) >= template.per_member_limit:
        return None
    coupon = Coupon(
        code=new_coupon_code(),
        member_id=member.id,
        source=source,
        issued_store=None,
        issued_at=now,
        **terms_columns(template, now),
    )
    session.add(coupon)
    session.flush()
    return coupon


def terms_columns(
    template: CouponTemplate, valid_from: float, valid_until: float | None = None
) -> dict[str, Any]:
    """A template's terms as a coupon's columns (copied: a later change of the template does
    not change a coupon already given)."""
    return {
        "template": template.id,
        "name_zh": template.name_zh,
        "name_en": template.name_en,
        "kind": template.kind.value,
        "value_fen": template.value_fen,
        "percent": template.percent,
        "cap_fen": template.cap_fen,
        "dish": template.dish,
        "min_spend_fen": template.min_spend_fen,
        "stores": template.stores,
        "valid_from": valid_from,
        "valid_until": valid_until
        if valid_until is not None
        else valid_from + template.valid_days * 86400,
    }


def erase(session: Session, member: Member, now: float) -> None:
    """The member's personal data goes (phone hash and mask, birthday, cards), here and in the
    member.joined events HQ stored; the ledger, spend and coupons stay, under the member's
    ids, which identify nobody without the personal data."""
    ids = session.execute(
        select(MemberId.id, MemberId.store_id).where(MemberId.member == member.id)
    ).all()
    member.phone_hash = None
    member.phone_masked = None
    member.birthday = None
    member.card_no = None
    if member.erased_at is None:
        member.erased_at = now
    session.execute(update(MemberId).where(MemberId.member == member.id).values(card_no=None))
    # A profile of the person (their RFM scores) goes with the data; the next scoring skips them.
    session.execute(delete(MemberRfm).where(MemberRfm.member == member.id))
    # Each id's member.joined came from the store that made the id: found by the events'
    # unique (store, event id) index, not by a scan of every event HQ has.
    for member_id, store in ids:
        event = session.scalar(
            select(IngestedEvent).where(
                IngestedEvent.store_id == store,
                IngestedEvent.event_id == f"mj-{member_id}",
                IngestedEvent.type == MEMBER_JOINED,
            )
        )
        if event is not None:
            event.data = {"member": member_id, "erased": True}
