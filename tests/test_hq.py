"""HQ's people: their own login, and the service and fleet reports, on real PostgreSQL."""

import csv
import io
import time

from smartstore.cloud_service import CloudHandle


def ingest(cloud: CloudHandle, token: str, store: str, events: list[dict[str, object]]) -> None:
    r = cloud.client(token).post("/api/v1/ingest", json={"store": store, "events": events})
    assert r.status_code == 200, r.text


def test_hq_users_log_in_separately(cloud: CloudHandle) -> None:
    r = cloud.admin.post("/api/v1/hq/users", json={"username": "lin", "password": "short"})
    assert r.status_code == 422
    hq = cloud.hq()
    assert hq.get("/api/v1/hq/fleet").status_code == 200
    # Neither a store's token nor the admin token nor nothing opens HQ's reports.
    store_token = cloud.register("S1")
    for client in (cloud.client(store_token), cloud.admin, cloud.client()):
        assert client.get("/api/v1/hq/service").status_code == 401
    # Guessing is bounded.
    guesser = cloud.client()
    codes = [
        guesser.post(
            "/api/v1/hq/login", json={"username": "lin", "password": f"guess-{n}"}
        ).status_code
        for n in range(6)
    ]
    assert codes == [401] * 5 + [429]


def test_service_quality_per_store_as_json_and_csv(cloud: CloudHandle) -> None:
    s1, _ = cloud.register("S1"), cloud.register("S2")
    now = time.time()
    opened = [
        {"id": f"co-{n:08d}", "type": "call.opened", "occurred_at": now, "data": {"call": str(n)}}
        for n in range(3)
    ]
    answered = [
        {
            "id": f"ca-{n:08d}",
            "type": "call.answered",
            "occurred_at": now,
            "data": {"call": str(n), "response_s": secs, "urgent": secs > 120},
        }
        for n, secs in enumerate([10.0, 30.0, 150.0])
    ]
    ingest(cloud, s1, "S1", opened + answered)
    hq = cloud.hq()
    rows = {r["store"]: r for r in hq.get("/api/v1/hq/service").json()}
    # Inclusive (linearly interpolated) percentiles of 10, 30, 150 s: p50 is the middle one;
    # p95 sits at rank 0.95 * (3 - 1) = 1.9, i.e. 30 + 0.9 * (150 - 30) = 138 s.
    assert rows == {
        "S1": {
            "store": "S1",
            "calls_opened": 3,
            "calls_answered": 3,
            "response_p50_s": 30.0,
            "response_p95_s": 138.0,
            "urgent_share": 0.333,  # 1 of 3, rounded to 3 places
        },
        "S2": {
            "store": "S2",
            "calls_opened": 0,
            "calls_answered": 0,
            "response_p50_s": None,
            "response_p95_s": None,
            "urgent_share": None,
        },
    }
    r = hq.get("/api/v1/hq/service", params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("\ufeff")  # Excel reads it as UTF-8
    table = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert table == [
        {
            "store": "S1",
            "calls_opened": "3",
            "calls_answered": "3",
            "response_p50_s": "30.0",
            "response_p95_s": "138.0",
            "urgent_share": "0.333",
        },
        {
            "store": "S2",
            "calls_opened": "0",
            "calls_answered": "0",
            "response_p50_s": "",
            "response_p95_s": "",
            "urgent_share": "",
        },
    ]
    # A window before anything happened is empty.
    early = hq.get("/api/v1/hq/service", params={"until": now - 3600}).json()
    assert [(r["store"], r["calls_opened"], r["calls_answered"]) for r in early] == [
        ("S1", 0, 0),
        ("S2", 0, 0),
    ]


def test_fleet_health_shows_stores_online_and_open_alarms(cloud: CloudHandle) -> None:
    s1, _ = cloud.register("S1"), cloud.register("S2")
    now = time.time()

    def alarm(uid: str, kind: str, device_type: str, active: bool) -> dict[str, object]:
        return {
            "id": f"da-{uid}-{'raised' if active else 'cleared'}",
            "type": "device.alarm",
            "occurred_at": now + (0 if active else 1),
            "data": {
                "alarm": uid,
                "device": f"{device_type}-1",
                "device_type": device_type,
                "zone": "A",
                "kind": kind,
                "active": active,
                "raised_at": now,
            },
        }

    ingest(
        cloud,
        s1,
        "S1",
        [
            alarm("a1", "offline", "kiosk", True),
            alarm("a2", "paper_out", "printer", True),
            alarm("a2", "paper_out", "printer", False),  # refilled
            alarm("a3", "paper_low", "printer", True),
        ],
    )
    fleet = cloud.hq().get("/api/v1/hq/fleet").json()
    assert (fleet["stores_total"], fleet["stores_online"]) == (2, 1)
    assert fleet["devices_offline"] == 1 and fleet["printer_problems"] == 1
    stores = {s["store"]: s for s in fleet["stores"]}
    assert stores["S2"]["online"] is False and stores["S2"]["last_seen_at"] is None
    assert sorted(a["kind"] for a in stores["S1"]["open_alarms"]) == ["offline", "paper_low"]


def test_an_empty_batch_is_a_heartbeat(cloud: CloudHandle) -> None:
    token = cloud.register("S3")
    ingest(cloud, token, "S3", [])
    fleet = cloud.hq().get("/api/v1/hq/fleet").json()
    assert fleet["stores"][0]["online"] is True


def test_a_store_whose_clock_is_off_is_flagged(cloud: CloudHandle) -> None:
    ahead, right = cloud.register("S1"), cloud.register("S2")
    hour = 3600.0
    for token, store, skew in ((ahead, "S1", 2 * hour), (right, "S2", 0.0)):
        sent_at = time.time() + skew
        batch = {"store": store, "events": [], "sent_at": sent_at}
        r = cloud.client(token).post("/api/v1/ingest", json=batch)
        assert r.status_code == 200, r.text
        assert abs(r.json()["received_at"] - (sent_at - skew)) < 5  # HQ's own clock
    fleet = cloud.hq().get("/api/v1/hq/fleet").json()
    stores = {s["store"]: s for s in fleet["stores"]}
    assert stores["S1"]["clock_ok"] is False and abs(stores["S1"]["clock_offset_s"] - 2 * hour) < 5
    assert stores["S2"]["clock_ok"] is True and abs(stores["S2"]["clock_offset_s"]) < 5
    assert fleet["clocks_off"] == 1
    bad = cloud.client(ahead).post(
        "/api/v1/ingest", json={"store": "S1", "events": [], "sent_at": "yesterday"}
    )
    assert bad.status_code == 422


def test_the_outbox_backlog_age_is_the_oldest_event_of_the_last_batch(
    cloud: CloudHandle,
) -> None:
    """Read on the hub's own clock (sent_at minus the oldest event's time): a hub two hours
    ahead whose oldest queued event waited 700 s shows 700 s, and an empty batch (a hub with
    nothing queued) shows 0."""
    token = cloud.register("S1")
    sent_at = time.time() + 7200
    events = [
        {
            "id": f"S1-call-{n:04d}",
            "type": "call.opened",
            "occurred_at": sent_at - age,
            "data": {
                "call": f"c{n}",
                "device": "btn-001",
                "zone": "A",
                "table": "A1",
                "reason": "service",
                "opened_at": sent_at - age,
            },
        }
        for n, age in ((1, 700.0), (2, 30.0))
    ]

    def backlog() -> float | None:
        fleet = cloud.hq().get("/api/v1/hq/fleet").json()
        age: float | None = fleet["stores"][0]["backlog_age_s"]
        return age

    assert backlog() is None  # never heard from
    batch = {"store": "S1", "events": events, "sent_at": sent_at}
    assert cloud.client(token).post("/api/v1/ingest", json=batch).status_code == 200
    assert backlog() == 700.0
    batch = {"store": "S1", "events": [], "sent_at": sent_at + 5}
    assert cloud.client(token).post("/api/v1/ingest", json=batch).status_code == 200
    assert backlog() == 0.0
