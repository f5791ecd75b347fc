"""Orders over HTTP: diners with their table's token, staff with their login."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Response, status

from edge.api.deps import CurrentManager, CurrentStaff, HubDep, domain_of
from edge.api.errors import ANSWERED_BEFORE, STAFF, errors
from edge.calls import service as calls
from edge.calls.domain import CallsDomain
from edge.limits.domain import LimitsDomain
from edge.members.domain import MEMBER_COOKIE, MembersDomain
from edge.menu.domain import MenuDomain
from edge.menu.schemas import menu_public
from edge.orders import service as orders
from edge.orders.domain import OrdersDomain, diner_view
from edge.orders.schemas import CallRequest, OrderRequest, order_public
from edge.orders.service import Origin
from edge.printing import service as printing
from edge.printing.domain import PrintingDomain
from edge.tables.domain import TablesDomain

router = APIRouter(tags=["orders"])

Orders = Annotated[OrdersDomain, Depends(domain_of(OrdersDomain))]
Tables = Annotated[TablesDomain, Depends(domain_of(TablesDomain))]
Limits = Annotated[LimitsDomain, Depends(domain_of(LimitsDomain))]


def _table(hub: HubDep, tables: TablesDomain, token: str) -> tuple[str, str, str, float, bool]:
    with hub.reads() as session:
        t = tables.table_for(session, token)
        return t.id, t.name, t.zone, t.opened_at, t.is_open


def member_id(hub: HubDep, cookie: str | None) -> str | None:
    """The member signed in on this phone: their orders feed "your usual"."""
    if not cookie:
        return None
    return hub.get(MembersDomain).session_signer.verify(cookie)


@router.get("/api/diner/{token}/menu", responses=errors(403, 503))
def diner_menu(token: str, hub: HubDep, tables: Tables) -> dict[str, Any]:
    _, name, _, _, is_open = _table(hub, tables, token)
    state = hub.get(MenuDomain).menu
    return {
        "store": hub.store,
        "table": {"name": name, "open": is_open},
        **menu_public(state.menu, state.sold_out),
    }


@router.post(
    "/api/diner/{token}/orders",
    status_code=status.HTTP_201_CREATED,
    responses={**ANSWERED_BEFORE, **errors(400, 403, 409, 422, 429, 503)},
)
def diner_order(
    token: str,
    body: OrderRequest,
    hub: HubDep,
    desk: Orders,
    tables: Tables,
    limits: Limits,
    response: Response,
    member_cookie: Annotated[str | None, Cookie(alias=MEMBER_COOKIE)] = None,
) -> dict[str, Any]:
    table_id, name, _, _, _ = _table(hub, tables, token)
    # A retry of a known key is never limited: the diner must learn the order went through.
    with hub.reads() as session:
        known = orders.by_key(session, body.key)
    if known is None:
        limits.take(limits.orders, table_id)
    public, created = desk.place(
        Origin(orders.SOURCE_TABLE, table_id, name, member_id=member_id(hub, member_cookie)),
        body.key,
        body.lines,
        body.note,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return diner_view(public)


@router.get("/api/diner/{token}/orders", responses=errors(403))
def diner_orders(token: str, hub: HubDep, tables: Tables) -> dict[str, Any]:
    table_id, _, _, opened_at, _ = _table(hub, tables, token)
    with hub.reads() as session:
        rows = orders.table_orders(session, table_id, opened_at)
        jobs = printing.jobs_for_orders(session, [o.id for o in rows])
        return {"orders": [order_public(o, printing.all_kitchen_sent(jobs[o.id])) for o in rows]}


@router.post("/api/diner/{token}/call", responses=errors(400, 403, 422, 429))
def diner_call(
    token: str, body: CallRequest, hub: HubDep, tables: Tables, limits: Limits
) -> dict[str, Any]:
    table_id, name, zone, _, _ = _table(hub, tables, token)
    limits.take(limits.calls, table_id)
    with hub.sessions.begin() as session:
        call = calls.call_from_table(
            session, hub.store, table_id, name, zone, body.reason, time.time()
        )
    hub.get(CallsDomain).changed([call])
    receipt = False
    if body.reason == "bill":
        with hub.reads() as session:
            table = tables.table_for(session, token)
        receipt = hub.get(PrintingDomain).request_bill(table)
    return {"call": {"id": call.id, "reason": call.reason}, "receipt": receipt}


# Staff.
@router.get("/api/orders", responses=errors(STAFF))
def staff_orders(hub: HubDep, desk: Orders, _staff: CurrentStaff) -> dict[str, Any]:
    with hub.reads() as session:
        return {"orders": desk.open_orders(session)}


def _not_found(zh: str, en: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"没有这个{zh} / no such {en}")


@router.post("/api/orders/{uid}/done", responses=errors(STAFF, 404))
def order_done(uid: str, desk: Orders, _staff: CurrentStaff) -> dict[str, Any]:
    try:
        return desk.mark_done(uid)
    except orders.OrderNotFound:
        raise _not_found("订单", "order") from None


@router.post("/api/orders/{uid}/lines/{line_id}/void", responses=errors(STAFF, 404, 409, 422))
def void_line(uid: str, line_id: int, desk: Orders, staff: CurrentManager) -> dict[str, Any]:
    try:
        return desk.void_line(uid, line_id, staff)
    except orders.OrderNotFound:
        raise _not_found("订单项", "order line") from None


@router.post("/api/print-jobs/{uid}/reprint", responses=errors(STAFF, 404))
def reprint(uid: str, hub: HubDep, _staff: CurrentStaff) -> dict[str, object]:
    try:
        return hub.get(PrintingDomain).reprint(uid)
    except printing.JobNotFound:
        raise _not_found("打印任务", "print job") from None
