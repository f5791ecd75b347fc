"""Campaigns and table games as HQ configures them (pushed down with the menu, versioned:
contract.menu.StoreConfig.campaigns), and the rules the hub and HQ must read the same way:
what a prize costs, which store may spend what, and how a result is signed.

Money is in fen. Weights are integers: a prize's chance is its weight over the table's total,
which is what the hub's draw uses (`secrets.randbelow(total)`), so what HQ configures is
exactly the distribution diners get (docs/games.md).
"""

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.const import ID_PATTERN

HHMM: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
DATE: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
PLAY_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{16,64}$"  # made on the phone: unguessable
MAX_WEIGHT: Final = 1_000_000
RECEIPT_PREFIX: Final = "SSG1"  # a play's signed receipt: SSG1.<play>.<prize>.<signature>


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CampaignKind(StrEnum):
    SCAN_QR = "scan_qr"  # new member: a coupon; returning member: points; once per member
    WHEEL = "wheel"  # lucky wheel: one spin per paid bill
    QUIZ = "quiz"  # guess the dish: one question per paid bill, a draw when right
    STAMP_CARD = "stamp_card"  # a stamp per paid bill at a new table; N stamps: a coupon
    SHARE = "share"  # invite a friend: both earn when the friend pays a first bill


class PrizeKind(StrEnum):
    NONE = "none"  # "thanks for playing"
    POINTS = "points"  # into the member's ledger (cause campaign)
    COUPON = "coupon"  # a coupon from one of the members config's templates
    DISH = "dish"  # a free dish, printed at its station marked PRIZE


class Prize(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name_zh: str = Field(min_length=1, max_length=30)
    name_en: str = Field(min_length=1, max_length=60)
    kind: PrizeKind
    weight: int = Field(ge=0, le=MAX_WEIGHT)
    points: int = Field(default=0, ge=0, le=100_000)
    coupon: str | None = Field(default=None, pattern=ID_PATTERN)  # a coupon template id
    dish: str | None = Field(default=None, pattern=ID_PATTERN)  # a menu dish id
    # What the prize costs the store, counted against the budget. None: derived (points at
    # the point value, a coupon's amount off, a dish at its menu price).
    cost_fen: int | None = Field(default=None, ge=0)
    # Stock at each store, for the whole campaign and per day (None: no limit).
    stock: int | None = Field(default=None, ge=0)
    daily_stock: int | None = Field(default=None, ge=0)
    # When this prize is out (stock, budget, pacing): this prize instead (None: the table's
    # first `none` prize, "thanks for playing").
    fallback: str | None = Field(default=None, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.kind is PrizeKind.POINTS and self.points <= 0:
            raise ValueError(f"prize {self.id!r}: a points prize needs points > 0")
        if self.kind is PrizeKind.COUPON and self.coupon is None:
            raise ValueError(f"prize {self.id!r}: a coupon prize names its coupon template")
        if self.kind is PrizeKind.DISH and self.dish is None:
            raise ValueError(f"prize {self.id!r}: a dish prize names its dish")
        return self

    @property
    def wallet(self) -> bool:
        """Goes into a member's wallet (so only a member can win it)."""
        return self.kind in (PrizeKind.POINTS, PrizeKind.COUPON)


class Budget(_Strict):
    """The chain's budget for the campaign, and each store's share of it per day. A store
    spends only its share (offline too): what HQ gave it is what it may give away."""

    chain_fen: int = Field(default=0, ge=0)  # 0: no budget limit
    per_store_day_fen: int = Field(default=0, ge=0)  # each store's daily share (0: no limit)
    stores: dict[str, int] = Field(default_factory=dict)  # a store's own daily share
    # Pacing: by the end of each hour of the day's playing window, at most this share of the
    # day's budget has gone, spread evenly over the hours (100: even; 200: twice as fast).
    pacing_pct: int = Field(default=150, ge=100, le=10_000)

    def store_day_fen(self, store: str) -> int:
        return self.stores.get(store, self.per_store_day_fen)


class Who(_Strict):
    members_only: bool = True
    min_level: str | None = Field(default=None, pattern=ID_PATTERN)
    min_bill_fen: int = Field(default=0, ge=0)


class Limits(_Strict):
    """How often, besides one play per paid bill (wheel, quiz)."""

    per_member_per_day: int = Field(default=3, ge=1, le=1000)
    per_session_per_day: int = Field(default=3, ge=1, le=1000)  # one phone (its games cookie)
    per_party: int = Field(default=1, ge=1, le=100)  # one table's party, over all its bills


class QuizSettings(_Strict):
    # Dishes the questions come from (None: every dish with a picture or a description).
    dishes: list[str] | None = None


class ScanSettings(_Strict):
    new_member_coupon: str = Field(default="welcome", pattern=ID_PATTERN)
    returning_points: int = Field(default=10, ge=0, le=100_000)


class StampSettings(_Strict):
    stamps: int = Field(default=5, ge=1, le=50)  # different tables to a full card
    reward_coupon: str = Field(pattern=ID_PATTERN)  # a coupon template id


class ShareReward(_Strict):
    """What one side of an invitation earns: points, a coupon, or both."""

    points: int = Field(default=0, ge=0, le=100_000)
    coupon: str | None = Field(default=None, pattern=ID_PATTERN)  # a coupon template id

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.points <= 0 and self.coupon is None:
            raise ValueError("a share reward needs points or a coupon")
        return self


class ShareSettings(_Strict):
    inviter: ShareReward
    friend: ShareReward
    # Friends one member may bring in a day (at each store): a farm of new accounts behind one
    # inviter is capped, and each friend pays a real first bill before anyone earns.
    per_inviter_per_day: int = Field(default=5, ge=1, le=100)


class Campaign(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    kind: CampaignKind
    name_zh: str = Field(min_length=1, max_length=30)
    name_en: str = Field(min_length=1, max_length=60)
    text_zh: str = Field(default="", max_length=200)
    text_en: str = Field(default="", max_length=300)
    stores: list[str] | None = None  # None: every store
    starts: str = Field(pattern=DATE)  # store-local dates, inclusive
    ends: str = Field(pattern=DATE)
    hours_from: str = Field(default="00:00", pattern=HHMM)  # store-local, every day
    hours_to: str = Field(default="24:00", pattern=HHMM)
    who: Who = Field(default_factory=Who)
    limits: Limits = Field(default_factory=Limits)
    prizes: list[Prize] = Field(default_factory=list, max_length=12)
    budget: Budget = Field(default_factory=Budget)
    quiz: QuizSettings = Field(default_factory=QuizSettings)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    stamp: StampSettings | None = None
    share: ShareSettings | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.ends < self.starts:
            raise ValueError(f"campaign {self.id!r} ends before it starts")
        if self.hours_to <= self.hours_from:
            raise ValueError(f"campaign {self.id!r}: hours_to is not after hours_from")
        ids = [p.id for p in self.prizes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"campaign {self.id!r}: a prize id is listed twice")
        if self.kind in (CampaignKind.WHEEL, CampaignKind.QUIZ):
            if sum(p.weight for p in self.prizes) <= 0:
                raise ValueError(f"campaign {self.id!r}: its prizes need a weight")
            if not any(p.kind is PrizeKind.NONE for p in self.prizes):
                raise ValueError(f"campaign {self.id!r}: needs a 'thanks for playing' prize")
        for p in self.prizes:
            if p.fallback is not None and p.fallback not in ids:
                raise ValueError(f"prize {p.id!r}: no fallback prize {p.fallback!r}")
            if p.wallet and not self.who.members_only:
                raise ValueError(f"prize {p.id!r} goes to a wallet: the campaign is members only")
        if self.kind is CampaignKind.STAMP_CARD and self.stamp is None:
            raise ValueError(f"campaign {self.id!r}: a stamp card needs its stamp settings")
        if self.kind is CampaignKind.SHARE and self.share is None:
            raise ValueError(f"campaign {self.id!r}: a share campaign needs its rewards")
        return self

    def prize(self, prize_id: str) -> Prize | None:
        return next((p for p in self.prizes if p.id == prize_id), None)

    def consolation(self) -> Prize | None:
        return next((p for p in self.prizes if p.kind is PrizeKind.NONE), None)

    def for_store(self, store: str) -> bool:
        return self.stores is None or store in self.stores

    def window_hours(self) -> float:
        return (_minutes(self.hours_to) - _minutes(self.hours_from)) / 60


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class CampaignsConfig(_Strict):
    campaigns: list[Campaign] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _ids(self) -> Self:
        ids = [c.id for c in self.campaigns]
        if len(set(ids)) != len(ids):
            raise ValueError("a campaign id is listed twice")
        return self

    def campaign(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)


# --- stamp cards across the chain ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stamp:
    """One stamp of a member's cards: its id (made at the hub that gave it), where, when."""

    id: str
    place: str  # "<store>:<table>"
    at: float


@dataclass(frozen=True, slots=True)
class Cards:
    """A member's stamp cards for one campaign, as every hub and HQ count them."""

    card: int  # the open card's number (1 for the first)
    places: tuple[str, ...]  # the places on the open card, in stamping order
    completed: tuple[tuple[int, str], ...]  # (card, the stamp that filled it)


def stamp_cards(stamps: Iterable[Stamp], needed: int) -> Cards:
    """The cards a member's stamps make, from every store, in one order every side computes
    alike: by time, then id. A stamp goes on the open card unless its place is on it already
    (two stores' offline views can overlap); the stamp that makes `needed` places fills the
    card, and the next card starts. A hub counts HQ's stamps from other stores and its own
    (offline ones too); HQ counts them all; with the same stamps they agree."""
    card, places, completed = 1, [], []
    for s in sorted(stamps, key=lambda s: (s.at, s.id)):
        if s.place in places:
            continue
        places.append(s.place)
        if len(places) >= needed:
            completed.append((card, s.id))
            card, places = card + 1, []
    return Cards(card, tuple(places), tuple(completed))


def completion_id(card: int, stamp: str) -> str:
    """A filled card's id: the card and the stamp that filled it. Two stores filling the same
    card offline make two ids for one card number: HQ flags the second (docs/games.md)."""
    return f"{card}.{stamp}"


def pacing_cap_fen(day_budget_fen: int, pacing_pct: int, elapsed_h: float, window_h: float) -> int:
    """The most of the day's budget that may be gone `elapsed_h` hours into a `window_h`-hour
    playing window: the hours so far plus the current one, evenly, times the pacing factor.
    The first hour of a 10-hour day may take 15% at 150%, not everything."""
    hours = max(window_h, 1.0)
    share = min((int(elapsed_h) + 1) / hours * pacing_pct / 100, 1.0)
    return int(day_budget_fen * share)


def result_message(
    play: str, campaign: str, store: str, prize: str, rand: int, total: int, at: float
) -> bytes:
    """What a result's signature covers: everything a screenshot could be doctored in."""
    return f"{play}|{campaign}|{store}|{prize}|{rand}|{total}|{at:.3f}".encode()


def sign_result(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def receipt(play: str, prize: str, signature: str) -> str:
    return f"{RECEIPT_PREFIX}.{play}.{prize}.{signature}"


def read_receipt(text: str) -> tuple[str, str, str] | None:
    """(play, prize, signature) from a receipt as printed on the diner's screen."""
    parts = text.strip().split(".")
    if len(parts) != 4 or parts[0] != RECEIPT_PREFIX:
        return None
    return parts[1], parts[2], parts[3]
