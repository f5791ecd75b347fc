"""The staff board's pages and its live WebSocket."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Any, cast

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.websockets import WebSocketState

from edge.api.deps import staff_of, websocket_staff
from edge.auth import COOKIE
from edge.calls import service as calls
from edge.devices import service as devices
from edge.devices.alarms import LABELS
from edge.live import LiveHub
from edge.runtime import HubRuntime, calls_message, devices_message
from smartstore.wire.const import COMMANDS

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
    runtime = cast(HubRuntime, request.app.state.runtime)
    if staff_of(runtime, request.cookies.get(COOKIE)) is None:
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
    runtime = cast(HubRuntime, websocket.app.state.runtime)
    await websocket.accept()
    queue = runtime.live.subscribe()

    def snapshot() -> dict[str, Any]:
        with runtime.sessions() as session:
            message = calls_message(calls.open_calls(session))
            message["devices"] = devices_message(devices.devices_with_alarms(session))["devices"]
            message["orders"] = runtime.desk.open_orders(session)
        menu = runtime.desk.menu_state
        message["sold_out"] = sorted(menu.sold_out) if menu is not None else []
        message.update(
            type="snapshot",
            staff=staff,
            urgent_after_s=runtime.settings.call_urgent_after_s,
            store=runtime.settings.store_id,
            alarm_labels={kind.value: label for kind, label in LABELS.items()},
            commands={t.value: sorted(c.value for c in names) for t, names in COMMANDS.items()},
            now=time.time(),
        )
        return message

    await forward_live(websocket, runtime.live, queue, snapshot)


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
