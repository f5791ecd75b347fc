"""Placing orders from the sample menu, as the orders domain does, in one call."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from contract.menu import MenuFile
from edge.orders import service as orders
from edge.orders.schemas import LineRequest
from edge.orders.service import Origin, Placed
from edge.printing.service import Routes
from tests.fast.helpers import NOW

TABLE_A1 = Origin(orders.SOURCE_TABLE, "A1", "A1")
TABLE_A2 = Origin(orders.SOURCE_TABLE, "A2", "A2")
KIOSK = Origin(orders.SOURCE_KIOSK, None, "", device_id="kiosk-01", member_code="M-42")


def line(dish: str, qty: int = 1, note: str = "", **options: str) -> LineRequest:
    return LineRequest(dish=dish, qty=qty, options=options, note=note)


def key(n: int) -> str:
    """An idempotency key as a phone makes one (16-64 of A-Za-z0-9_-)."""
    return f"key-{n:016d}"


def place(
    session: Session,
    menu: MenuFile,
    routes: Routes,
    lines: Sequence[LineRequest],
    *,
    idem: str = key(1),
    origin: Origin = TABLE_A1,
    note: str = "",
    sold_out: frozenset[str] = frozenset(),
    now: float = NOW,
) -> Placed:
    return orders.place_order(session, menu, sold_out, routes, origin, idem, lines, note, now)
