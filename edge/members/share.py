"""Invite a friend (docs/members.md): a member's signed share code, the friend who joins with
it, and both rewards on the friend's first paid bill. Functions take an open Session; the
caller commits.

Hard to farm: the code is an HMAC under a key derived from the chain's member key (nobody
makes one for another member); one invitation per phone hash, ever (a second is refused, an
erased member who joins again is not new); a member cannot invite their own number; an inviter
brings at most `per_inviter_per_day` friends a day here (HQ, which hears of every store's,
lists rewards beyond that many a day across the chain as risk items: stores offline cannot
know each other's); nobody earns until the friend pays a
real bill the hub recorded, and then once (a conditional update); the rewards are ledger
entries and coupons whose ids are made from the friend's phone hash, so a friend joining at
two offline stores makes one reward at HQ, not two."""

import hashlib
import hmac
import time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from contract.campaigns import Campaign, CampaignKind, CampaignsConfig, ShareReward
from contract.members import (
    EntryCause,
    InvitedBy,
    MembersConfig,
    derived_coupon_code,
    read_invite_code,
)
from contract.uplink import MemberInvited, MemberInvitedEvent
from edge.members import coupons as member_coupons
from edge.members import ledger
from edge.members.errors import error
from edge.members.models import Coupon, Invitation, Member, PointsEntry
from edge.orders.errors import OrderError
from edge.orders.models import Payment
from edge.uplink import service as outbox

WAIVED = "waived"  # edge/orders/schemas.py PaymentRequest.method: a bill let off pays nothing
# An invitation another store rewarded (HQ said so): closed here.
REWARDED_ELSEWHERE = "elsewhere"


def invite_key(member_key: bytes) -> bytes:
    """The key of share codes, for this purpose only (from the chain's member key: every hub
    checks a code made at any other)."""
    return hmac.new(member_key, b"invite-code", hashlib.sha256).digest()


def local_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(now))


def running(campaigns: CampaignsConfig, store: str, now: float) -> Campaign | None:
    """The share campaign running in this store today, if any."""
    day = local_day(now)
    return next(
        (
            c
            for c in campaigns.campaigns
            if c.kind is CampaignKind.SHARE
            and c.share is not None
            and c.for_store(store)
            and c.starts <= day <= c.ends
        ),
        None,
    )


def closed() -> OrderError:
    return error(409, "invite_closed", "邀请活动不在进行中", "No invite-a-friend offer runs now")


def inviter_of(key: bytes, code: str) -> str:
    """The member a share code names; a forged or mangled code is refused."""
    inviter = read_invite_code(key, code)
    if inviter is None:
        raise error(422, "bad_invite", "邀请码无效", "This invite code is not valid")
    return inviter


def invited_today(session: Session, inviter_id: str, now: float) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.inviter_id == inviter_id, Invitation.day == local_day(now))
        )
        or 0
    )


def check(
    session: Session, campaign: Campaign, inviter: Member | None, phone_hash: str, now: float
) -> Member:
    """May this phone join as `inviter`'s friend? Raises a bilingual refusal (nothing written)."""
    assert campaign.share is not None
    if inviter is None or inviter.erased:
        raise error(
            409,
            "invite_unknown",
            "暂时无法确认邀请人，请稍后再试或不填邀请码",
            "The member who invited you cannot be checked now: try again later, "
            "or join without the code",
        )
    if inviter.phone_hash == phone_hash:
        raise error(409, "self_invite", "不能邀请自己", "You cannot invite yourself")
    if session.scalar(select(Invitation).where(Invitation.friend_phone_hash == phone_hash)):
        raise error(
            409, "already_invited", "这个号码已经被邀请过", "This number was invited before"
        )
    if invited_today(session, inviter.id, now) >= campaign.share.per_inviter_per_day:
        raise error(
            429,
            "invite_limit",
            "这位会员今天邀请的好友已达上限",
            "This member has invited as many friends as allowed today",
        )
    return inviter


def record(
    session: Session,
    campaign: Campaign,
    inviter: Member,
    friend: Member,
    phone_hash: str,
    now: float,
) -> None:
    invitation = Invitation(
        friend_id=friend.id,
        friend_phone_hash=phone_hash,
        inviter_id=inviter.id,
        campaign=campaign.id,
        day=local_day(now),
        at=now,
    )
    session.add(invitation)
    session.flush()  # the unique phone hash: two joins of one number at once, one invitation
    _tell_hq(session, invitation, f"mi-{friend.id}", now)


def _tell_hq(session: Session, invitation: Invitation, event_id: str, now: float) -> None:
    """HQ hears of the invitation (and of its reward): a store where the friend pays a first
    bill learns it from HQ's lookup and rewards it once."""
    fact = MemberInvited(
        friend=invitation.friend_id,
        inviter=invitation.inviter_id,
        campaign=invitation.campaign,
        at=invitation.at,
        rewarded_payment=invitation.rewarded_payment,
        rewarded_at=invitation.rewarded_at,
        day=invitation.day,
    )
    outbox.enqueue(session, [MemberInvitedEvent(id=event_id, occurred_at=now, data=fact)])


def apply_lookup(session: Session, member: Member, found: InvitedBy | None, now: float) -> None:
    """HQ's word on the member's invitation: one made at another store is kept here (so a
    first bill here rewards it), and one rewarded elsewhere is closed here."""
    if found is None or member.phone_hash is None:
        return
    invitation = session.get(Invitation, member.id)
    if invitation is None:
        if session.scalar(
            select(Invitation.friend_id).where(Invitation.friend_phone_hash == member.phone_hash)
        ):
            return  # this number's invitation is here under another id: that one counts
        if session.get(Member, found.inviter) is None:
            # The inviter as a bare replica (no phone): what they earn here has an owner; HQ's
            # lookup fills the rest in when they are seen here.
            session.add(Member(id=found.inviter, phone_hash=None, joined_at=found.at))
        invitation = Invitation(
            friend_id=member.id,
            friend_phone_hash=member.phone_hash,
            inviter_id=found.inviter,
            campaign=found.campaign,
            day=local_day(found.at),
            at=found.at,
        )
        session.add(invitation)
    if found.rewarded and invitation.rewarded_payment is None:
        invitation.rewarded_payment, invitation.rewarded_at = REWARDED_ELSEWHERE, now
    session.flush()


def _give(
    session: Session,
    config: MembersConfig,
    member: Member | None,
    reward: ShareReward,
    campaign: str,
    side: str,
    invitation: Invitation,
    payment: Payment,
    now: float,
) -> None:
    if member is None or member.erased:
        return
    cause = invitation.friend_phone_hash[:32]
    if reward.points:
        ledger.add_entry(
            session,
            f"sh{side}-{cause}",
            member.id,
            reward.points,
            EntryCause.CAMPAIGN,
            payment.uid,
            "system",
            now,
            reason=campaign,
        )
    template = config.coupon(reward.coupon) if reward.coupon else None
    if template is not None:
        code = derived_coupon_code(
            invitation.friend_phone_hash.encode(), f"share:{side}:{campaign}"
        )
        member_coupons.issue_coupon(session, member, template, f"share:{campaign}"[:32], now, code)


def on_paid(
    session: Session,
    campaigns: CampaignsConfig,
    config: MembersConfig,
    member: Member,
    payment: Payment,
    now: float,
) -> bool:
    """In the payment's transaction: the friend's first paid bill (of at least the campaign's
    minimum, `who.min_bill_fen`) rewards both, once. True when it did."""
    if payment.method == WAIVED:
        return False
    invitation = session.get(Invitation, member.id)
    if invitation is None or invitation.rewarded_payment is not None:
        return False
    campaign = campaigns.campaign(invitation.campaign)
    if campaign is None or campaign.share is None:
        return False  # HQ ended the offer: nothing is owed
    if (payment.gross_fen or payment.amount_fen) < campaign.who.min_bill_fen:
        return False  # a token bill does not count: the friend's first real one will
    won = session.execute(
        update(Invitation)
        .where(Invitation.friend_id == member.id, Invitation.rewarded_payment.is_(None))
        .values(rewarded_payment=payment.uid, rewarded_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return False
    inviter = session.get(Member, invitation.inviter_id)
    share = campaign.share
    _give(session, config, inviter, share.inviter, campaign.id, "i", invitation, payment, now)
    _give(session, config, member, share.friend, campaign.id, "f", invitation, payment, now)
    session.refresh(invitation)
    _tell_hq(session, invitation, f"mi-{member.id}-rewarded", now)
    return True


def on_refund(session: Session, payment: Payment, staff: str, now: float) -> bool:
    """In the refund's transaction: the friend's first bill refunded takes back what it earned
    both of them ("buy, earn, refund, keep" is how such offers are farmed). Points by an entry
    whose id is made from the reward's (once, however often the refund is retried); an unused
    reward coupon ends (one already used is HQ's to list). The invitation stays rewarded: it
    never rewards again. True when there was something to take back."""
    invitation = session.scalar(
        select(Invitation).where(Invitation.rewarded_payment == payment.uid)
    )
    if invitation is None:
        return False
    cause = invitation.friend_phone_hash[:32]
    for side in ("i", "f"):
        given = session.get(PointsEntry, f"sh{side}-{cause}")
        if given is not None and given.points > 0:
            back = f"sh{side}-{cause}-rf"
            if session.get(PointsEntry, back) is None:
                ledger.add_entry(
                    session,
                    back,
                    given.member_id,
                    -given.points,
                    EntryCause.REFUND,
                    payment.uid,
                    staff,
                    now,
                    reason=invitation.campaign,
                )
        code = derived_coupon_code(
            invitation.friend_phone_hash.encode(), f"share:{side}:{invitation.campaign}"
        )
        coupon = session.get(Coupon, code)
        if coupon is not None and coupon.valid_until > now:
            member_coupons.withdraw(session, coupon, payment.uid, now)
    return True


def reward_public(reward: ShareReward, config: MembersConfig) -> dict[str, Any]:
    template = config.coupon(reward.coupon) if reward.coupon else None
    return {
        "points": reward.points,
        "coupon": (
            {"name_zh": template.name_zh, "name_en": template.name_en}
            if template is not None
            else None
        ),
    }


def friends(session: Session, inviter_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The inviter's friends here, newest first: masked numbers, and whether they earned."""
    rows = session.execute(
        select(Invitation, Member.phone_masked)
        .join(Member, Member.id == Invitation.friend_id)
        .where(Invitation.inviter_id == inviter_id)
        .order_by(Invitation.at.desc())
        .limit(limit)
    )
    return [
        {"phone": masked, "joined_at": inv.at, "rewarded": inv.rewarded_payment is not None}
        for inv, masked in rows
    ]
