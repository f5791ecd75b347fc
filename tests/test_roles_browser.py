"""Staff roles and the cross-site guard in headless Chromium: a waiter's pages offer no void,
no new QR code, no device command and no campaign pause (a manager's do); a page elsewhere on
the hub's own address cannot make a logged-in browser close a table, while the hub's own pages
still can."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from contract.net import free_port
from tests.browser import log_in
from tests.games import games_kitchen
from tests.ordering import TEA

pytestmark = pytest.mark.browser

WAITER, WAITER_PIN = "bob", "739120"


def _staff_page(browser: Browser, base_url: str, path: str, **login: str) -> Page:
    page = browser.new_context(viewport={"width": 1024, "height": 700}).new_page()
    log_in(page, base_url, path, **login)
    expect(page).to_have_url(f"{base_url}{path}")
    return page


def test_a_waiters_pages_offer_only_what_a_waiter_may_do(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with games_kitchen(tmp_path, store) as k:
        k.order(k.token("A1"), [TEA], "k-" + "1" * 20).raise_for_status()
        waiter = _staff_page(browser, k.hub.base_url, "/orders", staff=WAITER, pin=WAITER_PIN)
        manager = _staff_page(browser, k.hub.base_url, "/orders")
        try:
            for page, shown in ((waiter, False), (manager, True)):
                line = page.locator(".line").first
                expect(line).to_be_visible()
                a1 = page.locator("li.tbl").filter(has=page.locator(".tname", has_text="A1"))
                expect(a1.locator("button.open")).to_be_visible()  # the floor: everyone's
                expect(a1.locator("button.pay")).to_be_visible()
                for button in (line.locator("button.void"), a1.locator("button.rotate")):
                    if shown:
                        expect(button).to_be_visible()
                    else:
                        expect(button).to_be_hidden()
                page.goto(f"{k.hub.base_url}/games")
                row = page.locator("#campaigns li").filter(has_text="wheel").first
                expect(row).to_contain_text("Spent today")
                pause = row.locator("button", has_text="Pause")
                expect(pause).to_have_count(1)
                if shown:
                    expect(pause).to_be_visible()
                else:
                    expect(pause).to_be_hidden()
                page.goto(f"{k.hub.base_url}/devices")
                commands = page.locator("button.cmd")
                expect(commands.first).to_be_attached()
                if shown:
                    expect(commands.first).to_be_visible()
                else:
                    expect(commands.first).to_be_hidden()
        finally:
            waiter.context.close()
            manager.context.close()


@contextmanager
def _other_page_on_the_same_address(hub_url: str) -> Iterator[str]:
    """A web page on another port of 127.0.0.1 (a router's, a printer's, anything on the LAN):
    the same *site* as the hub, so SameSite=Strict cookies go with its requests."""
    form = (
        f'<form method="post" action="{hub_url}/api/tables/A1/close">'
        '<button id="win">领奖 Claim your prize</button></form>'
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(form)))
            self.end_headers()
            self.wfile.write(form)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_another_page_cannot_post_with_the_staff_cookie_the_hubs_own_pages_can(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with (
        games_kitchen(tmp_path, store) as k,
        _other_page_on_the_same_address(k.hub.base_url) as elsewhere,
    ):
        page = _staff_page(browser, k.hub.base_url, "/orders")
        try:
            page.goto(elsewhere)
            page.click("#win")
            expect(page.locator("body")).to_contain_text("cross-site request refused")
            tables = k.staff.get("/api/tables").json()["tables"]
            assert next(t for t in tables if t["id"] == "A1")["open"] is True

            # The hub's own page, same browser, same cookie: the button works.
            page.goto(f"{k.hub.base_url}/orders")
            a1 = page.locator("li.tbl").filter(has=page.locator(".tname", has_text="A1"))
            a1.locator("button.close").click()
            expect(page.locator("#message")).to_contain_text("Table closed")
            tables = k.staff.get("/api/tables").json()["tables"]
            assert next(t for t in tables if t["id"] == "A1")["open"] is False
        finally:
            page.context.close()
