"""The bill and its payment over HTTP (staff): a table's, or a kiosk order's at the counter;
refunds are a manager's."""

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from contract.http import JsonInt
from contract.uplink import FEEDBACK_COMMENT_MAX, RATING_MAX, RATING_MIN
from edge.api.deps import CurrentManager, CurrentStaff, HubDep, current_manager, domain_of
from edge.api.errors import STAFF, errors
from edge.billing import feedback
from edge.billing.domain import WAIVED, BillingDomain, PayRequest
from edge.core.domain import HubContext
from edge.orders import service as orders
from edge.orders.schemas import PaymentRequest
from edge.tables.domain import TablesDomain
from edge.uplink.events import FactsCommitted

router = APIRouter(tags=["billing"])

Billing = Annotated[BillingDomain, Depends(domain_of(BillingDomain))]
Tables = Annotated[TablesDomain, Depends(domain_of(TablesDomain))]


class MemberCodeRequest(BaseModel):
    code: str = Field(min_length=1, max_length=128)


class FeedbackRequest(BaseModel):
    payment: str = Field(min_length=1, max_length=32)  # the bill's uid, from the "paid" message
    food: JsonInt = Field(ge=RATING_MIN, le=RATING_MAX)
    service: JsonInt = Field(ge=RATING_MIN, le=RATING_MAX)
    comment: str = Field(default="", max_length=FEEDBACK_COMMENT_MAX)
    lang: Literal["zh", "en"] = "zh"


class RefundRequest(BaseModel):
    reason: str = Field(max_length=200)


def _may_let_off(hub: HubContext, body: PaymentRequest, staff: str) -> None:
    """Letting a bill off (waived) changes money after the fact: a manager's, as voids are."""
    if body.method == WAIVED:
        current_manager(hub, staff)


def _pay(body: PaymentRequest) -> PayRequest:
    return PayRequest(
        body.method, body.amount_fen, body.coupon or None, body.points, body.card_confirmed
    )


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, what)


@router.get("/api/tables/{table_id}/bill", responses=errors(STAFF, 404, 409))
def table_bill(table_id: str, billing: Billing, staff: CurrentStaff) -> dict[str, Any]:
    """What the party owes, its member, and the coupons and points they may use."""
    try:
        return billing.view(table_id=table_id, staff=staff)
    except orders.OrderNotFound:
        raise _not_found("没有这张桌子 / no such table") from None


@router.post("/api/tables/{table_id}/pay", responses=errors(STAFF, 400, 404, 409, 422, 503))
def pay_table(
    table_id: str, body: PaymentRequest, billing: Billing, staff: CurrentStaff, hub: HubDep
) -> dict[str, Any]:
    """The table paid its bill: recorded (and sent to HQ) with its member's coupon and points,
    the paid receipt printed, and the table closes. A table closed before paying can still
    pay: closing stops orders, paying ends the party."""
    _may_let_off(hub, body, staff)
    try:
        return billing.pay(_pay(body), staff, table_id=table_id)
    except orders.OrderNotFound:
        raise _not_found("没有这张桌子 / no such table") from None


@router.post("/api/tables/{table_id}/member", responses=errors(STAFF, 400, 404, 409, 422, 503))
def attach_member(
    table_id: str, body: MemberCodeRequest, billing: Billing, _staff: CurrentStaff
) -> dict[str, Any]:
    """Staff scan the member's code (or card) at the bill: the party earns for that member."""
    try:
        return billing.attach(table_id, body.code)
    except orders.OrderNotFound:
        raise _not_found("没有这张桌子 / no such table") from None


@router.get("/api/orders/{uid}/bill", responses=errors(STAFF, 404, 409))
def order_bill(uid: str, billing: Billing, staff: CurrentStaff) -> dict[str, Any]:
    """A kiosk order paid at the counter: what it owes, its member."""
    try:
        return billing.view(order_uid=uid, staff=staff)
    except orders.OrderNotFound:
        raise _not_found("没有这个订单 / no such order") from None


@router.post("/api/orders/{uid}/pay", responses=errors(STAFF, 400, 404, 409, 422, 503))
def pay_order(
    uid: str, body: PaymentRequest, billing: Billing, staff: CurrentStaff, hub: HubDep
) -> dict[str, Any]:
    _may_let_off(hub, body, staff)
    try:
        return billing.pay(_pay(body), staff, order_uid=uid)
    except orders.OrderNotFound:
        raise _not_found("没有这个订单 / no such order") from None


@router.post("/api/payments/{uid}/refund", responses=errors(STAFF, 400, 404, 409, 422))
def refund(
    uid: str, body: RefundRequest, billing: Billing, manager: CurrentManager
) -> dict[str, Any]:
    """A manager gives a paid bill back: what it earned and spent reverses, once."""
    try:
        return billing.refund(uid, body.reason, manager)
    except orders.OrderNotFound:
        raise _not_found("没有这笔付款 / no such payment") from None


@router.post(
    "/api/diner/{token}/feedback",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 403, 409, 422),
)
def give_feedback(token: str, body: FeedbackRequest, hub: HubDep, tables: Tables) -> dict[str, Any]:
    """The party's rating of a bill of this table (the table's QR token), once per bill."""
    with hub.sessions.begin() as session:
        table = tables.table_for(session, token)
        given = feedback.give(
            session,
            table.id,
            body.payment,
            body.food,
            body.service,
            body.comment,
            body.lang,
            time.time(),
        )
    hub.bus.publish(FactsCommitted())
    return {"payment": given.payment, "food": given.food, "service": given.service}
