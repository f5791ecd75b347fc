"""The members and campaigns dashboard (smartstore/grafana/members.py) on the real InfluxDB
1.6.7, with points made by the code that writes them: the sales exporter's points for the
hubs' member, coupon and feedback events (cloud/sales_influx.py), the liability HQ writes
(cloud/fleet_influx.py, from a cloud database seeded here) and the RFM counts
(cloud/analytics/rfm.py). Every panel's query runs as Grafana would send it for two stores,
and the numbers HQ would read are asserted."""

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cloud.analytics.rfm import segment_points
from cloud.db import Base as CloudBase
from cloud.db import make_engine, make_sessions
from cloud.fleet_influx import liability_points
from cloud.members.models import Coupon, Member, MemberId, PointsEntry
from cloud.models import Store
from cloud.sales_influx import SalesEvent, sales_points
from smartstore.grafana import members
from smartstore.services import InfluxServer
from tests.test_dashboards import DASHBOARDS, DB, all_panels, interpolate, load, write_lines

FILE = members.FILE


@dataclass(frozen=True)
class Seeded:
    influxdb: InfluxServer
    x: str
    y: str
    now: float


def _event(n: int, store: str, kind: str, at: float, data: dict[str, Any]) -> SalesEvent:
    return SalesEvent(n, store, f"ev-{store}-{n:04d}", kind, at, at, data)


def _paid(uid: str, member: str, at: float) -> dict[str, Any]:
    return {
        "payment": uid,
        "table": "A1",
        "amount_fen": 5000,
        "method": "wechat",
        "orders": [uid],
        "paid_at": at,
        "by": "alice",
        "member": member,
    }


def _joined(member: str, at: float) -> dict[str, Any]:
    return {
        "member": member,
        "phone_hash": secrets.token_hex(32),
        "phone_masked": "138****0000",
        "consent": "2026-11",
        "joined_at": at,
    }


def _points(entry: str, member: str, points: int, cause: str, at: float) -> dict[str, Any]:
    return {
        "entry": entry,
        "member": member,
        "points": points,
        "cause": cause,
        "ref": "",
        "at": at,
        "by": "alice",
    }


def _coupon(code: str, member: str, at: float, payment: str | None = None) -> dict[str, Any]:
    if payment is not None:
        return {"coupon": code, "member": member, "payment": payment, "off_fen": 2000, "at": at}
    return {
        "coupon": code,
        "member": member,
        "template": "welcome",
        "source": "welcome",
        "valid_from": at,
        "valid_until": at + 86400,
        "issued_at": at,
    }


def _feedback(payment: str, food: int, service: int, at: float) -> dict[str, Any]:
    return {"payment": payment, "table": "A1", "food": food, "service": service, "at": at}


def _liability_db(x: str, y: str, now: float) -> list[str]:
    """A cloud database with a liability worked out by hand: m1 holds 500 - 200 = 300 points
    earned and spent at x, m2 100 from HQ (400 points, 4 yuan at 1 fen each); one coupon of
    20 yuan unused from x, one used, one from HQ with no value before a bill."""
    engine = make_engine("sqlite://")
    CloudBase.metadata.create_all(engine)
    with make_sessions(engine)() as s:
        s.add_all([Store(id=x, name=x, created_at=now), Store(id=y, name=y, created_at=now)])
        s.flush()  # the stores before what refers to them
        for m in ("mdash00001", "mdash00002"):
            s.add(Member(id=m, consent="c", joined_at=now, joined_store=x))
            s.flush()
            s.add(MemberId(id=m, member=m, store_id=x, joined_at=now))
        for entry, m, store, pts in (
            ("e-1", "mdash00001", x, 500),
            ("r-1", "mdash00001", x, -200),
            ("hq-1", "mdash00002", None, 100),
        ):
            s.add(
                PointsEntry(
                    entry=entry,
                    member_id=m,
                    store_id=store,
                    points=pts,
                    cause="earn",
                    ref="",
                    reason="",
                    offline=False,
                    at=now,
                    by="t",
                    received_at=now,
                )
            )
        coupon = {
            "template": "t", "name_zh": "券", "name_en": "c", "percent": 0, "cap_fen": None,
            "dish": None, "min_spend_fen": 0, "stores": None, "source": "welcome",
            "issued_at": now, "valid_from": now, "valid_until": now + 86400,
        }  # fmt: skip
        s.add(Coupon(code="CAAAAAAAAA1", member_id="mdash00001", issued_store=x,
                     kind="amount_off", value_fen=2000, **coupon))  # fmt: skip
        s.add(Coupon(code="CAAAAAAAAA2", member_id="mdash00001", issued_store=x,
                     kind="amount_off", value_fen=2000, redeemed_at=now, **coupon))  # fmt: skip
        s.add(Coupon(code="CAAAAAAAAA3", member_id="mdash00002", issued_store=None,
                     kind="percent_off", value_fen=0, **coupon))  # fmt: skip
        s.commit()
        lines = liability_points(s, now - 60)
    engine.dispose()
    return lines


@pytest.fixture(scope="module")
def seeded(influxdb: InfluxServer) -> Iterator[Seeded]:
    x, y = ("M" + secrets.token_hex(4) for _ in range(2))
    now = time.time()
    t = now - 600
    events = [
        _event(1, x, "member.joined", t, _joined("mdash00001", t)),
        _event(2, x, "member.joined", t + 1, _joined("mdash00002", t + 1)),
        _event(3, y, "member.joined", t + 2, _joined("mdash00003", t + 2)),
        # m1 pays twice at x and once at y, m2 once at x: active 2 at x, 1 at y, 2 together.
        _event(4, x, "payment.recorded", t + 10, _paid("p1", "mdash00001", t + 10)),
        _event(5, x, "payment.recorded", t + 11, _paid("p2", "mdash00001", t + 11)),
        _event(6, x, "payment.recorded", t + 12, _paid("p3", "mdash00002", t + 12)),
        _event(7, y, "payment.recorded", t + 13, _paid("p4", "mdash00001", t + 13)),
        _event(8, x, "member.points", t + 20, _points("e-pay0001", "mdash00001", 500, "earn", t)),
        _event(9, x, "member.points", t + 21, _points("r-pay0002", "mdash00001", -200, "redeem", t)),  # noqa: E501
        _event(10, x, "member.points", t + 22, _points("a-1xyzab", "mdash00002", 100, "adjust", t)),
        _event(11, y, "member.points", t + 23, _points("e-pay0004", "mdash00001", 300, "earn", t)),
        _event(12, x, "coupon.issued", t + 30, _coupon("CBBBBBBBBB4", "mdash00001", t)),
        _event(13, x, "coupon.issued", t + 31, _coupon("CBBBBBBBBB2", "mdash00002", t)),
        _event(14, y, "coupon.issued", t + 32, _coupon("CBBBBBBBBB3", "mdash00003", t)),
        _event(15, x, "coupon.redeemed", t + 33, _coupon("CBBBBBBBBB4", "mdash00001", t, "p2")),
        _event(16, x, "feedback.given", t + 40, _feedback("p1", 4, 5, t + 40)),
        _event(17, x, "feedback.given", t + 41, _feedback("p3", 2, 3, t + 41)),
    ]  # fmt: skip
    lines = sales_points(events, {})
    lines += _liability_db(x, y, now)
    lines += segment_points(
        [("*", "重要价值", 2), (x, "重要价值", 2), (y, "一般挽留", 1)], now - 30
    )
    write_lines(influxdb, lines)
    yield Seeded(influxdb, x, y, now)


def panel_rows(seeded: Seeded, title: str) -> list[dict[str, Any]]:
    (panel,) = [p for p in all_panels(load(DASHBOARDS / FILE)) if p["title"] == title]
    (target,) = panel["targets"]
    q = interpolate(target["query"], panel, (seeded.x, seeded.y), now=seeded.now + 1)
    found: list[dict[str, Any]] = []
    for s in seeded.influxdb.query(q, db=DB):
        tags: dict[str, str] = s.get("tags") or {}  # type: ignore[assignment]
        for values in s["values"]:  # type: ignore[attr-defined]
            found.append({**tags, **dict(zip(s["columns"], values, strict=True))})  # type: ignore[call-overload]
    return found


def total(rows: list[dict[str, Any]], column: str, **where: str) -> Any:
    return sum(
        r[column]
        for r in rows
        if r[column] is not None and all(r.get(k) == v for k, v in where.items())
    )


def test_members_joined_and_active(seeded: Seeded) -> None:
    joined = panel_rows(seeded, "Members joined per day")
    assert total(joined, "joined", store=seeded.x) == 2
    assert total(joined, "joined", store=seeded.y) == 1
    # m1 visited both stores: counted once (unless the seeds straddle midnight in Shanghai).
    assert total(panel_rows(seeded, "Active members per day"), "active") in (2, 3)
    by_store = {r["store"]: r for r in panel_rows(seeded, "Members by store")}
    assert (by_store[seeded.x]["member_visits"], by_store[seeded.x]["active"]) == (3, 2)
    assert (by_store[seeded.y]["member_visits"], by_store[seeded.y]["active"]) == (1, 1)


def test_points_issued_and_redeemed(seeded: Seeded) -> None:
    per_day = panel_rows(seeded, "Points issued and redeemed per day")
    assert (total(per_day, "issued"), total(per_day, "redeemed")) == (900, 200)
    causes = {
        r["cause"]: (r["issued"], r["redeemed"]) for r in panel_rows(seeded, "Points by cause")
    }
    assert causes == {"earn": (800, 0), "redeem": (0, 200), "adjust": (100, 0)}


def test_coupons_issued_and_redeemed(seeded: Seeded) -> None:
    rows = panel_rows(seeded, "Coupons issued and redeemed per day")
    assert total(rows, "sum", kind="issued") == 3
    assert total(rows, "sum", kind="redeemed") == 1


def test_what_hq_owes(seeded: Seeded) -> None:
    assert [r["points_owed"] for r in panel_rows(seeded, "Points owed (the chain)")] == [4.0]
    assert [r["coupons_owed"] for r in panel_rows(seeded, "Coupons owed (the chain)")] == [20.0]
    over_time = panel_rows(seeded, "Liability over time")
    assert [(r["points"], r["coupons"]) for r in over_time if r["points"] is not None][-1] == (
        4.0,
        20.0,
    )
    by_store = {r["store"]: r for r in panel_rows(seeded, "Coupons outstanding by store of issue")}
    # The store filter: x only (HQ's own are the chain's, shown under (hq) when picked).
    assert set(by_store) == {seeded.x}
    assert (by_store[seeded.x]["outstanding"], by_store[seeded.x]["value"]) == (1, 20.0)
    assert by_store[seeded.x]["points_net"] == 300


def test_rfm_segments_and_ratings(seeded: Seeded) -> None:
    # The session's InfluxDB is shared: other tests' scorings write chain-wide ("*") rows too,
    # so only this test's stores are compared.
    segments = {
        (r["store"], r["segment"]): r["members"]
        for r in panel_rows(seeded, "RFM segments")
        if r["store"] in (seeded.x, seeded.y)
    }
    assert segments == {(seeded.x, "重要价值"): 2, (seeded.y, "一般挽留"): 1}
    ratings = [r for r in panel_rows(seeded, "Ratings after the bill per day") if r["ratings"]]
    assert [(r["store"], r["food"], r["service"], r["ratings"]) for r in ratings] in (
        [(seeded.x, 3.0, 4.0, 2)],
        [(seeded.x, 4.0, 5.0, 1), (seeded.x, 2.0, 3.0, 1)],  # the two straddle midnight
    )
