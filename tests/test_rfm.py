"""RFM at HQ on real PostgreSQL, through HTTP: hubs post members and their paid bills as their
outboxes do; HQ scores, reads the counts (JSON, CSV, InfluxDB 1.6.7 through the v1 bridge),
sends a coupon to a segment, and a hub's lookup carries each member's segment.

The example is computed by hand (docs/analytics.md has the same table): ten members, so that
NTILE(5) puts two in each fifth. Days since the last bill, bills, total paid (fen):

    member  last  bills  paid    R  F  M   segment
    A        1     7    35000    5  5  5   重要价值 (over two stores and two ids)
    B        2     1    20000    5  1  4   重要发展
    C        3     4     4000    4  4  2   一般价值
    D        4     1     2000    4  1  1   一般发展
    E        5     2     6000    3  3  3   重要价值 (all middle: high)
    F        6     3     9000    3  3  3   重要价值
    G        7     8    24000    2  5  4   重要保持
    H        8     1    50000    2  1  5   重要挽留
    I        9     5     5000    1  4  2   一般保持
    J       10     1     3000    1  1  1   一般挽留 (at S2 only)

F: B, D, H, J have one bill each. NTILE alone gives B, D 1 and H, J 2; equal figures score
alike, so all four are 1. Not scored: K (their only bill refunded), L (erased). A also has a
refunded bill of 999 yuan that counts for nothing.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from cloud.db import migrate
from contract.members import Segment
from edge.telemetry.v1_bridge import InfluxV1Bridge
from smartstore.cloud_service import CloudHandle, cloud_settings, run_cloud_thread
from smartstore.services import InfluxServer
from tests.test_cloud_members import PHONE, Hub, csv_rows, joined, paid, refunded

DAY = 86400.0
NOW = time.time()
BUCKET = "smartstore/autogen"

# member -> (days since the last bill, bills, total paid in fen, (R, F, M), segment)
EXAMPLE: dict[str, tuple[int, int, int, tuple[int, int, int], Segment]] = {
    "A": (1, 7, 35000, (5, 5, 5), Segment.IMPORTANT_VALUE),
    "B": (2, 1, 20000, (5, 1, 4), Segment.IMPORTANT_DEVELOP),
    "C": (3, 4, 4000, (4, 4, 2), Segment.GENERAL_VALUE),
    "D": (4, 1, 2000, (4, 1, 1), Segment.GENERAL_DEVELOP),
    "E": (5, 2, 6000, (3, 3, 3), Segment.IMPORTANT_VALUE),
    "F": (6, 3, 9000, (3, 3, 3), Segment.IMPORTANT_VALUE),
    "G": (7, 8, 24000, (2, 5, 4), Segment.IMPORTANT_KEEP),
    "H": (8, 1, 50000, (2, 1, 5), Segment.IMPORTANT_WIN_BACK),
    "I": (9, 5, 5000, (1, 4, 2), Segment.GENERAL_KEEP),
    "J": (10, 1, 3000, (1, 1, 1), Segment.GENERAL_WIN_BACK),
}


def mid(letter: str, n: int = 1) -> str:
    return f"mrfm{letter.lower()}{n:05d}"


def phone(i: int) -> str:
    return f"1390000{i:04d}"


@pytest.fixture
def cloud_influx(cloud_db: str, influxdb: InfluxServer) -> Iterator[CloudHandle]:
    """HQ writing to InfluxDB 1.6.7 through the v1 bridge, as a deployment does."""
    bridge = InfluxV1Bridge(influxdb.url).start()
    migrate(cloud_db)
    handle = run_cloud_thread(cloud_settings(cloud_db, influx_url=bridge.url, influx_bucket=BUCKET))
    yield handle
    handle.stop()
    bridge.stop()


def seed(cloud: CloudHandle) -> tuple[Hub, Hub]:
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    key = cloud.member_key
    events1: list[Any] = []
    events2: list[Any] = []
    for i, (letter, (last, bills, total, _, _)) in enumerate(EXAMPLE.items()):
        hub_events = events2 if letter == "J" else events1
        hub_events.append(joined(key, mid(letter), phone(i), at=NOW - 100 * DAY))
        each = total // bills
        for b in range(bills):
            amount = total - each * (bills - 1) if b == 0 else each
            at = NOW - (last + b * 3) * DAY  # the first is the last bill
            # A pays at both stores, the S2 bills under the id S2 made for the same phone.
            to = events2 if letter == "A" and b % 2 else hub_events
            who = mid(letter, 2) if to is events2 and letter == "A" else mid(letter)
            to.append(paid(f"pay-{letter}-{b:03d}", who, amount, at=at))
    events2.insert(0, joined(key, mid("A", 2), phone(0), at=NOW - 90 * DAY))
    # A's refunded bill, K's only bill refunded, L erased below.
    events1 += [
        paid("pay-A-refunded", mid("A"), 99900, at=NOW - DAY / 2),
        refunded("pay-A-refunded", 99900, at=NOW - DAY / 3),
        joined(key, mid("K"), PHONE, at=NOW - 50 * DAY),
        paid("pay-K-000", mid("K"), 70000, at=NOW - DAY),
        refunded("pay-K-000", 70000, at=NOW - DAY / 2),
        joined(key, mid("L"), phone(99), at=NOW - 50 * DAY),
        paid("pay-L-000", mid("L"), 80000, at=NOW - DAY),
    ]
    s1.send(*events1)
    s2.send(*events2)
    assert cloud.hq().delete(f"/api/v1/hq/members/{mid('L')}").status_code == 200
    return s1, s2


def test_rfm_scores_the_hand_computed_example(
    cloud_influx: CloudHandle, influxdb: InfluxServer
) -> None:
    cloud = cloud_influx
    s1, s2 = seed(cloud)
    hq = cloud.hq()
    assert hq.get("/api/v1/hq/rfm/segments").json() == []  # nothing before the first scoring
    assert s1.member(member=mid("A"))["segment"] is None

    r = hq.post("/api/v1/hq/rfm/score")
    assert r.status_code == 200, r.text
    scoring = r.json()
    assert scoring["members"] == 10  # K (refunded) and L (erased) are not scored
    assert scoring["influx_written"] is True
    expected: dict[str, int] = {}
    for _, _, _, _, seg in EXAMPLE.values():
        expected[seg.value] = expected.get(seg.value, 0) + 1
    assert scoring["segments"] == expected
    assert len(expected) == 8  # the example has every segment

    # Each member's segment reaches the hubs in the lookup, under any of their ids.
    for letter, (*_, seg) in EXAMPLE.items():
        assert s1.member(member=mid(letter))["segment"] == seg.value, letter
    assert s2.member(member=mid("A", 2))["segment"] == Segment.IMPORTANT_VALUE.value
    assert s1.member(member=mid("K"))["segment"] is None
    assert s1.member(member=mid("L"))["segment"] is None

    rows = hq.get("/api/v1/hq/rfm/segments").json()
    counts = {(row["store"], row["segment"]): row["members"] for row in rows}
    chain = {seg: n for (store, seg), n in counts.items() if store == "*"}
    assert chain == expected
    at_s2 = {seg: n for (store, seg), n in counts.items() if store == "S2"}
    assert at_s2 == {Segment.IMPORTANT_VALUE.value: 1, Segment.GENERAL_WIN_BACK.value: 1}
    at_s1 = {seg: n for (store, seg), n in counts.items() if store == "S1"}
    # Everyone but J paid at S1.
    assert at_s1 == {k: v for k, v in expected.items() if k != Segment.GENERAL_WIN_BACK.value}
    # The chain's rows first, in the plan's order, then each store's.
    assert [row["segment"] for row in rows[:8]] == [s.value for s in Segment]

    csv = csv_rows(hq.get("/api/v1/hq/rfm/segments", params={"format": "csv"}))
    assert [(c["store"], c["segment"], int(c["members"])) for c in csv] == [
        (row["store"], row["segment"], row["members"]) for row in rows
    ]

    # Grafana's panel reads the same counts from InfluxDB.
    # This scoring's points (the session's InfluxDB has other tests' too): at its time.
    at_ns = round(scoring["scored_at"]) * 1_000_000_000
    series = influxdb.query(
        f'SELECT last("members") FROM "rfm_segments" WHERE time = {at_ns} '
        'GROUP BY "store", "segment"',
        db="smartstore",
    )
    written = {
        (s["tags"]["store"], s["tags"]["segment"]): s["values"][0][1]  # type: ignore[index]
        for s in series
    }
    assert written == counts


def test_the_scores_of_each_member_are_the_hand_computed_ones(cloud: CloudHandle) -> None:
    seed(cloud)
    hq = cloud.hq()
    assert hq.post("/api/v1/hq/rfm/score").json()["influx_written"] is False  # none configured
    engine = create_engine(cloud.settings.database_url)
    with engine.connect() as conn:
        got = {
            m: (r, f, mm, seg, bills, spend)
            for m, r, f, mm, seg, bills, spend in conn.execute(
                text("SELECT member, r, f, m, segment, bills, spend_fen FROM member_rfm")
            )
        }
    engine.dispose()
    assert got == {
        mid(letter): (*rfm, seg.value, bills, total)
        for letter, (_, bills, total, rfm, seg) in EXAMPLE.items()
    }


def test_hq_gives_a_coupon_to_a_segment(cloud: CloudHandle) -> None:
    s1, _ = seed(cloud)
    hq = cloud.hq()
    hq.post("/api/v1/hq/rfm/score")
    body = {
        "template_id": "welcome",
        "segment": Segment.IMPORTANT_VALUE.value,
        "members": [mid("A")],
    }
    r = hq.post("/api/v1/hq/coupons", json=body)
    assert r.status_code == 200, r.text
    assert sorted(g["member"] for g in r.json()["issued"]) == [mid("A"), mid("E"), mid("F")]
    assert r.json()["skipped"] == [{"recipient": mid("A"), "reason": "listed twice"}]
    assert len(s1.member(member=mid("E"))["coupons"]) == 1
    assert s1.member(member=mid("B"))["coupons"] == []
    bad = hq.post("/api/v1/hq/coupons", json={"template_id": "welcome", "segment": "VIP"})
    assert bad.status_code == 422
