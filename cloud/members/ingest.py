"""What the hubs' member events do at HQ, written with the events (cloud/api/ingest.py calls
`record` in the same transaction, for the events stored just now: a retried batch does nothing
twice). docs/members-hq.md has the rules; in short:

- `member.joined`: a new member, or, when the phone hash is known (a hub offline made its own
  id for a known phone), one more id of that member. The first id HQ gets is the member's.
- `member.points`: the entry, under the id it names; it counts for the member as soon as that
  id is known, whichever arrives first. A member below zero after the batch is flagged.
- `coupon.issued`: the coupon, its terms copied from the configuration its store runs.
- `coupon.redeemed`: a conditional update keeps the earliest redemption of a code by the hubs'
  clocks; any other is a double redemption (flagged, or honoured by policy).
- `member.stamp`: the stamp, under the id it names, once. A stamp that filled a card whose
  number another store's stamp filled too (both offline) is a double completion: the later
  one (by the hubs' clocks) is flagged `double_stamp` (its coupon is one code: a second use of
  it is a double redemption besides).
- `member.invited`: the friend's invitation, once per friend; its reward, the first reported
  (a store's lookup then tells the friend's other stores it was rewarded).
- `coupon.withdrawn`: a reward coupon whose cause was refunded ends (its validity ends then);
  one used already at another store is listed as a risk (`withdrawn_used`).
- `coupon.released`: a refund gives the coupon back. `payment.recorded` with a member: their
  spend; `payment.refunded`: that spend reversed (both with the ids' sums: cloud/members/
  spend.py).
"""

import logging
import time
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, tuple_, update
from sqlalchemy.orm import Session

from cloud.const import (
    DOUBLE_REDEEM,
    DOUBLE_REDEEM_HONOUR,
    DOUBLE_STAMP,
    FLAGGED,
    HONOURED,
    INFO,
    INVITE_LIMIT,
    KEPT,
    PENDING,
    RISK,
    WITHDRAWN_USED,
    DoubleRedeemPolicy,
)
from cloud.members import service, spend
from cloud.members.models import (
    Coupon,
    CouponRedemption,
    Invitation,
    Member,
    MemberId,
    PointsEntry,
    StampEntry,
)
from cloud.sales_facts import Fact, M, parse
from contract.campaigns import completion_id
from contract.members import CouponKind
from contract.uplink import (
    COUPON_ISSUED,
    COUPON_REDEEMED,
    COUPON_RELEASED,
    COUPON_WITHDRAWN,
    MEMBER_INVITED,
    MEMBER_JOINED,
    MEMBER_POINTS,
    MEMBER_STAMP,
    PAYMENT_RECORDED,
    PAYMENT_REFUNDED,
    CouponIssued,
    CouponRedeemed,
    CouponReleased,
    CouponWithdrawn,
    MemberInvited,
    MemberJoined,
    PaymentRecorded,
    PaymentRefunded,
    StampAdded,
)
from contract.uplink import (
    PointsEntry as PointsEntryData,
)

log = logging.getLogger(__name__)

COUPON_TYPES = frozenset({COUPON_ISSUED, COUPON_REDEEMED, COUPON_RELEASED, COUPON_WITHDRAWN})
MEMBER_TYPES = frozenset(
    {
        MEMBER_JOINED,
        MEMBER_POINTS,
        COUPON_ISSUED,
        COUPON_REDEEMED,
        COUPON_RELEASED,
        COUPON_WITHDRAWN,
        PAYMENT_RECORDED,
        PAYMENT_REFUNDED,
        MEMBER_STAMP,
        MEMBER_INVITED,
    }
)


def record(
    session: Session, store: str, events: Iterable[Fact], policy: DoubleRedeemPolicy
) -> None:
    """The member facts of events stored just now, in the caller's transaction. Events whose
    data does not match the contract are left out (ingest stored them and logged it)."""
    events = [e for e in events if e.type in MEMBER_TYPES]
    if not events:
        return
    now = time.time()
    joined = [j for e in events if e.type == MEMBER_JOINED and (j := _read(e, MemberJoined))]
    # By phone hash (stably): batches joining the same phones take their locks on the unique
    # hash in the same order.
    for j in sorted(joined, key=lambda j: j.phone_hash):
        _join(session, store, j)
    entries = [p for e in events if e.type == MEMBER_POINTS and (p := _read(e, PointsEntryData))]
    _entries(session, store, entries, now)
    stamps = [s for e in events if e.type == MEMBER_STAMP and (s := _read(e, StampAdded))]
    _stamps(session, store, stamps, now)
    for e in events:
        if e.type == MEMBER_INVITED and (invited := _read(e, MemberInvited)):
            _invited(session, store, invited)
    # Coupons by code (stably: a code's events keep the hub's order): two stores' batches that
    # touch the same coupons lock their rows in the same order, and never deadlock.
    coupon_events = sorted(
        (e for e in events if e.type in COUPON_TYPES), key=lambda e: str(e.data.get("coupon"))
    )
    for e in coupon_events:
        if e.type == COUPON_ISSUED and (issued := _read(e, CouponIssued)):
            _issued(session, store, issued, policy)
        elif e.type == COUPON_REDEEMED and (redeemed := _read(e, CouponRedeemed)):
            _redeemed(session, store, e.event_id, redeemed, policy, now)
        elif e.type == COUPON_RELEASED and (released := _read(e, CouponReleased)):
            _released(session, store, released)
        elif e.type == COUPON_WITHDRAWN and (withdrawn := _read(e, CouponWithdrawn)):
            _withdrawn(session, store, withdrawn)
    spend.record(
        session,
        store,
        [b for e in events if e.type == PAYMENT_RECORDED and (b := _read(e, PaymentRecorded))],
        [r for e in events if e.type == PAYMENT_REFUNDED and (r := _read(e, PaymentRefunded))],
    )
    # Whose balance may have gone below zero: the members of new negative entries, and those
    # who got an id now (entries that came before their member.joined count from now on). A
    # positive entry cannot make a balance negative; one that was stays flagged already.
    negative = [d for d in entries if d.points < 0]
    touched = {d.member for d in negative} | {j.member for j in joined}
    if touched:
        members = set(service.resolve_many(session, touched).values())
        service.flag_overdrafts(session, members, [d.entry for d in negative])


def _read(event: Fact, model: type[M]) -> M | None:
    """The event's data as `model`: as ingest read it already, else read now (None when it
    does not match the contract)."""
    if isinstance(event.typed, model):
        return event.typed
    return parse(model, event.data) if event.typed is None else None


def _join(session: Session, store: str, d: MemberJoined) -> None:
    if service.resolve(session, d.member) is not None:
        return  # an id HQ knows (its event again from another path): nothing new
    row = {
        "id": d.member,
        "phone_hash": d.phone_hash,
        "phone_masked": d.phone_masked,
        "birthday": d.birthday,
        "card_no": d.card_no,
        "consent": d.consent,
        "joined_at": d.joined_at,
        "joined_store": store,
        "erased_at": None,
    }
    # The phone's first id becomes the member; a concurrent batch with the same phone waits on
    # the unique phone hash and then finds the member the other made.
    session.execute(service.insert_ignore(session, Member, ["phone_hash"]), row)
    owner = session.scalar(select(Member).where(Member.phone_hash == d.phone_hash))
    assert owner is not None
    if owner.id != d.member:
        # What the first hub did not know (it may not have asked), the later one may have.
        owner.birthday = owner.birthday or d.birthday
        owner.card_no = owner.card_no or d.card_no
    alias = {
        "id": d.member,
        "member": owner.id,
        "store_id": store,
        "card_no": d.card_no,
        "joined_at": d.joined_at,
    }
    session.execute(service.insert_ignore(session, MemberId, ["id"]), alias)


def _entries(session: Session, store: str, entries: list[PointsEntryData], now: float) -> None:
    """Insert the entries; one already there (forwarded before under another event id) stays
    as it was. A plain executemany (psycopg pipelines it, one prepared statement): RETURNING
    would make it one huge VALUES statement per batch, parsed again every time."""
    rows = [
        {
            "entry": d.entry,
            "member_id": d.member,
            "store_id": store,
            "points": d.points,
            "cause": d.cause.value,
            "ref": d.ref,
            "reason": d.reason,
            "offline": d.offline,
            "at": d.at,
            "by": d.by,
            "received_at": now,
        }
        # Sorted: concurrent batches take their locks on the unique index in the same order.
        for d in sorted(entries, key=lambda d: d.entry)
    ]
    if rows:
        session.execute(service.insert_ignore(session, PointsEntry, ["entry"]), rows)


def _stamps(session: Session, store: str, stamps: list[StampAdded], now: float) -> None:
    """Insert the stamps (each id once), then flag every card two stores filled."""
    rows = [
        {
            "stamp": d.stamp,
            "member_id": d.member,
            "store_id": store,
            "campaign": d.campaign,
            "place": d.place,
            "card": d.card,
            "completes": d.completes,
            "coupon": d.coupon,
            "at": d.at,
            "received_at": now,
        }
        for d in sorted(stamps, key=lambda d: d.stamp)
    ]
    if rows:
        session.execute(service.insert_ignore(session, StampEntry, ["stamp"]), rows)
    completing = [d for d in stamps if d.completes]
    # Two stores' completions of one card may be ingested at once: each transaction would
    # see only its own and neither flag the other. The member is locked first (in one order,
    # so that two batches cannot wait on each other): the later one sees both.
    known = {d.member: service.resolve(session, d.member) for d in completing}
    for member in sorted({k or sent for sent, k in known.items()}):
        _lock_member(session, member, member in known.values())
    for d in completing:
        _double_completion(session, d)


def _lock_member(session: Session, member_id: str, known: bool) -> None:
    """Until commit, this member's completions are checked by this transaction only: their
    row locked once HQ knows them (as service.adjust does), else the id sent."""
    if known:
        session.execute(select(Member.id).where(Member.id == member_id).with_for_update())
    else:
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(member_id))))


def _invited(session: Session, store: str, d: MemberInvited) -> None:
    """The invitation, once per friend (the first store's); its reward, the first reported;
    then the inviter's friends that day across the chain against the campaign's limit."""
    row = {
        "friend_id": d.friend,
        "inviter_id": d.inviter,
        "store_id": store,
        "campaign": d.campaign,
        "at": d.at,
        "day": d.day or time.strftime("%Y-%m-%d", time.gmtime(d.at)),
        "rewarded_payment": None,
        "rewarded_store": None,
        "rewarded_at": None,
    }
    session.execute(service.insert_ignore(session, Invitation, ["friend_id"]), row)
    if d.rewarded_payment is not None:
        session.execute(
            update(Invitation)
            .where(Invitation.friend_id == d.friend, Invitation.rewarded_payment.is_(None))
            .values(
                rewarded_payment=d.rewarded_payment, rewarded_store=store, rewarded_at=d.rewarded_at
            )
            .execution_options(synchronize_session=False)
        )
    _beyond_daily_limit(session, d)


def _beyond_daily_limit(session: Session, d: MemberInvited) -> None:
    """Each hub holds an inviter to the campaign's friends a day at its own store; offline,
    stores cannot know each other's, so an inviter farming friends at several stores gets
    the limit at each. HQ hears of every store's: the inviter's invitations of that day (the
    day each was counted under at its hub, any campaign, as the hubs count), in order of
    joining, and every rewarded one past the limit is a risk item (once per friend). Counted
    again at each invitation or reward of the inviter, so one HQ hears of out of order is
    caught by the next. Not refused: the reward was given, offline, where the rules allowed."""
    # As written just now (the statements above went around the session's objects).
    mine = session.get(Invitation, d.friend, populate_existing=True)
    if mine is None or mine.day is None:
        return
    known = service.resolve(session, mine.inviter_id)
    inviter = _ids_match(Invitation.inviter_id, known, mine.inviter_id)
    that_day = session.scalars(
        select(Invitation)
        .where(inviter, Invitation.day == mine.day)
        .order_by(Invitation.at, Invitation.friend_id)
        .execution_options(populate_existing=True)
    ).all()
    if len(that_day) < 2:
        return  # within any limit (at least one a day): the configuration is not read
    campaign = service.campaigns_config(session).campaign(mine.campaign)
    if campaign is None or campaign.share is None:
        return  # HQ ended the offer: no limit to hold it to
    limit = campaign.share.per_inviter_per_day
    stores = sorted({i.store_id for i in that_day})
    service.add_risks(
        session,
        [
            service.risk_row(
                f"{INVITE_LIMIT}:{i.friend_id}",
                INVITE_LIMIT,
                known or i.inviter_id,
                i.rewarded_store,
                {
                    "friend": i.friend_id,
                    "day": i.day,
                    "nth": n,
                    "limit": limit,
                    "invited_store": i.store_id,
                    "rewarded_payment": i.rewarded_payment,
                    "stores": stores,
                },
            )
            for n, i in enumerate(that_day, start=1)
            if n > limit and i.rewarded_payment is not None
        ],
    )


def _ids_match(column: Any, known: str | None, sent: str) -> Any:
    """`column` names the member: any of their ids once HQ knows them (`known`, resolved),
    else just the id sent."""
    return column.in_(service.ids_of(known)) if known is not None else column == sent


def _double_completion(session: Session, d: StampAdded) -> None:
    """The stamps that filled the member's card number `d.card` at any store: the first (by
    the hubs' clocks, then id) is the completion; any other is a risk item, once."""
    known = service.resolve(session, d.member)
    member = known or d.member
    mine = _ids_match(StampEntry.member_id, known, d.member)
    filled = session.scalars(
        select(StampEntry)
        .where(
            mine,
            StampEntry.campaign == d.campaign,
            StampEntry.card == d.card,
            StampEntry.completes.is_(True),
        )
        .order_by(StampEntry.at, StampEntry.stamp)
    ).all()
    if not filled:
        return
    first, *others = filled
    service.add_risks(
        session,
        [
            service.risk_row(
                f"{DOUBLE_STAMP}:{e.stamp}",
                DOUBLE_STAMP,
                member,
                e.store_id,
                {
                    "campaign": e.campaign,
                    "card": e.card,
                    "completion": completion_id(e.card, e.stamp),
                    "coupon": e.coupon,
                    "at": e.at,
                    "kept_store": first.store_id,
                    "kept_completion": completion_id(first.card, first.stamp),
                    "kept_at": first.at,
                },
            )
            for e in others
        ],
    )


def _issued(session: Session, store: str, d: CouponIssued, policy: DoubleRedeemPolicy) -> None:
    template = service.members_config(session, store).coupon(d.template)
    if template is not None:
        terms = service.terms_columns(template, d.valid_from, d.valid_until)
    else:
        # The hub used a template its configuration no longer has (or HQ never had): the
        # coupon is kept all the same (its redemptions need it), valued at nothing, and said.
        log.warning("store %s: coupon %s of unknown template %r", store, d.coupon, d.template)
        terms = {
            "name_zh": d.template[:30],
            "name_en": d.template[:60],
            "kind": CouponKind.AMOUNT_OFF.value,
            "value_fen": 0,
            "percent": 0,
            "cap_fen": None,
            "dish": None,
            "min_spend_fen": 0,
            "stores": None,
            "valid_from": d.valid_from,
            "valid_until": d.valid_until,
        }
    row = {
        **terms,
        "code": d.coupon,
        "member_id": d.member,
        "template": d.template,
        "source": d.source,
        "issued_store": store,
        "issued_at": d.issued_at,
    }
    session.execute(service.insert_ignore(session, Coupon, ["code"]), row)
    # Redemptions that came before the coupon (another store's hub was quicker): settled now,
    # earliest first.
    pending = session.scalars(
        select(CouponRedemption)
        .where(CouponRedemption.code == d.coupon, CouponRedemption.outcome == PENDING)
        .order_by(CouponRedemption.at, CouponRedemption.store_id, CouponRedemption.payment)
    ).all()
    for redemption in pending:
        _settle(session, redemption, policy)


def _redeemed(
    session: Session,
    store: str,
    event_id: str,
    d: CouponRedeemed,
    policy: DoubleRedeemPolicy,
    now: float,
) -> None:
    redemption = CouponRedemption(
        event_key=f"{store}/{event_id}",
        code=d.coupon,
        member_id=d.member,
        store_id=store,
        payment=d.payment,
        off_fen=d.off_fen,
        offline=d.offline,
        at=d.at,
        outcome=PENDING,
        released_at=None,
        received_at=now,
    )
    session.add(redemption)
    session.flush()
    _settle(session, redemption, policy)
    # A reward coupon withdrawn already (its cause refunded) that a store, offline, used.
    coupon = session.scalar(
        select(Coupon)
        .where(Coupon.code == d.coupon, Coupon.withdrawn_at.is_not(None))
        .execution_options(populate_existing=True)
    )
    if coupon is not None and coupon.redeemed_at is not None:
        _withdrawn_used(session, coupon)


def _settle(session: Session, r: CouponRedemption, policy: DoubleRedeemPolicy) -> None:
    """Keep `r` on its coupon if it is the earliest use (by the hubs' clocks; ties by store and
    payment) — one conditional UPDATE, so two stores' batches racing for a code are settled by
    the database's row lock — and mark the use it displaced, or `r` itself, a second use."""
    earlier_kept = tuple_(
        Coupon.redeemed_at, Coupon.redeemed_store, Coupon.redeemed_payment
    ) <= tuple_(r.at, r.store_id, r.payment)
    kept = cast(
        CursorResult[Any],
        session.execute(
            update(Coupon)
            .where(Coupon.code == r.code, (Coupon.redeemed_at.is_(None)) | ~earlier_kept)
            .values(
                redeemed_at=r.at,
                redeemed_store=r.store_id,
                redeemed_payment=r.payment,
                redeemed_off_fen=r.off_fen,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if kept.rowcount:
        displaced = session.scalars(
            select(CouponRedemption).where(
                CouponRedemption.code == r.code,
                CouponRedemption.outcome == KEPT,
                CouponRedemption.released_at.is_(None),
                CouponRedemption.id != r.id,
            )
        ).all()
        r.outcome = KEPT
        for other in displaced:
            _second_use(session, other, r, policy)
        return
    if session.get(Coupon, r.code) is None:
        return  # HQ has not got the coupon yet: settled when its coupon.issued arrives
    first = session.scalar(
        select(CouponRedemption).where(
            CouponRedemption.code == r.code,
            CouponRedemption.outcome == KEPT,
            CouponRedemption.released_at.is_(None),
        )
    )
    _second_use(session, r, first, policy)


def _second_use(
    session: Session,
    r: CouponRedemption,
    first: CouponRedemption | None,
    policy: DoubleRedeemPolicy,
) -> None:
    honour = policy == DOUBLE_REDEEM_HONOUR
    r.outcome = HONOURED if honour else FLAGGED
    member = service.resolve(session, r.member_id) or r.member_id
    risk = service.risk_row(
        f"{DOUBLE_REDEEM}:{r.event_key}",
        DOUBLE_REDEEM,
        member,
        r.store_id,
        {
            "coupon": r.code,
            "payment": r.payment,
            "off_fen": r.off_fen,
            "at": r.at,
            "offline": r.offline,
            "kept_store": first.store_id if first else None,
            "kept_payment": first.payment if first else None,
            "kept_at": first.at if first else None,
        },
        level=INFO if honour else RISK,
    )
    service.add_risks(session, [risk])


def _withdrawn(session: Session, store: str, d: CouponWithdrawn) -> None:
    coupon = session.get(Coupon, d.coupon, with_for_update=True)
    if coupon is None:
        # A hub sends a coupon's coupon.issued before its withdrawal (one outbox, in order):
        # a code HQ never heard issued has nothing here to end.
        return
    if coupon.withdrawn_at is None:
        coupon.withdrawn_at, coupon.withdrawn_store = d.at, store
        coupon.withdrawn_payment = d.payment
    # It ends (neither usable nor outstanding), and a use given back later does not revive it.
    coupon.valid_until = min(coupon.valid_until, d.at)
    if coupon.redeemed_at is not None:
        _withdrawn_used(session, coupon)


def _withdrawn_used(session: Session, coupon: Coupon) -> None:
    """A withdrawn reward coupon that was used (at another store, offline; before or after the
    refund that withdrew it, in whatever order HQ hears of the two): listed once per coupon.

    A risk item, not points taken back: the ledger's points are what members earned and
    spent, each entry a fact at a store; a coupon's value is fen off one bill (for a percent
    or a free dish, known only at that bill), with no points figure in the rules to turn it
    into, and an entry made up at HQ would drive a balance the member cannot see into the
    negative, itself an overdraft. HQ lists value given out that should not have been, as it
    does a coupon used twice (`double_redeem`), for a person to decide."""
    assert coupon.withdrawn_at is not None
    member = service.resolve(session, coupon.member_id) or coupon.member_id
    risk = service.risk_row(
        f"{WITHDRAWN_USED}:{coupon.code}",
        WITHDRAWN_USED,
        member,
        coupon.withdrawn_store,
        {
            "coupon": coupon.code,
            "refunded_payment": coupon.withdrawn_payment,
            "withdrawn_at": coupon.withdrawn_at,
            "redeemed_store": coupon.redeemed_store,
            "redeemed_payment": coupon.redeemed_payment,
            "redeemed_at": coupon.redeemed_at,
            "off_fen": coupon.redeemed_off_fen,
        },
        level=RISK,
    )
    service.add_risks(session, [risk])


def _released(session: Session, store: str, d: CouponReleased) -> None:
    mine = (
        (CouponRedemption.code == d.coupon)
        & (CouponRedemption.store_id == store)
        & (CouponRedemption.payment == d.payment)
    )
    session.execute(update(CouponRedemption).where(mine).values(released_at=d.at))
    # The coupon is usable again only if the use given back is the one HQ kept.
    session.execute(
        update(Coupon)
        .where(
            Coupon.code == d.coupon,
            Coupon.redeemed_store == store,
            Coupon.redeemed_payment == d.payment,
        )
        .values(
            redeemed_at=None,
            redeemed_store=None,
            redeemed_payment=None,
            redeemed_off_fen=None,
            released_at=d.at,
        )
        .execution_options(synchronize_session=False)
    )
