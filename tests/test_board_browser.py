"""The staff board in headless Chromium: a press shows up live, Acknowledge clears it."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import log_in
from tests.support import STAFF, Broker, hub_settings, run_hub_thread, wait_until

pytestmark = pytest.mark.browser


def test_press_appears_live_and_acknowledge_clears_it(
    browser: Browser, broker: Broker, tmp_path: Path
) -> None:
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub", call_urgent_after_s=3.0))
    page = browser.new_page(viewport={"width": 1024, "height": 700})  # a tablet
    try:
        log_in(page, hub.base_url, pin="000000")
        expect(page.locator("#error")).to_contain_text("wrong name or PIN")
        log_in(page, hub.base_url)
        expect(page).to_have_url(f"{hub.base_url}/board")
        expect(page.locator("#link")).to_contain_text("Live")
        expect(page.locator("#empty")).to_be_visible()

        broker.press("btn-002")  # published by mosquitto_pub; the page is not reloaded
        card = page.locator("li.call").filter(has_text="A2")
        expect(card).to_be_visible()
        expect(card.locator(".reason")).to_contain_text("Service")
        expect(page.locator("#open-count")).to_have_text("1")
        first_wait = card.locator(".waited").inner_text()
        expect(card.locator(".waited")).not_to_have_text(first_wait)  # the timer runs

        # Unanswered past the configured time: marked urgent, live.
        expect(card).to_have_class("call urgent", timeout=8000)
        expect(page.locator("#urgent-count")).to_contain_text("1")
        page.screenshot(path=str(tmp_path / "board.png"))

        card.locator("button.ack").click()
        expect(card.locator(".answered")).to_contain_text(STAFF)
        expect(card).to_have_count(0, timeout=8000)
        expect(page.locator("#empty")).to_be_visible()

        staff = hub.client()
        recent = staff.get("/api/calls", params={"status": "recent"}).json()
        assert recent[0]["acked_by"] == STAFF
        assert recent[0]["response_s"] >= 3.0
    finally:
        page.close()
        hub.stop()


def test_board_reconnects_and_catches_up_after_the_hub_restarts(
    browser: Browser, broker: Broker, tmp_path: Path
) -> None:
    settings = hub_settings(broker, tmp_path / "hub")
    hub = run_hub_thread(settings)
    page = browser.new_page()
    try:
        log_in(page, hub.base_url)
        expect(page.locator("#link")).to_contain_text("Live")
        hub.stop()
        expect(page.locator("#link")).to_contain_text("Reconnecting")
        broker.press("btn-003")  # while the hub is down: the broker keeps it for the hub
        hub = run_hub_thread(settings)
        expect(page.locator("li.call").filter(has_text="A3")).to_be_visible(timeout=15000)
        wait_until(lambda: page.locator("#link").inner_text().startswith("实时"), what="live")
    finally:
        page.close()
        hub.stop()
