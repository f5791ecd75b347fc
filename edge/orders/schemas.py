"""Order requests and answers (docs/ordering-api.md)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from contract.const import ID_PATTERN
from contract.http import JSON_INTEGER, JsonInt
from contract.menu import MAX_LINES, NOTE_MAX
from edge.orders.models import Order, OrderLine

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
DishId = Annotated[str, Field(max_length=64)]


class LineRequest(BaseModel):
    # Extra fields are ignored on purpose: a client that sends a price gets it ignored, as
    # documented, instead of an error (the hub prices every order).
    model_config = ConfigDict(extra="ignore")

    dish: DishId
    # The range check is the service's, so that a diner reads a bilingual message.
    qty: JsonInt = Field(ge=-(2**31), le=2**31)
    options: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=64)]] = (
        Field(default_factory=dict, max_length=16)
    )
    note: str = Field(default="", max_length=NOTE_MAX)


class OrderRequest(BaseModel):
    # The example orders from the sample menu (smartstore/samples/menu.yaml).
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "key": "k7Qb2xVn4LcR9sWe",
                    "lines": [{"dish": "tea", "qty": 1, "options": {"temp": "iced"}}],
                    "note": "",
                }
            ]
        },
    )

    key: str = Field(pattern=IDEMPOTENCY_KEY_PATTERN)
    # Up to twice the limit passes here; the service refuses past MAX_LINES with a message.
    lines: list[LineRequest] = Field(max_length=MAX_LINES * 2)
    note: str = Field(default="", max_length=NOTE_MAX)


class CallRequest(BaseModel):
    reason: str = Field(pattern=r"^(service|bill|water)$")


class PaymentRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"method": "cash"}]})

    # "waived": the manager let the table off (or it walked out); recorded, so HQ sees it,
    # and the table can seat its next party.
    method: str = Field(pattern=r"^(cash|card|wechat|alipay|waived)$")
    # The bill the waiter saw and took: if the table ordered more since, the payment is refused
    # rather than recorded short.
    amount_fen: Annotated[int, Field(ge=0, le=100_000_000), JSON_INTEGER] | None = None
    # The party's member pays part of it with a coupon and/or points (edge/billing).
    coupon: str | None = Field(default=None, max_length=16)
    points: JsonInt = Field(default=0, ge=0, le=100_000_000)
    # A kiosk order made with a printed member card: staff checked the person is the member
    # (a card spends only then; a phone's member code, or a card staff scanned, needs nothing).
    card_confirmed: bool = Field(default=False, strict=True)


class SoldOutRequest(BaseModel):
    sold_out: bool = Field(strict=True)


def line_public(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "dish": line.dish_id,
        "name_zh": line.name_zh,
        "name_en": line.name_en,
        "qty": line.qty,
        "options": line.options,
        "note": line.note,
        "price_fen": line.unit_price_fen,
        "line_total_fen": line.unit_price_fen * line.qty,
        "station": line.station,
        "status": line.status,
    }


def order_public(order: Order, printed: bool) -> dict[str, Any]:
    return {
        "id": order.uid,
        "no": order.no,
        "table": order.table_name,
        "source": order.source,
        "device": order.device_id,
        "status": order.status,
        "created_at": order.created_at,
        "done_at": order.done_at,
        "total_fen": order.total_fen,
        "note": order.note,
        "lines": [line_public(x) for x in order.lines],
        "printed": printed,
    }


TABLE_ID = ID_PATTERN
