"""Campaigns the games tests, the bench and the demo share: a lucky wheel, a quiz, a scan-QR
campaign and a stamp card, running all day every day (contract.campaigns)."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contract.campaigns import (
    Budget,
    Campaign,
    CampaignKind,
    CampaignsConfig,
    Limits,
    Prize,
    PrizeKind,
    ShareReward,
    ShareSettings,
    StampSettings,
    Who,
)
from contract.members import DEFAULT_COUPONS, CouponKind, CouponTemplate, MembersConfig
from contract.menu import StoreConfig, load_menu
from devices.virtual_printer import VirtualPrinter
from edge.config import Settings
from edge.db import init_db, make_engine
from edge.menu.models import AppliedConfig
from smartstore.samples import SAMPLE_MENU
from tests.ordering import STATIONS, Kitchen
from tests.support import hub_settings, make_inventory, run_hub_thread, start_broker

ALWAYS = {"starts": "2020-01-01", "ends": "2099-12-31"}

# The coupons the games give, besides the members' own (welcome, birthday).
GAME_COUPONS = [
    CouponTemplate(
        id="spin20",
        name_zh="满100减20",
        name_en="20 off 100",
        kind=CouponKind.AMOUNT_OFF,
        value_fen=2000,
        min_spend_fen=10000,
        per_member_limit=5,
    ),
    CouponTemplate(
        id="stamp50",
        name_zh="集章礼50元",
        name_en="Stamp card: 50 yuan off",
        kind=CouponKind.AMOUNT_OFF,
        value_fen=5000,
        min_spend_fen=5000,
        per_member_limit=5,
    ),
]


def members_config() -> MembersConfig:
    return MembersConfig(coupons=[*DEFAULT_COUPONS, *GAME_COUPONS])


WHEEL_PRIZES = [
    Prize(
        id="p10", name_zh="10积分", name_en="10 points", kind=PrizeKind.POINTS, weight=40, points=10
    ),
    Prize(
        id="c20",
        name_zh="满50减20券",
        name_en="20 off 50",
        kind=PrizeKind.COUPON,
        weight=10,
        coupon="spin20",
        stock=50,
    ),
    Prize(
        id="tea",
        name_zh="免费柠檬茶",
        name_en="Free lemon tea",
        kind=PrizeKind.DISH,
        weight=20,
        dish="tea",
        daily_stock=30,
    ),
    Prize(
        id="none", name_zh="谢谢参与", name_en="Thanks for playing", kind=PrizeKind.NONE, weight=30
    ),
]


def wheel(**changes: object) -> Campaign:
    base: dict[str, object] = {
        "id": "wheel",
        "kind": CampaignKind.WHEEL,
        "name_zh": "幸运大转盘",
        "name_en": "Lucky wheel",
        "text_zh": "结账后转一次",
        "text_en": "One spin per paid bill",
        **ALWAYS,
        "prizes": WHEEL_PRIZES,
        "budget": Budget(chain_fen=1_000_000, per_store_day_fen=100_000, pacing_pct=10_000),
        "limits": Limits(per_member_per_day=50, per_session_per_day=50, per_party=1),
    }
    base.update(changes)
    return Campaign.model_validate(base)


def quiz(**changes: object) -> Campaign:
    base: dict[str, object] = {
        "id": "quiz",
        "kind": CampaignKind.QUIZ,
        "name_zh": "猜菜名",
        "name_en": "Guess the dish",
        **ALWAYS,
        "prizes": [
            Prize(
                id="p20",
                name_zh="20积分",
                name_en="20 points",
                kind=PrizeKind.POINTS,
                weight=1,
                points=20,
            ),
            Prize(
                id="none",
                name_zh="谢谢参与",
                name_en="Thanks for playing",
                kind=PrizeKind.NONE,
                weight=0,
            ),
        ],
        "limits": Limits(per_member_per_day=50, per_session_per_day=50, per_party=1),
    }
    base.update(changes)
    return Campaign.model_validate(base)


def scan() -> Campaign:
    return Campaign(
        id="scan",
        kind=CampaignKind.SCAN_QR,
        name_zh="扫码有礼",
        name_en="Scan for a gift",
        starts="2020-01-01",
        ends="2099-12-31",
    )


def stamp_card(stamps: int = 5) -> Campaign:
    return Campaign(
        id="stamps",
        kind=CampaignKind.STAMP_CARD,
        name_zh="集章卡",
        name_en="Stamp card",
        starts="2020-01-01",
        ends="2099-12-31",
        stamp=StampSettings(stamps=stamps, reward_coupon="stamp50"),
        limits=Limits(per_member_per_day=50, per_session_per_day=50, per_party=1),
    )


def share(per_day: int = 5, min_bill_fen: int = 0) -> Campaign:
    """Invite a friend: 200 points to the inviter, a 20-off-100 coupon to the friend, when the
    friend pays a first bill (of at least `min_bill_fen`)."""
    return Campaign(
        id="share",
        kind=CampaignKind.SHARE,
        name_zh="邀请好友",
        name_en="Invite a friend",
        text_zh="好友首次结账后，你们都有奖励",
        text_en="You both earn when your friend pays a first bill",
        starts="2020-01-01",
        ends="2099-12-31",
        who=Who(min_bill_fen=min_bill_fen),
        share=ShareSettings(
            inviter=ShareReward(points=200),
            friend=ShareReward(coupon="spin20"),
            per_inviter_per_day=per_day,
        ),
    )


def all_campaigns(stamps: int = 5) -> CampaignsConfig:
    return CampaignsConfig(campaigns=[wheel(), quiz(), scan(), stamp_card(stamps)])


def store_config(campaigns: CampaignsConfig | None = None) -> StoreConfig:
    """The sample menu with the games' coupons and these campaigns, as HQ would push it."""
    return StoreConfig(
        menu=load_menu(SAMPLE_MENU),
        members=members_config(),
        campaigns=campaigns if campaigns is not None else all_campaigns(),
    )


def seed_config(settings: Settings, config: StoreConfig, version: int = 1) -> None:
    """Leave `config` in a new hub's database as the last configuration HQ pushed (a hub
    starts with it, the cloud away): the end-to-end tests without a cloud. The push itself is
    tested through the cloud (tests/test_games.py)."""
    engine = make_engine(settings.db_path, for_writes=True)
    try:
        sessions = init_db(engine)
        with sessions.begin() as s:
            s.add(
                AppliedConfig(
                    version=version, document=config.model_dump(mode="json"), applied_at=0.0
                )
            )
    finally:
        engine.dispose()


@contextmanager
def games_kitchen(
    tmp_path: Path, store: str, config: StoreConfig | None = None, **hub_kw: Any
) -> Iterator[Kitchen]:
    """tests.ordering.kitchen, with the campaigns in the hub's configuration before it starts."""
    printers = {s: VirtualPrinter().start() for s in STATIONS}
    inventory = make_inventory(store, printer_ports={s: p.port for s, p in printers.items()})
    broker = start_broker(tmp_path / "mqtt", inventory)
    settings = hub_settings(broker, tmp_path / "hub", **hub_kw)
    seed_config(settings, config or store_config())
    hub = run_hub_thread(settings)
    try:
        yield Kitchen(broker, hub, printers, hub.client(), hub.client(login=False))
    finally:
        hub.stop()
        broker.stop()
        for p in printers.values():
            p.stop()


def play_id() -> str:
    """A play id as the phone makes one (per tap, kept until the answer arrives)."""
    return "p" + secrets.token_hex(12)
