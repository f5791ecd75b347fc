"""Store-and-forward: the real hub's outbox into the real cloud on PostgreSQL."""

import time
from pathlib import Path

import httpx

from cloud.testing import CloudHandle, run_cloud_thread
from tests.support import Broker, hub_settings, run_hub_process, run_hub_thread, wait_until

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


def test_hub_killed_while_sending_loses_and_doubles_nothing(
    broker: Broker, cloud: CloudHandle, tmp_path: Path
) -> None:
    token = cloud.register(broker.store)
    settings = hub_settings(
        broker, tmp_path / "hub", cloud_url=cloud.base_url, cloud_token=token, cloud_batch_size=1
    )
    hub = run_hub_process(settings, tmp_path / "hub.log")
    with httpx.Client(base_url=hub.base_url, timeout=5) as c:
        c.post("/api/login", json=STAFF_LOGIN).raise_for_status()
        for n in range(1, 5):
            broker.press(f"btn-00{n}")
        wait_until(lambda: len(c.get("/api/calls").json()) == 4, what="4 calls")
    time.sleep(0.05)
    hub.kill()  # SIGKILL, most likely between a batch sent and its rows deleted
    hub = run_hub_process(settings, tmp_path / "hub.log")
    try:
        with httpx.Client(base_url=hub.base_url, timeout=5) as c:
            c.post("/api/login", json=STAFF_LOGIN).raise_for_status()
            wait_until(
                lambda: c.get("/api/stats").json()["outbox_backlog"] == 0,
                timeout=30,
                what="drained",
            )
        events = cloud_events(cloud, broker.store)
        assert sorted(str(e["type"]) for e in events) == ["call.opened"] * 4
        assert len({str(e["id"]) for e in events}) == 4
    finally:
        hub.kill()


def test_device_alarms_reach_hq(broker: Broker, cloud: CloudHandle, tmp_path: Path) -> None:
    from devices.printer import PrinterBridge
    from smartstore.wire.const import PaperLevel
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
