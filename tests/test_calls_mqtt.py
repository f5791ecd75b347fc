"""A press travels mosquitto_pub -> real mosquitto -> hub -> SQLite, and is acknowledged."""

import json

import httpx

from contract import Channel
from tests.support import Broker, Hub, wait_until


def open_calls(client: httpx.Client) -> list[dict[str, object]]:
    r = client.get("/api/calls")
    r.raise_for_status()
    data: list[dict[str, object]] = r.json()
    return data


def test_press_becomes_a_call_and_the_device_gets_its_ack(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    with broker.sub("btn-001", broker.topic("btn-001", Channel.ACK)) as acks:
        event_id = broker.press("btn-001", reason="bill")
        calls = wait_until(lambda: open_calls(staff), what="the call")
        wait_until(lambda: acks, what="the ack on the device's ack topic")
    assert len(calls) == 1
    call = calls[0]
    assert (call["table"], call["zone"], call["reason"], call["status"]) == (
        "A1",
        "A",
        "bill",
        "open",
    )
    assert json.loads(acks[0]) == {"v": 1, "id": event_id, "status": "ok"}


def test_a_repeated_event_id_is_one_call_and_one_press(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    for _ in range(3):
        broker.press("btn-002", event_id="btn-002-boot1-7")
    wait_until(lambda: open_calls(staff), what="the call")
    # A later, different press proves the repeats were processed before it.
    broker.press("btn-003")
    wait_until(lambda: len(open_calls(staff)) == 2, what="the second call")
    calls = {c["device"]: c for c in open_calls(staff)}
    assert calls["btn-002"]["presses"] == 1


def test_pressing_again_adds_to_the_open_call(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    broker.press("btn-001")
    broker.press("btn-001")
    wait_until(lambda: open_calls(staff) and open_calls(staff)[0]["presses"] == 2, what="2 presses")
    assert len(open_calls(staff)) == 1


def test_acknowledge_records_who_and_how_long(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    broker.press("btn-004")
    call = wait_until(lambda: open_calls(staff), what="the call")[0]
    r = staff.post(f"/api/calls/{call['id']}/ack")
    assert r.status_code == 200
    acked = r.json()
    assert acked["status"] == "acked"
    assert acked["acked_by"] == "alice"
    assert 0 < acked["response_s"] < 30
    assert open_calls(staff) == []
    # No cloud configured: the opening and the answer wait for HQ in the outbox.
    stats = staff.get("/api/stats").json()
    assert stats["outbox_backlog"] == 2 and stats["outbox_oldest_age_s"] >= 0
    # A second acknowledgement (another waiter, a double tap) keeps the first answer.
    other = hub.client(staff="bob", pin="739120")
    again = other.post(f"/api/calls/{call['id']}/ack").json()
    assert (again["acked_by"], again["response_s"]) == ("alice", acked["response_s"])
    # A press after the answer is a new call.
    broker.press("btn-004")
    new = wait_until(lambda: open_calls(staff), what="a new call")[0]
    assert new["id"] != call["id"]


def test_unknown_call_is_a_clear_404(hub: Hub) -> None:
    r = hub.client().post("/api/calls/999999/ack")
    assert r.status_code == 404
    assert "999999" in r.json()["detail"]


def test_unanswered_call_turns_urgent(broker: Broker, tmp_path: object) -> None:
    from pathlib import Path

    from tests.support import hub_settings, run_hub_thread

    assert isinstance(tmp_path, Path)
    hub = run_hub_thread(hub_settings(broker, tmp_path / "urgent", call_urgent_after_s=1.0))
    try:
        staff = hub.client()
        broker.press("btn-001")
        call = wait_until(
            lambda: [c for c in open_calls(staff) if c["status"] == "urgent"],
            timeout=5,
            what="the call to turn urgent",
        )[0]
        # Urgent once unanswered for call_urgent_after_s (the hub checks it every tick).
        assert call["urgent_at"] >= call["created_at"] + 1.0
        acked = staff.post(f"/api/calls/{call['id']}/ack").json()
        assert acked["response_s"] >= 1.0
    finally:
        hub.stop()
