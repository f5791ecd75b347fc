"""HQ takes bookings for a store and its hub decides (cloud/api/store_requests.py,
edge/uplink/requests_pull.py): HQ on real PostgreSQL, a real hub with mosquitto reaching HQ
over HTTP as it does behind a store's NAT (docs/waitlist.md, "HQ takes a booking")."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from cloud.db import migrate
from contract.store_requests import KIND_BOOKING
from contract.waitlist import DEFAULT_GROUPS
from edge.uplink.requests_pull import StoreRequestPuller
from edge.uplink.sender import cloud_client
from smartstore.cloud_service import CloudHandle, cloud_settings, run_cloud_thread
from smartstore.samples import SAMPLE_MENU
from tests.members import join, table_tokens
from tests.support import Broker, Hub, hub_settings, run_hub_thread, wait_until

WAIT_S = 2.0  # how long HQ waits for the hub here (8 s in production)
UNREACHABLE = "门店主机连接不上，未预订 / The store's hub is not reachable: nothing was booked"


@pytest.fixture
def hq_cloud(cloud_db: str) -> Iterator[CloudHandle]:
    migrate(cloud_db)
    handle = run_cloud_thread(cloud_settings(cloud_db, store_request_wait_s=WAIT_S))
    yield handle
    handle.stop()


def _day(days: int = 1) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(time.time() + days * 86400))


def _ask(request_id: str, slot: str = "19:00", size: int = 2, **kw: Any) -> dict[str, Any]:
    return {"request_id": request_id, "day": _day(), "slot": slot, "size": size,
            "name": "王先生", "phone": "13800138000", **kw}  # fmt: skip


def _sql(cloud: CloudHandle, query: str) -> list[Any]:
    engine = create_engine(cloud.settings.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query)))
    finally:
        engine.dispose()


def _polling(cloud: CloudHandle, store: str, since: float) -> bool:
    rows = _sql(cloud, f"SELECT requests_polled_at FROM stores WHERE id = '{store}'")
    return bool(rows and rows[0][0] is not None and rows[0][0] >= since)


def _hub(broker: Broker, data: Path, cloud: CloudHandle, token: str) -> Hub:
    since = time.time()
    hub = run_hub_thread(hub_settings(broker, data, cloud_url=cloud.base_url, cloud_token=token))
    wait_until(lambda: _polling(cloud, broker.store, since), what="the hub's long poll at HQ")
    return hub


def test_a_booking_taken_at_hq_is_decided_and_kept_by_the_stores_hub(
    broker: Broker, hq_cloud: CloudHandle, tmp_path: Path
) -> None:
    store = broker.store
    hub = _hub(broker, tmp_path / "hub", hq_cloud, hq_cloud.register(store))
    try:
        hq, staff = hq_cloud.hq(), hub.client()
        url = f"/api/v1/hq/stores/{store}/bookings"
        assert hq_cloud.client().post(url, json=_ask("req-first-0001")).status_code == 401

        r = hq.post(url, json=_ask("req-first-0001"))
        assert r.status_code == 201, r.text
        booked = r.json()
        assert booked["state"] == "booked" and booked["booking"]["phone"] == "138****8000"
        at_hub = staff.get("/api/bookings", params={"day": _day()}).json()
        assert [b["id"] for b in at_hub] == [booked["booking"]["id"]]
        assert at_hub[0]["name"] == "王先生" and at_hub[0]["slot"] == "19:00"

        # The caller's request id makes it once: sent again, the same booking.
        again = hq.post(url, json=_ask("req-first-0001"))
        assert again.status_code == 201 and again.json()["booking"]["id"] == at_hub[0]["id"]
        reused = hq.post(url, json=_ask("req-first-0001", slot="20:00"))
        assert reused.status_code == 409
        assert reused.json()["detail"]["code"] == "request_id_reused"
        state = hq.get(f"{url}/req-first-0001")
        assert state.status_code == 201 and state.json()["state"] == "booked"

        # The hub's capacity decides: twelve callers at once for the slot's last place.
        barrier = threading.Barrier(12)

        def book(n: int) -> httpx.Response:
            barrier.wait()
            return hq.post(url, json=_ask(f"req-race-{n:04d}"))

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(book, range(12)))
        codes = [a.status_code for a in answers]
        assert codes.count(201) == 1 and codes.count(409) == 11, codes  # group A: 2 a slot
        refused = next(a for a in answers if a.status_code == 409).json()["detail"]
        assert refused == {
            "code": "slot_full",
            "message": "这个时段已订满，请选择其他时间 / This slot is full, please pick another",
        }
        assert len(staff.get("/api/bookings", params={"day": _day()}).json()) == 2

        # The store's rules, in the store's words: a slot in the past.
        past = hq.post(url, json={**_ask("req-past-0001"), "day": "2020-01-01"})
        assert past.status_code == 409
        assert past.json()["detail"]["message"] == (
            "这个时段已经过去了 / This time has already passed"
        )
        assert hq.post(url, json=_ask("req-bad-0001", size=0)).status_code == 422
        assert hq.post("/api/v1/hq/stores/NOPE/bookings", json=_ask("r-nope-01")).status_code == 404
        # HQ keeps no phone number once the hub has it.
        bodies = _sql(hq_cloud, "SELECT body->>'phone' FROM store_requests")
        assert bodies and {b[0] for b in bodies} == {"138****8000"}
    finally:
        hub.stop()


def test_with_the_hub_away_hq_says_so_and_nothing_is_booked_anywhere(
    broker: Broker, hq_cloud: CloudHandle, tmp_path: Path
) -> None:
    store, token = broker.store, hq_cloud.register(broker.store)
    hq = hq_cloud.hq()
    url = f"/api/v1/hq/stores/{store}/bookings"

    # A hub that never polled: HQ says so at once.
    started = time.monotonic()
    r = hq.post(url, json=_ask("req-never-0001"))
    assert r.status_code == 503 and r.json()["detail"]["message"] == UNREACHABLE
    assert time.monotonic() - started < WAIT_S

    hub = _hub(broker, tmp_path / "hub", hq_cloud, token)
    assert hq.post(url, json=_ask("req-up-0001", slot="18:00")).status_code == 201
    hub.stop()
    # It polled a moment ago, so HQ waits for it, in vain: nothing is booked.
    r = hq.post(url, json=_ask("req-away-0001", slot="18:00"))
    assert r.status_code == 503 and r.json()["detail"]["message"] == UNREACHABLE

    hub = _hub(broker, tmp_path / "hub", hq_cloud, token)  # back, with its database
    try:
        time.sleep(1.0)  # a poll or more: a request HQ gave up on is never handed out
        rows = hub.client().get("/api/bookings", params={"day": _day()}).json()
        assert [b["slot"] for b in rows] == ["18:00"]
        for request in ("req-never-0001", "req-away-0001"):
            assert hq.get(f"{url}/{request}").status_code == 503
        assert hq.post(url, json=_ask("req-back-0001", slot="18:00")).status_code == 201
    finally:
        hub.stop()


def test_a_late_hub_cannot_take_what_hq_gave_up_and_a_hub_that_took_it_decides(
    hq_cloud: CloudHandle,
) -> None:
    """The channel's race, played by a hub's own HTTP calls with its store token."""
    token = hq_cloud.register("S9")
    hub, hq = hq_cloud.client(token), hq_cloud.hq()
    url = "/api/v1/hq/stores/S9/bookings"
    assert hub.get("/api/v1/store-requests", params={"wait": 0}).json() == {"requests": []}

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(hq.post, url, json=_ask("req-late-0001"))
        [request] = wait_until(
            lambda: hub.get("/api/v1/store-requests", params={"wait": 1}).json()["requests"],
            what="the request handed to the hub",
        )
        assert request["body"]["phone"] == "13800138000"  # the hub needs it to book
        assert waiting.result().status_code == 503  # the hub was too slow: nothing booked
    late = hub.post(f"/api/v1/store-requests/{request['id']}/claim")
    assert late.status_code == 410  # and the hub may not book it now
    assert hub.get("/api/v1/store-requests", params={"wait": 0}).json() == {"requests": []}

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(hq.post, url, json=_ask("req-slow-0001"))
        [request] = wait_until(
            lambda: hub.get("/api/v1/store-requests", params={"wait": 1}).json()["requests"],
            what="the request handed to the hub",
        )
        assert hub.post(f"/api/v1/store-requests/{request['id']}/claim").status_code == 200
        pending = waiting.result()  # claimed, unanswered within HQ's wait: the hub decides
    assert pending.status_code == 202 and pending.json()["state"] == "pending"
    # A claimed request comes back to a hub that restarted before answering it.
    assert [r["id"] for r in hub.get("/api/v1/store-requests").json()["requests"]] == [
        request["id"]
    ]
    booking = {"id": "b1", "day": _day(), "slot": "19:00", "phone": "138****8000"}
    answer = {"status": 201, "body": booking}
    assert (
        hub.post(f"/api/v1/store-requests/{request['id']}/answer", json=answer).status_code == 204
    )
    state = hq.get(f"{url}/req-slow-0001")
    assert state.status_code == 201 and state.json()["booking"] == booking
    # Another store's token sees none of it.
    other = hq_cloud.client(hq_cloud.register("S8"))
    assert other.post(f"/api/v1/store-requests/{request['id']}/claim").status_code == 404


def _slot_in(hours: float) -> tuple[str, str]:
    """The day and the quarter hour `hours` from now (store-local)."""
    at = (time.time() + hours * 3600) // 900 * 900 + 900
    return time.strftime("%Y-%m-%d", time.localtime(at)), time.strftime("%H:%M", time.localtime(at))


def test_gold_members_book_further_ahead_and_take_the_places_held_for_them(
    broker: Broker, cloud: CloudHandle, tmp_path: Path
) -> None:
    token = cloud.register(broker.store)
    menu = yaml.safe_load(SAMPLE_MENU.read_text(encoding="utf-8"))
    groups = [g.model_dump() for g in DEFAULT_GROUPS]
    groups[0].update(slot_capacity=3, priority_held=1)  # A: 3 a slot, one held for gold
    config = {
        "menu": menu,
        # Every member is gold here (a level from no spend): members are gold, others not.
        "members": {"levels": [{"id": "gold", "name_zh": "金卡", "name_en": "Gold",
                                "min_spend_fen": 0, "earn_pct": 10}]},
        "waitlist": {"groups": groups, "priority_levels": ["gold"], "book_days_ahead": 7,
                     "priority_book_days_ahead": 30, "priority_hold_release_min": 24 * 60},
    }  # fmt: skip
    r = cloud.hq().post("/api/v1/hq/config", json={"scope": broker.store, "config": config})
    assert r.status_code == 201, r.text
    settings = hub_settings(
        broker, tmp_path / "hub", cloud_url=cloud.base_url, cloud_token=token, config_poll_s=0.3,
        member_key=cloud.settings.member_key.get_secret_value(),
        bookings_per_client_per_minute=1000,
    )  # fmt: skip
    hub = run_hub_thread(settings)
    try:
        plain = hub.client(login=False)
        day = _day(3)

        def held() -> bool:
            slots = plain.get("/api/bookings/slots", params={"day": day}).json()
            return bool(slots["groups"][0]["held"] == 1)

        wait_until(held, what="HQ's waitlist rules at the hub")
        tokens = list(table_tokens(hub.client()).values())
        gold = [join(hub.base_url, tokens[n], f"1390000000{n}")[0] for n in range(3)]
        hub._clients.extend(gold)  # closed with the hub's

        def book(client: httpx.Client, key: str, day: str, slot: str = "19:00") -> httpx.Response:
            body = {"key": key, "day": day, "slot": slot, "size": 2, "phone": "13800138000"}
            return client.post("/api/bookings", json=body)

        # Twenty diners without priority race for a slot of three with one held: two get in.
        barrier = threading.Barrier(20)

        def race(n: int) -> httpx.Response:
            with httpx.Client(base_url=hub.base_url, timeout=30) as c:
                barrier.wait()
                return book(c, f"race-{n:04d}", day)

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(race, range(20)))
        assert [a.status_code for a in answers].count(201) == 2
        refused = [a.json()["detail"] for a in answers if a.status_code != 201]
        assert len(refused) == 18 and {d["code"] for d in refused} == {"slot_held"}
        assert "held for members" in refused[0]["message"] and "为会员保留" in refused[0]["message"]
        left = {"plain": plain, "gold": gold[0]}
        seen = {
            k: c.get("/api/bookings/slots", params={"day": day}).json() for k, c in left.items()
        }
        assert seen["plain"]["left"] == {"19:00": {"A": 0}} and not seen["plain"]["priority"]
        assert seen["gold"]["left"] == {"19:00": {"A": 1}} and seen["gold"]["priority"]
        assert book(gold[0], "gold-0001", day).status_code == 201
        full = book(gold[1], "gold-0002", day)
        assert full.status_code == 409 and full.json()["detail"]["code"] == "slot_full"

        # Gold and others racing together: never more than the capacity, never the held
        # place to one without priority.
        other = _day(4)
        barrier = threading.Barrier(23)

        def mixed(n: int) -> tuple[bool, int]:
            if n < 3:
                barrier.wait()
                return True, book(gold[n], f"mixed-gold-{n}", other).status_code
            with httpx.Client(base_url=hub.base_url, timeout=30) as c:
                barrier.wait()
                return False, book(c, f"mixed-{n:04d}", other).status_code

        with ThreadPoolExecutor(23) as pool:
            results = list(pool.map(mixed, range(23)))
        booked = [is_gold for is_gold, code in results if code == 201]
        assert len(booked) == 3 and booked.count(True) >= 1
        rows = hub.client().get("/api/bookings", params={"day": other}).json()
        assert len(rows) == 3

        # A held place nobody with priority took opens to all a day before its slot.
        soon_day, soon = _slot_in(3)
        codes = [book(plain, f"soon-{n:04d}", soon_day, soon).status_code for n in range(4)]
        assert codes == [201, 201, 201, 409]

        # Further ahead: gold members only.
        far = _day(20)
        too_far = book(plain, "far-plain-01", far)
        assert too_far.status_code == 422 and too_far.json()["detail"]["code"] == "too_far_ahead"
        assert book(gold[2], "far-gold-01", far).status_code == 201
    finally:
        hub.stop()


def _execute(cloud: CloudHandle, statement: str) -> None:
    engine = create_engine(cloud.settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def test_requests_nobody_will_finish_expire_and_keep_only_a_masked_phone(cloud_db: str) -> None:
    """A request whose caller went away before HQ gave up on it, and one a hub claimed and
    never answered for days, would keep the diner's full phone number for good: a hub's poll
    makes HQ expire them with the phone masked. A request a hub claimed lately is left whole:
    the hub may still need the number to book."""
    migrate(cloud_db)
    cloud = run_cloud_thread(
        cloud_settings(cloud_db, store_request_wait_s=WAIT_S, store_request_sweep_s=0)
    )
    try:
        token = cloud.register("S7")
        hub, hq = cloud.client(token), cloud.hq()
        url = "/api/v1/hq/stores/S7/bookings"
        assert hub.get("/api/v1/store-requests", params={"wait": 0}).is_success
        claimed: dict[str, str] = {}
        for name in ("abandoned", "recent"):
            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(hq.post, url, json=_ask(f"req-{name}-0001"))
                [request] = wait_until(
                    lambda: [
                        r
                        for r in hub.get("/api/v1/store-requests", params={"wait": 1}).json()[
                            "requests"
                        ]
                        if r["id"] not in claimed.values()  # a claimed one comes back too
                    ],
                    what="the request handed to the hub",
                )
                assert hub.post(f"/api/v1/store-requests/{request['id']}/claim").is_success
                assert waiting.result().json()["state"] == "pending"
            claimed[name] = request["id"]
        # The hub that claimed the first went away three days ago; a caller dropped its
        # connection before HQ could give its request up (a row as HQ's booking API writes it).
        _execute(
            cloud,
            "UPDATE store_requests SET claimed_at = claimed_at - 3 * 86400"
            f" WHERE id = '{claimed['abandoned']}'",
        )
        now = time.time()
        _execute(
            cloud,
            "INSERT INTO store_requests (id, store_id, request_id, kind, body, status,"
            " created_at, created_by, expires_at)"
            f" VALUES ('dropped0001', 'S7', 'req-dropped-0001', 'booking',"
            f" '{{\"phone\": \"13900139000\", \"size\": 2}}', 'pending', {now - 60}, 'hq',"
            f" {now - 50})",
        )

        handed = hub.get("/api/v1/store-requests", params={"wait": 0}).json()["requests"]
        assert [(r["id"], r["body"]["phone"]) for r in handed] == [
            (claimed["recent"], "13800138000")
        ]
        rows = dict(
            (row[0], (row[1], row[2]))
            for row in _sql(cloud, "SELECT request_id, status, body FROM store_requests")
        )
        abandoned_row, dropped_row = rows["req-abandoned-0001"], rows["req-dropped-0001"]
        assert abandoned_row[0] == "expired" and abandoned_row[1]["phone"] == "138****8000"
        assert dropped_row == ("expired", {"phone": "139****9000", "size": 2})
        assert rows["req-recent-0001"][0] == "claimed"
        abandoned = hq.get(f"{url}/req-abandoned-0001")
        assert abandoned.status_code == 503 and abandoned.json()["detail"]["message"] == (
            UNREACHABLE
        )
    finally:
        cloud.stop()


def test_a_request_the_hub_fails_on_is_answered_and_holds_back_none_behind_it(
    hq_cloud: CloudHandle,
) -> None:
    """The hub's puller against HQ: the first of two requests makes the store's handler fail
    (a bug, a broken database); HQ's caller hears at once that nothing was booked, and the
    request behind it is booked in the same poll, not after a backoff, and not never."""
    token = hq_cloud.register("S6")
    hq, hub = hq_cloud.hq(), hq_cloud.client(token)
    url = "/api/v1/hq/stores/S6/bookings"
    assert hub.get("/api/v1/store-requests", params={"wait": 0}).is_success  # reachable
    puller = StoreRequestPuller(hq_cloud.base_url, token)

    def handler(request_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body["slot"] == "18:00":
            raise RuntimeError("the store's database is broken")
        return 201, {"id": "b-" + request_id[:8], "slot": body["slot"]}

    puller.register(KIND_BOOKING, handler)
    with ThreadPoolExecutor(2) as pool:
        broken = pool.submit(hq.post, url, json=_ask("req-broken-0001", slot="18:00"))
        wait_until(
            lambda: _sql(hq_cloud, "SELECT count(*) FROM store_requests")[0][0] == 1,
            what="the first request stored",
        )
        fine = pool.submit(hq.post, url, json=_ask("req-fine-0001", slot="19:00"))
        wait_until(
            lambda: _sql(hq_cloud, "SELECT count(*) FROM store_requests")[0][0] == 2,
            what="the second request stored",
        )
        with cloud_client(hq_cloud.base_url, token) as client:
            assert puller.poll_once(client) == 1
        refused, booked = broken.result(), fine.result()
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "store_failed"
    assert " / " in refused.json()["detail"]["message"]  # Chinese / English
    assert booked.status_code == 201 and booked.json()["booking"]["slot"] == "19:00"
