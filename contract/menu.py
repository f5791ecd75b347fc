"""The menu (a YAML or JSON file, or a document HQ pushes): what a store sells, in Chinese and
English, priced in fen. One schema for the hub and the cloud.

Loaded at start and validated whole: a menu with a mistake is refused with the place of the
mistake, and the hub keeps the last good one.
"""

from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contract.campaigns import CampaignKind, CampaignsConfig, PrizeKind
from contract.const import ID_PATTERN
from contract.members import MembersConfig
from contract.waitlist import WaitlistConfig

MAX_PRICE_FEN = 10_000_000  # 100,000 yuan: a typo guard, not a business rule
NOTE_MAX = 140
MAX_QTY = 50
MAX_LINES = 50

Id = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(_Strict):
    id: Id = Field(pattern=ID_PATTERN)
    name_zh: str = Field(min_length=1, max_length=40)
    name_en: str = Field(min_length=1, max_length=60)

    @property
    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"


class Station(Named):
    """Where a dish is made; each has its printer (the inventory's printer with this station)."""


class Category(Named):
    pass


class Choice(Named):
    price_fen: int = Field(default=0, ge=0, le=MAX_PRICE_FEN)


class Option(Named):
    required: bool = True
    choices: list[Choice] = Field(min_length=1, max_length=20)

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


class Dish(Named):
    category: Id
    station: Id
    price_fen: int = Field(gt=0, le=MAX_PRICE_FEN)
    desc_zh: str = Field(default="", max_length=200)
    desc_en: str = Field(default="", max_length=300)
    picture: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    options: list[Option] = Field(default_factory=list, max_length=8)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


class MenuFile(_Strict):
    version: str = Field(default="local", max_length=64)
    stations: list[Station] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    dishes: list[Dish] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Self:
        for kind, items in (("station", self.stations), ("category", self.categories)):
            ids = [i.id for i in items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"a {kind} id is listed twice")
        dish_ids = [d.id for d in self.dishes]
        if len(dish_ids) != len(set(dish_ids)):
            raise ValueError("a dish id is listed twice")
        stations = {s.id for s in self.stations}
        categories = {c.id for c in self.categories}
        for d in self.dishes:
            if d.station not in stations:
                raise ValueError(f"dish {d.id!r}: no station {d.station!r}")
            if d.category not in categories:
                raise ValueError(f"dish {d.id!r}: no category {d.category!r}")
        return self

    def dish(self, dish_id: str) -> Dish | None:
        return self.by_id().get(dish_id)

    def by_id(self) -> dict[str, Dish]:
        return {d.id: d for d in self.dishes}

    def station(self, station_id: str) -> Station | None:
        return next((s for s in self.stations if s.id == station_id), None)


def load_menu(path: Path) -> MenuFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"menu file {path} does not exist") from None
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ValueError(f"menu file {path} is not valid YAML/JSON: {exc}") from None
    try:
        return MenuFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ValueError(f"menu file {path}: {where}: {first['msg']}") from None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


class Opening(_Strict):
    open: str = Field(pattern=HHMM)
    close: str = Field(pattern=HHMM)

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.close <= self.open:
            raise ValueError(f"closes ({self.close}) before it opens ({self.open})")
        return self


class StoreConfig(_Strict):
    """What HQ pushes to stores: the menu, the opening hours (store-local time), the member
    rules and the waitlist's. A day not listed is a closed day; no `hours` means always open."""

    menu: MenuFile
    hours: dict[str, list[Opening]] | None = None
    members: MembersConfig = Field(default_factory=MembersConfig)
    # Table games and promotions (docs/games.md); their prizes name the coupon templates
    # above and the menu's dishes.
    campaigns: CampaignsConfig = Field(default_factory=CampaignsConfig)
    waitlist: WaitlistConfig = Field(default_factory=WaitlistConfig)

    @model_validator(mode="after")
    def _days(self) -> Self:
        for day in self.hours or {}:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown day {day!r}; use {', '.join(WEEKDAYS)}")
        return self

    @model_validator(mode="after")
    def _campaign_references(self) -> Self:
        dishes = {d.id for d in self.menu.dishes}
        for c in self.campaigns.campaigns:
            coupons = [p.coupon for p in c.prizes if p.kind is PrizeKind.COUPON]
            if c.kind is CampaignKind.SCAN_QR:
                coupons.append(c.scan.new_member_coupon)
            if c.stamp is not None:
                coupons.append(c.stamp.reward_coupon)
            if c.share is not None:
                coupons += [c.share.inviter.coupon, c.share.friend.coupon]
            for ref in coupons:
                if ref is not None and self.members.coupon(ref) is None:
                    raise ValueError(f"campaign {c.id!r}: no coupon template {ref!r}")
            for p in c.prizes:
                if p.dish is not None and p.dish not in dishes:
                    raise ValueError(f"campaign {c.id!r}, prize {p.id!r}: no dish {p.dish!r}")
            for d in c.quiz.dishes or []:
                if d not in dishes:
                    raise ValueError(f"campaign {c.id!r}: quiz dish {d!r} is not on the menu")
        return self

    def is_open(self, weekday: int, hhmm: str) -> bool:
        """weekday: 0 = Monday (time.localtime's tm_wday); hhmm: "HH:MM"."""
        if self.hours is None:
            return True
        return any(o.open <= hhmm < o.close for o in self.hours.get(WEEKDAYS[weekday], []))
