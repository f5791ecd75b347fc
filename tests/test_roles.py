"""Staff roles at the hub, through its HTTP API: a waiter runs the floor; voids, refunds, points,
new QR codes, device commands and campaigns are a manager's. And the cross-site guard: a POST a
browser says came from another origin is refused, with nothing changed."""

import secrets
from pathlib import Path
from typing import Any

import httpx

from tests.games import games_kitchen
from tests.members import join, table_tokens
from tests.ordering import KUNGPAO, TEA
from tests.support import STAFF

WAITER, WAITER_PIN = "bob", "739120"  # tests.support.hub_settings: alice manages, bob waits
MANAGER_ONLY = "只有店长可以这样做 / only a manager may do this"


def _refused(r: httpx.Response) -> None:
    assert (r.status_code, r.json()["detail"]) == (403, MANAGER_ONLY), r.text


def _table(staff: httpx.Client, table: str) -> dict[str, Any]:
    tables: list[dict[str, Any]] = staff.get("/api/tables").json()["tables"]
    return next(t for t in tables if t["id"] == table)


def test_a_waiter_runs_the_floor_and_a_manager_changes_the_store(
    tmp_path: Path, store: str
) -> None:
    with games_kitchen(tmp_path, store) as k:
        manager = k.staff
        waiter = k.hub.client(staff=WAITER, pin=WAITER_PIN)
        assert manager.get("/api/me").json() == {"name": STAFF, "role": "manager"}
        assert waiter.get("/api/me").json() == {"name": WAITER, "role": "waiter"}

        # The floor is the waiter's: orders, sold-out marks, tables, payments, member codes.
        tokens = table_tokens(manager)
        phone, member = join(k.hub.base_url, tokens["A1"], "13800138000")
        order = k.order(tokens["A1"], [KUNGPAO, TEA], "k-" + secrets.token_hex(10)).json()
        r = waiter.post("/api/menu/dishes/fish/sold-out", json={"sold_out": True})
        assert r.status_code == 200, r.text
        r = waiter.post("/api/tables/A1/member", json={"code": member["code"]})
        assert r.status_code == 200, r.text

        # A void is a manager's: the waiter's changes nothing.
        tea = next(x for x in order["lines"] if x["dish"] == "tea")
        _refused(waiter.post(f"/api/orders/{order['id']}/lines/{tea['id']}/void"))
        [open_order] = manager.get("/api/orders").json()["orders"]
        assert open_order["total_fen"] == order["total_fen"]
        voided = manager.post(f"/api/orders/{order['id']}/lines/{tea['id']}/void").json()
        assert voided["total_fen"] == order["total_fen"] - tea["line_total_fen"]

        # Letting the table off is a manager's; paying it is the waiter's.
        _refused(waiter.post("/api/tables/A1/pay", json={"method": "waived"}))
        r = waiter.post("/api/tables/A1/pay", json={"method": "cash"})
        assert r.status_code == 200, r.text
        paid = r.json()

        # Refunds and points: the manager's.
        _refused(waiter.post(f"/api/payments/{paid['id']}/refund", json={"reason": "cold"}))
        _refused(
            waiter.post(f"/api/members/{member['id']}/adjust", json={"points": 9, "reason": "x"})
        )
        points = phone.get(f"/api/diner/{tokens['A1']}/member").json()["member"]["points"]
        assert points == paid["points_balance"]  # neither went through
        r = manager.post(f"/api/payments/{paid['id']}/refund", json={"reason": "cold"})
        assert r.status_code == 200, r.text
        adjust = {"points": 9, "reason": "late dish"}
        r = manager.post(f"/api/members/{member['id']}/adjust", json=adjust)
        assert r.status_code == 200, r.text

        # A new QR code: the old one stops working, so only a manager makes one.
        _refused(waiter.post("/api/tables/A2/rotate-qr"))
        assert _table(manager, "A2")["qr_path"].endswith(tokens["A2"])
        assert k.diner.get(f"/api/diner/{tokens['A2']}/menu").status_code == 200
        assert manager.post("/api/tables/A2/rotate-qr").status_code == 200
        assert not _table(manager, "A2")["qr_path"].endswith(tokens["A2"])

        # Device commands (reboot a kiosk, locate a button): a manager's; none is stored.
        cmd = {"name": "locate", "args": {"seconds": 5}}
        _refused(waiter.post("/api/devices/btn-001/commands", json=cmd))
        assert waiter.get("/api/devices/btn-001/commands").json() == []
        assert manager.post("/api/devices/btn-001/commands", json=cmd).status_code == 202
        assert [c["staff"] for c in waiter.get("/api/devices/btn-001/commands").json()] == [STAFF]

        # Campaigns: a waiter sees them, only a manager pauses or resumes one.
        _refused(waiter.post("/api/games/wheel/pause"))
        wheel = next(c for c in waiter.get("/api/games").json()["campaigns"] if c["id"] == "wheel")
        assert wheel["paused"] is False
        assert manager.post("/api/games/wheel/pause").json()["paused"] is True
        _refused(waiter.post("/api/games/wheel/resume"))
        assert manager.post("/api/games/wheel/resume").json()["paused"] is False
        phone.close()


def test_a_cross_site_post_with_the_staff_cookie_is_refused_and_changes_nothing(
    tmp_path: Path, store: str
) -> None:
    with games_kitchen(tmp_path, store) as k:
        staff = k.staff  # holds the ss_staff cookie, as the victim's browser would
        assert _table(staff, "A1")["open"] is True
        here = k.hub.base_url
        port = int(here.rsplit(":", 1)[1])
        refused = {"detail": "跨站请求被拒绝 / cross-site request refused"}
        for headers in (
            {"Origin": "http://evil.example"},
            # Another port on the hub's own address: the same *site*, so SameSite=Strict
            # cookies go along; only the origin check stops it.
            {"Origin": f"http://127.0.0.1:{port + 1}"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": here},
        ):
            r = staff.post("/api/tables/A1/close", headers=headers)
            assert (r.status_code, r.json()) == (403, refused), headers
            # The login form too: no logging a victim in as someone else.
            r = httpx.post(f"{here}/api/login", json={"name": STAFF, "pin": "x"}, headers=headers)
            assert r.status_code == 403, headers
        assert _table(staff, "A1")["open"] is True

        # What the pages send: their own origin (and same-origin on a secure origin).
        r = staff.post("/api/tables/A1/close", headers={"Origin": here})
        assert r.status_code == 200, r.text
        r = staff.post(
            "/api/tables/A1/open", headers={"Origin": here, "Sec-Fetch-Site": "same-origin"}
        )
        assert r.status_code == 200, r.text
        # Reads are never refused: a link from elsewhere to the board still opens it.
        r = staff.get("/api/tables", headers={"Origin": "http://evil.example"})
        assert r.status_code == 200
