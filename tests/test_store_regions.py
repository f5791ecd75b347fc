"""A store's region at HQ, through HTTP on real PostgreSQL: HQ's admin files a store under a
region when registering it or later; the `hub_status` points HQ writes carry it, and on the
real InfluxDB 1.6.7 the dashboards' Store variable lists the region's stores from them.
A region that is not a name is refused and changes nothing."""

import secrets
import time

import pytest
from sqlalchemy import select

from cloud.db import make_engine, make_sessions
from cloud.fleet_influx import status_points
from cloud.models import Store
from smartstore.cloud_service import CloudHandle
from smartstore.grafana import fleet
from smartstore.services import InfluxServer
from tests.test_dashboards import DASHBOARDS, DB, interpolate, load, variable_query, write_lines


def regions_written(cloud: CloudHandle) -> dict[str, str | None]:
    """store -> the region tag of its `hub_status` line now (None: no tag)."""
    engine = make_engine(cloud.settings.database_url)
    with make_sessions(engine)() as session:
        lines = status_points(session, time.time())
    engine.dispose()
    found: dict[str, str | None] = {}
    for line in lines:
        series = line.split(" ", 1)[0]
        tags = dict(t.split("=", 1) for t in series.split(",")[1:])
        found[tags["store"]] = tags.get("region")
    return found


def region_of(cloud: CloudHandle, store: str) -> str | None:
    engine = make_engine(cloud.settings.database_url)
    with make_sessions(engine)() as session:
        region = session.scalar(select(Store.region).where(Store.id == store))
    engine.dispose()
    return region


def test_a_store_is_filed_under_a_region_and_its_points_say_so(
    cloud: CloudHandle, influxdb: InfluxServer
) -> None:
    east = "华东-" + secrets.token_hex(3)
    north = "north-" + secrets.token_hex(3)
    s1, s2 = ("R" + secrets.token_hex(4) for _ in range(2))
    r = cloud.admin.post("/api/v1/stores", json={"id": s1, "name": "一号店", "region": east})
    assert r.status_code == 201, r.text
    token2 = cloud.register(s2)
    token1 = r.json()["token"]
    for store, token in ((s1, token1), (s2, token2)):  # each hub calls HQ once
        sent = cloud.client(token).post("/api/v1/ingest", json={"store": store, "events": []})
        assert sent.status_code == 200, sent.text
    written = regions_written(cloud)
    assert (written[s1], written[s2]) == (east, None)

    r = cloud.admin.put(f"/api/v1/stores/{s2}/region", json={"region": north})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": s2, "name": s2, "region": north}
    written = regions_written(cloud)
    assert (written[s1], written[s2]) == (east, north)

    # Not a name (a space, a comma, a quote, too long): refused, the region stays.
    for bad in ("east coast", "a,b", 'x"y', "r" * 33, ""):
        r = cloud.admin.put(f"/api/v1/stores/{s2}/region", json={"region": bad})
        assert r.status_code == 422, (bad, r.text)
    assert region_of(cloud, s2) == north
    assert cloud.admin.put("/api/v1/stores/NOPE/region", json={"region": north}).status_code == 404
    anyone = cloud.client().put(f"/api/v1/stores/{s2}/region", json={"region": east})
    assert anyone.status_code == 401
    assert region_of(cloud, s2) == north

    # The dashboards' Store variable, on the points HQ writes: a region's stores only.
    engine = make_engine(cloud.settings.database_url)
    with make_sessions(engine)() as session:
        write_lines(influxdb, status_points(session, time.time()))
    engine.dispose()
    (variable,) = [
        v for v in load(DASHBOARDS / fleet.FILE)["templating"]["list"] if v["name"] == "store"
    ]

    def stores(regions: list[str] | None) -> set[str]:
        q = interpolate(variable_query(variable), {}, [], regions=regions)
        return {str(row[1]) for s in influxdb.query(q, db=DB) for row in s["values"]}  # type: ignore[attr-defined]

    assert stores([north]) == {s2}
    assert stores([east, north]) == {s1, s2}
    assert {s1, s2} <= stores(None)

    # No region any more: the store's next points carry none.
    r = cloud.admin.put(f"/api/v1/stores/{s1}/region", json={"region": None})
    assert r.status_code == 200 and r.json()["region"] is None
    assert regions_written(cloud)[s1] is None


@pytest.mark.parametrize("bad", ["east coast", "x" * 33])
def test_a_store_registered_with_a_bad_region_is_not_registered(
    cloud: CloudHandle, bad: str
) -> None:
    store = "R" + secrets.token_hex(4)
    r = cloud.admin.post("/api/v1/stores", json={"id": store, "name": "x", "region": bad})
    assert r.status_code == 422, r.text
    assert region_of(cloud, store) is None
    assert (
        cloud.admin.put(f"/api/v1/stores/{store}/region", json={"region": None}).status_code == 404
    )
