"""The members domain: the chain's members at this hub (docs/members.md). Diners join and sign
in on their table's page, show a member code that changes every minute, earn and spend at the
bill (edge/billing), and are recognised at the kiosk camera; the hub keeps working for them
with HQ away, within what HQ allows."""

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from contract.campaigns import CampaignsConfig
from contract.members import (
    CARD_NO_PATTERN,
    MembersConfig,
    invite_code,
    looks_like_member_code,
    member_code,
    phone_hash,
    read_member_code,
)
from edge.auth import RateLimiter, SessionSigner
from edge.core.domain import Domain, HubContext
from edge.members import coupons as member_coupons
from edge.members import errors as member_errors
from edge.members import ledger, service, share
from edge.members.hq import HqAway, HqMembers
from edge.members.models import Coupon, Member
from edge.members.popular import PopularNow
from edge.menu.domain import MenuDomain
from edge.orders.errors import OrderError
from edge.uplink.events import FactsCommitted

MEMBER_COOKIE = "ss_member"
MEMBER_SESSION_S = 180 * 86_400.0  # a returning diner on the same phone stays signed in
SIGN_IN_TTL_S = 300.0  # a waiter confirms within five minutes, or the diner asks again
SIGN_INS_MAX = 200  # pending at once: a flood cannot grow memory
# A table joins or signs in a few people a visit; more is someone trying numbers.
JOINS_PER_TABLE_PER_MINUTE = 4
SIGN_INS_PER_TABLE_PER_MINUTE = 3
SIGN_INS_PER_PHONE_PER_MINUTE = 2
# HQ's balance is fresh enough to spend against without asking again (a diner's page asks
# every time it opens; the bill always asks).
HQ_FRESH_S = 30.0
# The member tab asks HQ for a member's balance elsewhere at most this often (the page opens
# it each time a diner looks).
HQ_TAB_AGE_S = 60.0


def derived_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose from the hub's secret: a member code or a member session can never
    pass for a staff session (or for each other)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


@dataclass
class SignIn:
    """A diner on a new phone asked to sign in as a member: a waiter confirms at the table."""

    id: str
    table_id: str
    table_name: str
    phone_masked: str
    member_id: str | None  # None: no member has this number (the waiter says so)
    created: float
    state: str = "waiting"  # waiting | confirmed | refused | taken
    session: str | None = field(default=None, repr=False)


class MembersDomain(Domain):
    name = "members"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.menu = hub.get(MenuDomain)
        s = hub.settings
        self.phone_key = s.member_key.get_secret_value().encode()
        secret = s.secret_key.get_secret_value()
        self.code_key = derived_key(secret, "member-code")
        self.invite_key = share.invite_key(self.phone_key)
        self.session_signer = SessionSigner(derived_key(secret, "member-session").hex())
        self.hq = HqMembers(
            s.cloud_url, s.cloud_token.get_secret_value(), s.member_lookup_cool_off_s
        )
        self.join_limiter = RateLimiter(JOINS_PER_TABLE_PER_MINUTE)
        self.sign_in_limiter = RateLimiter(SIGN_INS_PER_TABLE_PER_MINUTE)
        self.phone_limiter = RateLimiter(SIGN_INS_PER_PHONE_PER_MINUTE)
        self._sign_ins: dict[str, SignIn] = {}
        self._lock = threading.Lock()
        self.popular = PopularNow()

    @classmethod
    def router(cls) -> APIRouter:
        from edge.members.routes import router

        return router

    def stop(self) -> None:
        self.hq.close()
        super().stop()

    @property
    def config(self) -> MembersConfig:
        config = self.menu.config
        return config.members if config is not None else MembersConfig()

    @property
    def campaigns(self) -> CampaignsConfig:
        config = self.menu.config
        return config.campaigns if config is not None else CampaignsConfig()

    @property
    def enabled(self) -> bool:
        return bool(self.phone_key)

    def require(self) -> None:
        if not self.enabled:
            raise OrderError(
                503,
                "members_off",
                "本店暂未开通会员 / Members are not set up in this store yet",
            )

    def hash_phone(self, phone: str) -> str:
        return phone_hash(self.phone_key, service.check_phone(phone))

    def snapshot(self, session: Session) -> dict[str, Any]:
        return {"sign_ins": self.pending_sign_ins()}

    # --- HQ ---------------------------------------------------------------------------

    def find_by_phone(self, phone: str) -> Member | None:
        """The member with this number: known here, or at HQ (then kept here)."""
        digest = self.hash_phone(phone)
        with self.hub.reads() as session:
            local = service.by_phone_hash(session, digest)
            if local is not None:
                session.expunge(local)
                return local
        try:
            found = self.hq.lookup(phone_hash=digest)
        except HqAway:
            return None
        if found is None or found.erased:
            return None
        with self.hub.sessions.begin() as session:
            member = service.adopt(session, digest, found, time.time())
            session.flush()
            session.expunge(member)
        return member

    def fresh(self, member: Member, max_age_s: float, now: float) -> bool:
        """Whether `refresh(member.id, max_age_s)` would have nothing to ask HQ."""
        checked = member.hq_checked_at
        return not self.hq.enabled or (checked is not None and now - checked <= max_age_s)

    def refresh(self, member_id: str, max_age_s: float = 0.0) -> bool:
        """Ask HQ for the member's balance elsewhere and coupons; True when HQ answered (now,
        or within `max_age_s`). Never inside a write transaction: HQ may take seconds."""
        if not self.hq.enabled:
            return False  # no HQ configured: nothing to read first
        with self.hub.reads() as session:
            member = session.get(Member, member_id)
            if member is None:
                return False
            checked = member.hq_checked_at
        if max_age_s and checked is not None and time.time() - checked <= max_age_s:
            return True
        try:
            found = self.hq.lookup(member=member_id)
        except HqAway:
            return False
        if found is None:
            return True  # HQ has not heard of a member joined here yet: nothing elsewhere
        with self.hub.sessions.begin() as session:
            member = session.get(Member, member_id)
            if member is not None:
                service.apply_lookup(session, member, found, time.time())
        return True

    # --- joining and signing in -------------------------------------------------------

    def join(
        self, phone: str, birthday: str | None, now: float, invite: str | None = None
    ) -> Member:
        """A new member; with a friend's share code (`invite`), the friend's invitation too,
        checked before anything is written."""
        self.require()
        number = service.check_phone(phone)
        day = service.parse_birthday(birthday)
        digest = self.hash_phone(number)
        campaign, inviter_id = None, None
        if invite:
            campaign = share.running(self.campaigns, self.hub.store, now)
            if campaign is None:
                raise share.closed()
            inviter_id = self._inviter(share.inviter_of(self.invite_key, invite), now)
            with self.hub.reads() as session:
                share.check(session, campaign, session.get(Member, inviter_id), digest, now)
        if self.find_by_phone(number) is not None:
            raise member_errors.already_member()
        with self.hub.sessions.begin() as session:
            member = service.join(session, self.config, number, digest, day, now)
            if campaign is not None and inviter_id is not None:
                # Again under the write lock: two friends joining at once count both.
                inviter = share.check(
                    session, campaign, session.get(Member, inviter_id), digest, now
                )
                share.record(session, campaign, inviter, member, digest, now)
            member_coupons.birthday_coupon(session, self.config, member, now)
            session.flush()
            session.expunge(member)
        self.hub.bus.publish(FactsCommitted())
        return member

    def _inviter(self, member_id: str, now: float) -> str:
        """The inviter's id in this hub's replica: known here, else asked of HQ and kept (a
        member of another store). Unknown (HQ away): as given, which check() refuses."""
        with self.hub.reads() as session:
            if session.get(Member, member_id) is not None:
                return member_id
        try:
            found = self.hq.lookup(member=member_id)
        except HqAway:
            return member_id
        if found is None or found.erased:
            return member_id
        with self.hub.sessions.begin() as session:
            return service.adopt(session, None, found, now).id

    def invitation(self, member_id: str, now: float) -> dict[str, Any]:
        """The member tab's "invite a friend": the member's share code, what both earn, the
        friends who joined with it here. No campaign: nothing to show."""
        campaign = share.running(self.campaigns, self.hub.store, now)
        if campaign is None or campaign.share is None:
            return {"campaign": None}
        config = self.config
        with self.hub.reads() as session:
            friends = share.friends(session, member_id)
            today = share.invited_today(session, member_id, now)
        return {
            "campaign": {
                "id": campaign.id,
                "name_zh": campaign.name_zh,
                "name_en": campaign.name_en,
                "text_zh": campaign.text_zh,
                "text_en": campaign.text_en,
            },
            "code": invite_code(self.invite_key, member_id),
            "inviter": share.reward_public(campaign.share.inviter, config),
            "friend": share.reward_public(campaign.share.friend, config),
            "left_today": max(campaign.share.per_inviter_per_day - today, 0),
            "friends": friends,
        }

    def session_token(self, member_id: str) -> str:
        return self.session_signer.issue(member_id, MEMBER_SESSION_S)

    def member_of_session(self, session: Session, token: str | None) -> Member | None:
        member_id = self.session_signer.verify(token) if token else None
        if member_id is None:
            return None
        member = session.get(Member, member_id)
        return member if member is not None and not member.erased else None

    def ask_sign_in(self, table_id: str, table_name: str, phone: str, now: float) -> SignIn:
        self.require()
        number = service.check_phone(phone)
        digest = self.hash_phone(number)
        if not self.sign_in_limiter.take(table_id) or not self.phone_limiter.take(digest):
            raise OrderError(
                429,
                "rate_limited",
                "登录请求太频繁，请稍后再试 / Too many sign-in requests, please wait a minute",
            )
        member = self.find_by_phone(number)
        request = SignIn(
            id=secrets.token_urlsafe(12),
            table_id=table_id,
            table_name=table_name,
            phone_masked=number[:3] + "****" + number[-4:],
            member_id=member.id if member is not None else None,
            created=now,
        )
        with self._lock:
            self._expire(now)
            if len(self._sign_ins) >= SIGN_INS_MAX:
                raise OrderError(
                    503,
                    "busy",
                    "请稍后再试或请服务员帮忙 / Please try again soon, or ask staff",
                )
            self._sign_ins[request.id] = request
        self.hub.board.publish({"type": "sign_ins", "sign_ins": self.pending_sign_ins()})
        return request

    def _expire(self, now: float) -> None:
        for key in [k for k, r in self._sign_ins.items() if now - r.created > SIGN_IN_TTL_S]:
            del self._sign_ins[key]

    def pending_sign_ins(self) -> list[dict[str, Any]]:
        with self._lock:
            self._expire(time.time())
            return [
                {
                    "id": r.id,
                    "table": r.table_name,
                    "table_id": r.table_id,
                    "phone": r.phone_masked,
                    "member": r.member_id is not None,
                    "created": r.created,
                }
                for r in self._sign_ins.values()
                if r.state == "waiting"
            ]

    def decide_sign_in(self, request_id: str, confirm: bool) -> dict[str, Any]:
        with self._lock:
            request = self._sign_ins.get(request_id)
            if request is None or request.state != "waiting":
                raise OrderError(
                    404, "no_sign_in", "没有这个登录请求 / No such sign-in request (expired?)"
                )
            if confirm and request.member_id is None:
                raise OrderError(
                    409,
                    "not_a_member",
                    "这个号码不是会员，请帮客人注册 / This number is not a member: help them join",
                )
            request.state = "confirmed" if confirm else "refused"
            if confirm:
                assert request.member_id is not None
                request.session = self.session_token(request.member_id)
        self.hub.board.publish({"type": "sign_ins", "sign_ins": self.pending_sign_ins()})
        self.hub.diners.publish(
            {"type": "sign_in", "id": request.id, "state": request.state}, key=request.table_id
        )
        return {"id": request.id, "state": request.state}

    def sign_in_state(self, table_id: str, request_id: str) -> SignIn | None:
        """The request (for its table only); a confirmed one hands out its session once."""
        with self._lock:
            self._expire(time.time())
            request = self._sign_ins.get(request_id)
            if request is None or request.table_id != table_id:
                return None
            if request.state in ("confirmed", "refused"):
                del self._sign_ins[request_id]
            return request

    # --- codes ------------------------------------------------------------------------

    def code_for(self, member_id: str, now: float) -> str:
        return member_code(self.code_key, member_id, now)

    def resolve(self, session: Session, code: str, now: float) -> tuple[Member, bool] | None:
        """The member a scanned code names, and whether it was a static card (which earns,
        but spends only with staff). None for a code that names no one (or expired)."""
        text = code.strip()
        if looks_like_member_code(text):
            read = read_member_code(self.code_key, text, now)
            if read is None:
                return None
            member = session.get(Member, read.member)
            return (member, False) if member is not None and not member.erased else None
        if re.match(CARD_NO_PATTERN, text):
            card = service.by_card(session, text)
            return (card, True) if card is not None else None
        return None

    def identify(self, code: str, now: float) -> tuple[str, str, bool] | None:
        """(member id, masked phone, by a static card) for a scanned code; a card this hub has
        not seen is asked of HQ (a card from another store of the chain) and kept. Never inside
        a write transaction: HQ may take seconds."""
        with self.hub.reads() as session:
            found = self.resolve(session, code, now)
            if found is not None:
                return found[0].id, found[0].phone_masked, found[1]
        text = code.strip()
        if not re.fullmatch(CARD_NO_PATTERN, text):
            return None
        try:
            answer = self.hq.lookup(card_no=text)
        except HqAway:
            return None
        if answer is None or answer.erased:
            return None
        with self.hub.sessions.begin() as session:
            member = service.adopt(session, None, answer, now)
            return member.id, member.phone_masked, True

    # --- what the member's page shows ----------------------------------------------

    def view(self, session: Session, member: Member, now: float) -> dict[str, Any]:
        config = self.config
        level = config.level(ledger.level_id(session, config, member, now))
        return {
            "id": member.id,
            "phone": member.phone_masked,
            "card_no": member.card_no,
            "birthday": member.birthday,
            "level": {"id": level.id, "name_zh": level.name_zh, "name_en": level.name_en},
            "points": ledger.balance(session, member),
            "point_value_fen": config.point_value_fen,
            "code": self.code_for(member.id, now),
            "code_valid_s": 60 - int(now) % 60,
            "coupons": [
                coupon_public(c) for c in member_coupons.usable_coupons(session, member.id, now)
            ],
            "history": [
                {"points": e.points, "cause": e.cause, "at": e.at}
                for e in ledger.history(session, member.id)
            ],
            "usual": service.usual(session, member.id),
            "offline": member.hq_checked_at is None or now - member.hq_checked_at > HQ_FRESH_S * 10,
        }


def coupon_public(c: Coupon) -> dict[str, Any]:
    terms = member_coupons.coupon_terms(c)
    return {
        "code": c.code,
        "name_zh": terms.name_zh,
        "name_en": terms.name_en,
        "kind": terms.kind.value,
        "value_fen": terms.value_fen,
        "percent": terms.percent,
        "cap_fen": terms.cap_fen,
        "dish": terms.dish,
        "min_spend_fen": terms.min_spend_fen,
        "valid_until": c.valid_until,
    }
