"""Games: 500 spins of the lucky wheel arriving in one second at one hub, and the fairness of
the draw.

The burst: a store with 500 tables; at each a diner joined as a member, ordered and paid (so
each has a paid bill to play), then all 500 phones spin within one second (evenly spread,
64 at a time in flight). Measured: each spin's answer time, from the moment it was due.
Then every spin is sent again with its play id (a phone retrying): each must answer the
result it answered the first time. Then the hub's database is read: every play recorded once
(its row and its outbox event for HQ), no prize past its stock, the day's spending not past
the store's budget. The prize table is made so that stock and budget both run out during the
burst: the draws fall back, and the limits are observed under load, not trivially.

The fairness: 100,000 draws from the same prize table with the hub's own draw function
(`edge.games.service.draw`, `secrets.randbelow` over the summed weights), the counts against
the weights by Pearson's chi-square test (SciPy's `stats.chisquare`, from the test extra).

    .venv/bin/python -m bench.bench_games [--plays 500] [--draws 100000] [--runs 3] [--no-write]
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sqlite3
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from scipy import stats

from bench.common import (
    ProcessSampler,
    Table,
    Verdict,
    at_least,
    at_most,
    percentile,
    print_run,
    write_section,
    zero,
)
from contract.campaigns import Budget, CampaignsConfig, Limits, Prize, PrizeKind
from contract.inventory import generate_inventory
from devices.virtual_printer import VirtualPrinter
from edge.games import service
from tests.games import play_id, seed_config, store_config, wheel
from tests.support import PIN, STAFF, hub_settings, run_hub_process, start_broker

STATIONS = ("hot", "cold", "bar")
IN_FLIGHT = 64  # phones waiting for an answer at once
SEND_ATTEMPTS = 2  # a phone whose connection dropped sends the same play id once more
SETUP_WORKERS = 8
PHONE_BASE = 13_800_000_000

# Points run out on the budget, the coupon on its stock, the free tea on its daily stock.
PRIZES = [
    Prize(
        id="p10", name_zh="10积分", name_en="10 points", kind=PrizeKind.POINTS, weight=40, points=10
    ),
    Prize(
        id="c20",
        name_zh="满100减20",
        name_en="20 off 100",
        kind=PrizeKind.COUPON,
        weight=30,
        coupon="spin20",
        stock=40,
        fallback="p10",
    ),
    Prize(
        id="tea",
        name_zh="免费柠檬茶",
        name_en="Free lemon tea",
        kind=PrizeKind.DISH,
        weight=10,
        dish="tea",
        daily_stock=20,
    ),
    Prize(id="none", name_zh="谢谢参与", name_en="Thanks", kind=PrizeKind.NONE, weight=20),
]
BUDGET_FEN = 60_000  # 600 yuan for the day: 40 coupons alone would be 800


def fairness(draws: int) -> dict[str, float]:
    counts: Counter[str] = Counter()
    t0 = time.perf_counter()
    for _ in range(draws):
        counts[service.draw(PRIZES)[0].id] += 1
    per_draw_us = (time.perf_counter() - t0) / draws * 1e6
    total = service.total_weight(PRIZES)
    observed = [counts[p.id] for p in PRIZES]
    expected = [draws * p.weight / total for p in PRIZES]
    test = stats.chisquare(observed, expected)
    result = {f"share_{p.id}": 100 * counts[p.id] / draws for p in PRIZES}
    result.update(chi2=float(test.statistic), p_value=float(test.pvalue), draw_us=per_draw_us)
    return result


# --- the burst ------------------------------------------------------------------------------


def _paid_table(base_url: str, staff: httpx.Client, table: str, token: str, n: int) -> httpx.Client:
    """A phone at `table` whose diner joined, ordered a tea and paid: it may spin once."""
    phone = httpx.Client(base_url=base_url, timeout=30)
    r = phone.post(
        f"/api/diner/{token}/member/join", json={"phone": str(PHONE_BASE + n), "consent": True}
    )
    r.raise_for_status()
    line = {"dish": "tea", "qty": 1, "options": {"temp": "hot"}}
    r = phone.post(f"/api/diner/{token}/orders", json={"key": play_id(), "lines": [line]})
    r.raise_for_status()
    gross = staff.get(f"/api/tables/{table}/bill").json()["gross_fen"]
    r = staff.post(f"/api/tables/{table}/pay", json={"method": "cash", "amount_fen": gross})
    r.raise_for_status()
    return phone


@dataclass
class Spins:
    answers: list[dict[str, Any] | None]
    latency_ms: list[float] = field(default_factory=list)
    # (when the spin was due, s into the burst; its answer, ms): where a stall fell
    timeline: list[tuple[float, float]] = field(default_factory=list)
    failed: int = 0
    resent: int = 0
    span_s: float = 0.0


class Phone:
    """One diner's phone as the hub sees it: its own keep-alive connection, its cookies.

    Plain HTTP/1.1 on asyncio streams, not httpx: 500 phones are 500 devices, but here one
    process plays them all on the hub's machine, and with httpx that process took as much
    CPU as the hub (half a core in the burst) and its 64 threads' waits for their
    interpreter lock were counted in every answer. This costs the client tens of µs a spin.
    """

    def __init__(self, host: str, port: int, cookies: dict[str, str]) -> None:
        self.host, self.port, self.cookies = host, port, cookies
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def connect(self) -> None:
        self.conn = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            with contextlib.suppress(ConnectionError):
                await self.conn[1].wait_closed()
            self.conn = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        if self.conn is None:
            await self.connect()
        assert self.conn is not None
        reader, writer = self.conn
        data = json.dumps(body).encode()
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            f"Cookie: {cookie}\r\n\r\n".encode()
            + data
        )
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        payload = await reader.readexactly(length)
        if close:
            await self.close()
        return status, payload


async def _burst_and_replay(
    port: int,
    paths: list[str],
    play_ids: list[str],
    cookies: list[dict[str, str]],
    samplers: list[ProcessSampler],
) -> tuple[Spins, Spins]:
    """Each phone's connection opened first (a diner's page keeps one), then the burst, then
    every phone asks again with its play id."""
    phones = [Phone("127.0.0.1", port, c) for c in cookies]
    try:
        for phone in phones:
            await phone.connect()
        for sm in samplers:
            sm.start()
        first = await _spins(paths, play_ids, phones, paced=True)
        for sm in samplers:
            sm.stop()
        again = await _spins(paths, play_ids, phones, paced=False)
        return first, again
    finally:
        for phone in phones:
            await phone.close()


async def _spins(
    paths: list[str],
    play_ids: list[str],
    phones: list[Phone],
    paced: bool,
) -> Spins:
    """Every phone spins once: evenly over one second (paced), or all at once (a retry);
    IN_FLIGHT at a time."""
    n = len(paths)
    out = Spins(answers=[None] * n)
    gate = asyncio.Semaphore(IN_FLIGHT)
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2

    async def spin(i: int) -> None:
        due = t0 + i / n if paced else t0
        await asyncio.sleep(max(due - loop.time(), 0))
        async with gate:
            why = ""
            status, payload = 0, b""
            for attempt in range(SEND_ATTEMPTS):
                try:
                    status, payload = await phones[i].post(paths[i], {"play": play_ids[i]})
                    why = "" if status == 200 else f"HTTP {status}: {payload[:200]!r}"
                    break
                except (ConnectionError, asyncio.IncompleteReadError) as exc:
                    # A keep-alive connection the server closed as this request left: the
                    # phone sends again with the same play id (what the page does).
                    why = f"{type(exc).__name__}: {exc}"
                    await phones[i].close()
                    out.resent += attempt == 0
            done = loop.time()
        if not why:
            out.answers[i] = json.loads(payload)
            out.latency_ms.append((done - due) * 1000)
            out.timeline.append((due - t0, (done - due) * 1000))
        else:
            out.failed += 1
            print(f"spin {i} failed: {why}", flush=True)

    await asyncio.gather(*(spin(i) for i in range(n)))
    out.span_s = loop.time() - t0
    return out


def _wait_printed(db_path: Path, timeout_s: float = 300) -> None:
    """Until every ticket the hub queued has been sent to its printer."""
    deadline = time.monotonic() + timeout_s
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        while db.execute("SELECT count(*) FROM print_jobs WHERE status != 'sent'").fetchone()[0]:
            if time.monotonic() > deadline:
                raise RuntimeError("the setup's tickets were not printed in time")
            time.sleep(0.2)
    finally:
        db.close()


def _start_hub(settings: Any, work: Path) -> Any:
    """The hub, given a second chance: on a machine other jobs load, its start (imports,
    migrations, 500 tables) has been seen to take longer than the wait for it."""
    try:
        return run_hub_process(settings, work / "hub.log")
    except AssertionError:
        print("the hub did not come up in time; starting it again", flush=True)
        return run_hub_process(settings, work / "hub.log")


def burst(plays: int, work: Path, draw_process: bool = True) -> dict[str, float]:
    printers = {s: VirtualPrinter().start() for s in STATIONS}
    inventory = generate_inventory("BENCH", tables=plays, printers=3)
    inventory = inventory.model_copy(
        update={
            "devices": [
                d.model_copy(update={"address": f"127.0.0.1:{printers[d.station].port}"})
                if d.station
                else d
                for d in inventory.devices
            ]
        }
    )
    broker = start_broker(work / "mqtt", inventory)
    settings = hub_settings(broker, work / "hub", games_draw_process=draw_process)
    campaign = wheel(
        prizes=PRIZES,
        budget=Budget(per_store_day_fen=BUDGET_FEN, pacing_pct=10_000),
        limits=Limits(per_member_per_day=5, per_session_per_day=5, per_party=1),
    )
    seed_config(settings, store_config(CampaignsConfig(campaigns=[campaign])))
    try:
        hub = _start_hub(settings, work)
    except AssertionError:
        broker.stop()
        for pr in printers.values():
            pr.stop()
        raise
    try:
        staff = httpx.Client(base_url=hub.base_url, timeout=30)
        staff.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
        tables = staff.get("/api/tables").json()["tables"]
        tokens = {t["id"]: t["qr_path"].rsplit("/", 1)[1] for t in tables}
        ids = sorted(tokens)[:plays]
        with ThreadPoolExecutor(SETUP_WORKERS) as pool:
            phones = list(
                pool.map(
                    lambda a: _paid_table(hub.base_url, staff, a[1], tokens[a[1]], a[0]),
                    enumerate(ids),
                )
            )
        # 500 orders and receipts were just printed for the setup: the spins are measured on a
        # hub whose printers have caught up, as a store's would be long before its diners spin.
        _wait_printed(settings.db_path)
        play_ids = [play_id() for _ in ids]
        paths = [f"/api/diner/{tokens[t]}/games/wheel/play" for t in ids]
        cookies = [dict(p.cookies.items()) for p in phones]
        for p in phones:
            p.close()
        staff.close()
        # The hub and its draw process, each: the HTTP side and the draws.
        proc = psutil.Process(hub.proc.pid)
        draw_procs = [c.pid for c in proc.children() if "edge.games.drawer" in c.cmdline()]
        samplers = [ProcessSampler(pid) for pid in (hub.proc.pid, *draw_procs)]
        first, again = asyncio.run(
            _burst_and_replay(hub.settings.http_port, paths, play_ids, cookies, samplers)
        )
        cpu, *draw_cpu = (sm.result for sm in samplers)
        rss_mb = samplers[0].peak_rss / 2**20
        slowest = sorted(first.timeline, key=lambda x: -x[1])[:8]
        print(
            "  slowest spins (due s, answered ms):", [(round(a, 3), round(b)) for a, b in slowest]
        )
        draw_rss_mb = sum(sm.peak_rss for sm in samplers[1:]) / 2**20
    finally:
        hub.kill()
        broker.stop()
        for pr in printers.values():
            pr.stop()

    # What the hub recorded, read from its database after it stopped.
    db = sqlite3.connect(settings.db_path)
    try:
        rows = db.execute("SELECT id, prize, cost_fen, status FROM game_plays").fetchall()
        events = Counter(
            r[0]
            for r in db.execute("SELECT event_id FROM outbox WHERE event_id LIKE 'gp-%'").fetchall()
        )
    finally:
        db.close()
    recorded = Counter(r[0] for r in rows)
    by_prize = Counter(r[1] for r in rows)
    spent = sum(int(r[2]) for r in rows if r[3] in ("paid", "flagged", "released"))
    answered = [a for a in first.answers if a is not None]
    replays_differ = sum(
        1 for a, b in zip(first.answers, again.answers, strict=True) if a is None or a != b
    )
    latency_ms, span_s = first.latency_ms, first.span_s
    sent = set(play_ids)
    stock = {p.id: p.stock if p.stock is not None else p.daily_stock for p in PRIZES}
    over_stock = sum(max(by_prize[p] - s, 0) for p, s in stock.items() if s is not None)
    answered_prize = Counter(a["prize"]["id"] for a in answered)
    return {
        "plays": len(ids),
        "span_s": span_s,
        "answered": len(answered),
        "failed": first.failed,
        "resent": first.resent,
        "p50": percentile(latency_ms, 50),
        "p99": percentile(latency_ms, 99),
        "max": max(latency_ms) if latency_ms else float("nan"),
        "not_recorded_once": sum(1 for p in sent if recorded[p] != 1)
        + sum(1 for p in recorded if p not in sent),
        "not_sent_once": sum(1 for p in sent if events[f"gp-{p}"] != 1),
        "over_stock": over_stock,
        "over_budget_fen": max(spent - BUDGET_FEN, 0),
        "spent_fen": spent,
        "answer_differs_from_record": sum(1 for p, n in answered_prize.items() if n != by_prize[p]),
        "replays_differ": replays_differ,
        "won_p10": by_prize["p10"],
        "won_c20": by_prize["c20"],
        "won_tea": by_prize["tea"],
        "won_none": by_prize["none"],
        "cpu": cpu,
        "draw_cpu": sum(draw_cpu),
        "rss_mb": rss_mb,
        "draw_rss_mb": draw_rss_mb,
        # What a spin costs the hub whatever else the machine runs: its CPU over the burst
        # (process time, all threads, the draw process's too) per spin.
        "cpu_ms_per_spin": (cpu + sum(draw_cpu)) / 100 * span_s / len(ids) * 1000,
    }


def _compare(verdict: Verdict, runs: list[dict[str, float]]) -> str:
    """The same burst with the hub deciding every spin in its HTTP process (the draw process
    off, `games_draw_process=false`), run between the others."""
    t_off = Table(verdict, runs)
    t_off.add("spins refused or unanswered (after one resend)", "failed", zero())
    t_off.add("spin answered p50 (ms)", "p50", fmt="{:.1f}")
    t_off.add("spin answered p99 (ms)", "p99", fmt="{:.1f}")
    t_off.add("spin answered max (ms)", "max", fmt="{:.1f}")
    t_off.add("plays not recorded exactly once", "not_recorded_once", zero())
    t_off.add("plays not sent to HQ exactly once (outbox)", "not_sent_once", zero())
    t_off.add("prizes over their stock", "over_stock", zero())
    t_off.add("spent over the store's budget (fen)", "over_budget_fen", zero())
    t_off.add("replayed spins answered differently", "replays_differ", zero())
    t_off.add("hub CPU during the burst (% of one core)", "cpu")
    t_off.add("hub CPU per spin (ms of one core)", "cpu_ms_per_spin", fmt="{:.2f}")
    t_off.add("hub memory, peak in the burst (MB RSS)", "rss_mb")
    return t_off.markdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plays", type=int, default=500)
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--no-compare", action="store_true", help="skip the runs with the draw process off"
    )
    args = ap.parse_args()
    runs, in_process = [], []
    # Interleaved: the hub as shipped (its draw process on), then the same burst with the
    # hub deciding every spin itself, so that both meet the same minutes of this machine.
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(burst(args.plays, Path(tmp)))
        print_run(i, runs[-1])
        if not args.no_compare:
            with tempfile.TemporaryDirectory() as tmp:
                in_process.append(burst(args.plays, Path(tmp), draw_process=False))
            print(f"  draw process off: {in_process[-1]}", flush=True)
    fair = fairness(args.draws)
    print_run(args.runs, fair)

    verdict = Verdict("bench_games")
    t = Table(verdict, runs)
    t.add("spins sent in one second", "plays", worst="min")
    t.add("seconds the spins took to send", "span_s", fmt="{:.2f}")
    t.add("spins refused or unanswered (after one resend)", "failed", zero())
    t.add("spins resent after a dropped connection", "resent")
    t.add("spin answered p50 (ms)", "p50", fmt="{:.1f}")
    t.add("spin answered p99 (ms)", "p99", at_most(100), fmt="{:.1f}")
    t.add("spin answered max (ms)", "max", fmt="{:.1f}")
    t.add("plays not recorded exactly once", "not_recorded_once", zero())
    t.add("plays not sent to HQ exactly once (outbox)", "not_sent_once", zero())
    t.add("prizes over their stock", "over_stock", zero())
    t.add("spent over the store's budget (fen)", "over_budget_fen", zero())
    t.add("spent of the day's budget (fen)", "spent_fen", worst="max")
    t.add("answers that differ from the record", "answer_differs_from_record", zero())
    t.add("replayed spins answered differently", "replays_differ", zero())
    t.add("won: 10 points (budget-bound)", "won_p10")
    t.add("won: 20-off coupon (stock 40)", "won_c20", worst="max")
    t.add("won: free tea (daily stock 20)", "won_tea", worst="max")
    t.add("won: thanks for playing", "won_none")
    t.add("hub's HTTP process CPU during the burst (% of one core)", "cpu")
    t.add("hub's draw process CPU during the burst (% of one core)", "draw_cpu")
    t.add("hub's HTTP process memory, peak in the burst (MB RSS)", "rss_mb")
    t.add("hub's draw process memory, peak in the burst (MB RSS)", "draw_rss_mb")
    t.add("hub CPU per spin, both processes (ms of one core)", "cpu_ms_per_spin", fmt="{:.2f}")
    compare = ""
    if in_process:
        compare = (
            "\nThe same burst with the draw process off (`games_draw_process=false`: the hub"
            " decides every\nspin in its HTTP process, on the games' writing thread), each run"
            f" right after one above:\n\n{_compare(verdict, in_process)}\n"
        )

    verdict_fair = Table(verdict, [fair], first="draws")
    total = service.total_weight(PRIZES)
    for p in PRIZES:
        verdict_fair.add(
            f"{p.id}: observed share (%) — configured {100 * p.weight / total:.1f}%",
            f"share_{p.id}",
            fmt="{:.2f}",
        )
    verdict_fair.add(f"chi-square ({len(PRIZES) - 1} degrees of freedom)", "chi2", fmt="{:.2f}")
    verdict_fair.add("p-value", "p_value", at_least(0.01, "> 0.01"), fmt="{:.3f}")
    verdict_fair.add("one draw (µs)", "draw_us", fmt="{:.1f}")

    table = f"""## Games: {args.plays} spins of the lucky wheel in one second at one hub; the draw's fairness

`.venv/bin/python -m bench.bench_games --plays {args.plays} --draws {args.draws} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
The hub as `smartstore hub` with {args.plays} tables; at each a member joined, ordered and paid
before the burst, and the burst begins once their tickets and receipts are printed (as a store's
would be long before). Then every phone spins once on its own open connection, evenly spread
over one second ({IN_FLIGHT} at a time in flight); answered: the POST's answer, from the moment
the spin was due (a phone whose keep-alive connection the server closed as it sent resends the
same play id once). The phones are one asyncio process sending plain HTTP/1.1 (`Phone` in the
script): tens of µs of CPU a spin, so that the client's own costs stay out of the figures. The
hub as shipped: its draw process (`edge/games/drawer.py`) decides the spins. The prize
table runs out during the burst on purpose: 10 points (budget), a 20-off coupon (stock 40,
falls back to points), a free tea (daily stock 20), thanks for playing; the store's budget
{BUDGET_FEN / 100:,.0f} yuan for the day. Then every spin is sent again with its play id, and
the hub's database is read back: rows and outbox events per play id, prizes per stock, spending
per budget. Medians of {args.runs} runs; correctness targets (0) hold in every run.

{t.markdown()}
{compare}

{args.draws:,} draws with the hub's draw function (`secrets.randbelow` over the weights),
Pearson's chi-square against the configured weights; the p-value from the chi-square survival
function from SciPy (`scipy.stats.chisquare`).

{verdict_fair.markdown()}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("games", table)
    verdict.exit()


if __name__ == "__main__":
    main()
