"""The calls domain in the writer's transaction: presses acknowledged only once committed, the
board told, escalation on the writer's tick (edge/calls/domain.py)."""

from typing import Any

from contract import CallButtonEvent
from contract.inventory import Inventory
from edge.calls.domain import CallsDomain, parse_press
from edge.calls.service import Press
from edge.core.domain import HubContext
from edge.uplink.events import FactsCommitted
from tests.fast.fakes import RecordingLive, RecordingMqtt
from tests.fast.helpers import NOW, StoreDb


def _write(db: StoreDb, domain: CallsDomain, items: list[Any]) -> None:
    """As the store writer does: write in a transaction, then run what it handed back."""
    with db.sessions.begin() as s:
        done = domain.write(s, items, NOW)
    assert done is not None
    done()


def test_presses_are_acked_after_commit_and_the_board_hears_of_new_ones(
    hub_ctx: HubContext,
    db: StoreDb,
    inventory: Inventory,
    mqtt: RecordingMqtt,
    board: RecordingLive,
) -> None:
    facts: list[FactsCommitted] = []
    hub_ctx.bus.subscribe(FactsCommitted, facts.append)
    domain = CallsDomain(hub_ctx)
    btn = inventory.by_id()["btn-003"]
    first = Press(btn, CallButtonEvent(id="btn-003-e1"), NOW)

    with db.sessions.begin() as s:
        done = domain.write(s, [first], NOW)
        assert mqtt.published == []  # nothing leaves before the commit
    assert done is not None
    done()
    assert mqtt.acks() == [("btn-003", {"v": 1, "id": "btn-003-e1", "status": "ok"})]
    assert mqtt.published[0].topic == "store/S001/call_button/btn-003/ack"
    [message] = board.of_type("calls")
    assert message["event_ids"] == ["btn-003-e1"]
    assert [(c["table"], c["status"], c["presses"]) for c in message["calls"]] == [
        ("A3", "open", 1)
    ]
    assert len(facts) == 1

    # A resend: acked again (the button must stop), counted once, nothing for the board.
    _write(db, domain, [first])
    assert [a["id"] for _, a in mqtt.acks()] == ["btn-003-e1", "btn-003-e1"]
    assert len(board.of_type("calls")) == 1
    assert len(facts) == 1


def test_the_tick_turns_old_calls_urgent_and_tells_the_board(
    hub_ctx: HubContext, db: StoreDb, inventory: Inventory, board: RecordingLive
) -> None:
    domain = CallsDomain(hub_ctx)
    urgent_after = hub_ctx.settings.call_urgent_after_s
    assert urgent_after == 120.0
    _write(db, domain, [Press(inventory.by_id()["btn-001"], CallButtonEvent(id="btn-001-e1"), NOW)])
    with db.sessions.begin() as s:
        assert domain.tick(s, NOW + urgent_after - 1) is None
    with db.sessions.begin() as s:
        done = domain.tick(s, NOW + urgent_after)
    assert done is not None
    done()
    last = board.of_type("calls")[-1]
    assert [(c["device"], c["status"], c["urgent_at"]) for c in last["calls"]] == [
        ("btn-001", "urgent", NOW + urgent_after)
    ]
    with db.reads() as s:
        snapshot = domain.snapshot(s)
    assert [c["status"] for c in snapshot["calls"]] == ["urgent"]
    assert snapshot["urgent_after_s"] == 120.0


def test_a_press_parses_from_its_payload(inventory: Inventory) -> None:
    smart_table = inventory.by_id()["table-001"]
    item = parse_press(smart_table, b'{"v":1,"id":"tbl-001-b1","reason":"bill"}', NOW)
    assert (item.device.id, item.event.id, item.event.reason.value, item.received_at) == (
        "table-001",
        "tbl-001-b1",
        "bill",
        NOW,
    )
