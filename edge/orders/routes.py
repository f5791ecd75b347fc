"""Orders over HTTP: diners with their table's token, staff with their login."""

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse

from edge.api.deps import CurrentStaff, RuntimeDep
from edge.calls import service as calls
from edge.orders import errors
from edge.orders import service as orders
from edge.orders.desk import diner_view
from edge.orders.errors import OrderError
from edge.orders.schemas import CallRequest, OrderRequest, order_public
from edge.orders.service import Origin
from edge.printing import service as printing
from edge.runtime import HubRuntime

router = APIRouter(tags=["orders"])


def order_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrderError)
    return JSONResponse({"detail": exc.detail()}, status_code=exc.status)


def _table(runtime: HubRuntime, token: str) -> tuple[str, str, str, float, bool]:
    with runtime.reads() as session:
        t = runtime.desk.table_for(session, token)
        return t.id, t.name, t.zone, t.opened_at, t.is_open


@router.get("/api/diner/{token}/menu")
def diner_menu(token: str, runtime: RuntimeDep) -> dict[str, Any]:
    _, name, _, _, is_open = _table(runtime, token)
    state = runtime.desk.menu
    from edge.menu.schemas import menu_public

    return {
        "store": runtime.settings.store_id,
        "table": {"name": name, "open": is_open},
        **menu_public(state.menu, state.sold_out),
    }


@router.post("/api/diner/{token}/orders")
def diner_order(
    token: str, body: OrderRequest, runtime: RuntimeDep, response: Response
) -> dict[str, Any]:
    table_id, name, _, _, _ = _table(runtime, token)
    desk = runtime.desk
    # A retry of a known key is never limited: the diner must learn the order went through.
    with runtime.reads() as session:
        known = orders.by_key(session, body.key)
    if known is None and not desk.order_limiter.take(table_id):
        raise errors.rate_limited()
    public, created = desk.place(
        Origin(orders.SOURCE_TABLE, table_id, name), body.key, body.lines, body.note
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return diner_view(public)


@router.get("/api/diner/{token}/orders")
def diner_orders(token: str, runtime: RuntimeDep) -> dict[str, Any]:
    table_id, _, _, opened_at, _ = _table(runtime, token)
    with runtime.reads() as session:
        rows = orders.table_orders(session, table_id, opened_at)
        jobs = printing.jobs_for_orders(session, [o.id for o in rows])
        return {"orders": [order_public(o, printing.all_kitchen_sent(jobs[o.id])) for o in rows]}


@router.post("/api/diner/{token}/call")
def diner_call(token: str, body: CallRequest, runtime: RuntimeDep) -> dict[str, Any]:
    table_id, name, zone, _, _ = _table(runtime, token)
    if not runtime.desk.call_limiter.take(table_id):
        raise errors.rate_limited()
    with runtime.sessions.begin() as session:
        call = calls.call_from_table(
            session, runtime.settings.store_id, table_id, name, zone, body.reason, time.time()
        )
    runtime.calls_changed([call])
    receipt = False
    if body.reason == "bill":
        with runtime.reads() as session:
            table = runtime.desk.table_for(session, token)
        receipt = runtime.desk.request_bill(table)
    return {"call": {"id": call.id, "reason": call.reason}, "receipt": receipt}


# Staff.
@router.get("/api/orders")
def staff_orders(runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, Any]:
    with runtime.reads() as session:
        return {"orders": runtime.desk.open_orders(session)}


def _not_found(zh: str, en: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"没有这个{zh} / no such {en}")


@router.post("/api/orders/{uid}/done")
def order_done(uid: str, runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, Any]:
    try:
        return runtime.desk.mark_done(uid)
    except orders.OrderNotFound:
        raise _not_found("订单", "order") from None


@router.post("/api/orders/{uid}/lines/{line_id}/void")
def void_line(uid: str, line_id: int, runtime: RuntimeDep, staff: CurrentStaff) -> dict[str, Any]:
    try:
        return runtime.desk.void_line(uid, line_id, staff)
    except orders.OrderNotFound:
        raise _not_found("订单项", "order line") from None


@router.post("/api/print-jobs/{uid}/reprint")
def reprint(uid: str, runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, object]:
    try:
        return runtime.desk.reprint(uid)
    except printing.JobNotFound:
        raise _not_found("打印任务", "print job") from None
