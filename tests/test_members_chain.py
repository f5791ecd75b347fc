"""One member across a chain of three stores, through the real parts: three brokers and hubs,
HQ on PostgreSQL, HQ going away and coming back. Diners join, earn and spend at each store
while HQ is down; when it is back every store's entries arrive once, HQ's balance is exactly
their sum, two offline joins of one phone are one member, and the spending HQ could not stop
(the same points and the same coupon at two offline stores) is flagged, never silent."""

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import yaml

from smartstore.cloud_service import CloudHandle, run_cloud_thread
from smartstore.samples import SAMPLE_MENU
from tests.members import join, table_tokens
from tests.ordering import KUNGPAO
from tests.support import (
    Hub,
    hub_settings,
    make_inventory,
    run_hub_thread,
    start_broker,
    wait_until,
)

ANN = "13800138000"  # a member before HQ goes away
BO = "13912345678"  # joins at two stores while HQ is away
STORES = ("S1", "S2", "S3")


def _hubs(stack: ExitStack, tmp_path: Path, cloud: CloudHandle, url: str) -> dict[str, Hub]:
    hubs = {}
    for store in STORES:
        token = cloud.register(store)
        broker = start_broker(tmp_path / store / "mqtt", make_inventory(store))
        stack.callback(broker.stop)
        settings = hub_settings(
            broker,
            tmp_path / store / "hub",
            cloud_url=url,
            cloud_token=token,
            config_poll_s=0.3,
            member_key=cloud.settings.member_key.get_secret_value(),
        )
        hub = run_hub_thread(settings)
        stack.callback(hub.stop)
        hubs[store] = hub
    return hubs


def _order_and_pay(hub: Hub, phone: httpx.Client, token: str, **pay: Any) -> dict[str, Any]:
    staff = hub.client()
    table = next(t for t, tok in table_tokens(staff).items() if tok == token)
    r = phone.post(
        f"/api/diner/{token}/orders", json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]}
    )
    assert r.status_code == 201, r.text
    assert phone.get(f"/api/diner/{token}/member").json()["member"] is not None  # the party's
    paid = staff.post(f"/api/tables/{table}/pay", json={"method": "cash", **pay})
    assert paid.status_code == 200, paid.text
    staff.post(f"/api/tables/{table}/open").raise_for_status()
    body: dict[str, Any] = paid.json()
    return body


def _sign_in(hub: Hub, token: str, number: str) -> httpx.Client:
    """A new phone signs in as a member the hub asks HQ about; a waiter confirms."""
    phone = httpx.Client(base_url=hub.base_url, timeout=10)
    asked = phone.post(f"/api/diner/{token}/member/sign-in", json={"phone": number}).json()
    hub.client().post(f"/api/members/sign-ins/{asked['id']}/confirm").raise_for_status()
    state = phone.get(f"/api/diner/{token}/member/sign-in/{asked['id']}").json()["state"]
    assert state == "confirmed"
    return phone


def _entries(hub: Hub) -> Iterator[tuple[str, int, str]]:
    """Every ledger entry the hub made: (member id, points, cause)."""
    with sqlite3.connect(hub.settings.db_path) as db:
        rows = db.execute("SELECT member_id, points, cause FROM member_points").fetchall()
    db.close()
    yield from rows


def test_one_member_across_three_offline_stores_adds_up_at_hq(
    tmp_path: Path, cloud: CloudHandle
) -> None:
    port = urlparse(cloud.base_url).port
    assert port is not None
    hq = cloud.hq()
    # HQ's rules for the chain: members earn 1% here, so spending can outrun earning.
    menu = yaml.safe_load(SAMPLE_MENU.read_text(encoding="utf-8"))
    levels = [
        {"id": "normal", "name_zh": "普通", "name_en": "Member", "min_spend_fen": 0, "earn_pct": 1}
    ]
    published = hq.post(
        "/api/v1/hq/config",
        json={"scope": "*", "config": {"menu": menu, "members": {"levels": levels}}},
    )
    assert published.status_code == 201, published.text
    version = published.json()["version"]
    with ExitStack() as stack:
        hubs = _hubs(stack, tmp_path, cloud, cloud.base_url)
        wait_until(
            lambda: (
                all(
                    s["config_version"] == version
                    for s in hq.get("/api/v1/hq/fleet").json()["stores"]
                    if s["store"] in STORES
                )
                and len(hq.get("/api/v1/hq/fleet").json()["stores"]) >= 3
            ),
            timeout=30,
            what="every store to run HQ's rules",
        )
        tokens = {s: table_tokens(h.client())["A1"] for s, h in hubs.items()}

        # HQ up: Ann joins at S1; HQ gives her 600 points; S2 and S3 learn her from HQ.
        ann1, joined = join(hubs["S1"].base_url, tokens["S1"], ANN)
        [welcome] = joined["coupons"]

        def hq_knows(number: str) -> bool:
            return hq.post("/api/v1/hq/member-search", json={"phone": number}).status_code == 200

        wait_until(lambda: hq_knows(ANN), timeout=30, what="HQ to hear of Ann")
        ann = hq.post("/api/v1/hq/member-search", json={"phone": ANN}).json()["member"]
        r = hq.post(
            f"/api/v1/hq/members/{ann}/adjustments",
            json={"points": 600, "reason": "opening offer"},
            headers={"Idempotency-Key": "grant-ann-1"},
        )
        assert r.status_code == 201, r.text
        assert ann1.get(f"/api/diner/{tokens['S1']}/member").json()["member"]["points"] == 600
        ann2 = _sign_in(hubs["S2"], tokens["S2"], ANN)
        ann3 = _sign_in(hubs["S3"], tokens["S3"], ANN)
        for phone, store in ((ann2, "S2"), (ann3, "S3")):
            me = phone.get(f"/api/diner/{tokens[store]}/member").json()["member"]
            assert me["points"] == 600 and [c["code"] for c in me["coupons"]] == [welcome["code"]]

        cloud.stop()  # HQ goes away

        # Each store: Ann spends what the store last knew (within the day's allowance), and
        # earns; S2 and S3 both take her one welcome coupon. Bo joins at S2 and at S3.
        a1 = _order_and_pay(hubs["S1"], ann1, tokens["S1"], points=500)
        a2 = _order_and_pay(hubs["S2"], ann2, tokens["S2"], coupon=welcome["code"], points=560)
        a3 = _order_and_pay(hubs["S3"], ann3, tokens["S3"], coupon=welcome["code"], points=560)
        assert [p["points_used"] for p in (a1, a2, a3)] == [500, 560, 560]
        assert all(p["points_earned"] > 0 for p in (a1, a2, a3))
        bo2, bo_at_s2 = join(hubs["S2"].base_url, tokens["S2"], BO)
        bo3, bo_at_s3 = join(hubs["S3"].base_url, tokens["S3"], BO)
        assert bo_at_s2["id"] != bo_at_s3["id"]  # each store made its own id, offline
        _order_and_pay(hubs["S2"], bo2, tokens["S2"])
        _order_and_pay(hubs["S3"], bo3, tokens["S3"])

        back = run_cloud_thread(cloud.settings, port=port)  # HQ is back
        stack.callback(back.stop)
        hq = back.hq()

        def drained() -> bool:
            return all(
                h.client().get("/api/stats").json()["outbox_backlog"] == 0 for h in hubs.values()
            )

        wait_until(drained, timeout=90, what="every store's outbox to reach HQ")

        # HQ's balance is exactly the sum of every store's entries and its own grant.
        made = [e for h in hubs.values() for e in _entries(h)]
        ann_ids = {ann}
        expected = 600 + sum(points for member, points, _ in made if member in ann_ids)
        assert expected == 600 - 500 - 560 - 560 + sum(p["points_earned"] for p in (a1, a2, a3))
        seen = hq.get(f"/api/v1/hq/members/{ann}").json()
        assert seen["balance"] == expected < 0
        # Bo: one member with both ids, whose balance is both stores' entries.
        bo = hq.post("/api/v1/hq/member-search", json={"phone": BO}).json()
        assert set(bo["ids"]) == {bo_at_s2["id"], bo_at_s3["id"]}
        bo_ids = set(bo["ids"])
        assert bo["balance"] == sum(points for member, points, _ in made if member in bo_ids) > 0
        # What HQ could not stop is listed, never silent.
        risks = hq.get("/api/v1/hq/risks").json()
        kinds = {(r["kind"], r["member"]) for r in risks}
        assert ("overdraft", ann) in kinds
        assert ("double_redeem", ann) in kinds
        for phone in (ann1, ann2, ann3, bo2, bo3):
            phone.close()
