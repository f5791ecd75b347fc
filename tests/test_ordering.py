"""Ordering through the hub's HTTP API, with tickets arriving as bytes at TCP printers."""

import json
import re
import secrets
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from devices.virtual_printer import decode_text
from tests.ordering import KUNGPAO, STATIONS, TEA, Kitchen, kitchen
from tests.support import until_marker, wait_until


def key() -> str:
    return "k-" + secrets.token_hex(10)


def order_no(job: bytes) -> int:
    """The order number a kitchen ticket prints."""
    found = re.search(r"^单号 No\. (\d+)$", decode_text(job), re.MULTILINE)
    assert found is not None, decode_text(job)
    return int(found.group(1))


def printed_until(k: Kitchen, station: str, no: int) -> list[int]:
    """The order numbers a station printed, up to the ticket of order `no`: a marker placed
    after what must not print there (a printer takes its jobs in order)."""
    jobs = until_marker(
        k.printers[station].jobs, lambda job: order_no(job) == no, f"order {no} at {station}"
    )
    return [order_no(job) for job in jobs]


# One dish for each station: a marker order that every printer prints.
EVERY_STATION = [
    {"dish": "rice", "qty": 1},
    {"dish": "cucumber", "qty": 1},
    {"dish": "plum", "qty": 1},
]


def test_order_prints_one_ticket_per_station_in_chinese(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        token = k.token("A1")
        r = k.order(token, [KUNGPAO, TEA], key(), note="生日 birthday")
        assert r.status_code == 201, r.text
        order = r.json()
        # 2 x (38.00) + 12.00, priced by the hub.
        assert order["total_fen"] == 2 * 3800 + 1200
        assert order["table"] == "A1" and order["no"] == 1  # the day's first
        [hot] = k.tickets("hot", 1)
        [bar] = k.tickets("bar", 1)
        assert "宫保鸡丁" in hot and "Kung Pao Chicken" in hot and "微辣 Mild" in hot
        assert "不要花生 no peanuts" in hot and "生日 birthday" in hot
        assert "菊花茶" not in hot and "菊花茶" in bar and "冰 Iced" in bar
        assert f"No. {order['no']}" in hot and "A1" in hot
        assert "REPRINT" not in hot
        wait_until(
            lambda: k.diner.get(f"/api/diner/{token}/orders").json()["orders"][0]["printed"],
            what="the order to show as sent to the kitchen",
        )
        # Nothing for the cold kitchen: a cold dish ordered next is the first thing it prints.
        marker = k.order(token, [{"dish": "cucumber", "qty": 1}], key()).json()
        assert printed_until(k, "cold", marker["no"]) == [marker["no"]]


def test_retries_and_parallel_submits_of_one_key_make_one_order(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        token = k.token("A1")
        same = key()
        first = k.order(token, [KUNGPAO], same)
        again = k.order(token, [KUNGPAO], same)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]

        parallel = key()
        answers: list[httpx.Response] = []

        def submit() -> None:
            with httpx.Client(base_url=k.hub.base_url, timeout=10) as c:
                answers.append(
                    c.post(f"/api/diner/{token}/orders", json={"key": parallel, "lines": [TEA]})
                )

        threads = [threading.Thread(target=submit) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
        assert len({a.json()["id"] for a in answers}) == 1
        orders = k.diner.get(f"/api/diner/{token}/orders").json()["orders"]
        assert sorted(o["id"] for o in orders) == sorted(
            [first.json()["id"], answers[0].json()["id"]]
        )
        # One ticket each: the next order's tickets come right after them.
        marker = k.order(token, [KUNGPAO, TEA], key()).json()
        assert printed_until(k, "hot", marker["no"]) == [first.json()["no"], marker["no"]]
        assert printed_until(k, "bar", marker["no"]) == [answers[0].json()["no"], marker["no"]]


def _count_orders(k_staff: httpx.Client) -> int:
    return len(k_staff.get("/api/orders").json()["orders"])


@pytest.mark.parametrize(
    ("lines", "status", "code"),
    [
        ([{"dish": "nope", "qty": 1}], 422, "unknown_dish"),
        ([{"dish": "rice", "qty": 0}], 422, "bad_quantity"),
        ([{"dish": "rice", "qty": -3}], 422, "bad_quantity"),
        ([{"dish": "rice", "qty": 100000}], 422, "bad_quantity"),
        ([{"dish": "kungpao", "qty": 1}], 422, "bad_option"),
        ([{"dish": "kungpao", "qty": 1, "options": {"spice": "lava"}}], 422, "bad_option"),
        ([{"dish": "rice", "qty": 1, "options": {"size": "large"}}], 422, "bad_option"),
        ([], 422, "empty_order"),
        # A good line then a bad one: the whole order is refused, nothing half-written.
        ([{"dish": "rice", "qty": 1}, {"dish": "nope", "qty": 1}], 422, "unknown_dish"),
    ],
)
def test_bad_orders_get_a_clear_error_and_write_nothing(
    tmp_path: Path, store: str, lines: list[dict[str, object]], status: int, code: str
) -> None:
    with kitchen(tmp_path, store) as k:
        r = k.order(k.token(), lines, key())
        assert r.status_code == status, r.text
        detail = r.json()["detail"]
        assert detail["code"] == code
        assert " / " in detail["message"]  # Chinese / English
        assert _count_orders(k.staff) == 0
        # Nothing printed, and the number was not used: the next order is the day's first,
        # and the first ticket of every station.
        marker = k.order(k.token(), EVERY_STATION, key()).json()
        assert marker["no"] == 1
        for station in STATIONS:
            assert printed_until(k, station, 1) == [1]


def test_tokens_closed_tables_sold_out_and_prices_from_clients(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        token = k.token("A1")
        other = k.token("A2")
        table, version, sig = token.split(".")
        forged = [
            f"A2.{version}.{sig}",  # another table's name with A1's signature
            f"{table}.{int(version) + 1}.{sig}",
            f"{table}.{version}.{'A' * 16}",
            "garbage",
        ]
        for bad in forged:
            page = k.diner.get(f"/t/{bad}")
            assert (
                page.status_code == 403 and "二维码无效" in page.text and "<form" not in page.text
            )
            r = k.order(bad, [TEA], key())
            assert r.status_code == 403 and r.json()["detail"]["code"] == "bad_token"
        assert k.diner.get(f"/t/{token}").status_code == 200

        # A new QR code for A1 only: its old code stops working, A2's keeps working.
        assert k.staff.post("/api/tables/A1/rotate-qr").status_code == 200
        assert k.order(token, [TEA], key()).json()["detail"]["code"] == "bad_token"
        assert k.order(other, [TEA], key()).status_code == 201
        token = k.token("A1")

        # Closed table: a clear message, no order.
        assert k.staff.post("/api/tables/A1/close").json()["open"] is False
        r = k.order(token, [TEA], key())
        assert (r.status_code, r.json()["detail"]["code"]) == (409, "table_closed")
        k.staff.post("/api/tables/A1/open")

        # Sold out: at once, for the next order.
        k.staff.post("/api/menu/dishes/tea/sold-out", json={"sold_out": True})
        menu = k.diner.get(f"/api/diner/{token}/menu").json()
        assert next(d for d in menu["dishes"] if d["id"] == "tea")["sold_out"] is True
        r = k.order(token, [TEA], key())
        assert (r.status_code, r.json()["detail"]["code"]) == (409, "sold_out")
        assert "菊花茶" in r.json()["detail"]["message"]
        k.staff.post("/api/menu/dishes/tea/sold-out", json={"sold_out": False})

        # A price sent by the phone is ignored; the hub prices the order.
        cheap = {"dish": "fish", "qty": 1, "options": {"size": "large"}, "price_fen": 1}
        r = k.order(token, [cheap], key(), total_fen=1)
        assert r.status_code == 201 and r.json()["total_fen"] == 8800 + 4000

        # One key, another order: refused, the first order stands.
        reused = key()
        assert k.order(token, [TEA], reused).status_code == 201
        r = k.order(token, [{"dish": "beer", "qty": 5}], reused)
        assert (r.status_code, r.json()["detail"]["code"]) == (409, "key_reused")

        # Notes: markup is kept as text (the pages show it as text; the ticket prints it).
        r = k.order(token, [{"dish": "rice", "qty": 1, "note": "<b>少饭</b>\x1b@"}], key())
        assert r.status_code == 201
        assert r.json()["lines"][0]["note"].startswith("<b>少饭</b>")
        tickets = k.tickets("hot", 2)
        assert any("<b>少饭</b>" in t for t in tickets)


def test_void_reprint_done_and_the_queue_screen(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        token = k.token("A1")
        order = k.order(token, [KUNGPAO, {"dish": "rice", "qty": 2}], key()).json()
        [first] = k.tickets("hot", 1)
        assert "宫保鸡丁" in first and "米饭" in first

        rice = next(x for x in order["lines"] if x["dish"] == "rice")
        voided = k.staff.post(f"/api/orders/{order['id']}/lines/{rice['id']}/void").json()
        assert voided["total_fen"] == 2 * 3800
        _, void = k.tickets("hot", 2)
        assert "作废 VOID" in void and "米饭" in void and "宫保鸡丁" not in void
        # Voiding again prints nothing more.
        k.staff.post(f"/api/orders/{order['id']}/lines/{rice['id']}/void")

        kitchen_job = next(j for j in voided["print"] if j["kind"] == "kitchen")
        assert k.staff.post(f"/api/print-jobs/{kitchen_job['id']}/reprint").status_code == 200
        tickets = k.tickets("hot", 3)
        assert "补打 REPRINT" in tickets[2] and "宫保鸡丁" in tickets[2]
        assert sum("REPRINT" in t for t in tickets) == 1

        with k.broker.sub("screen-01", f"store/{store}/hub/ready") as seen:
            done = k.staff.post(f"/api/orders/{order['id']}/done").json()
            assert done["status"] == "done"
            wait_until(
                lambda: any(f"{order['no']}" in line and '"ready"' in line for line in seen),
                what="the queue screen to get the ready number",
            )
        assert k.staff.get("/api/orders").json()["orders"] == []
        assert k.diner.get(f"/api/diner/{token}/orders").json()["orders"][0]["status"] == "done"


def test_staff_endpoints_need_a_login(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        for method, path in [
            ("GET", "/api/orders"),
            ("GET", "/api/tables"),
            ("GET", "/api/menu"),
            ("POST", "/api/tables/A1/close"),
            ("POST", "/api/menu/dishes/tea/sold-out"),
            ("POST", "/api/print-jobs/x/reprint"),
        ]:
            assert k.diner.request(method, path, json={"sold_out": True}).status_code == 401


def test_calls_and_the_bill_from_the_table(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store, calls_per_table_per_minute=2) as k:
        token = k.token("B1")
        k.order(token, [KUNGPAO, TEA], key())
        k.tickets("hot", 1)
        r = k.diner.post(f"/api/diner/{token}/call", json={"reason": "bill"})
        assert r.status_code == 200 and r.json()["receipt"] is True
        calls = k.staff.get("/api/calls").json()
        assert [(c["table"], c["reason"]) for c in calls] == [("B1", "bill")]
        # The receipt goes to the first printer (no cashier printer in this store).
        receipt = k.tickets("hot", 2)[1]
        assert "结账单 RECEIPT" in receipt and "合计 Total: 88.00" in receipt
        assert k.diner.post(f"/api/diner/{token}/call", json={"reason": "service"}).is_success
        r = k.diner.post(f"/api/diner/{token}/call", json={"reason": "service"})
        assert r.status_code == 429 and r.json()["detail"]["code"] == "rate_limited"
        assert len(k.staff.get("/api/calls").json()) == 1  # one open call, pressed again


def test_a_table_closed_before_paying_keeps_its_whole_bill(tmp_path: Path, store: str) -> None:
    def due(table: str) -> int:
        tables = k.staff.get("/api/tables").json()["tables"]
        return int(next(t["due_fen"] for t in tables if t["id"] == table))

    with kitchen(tmp_path, store) as k:
        token = k.token("A3")
        with sqlite3.connect(k.hub.settings.db_path) as db:
            [(seated,)] = db.execute("SELECT opened_at FROM dining_tables WHERE id = 'A3'")
        assert k.order(token, [KUNGPAO], key()).status_code == 201
        k.staff.post("/api/tables/A3/close").raise_for_status()  # no more orders, still eating
        assert due("A3") == 7600
        # Opened again (dessert, or a slip of the finger): the same party, the same bill.
        assert k.staff.post("/api/tables/A3/open").json()["due_fen"] == 7600
        assert len(k.diner.get(f"/api/diner/{token}/orders").json()["orders"]) == 1
        assert k.order(token, [TEA], key()).status_code == 201
        k.staff.post("/api/tables/A3/close").raise_for_status()
        r = k.staff.post("/api/tables/A3/pay", json={"method": "cash", "amount_fen": 8800})
        assert r.status_code == 200, r.text
        assert len(r.json()["orders"]) == 2
        r = k.staff.post("/api/tables/A3/pay", json={"method": "cash"})
        assert r.status_code == 409 and r.json()["detail"]["code"] == "already_paid"
        # Paid: opening now seats a new party with nothing on its bill or its page.
        assert k.staff.post("/api/tables/A3/open").json()["due_fen"] == 0
        assert k.diner.get(f"/api/diner/{token}/orders").json()["orders"] == []
        with sqlite3.connect(k.hub.settings.db_path) as db:  # each order names its party
            parties = db.execute("SELECT party_opened_at FROM orders ORDER BY id").fetchall()
            [(next_party,)] = db.execute("SELECT opened_at FROM dining_tables WHERE id = 'A3'")
        assert parties == [(seated,), (seated,)]  # both orders: the party seated before them
        assert next_party > seated  # and the new party is another one


def test_staff_take_the_payment_and_the_table_closes(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        token = k.token("A2")
        k.order(token, [KUNGPAO], key())
        due = {t["id"]: t["due_fen"] for t in k.staff.get("/api/tables").json()["tables"]}
        assert due["A2"] == 2 * 3800 and due["A1"] == 0
        k.order(token, [TEA], key())  # ordered while the waiter walked over with the bill
        r = k.staff.post("/api/tables/A2/pay", json={"method": "wechat", "amount_fen": due["A2"]})
        assert r.status_code == 409 and r.json()["detail"]["code"] == "bill_changed"
        assert r.json()["detail"]["amount_fen"] == 2 * 3800 + 1200
        r = k.staff.post("/api/tables/A2/pay", json={"method": "wechat", "amount_fen": 8800})
        assert r.status_code == 200, r.text
        paid = r.json()
        assert paid["amount_fen"] == 2 * 3800 + 1200 and len(paid["orders"]) == 2
        # Paid: the table is closed, its code takes no order, and it cannot be paid twice.
        r = k.order(token, [TEA], key())
        assert r.json()["detail"]["code"] == "table_closed"
        assert k.staff.post("/api/tables/A2/pay", json={"method": "cash"}).status_code == 409
        assert k.staff.post("/api/tables/A2/pay", json={"method": "gold"}).status_code == 422
        # A party that walked out: written off, so the table can seat the next one.
        assert k.order(k.token("A4"), [TEA], key()).status_code == 201
        k.staff.post("/api/tables/A4/close")
        r = k.staff.post("/api/tables/A4/pay", json={"method": "waived", "amount_fen": 1200})
        assert r.status_code == 200 and r.json()["method"] == "waived"
        assert k.staff.post("/api/tables/A4/open").json()["due_fen"] == 0
        # The next party starts with an empty page and nothing to pay.
        assert k.staff.post("/api/tables/A2/open").json()["due_fen"] == 0
        assert k.diner.get(f"/api/diner/{token}/orders").json()["orders"] == []
        r = k.staff.post("/api/tables/A2/pay", json={"method": "cash"})
        assert r.json()["detail"]["code"] == "nothing_to_pay"
        with sqlite3.connect(k.hub.settings.db_path) as db:
            facts = [
                json.loads(d)
                for t, d in db.execute("SELECT type, data FROM outbox")
                if t == "payment.recorded"
            ]
        assert [(f["amount_fen"], f["method"]) for f in facts] == [
            (8800, "wechat"),
            (1200, "waived"),
        ]


def test_the_next_party_pays_its_own_bill_even_if_the_hub_clock_went_back(tmp_path: Path) -> None:
    """A hub running hours fast takes a payment, then NTP sets its clock back and the table
    is opened for new guests: their bill is their orders, neither 'already paid' nor mixed
    with the last party's (a party is its orders by key, not 'everything since it opened')."""
    from contract.menu import load_menu
    from edge.db import init_db, make_engine
    from edge.orders import service
    from edge.orders.models import Order
    from edge.orders.schemas import LineRequest
    from edge.printing.service import Routes
    from edge.tables import service as tables
    from edge.tables.models import DiningTable
    from smartstore.samples import SAMPLE_MENU

    menu = load_menu(SAMPLE_MENU)
    at_a1 = service.Origin(service.SOURCE_TABLE, "A1", "A1")
    no_printers = Routes(by_station={}, receipt_printer="", addresses={})

    def order(s: Session, dish: str, at: float) -> Order:
        line = LineRequest(dish=dish, qty=1)
        placed = service.place_order(
            s, menu, frozenset(), no_printers, at_a1, key(), [line], "", at
        )
        assert placed.created
        return placed.order

    engine = make_engine(tmp_path / "hub.db")
    sessions = init_db(engine)
    try:
        with sessions.begin() as s:
            s.add(DiningTable(id="A1", name="A1", opened_at=10_000.0))
        with sessions.begin() as s:
            first = order(s, "rice", 10_100.0)  # 米饭 3.00
            assert (first.no, first.total_fen, first.party_opened_at) == (1, 300, 10_000.0)
        with sessions.begin() as s:
            assert service.settle_table(s, "A1", "cash", "alice", 17_200.0).amount_fen == 300
        with sessions.begin() as s:  # the clock set back two hours; new guests seated
            tables.set_open(s, "A1", True, 10_060.0, party_settled=True)
        with sessions.begin() as s:
            # Placed before the last party's payment by the clock, but in the new party.
            second = order(s, "noodles", 10_120.0)  # 担担面 22.00
            assert (second.no, second.total_fen, second.party_opened_at) == (2, 2200, 10_060.0)
            second_uid = second.uid
        with sessions.begin() as s:
            assert service.amounts_due(s) == {"A1": 2200}
            assert [o.no for o in service.table_orders(s, "A1", 10_060.0)] == [2]
            paid = service.settle_table(s, "A1", "wechat", "alice", 10_300.0)
            assert (paid.amount_fen, paid.order_uids) == (2200, [second_uid])
    finally:
        engine.dispose()
