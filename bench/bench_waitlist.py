"""A simulated evening at the door: how good is the estimated wait?

Drives the waitlist's own service functions (edge/waitlist/service.py) on a real hub database
(SQLite, migrated as the hub migrates it) with a *simulated clock*: four hours pass in a few
seconds, minute by minute. Nothing else is simulated away: numbers are taken, called, seated
and skipped by the same functions the staff page calls, tables are paid as payments the hub
records (edge/orders/models.Payment, with the party's start), and the estimate reads the turn
times from those payments as it does in a store.

The evening: 300 walk-in parties between 17:00 and 21:00 (arrivals peaking at 18:30-19:30),
sizes from 1 to 12, dining times log-normal around each group's typical turn, 10% who do not
come when called (skipped after the grace time), and 40 bookings between 18:00 and 20:30
(a tenth of which do not come either). Staff call the next party of a group whenever one of
its tables is free. Yesterday's payments (the store's own history) seed the turn times.

For every seated party: the middle of the estimate it was given when it took its number
against the wait it had; the share that waited longer than the upper end of its range; the
same error for the naive estimate (parties ahead * average dining time / tables).

    .venv/bin/python -m bench.bench_waitlist [--runs 3] [--seed 1] [--no-write]
"""

import argparse
import math
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bench.common import Table, Verdict, at_most, median, print_run, write_section
from contract.waitlist import DEFAULT_GROUPS, WaitlistConfig
from edge.db import init_db, make_engine
from edge.orders.errors import OrderError
from edge.orders.models import Payment
from edge.tables.models import DiningTable
from edge.waitlist import estimate, service
from edge.waitlist.models import WaitParty

PARTIES, BOOKINGS, HOURS = 300, 40, 4
NO_SHOW_SHARE = 0.10
TABLES = {"A": 22, "B": 28, "C": 12, "D": 4}  # a large store: 66 tables
TURN_MIN = {"A": 45, "B": 60, "C": 75, "D": 90}  # median dining time per group
TURN_SIGMA = 0.3  # log-normal spread: a quarter of parties stay 25% longer or more
SIZES = ((1, 10), (2, 35), (3, 14), (4, 22), (5, 6), (6, 5), (7, 2), (8, 2), (9, 2), (12, 2))
SHOW_DELAY_MIN = (0, 3)  # a called party at the door after 0-3 minutes
HISTORY = 25  # yesterday's payments per group


@dataclass
class Sim:
    rng: random.Random
    config: WaitlistConfig
    start: float
    tables: dict[str, list[str]]
    free: dict[str, set[str]] = field(default_factory=dict)
    leaving: dict[str, float] = field(default_factory=dict)  # table -> when it pays
    seated_at: dict[str, float] = field(default_factory=dict)
    arriving: dict[str, float] = field(default_factory=dict)  # called party uid -> at the door
    no_show: set[str] = field(default_factory=set)  # party uids who will not come
    naive: dict[str, float] = field(default_factory=dict)


def _size(rng: random.Random) -> int:
    return rng.choices([s for s, _ in SIZES], [w for _, w in SIZES])[0]


def _dining(rng: random.Random, group: str) -> float:
    return TURN_MIN[group] * 60 * math.exp(rng.gauss(0, TURN_SIGMA))


def _arrivals(rng: random.Random, start: float) -> list[float]:
    """300 arrival times over 4 hours, denser around 18:30-19:30 (a hump on a floor)."""
    times: list[float] = []
    while len(times) < PARTIES:
        t = rng.uniform(0, HOURS * 3600)
        peak = math.exp(-(((t - 2 * 3600) / 3000) ** 2))
        if rng.random() < 0.35 + 0.65 * peak:
            times.append(start + t)
    return sorted(times)


def _config() -> WaitlistConfig:
    groups = [
        g.model_copy(update={"tables": [f"{g.id}{n}" for n in range(1, TABLES[g.id] + 1)]})
        for g in DEFAULT_GROUPS
    ]
    return WaitlistConfig(groups=groups, priority_levels=[])


def _seed(s: Session, sim: Sim) -> None:
    for group, ids in sim.tables.items():
        for table in ids:
            s.add(DiningTable(id=table, name=table, is_open=False))
        for n in range(HISTORY):  # yesterday evening's payments: the store's own turn times
            opened = sim.start - 86400 + n * 400
            s.add(
                Payment(
                    table_id=ids[n % len(ids)], table_name="", amount_fen=10000, method="cash",
                    paid_at=opened + _dining(sim.rng, group), by="bench",
                    party_opened_at=opened,
                )
            )  # fmt: skip


def run(seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    day = time.localtime(time.time() + 86400)
    start = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 17, 0, 0, 0, 0, -1))
    config = _config()
    sim = Sim(rng, config, start, {g.id: list(g.tables) for g in config.groups})
    sim.free = {g: set(ids) for g, ids in sim.tables.items()}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(Path(tmp) / "hub.sqlite3", for_writes=True)
        try:
            sessions = init_db(engine)
            return _evening(sim, sessions)
        finally:
            engine.dispose()


def _evening(sim: Sim, sessions: sessionmaker[Session]) -> dict[str, float]:
    rng, config, start = sim.rng, sim.config, sim.start
    arrivals = _arrivals(rng, start)
    booking_day = time.strftime("%Y-%m-%d", time.localtime(start))
    bookings: list[tuple[float, str]] = []  # (at the door, booking uid)
    with sessions.begin() as s:
        _seed(s, sim)
        for n in range(BOOKINGS):
            slot = 18 * 60 + 15 * rng.randrange(11)  # 18:00..20:30
            request = service.BookingRequest(
                f"bk{n}", booking_day, f"{slot // 60:02d}:{slot % 60:02d}", _size(rng), "",
                "13800138000",
            )  # fmt: skip
            try:
                booking, _ = service.book(s, config, None, request, start - 3600)
            except OrderError:
                continue  # the slot was full: that diner picked no other time
            if rng.random() >= NO_SHOW_SHARE:
                bookings.append((booking.slot_at + rng.uniform(-10, 10) * 60, booking.uid))
    parties = 0
    for minute in range(HOURS * 60 + 240):  # the line empties after the doors close
        now = start + minute * 60
        with sessions.begin() as s:
            _pay(s, sim, now)
            while arrivals and arrivals[0] <= now:
                at = arrivals.pop(0)
                size = _size(rng)
                taken = service.take_number(s, config, f"p{parties}", size, "kiosk", at)
                party = taken.party
                parties += 1
                ahead = service.ahead_of(s, config, party)
                g = party.grp
                mean_turn = TURN_MIN[g] * 60 * math.exp(TURN_SIGMA**2 / 2)
                sim.naive[party.uid] = estimate.naive(ahead, len(sim.tables[g]), mean_turn)
                if rng.random() < NO_SHOW_SHARE:
                    sim.no_show.add(party.uid)
            for at, uid in [b for b in bookings if b[0] <= now]:
                bookings.remove((at, uid))
                service.arrive(s, config, service.booking_by_uid(s, uid), at)
            _staff(s, sim, now)
    with sessions() as s:
        rows = list(s.query(WaitParty).filter(WaitParty.source == "kiosk"))
    seated = [p for p in rows if p.status == service.SEATED and p.est_s is not None]
    waits = [(p.ended_at or 0) - p.created_at for p in seated]
    errors = [abs(w - (p.est_s or 0)) / 60 for w, p in zip(waits, seated, strict=True)]
    naive = [abs(w - sim.naive[p.uid]) / 60 for w, p in zip(waits, seated, strict=True)]
    over = [w > (p.est_high_s or 0) for w, p in zip(waits, seated, strict=True)]
    under = [w < (p.est_low_s or 0) for w, p in zip(waits, seated, strict=True)]
    return {
        "parties": float(len(rows)),
        "seated": float(len(seated)),
        "no_shows": float(sum(p.status == service.NO_SHOW for p in rows)),
        "wait_median_min": median(waits) / 60,
        "mae_min": median(errors),
        "naive_mae_min": median(naive),
        "over_pct": 100 * sum(over) / len(over),
        "under_pct": 100 * sum(under) / len(under),
        "mean_abs_min": sum(errors) / len(errors),
        "bias_min": sum(w - (p.est_s or 0) for w, p in zip(waits, seated, strict=True))
        / 60
        / len(seated),
        "naive_mean_abs_min": sum(naive) / len(naive),
    }


def _pay(s: Session, sim: Sim, now: float) -> None:
    for table, at in list(sim.leaving.items()):
        if at <= now:
            del sim.leaving[table]
            s.add(
                Payment(
                    table_id=table, table_name=table, amount_fen=10000, method="cash",
                    paid_at=at, by="bench", party_opened_at=sim.seated_at.pop(table),
                )
            )  # fmt: skip
            sim.free[table[0]].add(table)


def _staff(s: Session, sim: Sim, now: float) -> None:
    """A waiter at the door: seats who came, skips who did not, calls for every free table."""
    config = sim.config
    for party in list(s.query(WaitParty).filter(WaitParty.status == service.CALLED)):
        at = sim.arriving.get(party.uid)
        if party.uid in sim.no_show:
            if now - (party.called_at or now) >= config.no_show_grace_s:
                service.skip_no_show(s, config, party, now)
        elif at is not None and at <= now and sim.free[party.grp]:
            table = min(sim.free[party.grp])
            sim.free[party.grp].discard(table)
            service.seat(s, party, table, now)
            sim.seated_at[table] = now
            sim.leaving[table] = now + _dining(sim.rng, party.grp)
    for group in sim.tables:
        called = s.query(WaitParty).filter(
            WaitParty.grp == group, WaitParty.status == service.CALLED
        )
        coming = sum(1 for p in called if p.uid not in sim.no_show)
        while len(sim.free[group]) > coming and service.waiting(s, service.local_day(now), group):
            party = service.call(s, config, now, group=group)
            sim.arriving[party.uid] = now + sim.rng.uniform(*SHOW_DELAY_MIN) * 60
            coming += party.uid not in sim.no_show


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    runs = []
    for i in range(args.runs):
        figures = run(args.seed + i)
        print_run(i, figures)
        runs.append(figures)
    verdict = Verdict("bench_waitlist")
    table = Table(verdict, runs)
    table.add("parties taking a number (walk-ins)", "parties")
    table.add("seated", "seated")
    table.add("skipped as no-shows", "no_shows")
    table.add("median wait, minutes", "wait_median_min", fmt="{:.1f}")
    table.add("median absolute error of the estimate, minutes", "mae_min", at_most(5), "{:.1f}")
    table.add("same, naive estimate (ahead * average turn / tables)", "naive_mae_min", fmt="{:.1f}")
    table.add("mean absolute error, minutes", "mean_abs_min", fmt="{:.1f}")
    table.add("same, naive", "naive_mean_abs_min", fmt="{:.1f}")
    table.add("waited longer than the upper end, %", "over_pct", fmt="{:.1f}")
    table.add("waited less than the lower end, %", "under_pct", fmt="{:.1f}")
    print(table.markdown())
    if not args.no_write:
        write_section(
            "waitlist",
            "## Waitlist: the estimated wait over a simulated evening (bench/bench_waitlist.py)\n\n"
            f"{PARTIES} walk-in parties over {HOURS} hours, {BOOKINGS} bookings, "
            f"{NO_SHOW_SHARE:.0%} no-shows, 66 tables in four groups; the waitlist's service "
            "functions on a real hub database with a simulated clock (the module says what is "
            f"simulated). {len(runs)} runs (seeds {args.seed}..{args.seed + len(runs) - 1}). "
            "The estimate is the middle of the range each party was given when it took its "
            "number; the naive estimate is handed the simulation's true mean dining time per "
            "group, which a store would have to guess.\n\n"
            + table.markdown()
            + "\n\n"
            + verdict.markdown(),
        )
    verdict.exit()


if __name__ == "__main__":
    main()
