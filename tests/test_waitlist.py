"""The waitlist on real parts: the hub in a thread with mosquitto, diners' phones over HTTP
and in headless Chromium, a listener on the screens' retained topic, concurrent bookings over
HTTP, and a hub restart mid-evening (docs/waitlist.md)."""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
import zxingcpp
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from playwright.sync_api import Browser, expect

from contract import parse_payload
from contract.payloads import WaitlistBoard
from contract.topics import waitlist_topic
from tests.browser import log_in
from tests.ordering import Kitchen, kitchen
from tests.support import run_hub_thread, wait_until

PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}


def _take(k: Kitchen, key: str, size: int, client: httpx.Client | None = None) -> httpx.Response:
    return (client or k.diner).post("/api/waitlist/take", json={"key": key, "size": size})


def _board(k: Kitchen) -> tuple[list[WaitlistBoard], mqtt.Client]:
    """What a queue screen receives on the retained topic."""
    seen: list[WaitlistBoard] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-screen-listener")
    client.username_pw_set("screen-01", k.broker.accounts["screen-01"])  # a screen's rights
    client.on_message = lambda _c, _u, m: seen.append(
        parse_payload(bytes(m.payload), WaitlistBoard)
    )
    client.connect("127.0.0.1", k.broker.port)
    client.subscribe(waitlist_topic(k.broker.store), 1)
    client.loop_start()
    return seen, client


def test_numbers_once_per_tap_calls_on_the_screens_seating_opens_the_table_and_a_restart(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store, waitlist_takes_per_client_per_minute=5) as k:
        seen, listener = _board(k)
        try:
            first = _take(k, "tap-0001-aaaa", 2)
            assert first.status_code == 201, first.text
            again = _take(k, "tap-0001-aaaa", 2)  # the phone retried: the same number
            assert again.status_code == 200 and again.json()["number"] == first.json()["number"]
            assert first.json()["number"] == "A001" and first.json()["ahead"] == 0
            second = _take(k, "tap-0002-bbbb", 4, k.hub.client(login=False)).json()
            assert second["number"] == "B001"
            for bad in (0, 200):
                r = _take(k, f"tap-bad-{bad:04d}", bad, k.hub.client(login=False))
                assert r.status_code == 422
                assert (
                    r.json()["detail"]["message"]
                    == "就餐人数须为 1 到 30 位 / A party is 1 to 30 people"
                )
            # A sixth tap from the same address within the minute: someone filling the line.
            flood = _take(k, "tap-0009-ffff", 2, k.hub.client(login=False))
            assert flood.status_code == 429 and "Too many requests" in flood.text
            # The QR code at the door opens the page that takes a number.
            png = k.staff.get("/api/waitlist/door-qr.png")
            assert png.headers["content-type"] == "image/png"
            [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
            assert code.text == f"{k.hub.base_url}/wait"
            forged = first.json()["token"][:-2] + "xx"
            assert k.diner.get(f"/api/waitlist/me/{forged}").status_code == 403
            assert k.diner.get(f"/w/{forged}").status_code == 403

            # Staff call the next small table: the screens get it, retained.
            r = k.staff.post("/api/waitlist/groups/A/call-next")
            assert r.status_code == 200 and r.json()["status"] == "called"
            wait_until(lambda: seen and seen[-1].called == "A001", what="the call on the screens")
            group_a = next(g for g in seen[-1].groups if g.group == "A")
            assert group_a.calling == "A001" and seen[-1].call_seq == 1

            # Seat it at A1: the table's new party starts, the screens stop calling it.
            uid = k.staff.get("/api/waitlist").json()["groups"][0]["called"][0]["id"]
            k.staff.post("/api/tables/A1/close").raise_for_status()
            seated = k.staff.post(f"/api/waitlist/parties/{uid}/seat", json={"table": "A1"})
            assert seated.status_code == 200, seated.text
            table = next(t for t in k.staff.get("/api/tables").json()["tables"] if t["id"] == "A1")
            assert table["open"] is True
            wait_until(
                lambda: next(g for g in seen[-1].groups if g.group == "A").recent == ["A001"],
                what="A001 moved to the recent calls",
            )
        finally:
            listener.loop_stop()
            listener.disconnect()

        # The hub restarts mid-evening: the line is in SQLite, numbers go on from there.
        k.hub.stop()
        hub = run_hub_thread(k.hub.settings)
        try:
            phone = hub.client(login=False)
            assert phone.get(f"/api/waitlist/me/{second['token']}").json()["status"] == "waiting"
            after = _take(k, "tap-0003-cccc", 3, phone).json()
            assert after["number"] == "B002" and after["ahead"] == 1
            assert _take(k, "tap-0001-aaaa", 2, phone).json()["number"] == "A001"
        finally:
            hub.stop()


def test_fifty_phones_booking_the_last_places_of_a_slot_get_exactly_its_capacity(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store, bookings_per_client_per_minute=100) as k:
        day = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
        barrier = threading.Barrier(50)

        def book(n: int) -> int:
            with httpx.Client(base_url=k.hub.base_url, timeout=30) as c:
                body = {"key": f"race-{n:04d}", "day": day, "slot": "19:00", "size": 2,
                        "phone": "13800138000"}  # fmt: skip
                barrier.wait()
                return c.post("/api/bookings", json=body).status_code

        with ThreadPoolExecutor(50) as pool:
            codes = list(pool.map(book, range(50)))
        assert codes.count(201) == 2 and codes.count(409) == 48  # group A: 2 a slot
        rows = k.staff.get("/api/bookings", params={"day": day}).json()
        assert len(rows) == 2 and all(r["phone"] == "138****8000" for r in rows)
        past = k.diner.post(
            "/api/bookings",
            json={"key": "past-0001", "day": "2020-01-01", "slot": "19:00", "size": 2,
                  "phone": "13800138000"},
        )  # fmt: skip
        assert past.status_code == 422
        assert (
            past.json()["detail"]["message"] == "这个时段已经过去了 / This time has already passed"
        )


@pytest.mark.browser
def test_a_phone_follows_its_number_until_called_and_can_leave(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        context = browser.new_context(**PHONE, locale="zh-CN")  # type: ignore[arg-type]
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Vibration is recorded (headless Chromium has no motor).
        page.add_init_script(
            "window.__buzz = []; navigator.vibrate = (p) => (window.__buzz.push(p), true);"
        )
        page.goto(k.hub.base_url + "/wait")
        page.locator('#sizes [data-size="2"]').click()
        page.locator("#take").click()
        expect(page.locator("#number")).to_have_text("A001")
        expect(page.locator("#ahead")).to_have_text("下一位就是您")
        expect(page.locator("#estimate")).to_contain_text("预计等待")

        # Another party takes A002; the first is called from the staff page's API.
        other = _take(k, "tap-0010-dddd", 1, k.hub.client(login=False)).json()
        k.staff.post("/api/waitlist/groups/A/call-next").raise_for_status()
        expect(page.locator("#state")).to_have_text("到您了！请到门口")
        expect(page.locator("body")).to_have_attribute("data-alerts", "1")
        assert page.evaluate("window.__buzz.length") == 1

        # The second phone, in English, sees one party ahead gone and leaves the line.
        page2 = context.new_page()
        page2.add_init_script("localStorage.setItem('smartstore.lang', JSON.stringify('en'))")
        page2.goto(f"{k.hub.base_url}/w/{other['token']}")
        expect(page2.locator("#ahead")).to_have_text("1 party ahead of you")
        page2.on("dialog", lambda d: d.accept())
        page2.locator("#leave").click()
        expect(page2.locator("#state")).to_have_text("You left the line")
        view = k.staff.get("/api/waitlist").json()
        assert view["groups"][0]["waiting"] == []
        assert errors == []
        context.close()


@pytest.mark.browser
def test_staff_call_seat_and_see_bookings_on_the_waitlist_page(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        for n, size in enumerate((2, 2)):
            assert _take(k, f"tap-st-{n:04d}", size, k.hub.client(login=False)).status_code == 201
        day = time.strftime("%Y-%m-%d", time.localtime())
        slot = time.localtime(time.time() + 3 * 3600)
        booked = k.diner.post(
            "/api/bookings",
            json={"key": "book-staff-01", "day": day, "size": 4, "name": "王",
                  "slot": f"{slot.tm_hour:02d}:{slot.tm_min // 15 * 15:02d}",
                  "phone": "13912345678"},
        )  # fmt: skip
        page = browser.new_context().new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        log_in(page, k.hub.base_url, "/waitlist")
        group_a = page.locator('[data-group="A"]')
        expect(group_a.locator(".row[data-number]")).to_have_count(2)
        if booked.status_code == 201:  # late in the evening the slot would be tomorrow's
            expect(page.locator('[data-group="B"]')).to_contain_text("已预订 Booked")
            expect(page.locator("#bookings")).to_contain_text("139****5678")
        group_a.get_by_role("button", name="叫下一位 Call next A").click()
        called = group_a.locator('.row[data-number="A001"]')
        expect(called).to_contain_text("已叫 Called")
        expect(called.get_by_role("button", name="过号 Skip")).to_be_disabled()  # grace time
        called.get_by_label("桌号 Table for A001").select_option("A2")
        called.get_by_role("button", name="入座 Seat").click()
        expect(group_a.locator(".row[data-number]")).to_have_count(1)
        party = k.diner.get(f"/api/waitlist/me/{_first_token(k)}").json()
        assert party["status"] == "seated" and party["table"] == "A2"
        assert errors == []


def _first_token(k: Kitchen) -> str:
    """A001's token, as its phone has it (a retried tap answers with the same)."""
    r = _take(k, "tap-st-0000", 2, k.hub.client(login=False))
    return str(r.json()["token"])
