"""The orders domain: what diners and kiosks order, priced by the hub from its menu, made one
order per idempotency key, its kitchen tickets queued in the same transaction."""

import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from edge.core.domain import Domain, HubContext
from edge.menu.domain import MenuDomain
from edge.orders import errors
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.events import OrderReady
from edge.orders.models import Order
from edge.orders.schemas import LineRequest, order_public
from edge.orders.service import Origin
from edge.printing import service as printing
from edge.printing.domain import PrintingDomain
from edge.printing.events import PrintJobsChanged
from edge.printing.models import PrintJob
from edge.tables import service as tables
from edge.uplink.events import FactsCommitted

STAFF_ONLY = frozenset({"print", "member"})


def staff_order(order: Order, jobs: list[PrintJob]) -> dict[str, Any]:
    data = order_public(order, printing.all_kitchen_sent(jobs))
    data["print"] = [printing.job_public(j) for j in jobs]
    data["member"] = order.member_code  # staff only: a diner's page never shows it
    return data


def diner_view(public: dict[str, Any]) -> dict[str, Any]:
    """What the diner's phone gets of an order: no print jobs, no member code."""
    return {k: v for k, v in public.items() if k not in STAFF_ONLY}


def order_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrderError)
    return JSONResponse({"detail": exc.detail()}, status_code=exc.status)


class OrdersDomain(Domain):
    name = "orders"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.menu = hub.get(MenuDomain)
        self.printing = hub.get(PrintingDomain)
        hub.bus.subscribe(PrintJobsChanged, lambda e: self.orders_changed(e.order_ids))

    @classmethod
    def router(cls) -> APIRouter:
        from edge.orders.routes import router

        return router

    @classmethod
    def exception_handlers(cls) -> dict[type[Exception], Callable[..., Any]]:
        return {OrderError: order_error}

    def snapshot(self, session: Session) -> dict[str, Any]:
        return {"orders": self.open_orders(session)}

    def place(
        self, origin: Origin, key: str, lines: Sequence[LineRequest], note: str
    ) -> tuple[dict[str, Any], bool]:
        """The order as staff see it, and whether it is new."""
        state = self.menu.menu
        self.menu.check_open(time.time())
        with self.hub.sessions.begin() as session:
            if origin.table_id is not None:
                table = tables.get(session, origin.table_id)
                if not table.is_open:
                    raise errors.table_closed(table.name)
            placed = orders.place_order(
                session,
                state.menu,
                state.sold_out,
                self.printing.routes,
                origin,
                key,
                lines,
                note,
                time.time(),
            )
            order = placed.order
            jobs = printing.jobs_for_orders(session, [order.id])[order.id]
            public = staff_order(order, jobs)
        if placed.created:
            self.printing.nudge({j.printer_id for j in jobs})
            self._announce(order, public)
        return public, placed.created

    def _announce(self, order: Order, public: dict[str, Any]) -> None:
        self.hub.bus.publish(FactsCommitted())
        self.hub.board.publish({"type": "orders", "orders": [public]})
        if order.table_id is not None:
            diner = diner_view(public)
            self.hub.diners.publish({"type": "order", "order": diner}, key=order.table_id)

    def orders_changed(self, order_ids: list[int]) -> None:
        with self.hub.sessions() as session:
            rows = [o for i in order_ids if (o := session.get(Order, i)) is not None]
            jobs = printing.jobs_for_orders(session, order_ids)
            for order in rows:
                self._announce(order, staff_order(order, jobs[order.id]))

    def void_line(self, uid: str, line_id: int, staff: str) -> dict[str, Any]:
        with self.hub.sessions.begin() as session:
            order = orders.void_line(
                session, self.printing.routes, uid, line_id, staff, time.time()
            )
            order_id = order.id
        self.printing.nudge()
        self.orders_changed([order_id])
        return self.staff_view(order_id)

    def mark_done(self, uid: str) -> dict[str, Any]:
        with self.hub.sessions.begin() as session:
            order_id = orders.mark_done(session, uid, time.time()).id
        self.orders_changed([order_id])
        self.hub.bus.publish(OrderReady(order_id))
        return self.staff_view(order_id)

    def staff_view(self, order_id: int) -> dict[str, Any]:
        with self.hub.sessions() as session:
            order = session.get(Order, order_id)
            assert order is not None
            return staff_order(order, printing.jobs_for_orders(session, [order_id])[order_id])

    def open_orders(self, session: Session) -> list[dict[str, Any]]:
        rows = orders.open_orders(session)
        jobs = printing.jobs_for_orders(session, [o.id for o in rows])
        return [staff_order(o, jobs[o.id]) for o in rows]
