"""Tables: the page behind each table's QR code and its live socket (diners); open, close,
and a new QR code for one table (staff); the bill and its payment are edge/billing's."""

import html
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, WebSocket, status
from fastapi.responses import HTMLResponse

from edge.api.board_routes import PAGE_HEADERS, STATIC, WS_CLOSE_POLICY, forward_live
from edge.api.deps import CurrentManager, CurrentStaff, HubDep, domain_of, websocket_hub
from edge.api.errors import STAFF, errors
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.tables import service as tables
from edge.tables.domain import TablesDomain
from edge.tables.models import DiningTable

router = APIRouter(tags=["tables"])

Tables = Annotated[TablesDomain, Depends(domain_of(TablesDomain))]


def _bad_code_page() -> HTMLResponse:
    message = "二维码无效或已过期，请联系服务员"
    english = "This QR code is not valid. Please ask a member of staff."
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(message)}</title>"
        '<link rel="stylesheet" href="/static/diner.css"></head>'
        f'<body><main class="bad-code"><h1>{html.escape(message)}</h1>'
        f"<p>{html.escape(english)}</p></main></body></html>"
    )
    return HTMLResponse(body, status_code=status.HTTP_403_FORBIDDEN, headers=PAGE_HEADERS)


@router.get("/t/{token}", include_in_schema=False)
def diner_page(token: str, hub: HubDep, domain: Tables) -> HTMLResponse:
    try:
        with hub.reads() as session:
            domain.table_for(session, token)
    except OrderError:
        return _bad_code_page()
    return HTMLResponse((STATIC / "diner.html").read_text(encoding="utf-8"), headers=PAGE_HEADERS)


@router.websocket("/ws/diner/{token}")
async def diner_socket(websocket: WebSocket, token: str) -> None:
    hub = websocket_hub(websocket)
    try:
        with hub.reads() as session:
            table_id = hub.get(TablesDomain).table_for(session, token).id
    except OrderError:
        await websocket.close(code=WS_CLOSE_POLICY, reason="bad token")
        return
    await websocket.accept()
    queue = hub.diners.subscribe(table_id)
    await forward_live(websocket, hub.diners, queue)


def table_public(domain: TablesDomain, t: DiningTable, due_fen: int = 0) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "zone": t.zone,
        "open": t.is_open,
        "due_fen": due_fen,  # what the party owes (closed or not), for the "paid" button
        "qr_version": t.qr_version,
        # Staff can open or print one table's page without reprinting the whole sheet.
        "qr_path": f"/t/{domain.token_of(t)}",
    }


@router.get("/api/tables", responses=errors(STAFF))
def list_tables(hub: HubDep, domain: Tables, _staff: CurrentStaff) -> dict[str, Any]:
    with hub.reads() as session:
        due = orders.amounts_due(session)
        return {
            "tables": [
                table_public(domain, t, due.get(t.id, 0)) for t in tables.list_tables(session)
            ]
        }


def _change(hub: HubDep, domain: TablesDomain, table_id: str, what: str) -> dict[str, Any]:
    try:
        with hub.sessions.begin() as session:
            # Unchanged by what follows: a new party is seated only when nothing is due.
            due = orders.amounts_due(session, table_id).get(table_id, 0)
            if what == "rotate":
                row = tables.rotate_qr(session, table_id)
            else:
                row = tables.set_open(session, table_id, what == "open", time.time(), due == 0)
            public = table_public(domain, row, due)
    except tables.TableNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这张桌子 / no such table") from None
    # Diners on this table's page learn at once (a rotated code: their page stops working).
    hub.diners.publish({"type": "table", "open": public["open"]}, key=table_id)
    return public


@router.post("/api/tables/{table_id}/open", responses=errors(STAFF, 404))
def open_table(table_id: str, hub: HubDep, domain: Tables, _staff: CurrentStaff) -> dict[str, Any]:
    return _change(hub, domain, table_id, "open")


@router.post("/api/tables/{table_id}/close", responses=errors(STAFF, 404))
def close_table(table_id: str, hub: HubDep, domain: Tables, _staff: CurrentStaff) -> dict[str, Any]:
    return _change(hub, domain, table_id, "close")


@router.post("/api/tables/{table_id}/rotate-qr", responses=errors(STAFF, 404))
def rotate_qr(table_id: str, hub: HubDep, domain: Tables, _staff: CurrentManager) -> dict[str, Any]:
    return _change(hub, domain, table_id, "rotate")
