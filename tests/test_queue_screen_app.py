"""The queue screen app on real parts: mosquitto, the hub, and the screen's page in headless
Chromium at 1920x1080: numbers ready for pick-up, a chime for each new one, the text staff send,
and "not connected" when the hub or its broker goes away."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from contract.net import free_port
from devices.apps import QueueScreenApp
from provisioning.firmware import render_device_config
from tests.apps import app_config, keep_screenshot, running_app
from tests.ordering import TEA, Kitchen, kitchen
from tests.support import run_hub_thread, wait_until

TV = {"viewport": {"width": 1920, "height": 1080}}


def test_the_queue_screen_shows_numbers_chimes_shows_staff_text_and_says_not_connected(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        config = app_config(k.broker, "screen-01", k.hub.base_url)
        with running_app(config) as app:
            assert isinstance(app.device, QueueScreenApp)
            page = browser.new_context(**TV).new_page()  # type: ignore[arg-type]
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(app.url)
            expect(page.locator("#link")).to_have_text("已连接 Connected")
            expect(page.locator("#offline")).to_be_hidden()
            expect(page.locator("#empty")).to_be_visible()
            assert page.locator("body").get_attribute("data-chimes") == "0"

            numbers = []
            for n in range(4):
                order = k.order(k.token("A1"), [TEA], f"k-queue-screen-{n:04d}").json()
                k.staff.post(f"/api/orders/{order['id']}/done").raise_for_status()
                numbers.append(order["no"])
                # The newest is the big one; each new number chimes once.
                expect(page.locator("#newest")).to_have_text(str(order["no"]))
                expect(page.locator("body")).to_have_attribute("data-chimes", str(n + 1))
            expect(page.locator("#others li")).to_have_text([str(x) for x in numbers[-2::-1]])

            # Staff send a line of text from the device board: shown large, answered ok.
            text = "请稍候，厨房正在加紧 Thank you for waiting"
            r = k.staff.post(
                "/api/devices/screen-01/commands", json={"name": "display", "args": {"text": text}}
            )
            assert r.status_code == 202, r.text
            expect(page.locator("#message")).to_have_text(text)
            wait_until(
                lambda: k.staff.get("/api/devices/screen-01/commands").json()[0]["status"] == "ok",
                what="the screen's reply",
            )
            keep_screenshot(page, "queue-screen.png")

            # The hub stops: its retained state says offline, and the screen says so.
            k.hub.stop()
            expect(page.locator("#offline")).to_be_visible()
            expect(page.locator("#offline")).to_contain_text("未连接")
            expect(page.locator("#offline")).to_contain_text("Not connected")
            expect(page.locator("#offline-why")).to_contain_text("hub is offline")
            hub = run_hub_thread(k.hub.settings)  # back
            try:
                expect(page.locator("#offline")).to_be_hidden()
                expect(page.locator("#newest")).to_have_text(str(numbers[-1]))
            finally:
                hub.stop()
            expect(page.locator("#offline")).to_be_visible()

            # The broker goes away (the hub's Pi, or the network): not connected either.
            hub = run_hub_thread(k.hub.settings)
            try:
                expect(page.locator("#offline")).to_be_hidden()
                k.broker.stop()
                expect(page.locator("#offline")).to_be_visible()
                expect(page.locator("#offline-why")).to_contain_text("Cannot reach")
                expect(page.locator("#link")).to_have_text("未连接 Not connected")
            finally:
                hub.stop()
            assert errors == []


def test_the_queue_screen_answers_commands_as_a_device(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        config = app_config(k.broker, "screen-01", k.hub.base_url)
        with running_app(config) as app:
            wait_until(
                lambda: _device_state(k, "screen-01") == "online",
                what="the screen online on the device board",
            )
            ok = k.staff.post(
                "/api/devices/screen-01/commands", json={"name": "locate", "args": {"seconds": 3}}
            )
            assert ok.status_code == 202
            wait_until(
                lambda: k.staff.get("/api/devices/screen-01/commands").json()[0]["status"] == "ok",
                what="the locate reply",
            )
            reboots = app.device.reboots
            k.staff.post("/api/devices/screen-01/commands", json={"name": "reboot"})
            wait_until(lambda: app.device.reboots == reboots + 1, what="the app's restart")
            wait_until(lambda: app.device.connected, what="the app back on the broker")
        # A clean stop says goodbye: the board shows the screen offline at once.
        wait_until(
            lambda: _device_state(k, "screen-01") == "offline",
            what="the screen offline after its goodbye",
        )


def test_device_app_runs_from_its_rendered_config_and_local_settings(
    tmp_path: Path, store: str
) -> None:
    """The command an installation runs (docs/device-apps.md): `smartstore device-app --config
    FILE --local FILE`, started and stopped (SIGTERM, as systemd does) as its own process."""
    with kitchen(tmp_path, store) as k:
        spec = k.broker.inventory.by_id()["screen-01"]
        config = tmp_path / "screen-01.json"
        config.write_text(
            render_device_config(
                store, spec, k.broker.accounts["screen-01"], "127.0.0.1", k.broker.port
            ),
            encoding="utf-8",
        )
        port = free_port()
        local = tmp_path / "screen-01.local.json"
        local.write_text(json.dumps({"http_port": port, "chime": False}), encoding="utf-8")
        bad = tmp_path / "bad.local.json"
        bad.write_text(json.dumps({"mqtt": {}}), encoding="utf-8")
        cli = [sys.executable, "-m", "smartstore.cli", "device-app", "--config", str(config)]
        refused = subprocess.run([*cli, "--local", str(bad)], capture_output=True, text=True)
        assert refused.returncode == 2 and "mqtt cannot be set here" in refused.stderr

        proc = subprocess.Popen(
            [*cli, "--local", str(local)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            wait_until(
                lambda: _device_state(k, "screen-01") == "online",
                what="the screen app online on the device board",
            )
            page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            assert page.status_code == 200 and "Ready for pick-up" in page.text
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out.decode(errors="replace")
        assert f"page at http://127.0.0.1:{port}/" in out.decode()
        # SIGTERM is a clean stop: the goodbye (with ts_ms) shows the screen offline at once.
        wait_until(lambda: _device_state(k, "screen-01") == "offline", what="the goodbye")
        [row] = [d for d in k.staff.get("/api/devices").json() if d["id"] == "screen-01"]
        assert row["state_reason"] == "goodbye"


def _device_state(k: Kitchen, device: str) -> str:
    rows = k.staff.get("/api/devices").json()
    return str(next(d["state"] for d in rows if d["id"] == device))
