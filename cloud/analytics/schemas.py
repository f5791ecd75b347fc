"""What HQ's analytics answer (docs/analytics.md)."""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.const import ID_PATTERN
from contract.members import CouponTemplate, Segment

MAX_VARIANTS = 5


class ScoringPublic(BaseModel):
    scored_at: float
    members: int  # scored: every member with a paid bill, not erased
    segments: dict[Segment, int]
    influx_written: bool  # the counts reached InfluxDB (False: none configured, or it failed)


class SegmentRow(BaseModel):
    """Members of a segment who paid a bill at a store; store "*": the chain, each once."""

    store: str
    segment: Segment
    members: int
    scored_at: float


class VariantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    template: CouponTemplate
    share_pct: int = Field(ge=1, le=99)


class ExperimentCreate(BaseModel):
    """A coupon A/B test: two or more variants (the first is the control the lift is measured
    against), each a coupon and a whole-percent share of the members, for a segment or for
    every scored member (segment null)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "winback-nov",
                    "name": "Win back: 10 off 50 or 20 off 80",
                    "segment": "重要挽留",
                    "variants": [
                        {
                            "name": "10 off 50",
                            "share_pct": 50,
                            "template": {
                                "id": "wb10",
                                "name_zh": "满50减10",
                                "name_en": "10 off 50",
                                "kind": "amount_off",
                                "value_fen": 1000,
                                "min_spend_fen": 5000,
                                "valid_days": 14,
                            },
                        },
                        {
                            "name": "20 off 80",
                            "share_pct": 50,
                            "template": {
                                "id": "wb20",
                                "name_zh": "满80减20",
                                "name_en": "20 off 80",
                                "kind": "amount_off",
                                "value_fen": 2000,
                                "min_spend_fen": 8000,
                                "valid_days": 14,
                            },
                        },
                    ],
                }
            ]
        },
    )

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    segment: Segment | None = None
    variants: list[VariantCreate] = Field(min_length=2, max_length=MAX_VARIANTS)

    @model_validator(mode="after")
    def _split(self) -> Self:
        if sum(v.share_pct for v in self.variants) != 100:
            raise ValueError("the variants' share_pct add up to 100")
        if len({v.template.id for v in self.variants}) != len(self.variants):
            raise ValueError("each variant has its own coupon template id")
        return self


class ExperimentPublic(BaseModel):
    id: str
    name: str
    segment: Segment | None
    variants: list[VariantCreate]
    created_at: float
    created_by: str


class ExposurePublic(BaseModel):
    experiment: str
    exposed: list[int]  # per variant: members given their variant's coupon by this call
    skipped: int  # already exposed, or at the template's per-member limit


class ArmReport(BaseModel):
    variant: int
    name: str
    share_pct: int
    exposed: int  # members given the variant's coupon
    converted: int  # of them, used it on a paid bill (not refunded)
    rate: float | None
    ci95_low: float | None  # Wilson score interval
    ci95_high: float | None
    revenue_fen: int  # what the exposed paid since their exposure (refunds excluded)
    revenue_per_member_fen: float | None
    lift: float | None  # (rate - control's) / control's; None for the control
    p_value: float | None  # two-proportion z-test against the control (pooled, two-sided)


class ExperimentReport(BaseModel):
    experiment: str
    at: float
    arms: list[ArmReport]
    srm_p_value: float | None  # chi-square of the arms' sizes against the split
    srm_warning: bool  # p < 0.01: the split is off, nothing below can be trusted
    conclusive: bool
    verdict: str  # in plain words, for HQ
