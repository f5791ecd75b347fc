"""The line at the door on the store's devices, on real parts: the kiosk app takes a number
over MQTT and prints its slip (ESC/POS bytes with the printer's own QR code), a resent request
gets the same number, and the queue screen app shows the called number and speaks it in
Chinese (the page's call of the Web Speech API is recorded in Chromium)."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from contract.const import Channel
from devices.apps import KioskApp, QueueScreenApp
from devices.virtual_printer import VirtualPrinter, decode_text
from tests.apps import app_config, keep_screenshot, running_app
from tests.ordering import kitchen
from tests.support import until_marker, wait_until

pytestmark = pytest.mark.browser

PORTRAIT = {"viewport": {"width": 1080, "height": 1920}}
TV = {"viewport": {"width": 1920, "height": 1080}}
# Records what the page asks the speech engine to say (headless Chromium has no voices).
SPEECH_SPY = """
window.__spoken = [];
window.speechSynthesis.speak = (u) => window.__spoken.push({text: u.text, lang: u.lang});
"""


def test_a_kiosk_takes_a_number_over_mqtt_and_prints_a_slip_with_its_qr_code(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    slips = VirtualPrinter().start()
    try:
        with kitchen(tmp_path, store, store_name="小馆 Bistro") as k:
            config = app_config(
                k.broker, "kiosk-01", k.hub.base_url, printer_host="127.0.0.1",
                printer_port=slips.port,
            )  # fmt: skip
            with running_app(config) as app:
                assert isinstance(app.device, KioskApp)
                errors: list[str] = []
                page = browser.new_context(**PORTRAIT).new_page()  # type: ignore[arg-type]
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(app.url)
                page.locator("#take-number").click()
                page.locator('#line-sizes [data-size="4"]').click()
                expect(page.locator("#line-no")).to_have_text("B001")
                expect(page.locator("#line-info")).to_contain_text("前面 0 桌")
                expect(page.locator("#line-slip")).to_contain_text("请取走排队小票")
                keep_screenshot(page, "kiosk-waitlist.png")
                [raw] = slips.wait_jobs(1)
                view = k.staff.get("/api/waitlist").json()
                [party] = next(g for g in view["groups"] if g["id"] == "B")["waiting"]
                assert party["number"] == "B001" and party["source"] == "kiosk"
                token = app.device.line.ticket.url.rsplit("/", 1)[1]  # type: ignore[union-attr]
                url = f"{k.hub.base_url}/w/{token}"
                # The slip's bytes: GB18030 Chinese in double-byte mode, the number large, and
                # the QR code drawn by the printer (GS ( k: store the URL, then print it).
                assert raw.startswith(b"\x1b\x40\x1c\x26")
                assert "排队号".encode("gb18030") in raw and b"B001" in raw
                store_qr = b"\x1d(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url.encode()
                assert store_qr in raw and raw.index(store_qr) < raw.index(b"\x1d(k\x03\x001Q0")
                text = decode_text(raw)
                assert f"[QR {url}]" in text and "4 位 people" in text
                # The page the code opens is the number's own.
                assert k.diner.get(f"/api/waitlist/me/{token}").json()["number"] == "B001"
                assert errors == []

            # The same request sent twice (a resend): one number, the same answer twice.
            event = {"v": 1, "id": "kiosk-01-resend-0001", "type": "queue_take", "party": 2}
            ack_topic = k.broker.topic("kiosk-01", Channel.ACK)
            with k.broker.sub("kiosk-01", ack_topic) as acks:
                for _ in range(2):
                    k.broker.pub("kiosk-01", k.broker.topic("kiosk-01"), json.dumps(event), qos=0)
                bad = {**event, "id": "kiosk-01-bad-party-01", "party": 0}
                k.broker.pub("kiosk-01", k.broker.topic("kiosk-01"), json.dumps(bad), qos=0)
                got = until_marker(
                    acks, lambda line: "kiosk-01-bad-party-01" in line, "the bad party's ack"
                )
            answers = [json.loads(x) for x in got]
            numbers = [a["data"]["number"] for a in answers if a["status"] == "ok"]
            assert numbers == ["A001", "A001"]
            assert answers[-1]["status"] == "rejected"
            assert (
                answers[-1]["data"]["message"]
                == "就餐人数须为 1 到 30 位 / A party is 1 to 30 people"
            )
    finally:
        slips.stop()


def test_the_queue_screen_shows_and_speaks_a_called_number_in_chinese(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        config = app_config(k.broker, "screen-01", k.hub.base_url)
        with running_app(config) as app:
            context = browser.new_context(**TV)  # type: ignore[arg-type]
            context.add_init_script(SPEECH_SPY)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(app.url)
            expect(page.locator("#link")).to_have_text("已连接 Connected")
            expect(page.locator("#line")).to_be_hidden()  # nobody waits: no strip
            for n, size in enumerate((2, 2, 6)):
                r = k.hub.client(login=False).post(
                    "/api/waitlist/take", json={"key": f"screen-tap-{n:04d}", "size": size}
                )
                assert r.status_code == 201
            group_a = page.locator('[data-group="A"]')
            expect(group_a).to_contain_text("等候 2 桌 waiting")
            expect(group_a).to_contain_text("分钟 min")
            k.staff.post("/api/waitlist/groups/A/call-next").raise_for_status()
            expect(group_a.locator(".calling")).to_have_text("A001")
            wait_until(
                lambda: page.evaluate("window.__spoken.length") == 1, what="the announcement"
            )
            assert page.evaluate("window.__spoken") == [
                {"text": "请A零零一号顾客用餐", "lang": "zh-CN"}
            ]
            # Called again (they did not hear it): spoken again. Then the next one.
            uid = k.staff.get("/api/waitlist").json()["groups"][0]["called"][0]["id"]
            k.staff.post(f"/api/waitlist/parties/{uid}/call").raise_for_status()
            k.staff.post("/api/waitlist/groups/A/call-next").raise_for_status()
            expect(group_a.locator(".calling")).to_have_text("A002")
            expect(group_a.locator(".recent")).to_have_text("A001")
            wait_until(lambda: page.evaluate("window.__spoken.length") == 3, what="two more")
            assert [x["text"] for x in page.evaluate("window.__spoken")][1:] == [
                "请A零零一号顾客用餐", "请A零零二号顾客用餐",
            ]  # fmt: skip
            keep_screenshot(page, "queue-screen-waitlist.png")
            # The app keeps the latest board: a page opened later gets it at once.
            assert isinstance(app.device, QueueScreenApp) and app.device.waitlist is not None
            assert app.device.waitlist.called == "A002"
            assert errors == []
