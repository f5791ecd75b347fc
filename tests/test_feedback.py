"""Feedback after the bill, as people see it: in headless Chromium against a real hub that
forwards to a real HQ (PostgreSQL). The party pays; the phone asks for a rating of the food and
the service and a comment; a second phone of the party is told the bill was rated already;
the outbox takes it to HQ, which shows ratings per store and day and the comments (JSON and
CSV) exactly as written, never as markup or as a spreadsheet formula."""

import csv
import io
import re
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from smartstore.cloud_service import CloudHandle
from tests.members import table_tokens
from tests.ordering import KUNGPAO
from tests.support import hub_settings, make_inventory, run_hub_thread, start_broker, wait_until

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}
# What a diner might type: markup and a formula must come back as the same text.
COMMENT = '=1+1 <img src=x onerror="alert(1)"> 宫保鸡丁很好吃 & "fast"'


def phone(browser: Browser, locale: str, url: str) -> Page:
    page = browser.new_context(**PHONE, locale=locale).new_page()  # type: ignore[arg-type]
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    page.goto(url)
    expect(page.locator('[data-dish="kungpao"]')).to_be_visible()
    # The sheet opens on the "paid" message of the table's live feed: a bill paid before the
    # page's socket is up is not offered again, so the phone is "live" before staff take money.
    expect(page.locator("#live")).to_have_class(re.compile(r"\bup\b"))
    return page


def rate(page: Page, food: int, service: int, comment: str = "") -> None:
    sheet = page.locator("#feedback-sheet")
    sheet.locator(f'input[name="food"][value="{food}"]').check()
    sheet.locator(f'input[name="service"][value="{service}"]').check()
    if comment:
        sheet.locator("#fb-comment").fill(comment)
    sheet.locator("#fb-send").click()


def test_a_party_rates_its_meal_once_and_hq_sees_it(
    browser: Browser, tmp_path: Path, cloud: CloudHandle
) -> None:
    store = "FB" + secrets.token_hex(3).upper()
    token = cloud.register(store)
    broker = start_broker(tmp_path / "mqtt", make_inventory(store))
    hub = run_hub_thread(
        hub_settings(
            broker,
            tmp_path / "hub",
            cloud_url=cloud.base_url,
            cloud_token=token,
            member_key=cloud.settings.member_key.get_secret_value(),
        )
    )
    diner = httpx.Client(base_url=hub.base_url, timeout=10)
    try:
        staff = hub.client()
        tokens = table_tokens(staff)
        a1 = tokens["A1"]
        b2 = next(t for k, t in tokens.items() if k != "A1")  # another table's code
        key = "k-" + secrets.token_hex(10)
        r = diner.post(f"/api/diner/{a1}/orders", json={"key": key, "lines": [KUNGPAO]})
        assert r.status_code == 201, r.text

        zh = phone(browser, "zh-CN", f"{hub.base_url}/t/{a1}")
        en = phone(browser, "en-US", f"{hub.base_url}/t/{a1}")
        expect(zh.locator("#feedback-sheet")).to_be_hidden()  # nothing to rate before paying

        paid = staff.post("/api/tables/A1/pay", json={"method": "cash"})
        assert paid.status_code == 200, paid.text
        payment = paid.json()["id"]

        # Both phones of the party are asked, each in its language.
        expect(zh.locator("#feedback-sheet")).to_be_visible(timeout=10_000)
        expect(zh.locator("#fb-title")).to_have_text("评价本次用餐")
        expect(en.locator("#feedback-sheet")).to_be_visible(timeout=10_000)
        expect(en.locator("#fb-title")).to_have_text("Rate your meal")

        # Stars are required; then it goes, and the page thanks the diner.
        zh.locator("#fb-send").click()
        expect(zh.locator("#message")).to_contain_text("请为菜品和服务打分")
        rate(zh, 4, 5, COMMENT)
        expect(zh.locator("#message")).to_contain_text("谢谢您的评价")
        expect(zh.locator("#feedback-sheet")).to_be_hidden()

        # The other phone is one party: refused, told so, and it can skip.
        rate(en, 1, 1, "second opinion")
        expect(en.locator("#message")).to_contain_text("has been rated already")
        en.locator("#fb-skip").click()
        expect(en.locator("#feedback-sheet")).to_be_hidden()

        # Refused at the hub: another table's code, a bill that is not the table's, 6 stars.
        other = diner.post(f"/api/diner/{b2}/feedback", json=_body(payment))
        assert other.status_code == 409
        assert diner.post(f"/api/diner/{a1}/feedback", json=_body("nope")).status_code == 409
        bad = diner.post(f"/api/diner/{a1}/feedback", json={**_body(payment), "food": 6})
        assert bad.status_code == 422

        # HQ: through the outbox, once.
        hq = cloud.hq()
        day = time.strftime("%Y-%m-%d", time.gmtime())

        def rows() -> list[dict[str, Any]]:
            r = hq.get("/api/v1/hq/feedback", params={"store": store})
            assert r.status_code == 200, r.text
            found: list[dict[str, Any]] = r.json()
            return found

        wait_until(lambda: rows() != [], timeout=20, what="the feedback at HQ")
        assert rows() == [
            {
                "store": store,
                "day": day,
                "ratings": 1,
                "food_avg": 4.0,
                "service_avg": 5.0,
                "low_food": 0,
                "low_service": 0,
                "comments": 1,
            }
        ]
        comments = hq.get("/api/v1/hq/feedback/comments", params={"store": store}).json()
        assert [(c["table"], c["food"], c["service"], c["lang"]) for c in comments] == [
            ("A1", 4, 5, "zh")
        ]
        assert comments[0]["comment"] == COMMENT  # the text as written, for a page to escape
        r = hq.get("/api/v1/hq/feedback/comments", params={"store": store, "format": "csv"})
        assert r.headers["content-type"].startswith("text/csv")
        [row] = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
        assert row["comment"] == "'" + COMMENT  # Excel shows it, does not run it
    finally:
        diner.close()
        hub.stop()
        broker.stop()


def _body(payment: str) -> dict[str, Any]:
    return {"payment": payment, "food": 3, "service": 3, "comment": "", "lang": "en"}
