"""HQ's sales reports on real PostgreSQL, and the sales exporter into the real InfluxDB 1.6.7.

Events go in through the real ingest endpoint, shaped as the hub sends them
(edge/orders/service.py, edge/printing/service.py).
"""

import csv
import io
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from alembic import command
from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud.api import reports
from cloud.db import alembic_config, make_engine, make_sessions, migrate
from cloud.models import IngestedEvent
from cloud.sales_influx import SalesExporter
from contract.uplink import ORDER_LINE_VOIDED, ORDER_PLACED
from edge.telemetry.v1_bridge import InfluxV1Bridge
from smartstore.cloud_service import CloudHandle, PostgresServer, cloud_settings, run_cloud_thread
from smartstore.services import InfluxServer
from tests.support import wait_until

BUCKET = "smartstore/autogen"

# dish -> (name_zh, name_en, station, unit price in fen)
MENU = {
    "gbjd": ("宫保鸡丁", "Kung Pao chicken", "wok", 3800),
    "rice": ("米饭", "Steamed rice", "cold", 200),
    "tofu": ("麻婆豆腐", "Mapo tofu", "wok", 1500),
    "beer": ("青岛啤酒", "Tsingtao beer", "bar", 1500),
    "soup": ("酸辣汤", "Hot and sour soup", "wok", 1000),
    "tea": ("菊花茶", "Chrysanthemum tea", "bar", 500),
}


def utc(hour: int, minute: int = 0) -> float:
    """1 March 2024, UTC."""
    return datetime(2024, 3, 1, hour, minute, tzinfo=UTC).timestamp()


# 23:30 in Shanghai (UTC+8) on 1 March, and 00:30 on 2 March: one UTC day, two Shanghai days.
T1 = utc(15, 30)
T2 = utc(16, 30)
T_VOID1 = utc(16, 10)  # after midnight in Shanghai, of the 23:30 order
T_VOID_LOST = utc(17)  # of an order HQ never got
T3 = utc(10)  # 18:00 in Shanghai


def line(dish: str, qty: int) -> dict[str, Any]:
    zh, en, station, price = MENU[dish]
    return {
        "dish": dish,
        "name_zh": zh,
        "name_en": en,
        "station": station,
        "qty": qty,
        "unit_price_fen": price,
    }


def placed(
    uid: str, when: float, lines: list[dict[str, Any]], source: str = "table", no: int = 1
) -> dict[str, Any]:
    return {
        "id": f"op-{uid}",
        "type": ORDER_PLACED,
        "occurred_at": when,
        "data": {
            "order": uid,
            "no": no,
            "source": source,
            "table": "A1" if source == "table" else "",
            "device": "kiosk-01" if source == "kiosk" else None,
            "created_at": when,
            "total_fen": sum(
                x["qty"] * x["unit_price_fen"] for x in lines if type(x["qty"]) is int
            ),
            "lines": lines,
        },
    }


def voided(uid: str, line_id: int, when: float, dish: str, qty: int) -> dict[str, Any]:
    return {
        "id": f"ov-{uid}-{line_id}",
        "type": ORDER_LINE_VOIDED,
        "occurred_at": when,
        "data": {
            "order": uid,
            "dish": dish,
            "qty": qty,
            "unit_price_fen": MENU[dish][3],
            "by": "alice",
        },
    }


def done(uid: str, when: float, ready_s: object) -> dict[str, Any]:
    return {
        "id": f"od-{uid}",
        "type": "order.done",
        "occurred_at": when,
        "data": {"order": uid, "no": 1, "ready_s": ready_s},
    }


def printed(job: str, uid: str, ordered_at: float, latency_s: object) -> dict[str, Any]:
    printed_at = ordered_at + (latency_s if isinstance(latency_s, int | float) else 1)
    return {
        "id": f"tp-{job}",
        "type": "ticket.printed",
        "occurred_at": printed_at,
        "data": {
            "order": uid,
            "station": "wok",
            "printer": "printer-01",
            "ordered_at": ordered_at,
            "printed_at": printed_at,
            "latency_s": latency_s,
        },
    }


def ingest(cloud: CloudHandle, token: str, store: str, events: list[dict[str, Any]]) -> None:
    r = cloud.client(token).post("/api/v1/ingest", json={"store": store, "events": events})
    assert r.status_code == 200, r.text
    assert len(r.json()["stored"]) == len(events)


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def hq_database(
    request: pytest.FixtureRequest,
    postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Every report test runs on PostgreSQL (HQ) and on SQLite (the demo's embedded HQ)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hq') / 'cloud.sqlite3'}"
        migrate(url)
        yield url
        return
    name = f"t_{secrets.token_hex(6)}"
    url = postgres_server.create_database(name)
    migrate(url)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(scope="module")
def hq(hq_database: str) -> Iterator[httpx.Client]:
    """One HQ with two stores' evening, for every report test: they only read."""
    url = hq_database
    cloud = run_cloud_thread(cloud_settings(url))
    try:
        s1, s2 = cloud.register("S1"), cloud.register("S2")
        ingest(
            cloud,
            s1,
            "S1",
            [
                placed("o1-20240301", T1, [line("gbjd", 2), line("rice", 1)]),
                placed("o2-20240301", T2, [line("gbjd", 1), line("rice", 3)], "kiosk", no=2),
                voided("o1-20240301", 2, T_VOID1, "rice", 1),
                voided("o9-lost-order", 1, T_VOID_LOST, "rice", 1),
                printed("job-0001", "o1-20240301", T1, 5.0),
                printed("job-0002", "o1-20240301", T1, 10.0),
                printed("job-0003", "o2-20240301", T2, 20),
                printed("job-0004", "o2-20240301", T2, 40.0),
                done("o1-20240301", T1 + 300, 300.0),
                done("o2-20240301", T2 + 600, 600.0),
                # Storable, but not the contract: left out of every report.
                placed("bad1-20240301", T2, [{**line("tea", 1), "qty": "2"}]),
                placed("bad2-20240301", T2, [{**line("tea", 1), "qty": True}]),
                {**placed("bad3-20240301", T2, []), "data": {"order": "bad3", "lines": "tea"}},
                {**placed("bad4-20240301", T2, []), "data": {"order": "bad4"}},
                voided("bad1-20240301", 1, T2 + 60, "tea", 1),  # of an unreadable order
                {**voided("o2-20240301", 1, T2, "gbjd", 1), "data": {"order": "o2-20240301"}},
                printed("job-bad1", "o2-20240301", T2, None),
                done("bad2-20240301", T2, "fast"),
            ],
        )
        ingest(
            cloud,
            s2,
            "S2",
            [
                placed(
                    "o3-20240301",
                    T3,
                    [line("tofu", 2), line("beer", 2), line("soup", 2), line("tea", 1)],
                )
            ],
        )
        yield cloud.hq()
    finally:
        cloud.stop()


def test_sales_per_day_and_hour_in_shanghai_and_utc(hq: httpx.Client) -> None:
    def report(**params: Any) -> list[tuple[Any, ...]]:
        r = hq.get("/api/v1/hq/sales", params=params)
        assert r.status_code == 200, r.text
        return [
            (x["store"], x["period"], x["orders"], x["items"], x["revenue_fen"]) for x in r.json()
        ]

    # UTC: the whole evening is 1 March. Revenue is net of both voids.
    assert report() == [
        ("S1", "2024-03-01", 2, 5, 7800 + 4400 - 200 - 200),
        ("S2", "2024-03-01", 1, 7, 8500),
    ]
    # Shanghai: the 00:30 order is 2 March. The rice voided at 00:10 belongs to the 23:30
    # order's day; the void of the order HQ never got stays at its own time (01:00).
    assert report(tz="Asia/Shanghai") == [
        ("S1", "2024-03-01", 1, 2, 7800 - 200),
        ("S1", "2024-03-02", 1, 3, 4400 - 200),
        ("S2", "2024-03-01", 1, 7, 8500),
    ]
    assert report(tz="Asia/Shanghai", by="hour", store="S1") == [
        ("S1", "2024-03-01 23:00", 1, 2, 7600),
        ("S1", "2024-03-02 00:00", 1, 4, 4400),
        ("S1", "2024-03-02 01:00", 0, -1, -200),
    ]
    assert report(by="hour", store="S2") == [("S2", "2024-03-01 10:00", 1, 7, 8500)]
    # A window that ends before the void still loses its order's voided rice...
    assert report(until=T_VOID1 - 60) == [
        ("S1", "2024-03-01", 1, 2, 7600),
        ("S2", "2024-03-01", 1, 7, 8500),
    ]
    # ...and a window that starts after the order does not count its void.
    assert report(since=T2) == [("S1", "2024-03-01", 1, 3, 4200)]
    assert report(store="S3") == []


def test_dishes_per_hour_ranked_with_ties(hq: httpx.Client) -> None:
    r = hq.get("/api/v1/hq/dishes", params={"tz": "Asia/Shanghai"})
    assert r.status_code == 200, r.text
    got = [(x["hour"], x["rank"], x["dish"], x["qty"], x["revenue_fen"]) for x in r.json()]
    assert got == [
        # Equal quantities share a rank, listed by revenue then dish id; the next rank is 4.
        ("2024-03-01 18:00", 1, "beer", 2, 3000),
        ("2024-03-01 18:00", 1, "tofu", 2, 3000),
        ("2024-03-01 18:00", 1, "soup", 2, 2000),
        ("2024-03-01 18:00", 4, "tea", 1, 500),
        ("2024-03-01 23:00", 1, "gbjd", 2, 7600),
        ("2024-03-01 23:00", 2, "rice", 0, 0),  # ordered once, voided once
        ("2024-03-02 00:00", 1, "rice", 3, 600),
        ("2024-03-02 00:00", 2, "gbjd", 1, 3800),
        ("2024-03-02 01:00", 1, "rice", -1, -200),
    ]
    first = r.json()[0]
    assert (first["name_zh"], first["name_en"]) == ("青岛啤酒", "Tsingtao beer")
    only_s1 = hq.get("/api/v1/hq/dishes", params={"store": "S1"}).json()
    assert {x["hour"] for x in only_s1} == {
        "2024-03-01 15:00",
        "2024-03-01 16:00",
        "2024-03-01 17:00",
    }


def test_dish_ranking_over_the_window(hq: httpx.Client) -> None:
    r = hq.get("/api/v1/hq/dishes/ranking")
    assert r.status_code == 200, r.text
    got = [(x["rank"], x["dish"], x["name_zh"], x["qty"], x["revenue_fen"]) for x in r.json()]
    assert got == [
        (1, "gbjd", "宫保鸡丁", 3, 11400),
        (2, "beer", "青岛啤酒", 2, 3000),
        (2, "tofu", "麻婆豆腐", 2, 3000),
        (2, "soup", "酸辣汤", 2, 2000),
        (2, "rice", "米饭", 2, 400),  # 1 + 3 ordered, 2 voided
        (6, "tea", "菊花茶", 1, 500),
    ]
    s1 = hq.get("/api/v1/hq/dishes/ranking", params={"store": "S1", "until": T2}).json()
    assert [(x["rank"], x["dish"], x["qty"]) for x in s1] == [(1, "gbjd", 2), (2, "rice", 0)]


def test_kitchen_percentiles_per_store(hq: httpx.Client) -> None:
    r = hq.get("/api/v1/hq/kitchen")
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "store": "S1",
            "orders": 2,
            "tickets": 4,
            "ticket_p50_s": 15.0,  # of 5, 10, 20, 40 s
            "ticket_p95_s": 37.0,
            "ready_p50_s": 450.0,
        },
        {
            "store": "S2",
            "orders": 1,
            "tickets": 0,
            "ticket_p50_s": None,
            "ticket_p95_s": None,
            "ready_p50_s": None,
        },
    ]
    late = hq.get("/api/v1/hq/kitchen", params={"since": T2, "store": "S1"}).json()
    assert [(k["orders"], k["tickets"], k["ticket_p50_s"]) for k in late] == [(1, 2, 30.0)]


def test_csv_opens_in_excel_with_chinese_names(hq: httpx.Client) -> None:
    r = hq.get("/api/v1/hq/dishes/ranking", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="dish-ranking.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(table[0]) == ["rank", "dish", "name_zh", "name_en", "qty", "revenue_fen"]
    assert table[0] == {
        "rank": "1",
        "dish": "gbjd",
        "name_zh": "宫保鸡丁",
        "name_en": "Kung Pao chicken",
        "qty": "3",
        "revenue_fen": "11400",
    }
    for path, params, name in [
        ("/api/v1/hq/sales", {"by": "hour", "tz": "Asia/Shanghai"}, "sales-by-hour.csv"),
        ("/api/v1/hq/dishes", {}, "dishes-by-hour.csv"),
        ("/api/v1/hq/kitchen", {}, "kitchen.csv"),
    ]:
        r = hq.get(path, params={**params, "format": "csv"})
        assert r.status_code == 200 and name in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == list(hq.get(path, params=params).json()[0])  # the JSON's keys
        assert len(rows) == 1 + len(hq.get(path, params=params).json())
    kitchen = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert kitchen[1]["ticket_p50_s"] == ""  # None


def test_csv_cells_that_look_like_formulas_are_text() -> None:
    class Row(BaseModel):
        name: str
        qty: int

    r = reports.csv_response([Row(name="=HYPERLINK(1)", qty=-1)], Row, "x.csv")
    assert bytes(r.body).decode("utf-8-sig").splitlines() == ["name,qty", "'=HYPERLINK(1),-1"]


def _expected(
    orders: list[tuple[float, int]], tz: str, fmt: str
) -> dict[str, tuple[int, int, int]]:
    """period -> (orders, items, revenue) worked out one order at a time with zoneinfo."""
    out: dict[str, list[int]] = {}
    for at, qty in orders:
        t = out.setdefault(datetime.fromtimestamp(at, ZoneInfo(tz)).strftime(fmt), [0, 0, 0])
        t[0] += 1
        t[1] += qty
        t[2] += qty * MENU["tea"][3]
    return {p: (o, i, r) for p, (o, i, r) in out.items()}


def test_days_and_hours_follow_daylight_saving_and_half_hour_zones(cloud: CloudHandle) -> None:
    """Orders every 25 minutes over both 2024 clock changes in New York, reported there, in
    India (UTC+5:30), Nepal (UTC+5:45) and Shanghai: each period as zoneinfo would put them."""
    token = cloud.register("DST")
    orders: list[tuple[float, int]] = []
    for start in (datetime(2024, 3, 9, 20, tzinfo=UTC), datetime(2024, 11, 2, 20, tzinfo=UTC)):
        at = start.timestamp()
        orders += [(at + n * 1500, 1 + n % 3) for n in range(130)]  # 54 hours each
    events = [placed(f"dst{n:04d}", at, [line("tea", qty)]) for n, (at, qty) in enumerate(orders)]
    for i in range(0, len(events), 100):
        ingest(cloud, token, "DST", events[i : i + 100])
    hq = cloud.hq()
    for tz in ("America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Shanghai"):
        for by, fmt in (("hour", "%Y-%m-%d %H:00"), ("day", "%Y-%m-%d")):
            r = hq.get("/api/v1/hq/sales", params={"by": by, "tz": tz})
            assert r.status_code == 200, r.text
            got = {x["period"]: (x["orders"], x["items"], x["revenue_fen"]) for x in r.json()}
            assert got == _expected(orders, tz, fmt), (tz, by)
    # New York's repeated 01:00 on 3 November is one row with both hours' orders in it.
    r = hq.get("/api/v1/hq/sales", params={"by": "hour", "tz": "America/New_York"})
    [repeated] = [x for x in r.json() if x["period"] == "2024-11-03 01:00"]
    assert repeated["orders"] == 5  # 2 hours of orders every 25 minutes
    # Orders a fraction of a second either side of a change, alone in their store: the change
    # is found on its second (a search on fractions once never ended).
    change = datetime(2024, 3, 10, 7, tzinfo=UTC).timestamp()  # 02:00 -> 03:00 in New York
    edge = [(change - 10.3, 1), (change - 0.4, 1), (change + 0.7, 2)]
    token2 = cloud.register("DST2")
    ingest(
        cloud,
        token2,
        "DST2",
        [placed(f"edge{n:04d}", at, [line("tea", q)]) for n, (at, q) in enumerate(edge)],
    )
    r = hq.get("/api/v1/hq/sales", params={"by": "hour", "tz": "America/New_York", "store": "DST2"})
    got = {x["period"]: (x["orders"], x["items"], x["revenue_fen"]) for x in r.json()}
    assert got == _expected(edge, "America/New_York", "%Y-%m-%d %H:00")
    assert set(got) == {"2024-03-10 01:00", "2024-03-10 03:00"}
    # A window ending mid-way counts only what came before its end.
    until = datetime(2024, 3, 10, 7, tzinfo=UTC).timestamp()  # 03:00 New York, just after
    r = hq.get("/api/v1/hq/sales", params={"by": "day", "tz": "America/New_York", "until": until})
    assert sum(x["orders"] for x in r.json() if x["store"] == "DST") == sum(
        1 for at, _ in orders if at < until
    )


def test_a_void_that_arrives_before_its_order_counts_at_the_orders_time(
    cloud: CloudHandle,
) -> None:
    token = cloud.register("EARLY")
    ordered, voided_at = utc(11, 30), utc(13, 5)
    ingest(cloud, token, "EARLY", [voided("late-order", 1, voided_at, "gbjd", 1)])
    ingest(cloud, token, "EARLY", [voided("bad-order", 1, voided_at, "rice", 1)])
    hq = cloud.hq()
    hours = {x["period"]: x["revenue_fen"] for x in hq.get("/api/v1/hq/sales?by=hour").json()}
    assert hours == {"2024-03-01 13:00": -3800 - 200}  # no order yet: at the void's own time
    ingest(cloud, token, "EARLY", [placed("late-order", ordered, [line("gbjd", 2)])])
    ingest(cloud, token, "EARLY", [{**placed("bad-order", ordered, []), "data": {"x": 1}}])
    rows = hq.get("/api/v1/hq/sales?by=hour").json()
    # Moved to the order's hour; the unreadable order's void no longer counts.
    assert [(x["period"], x["orders"], x["items"], x["revenue_fen"]) for x in rows] == [
        ("2024-03-01 11:00", 1, 1, 3800)
    ]


def test_reports_are_the_same_after_the_facts_are_rebuilt(
    hq: httpx.Client, hq_database: str
) -> None:
    """The migration that made the report facts fills them from events already stored: taking
    it back and applying it again gives every report unchanged."""
    paths = [
        ("/api/v1/hq/sales", {"by": "hour", "tz": "Asia/Shanghai"}),
        ("/api/v1/hq/dishes", {"tz": "Asia/Shanghai"}),
        ("/api/v1/hq/dishes/ranking", {}),
        ("/api/v1/hq/kitchen", {}),
    ]
    before = [hq.get(p, params=q).json() for p, q in paths]
    assert all(before)  # something to lose
    command.downgrade(alembic_config(hq_database), "0004")
    migrate(hq_database)
    assert [hq.get(p, params=q).json() for p, q in paths] == before


def test_reports_need_an_hq_login_and_a_real_time_zone(hq: httpx.Client) -> None:
    paths = ["/api/v1/hq/sales", "/api/v1/hq/dishes", "/api/v1/hq/dishes/ranking"]
    paths.append("/api/v1/hq/kitchen")
    with httpx.Client(base_url=str(hq.base_url)) as anonymous:
        for path in paths:
            assert anonymous.get(path).status_code == 401
            assert anonymous.get(path, params={"format": "csv"}).status_code == 401
        wrong = anonymous.get(paths[0], headers={"Authorization": "Bearer not-a-session"})
        assert wrong.status_code == 401
    for tz in ("Mars/Olympus", "asia/shanghai", "../../etc/passwd", "America", ""):
        r = hq.get("/api/v1/hq/sales", params={"tz": tz})
        assert r.status_code == 422, (tz, r.text)
        assert "unknown time zone" in r.json()["detail"]
    assert hq.get("/api/v1/hq/dishes", params={"tz": "Mars/Olympus"}).status_code == 422
    assert hq.get("/api/v1/hq/sales", params={"by": "week"}).status_code == 422
    assert hq.get("/api/v1/hq/sales", params={"tz": "Europe/Berlin"}).status_code == 200


# The exporter


def influx_rows(influxdb: InfluxServer, q: str) -> dict[str, list[Any]]:
    """{"tag=value,…" of the group: its row's values after the time}."""
    out: dict[str, list[Any]] = {}
    for s in influxdb.query(q, db="smartstore"):
        tags: dict[str, str] = s.get("tags") or {}  # type: ignore[assignment]
        for values in s["values"]:  # type: ignore[attr-defined]
            out[",".join(f"{k}={v}" for k, v in sorted(tags.items()))] = list(values[1:])
    return out


def sums(influxdb: InfluxServer, store: str) -> dict[str, list[Any]]:
    return influx_rows(
        influxdb,
        f"SELECT sum(qty), sum(revenue_fen), count(qty) FROM sales WHERE store='{store}' "
        "GROUP BY dish",
    )


def last_sales_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        last = session.scalar(
            select(func.max(IngestedEvent.id)).where(
                IngestedEvent.type.in_([ORDER_PLACED, ORDER_LINE_VOIDED])
            )
        )
    return int(last or 0)


@pytest.fixture
def sessions(cloud: CloudHandle) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(cloud.settings.database_url)
    yield make_sessions(engine)
    engine.dispose()


@contextmanager
def hanging_up(port: int) -> Iterator[Callable[[], int]]:
    """InfluxDB down, in a way that can be counted: whatever listens on its port hangs up on
    every connection at once. Yields how many connections it has cut."""
    cut = 0
    listener = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR: the port is free

    def serve() -> None:
        nonlocal cut
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()
            cut += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield lambda: cut
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (Linux)
        thread.join(5)
        listener.close()


def run_exporter(
    sessions: sessionmaker[Session], url: str, until_id: int | None = None, **options: Any
) -> SalesExporter:
    """An exporter of the cloud's database; with until_id, returned once it exported that far."""
    options = {"settle_s": 0.0, "idle_s": 0.05, **options}
    exporter = SalesExporter(sessions, url, "", "smartstore", BUCKET, **options).start()
    if until_id is not None:
        wait_until(lambda: (exporter.watermark or 0) >= until_id, what="the export")
    return exporter


def test_exporter_writes_each_line_once_even_when_run_twice(
    cloud: CloudHandle,
    sessions: sessionmaker[Session],
    store: str,
    influxdb: InfluxServer,
    influx_bridge: InfluxV1Bridge,
) -> None:
    token = cloud.register(store)
    ingest(
        cloud,
        token,
        store,
        [
            placed("o1-20240301", T1, [line("gbjd", 2), line("rice", 1)]),
            # Rice twice in one order (say, two with different options): two points.
            placed("o2-20240301", T2, [line("gbjd", 1), line("rice", 3), line("rice", 2)], "kiosk"),
            voided("o1-20240301", 2, T_VOID1, "rice", 1),
            voided("o9-lost-order", 1, T_VOID_LOST, "rice", 1),
            placed("bad1-20240301", T2, [{**line("tea", 1), "qty": 1.5}]),
            voided("bad1-20240301", 1, T2 + 60, "tea", 1),
        ],
    )
    last = last_sales_id(sessions)
    expected = {"dish=gbjd": [3, 11400, 2], "dish=rice": [4, 800, 5]}

    # Rows not yet settled wait: a lower id may still be committing.
    waiting = run_exporter(sessions, influx_bridge.url, settle_s=3600)
    wait_until(lambda: waiting.healthy, what="the exporter to start")
    waiting.stop()
    assert waiting.watermark == 0 and waiting.sent == 0

    first = run_exporter(sessions, influx_bridge.url, until_id=last)
    first.stop()
    # 7 sales points (5 lines, 2 voids) and one orders point per readable order.
    assert first.sent == 7 + 2 and first.refused == 0
    assert sums(influxdb, store) == expected
    voids = influx_rows(
        influxdb,
        f"SELECT sum(qty) FROM sales WHERE store='{store}' AND qty < 0 GROUP BY station, source",
    )
    # A void has its order's station and source; without its order, "-".
    assert voids == {"source=-,station=-": [-1], "source=table,station=cold": [-1]}

    # A restart exports the lookback again: the same points, overwritten, not added.
    again = run_exporter(sessions, influx_bridge.url, until_id=last)
    again.stop()
    assert again.sent == 7 + 2
    assert sums(influxdb, store) == expected

    # Events received before the lookback are not exported again.
    with sessions.begin() as session:
        session.execute(update(IngestedEvent).values(received_at=time.time() - 8 * 86400))
    ingest(cloud, token, store, [placed("o4-20240301", T2 + 60, [line("tea", 2)])])
    later = run_exporter(sessions, influx_bridge.url, until_id=last_sales_id(sessions))
    later.stop()
    assert later.sent == 1 + 1
    assert sums(influxdb, store) == {**expected, "dish=tea": [2, 1000, 1]}


def test_exporter_keeps_its_place_while_influxdb_is_down(
    cloud: CloudHandle, sessions: sessionmaker[Session], store: str, influxdb: InfluxServer
) -> None:
    bridge = InfluxV1Bridge(influxdb.url).start()
    port = int(bridge.url.rsplit(":", 1)[1])
    bridge.stop()
    token = cloud.register(store)
    ingest(cloud, token, store, [placed("o1-20240301", T1, [line("gbjd", 2), line("rice", 1)])])
    exporter = run_exporter(sessions, bridge.url, backoff_min_s=0.05, backoff_max_s=0.2)
    try:
        with hanging_up(port) as attempts:  # InfluxDB down
            wait_until(lambda: attempts() >= 3, what="several failed attempts")
            assert exporter.watermark == 0 and not exporter.healthy
        ingest(cloud, token, store, [placed("o2-20240301", T2, [line("gbjd", 1)])])

        bridge = InfluxV1Bridge(influxdb.url, port=port).start()  # InfluxDB is back
        last = last_sales_id(sessions)
        wait_until(lambda: exporter.watermark == last, what="the export after the outage")
        assert sums(influxdb, store) == {"dish=gbjd": [3, 11400, 2], "dish=rice": [1, 200, 1]}
    finally:
        exporter.stop()
        bridge.stop()
