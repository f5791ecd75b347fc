"""Dependencies shared by the hub's routes."""

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, WebSocket, status
from fastapi.security import APIKeyCookie
from sqlalchemy.orm import Session

from edge.auth import COOKIE
from edge.core.domain import Domain, HubContext

D = TypeVar("D", bound=Domain)


def get_hub(request: Request) -> HubContext:
    hub: HubContext = request.app.state.hub
    return hub


HubDep = Annotated[HubContext, Depends(get_hub)]


def domain_of(kind: type[D]) -> Callable[[Request], D]:
    """A dependency giving a route its domain: `Annotated[X, Depends(domain_of(X))]`."""

    def get(request: Request) -> D:
        return get_hub(request).get(kind)

    return get


def get_session(hub: HubDep) -> Iterator[Session]:
    with hub.reads() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def staff_of(hub: HubContext, cookie: str | None) -> str | None:
    name = hub.signer.verify(cookie) if cookie else None
    return name if name in hub.staff else None


# The staff session cookie, named in the OpenAPI document as the security scheme of every
# staff operation (a client generated from it knows which take a login, and how).
StaffSession = APIKeyCookie(
    name=COOKIE,
    scheme_name="StaffSession",
    description="The cookie POST /api/login sets (a staff member's name and PIN)",
    auto_error=False,
)


def current_staff(hub: HubDep, cookie: Annotated[str | None, Depends(StaffSession)]) -> str:
    name = staff_of(hub, cookie)
    if name is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first / 请先登录")
    return name


CurrentStaff = Annotated[str, Depends(current_staff)]


def current_manager(hub: HubDep, staff: CurrentStaff) -> str:
    if staff not in hub.settings.managers:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "只有店长可以这样做 / only a manager may do this"
        )
    return staff


CurrentManager = Annotated[str, Depends(current_manager)]


def websocket_hub(websocket: WebSocket) -> HubContext:
    hub: HubContext = websocket.app.state.hub
    return hub


def websocket_staff(websocket: WebSocket) -> str | None:
    return staff_of(websocket_hub(websocket), websocket.cookies.get(COOKIE))
