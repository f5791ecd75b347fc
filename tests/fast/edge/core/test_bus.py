"""The hub's in-process event bus (edge/core/bus.py)."""

import logging
import threading
from dataclasses import dataclass

import pytest

from edge.core.bus import EventBus


@dataclass(frozen=True)
class OrderReady:
    order_id: int


@dataclass(frozen=True)
class CallAnswered:
    call_id: int


@dataclass(frozen=True)
class UrgentOrderReady(OrderReady):
    pass


def test_listeners_hear_their_event_type_in_the_order_they_subscribed() -> None:
    bus = EventBus()
    heard: list[str] = []
    bus.subscribe(OrderReady, lambda e: heard.append(f"screens {e.order_id}"))
    bus.subscribe(OrderReady, lambda e: heard.append(f"board {e.order_id}"))
    bus.subscribe(CallAnswered, lambda e: heard.append(f"calls {e.call_id}"))
    bus.publish(OrderReady(7))
    assert heard == ["screens 7", "board 7"]
    bus.publish(CallAnswered(3))
    assert heard == ["screens 7", "board 7", "calls 3"]


def test_nobody_listening_is_fine() -> None:
    EventBus().publish(OrderReady(1))


def test_events_go_by_their_exact_type() -> None:
    # A subclass is its own event: listeners of the base type do not hear it.
    bus = EventBus()
    heard: list[object] = []
    bus.subscribe(OrderReady, heard.append)
    bus.publish(UrgentOrderReady(1))
    assert heard == []


def test_a_failing_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    heard: list[int] = []

    def board_gone(event: OrderReady) -> None:
        raise ConnectionError("the board went away")

    bus.subscribe(OrderReady, lambda e: heard.append(e.order_id))
    bus.subscribe(OrderReady, board_gone)
    bus.subscribe(OrderReady, lambda e: heard.append(e.order_id * 10))
    with caplog.at_level(logging.ERROR, logger="edge.core.bus"):
        bus.publish(OrderReady(4))  # does not raise: the publisher's work is committed
    assert heard == [4, 40]
    [record] = caplog.records
    assert record.getMessage() == "a listener of OrderReady failed"
    assert record.exc_info is not None and record.exc_info[0] is ConnectionError


def test_a_listener_may_subscribe_while_an_event_is_delivered() -> None:
    # Handlers run outside the bus's lock: one that subscribes (or publishes) cannot deadlock.
    bus = EventBus()
    heard: list[str] = []

    def first(event: OrderReady) -> None:
        heard.append("first")
        bus.subscribe(OrderReady, lambda e: heard.append("late"))
        bus.publish(CallAnswered(1))

    bus.subscribe(OrderReady, first)
    bus.subscribe(CallAnswered, lambda e: heard.append("call"))
    done = threading.Event()

    def deliver() -> None:
        bus.publish(OrderReady(1))
        done.set()

    worker = threading.Thread(target=deliver)
    worker.start()
    worker.join(5)
    assert done.is_set()
    assert heard == ["first", "call"]  # the late listener hears the next event, not this one
    bus.publish(OrderReady(2))
    assert heard == ["first", "call", "first", "call", "late"]
