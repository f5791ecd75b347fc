"""Orders at a busy store: phones (HTTP) and kiosks (MQTT) together, kitchen tickets as bytes.

Offers a steady rate of orders for a while: three quarters from phones at the tables' QR pages,
one quarter from kiosks over MQTT. Measures order-accepted latency (phone: the POST's answer;
kiosk: publish → the hub's ack), order → kitchen-ticket-bytes latency (the last ticket of the
order received by a software printer on TCP), and the diner page's time to first byte and bytes
of a first load (before pictures).

Every order carries a tag of the benchmark's own in its order note, which the hub prints on
each of its kitchen tickets: the tickets the printers received are matched to every order
sent, answered or not. Lost: an order and station it needs with no ticket; duplicated: more
than one ticket for an order and station (not counting tickets marked REPRINT); unexpected: a
ticket for no order sent or for a station the order does not need; wrong: not that station's
lines, or not the number the hub answered. Orders refused or never answered count too. Exits 1
if any of these is not 0 (bench/common.py).

With `--members F` every run measures the store twice, on a fresh hub each, interleaved (plain,
members, plain, members…). Before the clock starts in both, the members join on their phones
(HTTP) and a manager grants them points: the same hub state and warm-up. Plain: then orders as
above. Members: a fraction F of the phone orders come from members' phones (the order carries
the member's cookie) at their own tables, one party after another. A party's member opens their
member tab as they sit down (the party's member), orders a few times, and as the party finishes
staff pay its bill with the member's points or their welcome coupon (alternately; a manager
granted points beforehand) for the exact amount owed, then open the table for the next party.
The other phone orders and the kiosks are as in the plain run. The two runs are printed side by
side with the ratio of their latencies (target: the members run's order-accepted and
order → ticket p99 within 10% of the plain run's). Correctness as above, and: every member
payment succeeded and answered what the rules say (coupon, points used and earned, balance);
after the hub is killed, its database holds exactly the member payments answered, and each
member's ledger sums to the points the benchmark expects.

    .venv/bin/python -m bench.bench_orders [--rate 20] [--seconds 60] [--runs 3] [--no-write]
        [--members 0.5]
"""

import argparse
import functools
import math
import os
import platform
import re
import secrets
import sqlite3
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    Check,
    ProcessSampler,
    Table,
    Target,
    Verdict,
    at_least,
    at_most,
    markdown_table,
    median,
    met_cell,
    percentile,
    print_run,
    write_section,
    zero,
)
from contract import EventAck, KioskOrderEvent, KioskOrderLine, encode
from contract.const import AckStatus
from contract.inventory import RECEIPT_STATION, generate_inventory
from contract.members import CouponKind, MembersConfig
from contract.menu import load_menu
from devices.fleet import Fleet
from devices.kiosk import Kiosk, random_lines
from devices.virtual_printer import VirtualPrinter, decode_text
from edge.members.domain import MEMBER_COOKIE
from smartstore.samples import SAMPLE_MENU
from tests.support import PIN, STAFF, hub_settings, run_hub_process, start_broker

STATIONS = ("hot", "cold", "bar")
NO = re.compile(r"No\. (\d+)")
TAG = re.compile(r"Order note: (bench-\d+)")  # each order's own tag, printed on its tickets
DISH = re.compile(r"^(\d+) x (.+)$", re.M)
REPRINT = "REPRINT"
RECEIPT = "结账单 RECEIPT"  # a member's paid receipt (printed on the first printer)
SETTLE_S = 30.0  # after the last order: the longest wait for acks and tickets
LATE_S = 2.0  # then this long for tickets printed twice to show up

Lines = Counter[tuple[int, str]]  # (qty, dish name as printed)


@dataclass
class SentOrder:
    """One order as the benchmark sent it, and what the hub answered."""

    source: str  # "phone" | "kiosk"
    at: float  # monotonic, when sent
    stations: dict[str, Lines]  # the tickets it needs: station -> the lines printed there
    answer: str = "no answer"  # "accepted", or the refusal (HTTP status, "rejected")
    no: int | None = None  # the number the hub answered with
    accepted_ms: float | None = None


@dataclass(frozen=True)
class Printed:
    at: float  # monotonic, when the printer had the whole job
    station: str  # of the printer that received it
    text: str


def tally_tickets(orders: Mapping[str, SentOrder], printed: Sequence[Printed]) -> dict[str, Any]:
    """Every ticket matched to the order it names (by the tag in its order note), whatever the
    hub answered that order: each order sent must yield one ticket per station it needs, with
    that station's lines and the number the hub answered (when it answered)."""
    originals: Counter[tuple[str, str]] = Counter()  # (tag, station) -> tickets not REPRINT
    first: dict[tuple[str, str], float] = {}
    unexpected = wrong = reprints = receipts = 0
    for p in printed:
        if RECEIPT in p.text:
            receipts += 1  # a member's paid receipt: counted against the payments
            continue
        m = TAG.search(p.text)
        tag = m.group(1) if m else ""
        order = orders.get(tag)
        if order is None or p.station not in order.stations:
            unexpected += 1  # no order of ours, or a station the order does not need
            continue
        if REPRINT in p.text:
            reprints += 1  # a reprint says so: not a duplicate, but the ticket is there
        else:
            originals[(tag, p.station)] += 1
        first.setdefault((tag, p.station), p.at)
        lines = Counter((int(q), name.strip()) for q, name in DISH.findall(p.text))
        no = NO.search(p.text)
        if lines != order.stations[p.station] or (
            order.no is not None and (no is None or int(no.group(1)) != order.no)
        ):
            wrong += 1
    needed = [(tag, st) for tag, o in orders.items() for st in o.stations]
    missing = [k for k in needed if k not in first]
    to_ticket = [
        (max(first[(tag, st)] for st in o.stations) - o.at) * 1000
        for tag, o in orders.items()
        if all((tag, st) in first for st in o.stations)
    ]
    return {
        "tickets_expected": len(needed),
        "orders_lost": len({tag for tag, _ in missing}),
        "tickets_lost": len(missing),
        "tickets_duplicated": sum(n - 1 for n in originals.values() if n > 1),
        "tickets_unexpected": unexpected,
        "tickets_wrong": wrong,
        "reprints": reprints,
        "receipts": receipts,
        "ticket_p50": median(to_ticket),
        "ticket_p99": percentile(to_ticket, 99),
    }


def page_load(base_url: str, path: str, token: str) -> tuple[float, int]:
    """Time to first byte of the diner page (ms) and bytes of its first load before pictures."""
    with httpx.Client(base_url=base_url, timeout=10) as c:
        t0 = time.perf_counter()
        with c.stream("GET", path) as r:
            ttfb = (time.perf_counter() - t0) * 1000
            page = r.read()
        assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page)
        total = len(page) + sum(len(c.get(a.decode()).content) for a in assets)
        total += len(c.get(f"/api/diner/{token}/menu").content)
        total += len(c.get(f"/api/diner/{token}/orders").content)
    return ttfb, total


# --- members: parties of signed-in members, paid with points or a coupon -------------------

GRANT = 1000  # points a manager grants each member before the clock starts
PARTY_ORDERS = 3  # a member's party orders this many times, then pays
PARTY_ORDERS_MAX = 6  # a coupon party orders on until its bill reaches the coupon's minimum


@dataclass
class MemberPhone:
    """A joined member's phone, and what the benchmark expects of their points."""

    member: str
    cookie: str  # the member's session cookie, as the join answered it
    coupon: str | None  # the welcome coupon, until it is spent
    points: int = 0  # the balance the rules give (the grant, then every payment)
    paid_fen: int = 0  # paid here so far (the member's level)
    offline_spent: int = 0  # points spent today (no HQ: the day's offline allowance)
    busy: bool = False  # at a table now


@dataclass
class Party:
    phone: MemberPhone
    kind: str  # "points" | "coupon": how the party means to pay
    orders: int = 0
    gross_fen: int = 0


@dataclass
class MemberTable:
    id: str
    token: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    party: Party | None = None


class MemberParties:
    """Members' parties at their tables: joined and granted points before the clock starts;
    then each order from a member's phone, the member tab as a party sits down, and the bill
    paid with points or the coupon as the party finishes."""

    def __init__(self, base_url: str, staff: httpx.Client, tables: list[tuple[str, str]]) -> None:
        self.base_url = base_url
        self.staff_cookies = staff.cookies
        self.tables = [MemberTable(i, t) for i, t in tables]
        self.config = MembersConfig()  # the hub's: no HQ configuration pushed here
        welcome = self.config.coupon(self.config.welcome_coupon or "")
        assert welcome is not None and welcome.kind is CouponKind.AMOUNT_OFF
        self.welcome = welcome
        self._clients: list[httpx.Client] = []
        self.phones: list[MemberPhone] = []
        self._lock = threading.Lock()
        self._next_phone = 0
        self._parties = 0
        self.tab_ms: list[float] = []
        self.pay_ms: list[float] = []
        self.paid: dict[str, str] = {}  # payment uid -> member, as the hub answered
        self.counts: Counter[str] = Counter()
        self._local = threading.local()

    # set-up, before the clock starts ------------------------------------------------------

    def join(self, n: int, tokens: list[str]) -> None:
        """n members join on their phones (at every table in turn: a table may join four a
        minute), a manager grants each GRANT points; then the member tables start empty (a
        join makes its member the party's)."""

        def one(i: int) -> MemberPhone:
            with httpx.Client(base_url=self.base_url, timeout=30) as phone:
                r = phone.post(
                    f"/api/diner/{tokens[i % len(tokens)]}/member/join",
                    json={"phone": f"137{i:08d}", "consent": True},
                )
                r.raise_for_status()
                member = r.json()["member"]
                welcome = [c["code"] for c in member["coupons"]]
                cookie = phone.cookies[MEMBER_COOKIE]
            r = self._staff().post(
                f"/api/members/{member['id']}/adjust",
                json={"points": GRANT, "reason": "bench: points to spend"},
            )
            r.raise_for_status()
            assert r.json()["points"] == GRANT, r.text
            return MemberPhone(member["id"], cookie, welcome[0] if welcome else None, GRANT)

        with ThreadPoolExecutor(max_workers=8) as pool:
            self.phones = list(pool.map(one, range(n)))
        for t in self.tables:
            for what in ("close", "open"):
                self._staff().post(f"/api/tables/{t.id}/{what}").raise_for_status()

    def _count(self, what: str) -> None:
        with self._lock:  # worker threads at different tables count at once
            self.counts[what] += 1

    def _staff(self) -> httpx.Client:
        if not hasattr(self._local, "staff"):
            self._local.staff = httpx.Client(
                base_url=self.base_url, timeout=30, cookies=self.staff_cookies
            )
            with self._lock:
                self._clients.append(self._local.staff)
        client: httpx.Client = self._local.staff
        return client

    # the parties ----------------------------------------------------------------------------

    def _sit_down(self, table: MemberTable, diner: httpx.Client) -> Party:
        """The next free member sits at the table and opens their member tab: the party's."""
        with self._lock:
            for _ in range(len(self.phones)):
                phone = self.phones[self._next_phone % len(self.phones)]
                self._next_phone += 1
                if not phone.busy:
                    break
            else:
                raise RuntimeError("every member is at a table: join more")
            phone.busy = True
            kind = "points" if self._parties % 2 == 0 else "coupon"
            self._parties += 1
        t0 = time.perf_counter()
        try:
            r = diner.get(
                f"/api/diner/{table.token}/member",
                headers={"Cookie": f"{MEMBER_COOKIE}={phone.cookie}"},
            )
            seen = r.json().get("member") if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            seen = None
        self.tab_ms.append((time.perf_counter() - t0) * 1000)
        if not seen or seen.get("id") != phone.member or seen.get("points") != phone.points:
            self._count("tab_wrong")
        return Party(phone, kind)

    def order(
        self,
        table: MemberTable,
        diner: httpx.Client,
        send: Callable[[httpx.Client, str, dict[str, str]], int | None],
    ) -> None:
        """One order from the member's phone at `table` (`send` places it and returns its
        total, None if it was not accepted); the bill paid when the party is done."""
        try:
            self._order(table, diner, send)
        except Exception:  # on a pool thread: it would pass unseen
            self._count("errors")
            traceback.print_exc()

    def _order(
        self,
        table: MemberTable,
        diner: httpx.Client,
        send: Callable[[httpx.Client, str, dict[str, str]], int | None],
    ) -> None:
        with table.lock:
            party = table.party
            if party is None:
                party = table.party = self._sit_down(table, diner)
            cookie = {"Cookie": f"{MEMBER_COOKIE}={party.phone.cookie}"}
            total = send(diner, table.token, cookie)
            self._count("member_orders")
            if total is None:
                self._count("member_orders_failed")
                return
            party.orders += 1
            party.gross_fen += total
            done = party.orders >= PARTY_ORDERS and (
                party.kind != "coupon" or party.gross_fen >= self.welcome.min_spend_fen
            )
            if done or party.orders >= PARTY_ORDERS_MAX:
                self._pay(table, party)
                table.party = None

    def _pay(self, table: MemberTable, party: Party) -> None:
        """Staff take the bill for the exact amount owed, with the coupon or points."""
        phone, config, gross = party.phone, self.config, party.gross_fen
        coupon, points, coupon_off = None, 0, 0
        welcome = self.welcome
        if party.kind == "coupon" and phone.coupon is not None and gross >= welcome.min_spend_fen:
            coupon, coupon_off = phone.coupon, min(welcome.value_fen, gross)
        else:
            allowance = config.offline_points_per_day - phone.offline_spent
            points = max(0, min(config.max_redeem_points(gross), phone.points, allowance))
        body: dict[str, object] = {"method": "wechat", "amount_fen": gross}
        if coupon is not None:
            body["coupon"] = coupon
        if points:
            body["points"] = points
        paid_fen = gross - coupon_off - points * config.point_value_fen
        level = config.level_for(phone.paid_fen)  # this bill counts from the next one
        earned = config.points_earned(paid_fen, level.id)
        staff = self._staff()
        t0 = time.perf_counter()
        try:
            r = staff.post(f"/api/tables/{table.id}/pay", json=body)
        except httpx.HTTPError:
            r = None
        self.pay_ms.append((time.perf_counter() - t0) * 1000)
        if r is None or r.status_code != 200:
            self._count("pay_failed")
        else:
            got = r.json()
            self._count("paid_coupon" if coupon else "paid_points")
            with self._lock:
                self.paid[got["id"]] = phone.member
            phone.points += earned - points
            phone.paid_fen += paid_fen
            phone.offline_spent += points
            if coupon is not None:
                phone.coupon = None
            expected = {
                "member": phone.member,
                "gross_fen": gross,
                "amount_fen": paid_fen,
                "coupon": coupon,
                "coupon_off_fen": coupon_off,
                "points_used": points,
                "points_earned": earned,
                "points_balance": phone.points,
            }
            if any(got.get(k) != v for k, v in expected.items()):
                self._count("pay_wrong")
        if party.kind == "coupon" and coupon is None:
            self._count("coupon_fell_back_to_points")
        try:
            r = staff.post(f"/api/tables/{table.id}/open")
            opened = r.status_code == 200 and r.json()["open"] is True
        except httpx.HTTPError:
            opened = False
        if not opened:
            self._count("reopen_failed")
        with self._lock:
            phone.busy = False

    def close(self) -> None:
        for c in self._clients:
            c.close()

    # after the hub is killed: what its database holds -------------------------------------

    def read_back(self, db: Path) -> dict[str, int]:
        conn = sqlite3.connect(db)
        try:
            ledger = dict(
                conn.execute(
                    "SELECT member_id, SUM(points) FROM member_points GROUP BY member_id"
                ).fetchall()
            )
            stored = dict(
                conn.execute(
                    "SELECT uid, member_id FROM payments WHERE member_id IS NOT NULL"
                ).fetchall()
            )
        finally:
            conn.close()
        return {
            "points_wrong": sum(1 for p in self.phones if ledger.get(p.member) != p.points),
            "payments_missing": sum(1 for uid in self.paid if uid not in stored),
            "payments_unexpected": sum(1 for uid in stored if uid not in self.paid),
            "payments_wrong_member": sum(
                1 for uid, m in self.paid.items() if uid in stored and stored[uid] != m
            ),
        }

    def figures(self) -> dict[str, float]:
        c = self.counts
        paid = c["paid_points"] + c["paid_coupon"]
        return {
            "members_joined": len(self.phones),
            "member_orders": c["member_orders"],
            "member_orders_failed": c["member_orders_failed"],
            "tab_n": len(self.tab_ms),
            "tab_wrong": c["tab_wrong"],
            "tab_p50": median(self.tab_ms),
            "tab_p99": percentile(self.tab_ms, 99),
            "paid_points": c["paid_points"],
            "paid_coupon": c["paid_coupon"],
            "paid": paid,
            "coupon_fell_back": c["coupon_fell_back_to_points"],
            "pay_failed": c["pay_failed"],
            "pay_wrong": c["pay_wrong"],
            "reopen_failed": c["reopen_failed"],
            "errors": c["errors"],
            "pay_p50": median(self.pay_ms),
            "pay_p99": percentile(self.pay_ms, 99),
        }


def measure(
    rate: float,
    seconds: float,
    tables: int,
    work: Path,
    members: float = 0.0,
    idle_members: bool = False,
) -> dict[str, Any]:
    """One run on a fresh hub; with `members` > 0 that fraction of the phone orders are
    members' (MemberParties). `idle_members`: the members join and get their points as for
    that run (the same hub state and warm-up), then every order is placed as without members:
    the plain side of a comparison."""
    printed: list[Printed] = []
    have: set[tuple[str, str]] = set()  # (tag, station) with a ticket so far
    receipts = 0  # members' paid receipts printed so far
    lock = threading.Lock()

    def printer_of(station: str) -> Callable[[bytes], None]:
        def on_job(job: bytes) -> None:
            nonlocal receipts
            at = time.monotonic()
            text = decode_text(job)
            with lock:
                printed.append(Printed(at, station, text))
                if RECEIPT in text:
                    receipts += 1
                else:
                    have.update((tag, station) for tag in TAG.findall(text))

        return on_job

    printers = {
        s: VirtualPrinter(on_job=printer_of(s)).start() for s in (*STATIONS, RECEIPT_STATION)
    }
    inventory = generate_inventory("BENCH", tables=tables, kiosks=4, printers=3)
    devices = [
        d.model_copy(update={"address": f"127.0.0.1:{printers[d.station].port}"})
        if d.station
        else d
        for d in inventory.devices
    ]
    # The cashier's receipt printer, as a store that takes payments has: receipts (members'
    # bills here) do not queue on a kitchen's printer. The same store in both runs.
    kitchen = next(d for d in devices if d.station == STATIONS[0])
    devices.append(
        kitchen.model_copy(
            update={
                "id": "printer-cashier",
                "zone": "front",
                "station": RECEIPT_STATION,
                "address": f"127.0.0.1:{printers[RECEIPT_STATION].port}",
            }
        )
    )
    inventory = inventory.model_copy(update={"devices": devices})
    broker = start_broker(work / "mqtt", inventory)
    settings = hub_settings(broker, work / "hub", orders_per_table_per_minute=60)
    try:
        hub = run_hub_process(settings, work / "hub.log")
    except AssertionError:  # not up within 20 s: a shared machine under load; once more
        print("the hub did not start in time; starting it again", flush=True)
        hub = run_hub_process(settings, work / "hub.log")
    menu = load_menu(SAMPLE_MENU)
    dishes = menu.by_id()
    orders: dict[str, SentOrder] = {}  # tag -> the order
    kiosk_tags: dict[str, str] = {}  # kiosk event id -> tag

    def on_ack(device: Any, ack: EventAck, latency_s: float) -> None:
        order = orders[kiosk_tags[ack.id]]
        if ack.status is AckStatus.OK and ack.data and "no" in ack.data:
            order.answer, order.no = "accepted", int(ack.data["no"])
            order.accepted_ms = latency_s * 1000
        else:
            order.answer = "rejected"

    fleet = Fleet(inventory, broker.accounts, "127.0.0.1", broker.port, on_ack=on_ack)
    fleet.start()
    fleet.wait_connected()
    staff = httpx.Client(base_url=hub.base_url, timeout=10)
    staff.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
    listed = staff.get("/api/tables").json()["tables"]
    paths = [t["qr_path"] for t in listed]
    tokens = [p.rsplit("/", 1)[1] for p in paths]
    ttfb, page_bytes = page_load(hub.base_url, paths[0], tokens[0])
    parties: MemberParties | None = None
    plain_tokens = tokens
    if members > 0:
        # The member tables: the first `members` of them; plain phone orders go to the rest.
        n_tables = min(len(tokens), max(1, round(len(tokens) * members)))
        ids = [t["id"] for t in listed]
        parties = MemberParties(hub.base_url, staff, list(zip(ids, tokens, strict=True))[:n_tables])
        plain_tokens = tokens if idle_members else tokens[n_tables:] or tokens
        member_orders = rate * seconds * 0.75 * members
        pool_size = math.ceil(member_orders / PARTY_ORDERS) + n_tables + 10
        parties.join(min(pool_size, 4 * len(tokens)), tokens)

    def needs(lines: list[KioskOrderLine]) -> dict[str, Lines]:
        stations: dict[str, Lines] = {}
        for x in lines:
            dish = dishes[x.dish]
            stations.setdefault(dish.station, Counter())[(x.qty, dish.name_zh)] += 1
        return stations

    clients = threading.local()

    def diner() -> httpx.Client:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(base_url=hub.base_url, timeout=30)
        client: httpx.Client = clients.c
        return client

    def send(client: httpx.Client, token: str, tag: str, headers: dict[str, str]) -> int | None:
        """Place one order with its tag; its total when accepted."""
        lines = random_lines(menu)
        body = {
            "key": "k-" + secrets.token_hex(10),
            "lines": [x.model_dump() for x in lines],
            "note": tag,
        }
        t0 = time.monotonic()
        with lock:
            orders[tag] = order = SentOrder("phone", t0, needs(lines))
        try:
            r = client.post(f"/api/diner/{token}/orders", json=body, headers=headers)
        except httpx.HTTPError:
            return None  # no answer; its tickets are still expected
        if r.status_code == 201:
            answer = r.json()
            order.answer, order.no = "accepted", int(answer["no"])
            order.accepted_ms = (time.monotonic() - t0) * 1000
            return int(answer["total_fen"])
        order.answer = f"HTTP {r.status_code}"
        return None

    def phone_order(i: int, tag: str) -> None:
        send(diner(), plain_tokens[i % len(plain_tokens)], tag, {})

    def member_order(i: int, tag: str) -> None:
        assert parties is not None
        table = parties.tables[i % len(parties.tables)]
        parties.order(table, diner(), lambda c, token, headers: send(c, token, tag, headers))

    def kiosk_order(n: int, tag: str) -> None:  # on the fleet's loop
        kiosk = fleet.kiosks[n % len(fleet.kiosks)]
        assert isinstance(kiosk, Kiosk)
        lines = random_lines(menu)
        event_id = kiosk.next_event_id()
        with lock:
            kiosk_tags[event_id] = tag
            orders[tag] = SentOrder("kiosk", time.monotonic(), needs(lines))
        event = KioskOrderEvent(id=event_id, type="order", lines=lines, note=tag)
        kiosk.send_event(encode(event), event_id)

    def settled() -> bool:
        paid = len(parties.paid) if parties is not None else 0
        with lock:
            wanted = {(tag, st) for tag, o in list(orders.items()) for st in o.stations}
            return fleet.unacknowledged() == 0 and wanted <= have and receipts >= paid

    sampler = ProcessSampler(hub.proc.pid)
    sampler.start()
    load_at_start = os.getloadavg()[0]  # the machine is shared: the noise is said with the figures
    start = time.monotonic()
    n = phone_no = from_members = 0
    with ThreadPoolExecutor(max_workers=32) as pool:
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate)
            while n < due:
                tag = f"bench-{n:06d}"
                if n % 4 == 3:
                    fleet.loop.call_soon_threadsafe(functools.partial(kiosk_order, n // 4, tag))
                elif parties is None or idle_members:
                    pool.submit(phone_order, n, tag)  # as without members: every table in turn
                elif int((phone_no + 1) * members) > int(phone_no * members):
                    pool.submit(member_order, from_members, tag)
                    from_members += 1
                else:
                    pool.submit(phone_order, phone_no - from_members, tag)
                phone_no += n % 4 != 3
                n += 1
            time.sleep(0.005)
    deadline = time.monotonic() + SETTLE_S
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.1)
    cpu = sampler.stop()
    time.sleep(LATE_S)
    fleet.stop()
    staff.close()
    hub.kill()
    broker.stop()
    for p in printers.values():
        p.stop()
    member_figures: dict[str, float] = {}
    if parties is not None:
        parties.close()
        if not idle_members:
            member_figures = parties.figures() | parties.read_back(settings.db_path)

    with lock:
        sent, jobs = dict(orders), list(printed)
    phones = [o for o in sent.values() if o.source == "phone"]
    kiosks = [o for o in sent.values() if o.source == "kiosk"]
    accepted = [o.accepted_ms for o in sent.values() if o.accepted_ms is not None]
    return {
        "offered": n,
        "sent": len(sent),
        "phones_ok": sum(1 for o in phones if o.answer == "accepted"),
        "phones_failed": sum(1 for o in phones if o.answer != "accepted"),
        "kiosk_acked": sum(1 for o in kiosks if o.answer == "accepted"),
        "kiosk_failed": sum(1 for o in kiosks if o.answer != "accepted"),
        **tally_tickets(sent, jobs),
        "accept_p50": median(accepted),
        "accept_p99": percentile(accepted, 99),
        "ttfb_ms": ttfb,
        "page_kb": page_bytes / 1024,
        "cpu": cpu,
        "rss_mb": sampler.peak_rss / 2**20,
        "load": load_at_start,
        **member_figures,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=float, default=20.0, help="orders/s, phones and kiosks")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--tables", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--members",
        type=float,
        default=0.0,
        help="fraction of phone orders from members: each run then measures plain and members",
    )
    args = ap.parse_args()
    if args.members > 0:
        compare(args)
        return
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(args.rate, args.seconds, args.tables, Path(tmp))
        runs.append(r)
        print_run(i, r)

    offered = args.rate * args.seconds
    verdict = Verdict("bench_orders")
    t = Table(verdict, runs)
    t.add("orders offered", "offered", at_least(offered - 1, f"{offered:,.0f}"))
    t.add("phone orders accepted", "phones_ok", worst="min")
    t.add("phone orders refused or unanswered", "phones_failed", zero())
    t.add("kiosk orders acked", "kiosk_acked", worst="min")
    t.add("kiosk orders rejected or unanswered", "kiosk_failed", zero())
    t.add("kitchen tickets expected (order × station it needs)", "tickets_expected", worst="")
    t.add("orders lost (sent, a ticket missing)", "orders_lost", zero())
    t.add("tickets lost (order × station with no ticket)", "tickets_lost", zero())
    t.add(
        "tickets duplicated (order × station printed twice, not REPRINT)",
        "tickets_duplicated",
        zero(),
    )
    t.add("tickets for no order sent, or a station it does not need", "tickets_unexpected", zero())
    t.add(
        "tickets wrong (not the station's lines, or not the number answered)",
        "tickets_wrong",
        zero(),
    )
    t.add("tickets marked REPRINT", "reprints")
    t.add("order accepted p50 (ms)", "accept_p50", fmt="{:.1f}")
    t.add("order accepted p99 (ms)", "accept_p99", at_most(100), fmt="{:.1f}")
    t.add("order → ticket bytes p50 (ms)", "ticket_p50", fmt="{:.1f}")
    t.add("order → ticket bytes p99 (ms)", "ticket_p99", at_most(300), fmt="{:.1f}")
    t.add("diner page time to first byte (ms)", "ttfb_ms", fmt="{:.1f}")
    t.add("diner page first load before pictures (KB)", "page_kb", at_most(150), fmt="{:.1f}")
    t.add("hub CPU (% of one core)", "cpu")
    t.add("hub peak RSS (MB)", "rss_mb")

    table = f"""## Orders: {args.rate:.0f} orders/s for {args.seconds:.0f} s (phones and kiosks), tickets to TCP printers

`.venv/bin/python -m bench.bench_orders --rate {args.rate:.0f} --seconds {args.seconds:.0f} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
The hub as `smartstore hub` with the sample menu, {args.tables} tables, 4 kiosks, 3 stations each
with a software ESC/POS printer on TCP (in the benchmark's process). Three quarters of the orders
from phones (HTTP, 32 concurrent clients), one quarter from kiosks over MQTT. Accepted latency:
the phone's POST answer, or kiosk publish → the hub's ack. Order → ticket: the order sent → the
last of its kitchen tickets received in full by its printer. Every order carries its own tag in
its order note, printed on its tickets: each ticket is matched to the order sent (answered or
not) and checked against it (station, lines, number). Medians of {args.runs} runs; correctness
targets (0) hold in every run, performance targets are judged on the median.

{t.markdown()}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("orders", table)
    verdict.exit()


# --- plain and members side by side ------------------------------------------------------

RATIO = 1.10  # the members run's p99s: at most 10% above the plain run's

# (row, run key, target, format); correctness rows (zero) show and judge the worst run.
BOTH: tuple[tuple[str, str, Target | None, str], ...] = (
    ("phone orders accepted", "phones_ok", None, "{:,.0f}"),
    ("phone orders refused or unanswered", "phones_failed", zero(), "{:,.0f}"),
    ("kiosk orders acked", "kiosk_acked", None, "{:,.0f}"),
    ("kiosk orders rejected or unanswered", "kiosk_failed", zero(), "{:,.0f}"),
    ("kitchen tickets expected", "tickets_expected", None, "{:,.0f}"),
    ("orders lost (sent, a ticket missing)", "orders_lost", zero(), "{:,.0f}"),
    ("tickets lost", "tickets_lost", zero(), "{:,.0f}"),
    ("tickets duplicated (not REPRINT)", "tickets_duplicated", zero(), "{:,.0f}"),
    (
        "tickets for no order sent, or a station it does not need",
        "tickets_unexpected",
        zero(),
        "{:,.0f}",
    ),
    ("tickets wrong (station's lines, number answered)", "tickets_wrong", zero(), "{:,.0f}"),
    ("order accepted p50 (ms)", "accept_p50", None, "{:.1f}"),
    ("order accepted p99 (ms)", "accept_p99", at_most(100), "{:.1f}"),
    ("order → ticket bytes p50 (ms)", "ticket_p50", None, "{:.1f}"),
    ("order → ticket bytes p99 (ms)", "ticket_p99", at_most(300), "{:.1f}"),
    ("hub CPU (% of one core)", "cpu", None, "{:.0f}"),
    ("hub peak RSS (MB)", "rss_mb", None, "{:.0f}"),
)
RATIOS = ("accept_p50", "accept_p99", "ticket_p50", "ticket_p99", "cpu", "rss_mb")
CHECKED_RATIOS = ("accept_p99", "ticket_p99")
MEMBERS_ONLY: tuple[tuple[str, str, Target | None, str], ...] = (
    (
        "members joined (HTTP) and granted points before the clock",
        "members_joined",
        None,
        "{:,.0f}",
    ),
    ("orders from members' phones (cookie)", "member_orders", None, "{:,.0f}"),
    ("members' orders refused or unanswered", "member_orders_failed", zero(), "{:,.0f}"),
    ("member tab opened as a party sits down", "tab_n", None, "{:,.0f}"),
    ("member tab: wrong member or balance, or no answer", "tab_wrong", zero(), "{:,.0f}"),
    ("member tab p50 (ms)", "tab_p50", None, "{:.1f}"),
    ("member tab p99 (ms)", "tab_p99", None, "{:.1f}"),
    ("parties paid with points", "paid_points", None, "{:,.0f}"),
    ("parties paid with the welcome coupon", "paid_coupon", None, "{:,.0f}"),
    (
        "coupon parties paid with points instead (bill under 50 yuan)",
        "coupon_fell_back",
        None,
        "{:,.0f}",
    ),
    ("member payments refused or unanswered", "pay_failed", zero(), "{:,.0f}"),
    ("member payments answered other than the rules say", "pay_wrong", zero(), "{:,.0f}"),
    ("tables not opened again for the next party", "reopen_failed", zero(), "{:,.0f}"),
    ("benchmark errors in members' parties (on stderr)", "errors", zero(), "{:,.0f}"),
    ("payment p50 (ms)", "pay_p50", None, "{:.1f}"),
    ("payment p99 (ms)", "pay_p99", None, "{:.1f}"),
    ("database: member payments answered, not stored", "payments_missing", zero(), "{:,.0f}"),
    ("database: member payments stored, never answered", "payments_unexpected", zero(), "{:,.0f}"),
    ("database: payment stored with another member", "payments_wrong_member", zero(), "{:,.0f}"),
    ("database: members whose ledger ≠ the points expected", "points_wrong", zero(), "{:,.0f}"),
    ("members' paid receipts printed", "receipts", None, "{:,.0f}"),
)


def _figure(runs: Sequence[Mapping[str, Any]], key: str, target: Target | None) -> float:
    values = [float(r[key]) for r in runs]
    if target is not None and target.kind == "correctness":
        return max(values)
    return median(values)


def compare(args: argparse.Namespace) -> None:
    """Plain and members runs interleaved on fresh hubs; one table side by side."""
    plain: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    for i in range(args.runs):
        for mode, runs in (("plain", plain), ("members", members)):
            with tempfile.TemporaryDirectory() as tmp:
                r = measure(
                    args.rate, args.seconds, args.tables, Path(tmp), args.members, mode == "plain"
                )
            runs.append(r)
            print(f"[{mode}] ", end="")
            print_run(i, r)

    offered = args.rate * args.seconds
    verdict = Verdict("bench_orders --members")
    rows: list[list[str]] = []
    target_offered = at_least(offered - 1, f"{offered:,.0f}")
    rows.append(
        _row(verdict, "orders offered", "offered", target_offered, "{:,.0f}", plain, members)
    )
    # Receipts: one per member payment (only members' bills print one when paid).
    for m in members:
        m["receipts_missing"] = max(0, m["paid"] - m["receipts"])
    for label, key, target, fmt in BOTH:
        rows.append(_row(verdict, label, key, target, fmt, plain, members))
    for label, key, target, fmt in MEMBERS_ONLY:
        rows.append(_row(verdict, label, key, target, fmt, None, members))
    rows.append(
        _row(
            verdict,
            "members' payments with no receipt printed",
            "receipts_missing",
            zero(),
            "{:,.0f}",
            None,
            members,
        )
    )
    header = ["metric", "plain", f"members ({args.members:g})", "members ÷ plain", "target", "met"]
    per_run = [
        [
            f"{i + 1}",
            f"{p['accept_p99']:.1f}",
            f"{m['accept_p99']:.1f}",
            f"{p['ticket_p99']:.1f}",
            f"{m['ticket_p99']:.1f}",
            f"{p.get('load', float('nan')):.1f} / {m.get('load', float('nan')):.1f}",
        ]
        for i, (p, m) in enumerate(zip(plain, members, strict=True))
    ]
    runs_table = markdown_table(
        [
            "run",
            "accepted p99 plain",
            "accepted p99 members",
            "→ ticket p99 plain",
            "→ ticket p99 members",
            "machine load at start, plain / members",
        ],
        per_run,
    )
    share = args.members
    table = f"""## Orders with members: {args.rate:.0f} orders/s for {args.seconds:.0f} s, plain and with {share:.0%} of phone orders from members

`.venv/bin/python -m bench.bench_orders --members {share:g} --rate {args.rate:.0f} --seconds {args.seconds:.0f} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
Each run measures the store twice, each on a fresh hub, interleaved (plain, members, plain,
members…). In both, before the clock starts, the members join on their phones (HTTP; the welcome
coupon) and a manager grants each {GRANT} points: the same hub state and warm-up. Plain: then
every order as in "Orders" above. Members: {share:.0%} of the phone orders come from members'
phones at their own tables ({share:.0%} of the {args.tables}). A
party's member opens their member tab as they sit down (the party's member), orders
{PARTY_ORDERS} times (a coupon party until its bill reaches the coupon's 50 yuan, at most
{PARTY_ORDERS_MAX}), then staff pay the bill for the exact amount owed with points or the
welcome coupon (alternate parties), and open the table for the next party. No HQ is configured:
points are spent within the day's offline allowance. The other phone orders and the kiosks are as
in the plain run. A member payment must answer what the rules say (coupon and points off,
points earned, balance); after the hub is killed its database must hold exactly the member
payments answered, and each member's ledger must sum to the points expected. This store has
a `cashier` printer beside the three kitchen ones, in both runs: receipts print there, not on a
kitchen's printer (`edge/printing/service.py`, `Routes`). Medians of
{args.runs} runs; correctness rows show (and judge) the worst run. Target: the members run's
p99s at most {RATIO:.2f} × the plain run's (ratio of the medians).

{markdown_table(header, rows)}

The p99s of each run (the noise between neighbouring runs of the same code), and the machine's
1-minute load average as each run's clock started (2 cores, shared with other work):

{runs_table}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("orders-members", table)
    verdict.exit()


def _row(
    verdict: Verdict,
    label: str,
    key: str,
    target: Target | None,
    fmt: str,
    plain: Sequence[Mapping[str, Any]] | None,
    members: Sequence[Mapping[str, Any]],
) -> list[str]:
    checks: list[Check] = []
    m = _figure(members, key, target)
    p = _figure(plain, key, target) if plain is not None else None
    if target is not None:
        if p is not None:
            checks.append(verdict.check(f"plain: {label or key}", p, target))
        checks.append(verdict.check(f"members: {label or key}", m, target))
    ratio_cell, target_cell = "", str(target) if target is not None else ""
    if p is not None and key in RATIOS:
        ratio = m / p if p else float("nan")
        ratio_cell = f"{ratio:.2f}"
        if key in CHECKED_RATIOS:
            bound = at_most(RATIO, f"≤ {RATIO:.2f}")
            checks.append(verdict.check(f"members ÷ plain: {label}", ratio, bound))
            target_cell = f"{target_cell}; ratio {bound}" if target_cell else f"ratio {bound}"
    cells = [label, fmt.format(p) if p is not None else "—", fmt.format(m), ratio_cell]
    return [*cells, target_cell, met_cell(*checks)]


if __name__ == "__main__":
    main()
