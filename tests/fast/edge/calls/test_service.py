"""Calls: presses stored once, open calls that gather presses, escalation, answers
(edge/calls/service.py)."""

import pytest
from sqlalchemy import select

from contract import CallButtonEvent
from contract.const import CallReason
from contract.inventory import DeviceSpec, Inventory
from edge.calls import service as calls
from edge.calls.models import Call, CallEvent
from edge.calls.schemas import CallPublic
from edge.calls.service import Press
from tests.fast.helpers import NOW, STAFF, STORE, StoreDb, count, outbox, outbox_types, points

URGENT_AFTER_S = 120.0


@pytest.fixture
def btn1(inventory: Inventory) -> DeviceSpec:
    return inventory.by_id()["btn-001"]  # table A1, zone A


@pytest.fixture
def btn2(inventory: Inventory) -> DeviceSpec:
    return inventory.by_id()["btn-002"]


def press(
    device: DeviceSpec,
    event_id: str,
    at: float = NOW,
    reason: CallReason = CallReason.SERVICE,
) -> Press:
    return Press(device, CallButtonEvent(id=event_id, reason=reason, ts_ms=1234), at)


def record(db: StoreDb, *presses: Press) -> calls.PressOutcome:
    with db.sessions.begin() as s:
        return calls.record_presses(s, STORE, presses)


def open_calls(db: StoreDb) -> list[CallPublic]:
    with db.reads() as s:
        return [CallPublic.of(c) for c in calls.open_calls(s)]


def test_a_press_opens_a_call_for_its_table(db: StoreDb, btn1: DeviceSpec) -> None:
    outcome = record(db, press(btn1, "btn-001-e1", reason=CallReason.WATER))
    assert outcome.new_event_ids == [("btn-001", "btn-001-e1")]
    [call] = open_calls(db)
    assert (call.device, call.zone, call.table, call.reason, call.status, call.presses) == (
        "btn-001",
        "A",
        "A1",
        "water",
        "open",
        1,
    )
    assert (call.created_at, call.last_press_at) == (NOW, NOW)
    with db.reads() as s:
        event = s.scalars(select(CallEvent)).one()
        assert (event.device_id, event.event_id, event.call_id, event.device_ts_ms) == (
            "btn-001",
            "btn-001-e1",
            call.id,
            1234,
        )
        [fact] = outbox(s)
        row = s.get(Call, call.id)
        assert row is not None
        uid = row.uid
        assert (fact.id, fact.type) == (f"co-{uid}", "call.opened")
        assert fact.data == {
            "call": uid,
            "device": "btn-001",
            "zone": "A",
            "table": "A1",
            "reason": "water",
            "opened_at": NOW,
        }
        # Its InfluxDB point, stamped with when the call opened (in ns).
        assert points(s) == [
            f"calls,device=btn-001,reason=water,store={STORE},zone=A "
            f"call_id={call.id}i,count=1i 1760000000000000000"
        ]


def test_a_resent_press_counts_once(db: StoreDb, btn1: DeviceSpec) -> None:
    record(db, press(btn1, "btn-001-e1"))
    # The ack was lost: the button sends the same event again, twice in one batch even.
    again = record(db, press(btn1, "btn-001-e1", NOW + 5), press(btn1, "btn-001-e1", NOW + 6))
    assert (again.new_event_ids, again.calls) == ([], [])
    [call] = open_calls(db)
    assert (call.presses, call.last_press_at) == (1, NOW)
    with db.reads() as s:
        assert count(s, CallEvent) == 1
        assert outbox_types(s) == ["call.opened"]


def test_the_same_event_id_from_two_devices_is_two_presses(
    db: StoreDb, btn1: DeviceSpec, btn2: DeviceSpec
) -> None:
    outcome = record(db, press(btn1, "press-0001"), press(btn2, "press-0001"))
    assert outcome.new_event_ids == [("btn-001", "press-0001"), ("btn-002", "press-0001")]
    assert [(c.device, c.table, c.presses) for c in open_calls(db)] == [
        ("btn-001", "A1", 1),
        ("btn-002", "A2", 1),
    ]


def test_pressing_again_adds_to_the_open_call(db: StoreDb, btn1: DeviceSpec) -> None:
    record(db, press(btn1, "btn-001-e1"))
    outcome = record(
        db,
        press(btn1, "btn-001-e2", NOW + 20, CallReason.BILL),
        press(btn1, "btn-001-e3", NOW + 30),
    )
    assert [e for _, e in outcome.new_event_ids] == ["btn-001-e2", "btn-001-e3"]
    assert [(c.device_id, c.presses) for c in outcome.calls] == [("btn-001", 3)]
    [call] = open_calls(db)
    # A press adds to the call; its reason stays (docs/wire-contract.md, CallButtonEvent).
    assert (call.presses, call.created_at, call.last_press_at, call.reason) == (
        3,
        NOW,
        NOW + 30,
        "service",
    )
    with db.reads() as s:
        assert count(s, CallEvent) == 3
        assert outbox_types(s) == ["call.opened"]  # one call, one fact


def test_two_presses_in_one_batch_open_one_call(db: StoreDb, btn1: DeviceSpec) -> None:
    outcome = record(db, press(btn1, "btn-001-e1"), press(btn1, "btn-001-e2", NOW + 1))
    assert [(c.device_id, c.presses) for c in outcome.calls] == [("btn-001", 2)]
    assert len(open_calls(db)) == 1


def test_a_press_after_the_answer_opens_a_new_call(db: StoreDb, btn1: DeviceSpec) -> None:
    record(db, press(btn1, "btn-001-e1"))
    [first] = open_calls(db)
    with db.sessions.begin() as s:
        calls.acknowledge(s, STORE, first.id, STAFF, NOW + 40)
    record(db, press(btn1, "btn-001-e2", NOW + 100))
    [second] = open_calls(db)
    assert (second.id != first.id, second.presses, second.created_at) == (True, 1, NOW + 100)


def test_unanswered_calls_turn_urgent_once(db: StoreDb, btn1: DeviceSpec, btn2: DeviceSpec) -> None:
    record(db, press(btn1, "btn-001-e1"), press(btn2, "btn-002-e1", NOW + 60))
    with db.sessions.begin() as s:
        assert calls.escalate(s, NOW + URGENT_AFTER_S - 0.1, URGENT_AFTER_S) == []
    with db.sessions.begin() as s:
        # Exactly urgent_after_s after it opened: urgent.
        assert [c.device_id for c in calls.escalate(s, NOW + URGENT_AFTER_S, URGENT_AFTER_S)] == [
            "btn-001"
        ]
    with db.sessions.begin() as s:
        # Pressing again does not restart the clock; escalating twice does not repeat.
        record_more = calls.record_presses(s, STORE, [press(btn1, "btn-001-e2", NOW + 150)])
        assert record_more.calls[0].urgent_at == NOW + URGENT_AFTER_S
        assert [c.device_id for c in calls.escalate(s, NOW + 200, URGENT_AFTER_S)] == ["btn-002"]
    assert [(c.device, c.status, c.urgent_at) for c in open_calls(db)] == [
        ("btn-001", "urgent", NOW + URGENT_AFTER_S),
        ("btn-002", "urgent", NOW + 200),
    ]


def test_an_answered_call_never_turns_urgent(db: StoreDb, btn1: DeviceSpec) -> None:
    record(db, press(btn1, "btn-001-e1"))
    [call] = open_calls(db)
    with db.sessions.begin() as s:
        calls.acknowledge(s, STORE, call.id, STAFF, NOW + 10)
        assert calls.escalate(s, NOW + 1000, URGENT_AFTER_S) == []


def test_acknowledging_records_who_and_how_fast_once(db: StoreDb, btn1: DeviceSpec) -> None:
    record(db, press(btn1, "btn-001-e1"))
    [call] = open_calls(db)
    with db.sessions.begin() as s:
        calls.escalate(s, NOW + URGENT_AFTER_S, URGENT_AFTER_S)
        answered = calls.acknowledge(s, STORE, call.id, STAFF, NOW + 130.5)
        assert (answered.acked_by, answered.acked_at, answered.response_s) == (
            STAFF,
            NOW + 130.5,
            130.5,
        )
    with db.sessions.begin() as s:
        # A second waiter taps it too: the first answer stands, HQ hears once.
        again = calls.acknowledge(s, STORE, call.id, "bob", NOW + 200)
        assert (again.acked_by, again.response_s) == (STAFF, 130.5)
    assert open_calls(db) == []
    with db.reads() as s:
        row = s.get(Call, call.id)
        assert row is not None
        assert CallPublic.of(row).status == "acked"
        opened, answered_fact = outbox(s)
        assert (opened.type, answered_fact.type) == ("call.opened", "call.answered")
        assert answered_fact.data["acked_by"] == STAFF
        assert answered_fact.data["response_s"] == 130.5
        assert answered_fact.data["urgent"] is True
        assert [p.split(",")[0] for p in points(s)] == ["calls", "call_responses"]


def test_acknowledging_an_unknown_call_is_not_found(db: StoreDb) -> None:
    with db.sessions.begin() as s, pytest.raises(calls.CallNotFound):
        calls.acknowledge(s, STORE, 404, STAFF, NOW)


def test_a_call_from_the_table_page(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        call = calls.call_from_table(s, STORE, "A3", "A3", "A", "service", NOW)
        assert (call.device_id, call.table_name, call.zone, call.presses) == ("qr-A3", "A3", "A", 1)
    with db.sessions.begin() as s:
        # Calling again adds to it; asking for the bill makes it a bill call.
        again = calls.call_from_table(s, STORE, "A3", "A3", "A", "bill", NOW + 30)
        assert (again.id, again.presses, again.reason, again.last_press_at) == (
            call.id,
            2,
            "bill",
            NOW + 30,
        )
        water = calls.call_from_table(s, STORE, "A3", "A3", "A", "water", NOW + 40)
        assert (water.id, water.presses, water.reason) == (call.id, 3, "bill")
    with db.reads() as s:
        assert outbox_types(s) == ["call.opened"]
        assert len(points(s)) == 1
    with db.sessions.begin() as s:
        calls.acknowledge(s, STORE, call.id, STAFF, NOW + 60)
        fresh = calls.call_from_table(s, STORE, "A3", "A3", "A", "water", NOW + 90)
        assert (fresh.id != call.id, fresh.presses, fresh.reason) == (True, 1, "water")


def test_a_table_call_and_a_button_press_at_the_same_table_are_two_calls(
    db: StoreDb, btn1: DeviceSpec
) -> None:
    record(db, press(btn1, "btn-001-e1"))
    with db.sessions.begin() as s:
        calls.call_from_table(s, STORE, "A1", "A1", "A", "bill", NOW + 5)
    assert [(c.device, c.table, c.reason) for c in open_calls(db)] == [
        ("btn-001", "A1", "service"),
        ("qr-A1", "A1", "bill"),
    ]


def test_long_table_ids_keep_their_calls_apart(db: StoreDb) -> None:
    left = "riverside-terrace-window-tbl-01"  # 31 characters: a valid table id (ID_PATTERN)
    right = "riverside-terrace-window-tbl-02"
    with db.sessions.begin() as s:
        first = calls.call_from_table(s, STORE, left, "River 1", "R", "service", NOW)
        second = calls.call_from_table(s, STORE, right, "River 2", "R", "bill", NOW + 5)
        assert second.id != first.id
        assert second.table_name == "River 2"
