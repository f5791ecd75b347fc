"""Member lookup at the hub with 100,000 members in its replica: the diner's member tab, staff
resolving a scanned member code or card at the bill, and the lookup in-process for reference.

The hub's database is made by its own migrations (edge.db.migrate), then filled in bulk: the
members (phone hashed with the chain's member key, a card each, HQ's balance elsewhere), about
ten ledger entries each, a few coupons each (some used, some expired), and the store's own
history: a year of orders (what "popular now" and "your usual" read) and of payments (what a
member's level reads), in a second file beside a "members only" one. Each seeded file is
copied for every run; each run measures both, each on a fresh hub.

Then, on the hub as its own process (`smartstore hub`), one client asks in turn, interleaved:
(a) `GET /api/diner/{token}/member` for a random member at a random table, with the member's
session cookie made by the hub's own signer; (b) `POST /api/tables/{id}/member` with a random
member's code of this minute (made with the hub's member-code key) or card number, as staff
at the bill. With the hub stopped, (c) `service.by_phone_hash` + `ledger.balance` on the
same file in this process. Wrong: an answer that does not name the member asked for (or, for
(a) and (c), not their balance), or no answer; any is a correctness failure (exit 1).

    .venv/bin/python -m bench.bench_members_hub [--members 100000] [--lookups 1000] [--runs 3]
        [--history-days 365] [--no-write]
"""

import argparse
import functools
import json
import os
import platform
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from bench.common import (
    ProcessSampler,
    Table,
    Verdict,
    at_most,
    median,
    percentile,
    print_run,
    write_section,
    zero,
)
from contract.inventory import Inventory, generate_inventory
from contract.members import (
    DEFAULT_COUPONS,
    IssuedCoupon,
    member_code,
    phone_hash,
)
from contract.menu import load_menu
from edge.auth import SessionSigner
from edge.db import make_engine, migrate
from edge.members import ledger, service
from edge.members.domain import MEMBER_COOKIE, derived_key
from smartstore.samples import SAMPLE_MENU
from tests.support import (
    MEMBER_KEY,
    PIN,
    SECRET,
    STAFF,
    hub_settings,
    run_hub_process,
    start_broker,
)

DAY_S = 86_400.0
TARGET_MS = 10.0
WARMUP = 50  # requests of each kind before the measured ones
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


@dataclass(frozen=True, slots=True)
class Seeded:
    """One member as the benchmark seeded it: what a correct answer says."""

    id: str
    phone: str
    card_no: str
    balance: int  # HQ's balance elsewhere + the entries made here


def _inventory(tables: int) -> Inventory:
    return generate_inventory("BENCH", tables=tables, kiosks=1, printers=3)


def seed(db: Path, members: int, rng: random.Random) -> tuple[list[Seeded], dict[str, int]]:
    """The hub's database at this release's schema (its migrations), its members filled in
    bulk."""
    migrate(db)
    now = time.time()
    key = MEMBER_KEY.encode()
    ids: set[str] = set()
    seeded: list[Seeded] = []
    member_rows: list[tuple[Any, ...]] = []
    entry_rows: list[tuple[Any, ...]] = []
    coupon_rows: list[tuple[Any, ...]] = []
    codes: set[str] = set()
    welcome, birthday = DEFAULT_COUPONS
    for i in range(members):
        while (mid := "m" + "".join(rng.choice(_B32) for _ in range(16))) in ids:
            pass
        ids.add(mid)
        phone = f"1{3 + i % 7}{i:09d}"  # 11 digits, 1[3-9]…, unique
        card = f"{i:010d}"
        joined = now - rng.uniform(0, 3 * 365) * DAY_S
        elsewhere = rng.choice((0, 0, rng.randint(0, 5000)))
        checked = now - rng.uniform(0, 30) * DAY_S
        birthday_day = f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        member_rows.append(
            (
                mid,
                phone_hash(key, phone),
                f"{phone[:3]}****{phone[-4:]}",
                birthday_day if rng.random() < 0.6 else None,
                card,
                "2026-11",
                joined,
                rng.random() < 0.3,
                checked,
                elsewhere,
                rng.randint(0, 300_000),
                False,
                None,
            )
        )
        # About ten entries each over the last year: mostly earns, some spends (never below
        # zero), now and then a manager's adjustment.
        here = 0
        times = sorted(now - rng.uniform(0, 365) * DAY_S for _ in range(rng.randint(5, 15)))
        for j, at in enumerate(times):
            roll = rng.random()
            if roll < 0.7 or here < 100:
                points, cause, prefix = rng.randint(10, 800), "earn", "e"
            elif roll < 0.95:
                points, cause, prefix = -rng.randint(1, min(here, 2000)), "redeem", "r"
            else:
                points, cause, prefix = rng.randint(1, 500), "adjust", "a"
            here += points
            ref = uuid.UUID(int=rng.getrandbits(128)).hex
            entry_rows.append((f"{prefix}-{i}-{j}", mid, points, cause, ref, "", False, at, STAFF))
        # A few coupons: some used, some expired, the rest valid.
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            while (code := "C" + "".join(rng.choice(_B32.upper()) for _ in range(10))) in codes:
                pass
            codes.add(code)
            template = welcome if rng.random() < 0.7 else birthday
            issued = now - rng.uniform(0, 60) * DAY_S
            until = issued + template.valid_days * DAY_S
            terms = IssuedCoupon.issue(template, code, issued, until).model_dump(mode="json")
            used = rng.random() < 0.3
            coupon_rows.append(
                (
                    code,
                    mid,
                    json.dumps(terms),
                    "welcome" if template is welcome else "birthday",
                    issued,
                    until,
                    issued,
                    uuid.uuid4().hex if used else None,
                    issued + DAY_S if used else None,
                    template.value_fen if used else None,
                )
            )
        seeded.append(Seeded(mid, phone, card, elsewhere + here))

    counts = {"members": members, "entries": len(entry_rows), "coupons": len(coupon_rows)}
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        with conn:
            conn.executemany(
                "INSERT INTO members (id, phone_hash, phone_masked, birthday, card_no, consent,"
                " joined_at, joined_here, hq_checked_at, hq_balance_elsewhere,"
                " hq_spend_elsewhere_fen, erased, birthday_year)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                member_rows,
            )
            conn.executemany(
                "INSERT INTO member_points (id, member_id, points, cause, ref, reason, offline,"
                " at, by) VALUES (?,?,?,?,?,?,?,?,?)",
                entry_rows,
            )
            conn.executemany(
                "INSERT INTO member_coupons (code, member_id, terms, source, valid_from,"
                " valid_until, issued_at, redeemed_payment, redeemed_at, off_fen)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                coupon_rows,
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return seeded, counts


def add_history(
    db: Path, inventory: Inventory, member_ids: list[str], days: int, rng: random.Random
) -> dict[str, int]:
    """The store's own past: 300 orders a day (1-3 lines each, a third from members) and a
    payment for every two orders (60% with a member), all done and paid."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        with conn:
            counts = _history(conn, inventory, member_ids, days, time.time(), rng)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return counts


def _history(
    conn: sqlite3.Connection,
    inventory: Inventory,
    member_ids: list[str],
    days: int,
    now: float,
    rng: random.Random,
) -> dict[str, int]:
    menu = load_menu(SAMPLE_MENU)
    tables = [t.id for t in inventory.all_tables()]
    orders: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    payments: list[tuple[Any, ...]] = []
    order_id = 0
    for d in range(days, 0, -1):
        day_start = now - d * DAY_S
        day = time.strftime("%Y-%m-%d", time.localtime(day_start))
        for no in range(1, 301):
            order_id += 1
            created = day_start + rng.uniform(0, DAY_S)
            table = rng.choice(tables)
            member = rng.choice(member_ids) if rng.random() < 0.33 else None
            total = 0
            for dish in rng.sample(menu.dishes, k=rng.randint(1, 3)):
                qty = rng.randint(1, 2)
                total += dish.price_fen * qty
                lines.append(
                    (
                        order_id,
                        dish.id,
                        dish.name_zh,
                        dish.name_en,
                        dish.station,
                        qty,
                        dish.price_fen,
                        "[]",
                        "",
                        "ok",
                    )
                )
            orders.append(
                (
                    order_id,
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    f"seed-{order_id}",
                    "0" * 64,
                    no,
                    day,
                    "table",
                    table,
                    table,
                    "done",
                    created,
                    created + 600,
                    total,
                    "",
                    member,
                    created - 300,
                )
            )
            if no % 2 == 0:
                payments.append(
                    (
                        uuid.UUID(int=rng.getrandbits(128)).hex,
                        table,
                        table,
                        total,
                        "wechat",
                        "[]",
                        created + 1800,
                        STAFF,
                        created - 300,
                        rng.choice(member_ids) if rng.random() < 0.6 else None,
                        total,
                    )
                )
    conn.executemany(
        "INSERT INTO orders (id, uid, key, request_hash, no, day, source, table_id, table_name,"
        " status, created_at, done_at, total_fen, note, member_id, party_opened_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        orders,
    )
    conn.executemany(
        "INSERT INTO order_lines (order_id, dish_id, name_zh, name_en, station, qty,"
        " unit_price_fen, options, note, status) VALUES (?,?,?,?,?,?,?,?,?,?)",
        lines,
    )
    conn.executemany(
        "INSERT INTO payments (uid, table_id, table_name, amount_fen, method, order_uids,"
        " paid_at, by, party_opened_at, member_id, gross_fen) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        payments,
    )
    return {"orders": len(orders), "order_lines": len(lines), "payments": len(payments)}


# --- measuring ----------------------------------------------------------------------------


def _timed(fn: Callable[[], bool]) -> tuple[float, bool]:
    t0 = time.perf_counter()
    try:
        ok = fn()
    except (httpx.HTTPError, ValueError, KeyError):  # no answer, or not one that names anyone
        ok = False
    return (time.perf_counter() - t0) * 1000, ok


def measure(
    template: Path, inventory: Inventory, seeded: list[Seeded], lookups: int, work: Path
) -> dict[str, float]:
    broker = start_broker(work / "mqtt", inventory)
    settings = hub_settings(broker, work / "hub")
    shutil.copyfile(template, settings.db_path)
    hub = run_hub_process(settings, work / "hub.log")
    rng = random.Random()
    session_signer = SessionSigner(derived_key(SECRET, "member-session").hex())
    code_key = derived_key(SECRET, "member-code")
    times: dict[str, list[float]] = {"tab": [], "attach": []}
    wrong = {"tab": 0, "attach": 0, "inproc": 0}
    sampler = ProcessSampler(hub.proc.pid)
    try:
        with (
            httpx.Client(base_url=hub.base_url, timeout=10) as staff,
            httpx.Client(base_url=hub.base_url, timeout=10) as phone,
        ):
            staff.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
            tables = staff.get("/api/tables").json()["tables"]
            tokens = [(t["id"], t["qr_path"].rsplit("/", 1)[1]) for t in tables]

            def tab(m: Seeded) -> bool:
                _table, token = rng.choice(tokens)
                cookie = session_signer.issue(m.id, 3600)
                r = phone.get(
                    f"/api/diner/{token}/member", headers={"Cookie": f"{MEMBER_COOKIE}={cookie}"}
                )
                if r.status_code != 200:
                    return False
                seen = r.json()["member"] or {}
                return bool(seen.get("id") == m.id and seen.get("points") == m.balance)

            def attach(m: Seeded, card: bool) -> bool:
                table, _token = rng.choice(tokens)
                code = m.card_no if card else member_code(code_key, m.id, time.time())
                r = staff.post(f"/api/tables/{table}/member", json={"code": code})
                return r.status_code == 200 and r.json().get("member") == m.id

            sampler.start()
            for i in range(WARMUP + lookups):
                for kind in rng.sample(("tab", "attach"), 2):  # interleaved, in either order
                    m = rng.choice(seeded)
                    if kind == "tab":
                        ms, ok = _timed(functools.partial(tab, m))
                    else:
                        ms, ok = _timed(functools.partial(attach, m, i % 2 == 1))
                    if i >= WARMUP:
                        times[kind].append(ms)
                        wrong[kind] += not ok
            sampler.stop()
    finally:
        hub.kill()
        broker.stop()

    # (c) the same lookup in this process, on the same file (the hub stopped): for reference.
    engine = make_engine(settings.db_path)
    key = MEMBER_KEY.encode()
    inproc: list[float] = []
    try:
        for i in range(WARMUP + lookups):
            m = rng.choice(seeded)
            t0 = time.perf_counter()
            with Session(engine) as session:
                found = service.by_phone_hash(session, phone_hash(key, m.phone))
                points = ledger.balance(session, found) if found is not None else None
            ms = (time.perf_counter() - t0) * 1000
            if i >= WARMUP:
                inproc.append(ms)
                wrong["inproc"] += found is None or found.id != m.id or points != m.balance
    finally:
        engine.dispose()

    return {
        "tab_n": len(times["tab"]),
        "tab_p50": median(times["tab"]),
        "tab_p99": percentile(times["tab"], 99),
        "tab_wrong": wrong["tab"],
        "attach_n": len(times["attach"]),
        "attach_p50": median(times["attach"]),
        "attach_p99": percentile(times["attach"], 99),
        "attach_wrong": wrong["attach"],
        "inproc_n": len(inproc),
        "inproc_p50": median(inproc),
        "inproc_p99": percentile(inproc, 99),
        "inproc_wrong": wrong["inproc"],
        "rss_mb": sampler.peak_rss / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--lookups", type=int, default=500, help="measured requests of each kind")
    ap.add_argument("--history-days", type=int, default=365, help="of orders and payments")
    ap.add_argument("--tables", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    inventory = _inventory(args.tables)
    history = f"{args.history_days} days of history"
    variants = {"bare": "members only", "hist": history} if args.history_days else {}
    variants = variants or {"bare": "members only"}
    with tempfile.TemporaryDirectory() as tmp:
        templates = {"bare": Path(tmp) / "members.sqlite3", "hist": Path(tmp) / "history.sqlite3"}
        rng = random.Random(2026)
        t0 = time.monotonic()
        seeded, counts = seed(templates["bare"], args.members, rng)
        if "hist" in variants:
            shutil.copyfile(templates["bare"], templates["hist"])
            ids = [m.id for m in seeded]
            counts |= add_history(templates["hist"], inventory, ids, args.history_days, rng)
        seed_s = time.monotonic() - t0
        sizes = {v: templates[v].stat().st_size / 2**20 for v in variants}
        print(
            f"seeded in {seed_s:.1f} s ({', '.join(f'{v} {mb:.0f} MB' for v, mb in sizes.items())}): "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
            flush=True,
        )
        runs: list[dict[str, float]] = []
        for i in range(args.runs):
            run: dict[str, float] = {}
            # Each variant on its own fresh hub, in turn (the order alternates between runs).
            for variant in list(variants)[:: 1 if i % 2 == 0 else -1]:
                work = Path(tmp) / f"run{i}-{variant}"
                work.mkdir()
                load = os.getloadavg()[0]  # a shared machine: its load is said with the figures
                r = measure(templates[variant], inventory, seeded, args.lookups, work)
                run |= {f"{variant}_{k}": v for k, v in r.items()} | {f"{variant}_load": load}
                shutil.rmtree(work, ignore_errors=True)
            runs.append(run)
            print_run(i, run)

    verdict = Verdict("bench_members_hub")
    t = Table(verdict, runs)
    target = at_most(TARGET_MS, f"≤ {TARGET_MS:g} ms")
    for v, what in variants.items():
        t.add(f"[{what}] (a) member tab p50 (ms)", f"{v}_tab_p50", fmt="{:.1f}")
        t.add(f"[{what}] (a) member tab p99 (ms)", f"{v}_tab_p99", target, fmt="{:.1f}")
        t.add(f"[{what}] (a) member tab: wrong or no answer", f"{v}_tab_wrong", zero())
        t.add(f"[{what}] (b) code or card at the bill p50 (ms)", f"{v}_attach_p50", fmt="{:.1f}")
        t.add(
            f"[{what}] (b) code or card at the bill p99 (ms)",
            f"{v}_attach_p99",
            target,
            fmt="{:.1f}",
        )
        t.add(f"[{what}] (b) code or card: wrong or no answer", f"{v}_attach_wrong", zero())
        t.add(f"[{what}] (c) in-process p50 (ms)", f"{v}_inproc_p50", fmt="{:.2f}")
        t.add(f"[{what}] (c) in-process p99 (ms)", f"{v}_inproc_p99", fmt="{:.2f}")
        t.add(f"[{what}] (c) in-process: wrong", f"{v}_inproc_wrong", zero())
        t.add(f"[{what}] hub peak RSS (MB)", f"{v}_rss_mb")
        t.add(
            f"[{what}] machine load (1-min average) as the run began",
            f"{v}_load",
            fmt="{:.1f}",
            worst="max",
        )

    seeded_text = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())
    size_text = " and ".join(f"{mb:.0f} MB ({variants[v]})" for v, mb in sizes.items())
    table = f"""## Members at the hub: lookup with {args.members:,} members in its replica

`.venv/bin/python -m bench.bench_members_hub --members {args.members} --lookups {args.lookups} --history-days {args.history_days} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
The hub's database made by its migrations, then filled in bulk ({seed_s:.0f} s; {size_text}):
{seeded_text}. About ten ledger entries and a few coupons (some used, some expired) per
member. Two databases: "members only", and the same with {history} (300 orders a day, a payment
for every two; a third of the orders and 60% of the payments a member's), which the member tab's
"popular now" and "your usual" and a member's level read, as they would a year after opening
(the hub keeps its orders and payments). Each on the hub as `smartstore hub` (no HQ configured:
it answers from its replica), {args.tables} tables. One client, one request at a time,
{args.lookups} of each kind per run after {WARMUP} unmeasured, interleaved: (a) a random
member's tab (`GET /api/diner/{{token}}/member`) at a random table, with their session cookie made
by the hub's signer; (b) staff at a random table's bill send a random member's code of this
minute or card number, alternately (`POST /api/tables/{{id}}/member`). (c) with the hub stopped,
`service.by_phone_hash` + `ledger.balance` in the benchmark's process on the same file, for
reference. Wrong: the answer does not name the member asked for (for (a) and (c): or not their
seeded balance), or there is none. Medians of {args.runs} runs ("worst": the worst run);
correctness targets (0) hold in every run, performance targets are judged on the median.
The member tab reads by index (hub migration 0006m) and its "popular now" is summed once a
minute with newer orders added (docs/members.md, "Recommendations"); it writes only the first
time a member opens it at a table. The machine has 2 cores shared with other work: its load is
the last row of each database's rows, and the p99s follow it.

{t.markdown()}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("members-hub", table)
    verdict.exit()


if __name__ == "__main__":
    main()
