"""Dependencies shared by the hub's routes."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, status
from sqlalchemy.orm import Session

from edge.auth import COOKIE
from edge.runtime import HubRuntime


def get_runtime(request: Request) -> HubRuntime:
    runtime: HubRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[HubRuntime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.reads() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def staff_of(runtime: HubRuntime, cookie: str | None) -> str | None:
    name = runtime.signer.verify(cookie) if cookie else None
    return name if name in runtime.staff else None


def current_staff(request: Request, runtime: RuntimeDep) -> str:
    name = staff_of(runtime, request.cookies.get(COOKIE))
    if name is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first / 请先登录")
    return name


CurrentStaff = Annotated[str, Depends(current_staff)]


def websocket_staff(websocket: WebSocket) -> str | None:
    runtime: HubRuntime = websocket.app.state.runtime
    return staff_of(runtime, websocket.cookies.get(COOKIE))
