"""A diner on a phone, in headless Chromium: scan (open the table's page), order, and the
kitchen's ticket arrives as bytes at the printer; live sold-out and order status."""

import json
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, expect

from tests.browser import log_in
from tests.ordering import KUNGPAO, TEA, kitchen
from tests.support import STAFF, wait_until

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}


def test_a_diner_orders_from_the_table_qr_and_the_kitchen_prints_it(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        context = browser.new_context(**PHONE, locale="zh-CN")  # type: ignore[arg-type]
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(k.hub.base_url + k.table_path("A1"))
            expect(page.locator('[data-dish="kungpao"]')).to_contain_text("宫保鸡丁")
            expect(page.locator('[data-dish="kungpao"]')).to_contain_text("38.00")

            page.locator('[data-dish="rice"] .add').click()
            page.locator('[data-dish="kungpao"] .add').click()
            expect(page.locator("#options")).to_be_visible()
            page.locator('#options [name="opt-spice"][value="hot"]').check()
            page.locator("#options-add").click()
            expect(page.locator("#cart-count")).to_have_text("2")
            expect(page.locator("#cart-total")).to_contain_text("41.00")

            page.locator("#cart-bar").click()
            page.locator("#order-note").fill("<b>生日</b> birthday")
            page.locator("#place-order").dblclick()  # a double tap is one order
            expect(page.locator("#orders [data-order]")).to_have_count(1, timeout=10_000)

            [ticket] = k.tickets("hot", 1)
            assert "宫保鸡丁" in ticket and "特辣 Extra hot" in ticket and "米饭" in ticket
            assert "<b>生日</b> birthday" in ticket
            orders = k.staff.get("/api/orders").json()["orders"]
            assert len(orders) == 1 and orders[0]["total_fen"] == 3800 + 300

            # Sold out on the board: the diner's page changes without a reload.
            k.staff.post("/api/menu/dishes/tea/sold-out", json={"sold_out": True})
            expect(page.locator('[data-dish="tea"].sold-out')).to_have_count(1)

            # The kitchen marks the order done: the diner sees it live.
            k.staff.post(f"/api/orders/{orders[0]['id']}/done")
            expect(page.locator("#orders .order-status")).to_contain_text("出餐")

            page.locator("#orders-sheet [data-close]").click()
            page.locator("#call-waiter").click()
            wait_until(
                lambda: [c["table"] for c in k.staff.get("/api/calls").json()] == ["A1"],
                what="the call on the staff board",
            )
            assert errors == []
        finally:
            context.close()


def test_a_bad_qr_code_gets_a_clear_page(browser: Browser, tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        page = browser.new_page(viewport=PHONE["viewport"])  # type: ignore[arg-type]
        try:
            token = k.token("A1")
            page.goto(f"{k.hub.base_url}/t/{token[:-2]}xx")
            expect(page.locator("body")).to_contain_text("二维码无效")
            expect(page.locator("body")).to_contain_text("not valid")
            expect(page.locator("[data-dish]")).to_have_count(0)
        finally:
            page.close()


def test_the_kitchen_page_voids_reprints_and_finishes_orders(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        page = browser.new_page(viewport={"width": 1024, "height": 700})  # a kitchen tablet
        page.on("dialog", lambda d: d.accept())  # "void this line?"
        try:
            log_in(page, k.hub.base_url, "/orders")
            expect(page).to_have_url(f"{k.hub.base_url}/orders")
            order = k.order(
                k.token("A1"),
                [{"dish": "rice", "qty": 2, "note": "<img src=x onerror=alert(1)>"}, TEA],
                "k-browser-kitchen-0001",
            ).json()
            card = page.locator(f'[data-order="{order["id"]}"]')
            expect(card).to_contain_text("米饭")
            # A note with markup is shown as text, never run.
            expect(card).to_contain_text("<img src=x onerror=alert(1)>")
            expect(card.locator("[data-job] .job-status").first).to_contain_text("Sent")

            rice = next(x for x in order["lines"] if x["dish"] == "rice")
            card.locator(f'[data-line="{rice["id"]}"] .void').click()
            _, void = k.tickets("hot", 2)
            assert "作废 VOID" in void and "米饭" in void

            job = next(
                j
                for j in k.staff.get("/api/orders").json()["orders"][0]["print"]
                if j["kind"] == "kitchen" and j["station"] == "bar"
            )
            card.locator(f'[data-job="{job["id"]}"] .reprint').click()
            _, reprint = k.tickets("bar", 2)
            assert "补打 REPRINT" in reprint and "菊花茶" in reprint

            card.locator(".done").click()
            expect(card).to_have_count(0)
            assert k.staff.get("/api/orders").json()["orders"] == []

            # Sold out from the kitchen's menu section.
            page.locator('[data-dish="beer"] .sold-out-toggle').click()
            wait_until(
                lambda: next(
                    d for d in k.staff.get("/api/menu").json()["dishes"] if d["id"] == "beer"
                )["sold_out"],
                what="beer to be sold out",
            )
        finally:
            page.close()


def test_a_waiter_takes_a_tables_payment_on_the_kitchen_page(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        page = browser.new_page(viewport={"width": 1024, "height": 700})
        try:
            log_in(page, k.hub.base_url, "/orders")
            expect(page).to_have_url(f"{k.hub.base_url}/orders")
            table = page.locator('.tbl[data-table="A2"]')
            expect(table.locator(".pay")).to_be_disabled()  # nothing to pay yet
            token = k.token("A2")
            assert k.order(token, [KUNGPAO], "k-browser-pay-00001").status_code == 201
            expect(table.locator(".tdue")).to_contain_text("¥76.00")  # live, no reload

            # The party pays; cancelling the dialog records nothing.
            table.locator(".pay").click()
            dialog = page.locator("#pay-dialog")
            expect(dialog).to_be_visible()
            expect(dialog.locator("#pay-amount")).to_have_text("¥76.00")
            dialog.locator(".pay-cancel").click()
            expect(dialog).to_be_hidden()

            # The waiter shows ¥76 while the table orders a tea: the payment is refused, not
            # recorded short; the dialog stays, says why and shows the bill as it is now.
            table.locator(".pay").click()
            expect(dialog.locator("#pay-amount")).to_have_text("¥76.00")
            assert k.order(token, [TEA], "k-browser-pay-00002").status_code == 201
            dialog.locator('button[value="wechat"]').click()
            expect(dialog.locator("#pay-error")).to_contain_text("The bill changed")
            expect(dialog.locator("#pay-amount")).to_have_text("¥88.00")
            expect(table.locator(".tdue")).to_contain_text("¥88.00")
            dialog.locator('button[value="wechat"]').click()
            expect(page.locator("#message")).to_contain_text("A2 已结账 Paid ¥88.00 · 微信 WeChat")
            expect(table.locator(".tstate")).to_contain_text("Closed")
            expect(table.locator(".pay")).to_be_disabled()
            assert k.order(token, [TEA], "k-browser-pay-00003").status_code == 409

            # A3 closed with its bill unpaid: opening it again asks first (it is the same
            # party, bill and all); saying no leaves it closed.
            assert k.order(k.token("A3"), [TEA], "k-browser-pay-00004").status_code == 201
            k.staff.post("/api/tables/A3/close").raise_for_status()
            a3 = page.locator('.tbl[data-table="A3"]')
            page.reload()
            expect(a3.locator(".tdue")).to_contain_text("¥12.00")
            asked: list[str] = []

            def answer_no(d: Dialog) -> None:
                asked.append(d.message)
                d.dismiss()

            page.once("dialog", answer_no)
            a3.locator(".open").click()
            wait_until(lambda: asked, what="the question")
            assert "still owes ¥12.00" in asked[0] and "未结账" in asked[0]
            expect(a3.locator(".tstate")).to_contain_text("Closed")
            page.once("dialog", lambda d: d.accept())  # yes, the same guests
            a3.locator(".open").click()
            expect(a3.locator(".tstate")).to_contain_text("Open")
            expect(a3.locator(".tdue")).to_contain_text("¥12.00")  # their bill stayed
        finally:
            page.close()
    with sqlite3.connect(k.hub.settings.db_path) as db:
        paid = [
            json.loads(d)
            for t, d in db.execute("SELECT type, data FROM outbox")
            if t == "payment.recorded"
        ]
    assert [(p["amount_fen"], p["method"], p["by"]) for p in paid] == [(8800, "wechat", STAFF)]
