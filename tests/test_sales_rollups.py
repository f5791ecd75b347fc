"""The hourly rollups (cloud/sales_rollups.py) answer every report as the facts do.

A few days of three stores go in through the real ingest endpoint, in batches as hubs send
them: orders at random seconds, voids (some before their order, some of an order that turns
out unreadable), payments. Each report is then asked for many windows (on the hour and not,
inside one hour, open-ended) and time zones (whole-hour, daylight saving, half-hour), once from
the rollups and once from the facts alone, and the answers must be equal row for row. The
rollups must also be exactly what a rebuild from the facts makes (the migration's backfill).
"""

import csv
import io
import json
import random
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud import sales_rollups
from cloud.api.hq_access import HQPrincipal
from cloud.api.sales import (
    Window,
    daily_metrics,
    dish_ranking,
    dishes_per_hour,
    kitchen_speed,
    sales_report,
)
from cloud.const import HQRole
from cloud.db import alembic_config, make_engine, make_sessions, migrate
from cloud.models import DishHour, SaleFact, SaleHour
from smartstore.cloud_service import CloudHandle, PostgresServer, cloud_settings, run_cloud_thread
from tests.test_sales import MENU, ingest, line, placed, voided

HQ = HQPrincipal("hq", HQRole.ADMIN, None)  # the route functions called directly

START = datetime(2024, 3, 9, 0, tzinfo=UTC).timestamp()  # New York changes its clocks on the 10th
DAYS = 3
STORES = ("R1", "R2", "R3")


def paid(uid: str, when: float, amount_fen: int, orders: list[str]) -> dict[str, Any]:
    return {
        "id": f"pay-{uid}",
        "type": "payment.recorded",
        "occurred_at": when,
        "data": {
            "payment": uid,
            "table": "A1",
            "amount_fen": amount_fen,
            "method": "wechat",
            "orders": orders,
            "paid_at": when,
            "by": "alice",
        },
    }


def store_days(store: str, rng: random.Random) -> list[list[dict[str, Any]]]:
    """One store's days as batches: a void sometimes comes a batch before its order."""
    batches: list[list[dict[str, Any]]] = []
    held: list[dict[str, Any]] = []
    for n in range(120):
        uid = f"{store}-{n:04d}"
        at = START + rng.random() * DAYS * 86400
        lines = [line(d, rng.randint(1, 3)) for d in rng.sample(sorted(MENU), 2)]
        order = placed(uid, at, lines)
        if n % 17 == 3:
            order = {**order, "data": {"order": uid}}  # unreadable: nothing of it counts
        batch = [order]
        if n % 5 == 0:
            x = lines[0]
            void = voided(uid, 1, at + rng.uniform(60, 7200), x["dish"], 1)
            if n % 3 == 0:
                batches.append([void])  # before its order
            else:
                batch.append(void)
        if n % 2 == 0:
            total = sum(x["qty"] * x["unit_price_fen"] for x in lines)
            held.append(paid(uid, at + rng.uniform(600, 3600), total, [uid]))
        batch += held[:1]
        del held[:1]
        batches.append(batch)
    batches.append(held)
    return [b for b in batches if b]


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def loaded(
    request: pytest.FixtureRequest,
    postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('rollups') / 'cloud.sqlite3'}"
    else:
        url = postgres_server.create_database(f"t_{secrets.token_hex(6)}")
    migrate(url)
    cloud: CloudHandle = run_cloud_thread(cloud_settings(url))
    try:
        for store in STORES:
            token = cloud.register(store)
            for batch in store_days(store, random.Random(store)):
                ingest(cloud, token, store, batch)
    finally:
        cloud.stop()
    engine = make_engine(url)
    yield make_sessions(engine)
    engine.dispose()


def _windows() -> list[Window]:
    h = 3600.0
    return [
        Window(0.0, None, None),
        Window(START, START + DAYS * 86400, None),
        Window(START + 5 * h, START + 29 * h, "R2"),
        Window(START + 5 * h + 17.25, START + 40 * h - 0.5, None),  # ragged both ends
        Window(START + 30 * h + 100, START + 30 * h + 2000, None),  # inside one hour
        Window(START + 13 * h + 1, None, "R1"),
        Window(START + 86400 * 9, None, None),  # nothing
        # Past any hub clock (the fuzzer's): no rollup hour is an integer that large.
        Window(1.3e308, None, "R1"),
        Window(2.5e16, 1.7e106, None),
    ]


def _rows(answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, Response):  # the JSON the API sends
        assert answer.media_type == "application/json"
        rows: list[dict[str, Any]] = json.loads(bytes(answer.body))
        return rows
    assert isinstance(answer, list)
    return [r.model_dump() if isinstance(r, BaseModel) else r for r in answer]


ZONES = ("UTC", "Asia/Shanghai", "America/New_York", "Asia/Kathmandu")


@pytest.mark.parametrize("window", _windows(), ids=lambda w: f"{w.since}-{w.until}-{w.store}")
def test_every_report_is_the_same_from_the_rollups(
    loaded: sessionmaker[Session], window: Window
) -> None:
    compared = 0
    with loaded() as session:

        def both(report: Any, **params: Any) -> list[dict[str, Any]]:
            fast = _rows(report(session, HQ, window, True, format="json", **params))
            slow = _rows(report(session, HQ, window, False, format="json", **params))
            assert fast == slow, (report.__name__, params)
            return fast

        for tz in ZONES:
            for by in ("day", "hour"):
                compared += len(both(sales_report, by=by, tz=tz))
            compared += len(both(dishes_per_hour, tz=tz))
            compared += len(both(daily_metrics, tz=tz))
        compared += len(both(dish_ranking))
        compared += len(both(kitchen_speed))
    if window.since < START + 86400 * 9:
        assert compared > 0  # each window holds something to compare


def test_the_rollups_are_what_a_rebuild_from_the_facts_makes(
    loaded: sessionmaker[Session],
) -> None:
    def snapshot(session: Session) -> tuple[list[Any], list[Any]]:
        sales = select(*SaleHour.__table__.columns).order_by(SaleHour.store_id, SaleHour.hour_s)
        dishes = select(*DishHour.__table__.columns).order_by(
            DishHour.store_id, DishHour.hour_s, DishHour.dish
        )
        return (
            [r._asdict() for r in session.execute(sales)],
            [r._asdict() for r in session.execute(dishes)],
        )

    with loaded() as session:
        at_ingest = snapshot(session)
        sales_rollups.rebuild(session)
        rebuilt = snapshot(session)
        session.rollback()
    assert at_ingest[0] and at_ingest[1]
    assert at_ingest == rebuilt
    # Early voids of unreadable orders left no row behind with nothing in it.
    assert all(r["facts"] > 0 or r["visits"] > 0 for r in at_ingest[0])
    assert all(r["facts"] > 0 for r in at_ingest[1])


def test_daily_metrics_count_paid_bills_per_local_day(loaded: sessionmaker[Session]) -> None:
    """Visits and the average bill, worked out here from the payments generated."""
    expected: dict[tuple[str, str], list[int]] = {}
    for store in STORES:
        for batch in store_days(store, random.Random(store)):
            for e in batch:
                if e["type"] == "payment.recorded":
                    day = datetime.fromtimestamp(e["occurred_at"], UTC).strftime("%Y-%m-%d")
                    t = expected.setdefault((store, day), [0, 0])
                    t[0] += 1
                    t[1] += e["data"]["amount_fen"]
    with loaded() as session:
        rows = _rows(daily_metrics(session, HQ, Window(0.0, None, None), True, tz="UTC"))
    assert {(r["store"], r["day"]): [r["visits"], r["paid_fen"]] for r in rows} == expected
    for r in rows:
        assert r["average_bill_fen"] == round(r["paid_fen"] / r["visits"])


def test_migration_0006_backfills_payments_and_rollups(loaded: sessionmaker[Session]) -> None:
    """A database from before the rollups (0005: no payment facts, no rollups) upgraded to
    0006 answers every report as it did before."""
    window = Window(0.0, None, None)

    def answers() -> list[list[dict[str, Any]]]:
        with loaded() as session:
            return [
                _rows(sales_report(session, HQ, window, True, by="hour", tz="Asia/Shanghai")),
                _rows(dishes_per_hour(session, HQ, window, True, tz="Asia/Shanghai")),
                _rows(daily_metrics(session, HQ, window, True, tz="Asia/Shanghai")),
            ]

    before = answers()
    assert all(before)
    url = loaded.kw["bind"].url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), "0005")
    with loaded() as session:
        kinds = set(session.scalars(select(SaleFact.kind).distinct()))
    assert "payment" not in kinds  # 0005's facts know no payments
    migrate(url)
    assert answers() == before


def test_daily_metrics_over_http_as_json_and_csv(cloud: CloudHandle) -> None:
    """Two bills either side of midnight in Shanghai (one UTC day): two Shanghai days. The CSV
    holds the JSON's rows and columns; without an HQ login, 401."""
    token = cloud.register("D1")
    late = datetime(2024, 3, 1, 15, 50, tzinfo=UTC).timestamp()  # 23:50 in Shanghai
    ingest(
        cloud,
        token,
        "D1",
        [
            paid("bill-0001", late, 12000, []),
            paid("bill-0002", late + 1200, 3000, []),
            paid("bill-0003", late + 1300, 0, []),
        ],
    )
    hq = cloud.hq()
    params = {"tz": "Asia/Shanghai"}
    rows = hq.get("/api/v1/hq/daily", params=params).json()
    assert rows == [
        {
            "store": "D1",
            "day": "2024-03-01",
            "visits": 1,
            "paid_fen": 12000,
            "average_bill_fen": 12000,
        },
        # a waived bill (0 fen) is a visit too
        {
            "store": "D1",
            "day": "2024-03-02",
            "visits": 2,
            "paid_fen": 3000,
            "average_bill_fen": 1500,
        },
    ]
    r = hq.get("/api/v1/hq/daily", params={**params, "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="daily-metrics.csv"'
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [{k: int(v) if v.isdigit() else v for k, v in row.items()} for row in table] == rows
    with httpx.Client(base_url=cloud.base_url) as anonymous:
        assert anonymous.get("/api/v1/hq/daily").status_code == 401
