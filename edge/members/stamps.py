"""A member's stamp-card stamps at this hub: a ledger like the points (docs/games.md).

Each stamp is an entry whose id is made from its cause (this store's paid bill, for this
campaign: `stamp_id`), never from what the phone sent, sent to HQ through the outbox
(`member.stamp`); HQ's lookup returns the member's stamps from the other
stores, kept here beside this hub's own. The card is counted from both, never stored
(contract.campaigns.stamp_cards): an offline stamp here counts at once, and nothing counts
twice when HQ has it. Functions take an open Session; the caller commits."""

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from contract.campaigns import Cards, Stamp, stamp_cards
from contract.members import StampSeen, derived_coupon_code
from contract.uplink import StampAdded, StampAddedEvent
from edge.members.models import Member, MemberStamp
from edge.uplink import service as outbox


def stamp_id(store: str, payment_uid: str, campaign: str) -> str:
    """A stamp's id, made from what earned it: this store's paid bill, for this campaign (a
    bill stamps one card once). Not the play id: the phone makes that, and a phone asking
    with a fresh one would name a new stamp. The same bill always names the same stamp, so
    the hub's key refuses a second and HQ, which keeps each id once chain-wide, counts it
    once however it is sent again (a replayed batch, a hub restored from a backup that
    stamps the bill again). The store is in it: HQ's ids are one namespace for the chain."""
    digest = hashlib.sha256(f"stamp:{store}:{payment_uid}:{campaign}".encode()).hexdigest()
    return f"sb-{digest[:32]}"


def cards(session: Session, member_id: str, campaign: str, needed: int) -> Cards:
    """The member's cards for `campaign`: HQ's stamps from other stores and this hub's."""
    rows = session.execute(
        select(MemberStamp.id, MemberStamp.place, MemberStamp.at).where(
            MemberStamp.member_id == member_id, MemberStamp.campaign == campaign
        )
    )
    return stamp_cards((Stamp(i, p, a) for i, p, a in rows), needed)


def add_stamp(
    session: Session,
    stamp_id: str,
    member_id: str,
    campaign: str,
    place: str,
    card: int,
    now: float,
    completes: bool = False,
    coupon: str | None = None,
) -> MemberStamp:
    row = MemberStamp(
        id=stamp_id,
        member_id=member_id,
        campaign=campaign,
        place=place,
        at=now,
        mine=True,
        card=card,
        completes=completes,
    )
    session.add(row)
    fact = StampAdded(
        stamp=stamp_id,
        member=member_id,
        campaign=campaign,
        place=place,
        card=card,
        completes=completes,
        coupon=coupon,
        at=now,
    )
    outbox.enqueue(session, [StampAddedEvent(id=f"st-{stamp_id}", occurred_at=now, data=fact)])
    return row


def apply_lookup(session: Session, member: Member, seen: list[StampSeen]) -> None:
    """HQ's stamps of the member from other stores replace the ones it reported last time
    (this hub's own stay: HQ may not have them yet, and never sends them back)."""
    session.execute(
        delete(MemberStamp).where(MemberStamp.member_id == member.id, MemberStamp.mine.is_(False))
    )
    session.flush()
    mine = set(
        session.scalars(
            select(MemberStamp.id).where(
                MemberStamp.member_id == member.id, MemberStamp.mine.is_(True)
            )
        )
    )
    for s in seen:
        if s.stamp not in mine:
            mine.add(s.stamp)
            session.add(
                MemberStamp(
                    id=s.stamp,
                    member_id=member.id,
                    campaign=s.campaign,
                    place=s.place,
                    at=s.at,
                    mine=False,
                )
            )


def reward_code(member: Member, campaign: str, card: int) -> str:
    """The coupon a filled card gives, a code every hub makes alike (from the phone's keyed
    hash, as the welcome coupon): two stores filling the same card offline give one coupon,
    and a second use of it is a double redemption HQ flags, not a second 50 yuan."""
    basis = member.phone_hash or member.id
    return derived_coupon_code(basis.encode(), f"stamp:{campaign}:{card}")
