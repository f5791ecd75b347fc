"""Headless Debian Chromium driven by Playwright (never Playwright's own browser download)."""

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support import PIN, STAFF

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def log_in(
    page: Page, base_url: str, path: str = "/board", pin: str = PIN, staff: str = STAFF
) -> None:
    """Open a staff page: the hub sends the browser to its login first; log in there."""
    page.goto(f"{base_url}{path}")
    expect(page).to_have_url(f"{base_url}/login?next={path}")
    page.fill("#name", staff)
    page.fill("#pin", pin)
    page.click("#submit")


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
