"""A stamp card across two stores, through the real parts: two brokers and hubs, HQ on
PostgreSQL going away and coming back. A member collects stamps from paid bills at tables of
both stores while HQ is down; when it is back each hub's card shows both stores' stamps. Then
both stores fill the same card while HQ is away again: the member holds one reward coupon (one
code chain-wide), HQ counts one filled card and flags the second completion."""

import secrets
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from contract.campaigns import CampaignsConfig
from smartstore.cloud_service import CloudHandle, run_cloud_thread
from tests.games import play_id, stamp_card, store_config
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

pytestmark = pytest.mark.timeout(300)

PHONE = "13800138000"
STORES = ("T1", "T2")


def _hubs(stack: ExitStack, tmp_path: Path, cloud: CloudHandle) -> dict[str, Hub]:
    hubs = {}
    for store in STORES:
        token = cloud.register(store)
        broker = start_broker(tmp_path / store / "mqtt", make_inventory(store))
        stack.callback(broker.stop)
        settings = hub_settings(
            broker,
            tmp_path / store / "hub",
            cloud_url=cloud.base_url,
            cloud_token=token,
            config_poll_s=0.3,
            member_key=cloud.settings.member_key.get_secret_value(),
            # HQ back, the cards follow it at the next lookup, not after 30 s offline.
            member_lookup_cool_off_s=1.0,
        )
        hub = run_hub_thread(settings)
        stack.callback(hub.stop)
        hubs[store] = hub
    return hubs


def _sign_in(hub: Hub, token: str, number: str) -> httpx.Client:
    """A new phone signs in as a member the hub asks HQ about; a waiter confirms."""
    phone = httpx.Client(base_url=hub.base_url, timeout=10)
    asked = phone.post(f"/api/diner/{token}/member/sign-in", json={"phone": number}).json()
    hub.client().post(f"/api/members/sign-ins/{asked['id']}/confirm").raise_for_status()
    assert phone.get(f"/api/diner/{token}/member/sign-in/{asked['id']}").json()["state"] == (
        "confirmed"
    )
    return phone


def _pay_and_stamp(hub: Hub, phone: httpx.Client, table: str) -> dict[str, Any]:
    """The member's party orders at `table`, pays, and collects the bill's stamp."""
    staff = hub.client()
    token = table_tokens(staff)[table]
    r = phone.post(
        f"/api/diner/{token}/orders", json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]}
    )
    assert r.status_code == 201, r.text
    assert phone.get(f"/api/diner/{token}/member").json()["member"] is not None  # the party's
    staff.post(f"/api/tables/{table}/pay", json={"method": "cash"}).raise_for_status()
    r = phone.post(f"/api/diner/{token}/games/stamps/stamp", json={"play": play_id()})
    assert r.status_code == 200, r.text
    staff.post(f"/api/tables/{table}/open").raise_for_status()
    card: dict[str, Any] = r.json()
    return card


def _card(hub: Hub, phone: httpx.Client) -> dict[str, Any]:
    token = table_tokens(hub.client())["A1"]
    state = phone.get(f"/api/diner/{token}/games").json()
    card: dict[str, Any] = next(c for c in state["campaigns"] if c["id"] == "stamps")["card"]
    return card


def _wait_card(hub: Hub, phone: httpx.Client, ok: Callable[[dict[str, Any]], bool]) -> None:
    """Until the hub's card (asking HQ again every few seconds) is as `ok` wants it."""
    wait_until(lambda: ok(_card(hub, phone)), timeout=60, what="the hub's card to follow HQ")


def _coupons(hub: Hub, phone: httpx.Client) -> list[str]:
    token = table_tokens(hub.client())["A1"]
    me = phone.get(f"/api/diner/{token}/member").json()["member"]
    return sorted(c["code"] for c in me["coupons"] if c["name_en"].startswith("Stamp card"))


def test_a_stamp_card_counts_two_offline_stores_and_is_filled_once(
    tmp_path: Path, cloud: CloudHandle
) -> None:
    port = urlparse(cloud.base_url).port
    assert port is not None
    hq = cloud.hq()
    config = store_config(CampaignsConfig(campaigns=[stamp_card(5)])).model_dump(mode="json")
    published = hq.post("/api/v1/hq/config", json={"scope": "*", "config": config})
    assert published.status_code == 201, published.text
    version = published.json()["version"]
    with ExitStack() as stack:
        hubs = _hubs(stack, tmp_path, cloud)

        def running() -> bool:
            stores = hq.get("/api/v1/hq/fleet").json()["stores"]
            return {s["store"] for s in stores if s["config_version"] == version} >= set(STORES)

        wait_until(running, timeout=30, what="both stores to run the stamp card")
        # HQ up: the member joins at T1; T2 learns them from HQ when they sign in there.
        t1 = hubs["T1"]
        phone1, member = join(t1.base_url, table_tokens(t1.client())["A1"], PHONE)
        wait_until(
            lambda: hq.post("/api/v1/hq/member-search", json={"phone": PHONE}).status_code == 200,
            timeout=30,
            what="HQ to hear of the member",
        )
        phone2 = _sign_in(hubs["T2"], table_tokens(hubs["T2"].client())["A1"], PHONE)
        phones = {"T1": phone1, "T2": phone2}

        cloud.stop()  # HQ goes away
        for store in STORES:
            for table in ("A1", "A2"):
                _pay_and_stamp(hubs[store], phones[store], table)
            # Offline, each store counts the stamps it gave.
            assert _card(hubs[store], phones[store])["stamps"] == [f"{store}:A1", f"{store}:A2"]

        back = run_cloud_thread(cloud.settings, port=port)  # HQ is back
        stack.callback(back.stop)
        hq = back.hq()

        def drained() -> bool:
            return all(
                h.client().get("/api/stats").json()["outbox_backlog"] == 0 for h in hubs.values()
            )

        wait_until(drained, timeout=90, what="both stores' stamps to reach HQ")
        both = {"T1:A1", "T1:A2", "T2:A1", "T2:A2"}
        for store in STORES:
            _wait_card(hubs[store], phones[store], lambda card: set(card["stamps"]) == both)
            card = _card(hubs[store], phones[store])
            assert (card["card"], card["needed"], card["filled"]) == (1, 5, 0)

        # HQ away again: each store gives the fifth stamp and fills the card.
        back.stop()
        filled = {store: _pay_and_stamp(hubs[store], phones[store], "B1") for store in STORES}
        for store in STORES:
            assert filled[store]["full"] is True
            assert filled[store]["stamped"]["prize"]["name_en"] == "Stamp card: 50 yuan off"
        # Both gave the member the coupon of this card: one code, whichever store made it.
        codes = {store: _coupons(hubs[store], phones[store]) for store in STORES}
        assert len(codes["T1"]) == 1 and codes["T1"] == codes["T2"]

        again = run_cloud_thread(cloud.settings, port=port)
        stack.callback(again.stop)
        hq = again.hq()
        wait_until(drained, timeout=90, what="both completions to reach HQ")
        seen = hq.get(f"/api/v1/hq/members/{member['id']}").json()
        [cards] = seen["stamp_cards"]
        # HQ's count: six stamps, one filled card (the earlier fifth stamp filled it), the
        # later fifth stamp is the first of card 2.
        assert (cards["stamps"], cards["filled"], cards["card"]) == (6, 1, 2)
        assert len(cards["places"]) == 1 and cards["places"][0].endswith(":B1")
        assert [c["code"] for c in seen["coupons"] if c["template"] == "stamp50"] == codes["T1"]
        risks = [r for r in hq.get("/api/v1/hq/risks").json() if r["kind"] == "double_stamp"]
        assert len(risks) == 1 and risks[0]["member"] == seen["member"]
        assert risks[0]["store"] in STORES and risks[0]["detail"]["card"] == 1
        # Each hub, once it has asked HQ, counts the same: card 2 with the later B1 stamp.
        for store in STORES:
            _wait_card(hubs[store], phones[store], lambda card: card["stamps"] == cards["places"])
            assert _card(hubs[store], phones[store])["filled"] == 1
        for phone in phones.values():
            phone.close()
