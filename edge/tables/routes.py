"""Tables for staff: open, close, and a new QR code for one table."""

import time
from typing import Any

from fastapi import APIRouter, HTTPException, status

from edge.api.deps import CurrentStaff, RuntimeDep
from edge.orders import service as orders
from edge.orders.schemas import PaymentRequest
from edge.runtime import HubRuntime
from edge.tables import service as tables
from edge.tables.models import DiningTable

router = APIRouter(tags=["tables"])


def table_public(runtime: HubRuntime, t: DiningTable, due_fen: int = 0) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "zone": t.zone,
        "open": t.is_open,
        "due_fen": due_fen,  # what the party owes (closed or not), for the "paid" button
        "qr_version": t.qr_version,
        # Staff can open or print one table's page without reprinting the whole sheet.
        "qr_path": f"/t/{runtime.desk.token_of(t)}",
    }


@router.get("/api/tables")
def list_tables(runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, Any]:
    with runtime.reads() as session:
        due = orders.amounts_due(session)
        return {
            "tables": [
                table_public(runtime, t, due.get(t.id, 0)) for t in tables.list_tables(session)
            ]
        }


def _change(runtime: HubRuntime, table_id: str, what: str) -> dict[str, Any]:
    try:
        with runtime.sessions.begin() as session:
            # Unchanged by what follows: a new party is seated only when nothing is due.
            due = orders.amounts_due(session, table_id).get(table_id, 0)
            if what == "rotate":
                row = tables.rotate_qr(session, table_id)
            else:
                row = tables.set_open(session, table_id, what == "open", time.time(), due == 0)
            public = table_public(runtime, row, due)
    except tables.TableNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这张桌子 / no such table") from None
    # Diners on this table's page learn at once (a rotated code: their page stops working).
    runtime.diners.publish({"type": "table", "open": public["open"]}, key=table_id)
    return public


@router.post("/api/tables/{table_id}/open")
def open_table(table_id: str, runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, Any]:
    return _change(runtime, table_id, "open")


@router.post("/api/tables/{table_id}/close")
def close_table(table_id: str, runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, Any]:
    return _change(runtime, table_id, "close")


@router.post("/api/tables/{table_id}/rotate-qr")
def rotate_qr(table_id: str, runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, Any]:
    return _change(runtime, table_id, "rotate")


@router.post("/api/tables/{table_id}/pay")
def pay(
    table_id: str, body: PaymentRequest, runtime: RuntimeDep, staff: CurrentStaff
) -> dict[str, Any]:
    """The table paid its bill: recorded (and sent to HQ), and the table closes. A table
    closed before paying can still pay: closing stops orders, paying ends the party."""
    try:
        with runtime.sessions.begin() as session:
            payment = orders.settle_table(
                session, table_id, body.method, staff, time.time(), body.amount_fen
            )
            public = {
                "id": payment.uid,
                "table": payment.table_name,
                "amount_fen": payment.amount_fen,
                "method": payment.method,
                "orders": payment.order_uids,
                "paid_at": payment.paid_at,
            }
    except orders.OrderNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这张桌子 / no such table") from None
    runtime.cloud.nudge()
    runtime.diners.publish({"type": "table", "open": False}, key=table_id)
    return public
