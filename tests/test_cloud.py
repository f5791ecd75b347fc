"""The HQ service against a real PostgreSQL: registration, tokens, idempotent atomic ingest."""

import hashlib
import random
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

from cloud.db import Base, alembic_config, migrate
from smartstore.cloud_service import CloudHandle, cloud_settings, run_cloud_thread

INGEST = "/api/v1/ingest"


def event(
    event_id: str | None = None,
    type_: str = "call.opened",
    occurred_at: float | None = None,
    **data: Any,
) -> dict[str, Any]:
    return {
        "id": event_id or f"ev-{secrets.token_hex(6)}",
        "type": type_,
        "occurred_at": time.time() if occurred_at is None else occurred_at,
        "data": data or {"device": "btn-001", "table": "A1"},
    }


def batch(store: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"store": store, "events": events}


@contextmanager
def database(url: str) -> Iterator[Connection]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def events_of(cloud: CloudHandle, store: str, **params: Any) -> list[dict[str, Any]]:
    r = cloud.admin.get(f"/api/v1/stores/{store}/events", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()
    return events


def row_count(cloud: CloudHandle) -> int:
    with database(cloud.settings.database_url) as conn:
        return int(conn.execute(text("SELECT count(*) FROM ingested_events")).scalar_one())


def ids(r: httpx.Response) -> dict[str, object]:
    """An ingest answer's stored/duplicates (without HQ's clock, which changes every call)."""
    return {k: v for k, v in r.json().items() if k != "received_at"}


def test_health(cloud: CloudHandle) -> None:
    assert httpx.get(f"{cloud.base_url}/health").json() == {"ok": True}


def test_registration_shows_the_token_once_and_stores_only_its_hash(cloud: CloudHandle) -> None:
    r = cloud.admin.post("/api/v1/stores", json={"id": "S1", "name": "Store one / 一号店"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "name", "token"}
    assert body["id"] == "S1" and body["name"] == "Store one / 一号店"
    token = body["token"]
    assert len(token) >= 40
    assert r.headers["cache-control"] == "no-store"

    with database(cloud.settings.database_url) as conn:
        rows = [str(row) for row in conn.execute(text("SELECT * FROM stores"))]
        stored_hash = conn.execute(text("SELECT token_hash FROM stores")).scalar_one()
    assert len(rows) == 1
    assert token not in rows[0]
    assert stored_hash == hashlib.sha256(token.encode()).hexdigest()

    again = cloud.admin.post("/api/v1/stores", json={"id": "S1", "name": "again"})
    assert again.status_code == 409
    # Nothing else ever shows the token again.
    assert token not in cloud.admin.get("/api/v1/stores/S1/events").text


@pytest.mark.parametrize("store_id", ["", "a" * 33, "S 1", "S/1", "店"])
def test_store_ids_follow_the_pattern(cloud: CloudHandle, store_id: str) -> None:
    r = cloud.admin.post("/api/v1/stores", json={"id": store_id, "name": "x"})
    assert r.status_code == 422


def test_store_admin_needs_the_admin_token(cloud: CloudHandle) -> None:
    store_token = cloud.register("S1")
    anonymous = cloud.client()
    for headers in ({}, {"Authorization": "Bearer " + "x" * 43}, {"Authorization": store_token}):
        r = anonymous.post("/api/v1/stores", json={"id": "S2", "name": "x"}, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
    as_store = cloud.client(store_token)
    assert as_store.post("/api/v1/stores/S1/token").status_code == 401
    assert as_store.get("/api/v1/stores/S1/events").status_code == 401
    assert cloud.admin.post("/api/v1/stores/NOPE/token").status_code == 404
    assert cloud.admin.post("/api/v1/stores/NOPE/revoke").status_code == 404


def test_ingest_tokens_missing_wrong_revoked_rotated_and_other_store(cloud: CloudHandle) -> None:
    token1, token2 = cloud.register("S1"), cloud.register("S2")
    anonymous = cloud.client()
    for client in (anonymous, cloud.client("x" * 43), cloud.admin):
        r = client.post(INGEST, json=batch("S1", [event()]))
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"

    # A store's token is good for its own store only.
    r = cloud.client(token2).post(INGEST, json=batch("S1", [event()]))
    assert r.status_code == 403
    assert cloud.client(token1).post(INGEST, json=batch("S1", [event()])).status_code == 200

    # Rotation: the new token works, the old one is refused.
    r = cloud.admin.post("/api/v1/stores/S1/token")
    assert r.status_code == 200
    assert r.json()["id"] == "S1"
    new_token = r.json()["token"]
    assert new_token != token1
    assert cloud.client(token1).post(INGEST, json=batch("S1", [event()])).status_code == 401
    assert cloud.client(new_token).post(INGEST, json=batch("S1", [event()])).status_code == 200

    # Revocation: the token stops working; other stores are untouched.
    assert cloud.admin.post("/api/v1/stores/S1/revoke").status_code == 204
    r = cloud.client(new_token).post(INGEST, json=batch("S1", [event()]))
    assert r.status_code == 401
    assert cloud.client(token2).post(INGEST, json=batch("S2", [event()])).status_code == 200
    # A revoked store comes back only with a newly issued token.
    fresh = cloud.admin.post("/api/v1/stores/S1/token").json()["token"]
    assert cloud.client(new_token).post(INGEST, json=batch("S1", [event()])).status_code == 401
    assert cloud.client(fresh).post(INGEST, json=batch("S1", [event()])).status_code == 200
    assert len(events_of(cloud, "S1")) == 3


def test_ingest_is_idempotent(cloud: CloudHandle) -> None:
    hub = cloud.client(cloud.register("S1"))
    first = [event(f"S1-call-{n:04d}", data_n=n) for n in range(3)]

    r = hub.post(INGEST, json=batch("S1", first))
    assert r.status_code == 200, r.text
    assert ids(r) == {"stored": [e["id"] for e in first], "duplicates": []}

    r = hub.post(INGEST, json=batch("S1", first))
    assert ids(r) == {"stored": [], "duplicates": [e["id"] for e in first]}

    new = [event(f"S1-call-{n:04d}", "call.answered") for n in (3, 4)]
    r = hub.post(INGEST, json=batch("S1", [first[1], new[0], first[2], new[1]]))
    assert ids(r) == {
        "stored": [new[0]["id"], new[1]["id"]],
        "duplicates": [first[1]["id"], first[2]["id"]],
    }
    # An id twice in one batch is stored once.
    twice = event("S1-call-0005")
    r = hub.post(INGEST, json=batch("S1", [twice, twice]))
    assert ids(r) == {"stored": [twice["id"]], "duplicates": []}

    assert row_count(cloud) == 6
    listed = events_of(cloud, "S1")
    assert sorted(e["id"] for e in listed) == [f"S1-call-{n:04d}" for n in range(6)]
    # Newest first; filters by type; limited.
    assert listed[0]["id"] == "S1-call-0005"
    by_id = {e["id"]: e for e in listed}
    assert by_id["S1-call-0001"]["data"] == {"data_n": 1}
    assert by_id["S1-call-0001"]["occurred_at"] == first[1]["occurred_at"]
    answered = events_of(cloud, "S1", type="call.answered")
    assert [e["id"] for e in answered] == ["S1-call-0004", "S1-call-0003"]
    assert len(events_of(cloud, "S1", limit=2)) == 2

    # The same event id from another store is another event.
    other = cloud.client(cloud.register("S2"))
    r = other.post(INGEST, json=batch("S2", [first[0]]))
    assert ids(r) == {"stored": [first[0]["id"]], "duplicates": []}


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"id": "short"}, "id"),
        ({"id": "has space in it"}, "id"),
        ({"type": "call.closed"}, "type"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": -5}, "occurred_at"),
        ({"data": ["not", "an", "object"]}, "data"),
        # {"blob":"…"} is 11 bytes around the x's: 16385 bytes, one over the limit.
        ({"data": {"blob": "x" * 16374}}, "data"),
        ({"data": {"nul": "a\x00b"}}, "data"),
    ],
)
def test_one_bad_event_refuses_the_whole_batch(
    cloud: CloudHandle, bad: dict[str, Any], where: str
) -> None:
    hub = cloud.client(cloud.register("S1"))
    events = [event() for _ in range(5)]
    events[3] = {**events[3], **bad}

    r = hub.post(INGEST, json=batch("S1", events))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["index"] == 3
    assert "event 3" in detail["message"] and where in detail["message"]
    assert row_count(cloud) == 0


def test_malformed_bodies_are_refused(cloud: CloudHandle) -> None:
    hub = cloud.client(cloud.register("S1"))
    nan = '{"store": "S1", "events": [{"id": "abcdefgh", "type": "call.opened", '
    nan += '"occurred_at": NaN, "data": {}}]}'
    for body in (b"not json", b"[]", b'{"store": "S1"}', nan.encode()):
        r = hub.post(INGEST, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, body
    assert row_count(cloud) == 0


def test_a_batch_holds_at_most_500_events(cloud: CloudHandle) -> None:
    """cloud/README.md: batches of at most 500 events; 413 for an oversized batch."""
    hub = cloud.client(cloud.register("S1"))
    events = [event(f"S1-big-{n:05d}") for n in range(501)]

    r = hub.post(INGEST, json=batch("S1", events))
    assert r.status_code == 413
    assert "at most 500 events" in r.json()["detail"]
    assert row_count(cloud) == 0

    r = hub.post(INGEST, json=batch("S1", events[:500]))
    assert r.status_code == 200
    assert ids(r) == {"stored": [e["id"] for e in events[:500]], "duplicates": []}
    assert row_count(cloud) == 500


def test_event_data_of_16384_bytes_is_taken_one_more_is_refused(cloud: CloudHandle) -> None:
    """An event's data, as compact UTF-8 JSON, may take up to 16384 bytes (cloud/const.py)."""
    hub = cloud.client(cloud.register("S1"))
    # {"blob":"…"} is 11 bytes around the text; 宫 is 3 bytes of UTF-8.
    fits = {"blob": "宫" * 5000 + "x" * 1373}
    over = {"blob": "宫" * 5000 + "x" * 1374}
    r = hub.post(INGEST, json=batch("S1", [event("S1-fits-0001", blob=fits["blob"])]))
    assert r.status_code == 200, r.text
    r = hub.post(INGEST, json=batch("S1", [event("S1-over-0001", blob=over["blob"])]))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["index"] == 0
    assert [e["data"] for e in events_of(cloud, "S1")] == [fits]


def test_clock_skew_is_never_an_error(cloud: CloudHandle) -> None:
    hub = cloud.client(cloud.register("S1"))
    day = 86_400.0
    now = time.time()
    ahead, behind = event(occurred_at=now + day), event(occurred_at=now - day)

    before = time.time()
    r = hub.post(INGEST, json=batch("S1", [ahead, behind]))
    after = time.time()
    assert r.status_code == 200
    assert len(r.json()["stored"]) == 2

    by_id = {e["id"]: e for e in events_of(cloud, "S1")}
    assert by_id[ahead["id"]]["occurred_at"] == ahead["occurred_at"]
    assert by_id[behind["id"]]["occurred_at"] == behind["occurred_at"]
    for e in by_id.values():
        assert before <= e["received_at"] <= after


def test_concurrent_posts_of_the_same_events_store_each_once(cloud: CloudHandle) -> None:
    token = cloud.register("S1")
    events = [event(f"S1-race-{n:04d}") for n in range(60)]
    posters = 8
    barrier = threading.Barrier(posters)
    results: list[dict[str, list[str]]] = []
    failures: list[BaseException] = []

    def post(seed: int) -> None:
        mine = events[:]
        random.Random(seed).shuffle(mine)  # overlapping batches in different orders
        try:
            with httpx.Client(base_url=cloud.base_url, timeout=30) as c:
                barrier.wait(10)
                r = c.post(
                    INGEST,
                    json=batch("S1", mine),
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 200, r.text
                results.append(r.json())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(posters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert len(results) == posters

    stored = [i for r in results for i in r["stored"]]
    assert sorted(stored) == sorted(e["id"] for e in events)  # each stored by exactly one post
    for r in results:
        assert set(r["stored"]) | set(r["duplicates"]) == {e["id"] for e in events}
    with database(cloud.settings.database_url) as conn:
        counts = conn.execute(
            text("SELECT event_id, count(*) FROM ingested_events GROUP BY event_id")
        ).all()
    assert len(counts) == len(events)
    assert all(n == 1 for _, n in counts)


def _schema_state(url: str) -> tuple[set[str], str | None, list[Any]]:
    def diff(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    with database(url) as conn:
        tables = set(inspect(conn).get_table_names())
        version = MigrationContext.configure(conn).get_current_revision()
        return tables, version, diff(conn)


def _check_migrations(url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    tables, version, _ = _schema_state(url)
    assert (tables, version) == (set(), None)

    migrate(url)
    tables, version, diff = _schema_state(url)
    assert tables == {
        "alembic_version",
        "stores",
        "ingested_events",
        "hq_users",
        "hq_sessions",
        "config_documents",
        "sale_facts",
        "kitchen_facts",
        "sale_hours",
        "dish_hours",
        "members",
        "member_ids",
        "points_entries",
        "coupons",
        "coupon_redemptions",
        "member_spend",
        "member_totals",
        "member_store_bills",
        "risk_items",
        "member_rfm",
        "rfm_segment_counts",
        "experiments",
        "experiment_exposures",
        "stamp_entries",
        "invitations",
        "store_requests",
    }
    assert version == head
    assert diff == []  # the migrations build exactly what the models declare

    migrate(url)  # a second run is a no-op
    assert _schema_state(url) == (tables, head, [])


def test_migrations_on_postgres(cloud_db: str) -> None:
    _check_migrations(cloud_db)


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    _check_migrations(f"sqlite:///{tmp_path / 'cloud.sqlite3'}")


def test_the_same_service_runs_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    migrate(url)
    cloud = run_cloud_thread(cloud_settings(url))
    try:
        hub = cloud.client(cloud.register("S1"))
        at = 1_700_000_000.25
        events = [
            event(f"S1-lite-{n}", occurred_at=at + n, data_n=n, 名="一号桌") for n in range(3)
        ]
        r = hub.post(INGEST, json=batch("S1", events))
        assert ids(r) == {"stored": [e["id"] for e in events], "duplicates": []}
        fourth = event("S1-lite-3", "call.answered", occurred_at=at + 3)
        r = hub.post(INGEST, json=batch("S1", [*events, fourth]))
        assert ids(r) == {"stored": ["S1-lite-3"], "duplicates": [e["id"] for e in events]}
        listed = events_of(cloud, "S1")
        # What was sent comes back as it was sent, newest first (received_at is HQ's clock).
        assert [{k: v for k, v in e.items() if k != "received_at"} for e in listed] == [
            {
                "id": "S1-lite-3",
                "type": "call.answered",
                "occurred_at": 1_700_000_003.25,
                "data": {"device": "btn-001", "table": "A1"},
            },
            *(
                {
                    "id": f"S1-lite-{n}",
                    "type": "call.opened",
                    "occurred_at": 1_700_000_000.25 + n,
                    "data": {"data_n": n, "名": "一号桌"},
                }
                for n in (2, 1, 0)
            ),
        ]
    finally:
        cloud.stop()


@pytest.mark.parametrize("bad", ["\\u0000", "\\ud800"], ids=["nul", "lone-surrogate"])
def test_text_postgresql_cannot_store_is_a_clear_422(cloud: CloudHandle, bad: str) -> None:
    """Found by Schemathesis: such a store name was a 500 from the database."""
    body = '{"id": "S9", "name": "Store ' + bad + '"}'
    r = cloud.admin.post(
        "/api/v1/stores", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    token = cloud.register("S8")
    event = (
        '{"id": "co-00000001", "type": "call.opened", "occurred_at": 1, "data": {"t": "x'
        + bad
        + '"}}'
    )
    r = cloud.client(token).post(
        "/api/v1/ingest",
        content='{"store": "S8", "events": [' + event + "]}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert cloud.admin.get("/api/v1/stores/S8/events").json() == []
