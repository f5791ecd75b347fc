"""The menu for staff: what it is, and sold-out marks that reach diners at once; the dish
pictures every phone loads."""

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import FileResponse

from edge.api.deps import CurrentStaff, HubDep, domain_of
from edge.api.errors import STAFF, errors
from edge.menu.domain import MenuDomain, SoldOutChanged
from edge.menu.schemas import menu_public
from edge.menu.service import UnknownDish
from edge.orders.schemas import SoldOutRequest

router = APIRouter(tags=["menu"])

Menu = Annotated[MenuDomain, Depends(domain_of(MenuDomain))]

MEDIA_DIR = "media"  # beside the menu file
# Pictures change only with a new menu; phones on a busy Wi-Fi keep them for a day.
MEDIA_CACHE = "public, max-age=86400"


@router.get("/api/menu", responses=errors(STAFF, 503))
def staff_menu(hub: HubDep, menu: Menu, _staff: CurrentStaff) -> dict[str, Any]:
    state = menu.menu
    return {"store": hub.store, **menu_public(state.menu, state.sold_out)}


@router.post("/api/menu/dishes/{dish}/sold-out", responses=errors(STAFF, 400, 404, 422, 503))
def set_sold_out(
    dish: str, body: SoldOutRequest, hub: HubDep, menu: Menu, staff: CurrentStaff
) -> dict[str, Any]:
    state = menu.menu
    try:
        with hub.sessions.begin() as session:
            mark = state.set_sold_out(session, dish, body.sold_out, staff, time.time())
    except UnknownDish:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这道菜 / no such dish") from None
    sold_out = state.commit(mark)
    hub.bus.publish(SoldOutChanged(sold_out))
    message = {"type": "menu", "sold_out": sorted(sold_out)}
    hub.board.publish(message)
    hub.diners.publish(message)
    return {"dish": dish, "sold_out": body.sold_out}


@router.get("/media/{name}", include_in_schema=False)
def media(name: str, hub: HubDep) -> FileResponse:
    folder = (hub.settings.menu_file.parent / MEDIA_DIR).resolve()
    path = (folder / name).resolve()
    # No way out of the media folder ("..", absolute names, links elsewhere).
    if path.parent != folder or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such picture")
    return FileResponse(Path(path), headers={"Cache-Control": MEDIA_CACHE})
