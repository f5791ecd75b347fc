"""Print jobs (edge/printing/service.py): queued with their order, claimed before the first byte
leaves, settled by the spooler; a job that may have printed goes again marked REPRINT; HQ hears
of each kitchen ticket's first print (docs/wire-contract.md, `ticket.printed`)."""

import pytest
from sqlalchemy import select

from contract.inventory import Inventory
from contract.menu import MenuFile
from edge.orders import service as orders
from edge.printing import service as printing
from edge.printing.models import PrintJob
from edge.printing.service import Routes
from tests.fast.edge.orders.placing import line, place
from tests.fast.helpers import NOW, StoreDb, outbox, outbox_types


def _order(db: StoreDb, menu: MenuFile, routes: Routes) -> tuple[str, dict[str, int]]:
    """kungpao (hot), tea and beer (bar) at A1: its uid and its jobs' ids by station."""
    lines = [line("kungpao", spice="mild"), line("tea", temp="iced"), line("beer")]
    with db.sessions.begin() as s:
        order = place(s, menu, routes, lines).order
        jobs = printing.jobs_for_orders(s, [order.id])[order.id]
        return order.uid, {j.station: j.id for j in jobs}


def _job(db: StoreDb, job_id: int) -> tuple[str, bool, int, str | None, float | None]:
    with db.reads() as s:
        job = s.get(PrintJob, job_id)
        assert job is not None
        return job.status, job.reprint, job.attempts, job.last_error, job.sent_at


def _send(db: StoreDb, job_id: int, at: float) -> None:
    """As the spooler does: claim (committed before any byte leaves), then settle."""
    with db.sessions.begin() as s:
        assert printing.claim(s, job_id) is not None
    with db.sessions.begin() as s:
        printing.settle_sent(s, job_id, at)


def _fail(db: StoreDb, job_id: int, error: str, maybe_printed: bool) -> None:
    with db.sessions.begin() as s:
        assert printing.claim(s, job_id) is not None
    with db.sessions.begin() as s:
        printing.settle_failed(s, job_id, error, maybe_printed)


def test_each_station_has_its_printer(inventory: Inventory, routes: Routes) -> None:
    assert routes.by_station == {"hot": "printer-01", "cold": "printer-02", "bar": "printer-03"}
    assert routes.printer_for("dessert") == ""  # no printer: the job waits, visibly
    # No cashier station in this store: receipts go to the first printer.
    assert routes.receipt_printer == "printer-01"
    assert (routes.addresses["printer-03"].host, routes.addresses["printer-03"].port) == (
        "127.0.0.1",
        9103,
    )


def test_a_kitchen_ticket_s_first_print_tells_hq_its_latency(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    uid, jobs = _order(db, menu, routes)
    with db.reads() as s:
        # The bar printer's queue: tea and beer on one ticket; nothing for the cold station.
        bar_next = printing.next_job(s, "printer-03")
        assert bar_next is not None and bar_next.id == jobs["bar"]
        assert len(bar_next.line_ids) == 2
        assert printing.next_job(s, "printer-02") is None
    _send(db, jobs["bar"], NOW + 2.5)
    assert _job(db, jobs["bar"]) == ("sent", False, 1, None, NOW + 2.5)
    with db.reads() as s:
        assert printing.next_job(s, "printer-03") is None
        fact = outbox(s)[-1]
        bar = s.get(PrintJob, jobs["bar"])
        assert bar is not None
        assert (fact.id, fact.type) == (f"tp-{bar.uid}", "ticket.printed")
        assert fact.data == {
            "order": uid,
            "station": "bar",
            "printer": "printer-03",
            "ordered_at": NOW,
            "printed_at": NOW + 2.5,
            "latency_s": 2.5,
        }


def test_a_claimed_job_is_not_claimed_again(db: StoreDb, menu: MenuFile, routes: Routes) -> None:
    _, jobs = _order(db, menu, routes)
    with db.sessions.begin() as s:
        assert printing.claim(s, jobs["hot"]) is not None
        assert printing.claim(s, jobs["hot"]) is None
        assert printing.claim(s, 404) is None
    assert _job(db, jobs["hot"]) == ("sending", False, 1, None, None)


def test_an_unreachable_printer_tries_again_without_reprint(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    _, jobs = _order(db, menu, routes)
    _fail(db, jobs["hot"], "unreachable: connection refused", maybe_printed=False)
    assert _job(db, jobs["hot"]) == ("pending", False, 1, "unreachable: connection refused", None)
    _send(db, jobs["hot"], NOW + 40)
    assert _job(db, jobs["hot"]) == ("sent", False, 2, None, NOW + 40)
    with db.reads() as s:
        [fact] = [f for f in outbox(s) if f.type == "ticket.printed"]
        assert fact.data["latency_s"] == 40.0  # what the kitchen waited, retries included


def test_a_job_caught_mid_send_goes_again_marked_reprint(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    _, jobs = _order(db, menu, routes)
    with db.sessions.begin() as s:
        printing.claim(s, jobs["hot"])  # then the hub lost power
    with db.sessions.begin() as s:
        assert printing.recover_interrupted(s) == 1
    assert _job(db, jobs["hot"]) == ("pending", True, 1, "interrupted while sending", None)
    assert _job(db, jobs["bar"]) == ("pending", False, 0, None, None)  # never claimed: as it was
    with db.sessions.begin() as s:
        assert printing.recover_interrupted(s) == 0


def test_a_reprint_staff_ask_for_is_a_new_job_hq_does_not_count(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    _, jobs = _order(db, menu, routes)
    _send(db, jobs["hot"], NOW + 3)
    with db.reads() as s:
        original = s.get(PrintJob, jobs["hot"])
        assert original is not None
        original_uid = original.uid
    with db.sessions.begin() as s:
        again = printing.reprint(s, original_uid, NOW + 60)
        s.flush()
        again_id = again.id
        assert (again.kind, again.station, again.printer_id, again.line_ids) == (
            "kitchen",
            "hot",
            "printer-01",
            original.line_ids,
        )
        assert (again.reprint, again.reprint_of) == (True, jobs["hot"])
    _send(db, again_id, NOW + 61)
    with db.reads() as s:
        assert outbox_types(s).count("ticket.printed") == 1
    with db.sessions.begin() as s, pytest.raises(printing.JobNotFound):
        printing.reprint(s, "no-such-job", NOW)


def test_a_receipt_lists_what_is_still_on_the_bill(
    db: StoreDb, menu: MenuFile, routes: Routes
) -> None:
    uid, _ = _order(db, menu, routes)
    with db.sessions.begin() as s:
        order = orders.by_uid(s, uid)
        kungpao, tea, beer = (x.id for x in order.lines)
        orders.void_line(s, routes, uid, tea, "alice", NOW + 5)
    with db.sessions.begin() as s:
        receipt = printing.queue_receipt(s, routes, "A1", [orders.by_uid(s, uid)], NOW + 9)
        assert receipt is not None
        assert (receipt.kind, receipt.station, receipt.printer_id, receipt.line_ids) == (
            "receipt",
            "cashier",
            "printer-01",
            [kungpao, beer],
        )
        assert printing.queue_receipt(s, routes, "A2", [], NOW + 9) is None
    with db.reads() as s:
        kinds = [j.kind for j in s.scalars(select(PrintJob).order_by(PrintJob.id))]
        assert kinds == ["kitchen", "kitchen", "void", "receipt"]


@pytest.mark.parametrize("how", ["power-cut", "broken-connection"])
def test_hq_hears_of_a_ticket_that_printed_after_a_troubled_first_send(
    db: StoreDb, menu: MenuFile, routes: Routes, how: str
) -> None:
    _, jobs = _order(db, menu, routes)
    hot = jobs["hot"]
    if how == "power-cut":
        with db.sessions.begin() as s:
            printing.claim(s, hot)
        with db.sessions.begin() as s:
            printing.recover_interrupted(s)
    else:
        _fail(db, hot, "interrupted: connection reset", maybe_printed=True)
    _send(db, hot, NOW + 30)
    assert _job(db, hot)[:3] == ("sent", True, 2)  # printed, marked REPRINT on paper
    with db.reads() as s:
        printed = [f for f in outbox(s) if f.type == "ticket.printed"]
        assert [(f.data["station"], f.data["latency_s"]) for f in printed] == [("hot", 30.0)]
