"""HQ's configuration on the hub (edge/menu/domain.py: MenuDomain.apply_config): stored with
its fact for HQ in one transaction, then served, announced, and kept over a restart; opening
hours checked against the store's local time (check_open)."""

import time

import pytest
from sqlalchemy import select

from contract.menu import WEEKDAYS, MenuFile, Opening, StoreConfig
from edge.core.domain import HubContext
from edge.menu.domain import ConfigApplied, MenuDomain
from edge.menu.models import AppliedConfig
from edge.orders.errors import OrderError
from edge.uplink.events import FactsCommitted
from tests.fast.fakes import RecordingLive
from tests.fast.helpers import StoreDb, build, outbox


def _hq_menu(menu: MenuFile) -> MenuFile:
    """HQ's menu: the sample one without beer, versioned by HQ."""
    dishes = [d for d in menu.dishes if d.id != "beer"]
    return menu.model_copy(update={"version": "hq-2026-11", "dishes": dishes})


def _local(year: int, month: int, day: int, hour: int, minute: int) -> float:
    """A wall-clock time in the hub's local time zone, as check_open reads it."""
    return time.mktime((year, month, day, hour, minute, 0, 0, 0, -1))


def test_a_configuration_is_stored_with_its_fact_then_served_and_announced(
    hub_ctx: HubContext, db: StoreDb, menu: MenuFile, board: RecordingLive
) -> None:
    build(hub_ctx, MenuDomain)
    domain = hub_ctx.get(MenuDomain)
    assert (domain.config_version, domain.menu.menu.version) == (None, menu.version)
    applied: list[ConfigApplied] = []
    facts: list[FactsCommitted] = []
    hub_ctx.bus.subscribe(ConfigApplied, applied.append)
    hub_ctx.bus.subscribe(FactsCommitted, facts.append)

    config = StoreConfig(menu=_hq_menu(menu))
    domain.apply_config(7, config)

    assert (domain.config_version, domain.menu.menu.version) == (7, "hq-2026-11")
    assert domain.menu.menu.dish("beer") is None
    assert [(e.version, e.config) for e in applied] == [(7, config)]
    assert len(facts) == 1
    assert board.messages == [{"type": "config", "version": 7}]
    assert isinstance(hub_ctx.diners, RecordingLive)
    assert hub_ctx.diners.keyed == [({"type": "config", "version": 7}, None)]
    with db.reads() as s:
        [fact] = outbox(s)
        assert (fact.type, fact.data, fact.id.startswith("cfg-7-")) == (
            "config.applied",
            {"version": 7},
            True,
        )
        [row] = s.scalars(select(AppliedConfig))
        assert row.version == 7
        assert StoreConfig.model_validate(row.document) == config


def test_hq_s_last_configuration_outranks_the_local_file_after_a_restart(
    hub_ctx: HubContext, menu: MenuFile
) -> None:
    build(hub_ctx, MenuDomain)
    hub_ctx.get(MenuDomain).apply_config(3, StoreConfig(menu=menu))
    hub_ctx.get(MenuDomain).apply_config(4, StoreConfig(menu=_hq_menu(menu), hours={}))
    restarted = MenuDomain(hub_ctx)  # the hub starts again on the same database
    assert restarted.config_version == 4
    assert restarted.menu.menu.version == "hq-2026-11"
    assert restarted.config is not None and restarted.config.hours == {}


def test_opening_hours_are_read_in_local_time_with_the_close_excluded(
    hub_ctx: HubContext, menu: MenuFile
) -> None:
    build(hub_ctx, MenuDomain)
    domain = hub_ctx.get(MenuDomain)
    monday = _local(2026, 11, 30, 12, 0)
    assert time.localtime(monday).tm_wday == WEEKDAYS.index("mon")
    domain.check_open(monday)  # no configuration from HQ: the local menu is always open

    lunch_and_dinner = [Opening(open="11:00", close="14:00"), Opening(open="17:00", close="22:00")]
    domain.apply_config(1, StoreConfig(menu=menu, hours={"mon": lunch_and_dinner}))
    for hour, minute in ((11, 0), (13, 59), (17, 0), (21, 59)):
        domain.check_open(_local(2026, 11, 30, hour, minute))
    for hour, minute in ((10, 59), (14, 0), (16, 59), (22, 0)):
        with pytest.raises(OrderError) as caught:
            domain.check_open(_local(2026, 11, 30, hour, minute))
        assert (caught.value.status, caught.value.code) == (409, "store_closed")
    # Tuesday is not listed: closed all day.
    with pytest.raises(OrderError):
        domain.check_open(_local(2026, 12, 1, 12, 0))
