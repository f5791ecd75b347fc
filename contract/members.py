"""Members across the chain: what HQ configures (levels, rates, coupon templates), and the rules
the hub and HQ must compute the same way (phone numbers, member codes, levels, discounts).

Points are integers; one point is worth `point_value_fen` fen (default 1: 0.01 yuan, as in
REQUIREMENTS.md). Money is in fen. A member's balance is never stored as truth anywhere: it is
the sum of their ledger entries (docs/members.md).
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.const import ID_PATTERN

MEMBER_ID_PATTERN: Final = r"^m[a-z0-9]{8,31}$"
COUPON_CODE_PATTERN: Final = r"^C[A-Z2-7]{10}$"
CARD_NO_PATTERN: Final = r"^[0-9]{10}$"
PHONE_HASH_PATTERN: Final = r"^[0-9a-f]{64}$"
# Mainland mobile numbers: 11 digits starting 1[3-9]. An optional +86 / 86 prefix, spaces and
# dashes are accepted and dropped; anything else is refused (a typo must not make a member).
_PHONE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")

# A member code is valid in the minute it was made and the one after: a screenshot from
# yesterday (or from an hour ago) identifies nobody.
MEMBER_CODE_WINDOW_S: Final = 60
MEMBER_CODE_PREFIX: Final = "SSM1"


class EntryCause(StrEnum):
    """Why a member's points changed: every ledger entry names one."""

    EARN = "earn"  # a paid bill
    REDEEM = "redeem"  # points paid part of a bill (negative)
    REFUND = "refund"  # a refunded bill: what it earned is taken back, what it spent returns
    ADJUST = "adjust"  # a manager or HQ, with a reason
    EXPIRY = "expiry"
    CAMPAIGN = "campaign"  # a game or campaign prize


class Segment(StrEnum):
    """A member's RFM segment (docs/analytics.md): high or low recency (R: bought lately),
    frequency (F: bills) and money (M: amount paid), each scored 1-5 by quintile at HQ. The
    plan's names, in Chinese as HQ's people say them; the English in comments."""

    IMPORTANT_VALUE = "重要价值"  # R high, F high, M high
    IMPORTANT_DEVELOP = "重要发展"  # R high, F low, M high
    IMPORTANT_KEEP = "重要保持"  # R low, F high, M high
    IMPORTANT_WIN_BACK = "重要挽留"  # R low, F low, M high
    GENERAL_VALUE = "一般价值"  # R high, F high, M low
    GENERAL_DEVELOP = "一般发展"  # R high, F low, M low
    GENERAL_KEEP = "一般保持"  # R low, F high, M low
    GENERAL_WIN_BACK = "一般挽留"  # R low, F low, M low


class CouponKind(StrEnum):
    AMOUNT_OFF = "amount_off"  # 满50减20: value_fen off a bill of at least min_spend_fen
    PERCENT_OFF = "percent_off"  # percent off, at most cap_fen
    FREE_DISH = "free_dish"  # one of `dish` free


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name_zh: str = Field(min_length=1, max_length=20)
    name_en: str = Field(min_length=1, max_length=30)
    # Spend over the last 12 months (fen) from which a member is at this level.
    min_spend_fen: int = Field(ge=0)
    earn_pct: int = Field(ge=0, le=100)  # of the amount paid, in points' value


class CouponTemplate(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name_zh: str = Field(min_length=1, max_length=30)
    name_en: str = Field(min_length=1, max_length=60)
    kind: CouponKind
    value_fen: int = Field(default=0, ge=0)  # amount_off
    percent: int = Field(default=0, ge=0, le=100)  # percent_off
    cap_fen: int | None = Field(default=None, ge=0)  # percent_off: at most this off
    dish: str | None = Field(default=None, pattern=ID_PATTERN)  # free_dish
    min_spend_fen: int = Field(default=0, ge=0)
    valid_days: int = Field(default=30, ge=1, le=3660)  # from the day it is issued
    stores: list[str] | None = None  # None: every store
    per_member_limit: int = Field(default=1, ge=1)  # unused ones a member may hold at once

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.kind is CouponKind.AMOUNT_OFF and self.value_fen <= 0:
            raise ValueError(f"coupon {self.id!r}: an amount_off coupon needs value_fen > 0")
        if self.kind is CouponKind.PERCENT_OFF and not 0 < self.percent < 100:
            raise ValueError(f"coupon {self.id!r}: a percent_off coupon needs percent 1-99")
        if self.kind is CouponKind.FREE_DISH and self.dish is None:
            raise ValueError(f"coupon {self.id!r}: a free_dish coupon names its dish")
        return self

    def valid_at(self, store: str) -> bool:
        return self.stores is None or store in self.stores


DEFAULT_LEVELS: Final = (
    Level(id="normal", name_zh="普通", name_en="Member", min_spend_fen=0, earn_pct=10),
    Level(id="silver", name_zh="银卡", name_en="Silver", min_spend_fen=200_000, earn_pct=12),
    Level(id="gold", name_zh="金卡", name_en="Gold", min_spend_fen=800_000, earn_pct=15),
)
DEFAULT_COUPONS: Final = (
    CouponTemplate(
        id="welcome",
        name_zh="新人满50减20",
        name_en="Welcome: 20 off 50",
        kind=CouponKind.AMOUNT_OFF,
        value_fen=2000,
        min_spend_fen=5000,
        valid_days=30,
    ),
    # A free dessert is a free_dish template naming the store's dessert; the default cannot
    # know the menu, so it is an amount.
    CouponTemplate(
        id="birthday",
        name_zh="生日礼15元",
        name_en="Birthday treat: 15 off",
        kind=CouponKind.AMOUNT_OFF,
        value_fen=1500,
        valid_days=30,
    ),
)


class MembersConfig(_Strict):
    """HQ's member rules, pushed down with the menu (contract.menu.StoreConfig.members)."""

    point_value_fen: int = Field(default=1, ge=1, le=100)
    redeem_cap_pct: int = Field(default=10, ge=0, le=100)  # points pay at most this of a bill
    levels: list[Level] = Field(default_factory=lambda: list(DEFAULT_LEVELS), min_length=1)
    # Offline a hub lets a member spend at most the balance it last knew, and at most this many
    # points a day in this store (the escrow HQ allows it while it cannot ask).
    offline_points_per_day: int = Field(default=2000, ge=0)
    coupons: list[CouponTemplate] = Field(default_factory=lambda: list(DEFAULT_COUPONS))
    welcome_coupon: str | None = "welcome"
    birthday_coupon: str | None = "birthday"
    # The privacy statement's version a diner consents to (docs/members.md has the text).
    privacy_version: str = Field(default="2026-11", max_length=16)

    @model_validator(mode="after")
    def _references(self) -> Self:
        ids = [level.id for level in self.levels]
        if len(set(ids)) != len(ids):
            raise ValueError("a level id is listed twice")
        if sorted(self.levels, key=lambda x: x.min_spend_fen)[0].min_spend_fen != 0:
            raise ValueError("one level must start at 0 spend (where every member starts)")
        coupon_ids = {c.id for c in self.coupons}
        if len(coupon_ids) != len(self.coupons):
            raise ValueError("a coupon template id is listed twice")
        for name, ref in (("welcome", self.welcome_coupon), ("birthday", self.birthday_coupon)):
            if ref is not None and ref not in coupon_ids:
                raise ValueError(f"{name}_coupon {ref!r} is not a coupon template")
        return self

    def level_for(self, spend_12m_fen: int) -> Level:
        eligible = [x for x in self.levels if x.min_spend_fen <= spend_12m_fen]
        return max(eligible, key=lambda x: x.min_spend_fen)

    def level(self, level_id: str) -> Level:
        return next((x for x in self.levels if x.id == level_id), self.level_for(0))

    def coupon(self, template_id: str) -> CouponTemplate | None:
        return next((c for c in self.coupons if c.id == template_id), None)

    def points_earned(self, paid_fen: int, level_id: str) -> int:
        """Points for a bill paid: the level's percentage of the amount paid, in points."""
        return paid_fen * self.level(level_id).earn_pct // (100 * self.point_value_fen)

    def max_redeem_points(self, bill_fen: int) -> int:
        """The most points that may pay part of a bill of `bill_fen`."""
        return bill_fen * self.redeem_cap_pct // (100 * self.point_value_fen)


# --- phone numbers: personal data -----------------------------------------------------------


class BadPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """The 11-digit mobile number in `raw`, or BadPhone."""
    digits = re.sub(r"[\s-]", "", raw)
    match = _PHONE.match(digits)
    if match is None:
        raise BadPhone("not a mainland mobile number")
    return match.group(1)


def phone_hash(key: bytes, phone: str) -> str:
    """The lookup key for a phone number, the same at every hub and at HQ: keyed (the chain's
    member key), so a leaked table of hashes cannot be reversed by trying every number."""
    return hmac.new(key, b"phone:" + normalize_phone(phone).encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """What staff and receipts show: 138****1234."""
    p = normalize_phone(phone)
    return f"{p[:3]}****{p[-4:]}"


# --- ids made where things happen ------------------------------------------------------------

_B32: Final = "abcdefghijklmnopqrstuvwxyz234567"


def new_member_id() -> str:
    return "m" + "".join(secrets.choice(_B32) for _ in range(16))


def new_coupon_code() -> str:
    return "C" + "".join(secrets.choice(_B32.upper()) for _ in range(10))


def derived_coupon_code(key: bytes, purpose: str) -> str:
    """A coupon code every hub of the chain makes alike for the same purpose (the welcome coupon
    of a phone, a member's birthday coupon of a year): made twice at two stores, it is one
    coupon at HQ, and a second use is caught as a double redemption, not paid twice."""
    mac = hmac.new(key, f"coupon:{purpose}".encode(), hashlib.sha256).digest()
    return "C" + base64.b32encode(mac[:10]).decode()[:10]


def new_card_no() -> str:
    """A printed member card's number: short, so a generator prints it as Micro QR."""
    return "".join(secrets.choice("0123456789") for _ in range(10))


# --- the member code: what the phone shows the kiosk camera or staff -----------------------


@dataclass(frozen=True, slots=True)
class MemberCode:
    member: str
    minute: int


def _code_mac(key: bytes, member: str, minute: int) -> str:
    mac = hmac.new(key, f"member-code:{member}:{minute}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode()  # 80 bits: 16 characters, QR-alphanumeric


def member_code(key: bytes, member: str, now: float) -> str:
    """The code for `member` in the minute of `now`: SSM1:<member>:<minute>:<mac>. Upper case
    only, so a QR code holds it in alphanumeric mode (smaller, easier for a camera)."""
    minute = int(now // MEMBER_CODE_WINDOW_S)
    return f"{MEMBER_CODE_PREFIX}:{member.upper()}:{minute}:{_code_mac(key, member, minute)}"


def read_member_code(key: bytes, code: str, now: float) -> MemberCode | None:
    """The member of a valid code made this minute or the last; None for anything else."""
    parts = code.strip().split(":")
    # ASCII only: "²".isdigit() is true but int() refuses it, and compare_digest refuses
    # non-ASCII text; a crafted code must be "no one", never an exception.
    if len(parts) != 4 or parts[0] != MEMBER_CODE_PREFIX or not code.isascii():
        return None
    if not parts[2].isdigit():
        return None
    member, minute = parts[1].lower(), int(parts[2])
    if not re.match(MEMBER_ID_PATTERN, member):
        return None
    current = int(now // MEMBER_CODE_WINDOW_S)
    if minute not in (current, current - 1):
        return None
    if not hmac.compare_digest(parts[3], _code_mac(key, member, minute)):
        return None
    return MemberCode(member, minute)


def looks_like_member_code(code: str) -> bool:
    return code.startswith(MEMBER_CODE_PREFIX + ":")


def looks_like_card(code: str) -> bool:
    """A printed member card's static number (as opposed to a phone's signed member code)."""
    return re.fullmatch(CARD_NO_PATTERN, code.strip()) is not None


# --- invitations: a member's share code --------------------------------------------------------

INVITE_PREFIX: Final = "SSI1"


def _invite_mac(key: bytes, member: str) -> str:
    mac = hmac.new(key, f"invite:{member}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode()


def invite_code(key: bytes, member: str) -> str:
    """A member's invitation: SSI1-<member>-<mac>, under a key derived from the chain's member
    key, so every hub of the chain checks it and nobody without the key can make one for a
    member (or change the member in one)."""
    return f"{INVITE_PREFIX}-{member.upper()}-{_invite_mac(key, member)}"


def read_invite_code(key: bytes, code: str) -> str | None:
    """The inviting member of a valid code (in any case: people type it); None for anything
    else (forged, mangled)."""
    parts = code.strip().split("-")
    if len(parts) != 3 or parts[0].upper() != INVITE_PREFIX or not code.isascii():
        return None
    member = parts[1].lower()
    if not re.match(MEMBER_ID_PATTERN, member):
        return None
    if not hmac.compare_digest(parts[2].upper(), _invite_mac(key, member)):
        return None
    return member


# --- discounts: one rule for tables and kiosks ------------------------------------------------

Refusal = Literal["below_minimum", "not_here", "dish_not_ordered"]


def coupon_off_fen(
    template: CouponTemplate, bill_fen: int, dish_prices: dict[str, int], store: str
) -> int | Refusal:
    """What a coupon takes off a bill of `bill_fen` (dish_prices: the unit price of each dish
    on it), or why it does not apply."""
    if not template.valid_at(store):
        return "not_here"
    if bill_fen < template.min_spend_fen:
        return "below_minimum"
    if template.kind is CouponKind.AMOUNT_OFF:
        return min(template.value_fen, bill_fen)
    if template.kind is CouponKind.PERCENT_OFF:
        off = bill_fen * template.percent // 100
        return min(off, template.cap_fen) if template.cap_fen is not None else off
    assert template.dish is not None
    price = dish_prices.get(template.dish)
    if price is None:
        return "dish_not_ordered"
    return min(price, bill_fen)


# --- what HQ answers a hub that asks about a member (GET /api/v1/members/lookup) -------------


class IssuedCoupon(BaseModel):
    """A coupon a member holds, as HQ or a hub issued it (its template's terms copied in, so
    that a later change of the template does not change a coupon already given)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=COUPON_CODE_PATTERN)
    template: str
    name_zh: str
    name_en: str
    kind: CouponKind
    value_fen: int = 0
    percent: int = 0
    cap_fen: int | None = None
    dish: str | None = None
    min_spend_fen: int = 0
    stores: list[str] | None = None
    valid_from: float
    valid_until: float

    def terms(self) -> CouponTemplate:
        return CouponTemplate(
            id=self.template,
            name_zh=self.name_zh,
            name_en=self.name_en,
            kind=self.kind,
            value_fen=self.value_fen,
            percent=self.percent,
            cap_fen=self.cap_fen,
            dish=self.dish,
            min_spend_fen=self.min_spend_fen,
            stores=self.stores,
        )

    @classmethod
    def issue(
        cls, template: CouponTemplate, code: str, valid_from: float, valid_until: float
    ) -> "IssuedCoupon":
        return cls(
            code=code,
            template=template.id,
            name_zh=template.name_zh,
            name_en=template.name_en,
            kind=template.kind,
            value_fen=template.value_fen,
            percent=template.percent,
            cap_fen=template.cap_fen,
            dish=template.dish,
            min_spend_fen=template.min_spend_fen,
            stores=template.stores,
            valid_from=valid_from,
            valid_until=valid_until,
        )


class StampSeen(BaseModel):
    """A stamp of the member's cards given at another store (contract.campaigns.Stamp)."""

    model_config = ConfigDict(frozen=True)

    stamp: str = Field(min_length=8, max_length=64)
    campaign: str
    place: str = Field(max_length=72)
    at: float


class InvitedBy(BaseModel):
    """The member's invitation, as HQ heard of it from the store they joined at: a store where
    they pay their first bill rewards it (once: `rewarded` when a store did)."""

    model_config = ConfigDict(frozen=True)

    inviter: str = Field(pattern=MEMBER_ID_PATTERN)  # the id the inviting store knew
    campaign: str
    at: float
    rewarded: bool = False


class MemberLookup(BaseModel):
    """A member as HQ knows them, for the hub of store S that asked."""

    model_config = ConfigDict(frozen=True)

    member: str = Field(pattern=MEMBER_ID_PATTERN)  # HQ's id (the first one made)
    ids: list[str]  # every id the member was given (hubs offline each make one); HQ's first
    phone_masked: str
    birthday: str | None = None
    card_no: str | None = None
    # Paid bills over the last 12 months at other stores (the hub adds its own: the level).
    spend_12m_elsewhere_fen: int
    # The sum of the member's entries that did not come from store S (other stores, HQ's
    # grants): the hub adds its own entries, which HQ may not have yet, to make the balance.
    balance_elsewhere: int
    # Coupons the member holds that HQ does not know to be used (issued anywhere).
    coupons: list[IssuedCoupon] = Field(default_factory=list)
    erased: bool = False  # HQ deleted the member's personal data on their request
    # Coupons of the member HQ knows to be used (at any store): a hub holding a copy of one
    # (a welcome or birthday coupon issued at several stores, or one of HQ's) retires it.
    used_coupons: list[str] = Field(default_factory=list)
    # HQ's last RFM scoring of the member; None: not scored (no paid bill yet, or an HQ from
    # before RFM). Offers for a segment work offline with it.
    segment: Segment | None = None
    # The member's stamp-card stamps given at other stores (every campaign): the hub adds its
    # own, which HQ may lack yet, to make the card (contract.campaigns.stamp_cards).
    stamps: list[StampSeen] = Field(default_factory=list)
    # The friend's invitation (invite a friend), if they joined with a member's share code.
    invited_by: InvitedBy | None = None
