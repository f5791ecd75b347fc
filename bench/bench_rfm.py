"""RFM at chain scale: every member scored by NTILE(5) in PostgreSQL (cloud/analytics/rfm.py).

    .venv/bin/python -m bench.bench_rfm [--members 1000000] [--bills 20000000] [--runs 2]

A durable PostgreSQL gets --members members (each with the id HQ gave them) and --bills paid
bills over 500 stores and two years, written straight into `members`, `member_ids` and
`member_spend` by SQL with generate_series (the rows ingest would have written; ingesting
20 million bills would take hours here), then the sums ingest keeps beside them
(`member_totals`, `member_store_bills`, as migration 0009h makes them). Bills go to members unevenly, as in a real chain
(a member's share ∝ u² for a uniform u: many one-time diners, few regulars); one in fifty is
refunded. Then the whole scoring runs as `POST /api/v1/hq/rfm/score` does, --runs times (each
replaces the last), timed.

Correctness, read back from what the scoring wrote: every member with a paid bill scored once,
nobody else; every score 1 … 5 and the one NTILE(5) gives (the lowest tile of equal
figures: recomputed here the plain way); every segment the rule's for its scores; equal
figures with equal scores; each member's figures those of their bills; counts per store
that add up to the members' stores.
"""

# SQL built from integers of the command line and this module's constants: nothing to inject.
# ruff: noqa: S608

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text

from bench.common import Verdict, at_most, markdown_table, met_cell, write_section, zero
from cloud.analytics import rfm
from cloud.db import make_engine, make_sessions, migrate
from smartstore.cloud_service import start_postgres

STORES = 500
NOW = 1_795_000_000.0
SPAN_S = 2 * 365 * 86400


def load(dsn: str, members: int, bills: int) -> float:
    """The members and their bills, by SQL (integers from the command line only)."""
    start = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(
            "INSERT INTO stores (id, name, created_at) SELECT 'B' || lpad(s::text, 4, '0'),"
            f" 'store ' || s, 0 FROM generate_series(1, {STORES}) AS s"
        )
        member = "'mb' || lpad(i::text, 9, '0')"
        store = f"'B' || lpad((1 + i % {STORES})::text, 4, '0')"
        db.execute(
            "INSERT INTO members (id, phone_hash, phone_masked, consent, joined_at, joined_store)"
            f" SELECT {member}, md5(i::text), '138****0000', 'bench', 0, {store}"
            f" FROM generate_series(1, {members}) AS i"
        )
        db.execute(
            "INSERT INTO member_ids (id, member, store_id, joined_at)"
            f" SELECT {member}, {member}, {store}, 0 FROM generate_series(1, {members}) AS i"
        )
        # Indexes are made after the load: the bulk insert is several times faster without.
        db.execute("DROP INDEX ix_member_spend_member_paid")
        db.execute("DROP INDEX ix_member_spend_store_payment")
        db.execute("SELECT setseed(0.42)")
        who = f"1 + floor({members} * power(random(), 2))::int"
        db.execute(
            "INSERT INTO member_spend (member_id, store_id, payment, amount_fen, paid_at,"
            " refunded_at)"
            f" SELECT 'mb' || lpad(least({who}, {members})::text, 9, '0'),"
            f" 'B' || lpad((1 + n % {STORES})::text, 4, '0'), 'p' || n,"
            " 2000 + (n::bigint * 7919) % 30000,"
            f" {NOW} - random() * {SPAN_S},"
            f" CASE WHEN n % 50 = 0 THEN {NOW} END"
            f" FROM generate_series(1, {bills}) AS n"
        )
        db.execute("CREATE INDEX ix_member_spend_member_paid ON member_spend (member_id, paid_at)")
        db.execute(
            "CREATE UNIQUE INDEX ix_member_spend_store_payment ON member_spend (store_id, payment)"
        )
        # The sums per id ingest keeps beside the bills (cloud/members/spend.py), made from
        # them as the migration that added them does.
        db.execute("DELETE FROM member_totals")
        db.execute("DELETE FROM member_store_bills")
        # As for the bills: the key after the load, the groupings in memory.
        db.execute("SET work_mem = '1GB'")
        db.execute("ALTER TABLE member_store_bills DROP CONSTRAINT pk_member_store_bills")
        db.execute(
            "INSERT INTO member_totals (member_id, bills, spend_fen, last_paid_at)"
            " SELECT member_id, count(*), sum(amount_fen), max(paid_at) FROM member_spend"
            " WHERE refunded_at IS NULL GROUP BY member_id"
        )
        db.execute(
            "INSERT INTO member_store_bills (member_id, store_id, bills)"
            " SELECT member_id, store_id, count(*) FROM member_spend"
            " WHERE refunded_at IS NULL GROUP BY member_id, store_id"
        )
        db.execute(
            "ALTER TABLE member_store_bills ADD CONSTRAINT pk_member_store_bills"
            " PRIMARY KEY (member_id, store_id)"
        )
        db.execute("RESET work_mem")
        db.execute("ANALYZE")
    return time.perf_counter() - start


def explain(engine: Engine) -> None:
    """EXPLAIN ANALYZE of the scoring's two reads, as it runs them (its work_mem)."""
    with engine.begin() as db:
        db.execute(text(f"SET LOCAL work_mem = '{rfm.RFM_WORK_MEM}'"))
        for name, query in (("figures", rfm.figures()), ("store counts", rfm.store_counts())):
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = db.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).scalars()
            print(f"--- {name}\n" + "\n".join(plan), flush=True)


def wrong_rows(dsn: str) -> dict[str, int]:
    """Each correctness figure: rows that break it, read back from member_rfm."""
    high = rfm.SCORE_HIGH_FROM
    rule = " ".join(
        f"WHEN r {'>=' if r else '<'} {high} AND f {'>=' if f else '<'} {high}"
        f" AND m {'>=' if m else '<'} {high} THEN '{name.value}'"
        for (r, f, m), name in rfm.SEGMENT_OF.items()
    )
    checks = {
        "members scored ≠ members with a paid bill": """
            SELECT abs((SELECT count(*) FROM member_rfm) - (SELECT count(DISTINCT member_id)
            FROM member_spend WHERE refunded_at IS NULL))""",
        "scores outside 1 … 5": """
            SELECT count(*) FROM member_rfm WHERE r NOT BETWEEN 1 AND 5
            OR f NOT BETWEEN 1 AND 5 OR m NOT BETWEEN 1 AND 5""",
        "segments not the rule's": f"""
            SELECT count(*) FROM member_rfm WHERE segment <> CASE {rule} END""",
        "equal bills with different F": """
            SELECT count(*) FROM (SELECT bills FROM member_rfm GROUP BY bills
            HAVING count(DISTINCT f) > 1) AS t""",
        "figures wrong (bills, spend, last bill)": """
            SELECT count(*) FROM member_rfm r JOIN (SELECT member_id, count(*) AS n,
            sum(amount_fen) AS s, max(paid_at) AS l FROM member_spend WHERE refunded_at IS NULL
            GROUP BY member_id) AS t ON t.member_id = r.member
            WHERE (t.n, t.s, t.l) <> (r.bills, r.spend_fen, r.last_paid_at)""",
        "scores ≠ NTILE(5) with the lowest tile of equal figures": """
            SELECT count(*) FROM (SELECT *, min(r0) OVER (PARTITION BY last_paid_at) AS rr,
            min(f0) OVER (PARTITION BY bills) AS ff, min(m0) OVER (PARTITION BY spend_fen) AS mm
            FROM (SELECT member, r, f, m, last_paid_at, bills, spend_fen,
            ntile(5) OVER (ORDER BY last_paid_at, member) AS r0,
            ntile(5) OVER (ORDER BY bills, member) AS f0,
            ntile(5) OVER (ORDER BY spend_fen, member) AS m0 FROM member_rfm) AS t) AS u
            WHERE (r, f, m) <> (rr, ff, mm)""",
        "store counts ≠ members' stores": """
            SELECT abs((SELECT sum(members) FROM rfm_segment_counts) - (SELECT count(*) FROM
            (SELECT DISTINCT store_id, member_id FROM member_spend WHERE refunded_at IS NULL)
            AS t))""",
    }
    with psycopg.connect(dsn, autocommit=True) as db:
        out = {}
        for name, sql in checks.items():
            row = db.execute(sql).fetchone()
            out[name] = int(row[0]) if row else -1
        return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--bills", type=int, default=20_000_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--explain", action="store_true", help="print the reads' plans")
    args = ap.parse_args()
    pg_dir = Path(tempfile.mkdtemp(dir="/tmp", prefix="bench-pg-"))
    pg = start_postgres(pg_dir, durable=True)
    verdict = Verdict("bench_rfm")
    try:
        url = pg.create_database("rfm")
        migrate(url)
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        load_s = load(dsn, args.members, args.bills)
        print(f"{args.members:,} members, {args.bills:,} bills in {load_s:.0f} s", flush=True)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        times = []
        for i in range(args.runs):
            start = time.perf_counter()
            with sessions.begin() as session:
                scoring = rfm.score(session, NOW)
            times.append(time.perf_counter() - start)
            print(f"run {i + 1}: {times[-1]:.1f} s, {scoring.members:,} scored", flush=True)
        if args.explain:
            explain(engine)
        engine.dispose()
        wrong = wrong_rows(dsn)
    finally:
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)

    score_s = statistics.median(times)
    rows = [
        [
            "scoring (median)",
            f"{score_s:.1f} s",
            "≤ 30 s",
            met_cell(verdict.check("scoring (s)", score_s, at_most(30.0, "≤ 30 s"))),
        ]
    ]
    for name, n in wrong.items():
        rows.append([name, str(n), "0", met_cell(verdict.check(name, n, zero()))])
    segments = ", ".join(f"{s} {n:,}" for s, n in scoring.by_segment.items())
    table = f"""## RFM: {args.members:,} members, {args.bills:,} bills

`.venv/bin/python -m bench.bench_rfm --members {args.members} --bills {args.bills}` on this
machine ({os.cpu_count()} cores, shared), {time.strftime("%Y-%m-%d")}. PostgreSQL 15, fsync on.
The members, their ids and their bills (500 stores, two years, bills spread ∝ u² over the
members, one in fifty refunded), and the sums per id and per id and store that ingest keeps
beside them, written by SQL in {load_s:.0f} s. The whole scoring (`rfm.score`: the ids' sums
resolved to members, the quintiles of NTILE(5) with equal figures scored alike, the segments,
the counts per store; replaces the last scoring in one transaction), {args.runs} runs: {", ".join(f"{t:.1f} s" for t in times)}.
{scoring.members:,} members scored: {segments}.

{markdown_table(["figure", "result", "target", "met"], rows)}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("rfm", table)
    verdict.exit()


if __name__ == "__main__":
    main()
