"""Invite a friend across two stores, through the real parts (two hubs, HQ on PostgreSQL):
the friend joins at one store with a member's code and pays a first bill at the other; both
earn once, the inviter's points count at her store through HQ, and the friend's next bill at
the store they joined at (which learns from HQ that the reward was given) earns nothing more.
And a refund of the friend's first bill takes both rewards back at HQ, once."""

import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract.campaigns import CampaignsConfig
from smartstore.cloud_service import CloudHandle
from tests.games import games_kitchen, share, store_config
from tests.members import join, table_tokens
from tests.ordering import KUNGPAO
from tests.support import Hub, wait_until
from tests.test_stamps_chain import STORES, _hubs, _sign_in

pytestmark = pytest.mark.timeout(300)

ANN, CY = "13800138000", "13712345678"


def _pay(hub: Hub, phone: httpx.Client, table: str) -> dict[str, Any]:
    staff = hub.client()
    return _pay_at(staff, phone, table, table_tokens(staff)[table])


def _pay_at(staff: httpx.Client, phone: httpx.Client, table: str, token: str) -> dict[str, Any]:
    """The party at `table` (the member's phone) orders and staff take the money."""
    r = phone.post(
        f"/api/diner/{token}/orders", json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]}
    )
    assert r.status_code == 201, r.text
    assert phone.get(f"/api/diner/{token}/member").json()["member"] is not None  # the party's
    paid = staff.post(f"/api/tables/{table}/pay", json={"method": "cash"})
    assert paid.status_code == 200, paid.text
    staff.post(f"/api/tables/{table}/open").raise_for_status()
    body: dict[str, Any] = paid.json()
    return body


def _me(hub: Hub, phone: httpx.Client) -> dict[str, Any]:
    token = table_tokens(hub.client())["A1"]
    me: dict[str, Any] = phone.get(f"/api/diner/{token}/member").json()["member"]
    return me


def test_a_friend_invited_at_one_store_pays_at_another_and_both_earn_once(
    tmp_path: Path, cloud: CloudHandle
) -> None:
    hq = cloud.hq()
    config = store_config(CampaignsConfig(campaigns=[share()])).model_dump(mode="json")
    published = hq.post("/api/v1/hq/config", json={"scope": "*", "config": config})
    assert published.status_code == 201, published.text
    version = published.json()["version"]
    with ExitStack() as stack:
        hubs = _hubs(stack, tmp_path, cloud)

        def running() -> bool:
            stores = hq.get("/api/v1/hq/fleet").json()["stores"]
            return {s["store"] for s in stores if s["config_version"] == version} >= set(STORES)

        wait_until(running, timeout=30, what="both stores to run the campaign")
        t1, t2 = hubs["T1"], hubs["T2"]
        ann, _ = join(t1.base_url, table_tokens(t1.client())["A1"], ANN)
        code = ann.get(f"/api/diner/{table_tokens(t1.client())['A1']}/member/invite").json()["code"]
        # Cy joins at T1 with Ann's code; T2 will learn of the invitation from HQ.
        cy_number = CY
        cy1 = httpx.Client(base_url=t1.base_url, timeout=10)
        r = cy1.post(
            f"/api/diner/{table_tokens(t1.client())['A3']}/member/join",
            json={"phone": cy_number, "consent": True, "invite": code},
        )
        assert r.status_code == 201, r.text

        def hq_knows(number: str) -> bool:
            found = hq.post("/api/v1/hq/member-search", json={"phone": number})
            return found.status_code == 200

        wait_until(lambda: hq_knows(cy_number), timeout=30, what="HQ to hear of the friend")
        wait_until(
            lambda: t1.client().get("/api/stats").json()["outbox_backlog"] == 0,
            timeout=30,
            what="T1's invitation to reach HQ",
        )
        cy2 = _sign_in(t2, table_tokens(t2.client())["A1"], cy_number)
        # The friend's first bill, at T2: Ann's 200 points are made there, Cy's coupon too.
        assert _pay(t2, cy2, "A1")["points_earned"] > 0
        assert "20 off 100" in [c["name_en"] for c in _me(t2, cy2)["coupons"]]

        def drained() -> bool:
            return all(
                h.client().get("/api/stats").json()["outbox_backlog"] == 0 for h in hubs.values()
            )

        wait_until(drained, timeout=60, what="T2's rewards to reach HQ")
        seen = hq.post("/api/v1/hq/member-search", json={"phone": ANN}).json()
        assert seen["balance"] == 200  # once, made at T2
        # Ann sees them at her own store, where HQ's balance from elsewhere counts.
        wait_until(lambda: _me(t1, ann)["points"] == 200, timeout=90, what="Ann's points at T1")
        # Cy's next bill at T1, where he joined: T1 learns from HQ it was rewarded at T2.
        assert _pay(t1, cy1, "A3")["points_earned"] > 0
        wait_until(drained, timeout=60, what="T1's payment to reach HQ")
        assert hq.post("/api/v1/hq/member-search", json={"phone": ANN}).json()["balance"] == 200
        assert _me(t1, ann)["points"] == 200
        for client in (ann, cy1, cy2):
            client.close()


def test_a_refund_of_the_friends_first_bill_takes_both_rewards_back_at_hq_once(
    tmp_path: Path, store: str, cloud: CloudHandle
) -> None:
    """Buy, earn, refund, keep: staff pay the friend's first bill and refund it over HTTP,
    the refund sent twice. HQ, on PostgreSQL, had the inviter's 200 points and the friend's
    reward coupon; after the refund it has neither, and the store's whole history replayed
    (a hub resending what HQ acknowledged) changes nothing: every entry once by its id."""
    token = cloud.register(store)
    hq = cloud.hq()
    config = store_config(CampaignsConfig(campaigns=[share()]))
    r = hq.post("/api/v1/hq/config", json={"scope": "*", "config": config.model_dump(mode="json")})
    assert r.status_code == 201, r.text
    key = cloud.settings.member_key.get_secret_value()
    hub_kw: dict[str, Any] = {"cloud_url": cloud.base_url, "cloud_token": token, "member_key": key}
    with games_kitchen(tmp_path, store, config, **hub_kw) as k:
        tokens = table_tokens(k.staff)
        ann, _ = join(k.hub.base_url, tokens["A1"], ANN)
        code = ann.get(f"/api/diner/{tokens['A1']}/member/invite").json()["code"]
        cy = httpx.Client(base_url=k.hub.base_url, timeout=10)
        r = cy.post(
            f"/api/diner/{tokens['A2']}/member/join",
            json={"phone": CY, "consent": True, "invite": code},
        )
        assert r.status_code == 201, r.text
        first = _pay_at(k.staff, cy, "A2", tokens["A2"])

        def drained() -> bool:
            return bool(k.staff.get("/api/stats").json()["outbox_backlog"] == 0)

        def at_hq(phone: str) -> dict[str, Any]:
            found: dict[str, Any] = hq.post(
                "/api/v1/hq/member-search", json={"phone": phone}
            ).json()
            return found

        def rewards(phone: str) -> list[str]:
            return [c["code"] for c in at_hq(phone)["coupons"] if c["template"] == "spin20"]

        wait_until(drained, timeout=30, what="the first bill's rewards to reach HQ")
        assert at_hq(ANN)["balance"] == 200
        assert len(rewards(CY)) == 1

        r = k.staff.post(f"/api/payments/{first['id']}/refund", json={"reason": "wrong table"})
        assert r.status_code == 200, r.text
        again = k.staff.post(f"/api/payments/{first['id']}/refund", json={"reason": "sent twice"})
        assert again.status_code == 409
        wait_until(drained, timeout=30, what="the refund to reach HQ")
        assert at_hq(ANN)["balance"] == 0
        assert rewards(CY) == []

        # The hub sends all it has sent again (say its acknowledgements were lost).
        history = cloud.admin.get(f"/api/v1/stores/{store}/events", params={"limit": 1000}).json()
        events = [{f: e[f] for f in ("id", "type", "occurred_at", "data")} for e in history]
        sent = cloud.client(token).post(
            "/api/v1/ingest", json={"store": store, "events": list(reversed(events))}
        )
        assert sent.status_code == 200, sent.text
        assert at_hq(ANN)["balance"] == 0
        assert rewards(CY) == []
        assert hq.get("/api/v1/hq/risks", params={"kind": "withdrawn_used"}).json() == []
        ledger = hq.get(f"/api/v1/hq/members/{at_hq(ANN)['member']}/ledger").json()
        assert sorted(e["points"] for e in ledger["entries"]) == [-200, 200]
        ann.close()
        cy.close()
