"""How often one table may order or call (edge/limits/domain.py, on edge.auth.RateLimiter):
a sliding minute per table, refused with the diner's bilingual 429."""

import types

import pytest

import edge.auth
from edge.core.domain import HubContext
from edge.limits.domain import LimitsDomain
from edge.orders.errors import OrderError
from tests.fast.helpers import build


class Clock:
    """Stands in for the `time` module edge.auth reads its monotonic clock from."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(edge.auth, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    return clock


@pytest.fixture
def limits(hub_ctx: HubContext) -> LimitsDomain:
    build(hub_ctx, LimitsDomain)
    return hub_ctx.get(LimitsDomain)


def _refused(limits: LimitsDomain, table: str, what: str = "orders") -> bool:
    try:
        LimitsDomain.take(getattr(limits, what), table)
    except OrderError as err:
        assert (err.status, err.code) == (429, "rate_limited")
        assert err.message == "操作太频繁，请稍后再试 / Too many requests, please wait a minute"
        return True
    return False


def test_a_table_may_order_ten_times_a_minute(limits: LimitsDomain, clock: Clock) -> None:
    assert limits.hub.settings.orders_per_table_per_minute == 10
    taken = []
    for n in range(10):
        clock.now = 1000.0 + n  # one a second
        taken.append(_refused(limits, "A1"))
    assert taken == [False] * 10
    assert _refused(limits, "A1")  # the eleventh within the minute
    assert not _refused(limits, "A2")  # another table has its own count
    # The minute slides: the first order (at 1000) leaves the window at 1060 exactly.
    clock.now = 1059.9
    assert _refused(limits, "A1")
    clock.now = 1060.0
    assert not _refused(limits, "A1")
    assert _refused(limits, "A1")  # the second (at 1001) is still in


def test_a_refused_try_does_not_count(limits: LimitsDomain, clock: Clock) -> None:
    for _ in range(10):
        assert not _refused(limits, "B1")
    for _ in range(50):  # a script hammering: every one refused, none counted
        assert _refused(limits, "B1")
    clock.now += 60.0
    assert [_refused(limits, "B1") for _ in range(11)] == [False] * 10 + [True]


def test_calls_have_their_own_limit(limits: LimitsDomain, clock: Clock) -> None:
    assert limits.hub.settings.calls_per_table_per_minute == 6
    assert [_refused(limits, "A3", "calls") for _ in range(7)] == [False] * 6 + [True]
    assert not _refused(limits, "A3", "orders")  # calling did not use up ordering
