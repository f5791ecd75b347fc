"""Dependencies shared by the hub's routes."""

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, WebSocket, status
from fastapi.security import APIKeyCookie
from sqlalchemy.orm import Session

from edge.auth import COOKIE, Role, role_of
from edge.core.domain import Domain, HubContext

D = TypeVar("D", bound=Domain)


def get_hub(request: Request) -> HubContext:
    hub: HubContext = request.app.state.hub
    return hub


async def _hub(request: Request) -> HubContext:
    # Async (it only reads an attribute): a plain function dependency would cost every
    # request a trip through the worker threads.
    return get_hub(request)


HubDep = Annotated[HubContext, Depends(_hub)]


def domain_of(kind: type[D]) -> Callable[[Request], Coroutine[Any, Any, D]]:
    """A dependency giving a route its domain: `Annotated[X, Depends(domain_of(X))]`.
    Async for the same reason as the hub's."""

    async def get(request: Request) -> D:
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
    """The logged-in staff member, if a manager: what changes money or the store after the fact
    (voids, refunds, points, QR codes, devices, campaigns; docs/hub.md "Staff roles")."""
    if role_of(hub.settings.managers, staff) != Role.MANAGER:
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
