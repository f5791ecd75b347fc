"""The 游戏 Games tab on a phone, in headless Chromium: after paying, the diner spins the wheel
(the slice the hub drew comes under the pointer), answers the quiz, collects a stamp and the
scan-QR gift, in Chinese and English."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import log_in
from tests.games import games_kitchen, play_id
from tests.members import join
from tests.ordering import TEA

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}


def test_a_diner_plays_every_game_from_the_table_page(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with games_kitchen(tmp_path, store) as k:
        context = browser.new_context(**PHONE, locale="zh-CN")  # type: ignore[arg-type]
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            token = k.token("A1")
            page.goto(k.hub.base_url + k.table_path("A1"))
            expect(page.locator('[data-dish="tea"]')).to_be_visible()
            # The diner joins from this phone (the member tab's call), orders, and pays.
            joined = page.evaluate(
                """async (api) => (await fetch(api + "/member/join", {method: "POST",
                    headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({phone: "13800138000", consent: true})})).status""",
                f"/api/diner/{token}",
            )
            assert joined == 201
            r = k.diner.post(f"/api/diner/{token}/orders", json={"key": "k" * 20, "lines": [TEA]})
            assert r.status_code == 201, r.text
            gross = k.staff.get("/api/tables/A1/bill").json()["gross_fen"]
            r = k.staff.post("/api/tables/A1/pay", json={"method": "cash", "amount_fen": gross})
            assert r.status_code == 200, r.text
            # Paid: the page asks for a rating first (docs/analytics.md); this diner skips it.
            expect(page.locator("#feedback-sheet")).to_be_visible()
            page.locator("#fb-skip").click()
            expect(page.locator("#feedback-sheet")).to_be_hidden()

            page.locator("#games-btn").click()
            sheet = page.locator("#games-sheet")
            expect(sheet).to_be_visible()
            wheel = sheet.locator('[data-campaign="wheel"]')
            expect(wheel).to_contain_text("幸运大转盘")
            wheel.locator("button.primary").click()
            expect(wheel.locator(".game-result")).to_be_visible(timeout=10_000)
            expect(wheel.locator(".game-result")).to_contain_text("凭证 SSG1.")
            played = k.staff.get("/api/games").json()
            assert played["flagged"] == []
            # The slice the hub drew is under the pointer: the canvas turned to it.
            transform = wheel.locator("canvas").evaluate("c => c.style.transform")
            assert transform.startswith("rotate(") and transform != "rotate(0deg)"

            quiz = sheet.locator('[data-campaign="quiz"]')
            quiz.locator("button.primary").click()
            expect(quiz.locator(".choice-btn")).to_have_count(4)
            quiz.locator(".choice-btn").first.click()
            expect(quiz.locator(".quiz p.ok, .quiz p.hint")).to_have_count(1)

            stamps = sheet.locator('[data-campaign="stamps"]')
            expect(stamps).to_contain_text("已集 0/5 个章")
            stamps.locator("button.primary").click()
            expect(sheet.locator('[data-campaign="stamps"]')).to_contain_text("已集 1/5 个章")
            # Where each stamp came from: a card counts stamps from every store.
            expect(sheet.locator('[data-campaign="stamps"]')).to_contain_text(f"来自 {store}:A1")

            scan = sheet.locator('[data-campaign="scan"]')
            scan.locator("button.primary").click()
            expect(scan.locator(".game-result")).to_contain_text("优惠券已放入您的卡包")

            sheet.locator("button.x").click()
            page.locator("#lang").click()  # English: the tab draws in English
            page.locator("#games-btn").click()
            expect(sheet.locator('[data-campaign="wheel"] h3')).to_have_text("Lucky wheel")
            expect(sheet.locator('[data-campaign="wheel"]')).to_contain_text("This bill has played")
            assert errors == []
        finally:
            context.close()


def test_staff_pause_a_campaign_release_a_held_play_and_check_a_receipt(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with games_kitchen(tmp_path, store) as k:
        b1 = k.token("B1")
        results = []
        for i in range(3):  # three new members at one table within minutes: the third is held
            phone, _member = join(k.hub.base_url, b1, f"1330013300{i}")
            results.append(phone.post(f"/api/diner/{b1}/games/scan/scan", json={"play": play_id()}))
            phone.close()
        held = results[2].json()
        assert held["status"] == "flagged"
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            log_in(page, k.hub.base_url, "/games")
            wheel = page.locator('#campaigns [data-campaign="wheel"]')
            expect(wheel).to_contain_text("进行中 Running")
            wheel.get_by_role("button", name="暂停 Pause").click()
            expect(wheel).to_contain_text("已暂停 Paused")
            assert k.staff.get("/api/games").json()["campaigns"][0]["paused"] is True
            flag = page.locator(f'#flags [data-play="{held["play"]}"]')
            expect(flag).to_contain_text("new members")
            flag.get_by_role("button", name="放行 Release").click()
            expect(page.locator("#flags [data-play]")).to_have_count(0)
            expect(page.locator("#no-flags")).to_be_visible()
            page.locator("#receipt").fill(held["receipt"])
            page.locator("#verify button").click()
            expect(page.locator("#verdict")).to_contain_text("有效 Valid")
            assert errors == []
        finally:
            page.close()
