"""The menu for staff: what it is, and sold-out marks that reach diners at once."""

import time
from typing import Any

from fastapi import APIRouter, HTTPException, status

from edge.api.deps import CurrentStaff, RuntimeDep
from edge.menu.schemas import menu_public
from edge.menu.service import UnknownDish
from edge.orders.schemas import SoldOutRequest

router = APIRouter(tags=["menu"])


@router.get("/api/menu")
def staff_menu(runtime: RuntimeDep, _staff: CurrentStaff) -> dict[str, Any]:
    state = runtime.desk.menu
    return {"store": runtime.settings.store_id, **menu_public(state.menu, state.sold_out)}


@router.post("/api/menu/dishes/{dish}/sold-out")
def set_sold_out(
    dish: str, body: SoldOutRequest, runtime: RuntimeDep, staff: CurrentStaff
) -> dict[str, Any]:
    state = runtime.desk.menu
    try:
        with runtime.sessions.begin() as session:
            sold_out = state.set_sold_out(session, dish, body.sold_out, staff, time.time())
    except UnknownDish:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这道菜 / no such dish") from None
    state.commit(sold_out)
    message = {"type": "menu", "sold_out": sorted(sold_out)}
    runtime.live.publish(message)
    runtime.diners.publish(message)
    return {"dish": dish, "sold_out": body.sold_out}
