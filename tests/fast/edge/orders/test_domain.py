"""The orders domain around the service (edge/orders/domain.py): who hears of an order once it
is committed (the staff board, the table's phones, the uplink, the queue screens), and what
refuses one before pricing (a closed table, a closed store, no menu).

The real menu, tables, printing, orders and queue_screens domains are built on the recording
broker and boards, as edge.runtime builds them, and not started: no spooler dials a printer.
"""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from contract.menu import WEEKDAYS, Opening, StoreConfig
from edge.core.domain import HubContext
from edge.menu.domain import MenuDomain
from edge.orders.domain import OrdersDomain
from edge.orders.errors import OrderError
from edge.orders.events import OrderReady
from edge.orders.models import Order
from edge.printing.domain import PrintingDomain
from edge.printing.events import PrintJobsChanged
from edge.queue_screens.domain import QueueScreensDomain
from edge.tables import service as tables
from edge.tables.domain import TablesDomain
from edge.uplink.events import FactsCommitted
from tests.fast.edge.orders.placing import KIOSK, TABLE_A1, key, line
from tests.fast.fakes import RecordingLive, RecordingMqtt
from tests.fast.helpers import STAFF, StoreDb, build, count, outbox_types

# kungpao 2 x 3800 (hot) + tea 1200 (bar)
DINNER = [line("kungpao", 2, spice="medium"), line("tea", temp="hot")]


@pytest.fixture
def hub(hub_ctx: HubContext) -> HubContext:
    build(hub_ctx, MenuDomain, TablesDomain, PrintingDomain, OrdersDomain, QueueScreensDomain)
    return hub_ctx


@pytest.fixture
def facts(hub: HubContext) -> list[FactsCommitted]:
    heard: list[FactsCommitted] = []
    hub.bus.subscribe(FactsCommitted, heard.append)
    return heard


def _diner_messages(hub: HubContext) -> list[tuple[dict[str, Any], str | None]]:
    """What the diners' feed sent, each with the table whose phones hear it."""
    assert isinstance(hub.diners, RecordingLive)
    return hub.diners.keyed


def test_a_placed_order_reaches_the_board_the_table_and_the_uplink(
    hub: HubContext, board: RecordingLive, facts: list[FactsCommitted]
) -> None:
    placed, created = hub.get(OrdersDomain).place(TABLE_A1, key(1), DINNER, " birthday ")
    assert created
    assert (placed["no"], placed["table"], placed["status"], placed["total_fen"]) == (
        1,
        "A1",
        "accepted",
        8800,
    )
    assert placed["note"] == "birthday"
    # Staff see its tickets, one per station, queued and not yet printed.
    assert placed["printed"] is False
    assert [(j["station"], j["printer"], j["kind"], j["status"]) for j in placed["print"]] == [
        ("hot", "printer-01", "kitchen", "pending"),
        ("bar", "printer-03", "kitchen", "pending"),
    ]
    assert board.messages == [{"type": "orders", "orders": [placed]}]
    # The table's phones get it without what only staff see (tickets, member code).
    [(message, table)] = _diner_messages(hub)
    assert table == "A1"
    assert message["type"] == "order"
    assert "print" not in message["order"] and "member" not in message["order"]
    assert {k: v for k, v in placed.items() if k not in ("print", "member")} == message["order"]
    assert len(facts) == 1


def test_a_retried_order_is_answered_and_announced_once(
    hub: HubContext, db: StoreDb, board: RecordingLive, facts: list[FactsCommitted]
) -> None:
    orders = hub.get(OrdersDomain)
    first, _ = orders.place(TABLE_A1, key(1), DINNER, "")
    again, created = orders.place(TABLE_A1, key(1), DINNER, "")
    assert (created, again["id"], again["no"]) == (False, first["id"], 1)
    assert (len(board.messages), len(_diner_messages(hub)), len(facts)) == (1, 1, 1)
    with db.reads() as s:
        assert count(s, Order) == 1


def test_a_kiosk_order_goes_to_the_board_only(
    hub: HubContext, board: RecordingLive, facts: list[FactsCommitted]
) -> None:
    placed, _ = hub.get(OrdersDomain).place(KIOSK, key(1), [line("beer", 2)], "")
    assert (placed["source"], placed["device"], placed["member"], placed["total_fen"]) == (
        "kiosk",
        "kiosk-01",
        "M-42",
        3000,
    )
    assert [m["type"] for m in board.messages] == ["orders"]
    assert _diner_messages(hub) == []  # no table, no phone
    assert len(facts) == 1


def test_a_closed_table_cannot_order(hub: HubContext, db: StoreDb, board: RecordingLive) -> None:
    with db.sessions.begin() as s:
        tables.set_open(s, "A1", False, 0.0, party_settled=False)
    with pytest.raises(OrderError) as caught:
        hub.get(OrdersDomain).place(TABLE_A1, key(1), DINNER, "")
    err = caught.value
    assert (err.status, err.code) == (409, "table_closed")
    assert err.message == "A1 桌已关闭，请联系服务员 / Table A1 is closed, please ask staff"
    with db.reads() as s:
        assert count(s, Order) == 0
    assert board.messages == []


def test_outside_opening_hours_nothing_is_ordered(
    hub: HubContext, db: StoreDb, board: RecordingLive
) -> None:
    menu = hub.get(MenuDomain)
    # HQ's hours list no day at all: the store is closed every day (contract/menu.py).
    menu.apply_config(3, StoreConfig(menu=menu.menu.menu, hours={}))
    with pytest.raises(OrderError) as caught:
        hub.get(OrdersDomain).place(TABLE_A1, key(1), DINNER, "")
    assert (caught.value.status, caught.value.code) == (409, "store_closed")
    with db.reads() as s:
        assert count(s, Order) == 0
    # Open around the clock again: ordering works.
    always = {day: [Opening(open="00:00", close="24:00")] for day in WEEKDAYS}
    menu.apply_config(4, StoreConfig(menu=menu.menu.menu, hours=always))
    placed, created = hub.get(OrdersDomain).place(TABLE_A1, key(1), DINNER, "")
    assert (created, placed["total_fen"]) == (True, 8800)
    assert [m["type"] for m in board.messages] == ["config", "config", "orders"]


def test_without_a_menu_nothing_is_ordered(
    hub_ctx: HubContext, db: StoreDb, tmp_path: Path
) -> None:
    # A store not set up yet: no menu file, and none from HQ.
    hub_ctx.settings = hub_ctx.settings.model_copy(update={"menu_path": tmp_path / "none.yaml"})
    build(hub_ctx, MenuDomain, TablesDomain, PrintingDomain, OrdersDomain)
    with pytest.raises(OrderError) as caught:
        hub_ctx.get(OrdersDomain).place(TABLE_A1, key(1), DINNER, "")
    assert (caught.value.status, caught.value.code) == (503, "no_menu")
    with db.reads() as s:
        assert count(s, Order) == 0


def test_done_calls_the_number_on_the_queue_screens(
    hub: HubContext, db: StoreDb, mqtt: RecordingMqtt, board: RecordingLive
) -> None:
    orders = hub.get(OrdersDomain)
    ready: list[OrderReady] = []
    hub.bus.subscribe(OrderReady, ready.append)
    first, _ = orders.place(TABLE_A1, key(1), DINNER, "")
    second, _ = orders.place(KIOSK, key(2), [line("rice")], "")
    assert mqtt.published == []  # placing an order calls no number

    done = orders.mark_done(second["id"])
    assert (done["no"], done["status"], done["done_at"] is not None) == (2, "done", True)
    orders.mark_done(first["id"])
    assert len(ready) == 2
    # The retained list every queue screen reads, newest first.
    assert [(p.topic, p.json()["ready"], p.qos, p.retain) for p in mqtt.published] == [
        ("store/S001/hub/ready", [2], 1, True),
        ("store/S001/hub/ready", [1, 2], 1, True),
    ]
    # The board hears each order change its status.
    changed = [m["orders"][0] for m in board.of_type("orders")][2:]
    assert [(o["no"], o["status"]) for o in changed] == [(2, "done"), (1, "done")]
    with db.reads() as s:
        assert outbox_types(s) == ["order.placed", "order.placed", "order.done", "order.done"]


def test_a_void_reaches_the_board_and_the_table(hub: HubContext, board: RecordingLive) -> None:
    orders = hub.get(OrdersDomain)
    placed, _ = orders.place(TABLE_A1, key(1), DINNER, "")
    tea = placed["lines"][1]["id"]
    after = orders.void_line(placed["id"], tea, STAFF)
    assert after["total_fen"] == 7600
    assert [(x["dish"], x["status"]) for x in after["lines"]] == [
        ("kungpao", "ok"),
        ("tea", "void"),
    ]
    assert [j["kind"] for j in after["print"]] == ["kitchen", "kitchen", "void"]
    assert board.messages[-1] == {"type": "orders", "orders": [after]}
    message, table = _diner_messages(hub)[-1]
    assert (table, message["order"]["total_fen"]) == ("A1", 7600)


def test_printing_news_refreshes_the_order_on_every_page(
    hub: HubContext, db: StoreDb, board: RecordingLive
) -> None:
    placed, _ = hub.get(OrdersDomain).place(TABLE_A1, key(1), DINNER, "")
    with db.reads() as s:
        order_id = s.scalars(select(Order.id)).one()
    hub.bus.publish(PrintJobsChanged([order_id, 404]))  # an order since deleted: skipped
    assert board.messages[-1] == {"type": "orders", "orders": [placed]}
    assert len(board.messages) == 2
    assert len(_diner_messages(hub)) == 2
