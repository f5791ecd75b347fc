"""What a diner's phone loads: the page behind the table's QR code, its live socket, pictures."""

import html
from pathlib import Path
from typing import cast

from fastapi import APIRouter, HTTPException, Request, WebSocket, status
from fastapi.responses import FileResponse, HTMLResponse

from edge.api.board_routes import PAGE_HEADERS, STATIC, WS_CLOSE_POLICY, forward_live
from edge.orders.errors import OrderError
from edge.runtime import HubRuntime

router = APIRouter(tags=["diner"])

MEDIA_DIR = "media"  # beside the menu file
# Pictures change only with a new menu; phones on a busy Wi-Fi keep them for a day.
MEDIA_CACHE = "public, max-age=86400"


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
def diner_page(token: str, request: Request) -> HTMLResponse:
    runtime = cast(HubRuntime, request.app.state.runtime)
    try:
        with runtime.reads() as session:
            runtime.desk.table_for(session, token)
    except OrderError:
        return _bad_code_page()
    return HTMLResponse((STATIC / "diner.html").read_text(encoding="utf-8"), headers=PAGE_HEADERS)


@router.get("/media/{name}", include_in_schema=False)
def media(name: str, request: Request) -> FileResponse:
    runtime = cast(HubRuntime, request.app.state.runtime)
    folder = (runtime.settings.menu_file.parent / MEDIA_DIR).resolve()
    path = (folder / name).resolve()
    # No way out of the media folder ("..", absolute names, links elsewhere).
    if path.parent != folder or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such picture")
    return FileResponse(Path(path), headers={"Cache-Control": MEDIA_CACHE})


@router.websocket("/ws/diner/{token}")
async def diner_socket(websocket: WebSocket, token: str) -> None:
    runtime = cast(HubRuntime, websocket.app.state.runtime)
    try:
        with runtime.reads() as session:
            table_id = runtime.desk.table_for(session, token).id
    except OrderError:
        await websocket.close(code=WS_CLOSE_POLICY, reason="bad token")
        return
    await websocket.accept()
    queue = runtime.diners.subscribe(table_id)
    await forward_live(websocket, runtime.diners, queue)
