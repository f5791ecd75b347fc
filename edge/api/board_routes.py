"""The staff board's pages and its live WebSocket."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.websockets import WebSocketState

from edge.api.deps import get_hub, staff_of, websocket_hub, websocket_staff
from edge.auth import COOKIE
from edge.live import LiveHub

router = APIRouter(tags=["board"])

STATIC = files("edge") / "web" / "static"
WS_CLOSE_POLICY = 1008


# The board loads nothing from elsewhere (the store LAN may have no internet), so the policy
# can forbid everything but the hub itself: injected markup could not run or phone home.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _page(name: str) -> HTMLResponse:
    return HTMLResponse((STATIC / name).read_text(encoding="utf-8"), headers=PAGE_HEADERS)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/board", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page() -> HTMLResponse:
    return _page("login.html")


def _staff_page(request: Request, name: str) -> Response:
    """A page for logged-in staff; anyone else goes to the login and then comes back."""
    if staff_of(get_hub(request), request.cookies.get(COOKIE)) is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return _page(name)


@router.get("/board", include_in_schema=False)
def board_page(request: Request) -> Response:
    return _staff_page(request, "board.html")


@router.get("/devices", include_in_schema=False)
def devices_page(request: Request) -> Response:
    return _staff_page(request, "devices.html")


@router.get("/orders", include_in_schema=False)
def orders_page(request: Request) -> Response:
    return _staff_page(request, "orders.html")


@router.websocket("/ws/board")
async def board_socket(websocket: WebSocket) -> None:
    staff = websocket_staff(websocket)
    if staff is None:
        await websocket.close(code=WS_CLOSE_POLICY, reason="log in first")
        return
    hub = websocket_hub(websocket)
    await websocket.accept()
    queue = hub.board.subscribe()

    def snapshot() -> dict[str, Any]:
        """Every domain's part of the board as it is now (calls, devices, orders, ...)."""
        message: dict[str, Any] = {}
        with hub.reads() as session:
            for domain in hub.domains:
                message.update(domain.snapshot(session))
        message.update(type="snapshot", staff=staff, store=hub.store, now=time.time())
        return message

    await forward_live(websocket, hub.board, queue, snapshot)


async def forward_live(
    websocket: WebSocket,
    live: LiveHub,
    queue: "asyncio.Queue[str | None]",
    snapshot: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """Send a subscribed client its snapshot (taken after subscribing, so nothing falls in
    between) and then every update, until either side goes; then unsubscribe and close."""
    try:
        if snapshot is not None:
            await websocket.send_json(snapshot())
        receiver = asyncio.create_task(drain_incoming(websocket, queue))
        try:
            while (text := await queue.get()) is not None:
                await websocket.send_text(text)
        finally:
            receiver.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        live.unsubscribe(queue)
        if websocket.client_state is WebSocketState.CONNECTED:
            await websocket.close()


async def drain_incoming(websocket: WebSocket, queue: "asyncio.Queue[str | None]") -> None:
    """The boards and diners' pages send nothing meaningful; reading notices a closed socket
    (a tab closed, the hub shutting down) and ends the sender, which would otherwise wait for
    the next update."""
    try:
        while True:
            await websocket.receive_text()
    except (WebSocketDisconnect, RuntimeError):
        pass
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(None)
