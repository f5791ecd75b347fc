"""The sums per member id that ingest keeps beside the bills (cloud/members/spend.py), on real
PostgreSQL through HTTP: whatever order and however often the hubs send bills and refunds,
and however many stores send at once, `member_totals` and `member_store_bills` are what a
count of the bills gives. RFM reads them (tests/test_rfm.py checks its scores).
"""

import threading
import time
from typing import Any

from sqlalchemy import create_engine, text

from smartstore.cloud_service import CloudHandle
from tests.test_cloud_members import Hub, joined, paid, refunded

DAY = 86400.0
NOW = time.time()

RECOUNT_TOTALS = """
    SELECT member_id, count(*), sum(amount_fen), max(paid_at) FROM member_spend
    WHERE refunded_at IS NULL GROUP BY member_id"""
RECOUNT_STORES = """
    SELECT member_id, store_id, count(*) FROM member_spend
    WHERE refunded_at IS NULL GROUP BY member_id, store_id"""


def kept_and_recounted(cloud: CloudHandle) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """(kept, recounted) for both tables; an id or store left with no paid bill is kept as
    zero bills and absent from the count."""
    engine = create_engine(cloud.settings.database_url)
    with engine.connect() as db:
        kept = {
            "totals": {
                m: (n, s, last)
                for m, n, s, last in db.execute(
                    text("SELECT member_id, bills, spend_fen, last_paid_at FROM member_totals")
                )
                if n
            },
            "stores": {
                (m, st): n
                for m, st, n in db.execute(
                    text("SELECT member_id, store_id, bills FROM member_store_bills")
                )
                if n
            },
        }
        recounted = {
            "totals": {m: (n, s, last) for m, n, s, last in db.execute(text(RECOUNT_TOTALS))},
            "stores": {(m, st): n for m, st, n in db.execute(text(RECOUNT_STORES))},
        }
    engine.dispose()
    return kept, recounted


def again(event: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The same fact under another event id (a hub that forwarded it twice)."""
    return {**event, "id": event["id"] + suffix}


def test_the_kept_sums_are_the_bills_counted_again(cloud: CloudHandle) -> None:
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    key = cloud.member_key
    # S2, offline, made its own id for X's phone; its bills come before its member.joined.
    s1.send(joined(key, "mtotx0001", "13900001111", at=NOW - 30 * DAY))
    s2.send(
        paid("t-x-s2-1", "mtotx0002", 4000, at=NOW - 3 * DAY),
        paid("t-x-s2-2", "mtotx0002", 6000, at=NOW - 2 * DAY),
    )
    s2.send(joined(key, "mtotx0002", "13900001111", at=NOW - 4 * DAY))
    first = paid("t-x-s1-1", "mtotx0001", 2500, at=NOW - 5 * DAY)
    s1.send(
        first,
        paid("t-x-s1-2", "mtotx0001", 3000, at=NOW - DAY),  # X's last bill, refunded below
        paid("t-y-s1-1", "mtoty0001", 9900, at=NOW - 10 * DAY),
        # Paid and refunded in one batch: counts for nothing.
        paid("t-y-s1-2", "mtoty0001", 50000, at=NOW - 9 * DAY),
        refunded("t-y-s1-2", 50000, at=NOW - 9 * DAY + 60),
    )
    s1.send(again(first, "-again"))  # the same bill again: counted once
    s1.send(refunded("t-x-s1-2", 3000, at=NOW - DAY / 2))
    s1.send(again(refunded("t-x-s1-2", 3000, at=NOW - DAY / 3), "-again"))
    # Z's only bill at S2 refunded: S2 is no store of Z's any more; Z has no paid bill.
    s2.send(
        paid("t-z-s2-1", "mtotz0001", 1200, at=NOW - 7 * DAY),
        refunded("t-z-s2-1", 1200, at=NOW - 6 * DAY),
    )

    kept, recounted = kept_and_recounted(cloud)
    assert kept == recounted
    # And the figures a user reads, by hand: X's last bill is the one before the refunded one.
    assert kept["totals"]["mtotx0001"] == (1, 2500, NOW - 5 * DAY)
    assert kept["totals"]["mtotx0002"] == (2, 10000, NOW - 2 * DAY)
    assert kept["totals"]["mtoty0001"] == (1, 9900, NOW - 10 * DAY)
    assert "mtotz0001" not in kept["totals"]
    assert ("mtotz0001", "S2") not in kept["stores"]


def test_stores_sending_at_once_keep_the_sums_exact(cloud: CloudHandle) -> None:
    """Four stores post bills and refunds of the same members at the same time: every batch
    adds to the same rows, and refunds count them again, under the database's row locks."""
    stores = [Hub(cloud, f"S{i}") for i in range(1, 5)]
    members = [f"mtotc{i:04d}" for i in range(8)]
    errors: list[BaseException] = []

    def hub_sends(k: int, hub: Hub) -> None:
        try:
            for b in range(6):
                events = []
                for i, m in enumerate(members):
                    pay = f"c-{hub.store}-{b}-{i}"
                    at = NOW - (k * 10 + b + i) * 3600.0
                    events.append(paid(pay, m, 1000 + 10 * b + i, at=at))
                    if (b + i + k) % 3 == 0:  # a third of the bills refunded
                        events.append(refunded(pay, 1000 + 10 * b + i, at=at + 60))
                # Members in an order of its own per hub: locks taken in another order.
                hub.send(*(events[::-1] if k % 2 else events))
        except BaseException as e:  # reported by the test below
            errors.append(e)

    threads = [threading.Thread(target=hub_sends, args=(k, h)) for k, h in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept, recounted = kept_and_recounted(cloud)
    assert kept == recounted
    assert sum(n for n, _, _ in kept["totals"].values()) == sum(
        1 for k in range(4) for b in range(6) for i in range(8) if (b + i + k) % 3
    )
