"""The demo's simulated member diners, against a real hub: they join, sign in again on a new
phone (the simulated waiter confirms), order and pay with coupons and points."""

import sqlite3
from pathlib import Path

from smartstore.demo_diners import DEMO_PHONES, DemoDiners
from tests.ordering import kitchen
from tests.support import PIN, STAFF


def test_the_demo_diners_join_order_and_pay_as_members(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        diners = DemoDiners(k.hub.base_url, STAFF, PIN, meal_s=(0, 0), seed=7)
        for _ in range(8):
            diners.visit(k.staff)
        second_run = DemoDiners(
            k.hub.base_url, STAFF, PIN, meal_s=(0, 0), seed=7
        )  # new phones, same people
        second_run.visit(k.staff)
        diners.stop()
        second_run.stop()
        tables = k.staff.get("/api/tables").json()["tables"]
        assert all(t["due_fen"] == 0 for t in tables)  # every party paid
        # Some bills used the welcome coupon, and the members earned on what they paid.
        with sqlite3.connect(k.hub.settings.db_path) as db:
            rows = db.execute(
                "SELECT member_id, coupon_off_fen, points_used, points_earned FROM payments"
            ).fetchall()
        db.close()
        assert len(rows) == 9 and all(member is not None for member, *_ in rows)
        assert any(coupon > 0 for _, coupon, _, _ in rows)
        assert all(earned > 0 for *_, earned in rows)
        assert len({member for member, *_ in rows}) <= len(DEMO_PHONES)
