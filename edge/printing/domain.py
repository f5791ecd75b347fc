"""The printing domain: tickets persisted before they are sent, one spooler per printer,
reprints that say so, receipts."""

import logging
import time
from collections.abc import Sequence

from edge.core.domain import Domain, HubContext, Startable
from edge.menu.domain import MenuDomain
from edge.orders import service as orders
from edge.printing import service
from edge.printing.events import PrintJobsChanged
from edge.printing.spooler import PrinterWorker, Spooler
from edge.tables.models import DiningTable

log = logging.getLogger(__name__)


class PrintingDomain(Domain):
    name = "printing"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.routes = service.Routes.from_inventory(hub.inventory)
        with hub.sessions.begin() as session:
            recovered = service.recover_interrupted(session)
        if recovered:
            log.warning("%d tickets were being sent when the hub stopped: reprinting", recovered)
        menu = hub.get(MenuDomain)
        s = hub.settings
        self.spooler = Spooler(
            [
                PrinterWorker(
                    address,
                    hub.sessions,
                    lambda: menu.menu.menu,
                    s.store_name,
                    s.battery_low_pct,
                    hub.bus,
                    s.printer_status_every_s,
                    s.printer_status_timeout_s,
                    hub.store,
                )
                for address in self.routes.addresses.values()
            ]
        )

    def workers(self) -> Sequence[Startable]:
        return tuple(self.spooler.workers.values())

    def nudge(self, printer_ids: set[str] | None = None) -> None:
        self.spooler.nudge(printer_ids)

    def reprint(self, job_uid: str) -> dict[str, object]:
        with self.hub.sessions.begin() as session:
            job = service.reprint(session, job_uid, time.time())
            session.flush()
            public, order_id, printer = service.job_public(job), job.order_id, job.printer_id
        self.spooler.nudge({printer})
        if order_id is not None:
            self.hub.bus.publish(PrintJobsChanged([order_id]))
        return public

    def request_bill(self, table: DiningTable) -> bool:
        """Print the table's receipt; False when there is nothing on the bill yet."""
        with self.hub.sessions.begin() as session:
            rows = orders.table_orders(session, table.id, table.opened_at)
            job = service.queue_receipt(session, self.routes, table.id, rows, time.time())
            printer = job.printer_id if job is not None else None
        if printer is not None:
            self.spooler.nudge({printer})
        return printer is not None
