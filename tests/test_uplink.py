"""Store-and-forward: the real hub's outbox into the real cloud on PostgreSQL."""

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from smartstore.cloud_service import CloudHandle, run_cloud_thread
from tests.browser import log_in
from tests.faults import IngestGate, outbox_events
from tests.ordering import KUNGPAO, TEA, kitchen
from tests.support import (
    Broker,
    clock_off_by,
    hub_settings,
    run_hub_process,
    run_hub_thread,
    wait_until,
)

STAFF_LOGIN = {"name": "alice", "pin": "482913"}


def cloud_events(cloud: CloudHandle, store: str) -> list[dict[str, object]]:
    r = cloud.admin.get(f"/api/v1/stores/{store}/events", params={"limit": 1000})
    r.raise_for_status()
    events: list[dict[str, object]] = r.json()
    return events


def test_calls_reach_hq_once_after_the_cloud_was_away(
    broker: Broker, cloud: CloudHandle, tmp_path: Path
) -> None:
    token = cloud.register(broker.store)
    port = int(cloud.base_url.rsplit(":", 1)[1])
    cloud.stop()  # the internet goes down before the lunch rush
    hub = run_hub_thread(
        hub_settings(broker, tmp_path / "hub", cloud_url=cloud.base_url, cloud_token=token)
    )
    back: CloudHandle | None = None
    try:
        staff = hub.client()
        for device in ("btn-001", "btn-002", "btn-003"):
            broker.press(device)
        calls = wait_until(
            lambda: len(staff.get("/api/calls").json()) == 3 and staff.get("/api/calls").json(),
            what="3 calls",
        )
        staff.post(f"/api/calls/{calls[0]['id']}/ack").raise_for_status()
        stats = wait_until(
            lambda: (s := staff.get("/api/stats").json())["outbox_backlog"] == 4 and s,
            what="4 facts waiting",
        )
        assert stats["cloud_healthy"] is False and "unreachable" in stats["cloud_error"]

        back = run_cloud_thread(cloud.settings, port=port)  # the internet is back
        wait_until(
            lambda: staff.get("/api/stats").json()["outbox_backlog"] == 0,
            timeout=90,  # the sender's backoff may be at up to a minute
            what="the outbox to drain",
        )
        events = cloud_events(back, broker.store)
        ids = [e["id"] for e in events]
        assert len(ids) == len(set(ids)) == 4
        types = sorted(str(e["type"]) for e in events)
        assert types == ["call.answered", "call.opened", "call.opened", "call.opened"]
        answered = next(e for e in events if e["type"] == "call.answered")
        data = answered["data"]
        assert isinstance(data, dict) and data["acked_by"] == "alice" and data["response_s"] > 0
    finally:
        hub.stop()
        if back is not None:
            back.stop()


def test_a_refused_token_keeps_every_fact(
    broker: Broker, cloud: CloudHandle, tmp_path: Path
) -> None:
    cloud.register(broker.store)
    hub = run_hub_thread(
        hub_settings(
            broker, tmp_path / "hub", cloud_url=cloud.base_url, cloud_token="not-the-token"
        )
    )
    try:
        staff = hub.client()
        broker.press("btn-001")
        stats = wait_until(
            lambda: (
                (s := staff.get("/api/stats").json())["cloud_error"]
                and s["outbox_backlog"] == 1
                and s
            ),
            what="the refusal, with the press kept",
        )
        assert "refuses this store's token" in stats["cloud_error"]
        time.sleep(1.5)  # another attempt or two: still kept
        assert staff.get("/api/stats").json()["outbox_backlog"] == 1
        assert cloud_events(cloud, broker.store) == []
    finally:
        hub.stop()


@pytest.mark.parametrize("reached", [True, False], ids=["stored-answer-lost", "lost-on-the-way"])
def test_hub_killed_with_a_batch_in_flight_loses_and_doubles_nothing(
    broker: Broker, cloud: CloudHandle, tmp_path: Path, reached: bool
) -> None:
    """SIGKILL while the hub waits for HQ's answer to a batch: HQ has stored it (`reached`)
    or has not; either way, after a restart HQ has every event the hub made exactly once."""
    token = cloud.register(broker.store)
    with IngestGate(cloud.base_url) as gate:
        settings = hub_settings(
            broker, tmp_path / "hub", cloud_url=gate.base_url, cloud_token=token, cloud_batch_size=2
        )
        gate.hold_next(reach_cloud=reached)  # the hub's first batch with events hangs there
        hub = run_hub_process(settings, tmp_path / "hub.log")
        try:
            with httpx.Client(base_url=hub.base_url, timeout=5) as c:
                c.post("/api/login", json=STAFF_LOGIN).raise_for_status()
                for n in range(1, 5):
                    broker.press(f"btn-00{n}")
                flight = gate.wait_held()
                stats = wait_until(
                    lambda: (s := c.get("/api/stats").json())["outbox_backlog"] >= 4 and s,
                    what="4 calls' facts in the outbox, behind the batch in flight",
                )
            # The window: the hub's request is still open (its client gives up after 15 s).
            assert flight.open and not flight.answered
            assert time.monotonic() - flight.held_at < 10
            hub.kill()
        except BaseException:
            hub.kill()
            raise
        # The backlog at the kill, as the killed hub left it: everything it made (only the
        # sender deletes rows, and it was waiting), the batch in flight among it.
        made = outbox_events(settings.db_path)
        assert len(made) >= stats["outbox_backlog"] >= 4
        assert set(flight.event_ids) <= set(made)
        calls = [e["data"]["device"] for e in made.values() if e["type"] == "call.opened"]
        assert sorted(calls) == ["btn-001", "btn-002", "btn-003", "btn-004"]
        at_hq = {str(e["id"]) for e in cloud_events(cloud, broker.store)}
        if reached:  # HQ stored the batch; only its answer was lost
            assert flight.answer is not None
            assert flight.answer["stored"] == flight.event_ids
            assert at_hq == set(flight.event_ids)
        else:
            assert flight.answer is None and at_hq == set()
        gate.release()
        resent_from = len(gate.exchanges)

        hub = run_hub_process(settings, tmp_path / "hub.log")
        try:
            with httpx.Client(base_url=hub.base_url, timeout=5) as c:
                c.post("/api/login", json=STAFF_LOGIN).raise_for_status()
                wait_until(
                    lambda: c.get("/api/stats").json()["outbox_backlog"] == 0,
                    timeout=30,
                    what="drained",
                )
        finally:
            hub.kill()
        answers = [x.answer for x in gate.exchanges[resent_from:] if x.answer is not None]
    ids = [str(e["id"]) for e in cloud_events(cloud, broker.store)]
    assert len(ids) == len(set(ids))  # nothing doubled
    assert set(ids) == set(made)  # nothing lost, nothing made up
    # The resend was answered as "already there" for exactly the batch HQ had stored.
    duplicates = sorted(i for a in answers for i in a["duplicates"])
    assert duplicates == (sorted(flight.event_ids) if reached else [])


def test_device_alarms_reach_hq(broker: Broker, cloud: CloudHandle, tmp_path: Path) -> None:
    from contract.const import PaperLevel
    from devices.printer import PrinterBridge
    from tests.support import on_loop, running_fleet

    token = cloud.register(broker.store)
    hub = run_hub_thread(
        hub_settings(broker, tmp_path / "hub", cloud_url=cloud.base_url, cloud_token=token)
    )
    try:
        staff = hub.client()
        with running_fleet(broker) as fleet:
            printer = fleet.devices["printer-01"]
            assert isinstance(printer, PrinterBridge)
            wait_until(lambda: staff.get("/api/alarms").json() == [], what="a quiet start")
            on_loop(fleet, lambda: printer.set_printer(paper=PaperLevel.OUT))
            wait_until(lambda: staff.get("/api/alarms").json(), what="paper out")
            on_loop(fleet, lambda: printer.set_printer(paper=PaperLevel.OK))
            wait_until(lambda: staff.get("/api/alarms").json() == [], what="refilled")
        wait_until(lambda: staff.get("/api/stats").json()["outbox_backlog"] == 0, what="sent")
        alarms = [e for e in cloud_events(cloud, broker.store) if e["type"] == "device.alarm"]
        # (Switching the fleet off at the end raised "offline" alarms too: real ones.)
        paper = [
            (d["kind"], d["active"])
            for e in alarms
            if isinstance(d := e["data"], dict) and d["device"] == "printer-01"
            if d["kind"] == "paper_out"
        ]
        assert sorted(paper) == [("paper_out", False), ("paper_out", True)]
    finally:
        hub.stop()


def test_orders_keep_coming_while_the_cloud_is_away_and_reach_hq_once(
    cloud: CloudHandle, tmp_path: Path, store: str
) -> None:
    """The internet drops in the lunch rush: diners and a kiosk keep ordering, staff void,
    finish and take a payment; when it is back every fact reaches HQ exactly once."""
    token = cloud.register(store)
    port = int(cloud.base_url.rsplit(":", 1)[1])
    cloud.stop()
    back: CloudHandle | None = None
    hub_kw = {"cloud_url": cloud.base_url, "cloud_token": token}
    # A rush from a few tables, faster than the per-table limit lets one phone order.
    with kitchen(tmp_path, store, orders_per_table_per_minute=1000, **hub_kw) as k:
        try:
            tables = [t["id"] for t in k.staff.get("/api/tables").json()["tables"]]
            paying, rush_tables = tables[0], tables[1:]
            tokens = [k.token(t) for t in rush_tables]
            first = k.order(k.token(paying), [KUNGPAO, TEA], "pay-" + secrets.token_hex(6))
            assert first.status_code == 201, first.text
            placed: list[str] = [first.json()["id"]]
            errors: list[str] = []
            stop = threading.Event()

            def rush() -> None:
                n = 0
                while not stop.is_set():
                    lines = [KUNGPAO, TEA] if n % 2 else [TEA]
                    r = k.order(tokens[n % len(tokens)], lines, f"rush-{n}-{secrets.token_hex(8)}")
                    if r.status_code == 201:
                        placed.append(r.json()["id"])
                    else:
                        errors.append(r.text)
                    n += 1
                    stop.wait(0.1)

            diners = threading.Thread(target=rush, daemon=True)
            diners.start()
            kiosk_event = f"kiosk-01-{secrets.token_hex(4)}-1"
            kiosk_order = {"v": 1, "id": kiosk_event, "type": "order", "lines": [TEA]}
            k.broker.pub("kiosk-01", f"store/{store}/kiosk/kiosk-01/event", json.dumps(kiosk_order))
            wait_until(lambda: len(placed) >= 30, what="30 orders with HQ away")

            open_orders = {o["id"]: o for o in k.staff.get("/api/orders").json()["orders"]}
            kiosk_uid = wait_until(
                lambda: next(
                    (
                        o["id"]
                        for o in k.staff.get("/api/orders").json()["orders"]
                        if o["source"] == "kiosk"
                    ),
                    None,
                ),
                what="the kiosk's order",
            )
            voided_line = open_orders[placed[0]]["lines"][1]["id"]
            k.staff.post(f"/api/orders/{placed[0]}/lines/{voided_line}/void").raise_for_status()
            k.staff.post(f"/api/orders/{placed[1]}/done").raise_for_status()
            paid = k.staff.post(f"/api/tables/{paying}/pay", json={"method": "wechat"})
            assert paid.status_code == 200, paid.text
            stats = k.staff.get("/api/stats").json()
            assert stats["cloud_healthy"] is False and stats["outbox_backlog"] >= 10

            waiting = len(placed)
            back = run_cloud_thread(cloud.settings, port=port)  # the internet is back
            hq = back

            def hq_orders() -> list[dict[str, object]]:
                return [e for e in cloud_events(hq, store) if e["type"] == "order.placed"]

            # Diners keep ordering until HQ has some orders made after the return too.
            wait_until(
                lambda: len(hq_orders()) >= waiting + 5 + 1,  # + the kiosk's order
                timeout=90,  # the sender's backoff may be at up to a minute
                what="orders to reach HQ while the rush goes on",
            )
            stop.set()
            diners.join(5)
            assert errors == []
            placed.append(kiosk_uid)
            wait_until(
                lambda: all(o["printed"] for o in k.staff.get("/api/orders").json()["orders"]),
                what="the last orders' tickets",
            )
            wait_until(
                lambda: k.staff.get("/api/stats").json()["outbox_backlog"] == 0,
                timeout=30,
                what="the outbox to drain",
            )
            kitchen_tickets = {station: len(p.jobs) for station, p in k.printers.items()}
            events = cloud_events(back, store)
        finally:
            stop.set()
            if back is not None:
                back.stop()

    ids = [str(e["id"]) for e in events]
    assert len(ids) == len(set(ids))  # nothing doubled
    facts: dict[str, list[Any]] = {}  # type -> each event's data
    for e in events:
        facts.setdefault(str(e["type"]), []).append(e["data"])
    assert sorted(d["order"] for d in facts["order.placed"]) == sorted(placed)  # nothing lost
    # One ticket.printed per kitchen ticket (the void ticket is not a kitchen ticket).
    assert len(facts["ticket.printed"]) == sum(kitchen_tickets.values()) - 1
    assert {d["order"] for d in facts["ticket.printed"]} <= set(placed)
    assert facts["order.line_voided"] == [
        {"order": placed[0], "dish": "tea", "qty": 1, "unit_price_fen": 1200, "by": "alice"}
    ]
    assert [d["order"] for d in facts["order.done"]] == [placed[1]]
    [payment] = facts["payment.recorded"]
    assert payment["orders"] == [placed[0]] and payment["amount_fen"] == 2 * 3800


@pytest.mark.browser
def test_a_hub_whose_clock_is_off_keeps_its_times_and_is_flagged(
    broker: Broker, cloud: CloudHandle, tmp_path: Path, browser: Browser
) -> None:
    """A Pi back from a power cut with its clock two hours ahead: nothing is refused or lost,
    HQ keeps the store's own times, and both the hub's board and HQ's fleet view say so."""
    token = cloud.register(broker.store)
    settings = hub_settings(broker, tmp_path / "hub", cloud_url=cloud.base_url, cloud_token=token)
    hub = run_hub_process(settings, tmp_path / "hub.log", clock_off_by("+2h"))
    try:
        with httpx.Client(base_url=hub.base_url, timeout=5) as c:
            c.post("/api/login", json=STAFF_LOGIN).raise_for_status()
            pressed = time.time()
            broker.press("btn-001")
            wait_until(lambda: len(c.get("/api/calls").json()) == 1, what="the call")
            stats = wait_until(
                lambda: (
                    (s := c.get("/api/stats").json())["outbox_backlog"] == 0
                    and s["clock_offset_s"] is not None
                    and s
                ),
                timeout=30,
                what="sent, with HQ's clock compared",
            )
        assert stats["clock_ok"] is False and abs(stats["clock_offset_s"] - 7200) < 60
        [opened] = cloud_events(cloud, broker.store)
        assert opened["type"] == "call.opened"
        # The store's own time is kept (HQ's receipt time is beside it), not rewritten.
        assert abs(float(opened["occurred_at"]) - (pressed + 7200)) < 60  # type: ignore[arg-type]
        assert abs(float(opened["received_at"]) - pressed) < 60  # type: ignore[arg-type]
        [store] = cloud.hq().get("/api/v1/hq/fleet").json()["stores"]
        assert store["clock_ok"] is False and abs(store["clock_offset_s"] - 7200) < 60
        page = browser.new_page()
        try:
            log_in(page, hub.base_url)
            expect(page.locator("#uplink")).to_contain_text("Hub clock 120 min ahead")
            expect(page.locator("#uplink")).to_contain_text("集线器时间快了 120 分钟")
        finally:
            page.close()
    finally:
        hub.kill()
