"""The outbox towards HQ (edge/uplink/service.py): only events of the contract go in, they
leave in the order they were made, exactly as the cloud reads them, and go only once the cloud
confirmed them."""

import pytest
from sqlalchemy import insert

from contract.uplink import ConfigApplied, ConfigAppliedEvent, OrderDone, OrderDoneEvent
from edge.uplink import service as outbox
from edge.uplink.models import OutboxEvent
from tests.fast.helpers import NOW, StoreDb, count


def _done(n: int, at: float) -> OrderDoneEvent:
    return OrderDoneEvent(
        id=f"od-order-{n:04d}",
        occurred_at=at,
        data=OrderDone(order=f"order-{n}", no=n, ready_s=9.5),
    )


def test_events_wait_in_order_as_the_cloud_reads_them(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        outbox.enqueue(s, [_done(1, NOW), _done(2, NOW + 1)])
        outbox.enqueue(
            s,
            [
                ConfigAppliedEvent(
                    id="cfg-3-abc", occurred_at=NOW - 5, data=ConfigApplied(version=3)
                )
            ],
        )
    with db.reads() as s:
        rows = outbox.oldest(s, 10)
        assert [outbox.as_sent(r) for r in rows] == [
            {
                "id": "od-order-0001",
                "type": "order.done",
                "v": 1,
                "occurred_at": NOW,
                "data": {"order": "order-1", "no": 1, "ready_s": 9.5},
            },
            {
                "id": "od-order-0002",
                "type": "order.done",
                "v": 1,
                "occurred_at": NOW + 1,
                "data": {"order": "order-2", "no": 2, "ready_s": 9.5},
            },
            {
                "id": "cfg-3-abc",
                "type": "config.applied",
                "v": 1,
                "occurred_at": NOW - 5,
                "data": {"version": 3},
            },
        ]
        assert [r.event_id for r in outbox.oldest(s, 2)] == ["od-order-0001", "od-order-0002"]
        # How many wait, and since when: the earliest event, not the first queued.
        assert outbox.backlog(s) == (3, NOW - 5)


def test_a_row_from_before_versions_is_sent_without_one(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        s.execute(
            insert(OutboxEvent),
            [
                {
                    "event_id": "od-legacy-001",
                    "type": "order.done",
                    "v": None,
                    "occurred_at": NOW,
                    "data": {"order": "legacy", "no": 7, "ready_s": 60.0},
                }
            ],
        )
    with db.reads() as s:
        [row] = outbox.oldest(s, 10)
        assert outbox.as_sent(row) == {
            "id": "od-legacy-001",
            "type": "order.done",
            "occurred_at": NOW,
            "data": {"order": "legacy", "no": 7, "ready_s": 60.0},
        }


def test_confirmed_events_leave_and_only_they(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        outbox.enqueue(s, [_done(n, NOW + n) for n in range(1, 6)])
    with db.sessions.begin() as s:
        assert outbox.confirm(s, []) == 0
        # The cloud confirms what it has, including one confirmed before (a retried batch).
        assert outbox.confirm(s, ["od-order-0002", "od-order-0004", "od-order-0009"]) == 2
    with db.sessions.begin() as s:
        assert outbox.confirm(s, ["od-order-0002"]) == 0
    with db.reads() as s:
        assert [r.event_id for r in outbox.oldest(s, 10)] == [
            "od-order-0001",
            "od-order-0003",
            "od-order-0005",
        ]
        assert outbox.backlog(s) == (3, NOW + 1)
    with db.sessions.begin() as s:
        outbox.confirm(s, ["od-order-0001", "od-order-0003", "od-order-0005"])
    with db.reads() as s:
        assert outbox.backlog(s) == (0, None)


def test_only_events_of_the_contract_go_in(db: StoreDb) -> None:
    loose = {"id": "od-order-0001", "type": "order.done", "occurred_at": NOW, "data": {}}
    with db.sessions.begin() as s:
        with pytest.raises(TypeError, match="not an event of the uplink contract"):
            outbox.enqueue(s, [_done(1, NOW), loose])  # type: ignore[list-item]
        assert count(s, OutboxEvent) == 0  # checked whole before anything is written
