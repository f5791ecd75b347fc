"""Bad input over the real broker: counted with its reason, never a call, never a crash."""

import json
from pathlib import Path

import httpx

from edge.inventory import Inventory
from smartstore.wire import Channel
from smartstore.wire.const import MAX_PAYLOAD_BYTES
from tests.support import Broker, Hub, hub_settings, run_hub_thread, wait_until


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
        broker.pub(
            "btn-001",
            topic,
            json.dumps({"v": 1, "id": "btn-001-x-2", "pad": "x" * MAX_PAYLOAD_BYTES}),
        )
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
        # Refused events whose id the hub can read are answered "rejected", so the device
        # stops resending them.
        wait_until(lambda: len(acks) >= 2, what="rejected acks")
    answers = {json.loads(a)["id"]: json.loads(a) for a in acks}
    assert answers["btn-001-x-1"]["status"] == "rejected"
    assert answers["btn-001-x-1"]["error"] == "bad_schema_version"
    assert answers["btn-001-x-3"]["error"] == "device_mismatch"
    assert staff.get("/api/calls").json() == []
    # The hub is still healthy and takes the next good press.
    broker.press("btn-001")
    wait_until(lambda: staff.get("/api/calls").json(), what="a good press after the bad ones")


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
