"""The kiosk app on real parts: mosquitto, the hub (in a thread, or as its own process when it
has to be stopped), ESC/POS printers on TCP, and the kiosk's page in headless Chromium."""

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import pytest
import websockets
from playwright.sync_api import Browser, Page, expect
from websockets.sync.client import connect
from websockets.typing import Origin

from contract import KioskMenu, menu_topic, parse_payload
from contract.const import KIOSK_MENU_MAX_BYTES
from devices.apps import ConfigError, KioskApp, parse_app_config
from devices.apps.kiosk import NOT_PLACED, OrderState
from devices.virtual_printer import VirtualPrinter, decode_text
from tests.apps import app_config, keep_screenshot, running_app
from tests.members import join, table_tokens
from tests.ordering import STATIONS, kitchen
from tests.qr_images import camera_like_images
from tests.support import (
    PIN,
    STAFF,
    Broker,
    HubProcess,
    hub_settings,
    make_inventory,
    run_hub_process,
    run_hub_thread,
    start_broker,
    wait_until,
)

PORTRAIT = {"viewport": {"width": 1080, "height": 1920}, "has_touch": True}


def kiosk_page(browser: Browser, url: str, errors: list[str]) -> Page:
    page = browser.new_context(**PORTRAIT).new_page()  # type: ignore[arg-type]
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page


def start_ordering(page: Page) -> None:
    page.locator("#start").click()
    expect(page.locator('[data-dish="kungpao"]')).to_contain_text("宫保鸡丁")


def add_kungpao(page: Page, spice: str = "hot") -> None:
    page.locator('[data-dish="kungpao"] .add').click()
    expect(page.locator("#options")).to_be_visible()
    page.locator("#options-add").click()  # nothing chosen: a required option says so
    expect(page.locator("#options legend .missing")).to_have_count(1)
    page.locator(f'#options [name="opt-spice"][value="{spice}"]').check(force=True)
    page.locator("#options-add").click()
    expect(page.locator("#options")).to_be_hidden()


def test_a_diner_orders_with_options_sold_out_changes_live_and_the_slip_prints(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    slips = VirtualPrinter().start()
    try:
        with kitchen(tmp_path, store, store_name="小馆 Bistro") as k:
            # A diner joined at a table; their phone shows the member code (signed, this
            # minute's). What the kiosk's camera sees: that code held up to it, frames on disk.
            phone, joined = join(
                k.hub.base_url, next(iter(table_tokens(k.staff).values())), "13800138000"
            )
            phone.close()
            member = joined["code"]
            [(_, frame, _)] = camera_like_images([member], seed=5)[:1]
            frames = tmp_path / "camera"
            frames.mkdir()
            for n in range(3):
                cv2.imwrite(str(frames / f"f_{n:03d}.png"), frame)
            config = app_config(
                k.broker,
                "kiosk-01",
                k.hub.base_url,
                printer_host="127.0.0.1",
                printer_port=slips.port,
                camera_source=str(frames / "f_%03d.png"),
            )
            with running_app(config) as app:
                errors: list[str] = []
                page = kiosk_page(browser, app.url, errors)
                expect(page.locator("#welcome")).to_contain_text("小馆 Bistro")
                start_ordering(page)
                # The picture came from the hub through the app, not from anywhere else.
                picture = page.locator('[data-dish="kungpao"] .pic img')
                wait_until(
                    lambda: picture.evaluate("img => img.complete && img.naturalWidth > 0"),
                    what="the dish picture",
                )
                # The camera read the member's code: the diner sees it.
                expect(page.locator("#member")).to_contain_text(member[-6:])

                add_kungpao(page)
                page.locator('[data-dish="rice"] .add').click()
                page.locator('[data-dish="mapo"] .add').click()
                page.locator('#options [name="opt-spice"][value="medium"]').check(force=True)
                page.locator("#options-add").click()
                expect(page.locator("#cart-count")).to_have_text("3")

                # Staff mark the mapo tofu sold out while the diner looks: the page changes,
                # and the order cannot go until the dish is out of the cart.
                k.staff.post("/api/menu/dishes/mapo/sold-out", json={"sold_out": True})
                expect(page.locator('[data-dish="mapo"].sold-out')).to_have_count(1)
                expect(page.locator('[data-dish="mapo"]')).to_contain_text("售罄 Sold out")
                expect(page.locator('#cart-lines li.sold-out[data-line="mapo"]')).to_have_count(1)
                expect(page.locator("#place-order")).to_be_disabled()
                page.locator('#cart-lines li[data-line="mapo"] .minus').click()
                expect(page.locator("#cart-total")).to_have_text("¥41.00")
                expect(page.locator("#place-order")).to_be_enabled()
                page.locator("#dishes").evaluate("box => { box.scrollTop = 0; }")
                keep_screenshot(page, "kiosk.png")

                page.locator("#lang").click()  # English
                expect(page.locator('[data-dish="kungpao"] .name')).to_have_text("Kung Pao Chicken")
                page.locator("#place-order").dblclick()  # a double tap is one order
                expect(page.locator("#result-title")).to_have_text("Your number")
                no = int(page.locator("#order-no").inner_text())
                expect(page.locator("#order-total")).to_contain_text("¥41.00")
                expect(page.locator("#order-slip")).to_have_text("Please take your slip")
                # The hub found the member the camera read: the diner is told they will earn.
                expect(page.locator("#order-message")).to_contain_text(
                    "Member 138****8000: points are added when you pay"
                )

                [order] = k.staff.get("/api/orders").json()["orders"]
                assert (order["no"], order["total_fen"], order["member"]) == (no, 4100, member)
                # At the counter, the order is the member's: they earn when it is paid.
                bill = k.staff.get(f"/api/orders/{order['id']}/bill").json()
                assert bill["member"]["phone"] == "138****8000"
                [ticket] = k.tickets("hot", 1)
                assert "宫保鸡丁" in ticket and "特辣 Extra hot" in ticket
                [slip] = [decode_text(b) for b in slips.wait_jobs(1)]
                assert str(no) in slip.splitlines() and "小馆 Bistro" in slip
                assert "1 x 宫保鸡丁 Kung Pao Chicken" in slip and "特辣 Extra hot" in slip
                assert "合计 Total: 41.00 元" in slip

                # Done: the welcome screen, the cart and the member code forgotten.
                page.locator("#result-ok").click()
                expect(page.locator("#welcome")).to_be_visible()
                start_ordering(page)
                expect(page.locator("#cart-count")).to_have_text("0")
                # Still in front of the camera, the code is not read again (debounced).
                assert isinstance(app.device, KioskApp) and app.device.member is None
                assert errors == []
    finally:
        slips.stop()


def test_an_idle_kiosk_forgets_the_cart_and_says_when_the_hub_is_away(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        config = app_config(k.broker, "kiosk-01", k.hub.base_url, idle_timeout_s=5)
        with running_app(config) as app:
            errors: list[str] = []
            page = kiosk_page(browser, app.url, errors)
            start_ordering(page)
            page.locator('[data-dish="rice"] .add').click()
            expect(page.locator("#cart-count")).to_have_text("1")
            expect(page.locator("#welcome")).to_be_visible(timeout=10_000)  # nobody touched it
            start_ordering(page)
            expect(page.locator("#cart-count")).to_have_text("0")

            page.locator('[data-dish="rice"] .add').click()
            k.hub.stop()  # a clean stop: the hub says offline itself
            expect(page.locator("#away")).to_have_text("请到前台点餐 / Please order at the counter")
            expect(page.locator("#place-order")).to_be_disabled()
            assert isinstance(app.device, KioskApp) and not app.device.can_order()
            assert errors == []


@dataclass
class Store:
    broker: Broker
    hub: HubProcess
    printers: dict[str, VirtualPrinter]
    log: Path

    def orders(self) -> list[dict[str, object]]:
        with httpx.Client(base_url=self.hub.base_url, timeout=10) as c:
            c.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
            orders: list[dict[str, object]] = c.get("/api/orders").json()["orders"]
            return orders

    def freeze_then_kill_hub(self) -> None:
        """The hub stops answering (SIGSTOP), then dies (SIGKILL): whatever reached it in
        between dies with it, unanswered and unstored."""
        os.kill(self.hub.proc.pid, signal.SIGSTOP)

    def kill_hub(self) -> None:
        self.hub.kill()

    def restart_hub(self) -> None:
        self.hub = run_hub_process(self.hub.settings, self.log)


@contextmanager
def store_with_hub_process(tmp_path: Path, store: str) -> Iterator[Store]:
    printers = {s: VirtualPrinter().start() for s in STATIONS}
    inventory = make_inventory(store, printer_ports={s: p.port for s, p in printers.items()})
    broker = start_broker(tmp_path / "mqtt", inventory)
    log = tmp_path / "hub.log"
    hub = run_hub_process(hub_settings(broker, tmp_path / "hub"), log)
    s = Store(broker, hub, printers, log)
    try:
        yield s
    finally:
        if s.hub.proc.poll() is None:
            os.kill(s.hub.proc.pid, signal.SIGCONT)
            s.hub.kill()
        broker.stop()
        for p in printers.values():
            p.stop()


def wait_for_the_app_to_send(kiosk: KioskApp) -> None:
    """The page shows "sending" as soon as it is tapped; the app sends only when the tap reaches
    it. Killed before that, the hub's last will arrives first and the kiosk rightly refuses the
    order (hub away): not what these tests are about."""
    wait_until(
        lambda: kiosk.current is not None and kiosk.current.state is OrderState.SENDING,
        what="the kiosk app to send the order",
    )


def test_the_hub_dies_mid_order_and_the_order_arrives_once_when_it_is_back(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with store_with_hub_process(tmp_path, store) as s:
        config = app_config(s.broker, "kiosk-01", s.hub.base_url, order_timeout_s=60)
        with running_app(config) as app:
            assert isinstance(app.device, KioskApp)
            errors: list[str] = []
            page = kiosk_page(browser, app.url, errors)
            start_ordering(page)
            add_kungpao(page, "mild")
            s.freeze_then_kill_hub()
            page.locator("#place-order").click()
            expect(page.locator("#result-box")).to_have_attribute("data-state", "sending")
            wait_for_the_app_to_send(app.device)
            s.kill_hub()
            expect(page.locator("#result-title")).to_have_text("正在等待门店主机…")
            s.restart_hub()
            expect(page.locator("#result-title")).to_have_text("您的取餐号", timeout=20_000)
            no = int(page.locator("#order-no").inner_text())
            [order] = s.orders()
            assert (order["no"], order["total_fen"], order["source"]) == (no, 3800, "kiosk")
            kitchen_tickets = [decode_text(b) for b in s.printers["hot"].wait_jobs(1)]
            assert len(kitchen_tickets) == 1 and "宫保鸡丁" in kitchen_tickets[0]
            assert app.device.pending == {}
            assert errors == []


def test_the_hub_away_too_long_the_kiosk_says_not_placed_and_it_never_arrives(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with store_with_hub_process(tmp_path, store) as s:
        config = app_config(s.broker, "kiosk-01", s.hub.base_url, order_timeout_s=12)
        with running_app(config) as app:
            errors: list[str] = []
            page = kiosk_page(browser, app.url, errors)
            start_ordering(page)
            add_kungpao(page, "mild")
            s.freeze_then_kill_hub()
            page.locator("#place-order").click()
            assert isinstance(app.device, KioskApp)
            wait_for_the_app_to_send(app.device)
            s.kill_hub()
            expect(page.locator("#result-title")).to_have_text("未能下单", timeout=20_000)
            expect(page.locator("#order-message")).to_have_text(NOT_PLACED)
            page.locator("#result-ok").click()
            expect(page.locator("#welcome")).to_be_visible()

            s.restart_hub()
            # A new order, after the hub is back: had a copy of the first been kept anywhere
            # (the broker's queue for the hub's session), it would have arrived before this.
            start_ordering(page)
            page.locator('[data-dish="rice"] .add').click()
            expect(page.locator("#place-order")).to_be_enabled(timeout=10_000)
            page.locator("#place-order").click()
            expect(page.locator("#result-title")).to_have_text("您的取餐号", timeout=10_000)
            [order] = s.orders()
            assert order["total_fen"] == 300  # the rice only
            assert errors == []


def test_the_menu_topic_is_for_kiosks_and_configs_are_checked(tmp_path: Path, store: str) -> None:
    broker = start_broker(tmp_path / "mqtt", make_inventory(store))
    try:
        # A kiosk may read the hub's retained menu; a queue screen may not (the ACL).
        hub = run_hub_thread(hub_settings(broker, tmp_path / "hub"))
        try:
            with broker.sub("kiosk-01", menu_topic(store)) as kiosk_got:
                wait_until(lambda: kiosk_got, what="the retained menu for the kiosk")
            menu = parse_payload(kiosk_got[0].strip().encode(), KioskMenu, KIOSK_MENU_MAX_BYTES)
            assert {d.id for d in menu.menu.dishes} >= {"kungpao", "tea"}
            assert menu.sold_out == []
            with (
                broker.sub("screen-01", menu_topic(store)) as screen_got,
                broker.sub("screen-01", f"store/{store}/hub/state") as marker,
            ):
                wait_until(lambda: marker, what="the screen's subscription to be live")
            assert screen_got == []
        finally:
            hub.stop()

        config = app_config(broker, "kiosk-01", "http://127.0.0.1:8000")
        data = json.loads(config.model_dump_json())
        data["mqtt"]["password"] = "x"
        data["topics"]["event"] = f"store/{store}/kiosk/kiosk-02/event"
        with pytest.raises(ConfigError, match="topics do not follow the wire contract"):
            parse_app_config(data)
        data["device_type"] = "printer"
        with pytest.raises(ConfigError, match="has no app here"):
            parse_app_config(data)
    finally:
        broker.stop()


def test_only_the_apps_own_page_may_use_its_live_channel(tmp_path: Path, store: str) -> None:
    broker = start_broker(tmp_path / "mqtt", make_inventory(store))
    try:
        with running_app(app_config(broker, "kiosk-01", "http://127.0.0.1:9")) as app:
            ws_url = app.url.replace("http://", "ws://") + "ws"
            host = app.url.removeprefix("http://").rstrip("/")

            def first_message(origin: str) -> object:
                # The sync client: Playwright's sync API owns this thread's event loop.
                with connect(ws_url, origin=Origin(origin), open_timeout=5) as ws:
                    return json.loads(ws.recv(timeout=5))

            assert isinstance(first_message(f"http://{host}"), dict)
            with pytest.raises(websockets.InvalidStatus) as refused:
                first_message("http://evil.example")
            assert refused.value.response.status_code == 403
    finally:
        broker.stop()
