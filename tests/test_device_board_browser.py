"""The device board in headless Chromium: devices going offline and back, printer alarms,
and commands confirmed by the device, all live."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from contract.const import PaperLevel
from devices.printer import PrinterBridge
from tests.browser import log_in
from tests.support import Broker, hub_settings, on_loop, run_hub_thread, running_fleet

pytestmark = pytest.mark.browser


def test_device_board_shows_failures_and_recoveries_live(
    browser: Browser, broker: Broker, tmp_path: Path
) -> None:
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub", device_silent_after_s=2.0))
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    try:
        with running_fleet(broker, telemetry_every_s=0.5) as fleet:
            log_in(page, hub.base_url, "/devices")
            expect(page).to_have_url(f"{hub.base_url}/devices")
            total = len(broker.inventory.devices)
            expect(page.locator("#count-online")).to_have_text(f"在线 Online {total}")
            expect(page.locator("#alarms")).to_be_hidden()

            # A kiosk loses power: its Will fires; the board shows it offline with an alarm.
            kiosk = page.locator('li.device[data-id="kiosk-01"]')
            on_loop(fleet, lambda: fleet.devices["kiosk-01"].stop(clean=False))
            expect(kiosk).to_have_attribute("data-state", "offline")
            expect(page.locator("#count-offline")).to_have_text("离线 Offline 1")
            expect(page.locator('.alarm-row[data-device="kiosk-01"]')).to_contain_text("Offline")
            on_loop(fleet, fleet.devices["kiosk-01"].restart)
            expect(kiosk).to_have_attribute("data-state", "online")
            expect(page.locator('.alarm-row[data-device="kiosk-01"]')).to_have_count(0)

            # A screen hangs (no Will): silence past the timeout shows it offline.
            on_loop(fleet, fleet.devices["screen-01"].freeze)
            expect(page.locator('li.device[data-id="screen-01"]')).to_have_attribute(
                "data-state", "offline", timeout=2000 + 3000
            )

            # The printer runs out of paper: an alarm, live; refilled: gone.
            printer = fleet.devices["printer-01"]
            assert isinstance(printer, PrinterBridge)
            on_loop(fleet, lambda: printer.set_printer(paper=PaperLevel.OUT))
            expect(page.locator('.alarm-row[data-device="printer-01"]')).to_contain_text(
                "Paper out"
            )
            card = page.locator('li.device[data-id="printer-01"]')
            expect(card.locator(".badge")).to_contain_text("缺纸")
            page.screenshot(path=str(tmp_path / "devices.png"))
            on_loop(fleet, lambda: printer.set_printer(paper=PaperLevel.OK))
            expect(page.locator('.alarm-row[data-device="printer-01"]')).to_have_count(0)

            # Filters: only printers.
            page.select_option("#f-type", "printer")
            expect(page.locator("li.device")).to_have_count(1)
            page.select_option("#f-type", "")

            # Locate a call button; the board says the device confirmed it.
            button = page.locator('li.device[data-id="btn-001"]')
            button.locator('button[data-command="locate"]').click()
            expect(button.locator(".cmd-status")).to_have_attribute("data-status", "ok")
            expect(button.locator(".cmd-status")).to_contain_text("Confirmed")
    finally:
        page.close()
        hub.stop()
