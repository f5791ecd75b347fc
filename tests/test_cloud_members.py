"""Members at HQ on real PostgreSQL, through HTTP: hubs post their member events as their
outbox does (contract/uplink.py models), then ask the lookup, and HQ's people use their API.

What HQ would notice: one member however many stores made an id for them, a balance that is
the exact sum of their entries, nothing counted twice, no negative balance or second use of a
coupon without a risk item, spend reversed by refunds, personal data gone after erasure, and a
liability that adds up by hand.
"""

import concurrent.futures
import csv
import io
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from cloud.db import alembic_config, make_engine, migrate
from cloud.members import ingest as member_ingest
from contract.campaigns import CampaignsConfig
from contract.members import EntryCause, mask_phone, new_coupon_code, phone_hash
from contract.uplink import (
    CouponIssued,
    CouponIssuedEvent,
    CouponRedeemed,
    CouponRedeemedEvent,
    CouponReleased,
    CouponReleasedEvent,
    CouponWithdrawn,
    CouponWithdrawnEvent,
    MemberInvited,
    MemberInvitedEvent,
    MemberJoined,
    MemberJoinedEvent,
    PaymentRecorded,
    PaymentRecordedEvent,
    PaymentRefunded,
    PaymentRefundedEvent,
    PointsEntry,
    PointsEntryEvent,
    StampAdded,
)
from smartstore.cloud_service import CloudHandle, cloud_settings, run_cloud_thread
from tests.games import share, store_config

LOOKUP = "/api/v1/members/lookup"
MEMBERS = "/api/v1/hq/members"
SEARCH = "/api/v1/hq/member-search"
PHONE = "13800138000"
OTHER_PHONE = "+86 139-0013-9000"
NOW = time.time()
T0 = NOW - 3 * 86400  # the hubs' events happened in the last days


def new_id() -> str:
    return "m" + secrets.token_hex(8)


def joined(key: bytes, member: str, phone: str, at: float = T0, card: str | None = None) -> Any:
    return MemberJoinedEvent(
        id=f"mj-{member}",
        occurred_at=at,
        data=MemberJoined(
            member=member,
            phone_hash=phone_hash(key, phone),
            phone_masked=mask_phone(phone),
            birthday="02-29",
            card_no=card,
            consent="2026-11",
            joined_at=at,
        ),
    ).model_dump(mode="json")


def points(
    member: str,
    pts: int,
    cause: EntryCause = EntryCause.EARN,
    at: float = T0,
    entry: str | None = None,
    offline: bool = False,
) -> Any:
    entry = entry or f"e-{secrets.token_hex(8)}"
    return PointsEntryEvent(
        id=f"pt-{entry}",
        occurred_at=at,
        data=PointsEntry(
            entry=entry,
            member=member,
            points=pts,
            cause=cause,
            ref="pay-1" if cause is not EntryCause.ADJUST else "",
            offline=offline,
            at=at,
            by="alice",
        ),
    ).model_dump(mode="json")


def issued(code: str, member: str, template: str = "welcome", at: float = T0) -> Any:
    return CouponIssuedEvent(
        id=f"ci-{code}",
        occurred_at=at,
        data=CouponIssued(
            coupon=code,
            member=member,
            template=template,
            source=template,
            valid_from=at,
            valid_until=at + 30 * 86400,
            issued_at=at,
        ),
    ).model_dump(mode="json")


def redeemed(code: str, member: str, payment: str, at: float) -> Any:
    return CouponRedeemedEvent(
        id=f"cr-{code}-{payment}",
        occurred_at=at,
        data=CouponRedeemed(
            coupon=code, member=member, payment=payment, off_fen=2000, offline=True, at=at
        ),
    ).model_dump(mode="json")


def released(code: str, member: str, payment: str, at: float) -> Any:
    return CouponReleasedEvent(
        id=f"cx-{code}-{payment}",
        occurred_at=at,
        data=CouponReleased(coupon=code, member=member, payment=payment, at=at),
    ).model_dump(mode="json")


def withdrawn(code: str, member: str, payment: str, at: float) -> Any:
    return CouponWithdrawnEvent(
        id=f"cw-{code}",
        occurred_at=at,
        data=CouponWithdrawn(coupon=code, member=member, payment=payment, at=at),
    ).model_dump(mode="json")


def paid(payment: str, member: str | None, amount: int, at: float = T0) -> Any:
    return PaymentRecordedEvent(
        id=f"pay-{payment}",
        occurred_at=at,
        data=PaymentRecorded(
            payment=payment,
            table="A1",
            amount_fen=amount,
            method="wechat",
            orders=[f"o-{payment}"],
            paid_at=at,
            by="alice",
            member=member,
            gross_fen=amount,
        ),
    ).model_dump(mode="json")


def refunded(payment: str, amount: int, at: float) -> Any:
    return PaymentRefundedEvent(
        id=f"rf-{payment}",
        occurred_at=at,
        data=PaymentRefunded(
            payment=payment,
            table="A1",
            amount_fen=amount,
            refunded_at=at,
            by="carol",
            reason="cold dish",
        ),
    ).model_dump(mode="json")


class Hub:
    """A store's hub as HQ sees it: its token, its batches, its lookups."""

    def __init__(self, cloud: CloudHandle, store: str) -> None:
        self.store = store
        self.http = cloud.client(cloud.register(store))

    def send(self, *events: Any) -> dict[str, Any]:
        r = self.http.post("/api/v1/ingest", json={"store": self.store, "events": list(events)})
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def lookup(self, **params: str) -> httpx.Response:
        return self.http.get(LOOKUP, params=params)

    def member(self, **params: str) -> dict[str, Any]:
        r = self.lookup(**params)
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found


def risks(hq: httpx.Client, **params: str) -> list[dict[str, Any]]:
    r = hq.get("/api/v1/hq/risks", params=params)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


def csv_rows(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))


def test_two_stores_offline_make_one_member_whose_balance_is_the_sum(cloud: CloudHandle) -> None:
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    key = cloud.member_key
    m1, m2 = new_id(), new_id()  # each hub, offline, made its own id for the same phone
    # S2's entries arrive before its member.joined: stored, counted once the id is known.
    s2.send(points(m2, 50, at=T0 + 60), points(m2, -30, EntryCause.REDEEM, at=T0 + 70))
    assert s1.lookup(member=m2).status_code == 404
    s1.send(joined(key, m1, PHONE, T0, card="1234567890"), points(m1, 100, at=T0 + 10))
    s2.send(joined(key, m2, PHONE, T0 + 5))

    seen_by_s1 = s1.member(phone_hash=phone_hash(key, PHONE))
    assert seen_by_s1["member"] == m1  # the first id HQ got is the member's
    assert seen_by_s1["ids"] == [m1, m2]
    assert seen_by_s1["phone_masked"] == "138****8000"
    assert seen_by_s1["balance_elsewhere"] == 20  # S2's 50 - 30; S1 adds its own 100
    seen_by_s2 = s2.member(member=m2)
    assert seen_by_s2["member"] == m1 and seen_by_s2["balance_elsewhere"] == 100
    assert s2.member(card_no="1234567890")["member"] == m1
    assert seen_by_s2["erased"] is False

    hq = cloud.hq()
    detail = hq.get(f"{MEMBERS}/{m2}").json()
    assert detail["member"] == m1 and detail["balance"] == 120
    assert detail["balance_by_store"] == [
        {"store": "S1", "points": 100},
        {"store": "S2", "points": 20},
    ]


def test_lookup_refusals(cloud: CloudHandle) -> None:
    s1 = Hub(cloud, "S1")
    assert s1.lookup().status_code == 422
    both = s1.lookup(member=new_id(), card_no="1234567890")
    assert both.status_code == 422 and "exactly one" in both.json()["detail"]
    unknown = s1.lookup(phone_hash=phone_hash(cloud.member_key, PHONE))
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no such member"}
    assert cloud.client().get(LOOKUP, params={"member": new_id()}).status_code == 401
    assert cloud.hq().get(LOOKUP, params={"member": new_id()}).status_code == 401


def test_a_retried_batch_counts_nothing_twice(cloud: CloudHandle) -> None:
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    m = new_id()
    batch = [
        joined(cloud.member_key, m, PHONE),
        points(m, 100, entry="e-retried-0001"),
        points(m, 40, entry="e-retried-0002"),
        paid("pay-1", m, 10_000),
    ]
    first = s1.send(*batch)
    again = s1.send(*batch)  # the hub never saw the first answer
    assert len(first["stored"]) == 4 and again["duplicates"] == first["stored"]
    # The same entry forwarded under another event id (a hub's outbox rebuilt) is one entry.
    s1.send(
        {**points(m, 100, entry="e-retried-0001"), "id": "pt-e-retried-0001-again"},
    )
    assert s2.member(member=m)["balance_elsewhere"] == 140
    assert s2.member(member=m)["spend_12m_elsewhere_fen"] == 10_000
    ledger = cloud.hq().get(f"{MEMBERS}/{m}/ledger").json()
    assert ledger["total"] == 2 and ledger["balance"] == 140


def test_a_member_overdrawn_by_two_offline_stores_is_a_risk(cloud: CloudHandle) -> None:
    s1, s2, s3 = Hub(cloud, "S1"), Hub(cloud, "S2"), Hub(cloud, "S3")
    m = new_id()
    s1.send(joined(cloud.member_key, m, PHONE), points(m, 100, at=T0))
    hq = cloud.hq()
    # Both stores were offline and let the member spend the 100 points HQ knew about... twice.
    s1.send(points(m, -80, EntryCause.REDEEM, at=T0 + 100, offline=True, entry="e-spent-at-s1"))
    assert risks(hq) == []
    batch = [points(m, -80, EntryCause.REDEEM, at=T0 + 90, offline=True, entry="e-spent-at-s2")]
    s2.send(*batch)
    s2.send(*batch)
    found = risks(hq)
    assert [(r["kind"], r["member"], r["store"]) for r in found] == [("overdraft", m, "S2")]
    assert found[0]["detail"]["entry"] == "e-spent-at-s2"
    assert found[0]["detail"]["balance"] == -60 and found[0]["detail"]["offline"] is True
    assert s3.member(member=m)["balance_elsewhere"] == -60  # the truth, not a clamp
    # HQ's own adjustments never overdraw.
    r = hq.post(
        f"{MEMBERS}/{m}/adjustments",
        json={"points": -1, "reason": "test"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert r.status_code == 409 and "negative" in r.json()["detail"]
    # ... but may always give points back.
    r = hq.post(
        f"{MEMBERS}/{m}/adjustments",
        json={"points": 100, "reason": "goodwill after the overdraft"},
        headers={"Idempotency-Key": "k-2"},
    )
    assert r.status_code == 201 and s3.member(member=m)["balance_elsewhere"] == 40
    # A member made negative by a merge (their other id's spending) is flagged too.
    other = new_id()
    s3.send(points(other, -10, EntryCause.REDEEM, offline=True, entry="e-before-join"))
    assert len(risks(hq)) == 1  # no member for that id yet: nothing to judge
    s3.send(joined(cloud.member_key, other, OTHER_PHONE))
    assert [r["detail"]["entry"] for r in risks(hq)] == ["e-before-join", "e-spent-at-s2"]
    csv_risks = csv_rows(hq.get("/api/v1/hq/risks", params={"format": "csv"}))
    assert [r["kind"] for r in csv_risks] == ["overdraft", "overdraft"]
    assert json.loads(csv_risks[1]["detail"])["entry"] == "e-spent-at-s2"


def double_redemption(cloud: CloudHandle) -> tuple[Hub, Hub, str, str]:
    """A welcome coupon from S1 used at S2 (its event first at HQ, before HQ even has the
    coupon) and, earlier by the hubs' clocks, at S1: both offline."""
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    m, code = new_id(), "CABCDEFGH23"
    s1.send(joined(cloud.member_key, m, PHONE))
    s2.send(redeemed(code, m, "pay-at-s2", at=T0 + 200))
    s1.send(issued(code, m, at=T0), redeemed(code, m, "pay-at-s1", at=T0 + 100))
    return s1, s2, m, code


def test_a_coupon_used_twice_keeps_the_earliest_and_flags_the_other(cloud: CloudHandle) -> None:
    s1, s2, m, code = double_redemption(cloud)
    hq = cloud.hq()
    found = risks(hq, kind="double_redeem")
    assert len(found) == 1
    detail = found[0]["detail"]
    assert (found[0]["store"], detail["payment"], detail["kept_payment"]) == (
        "S2",
        "pay-at-s2",
        "pay-at-s1",
    )
    assert s2.member(member=m)["coupons"] == []  # used
    # The bill that kept it is refunded: the coupon is the member's again.
    s1.send(released(code, m, "pay-at-s1", at=T0 + 300))
    coupons = s2.member(member=m)["coupons"]
    assert [(c["code"], c["template"], c["value_fen"], c["min_spend_fen"]) for c in coupons] == [
        (code, "welcome", 2000, 5000)  # the terms of the template the store's config has
    ]
    assert len(risks(hq, kind="double_redeem")) == 1  # the second use stays on record


def test_stores_racing_for_the_same_coupons_keep_the_earliest_use_of_each(
    cloud: CloudHandle,
) -> None:
    """Two stores' batches redeem the same 40 coupons at the same moment, in opposite orders:
    the database settles each code once (the earliest use by the hubs' clocks), and neither
    batch fails."""
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    m = new_id()
    codes = sorted({new_coupon_code() for _ in range(40)})
    s1.send(joined(cloud.member_key, m, PHONE), *(issued(c, m) for c in codes))
    # S1 used the even ones first, S2 the odd ones.
    first = {c: "S1" if n % 2 == 0 else "S2" for n, c in enumerate(codes)}
    batches = {
        hub: [
            redeemed(c, m, f"pay-{hub.store}-{n:04d}", T0 + (100 if first[c] == hub.store else 200))
            for n, c in enumerate(codes)
        ]
        for hub in (s1, s2)
    }
    batches[s2].reverse()
    barrier = threading.Barrier(2)

    def post(hub: Hub) -> dict[str, Any]:
        barrier.wait()
        return hub.send(*batches[hub])

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, (s1, s2)))
    assert all(len(a["stored"]) == len(codes) for a in answers)
    flagged = {r["detail"]["coupon"]: r for r in risks(cloud.hq(), kind="double_redeem")}
    assert sorted(flagged) == codes
    for code, risk in flagged.items():
        later = "S2" if first[code] == "S1" else "S1"
        assert (risk["store"], risk["detail"]["kept_store"]) == (later, first[code])


@pytest.fixture
def honouring_cloud(cloud_db: str) -> Iterator[CloudHandle]:
    migrate(cloud_db)
    handle = run_cloud_thread(cloud_settings(cloud_db, double_redeem_policy="honour"))
    yield handle
    handle.stop()


def test_policy_honour_records_a_second_use_as_information(honouring_cloud: CloudHandle) -> None:
    _, _, m, _ = double_redemption(honouring_cloud)
    hq = honouring_cloud.hq()
    assert risks(hq) == []
    info = risks(hq, level="info")
    assert [(r["kind"], r["member"], r["detail"]["payment"]) for r in info] == [
        ("double_redeem", m, "pay-at-s2")
    ]


def test_a_refund_reverses_the_members_spend(cloud: CloudHandle) -> None:
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    m = new_id()
    s1.send(
        joined(cloud.member_key, m, PHONE),
        paid("pay-0001", m, 12_000, at=T0),
        paid("pay-0002", m, 3_000, at=T0 + 60),
        paid("pay-0003", None, 99_000, at=T0 + 60),  # no member: nobody's spend
        paid("pay-old-1", m, 50_000, at=NOW - 400 * 86400),  # older than 12 months
        points(m, 1200, entry="e-earned-p1"),
    )
    assert s2.member(member=m)["spend_12m_elsewhere_fen"] == 15_000
    assert s1.member(member=m)["spend_12m_elsewhere_fen"] == 0  # S1's own: its hub adds them
    s1.send(refunded("pay-0001", 12_000, T0 + 120), points(m, -1200, EntryCause.REFUND))
    answer = s2.member(member=m)
    assert answer["spend_12m_elsewhere_fen"] == 3_000 and answer["balance_elsewhere"] == 0
    assert cloud.hq().get(f"{MEMBERS}/{m}").json()["spend_12m_fen"] == 3_000


def test_erasure_removes_personal_data_and_keeps_the_ledger(
    cloud: CloudHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    key = cloud.member_key
    m1, m2 = new_id(), new_id()
    s1.send(joined(key, m1, PHONE, card="1234567890"), points(m1, 70))
    s2.send(joined(key, m2, PHONE, T0 + 1, card="5555555555"), points(m2, 30))
    hq = cloud.hq()
    found = hq.post(SEARCH, json={"phone": "138 0013 8000"})
    assert found.status_code == 200 and found.json()["member"] == m1
    assert found.json()["phone_masked"] == "138****8000"
    assert PHONE not in found.text
    assert hq.post(SEARCH, json={"phone": "12345"}).status_code == 422

    r = hq.delete(f"{MEMBERS}/{m2}")  # any id of the member
    assert r.status_code == 200 and r.json()["member"] == m1
    answer = s1.member(member=m2)
    assert answer["erased"] is True
    assert (answer["phone_masked"], answer["birthday"], answer["card_no"]) == ("", None, None)
    assert answer["balance_elsewhere"] == 30  # the ledger stays
    assert s1.lookup(phone_hash=phone_hash(key, PHONE)).status_code == 404
    assert s1.lookup(card_no="5555555555").status_code == 404
    assert hq.post(SEARCH, json={"phone": PHONE}).status_code == 404
    detail = hq.get(f"{MEMBERS}/{m1}").json()
    assert detail["balance"] == 100 and detail["erased"] is True
    # Nor do the events the hubs sent keep it.
    for store in ("S1", "S2"):
        events = cloud.admin.get(f"/api/v1/stores/{store}/events").json()
        text = json.dumps(events)
        assert phone_hash(key, PHONE) not in text and "138****" not in text and "02-29" not in text
    # The phone joins again later: a new member, nothing of the old one.
    m3 = new_id()
    s1.send(joined(key, m3, PHONE, NOW))
    again = s2.member(phone_hash=phone_hash(key, PHONE))
    assert (again["member"], again["balance_elsewhere"]) == (m3, 0)
    assert PHONE not in caplog.text and "13800138000" not in caplog.text


def test_adjustments_are_idempotent(cloud: CloudHandle) -> None:
    s1 = Hub(cloud, "S1")
    m = new_id()
    s1.send(joined(cloud.member_key, m, PHONE), points(m, 10))
    hq = cloud.hq()
    body = {"points": 25, "reason": "apology for a late dish"}
    url = f"{MEMBERS}/{m}/adjustments"
    first = hq.post(url, json=body, headers={"Idempotency-Key": "ticket-4711"})
    retry = hq.post(url, json=body, headers={"Idempotency-Key": "ticket-4711"})
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json() == retry.json()
    entry = first.json()
    assert (entry["store"], entry["cause"], entry["by"], entry["points"]) == (
        None,
        "adjust",
        "lin",
        25,
    )
    other = hq.post(url, json={**body, "points": 26}, headers={"Idempotency-Key": "ticket-4711"})
    assert other.status_code == 409
    # The same POST sent five times at once (a client retrying on a slow answer): one entry.
    barrier = threading.Barrier(5)
    clients = [cloud.hq() for _ in range(5)]

    def post(client: httpx.Client) -> int:
        barrier.wait()
        r = client.post(
            url, json={"points": 5, "reason": "race"}, headers={"Idempotency-Key": "race-1"}
        )
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        codes = sorted(pool.map(post, clients))
    assert codes == [200, 200, 200, 200, 201]
    assert hq.post(url, json=body).status_code == 422  # no key, no adjustment
    ledger = hq.get(f"{MEMBERS}/{m}/ledger").json()
    assert (ledger["total"], ledger["balance"]) == (3, 40)
    assert Hub(cloud, "S2").member(member=m)["balance_elsewhere"] == 40  # HQ's count for all
    assert s1.member(member=m)["balance_elsewhere"] == 30  # S1 adds its own 10
    rows = csv_rows(hq.get(f"{MEMBERS}/{m}/ledger", params={"format": "csv"}))
    assert [(r["points"], r["store"], r["reason"]) for r in rows] == [
        ("5", "", "race"),
        ("25", "", "apology for a late dish"),
        ("10", "S1", ""),
    ]


def test_coupons_from_hq_respect_the_per_member_limit(cloud: CloudHandle) -> None:
    s1 = Hub(cloud, "S1")
    m = new_id()
    s1.send(joined(cloud.member_key, m, PHONE))
    hq = cloud.hq()
    body = {"template_id": "welcome", "members": [m], "phones": [OTHER_PHONE, "not a phone"]}
    r = hq.post("/api/v1/hq/coupons", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [g["member"] for g in answer["issued"]] == [m]
    assert answer["skipped"] == [
        {"recipient": "139****9000", "reason": "not a member"},
        {"recipient": "(not a phone number)", "reason": "not a member"},
    ]
    again = hq.post("/api/v1/hq/coupons", json={"template_id": "welcome", "phones": [PHONE]})
    assert again.json()["issued"] == []
    assert again.json()["skipped"] == [
        {"recipient": "138****8000", "reason": "holds 1 unused 'welcome' already"}
    ]
    code = answer["issued"][0]["coupon"]["code"]
    assert [c["code"] for c in s1.member(member=m)["coupons"]] == [code]
    unknown = hq.post("/api/v1/hq/coupons", json={"template_id": "nope", "members": [m]})
    assert unknown.status_code == 422


def test_liability_adds_up(cloud: CloudHandle) -> None:
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    hq = cloud.hq()
    # Points are worth 2 fen in this chain's configuration.
    config = {
        "scope": "*",
        "config": {
            "menu": {
                "version": "v1",
                "stations": [{"id": "wok", "name_zh": "炒锅", "name_en": "Wok"}],
                "categories": [{"id": "mains", "name_zh": "主菜", "name_en": "Mains"}],
                "dishes": [
                    {
                        "id": "tofu",
                        "category": "mains",
                        "station": "wok",
                        "name_zh": "麻婆豆腐",
                        "name_en": "Mapo tofu",
                        "price_fen": 1500,
                    }
                ],
            },
            "members": {"point_value_fen": 2},
        },
    }
    assert hq.post("/api/v1/hq/config", json=config).status_code == 201
    a, b, c = new_id(), new_id(), new_id()
    s1.send(
        joined(cloud.member_key, a, PHONE),
        points(a, 300),
        issued("CAAAAAAAAAA", a),  # welcome: 2000 off, outstanding
        issued("CBBBBBBBBBB", a, at=NOW - 40 * 86400),  # expired
    )
    s2.send(
        joined(cloud.member_key, b, OTHER_PHONE),
        points(b, 100),
        points(b, -150, EntryCause.REDEEM, offline=True),  # -50: a risk, not a credit
        issued("CCCCCCCCCCC", b),
        redeemed("CCCCCCCCCCC", b, "pay-b", T0 + 10),  # used
        points(c, 999),  # an id HQ has no member for yet
    )
    percent = {
        "id": "autumn",
        "name_zh": "秋季八折",
        "name_en": "Autumn 20% off",
        "kind": "percent_off",
        "percent": 20,
        "cap_fen": 1000,
    }
    dish = {**percent, "id": "dessert", "kind": "free_dish", "dish": "tofu", "cap_fen": None}
    for template in (percent, dish):
        r = hq.post("/api/v1/hq/coupons", json={"template": template, "members": [a]})
        assert len(r.json()["issued"]) == 1, r.text
    hq.post(
        f"{MEMBERS}/{b}/adjustments",
        json={"points": 50, "reason": "goodwill"},
        headers={"Idempotency-Key": "k-b"},
    )  # b back to 0

    r = hq.get("/api/v1/hq/liability")
    assert r.status_code == 200, r.text
    got = r.json()
    # By hand: positive balances a 300, b 0 (100 - 150 + 50): 300 points at 2 fen = 600 fen;
    # c's 999 wait for c's member.joined. Coupons: S1's welcome (2000), not its expired one;
    # S2's used; HQ's 20% capped at 1000 and a free dish (no value before a bill).
    assert {k: v for k, v in got.items() if k not in ("at", "stores")} == {
        "point_value_fen": 2,
        "members_with_points": 1,
        "points_outstanding": 300,
        "points_value_fen": 600,
        "points_unattributed": 999,
        "coupons_outstanding": 3,
        "coupons_value_fen": 3000,
        "coupons_unvalued": 1,
    }
    assert got["stores"] == [
        {
            "store": None,
            "points_net": 50,
            "coupons_outstanding": 2,
            "coupons_value_fen": 1000,
            "coupons_unvalued": 1,
        },
        {
            "store": "S1",
            "points_net": 300,
            "coupons_outstanding": 1,
            "coupons_value_fen": 2000,
            "coupons_unvalued": 0,
        },
        {
            "store": "S2",
            "points_net": 949,
            "coupons_outstanding": 0,
            "coupons_value_fen": 0,
            "coupons_unvalued": 0,
        },
    ]
    rows = csv_rows(hq.get("/api/v1/hq/liability", params={"format": "csv"}))
    assert [(r["store"], r["coupons_value_fen"]) for r in rows] == [
        ("", "1000"),
        ("S1", "2000"),
        ("S2", "0"),
    ]


def test_the_member_key_is_a_production_secret() -> None:
    with pytest.raises(ValueError, match="SMARTSTORE_CLOUD_MEMBER_KEY"):
        cloud_settings("sqlite://", member_key=SecretStr("short"))
    assert "member_key=SecretStr('**********')" in repr(cloud_settings("sqlite://"))


@pytest.fixture
def sqlite_cloud(tmp_path: Path) -> Iterator[CloudHandle]:
    """HQ on SQLite, as the demo runs it."""
    url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    migrate(url)
    handle = run_cloud_thread(cloud_settings(url))
    yield handle
    handle.stop()


def test_the_same_rules_hold_on_sqlite(sqlite_cloud: CloudHandle) -> None:
    """The demo's HQ: a merge, an overdraft, a coupon used twice, an adjustment, the liability."""
    cloud = sqlite_cloud
    s1, s2, m, _ = double_redemption(cloud)
    m2 = new_id()
    s2.send(joined(cloud.member_key, m2, PHONE, T0 + 5), points(m2, 40), points(m, 10))
    s1.send(points(m, -80, EntryCause.REDEEM, offline=True, entry="e-overdrawn-lite"))
    assert s2.member(member=m2)["balance_elsewhere"] == -80
    hq = cloud.hq()
    assert sorted((r["kind"], r["store"]) for r in risks(hq)) == [
        ("double_redeem", "S2"),
        ("overdraft", "S1"),
    ]
    r = hq.post(
        f"{MEMBERS}/{m}/adjustments",
        json={"points": 100, "reason": "sqlite"},
        headers={"Idempotency-Key": "lite-1"},
    )
    assert r.status_code == 201, r.text
    liability = hq.get("/api/v1/hq/liability").json()
    assert (liability["points_outstanding"], liability["coupons_outstanding"]) == (70, 0)


def test_a_withdrawn_reward_coupon_ends_and_one_used_already_is_a_risk(cloud: CloudHandle) -> None:
    """The friend's first bill refunded at S1 withdraws both invite coupons: the unused one
    is no longer the member's anywhere (nor outstanding); the one the friend had already used
    at S2 (offline) is listed for HQ, its value spent."""
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    hq = cloud.hq()
    m = new_id()
    unused, used = "CWAAAAAAAAA", "CWBBBBBBBBB"
    s1.send(joined(cloud.member_key, m, PHONE), issued(unused, m), issued(used, m))
    s2.send(redeemed(used, m, "pay-at-s2", at=T0 + 100))
    assert {c["code"] for c in s2.member(member=m)["coupons"]} == {unused}
    s1.send(withdrawn(unused, m, "first-bill", at=NOW - 60), withdrawn(used, m, "first-bill", NOW))
    s1.send(withdrawn(unused, m, "first-bill", at=NOW - 60))  # a retried batch: nothing twice
    assert s2.member(member=m)["coupons"] == []
    [risk] = risks(hq, kind="withdrawn_used")
    assert (risk["store"], risk["detail"]["coupon"]) == ("S1", used)
    assert (risk["detail"]["redeemed_store"], risk["detail"]["refunded_payment"]) == (
        "S2",
        "first-bill",
    )


def test_a_reward_coupon_used_offline_heard_of_after_its_withdrawal_is_a_risk_too(
    cloud: CloudHandle,
) -> None:
    """S2 was offline: the friend used the reward coupon there before (or after) S1 refunded
    the first bill and withdrew it; S2's use reaches HQ last. HQ lists it all the same, once,
    and giving that use back (S2 refunds its bill) does not make the coupon usable again."""
    s1, s2 = Hub(cloud, "S1"), Hub(cloud, "S2")
    hq = cloud.hq()
    m = new_id()
    code = "CWCCCCCCCCC"
    s1.send(joined(cloud.member_key, m, PHONE), issued(code, m))
    s1.send(withdrawn(code, m, "first-bill", at=NOW - 60))
    assert risks(hq, kind="withdrawn_used") == []
    s2.send(redeemed(code, m, "pay-at-s2", at=NOW - 120))
    s2.send(redeemed(code, m, "pay-at-s2", at=NOW - 120))  # a retried batch
    [risk] = risks(hq, kind="withdrawn_used")
    assert (risk["store"], risk["detail"]["redeemed_store"]) == ("S1", "S2")
    assert risk["detail"]["refunded_payment"] == "first-bill"
    s2.send(released(code, m, "pay-at-s2", at=NOW - 30))
    assert s2.member(member=m)["coupons"] == []
    assert hq.get("/api/v1/hq/liability").json()["coupons_outstanding"] == 0


def test_coupons_withdrawn_before_the_migration_are_known_withdrawn_after_it(
    cloud_db: str,
) -> None:
    """Migration 0010c reads the withdrawals HQ stored before it kept them on the coupon: a
    use reported afterwards is listed."""
    migrate(cloud_db)
    settings = cloud_settings(cloud_db)
    handle = run_cloud_thread(settings)
    m, code = new_id(), "CWDDDDDDDDD"
    try:
        s1 = Hub(handle, "S1")
        s2_token = handle.register("S2")
        s1.send(joined(handle.member_key, m, PHONE), issued(code, m))
        s1.send(withdrawn(code, m, "first-bill", at=NOW - 60))
    finally:
        handle.stop()
    config = alembic_config(cloud_db)
    command.downgrade(config, "0009h")  # as it was before: the withdrawal is an event only
    command.upgrade(config, "head")
    handle = run_cloud_thread(settings)
    try:
        batch = {"store": "S2", "events": [redeemed(code, m, "pay-at-s2", at=NOW - 120)]}
        r = handle.client(s2_token).post("/api/v1/ingest", json=batch)
        assert r.status_code == 200, r.text
        [risk] = risks(handle.hq(), kind="withdrawn_used")
        assert (risk["store"], risk["detail"]["refunded_payment"]) == ("S1", "first-bill")
    finally:
        handle.stop()


def invited(friend: str, inviter: str, at: float, day: str, rewarded: str | None = None) -> Any:
    """`member.invited`: the friend joined with the inviter's code on `day` (at their hub);
    with `rewarded`, their first bill rewarded both."""
    return MemberInvitedEvent(
        id=f"mi-{friend}-rewarded" if rewarded else f"mi-{friend}",
        occurred_at=at,
        data=MemberInvited(
            friend=friend,
            inviter=inviter,
            campaign="share",
            at=at,
            rewarded_payment=rewarded,
            rewarded_at=at + 600 if rewarded else None,
            day=day,
        ),
    ).model_dump(mode="json")


def test_an_inviter_farming_friends_at_several_stores_is_listed_beyond_the_chains_daily_limit(
    cloud: CloudHandle,
) -> None:
    """Two friends a day per inviter (each store holds Ann to it there; offline they cannot
    know each other's). Two at S1 and two at S2 the same day: the third rewarded friend of
    the day across the chain is an `invite_limit` risk item, the fourth once its first bill
    rewards it, a friend of another day none; a friend HQ hears of late (earlier that day)
    moves the others along."""
    hq = cloud.hq()
    config = store_config(CampaignsConfig(campaigns=[share(per_day=2)]))
    r = hq.post("/api/v1/hq/config", json={"scope": "*", "config": config.model_dump(mode="json")})
    assert r.status_code == 201, r.text
    s1, s2, s3 = Hub(cloud, "S1"), Hub(cloud, "S2"), Hub(cloud, "S3")
    ann = new_id()
    f0, f1, f2, f3, f4, f5 = (new_id() for _ in range(6))
    day, next_day = "2026-11-20", "2026-11-21"
    s1.send(joined(cloud.member_key, ann, PHONE))
    s1.send(
        invited(f1, ann, T0, day),
        invited(f1, ann, T0, day, "bill-1"),
        invited(f2, ann, T0 + 100, day, "bill-2"),
    )
    s2.send(
        invited(f3, ann, T0 + 200, day, "bill-3"),
        invited(f4, ann, T0 + 300, day),  # joined, not paid yet: nothing given
        invited(f5, ann, T0 + 86400, next_day, "bill-5"),
    )
    [third] = risks(hq, kind="invite_limit")
    assert (
        third["member"]
        == hq.post("/api/v1/hq/member-search", json={"phone": PHONE}).json()["member"]
    )
    assert (third["store"], third["detail"]["friend"], third["detail"]["nth"]) == ("S2", f3, 3)
    assert third["detail"]["limit"] == 2 and third["detail"]["stores"] == ["S1", "S2"]
    s2.send(invited(f4, ann, T0 + 300, day, "bill-4"))
    s2.send(invited(f4, ann, T0 + 300, day, "bill-4"))  # a retried batch: listed once
    assert sorted(r["detail"]["friend"] for r in risks(hq, kind="invite_limit")) == sorted([f3, f4])
    # S3 was offline: its friend joined first that day. Now f2 is the third.
    s3.send(invited(f0, ann, T0 - 100, day, "bill-0"))
    listed = {r["detail"]["friend"]: r["detail"] for r in risks(hq, kind="invite_limit")}
    assert set(listed) == {f2, f3, f4} and listed[f2]["stores"] == ["S1", "S2", "S3"]


def test_invitations_stored_before_their_day_was_sent_count_by_their_utc_day(
    cloud_db: str,
) -> None:
    """A hub from before sends no day: HQ counts the invitation under the UTC day of its
    time, and migration 0010i gives the invitations it stored before the same."""
    migrate(cloud_db)
    handle = run_cloud_thread(cloud_settings(cloud_db))
    at = 1_795_000_000.0  # 2026-11-18 19:46 UTC, the 19th in Shanghai
    try:
        s1 = Hub(handle, "S1")
        old = invited(new_id(), new_id(), at, "2026-11-19")
        del old["data"]["day"]
        s1.send(old)
    finally:
        handle.stop()

    def day() -> Any:
        engine = make_engine(cloud_db)
        try:
            with engine.connect() as c:
                return c.execute(text("SELECT day FROM invitations")).scalar()
        finally:
            engine.dispose()

    assert day() == "2026-11-18"  # as ingest stored it
    config = alembic_config(cloud_db)
    command.downgrade(config, "0010c")
    command.upgrade(config, "head")
    assert day() == "2026-11-18"  # as the migration filled it in


def test_two_stores_filling_one_card_at_the_same_instant_are_flagged(cloud: CloudHandle) -> None:
    """Two stores' completions of one card ingested at once: the second waits for the first's
    commit (the member is locked), sees it and is flagged. Without the lock each transaction
    saw only its own completion and neither was flagged."""
    Hub(cloud, "S1"), Hub(cloud, "S2")  # the stores HQ knows
    m = new_id()

    def completion(store: str) -> StampAdded:
        return StampAdded(
            stamp=f"st-{store}-card1",
            member=m,
            campaign="stamps",
            place=f"{store}:A1",
            card=1,
            completes=True,
            at=T0,
        )

    engine = make_engine(cloud.settings.database_url)
    try:
        sessions = sessionmaker(engine)
        first = sessions()
        member_ingest._stamps(first, "S1", [completion("S1")], NOW)  # not committed yet

        def second() -> None:
            with sessions.begin() as s:
                member_ingest._stamps(s, "S2", [completion("S2")], NOW)

        other = threading.Thread(target=second)
        other.start()
        other.join(1.0)
        assert other.is_alive()  # waiting for the first store's transaction
        first.commit()
        first.close()
        other.join(10)
        assert not other.is_alive()
    finally:
        engine.dispose()
    flagged = risks(cloud.hq(), kind="double_stamp")
    assert [(r["store"], r["detail"]["kept_store"]) for r in flagged] == [("S2", "S1")]
