"""Members at the hub through its real interfaces: diners' phones over HTTP, staff with their
login, the kitchen printers' bytes; the real broker and SQLite under them."""

import json
import secrets
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract.members import member_code
from edge.members.domain import derived_key
from tests.members import join, table_tokens
from tests.ordering import KUNGPAO, TEA, kitchen
from tests.support import (
    PIN,
    SECRET,
    STAFF,
    hub_settings,
    make_inventory,
    run_hub_process,
    run_hub_thread,
    start_broker,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)

PHONE = "13800138000"
MASKED = "138****8000"


def _order(phone: httpx.Client, token: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    r = phone.post(
        f"/api/diner/{token}/orders", json={"key": "k-" + secrets.token_hex(10), "lines": lines}
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def _me(phone: httpx.Client, token: str) -> dict[str, Any]:
    r = phone.get(f"/api/diner/{token}/member")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _detail(r: httpx.Response) -> dict[str, Any]:
    detail: dict[str, Any] = r.json()["detail"]
    return detail


def test_a_diner_joins_earns_and_spends_and_a_refund_reverses_it_once(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        tokens = table_tokens(k.staff)
        a1 = tokens["A1"]
        # Joining needs consent to the privacy statement, and a real mobile number.
        stranger = httpx.Client(base_url=k.hub.base_url, timeout=10)
        r = stranger.post(f"/api/diner/{a1}/member/join", json={"phone": PHONE, "consent": False})
        assert (r.status_code, _detail(r)["code"]) == (422, "consent_required")
        r = stranger.post(f"/api/diner/{a1}/member/join", json={"phone": "12345", "consent": True})
        assert (r.status_code, _detail(r)["code"]) == (422, "bad_phone")
        assert "11位手机号码" in _detail(r)["message"]

        phone, member = join(k.hub.base_url, a1, f"+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")
        assert member["phone"] == MASKED and member["points"] == 0
        assert member["level"]["name_zh"] == "普通"
        [welcome] = member["coupons"]
        assert (welcome["value_fen"], welcome["min_spend_fen"]) == (2000, 5000)
        assert member["code"].startswith("SSM1:")
        # The same number cannot join twice: it signs in instead.
        r = stranger.post(f"/api/diner/{a1}/member/join", json={"phone": PHONE, "consent": True})
        assert (r.status_code, _detail(r)["code"]) == (409, "already_member")

        _order(phone, a1, [KUNGPAO, TEA])  # 2 x 38 + 12 = 88 yuan
        bill = k.staff.get("/api/tables/A1/bill").json()
        assert bill["gross_fen"] == 8800
        seen = bill["member"]
        assert (seen["phone"], seen["points"], seen["spendable"]) == (MASKED, 0, 0)
        assert seen["max_points"] == 880  # points pay at most 10% of the bill
        assert [(c["code"], c["off_fen"]) for c in seen["coupons"]] == [(welcome["code"], 2000)]

        # More points than the member has: refused, and nothing changed.
        r = k.staff.post(
            "/api/tables/A1/pay",
            json={"method": "cash", "amount_fen": 8800, "coupon": welcome["code"], "points": 100},
        )
        assert (r.status_code, _detail(r)["code"]) == (409, "not_enough_points")
        assert k.staff.get("/api/tables/A1/bill").json()["gross_fen"] == 8800  # still owed

        r = k.staff.post(
            "/api/tables/A1/pay",
            json={"method": "wechat", "amount_fen": 8800, "coupon": welcome["code"]},
        )
        assert r.status_code == 200, r.text
        paid = r.json()
        assert (paid["gross_fen"], paid["coupon_off_fen"], paid["amount_fen"]) == (8800, 2000, 6800)
        assert (paid["points_earned"], paid["points_balance"]) == (680, 680)  # 10% of 68 yuan
        # The member's receipt says it, in both languages (the first printer takes receipts
        # in this store: there is no cashier printer).
        receipt = k.tickets("hot", 2)[1]
        assert "结账单 RECEIPT" in receipt
        assert "优惠券 Coupon" in receipt and "-20.00" in receipt
        assert "实付 Paid" in receipt and "68.00" in receipt
        assert "本次积分 Points earned" in receipt and "+680" in receipt
        assert "积分余额 Points balance" in receipt

        me = _me(phone, a1)["member"]
        assert me["points"] == 680 and me["coupons"] == []
        assert [(h["cause"], h["points"]) for h in me["history"]] == [("earn", 680)]

        # The next party at A1 (the same member) cannot use the coupon again.
        k.staff.post("/api/tables/A1/open").raise_for_status()
        _order(phone, a1, [KUNGPAO])
        assert _me(phone, a1)["party_member"] == MASKED  # opening the tab: the party's member
        r = k.staff.post("/api/tables/A1/pay", json={"method": "cash", "coupon": welcome["code"]})
        assert (r.status_code, _detail(r)["code"]) == (409, "coupon_used")
        # Someone else's coupon code (a guess) is not this member's.
        r = k.staff.post("/api/tables/A1/pay", json={"method": "cash", "coupon": "CAAAAAAAAAA"})
        assert (r.status_code, _detail(r)["code"]) == (404, "unknown_coupon")
        k.staff.post("/api/tables/A1/pay", json={"method": "cash"}).raise_for_status()

        # A refund is a manager's (bob is a waiter), with a reason, and happens once.
        bob = k.hub.client(staff="bob", pin="739120")
        r = bob.post(f"/api/payments/{paid['id']}/refund", json={"reason": "cold dish"})
        assert r.status_code == 403
        r = k.staff.post(f"/api/payments/{paid['id']}/refund", json={"reason": "cold dish"})
        assert r.status_code == 200, r.text
        r = k.staff.post(f"/api/payments/{paid['id']}/refund", json={"reason": "again"})
        assert (r.status_code, _detail(r)["code"]) == (409, "already_refunded")
        me = _me(phone, a1)["member"]
        assert me["points"] == 760  # the second bill's; what the first earned is taken back
        assert [c["code"] for c in me["coupons"]] == [welcome["code"]]  # the coupon is back
        # A manager's adjustment needs a reason; a waiter cannot make one.
        r = bob.post(f"/api/members/{me['id']}/adjust", json={"points": 50, "reason": "x"})
        assert r.status_code == 403
        r = k.staff.post(f"/api/members/{me['id']}/adjust", json={"points": 50, "reason": " "})
        assert (r.status_code, _detail(r)["code"]) == (422, "reason_required")
        r = k.staff.post(
            f"/api/members/{me['id']}/adjust", json={"points": 50, "reason": "birthday cake late"}
        )
        assert r.status_code == 200 and r.json()["points"] == 810
        phone.close()
        stranger.close()


def test_one_coupon_a_hundred_tills_at_once_one_wins(tmp_path: Path, store: str) -> None:
    """A hundred tables pay at the same moment, each with the same member's one coupon:
    exactly one payment uses it; the 99 others are refused clearly and nothing of theirs is
    recorded."""
    broker = start_broker(tmp_path / "mqtt", make_inventory(store, buttons=100))
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub"))
    try:
        staff = hub.client()
        tokens = table_tokens(staff)
        tables = [f"A{n}" for n in range(1, 101)]
        phone, member = join(hub.base_url, tokens["A1"], PHONE)
        [coupon] = member["coupons"]
        for t in tables:
            _order(phone, tokens[t], [KUNGPAO])  # 76 yuan each: the coupon applies
            r = staff.post(f"/api/tables/{t}/member", json={"code": member["code"]})
            assert r.status_code == 200, r.text
        gate = threading.Barrier(len(tables))
        results: dict[str, httpx.Response] = {}

        def pay(table: str) -> None:
            till = hub.client()  # logged in just now: its connection is fresh
            try:
                gate.wait()
                results[table] = till.post(
                    f"/api/tables/{table}/pay", json={"method": "cash", "coupon": coupon["code"]}
                )
            finally:
                till.close()

        threads = [threading.Thread(target=pay, args=(t,)) for t in tables]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        codes = Counter(
            (r.status_code, r.json()["detail"]["code"] if r.status_code != 200 else "ok")
            for r in results.values()
        )
        assert codes == {(200, "ok"): 1, (409, "coupon_used"): 99}, codes
        [winner] = [t for t, r in results.items() if r.status_code == 200]
        assert results[winner].json()["coupon_off_fen"] == 2000
        refused = next(r for r in results.values() if r.status_code == 409)
        assert (
            refused.json()["detail"]["message"]
            == "这张券已经用过了 / This coupon has been used already"
        )
        due = {t["id"]: t["due_fen"] for t in staff.get("/api/tables").json()["tables"]}
        assert [t for t in tables if due[t] == 0] == [winner]  # the others still owe
        phone.close()
    finally:
        hub.stop()
        broker.stop()


def test_a_member_code_is_good_for_a_minute_or_two_and_a_card_only_names_its_member(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        tokens = table_tokens(k.staff)
        phone, member = join(k.hub.base_url, tokens["A1"], PHONE)
        key = derived_key(SECRET, "member-code")
        now = time.time()
        old = member_code(key, member["id"], now - 180)  # a screenshot from 3 minutes ago
        r = k.staff.post("/api/tables/A2/member", json={"code": old})
        assert (r.status_code, _detail(r)["code"]) == (404, "unknown_member_code")
        forged = member["code"][:-4] + "AAAA"
        r = k.staff.post("/api/tables/A2/member", json={"code": forged})
        assert r.status_code == 404
        fresh = phone.get(f"/api/diner/{tokens['A1']}/member/code").json()
        r = k.staff.post("/api/tables/A2/member", json={"code": fresh["code"]})
        assert r.status_code == 200 and r.json()["phone"] == MASKED
        r = k.staff.post("/api/tables/A3/member", json={"code": member["card_no"]})
        assert r.status_code == 200 and r.json()["phone"] == MASKED
        # Without the member's cookie there is no code to get.
        r = httpx.get(f"{k.hub.base_url}/api/diner/{tokens['A1']}/member/code")
        assert (r.status_code, r.json()["detail"]["code"]) == (401, "not_signed_in")
        phone.close()


def test_a_new_phone_signs_in_when_a_waiter_confirms_at_the_table(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        tokens = table_tokens(k.staff)
        first, member = join(k.hub.base_url, tokens["A1"], PHONE)
        second = httpx.Client(base_url=k.hub.base_url, timeout=10)
        a2 = tokens["A2"]
        asked = second.post(f"/api/diner/{a2}/member/sign-in", json={"phone": PHONE})
        assert asked.status_code == 202, asked.text
        request = asked.json()["id"]
        # A stranger's number gets the same answer (the page never says who is a member) ...
        stranger = second.post(f"/api/diner/{a2}/member/sign-in", json={"phone": "13900139000"})
        assert stranger.status_code == 202
        pending = k.staff.get("/api/members/sign-ins").json()["sign_ins"]
        by_id = {p["id"]: p for p in pending}
        assert by_id[request] | {"table": "A2", "phone": MASKED, "member": True} == by_id[request]
        # ... but the waiter sees there is no member, and cannot confirm one.
        r = k.staff.post(f"/api/members/sign-ins/{stranger.json()['id']}/confirm")
        assert (r.status_code, _detail(r)["code"]) == (409, "not_a_member")
        # Another table cannot read this table's request.
        r = second.get(f"/api/diner/{tokens['A3']}/member/sign-in/{request}")
        assert r.json()["state"] == "expired"
        assert second.get(f"/api/diner/{a2}/member/sign-in/{request}").json()["state"] == (
            "waiting"
        )
        assert _me(second, a2)["member"] is None
        bob = k.hub.client(staff="bob", pin="739120")
        assert bob.post(f"/api/members/sign-ins/{request}/confirm").status_code == 200
        assert second.get(f"/api/diner/{a2}/member/sign-in/{request}").json()["state"] == (
            "confirmed"
        )
        assert _me(second, a2)["member"]["id"] == member["id"]
        # Trying numbers from one table: a few a minute, then 429.
        codes = [
            second.post(
                f"/api/diner/{a2}/member/sign-in", json={"phone": f"1370000{n:04d}"}
            ).status_code
            for n in range(4)
        ]
        assert codes[-1] == 429
        first.close()
        second.close()


def test_offline_a_member_spends_within_what_hq_allows(tmp_path: Path, store: str) -> None:
    """HQ unreachable: the hub lets a member spend the balance it knows, at most the day's
    offline allowance (HQ config: 2000 points), and says so."""
    dead = f"http://127.0.0.1:{_closed_port()}"
    with kitchen(tmp_path, store, cloud_url=dead, cloud_token="t" * 40) as k:
        tokens = table_tokens(k.staff)
        phone, member = join(k.hub.base_url, tokens["A1"], PHONE)
        r = k.staff.post(
            f"/api/members/{member['id']}/adjust", json={"points": 5000, "reason": "migration"}
        )
        assert r.status_code == 200, r.text
        big = {"dish": "fish", "qty": 4, "options": {"size": "large"}}  # 4 x 128 = 512 yuan
        _order(phone, tokens["A1"], [big])
        bill = k.staff.get("/api/tables/A1/bill").json()
        assert bill["member"]["online"] is False and bill["member"]["spendable"] == 2000
        r = k.staff.post("/api/tables/A1/pay", json={"method": "cash", "points": 3000})
        assert (r.status_code, _detail(r)["code"]) == (409, "not_enough_points")
        assert "门店离线" in _detail(r)["message"] and _detail(r)["spendable"] == 2000
        r = k.staff.post("/api/tables/A1/pay", json={"method": "cash", "points": 2000})
        assert r.status_code == 200, r.text
        assert r.json()["points_off_fen"] == 2000
        # The day's allowance is spent: the next bill today may use none.
        k.staff.post("/api/tables/A1/open").raise_for_status()
        _order(phone, tokens["A1"], [big])
        _me(phone, tokens["A1"])  # the member opens their tab: the new party's member
        assert k.staff.get("/api/tables/A1/bill").json()["member"]["spendable"] == 0
        phone.close()


def _closed_port() -> int:
    from contract.net import free_port

    return free_port()


def test_a_hub_killed_while_bills_are_paid_keeps_each_payment_with_its_points_once(
    tmp_path: Path, store: str
) -> None:
    """SIGKILL while tills take member payments: after the restart every payment the tills
    were told about is there, each with exactly its own ledger entries and facts for HQ, and
    no entry or fact exists without its payment (they commit together or not at all)."""
    broker = start_broker(tmp_path / "mqtt", make_inventory(store, buttons=80))
    settings = hub_settings(broker, tmp_path / "hub")
    log = tmp_path / "hub.log"
    hub = run_hub_process(settings, log)
    try:
        with httpx.Client(base_url=hub.base_url, timeout=10) as staff:
            staff.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
            tokens = table_tokens(staff)
            tables = [f"A{n}" for n in range(1, 81)]
            phone, member = join(hub.base_url, tokens["A1"], PHONE)
            for t in tables:
                _order(phone, tokens[t], [KUNGPAO])
                staff.post(f"/api/tables/{t}/member", json={"code": member["card_no"]})
            phone.close()
            told: list[str] = []  # payments a till saw succeed

            def till(chunk: list[str]) -> None:
                with httpx.Client(base_url=hub.base_url, timeout=5) as c:
                    try:
                        # The others' payments may bring the kill before this till logs in.
                        c.post("/api/login", json={"name": STAFF, "pin": PIN})
                        for t in chunk:
                            r = c.post(f"/api/tables/{t}/pay", json={"method": "cash"})
                            if r.status_code == 200:
                                told.append(r.json()["id"])
                    except httpx.HTTPError:
                        return  # the hub died under this till

            threads = [threading.Thread(target=till, args=(tables[i::3],)) for i in range(3)]
            for th in threads:
                th.start()
            wait_until(lambda: len(told) >= 3, what="a few payments")
            hub.kill()  # SIGKILL, mid-burst
            for th in threads:
                th.join(20)
        assert 3 <= len(told) < len(tables), "the kill did not land mid-burst"
        hub = run_hub_process(settings, log)
        db = sqlite3.connect(settings.db_path)
        try:
            payments = dict(db.execute("SELECT uid, points_earned FROM payments").fetchall())
            entries = db.execute("SELECT id, points, ref FROM member_points").fetchall()
            facts = [
                json.loads(data)
                for (data,) in db.execute("SELECT data FROM outbox WHERE type = 'member.points'")
            ]
            paid_facts = db.execute(
                "SELECT count(*) FROM outbox WHERE type = 'payment.recorded'"
            ).fetchone()
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            db.close()
        assert set(told) <= set(payments)  # nothing a till was told about is lost
        assert sorted(ref for _, _, ref in entries) == sorted(payments)  # one entry each
        assert all(points == payments[ref] == 760 for _, points, ref in entries)
        assert sorted(f["entry"] for f in facts) == sorted(e for e, _, _ in entries)
        assert paid_facts == (len(payments),)
        with httpx.Client(base_url=hub.base_url, timeout=10) as staff:
            staff.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
            due = {t["id"]: t["due_fen"] for t in staff.get("/api/tables").json()["tables"]}
            assert sum(1 for t in tables if due[t] == 0) == len(payments)
    finally:
        hub.kill()
        broker.stop()
