"""What HQ's member API accepts and returns. Phone numbers come in (HQ hashes them at once) and
never go out: answers show the mask only."""

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloud.const import MAX_COUPON_RECIPIENTS
from cloud.members.models import PointsEntry
from cloud.schemas import StoredText
from contract.const import ID_PATTERN
from contract.members import MEMBER_ID_PATTERN, CouponTemplate, IssuedCoupon, Segment
from contract.uplink import MAX_POINTS

PHONE_MAX = 32  # "+86 138-0013-8000" and the like; the number itself is checked when hashed
MemberIdText = Annotated[str, Field(pattern=MEMBER_ID_PATTERN)]
PhoneText = Annotated[str, Field(min_length=1, max_length=PHONE_MAX)]


class MemberSearch(BaseModel):
    """A phone number, in the body (never in a URL, so never in an access log)."""

    phone: str = Field(min_length=1, max_length=PHONE_MAX)


class StoreBalance(BaseModel):
    store: str | None  # None: HQ's own entries (adjustments)
    points: int


class StampCardPublic(BaseModel):
    """A member's stamp cards of one campaign, counted from every store's stamps."""

    campaign: str
    needed: int  # stamps from different tables to a full card
    card: int  # the open card's number
    places: list[str]  # "<store>:<table>" on the open card, in order
    filled: int  # cards filled so far (each paid its coupon once)
    stamps: int  # every stamp, every store


class MemberPublic(BaseModel):
    member: str  # HQ's id
    ids: list[str]  # every id a hub made for them, HQ's first
    phone_masked: str | None
    birthday: str | None
    card_no: str | None
    consent: str
    joined_at: float
    joined_store: str
    erased: bool
    erased_at: float | None
    balance: int
    balance_by_store: list[StoreBalance]
    spend_12m_fen: int
    level: str  # by the newest chain-wide configuration's levels
    coupons: list[IssuedCoupon]  # held: not used, not expired
    stamp_cards: list[StampCardPublic] = []


class PointsEntryPublic(BaseModel):
    entry: str
    member_id: str  # the id the entry was made under
    store: str | None  # None: made at HQ
    points: int
    cause: str
    ref: str
    reason: str
    offline: bool
    at: float
    by: str
    received_at: float

    @classmethod
    def of(cls, e: PointsEntry) -> "PointsEntryPublic":
        return cls(
            entry=e.entry,
            member_id=e.member_id,
            store=e.store_id,
            points=e.points,
            cause=e.cause,
            ref=e.ref,
            reason=e.reason,
            offline=e.offline,
            at=e.at,
            by=e.by,
            received_at=e.received_at,
        )


class LedgerPublic(BaseModel):
    member: str
    balance: int  # over the whole ledger, not this page
    total: int  # entries in the whole ledger
    offset: int
    entries: list[PointsEntryPublic]  # newest first


class PointsAdjustmentCreate(BaseModel):
    points: int = Field(ge=-MAX_POINTS, le=MAX_POINTS)
    reason: StoredText = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _not_zero(self) -> Self:
        if self.points == 0:
            raise ValueError("an adjustment of 0 points changes nothing")
        return self


class ErasurePublic(BaseModel):
    member: str
    erased_at: float


class CouponIssueCreate(BaseModel):
    """Coupons for members by id or phone: the terms given here, or a template of the newest
    chain-wide configuration (`template_id`). Each member gets one, within the template's
    per-member limit of unused ones."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"template_id": "welcome", "phones": ["13800138000"]},
                {
                    "template": {
                        "id": "autumn",
                        "name_zh": "秋季满100减30",
                        "name_en": "Autumn: 30 off 100",
                        "kind": "amount_off",
                        "value_fen": 3000,
                        "min_spend_fen": 10000,
                        "valid_days": 14,
                    },
                    "members": ["mabcdefgh23456789"],
                },
            ]
        }
    )

    template: CouponTemplate | None = None
    template_id: str | None = Field(default=None, pattern=ID_PATTERN)
    members: list[MemberIdText] = Field(default_factory=list, max_length=MAX_COUPON_RECIPIENTS)
    phones: list[PhoneText] = Field(default_factory=list, max_length=MAX_COUPON_RECIPIENTS)
    # Every member of an RFM segment as of HQ's last scoring (docs/analytics.md), besides any
    # listed: one coupon each, like the others.
    segment: Segment | None = None
    source: str = Field(default="hq", pattern=ID_PATTERN, max_length=32)

    @model_validator(mode="after")
    def _one_template(self) -> Self:
        if (self.template is None) == (self.template_id is None):
            raise ValueError("give either `template` (its terms) or `template_id`, not both")
        if len(self.members) + len(self.phones) > MAX_COUPON_RECIPIENTS:
            raise ValueError(f"at most {MAX_COUPON_RECIPIENTS} recipients per request")
        return self


class CouponGiven(BaseModel):
    member: str
    coupon: IssuedCoupon


class CouponNotGiven(BaseModel):
    recipient: str  # a member id as given, or a phone's mask
    reason: str


class CouponIssuePublic(BaseModel):
    issued: list[CouponGiven]
    skipped: list[CouponNotGiven]


class LiabilityRow(BaseModel):
    """Per store of issue (None: HQ)."""

    store: str | None
    points_net: int  # the sum of the entries made there (earned minus spent there)
    coupons_outstanding: int  # not used, not expired
    coupons_value_fen: int  # of those with a value known before a bill
    coupons_unvalued: int  # percent off without a cap, free dishes: no value before a bill


class LiabilityPublic(BaseModel):
    at: float  # HQ's clock: coupons are outstanding if unexpired then
    point_value_fen: int
    members_with_points: int
    points_outstanding: int  # the sum of the positive balances
    points_value_fen: int  # × point_value_fen
    # Entries under ids HQ has no member for yet (their member.joined has not arrived).
    points_unattributed: int
    coupons_outstanding: int
    coupons_value_fen: int
    coupons_unvalued: int
    stores: list[LiabilityRow]


class RiskPublic(BaseModel):
    id: int
    kind: str  # overdraft | double_redeem | double_stamp | withdrawn_used | invite_limit
    level: str  # risk | info
    member: str
    store: str | None
    created_at: float
    detail: dict[str, Any]


class RiskRow(BaseModel):
    """A risk item as a CSV row: its detail as JSON text."""

    id: int
    kind: str
    level: str
    member: str
    store: str | None
    created_at: float
    detail: str
