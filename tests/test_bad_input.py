"""Bad input over the real broker: counted with its reason, never a call, never a crash."""

import json
from pathlib import Path

import httpx

from contract import Channel
from contract.inventory import Inventory
from tests.support import (
    Broker,
    Hub,
    hub_settings,
    press_of_size,
    run_hub_thread,
    until_marker,
    wait_until,
)


def stats(client: httpx.Client) -> dict[str, int]:
    rejected: dict[str, int] = client.get("/api/stats").json()["rejected"]
    return rejected


def test_bad_payloads_are_counted_by_reason_and_never_become_calls(
    broker: Broker, hub: Hub
) -> None:
    staff = hub.client()
    topic = broker.topic("btn-001")
    with broker.sub("btn-001", broker.topic("btn-001", Channel.ACK)) as acks:
        broker.pub("btn-001", topic, "{not json")
        broker.pub("btn-001", topic, json.dumps({"v": 9, "id": "btn-001-x-1"}))
        broker.pub("btn-001", topic, json.dumps({"v": 1, "id": "no"}))
        broker.pub("btn-001", topic, press_of_size(4097, "btn-001-x-2"))
        # The payload claims to come from another table than the topic's device.
        broker.pub("btn-001", topic, json.dumps({"v": 1, "id": "btn-001-x-3", "device": "btn-002"}))
        expected = {
            "bad_json": 1,
            "bad_schema_version": 1,
            "invalid_payload": 1,
            "too_large": 1,
            "device_mismatch": 1,
        }
        wait_until(lambda: stats(staff) == expected, what=f"rejections {expected}")
        assert staff.get("/api/calls").json() == []
        # The hub is still healthy and takes the next good press; its ack comes after the
        # answers to all the bad ones.
        good = broker.press("btn-001")
        answered = until_marker(acks, lambda a: json.loads(a)["id"] == good, "the good ack")
    # Refused events whose id the hub can read are answered "rejected", so the device stops
    # resending them; the others (no readable id, too large to read) get no answer.
    assert [json.loads(a) for a in answered] == [
        {"v": 1, "id": "btn-001-x-1", "status": "rejected", "error": "bad_schema_version"},
        {"v": 1, "id": "btn-001-x-3", "status": "rejected", "error": "device_mismatch"},
        {"v": 1, "id": good, "status": "ok"},
    ]
    calls = wait_until(lambda: staff.get("/api/calls").json(), what="a good press after the bad")
    assert [(c["device"], c["presses"]) for c in calls] == [("btn-001", 1)]


def test_a_press_of_4096_bytes_is_a_call_and_one_of_4097_is_refused(
    broker: Broker, hub: Hub
) -> None:
    """docs/wire-contract.md §4: at most 4096 bytes, exactly 4096 accepted; a larger payload
    is counted as too_large and not answered (the hub does not read it)."""
    staff = hub.client()
    topic = broker.topic("btn-001")
    with broker.sub("btn-001", broker.topic("btn-001", Channel.ACK)) as acks:
        broker.pub("btn-001", topic, press_of_size(4097, "btn-001-big-4097"))
        # Published after the refused one: once it is answered, the refused one was handled.
        broker.pub("btn-001", topic, press_of_size(4096, "btn-001-big-4096"))
        answered = until_marker(
            acks, lambda a: json.loads(a)["id"] == "btn-001-big-4096", "the 4096-byte press's ack"
        )
    assert [json.loads(a) for a in answered] == [{"v": 1, "id": "btn-001-big-4096", "status": "ok"}]
    assert stats(staff) == {"too_large": 1}
    calls = staff.get("/api/calls").json()
    assert [(c["device"], c["presses"]) for c in calls] == [("btn-001", 1)]


def test_a_device_cannot_press_for_another_table(broker: Broker, hub: Hub) -> None:
    """The broker's ACL (generated from the inventory) drops it before the hub sees it."""
    staff = hub.client()
    broker.pub("btn-001", broker.topic("btn-002"), json.dumps({"v": 1, "id": "btn-002-fake-1"}))
    broker.pub("btn-001", broker.topic("kiosk-01"), json.dumps({"v": 1, "id": "kiosk-fake-01"}))
    broker.press("btn-003")  # a marker that is processed after the forged ones
    calls = wait_until(lambda: staff.get("/api/calls").json(), what="the marker call")
    assert [c["device"] for c in calls] == ["btn-003"]
    assert stats(staff) == {}


def test_device_missing_from_the_hubs_inventory_is_refused(broker: Broker, tmp_path: Path) -> None:
    """The broker still knows btn-004 (not yet deprovisioned); the hub's inventory does not."""
    inv = broker.inventory
    smaller = Inventory(store=inv.store, devices=[d for d in inv.devices if d.id != "btn-004"])
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub2", inventory=smaller))
    try:
        staff = hub.client()
        broker.press("btn-004")
        wait_until(lambda: stats(staff).get("unknown_device") == 1, what="unknown_device")
        assert staff.get("/api/calls").json() == []
    finally:
        hub.stop()


def test_kiosk_and_screen_events_are_not_calls(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    # A kiosk's events are orders: a press from one is not a valid order.
    broker.pub("kiosk-01", broker.topic("kiosk-01"), json.dumps({"v": 1, "id": "kiosk-01-a-1"}))
    wait_until(lambda: stats(staff) == {"invalid_payload": 1}, what="invalid_payload")
    # A queue screen sends no events at all.
    broker.pub("screen-01", broker.topic("screen-01"), json.dumps({"v": 1, "id": "screen-01-a-1"}))
    wait_until(
        lambda: stats(staff) == {"invalid_payload": 1, "unsupported_channel": 1},
        what="unsupported_channel",
    )
    assert staff.get("/api/calls").json() == []
