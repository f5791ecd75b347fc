"""HQ publishes menu and opening hours; the hub pulls, applies atomically, reports the version
it runs, and keeps its last good configuration when the cloud is away."""

import copy
import secrets
import time
from pathlib import Path
from typing import Any

import yaml

from contract.menu import WEEKDAYS
from smartstore.cloud_service import CloudHandle
from smartstore.samples import SAMPLE_MENU
from tests.ordering import KUNGPAO
from tests.support import Broker, hub_settings, run_hub_thread, wait_until


def _menu(price: int) -> dict[str, Any]:
    menu: dict[str, Any] = yaml.safe_load(SAMPLE_MENU.read_text(encoding="utf-8"))
    menu = copy.deepcopy(menu)
    menu["version"] = f"hq-{price}"
    next(d for d in menu["dishes"] if d["id"] == "kungpao")["price_fen"] = price
    return menu


def _price(diner: Any, token: str) -> int:
    menu = diner.get(f"/api/diner/{token}/menu").json()
    return int(next(d for d in menu["dishes"] if d["id"] == "kungpao")["price_fen"])


def test_config_pushed_down_applied_reported_and_kept(
    broker: Broker, cloud: CloudHandle, tmp_path: Path
) -> None:
    token = cloud.register(broker.store)
    cloud.register("OTHER")
    hq = cloud.hq()
    settings = hub_settings(
        broker,
        tmp_path / "hub",
        cloud_url=cloud.base_url,
        cloud_token=token,
        config_poll_s=0.3,
    )
    hub = run_hub_thread(settings)
    try:
        staff, diner = hub.client(), hub.client(login=False)
        path = next(t["qr_path"] for t in staff.get("/api/tables").json()["tables"])
        table = path.rsplit("/", 1)[1]
        assert _price(diner, table) == 3800  # the local menu file until HQ says otherwise

        r = hq.post("/api/v1/hq/config", json={"scope": "*", "config": {"menu": _menu(4200)}})
        assert r.status_code == 201, r.text
        chain_wide = r.json()["version"]
        wait_until(lambda: _price(diner, table) == 4200, what="HQ's menu on the diner's page")
        placed = diner.post(
            f"/api/diner/{table}/orders",
            json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]},
        )
        assert placed.json()["total_fen"] == 2 * 4200

        def runs(version: int) -> bool:
            stores = hq.get("/api/v1/hq/fleet").json()["stores"]
            return any(
                s["store"] == broker.store and s["config_version"] == version for s in stores
            )

        wait_until(lambda: runs(chain_wide), what="HQ to see the version the store runs")

        # A menu the hub would refuse never leaves HQ.
        broken = _menu(4500)
        broken["dishes"][0]["station"] = "nowhere"
        r = hq.post("/api/v1/hq/config", json={"scope": broker.store, "config": {"menu": broken}})
        assert r.status_code == 422
        bad_hours = {"menu": _menu(4500), "hours": {"mon": [{"open": "22:00", "close": "09:00"}]}}
        assert (
            hq.post("/api/v1/hq/config", json={"scope": "*", "config": bad_hours}).status_code
            == 422
        )

        # This store only: closed today (open only on other days), and a new price.
        today = WEEKDAYS[time.localtime().tm_wday]
        hours = {d: [{"open": "00:00", "close": "24:00"}] for d in WEEKDAYS if d != today}
        r = hq.post(
            "/api/v1/hq/config",
            json={"scope": broker.store, "config": {"menu": _menu(4600), "hours": hours}},
        )
        own = r.json()["version"]
        wait_until(lambda: _price(diner, table) == 4600, what="the store's own configuration")
        closed = diner.post(
            f"/api/diner/{table}/orders",
            json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]},
        )
        assert closed.status_code == 409 and closed.json()["detail"]["code"] == "store_closed"
        wait_until(lambda: runs(own), what="HQ to see the store's own version")
        # Another store's configuration is not this store's business: the newest document
        # HQ has, but what HQ hands this store (all the hub applies) is still its own.
        r = hq.post("/api/v1/hq/config", json={"scope": "OTHER", "config": {"menu": _menu(9900)}})
        assert r.status_code == 201 and r.json()["version"] > own
        as_store = cloud.client(token)
        current = as_store.get("/api/v1/config")
        assert (current.status_code, current.json()["version"]) == (200, own)
        assert (
            as_store.get("/api/v1/config", headers={"If-None-Match": f'"{own}"'}).status_code == 304
        )
        assert _price(diner, table) == 4600
    finally:
        hub.stop()

    # The cloud goes away; the hub restarts and runs its last good configuration.
    cloud.stop()
    hub = run_hub_thread(settings)
    try:
        diner = hub.client(login=False)
        assert _price(diner, table) == 4600
        r = diner.post(
            f"/api/diner/{table}/orders",
            json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]},
        )
        assert r.json()["detail"]["code"] == "store_closed"
    finally:
        hub.stop()
