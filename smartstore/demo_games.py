"""The demo's campaigns, published by its HQ like any chain's: a lucky wheel (points, a coupon,
a free tea at the bar), guess the dish, the scan-QR gift and a stamp card, running every day.
The simulated diners (smartstore/demo_diners.py) play them after paying."""

import logging
from pathlib import Path

from contract.campaigns import (
    Budget,
    Campaign,
    CampaignKind,
    CampaignsConfig,
    Prize,
    PrizeKind,
    StampSettings,
)
from contract.members import DEFAULT_COUPONS, CouponKind, CouponTemplate, MembersConfig
from contract.menu import StoreConfig, load_menu
from smartstore.cloud_service import CloudHandle

log = logging.getLogger(__name__)

ALWAYS = {"starts": "2020-01-01", "ends": "2099-12-31"}
COUPONS = [
    CouponTemplate(
        id="spin20",
        name_zh="满100减20",
        name_en="20 off 100",
        kind=CouponKind.AMOUNT_OFF,
        value_fen=2000,
        min_spend_fen=10000,
        per_member_limit=3,
    ),
    CouponTemplate(
        id="stamp50",
        name_zh="集章礼50元",
        name_en="Stamp card: 50 yuan off",
        kind=CouponKind.AMOUNT_OFF,
        value_fen=5000,
        min_spend_fen=5000,
        per_member_limit=3,
    ),
]


def demo_campaigns() -> CampaignsConfig:
    wheel = Campaign.model_validate(
        {
            "id": "wheel",
            "kind": CampaignKind.WHEEL,
            "name_zh": "幸运大转盘",
            "name_en": "Lucky wheel",
            "text_zh": "结账后每张账单转一次",
            "text_en": "One spin per paid bill",
            **ALWAYS,
            "prizes": [
                Prize(
                    id="p10",
                    name_zh="10积分",
                    name_en="10 points",
                    kind=PrizeKind.POINTS,
                    weight=40,
                    points=10,
                ),
                Prize(
                    id="c20",
                    name_zh="满100减20券",
                    name_en="20 off 100",
                    kind=PrizeKind.COUPON,
                    weight=15,
                    coupon="spin20",
                    daily_stock=20,
                    fallback="p10",
                ),
                Prize(
                    id="tea",
                    name_zh="免费柠檬茶",
                    name_en="Free lemon tea",
                    kind=PrizeKind.DISH,
                    weight=15,
                    dish="tea",
                    daily_stock=10,
                ),
                Prize(
                    id="none",
                    name_zh="谢谢参与",
                    name_en="Thanks for playing",
                    kind=PrizeKind.NONE,
                    weight=30,
                ),
            ],
            "budget": Budget(chain_fen=10_000_000, per_store_day_fen=50_000),
        }
    )
    quiz = Campaign.model_validate(
        {
            "id": "quiz",
            "kind": CampaignKind.QUIZ,
            "name_zh": "猜菜名",
            "name_en": "Guess the dish",
            "text_zh": "答对得20积分",
            "text_en": "Right answers earn 20 points",
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
                    id="none", name_zh="谢谢参与", name_en="Thanks", kind=PrizeKind.NONE, weight=0
                ),
            ],
        }
    )
    scan = Campaign(
        id="scan",
        kind=CampaignKind.SCAN_QR,
        name_zh="扫码有礼",
        name_en="Scan for a gift",
        text_zh="新会员满50减20，老会员送10积分",
        text_en="New members: 20 off 50; members: 10 points",
        starts="2020-01-01",
        ends="2099-12-31",
    )
    stamps = Campaign(
        id="stamps",
        kind=CampaignKind.STAMP_CARD,
        name_zh="集章卡",
        name_en="Stamp card",
        text_zh="在5张不同的桌子结账，得50元券",
        text_en="Pay at 5 different tables: a 50-yuan coupon",
        starts="2020-01-01",
        ends="2099-12-31",
        stamp=StampSettings(stamps=5, reward_coupon="stamp50"),
    )
    return CampaignsConfig(campaigns=[wheel, quiz, scan, stamps])


def demo_store_config(menu_path: Path) -> StoreConfig:
    return StoreConfig(
        menu=load_menu(menu_path),
        members=MembersConfig(coupons=[*DEFAULT_COUPONS, *COUPONS]),
        campaigns=demo_campaigns(),
    )


def publish(hq: CloudHandle, menu_path: Path, password: str) -> int:
    """HQ publishes the demo's menu with its campaigns to every store; the version."""
    client = hq.hq(username="demo-hq", password=password)
    document = demo_store_config(menu_path).model_dump(mode="json")
    r = client.post("/api/v1/hq/config", json={"scope": "*", "config": document})
    r.raise_for_status()
    version = int(r.json()["version"])
    log.info("HQ published the demo's campaigns: config version %d", version)
    return version
