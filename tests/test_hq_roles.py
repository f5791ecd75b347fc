"""HQ users' roles and scopes, through the HTTP API on real PostgreSQL: an analyst reads the
reports and changes nothing (campaigns, coupons, points, members, experiments); an admin
changes; a user scoped to some stores sees only those, in every report and lookup."""

import time
from typing import Any

import httpx
from alembic import command
from sqlalchemy import text

from cloud.analytics.schemas import ExperimentCreate
from cloud.db import alembic_config, make_engine
from smartstore.cloud_service import CloudHandle
from tests.games import store_config
from tests.test_cloud_members import MEMBERS, PHONE, Hub, joined, new_id, points
from tests.test_sales import MENU, ingest, line, placed

CONFIG = "/api/v1/hq/config"
ADMIN_ONLY = "an analyst reads reports; this change needs an HQ admin"


def _refused(r: httpx.Response, detail: str = ADMIN_ONLY) -> None:
    assert (r.status_code, r.json()["detail"]) == (403, detail), r.text


def _key(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def _balance(hq: httpx.Client, member: str) -> int:
    balance: int = hq.get(f"{MEMBERS}/{member}").json()["balance"]
    return balance


def test_an_analyst_reads_reports_and_changes_nothing_an_admin_changes(
    cloud: CloudHandle,
) -> None:
    s1 = Hub(cloud, "S1")
    m = new_id()
    s1.send(joined(cloud.member_key, m, PHONE), points(m, 10))
    analyst = cloud.hq("ana", role="analyst")
    admin = cloud.hq("root", role="admin")
    assert analyst.get("/api/v1/hq/me").json() == {
        "username": "ana",
        "role": "analyst",
        "stores": None,
    }

    # A campaign is changed by publishing the configuration that holds it.
    campaigns = {"scope": "*", "config": store_config().model_dump(mode="json")}
    _refused(analyst.post(CONFIG, json=campaigns))
    assert analyst.get(CONFIG).json() == []
    _refused(analyst.post("/api/v1/hq/coupons", json={"template_id": "welcome", "members": [m]}))
    adjust = {"points": 500, "reason": "goodwill"}
    _refused(analyst.post(f"{MEMBERS}/{m}/adjustments", json=adjust, headers=_key("t-1")))
    _refused(analyst.delete(f"{MEMBERS}/{m}"))
    _refused(analyst.post("/api/v1/hq/rfm/score"))
    experiment = ExperimentCreate.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
    _refused(analyst.post("/api/v1/hq/experiments", json=experiment))
    member = analyst.get(f"{MEMBERS}/{m}").json()  # reads: yes
    assert (member["balance"], member["coupons"]) == (10, [])
    for report in ("sales", "daily", "service", "fleet", "feedback", "campaigns", "risks"):
        assert analyst.get(f"/api/v1/hq/{report}").status_code == 200, report

    r = admin.post(CONFIG, json=campaigns)
    assert r.status_code == 201, r.text
    assert analyst.get(CONFIG).json()[0]["published_by"] == "root"
    r = admin.post("/api/v1/hq/coupons", json={"template_id": "welcome", "members": [m]})
    assert [g["member"] for g in r.json()["issued"]] == [m]
    r = admin.post(f"{MEMBERS}/{m}/adjustments", json=adjust, headers=_key("t-1"))
    assert r.status_code == 201, r.text
    assert _balance(analyst, m) == 510

    # The admin token turns the analyst into an admin: their session changes at once.
    r = cloud.admin.put("/api/v1/hq/users/ana/access", json={"role": "admin"})
    assert r.json() == {"username": "ana", "role": "admin", "stores": None}
    r = analyst.post(f"{MEMBERS}/{m}/adjustments", json=adjust, headers=_key("t-2"))
    assert r.status_code == 201, r.text


def _store_rows(r: httpx.Response) -> set[str]:
    assert r.status_code == 200, r.text
    body: Any = r.json()
    rows = body["stores"] if isinstance(body, dict) else body
    return {row["store"] for row in rows}


def test_a_store_scoped_user_sees_only_their_stores(cloud: CloudHandle) -> None:
    now = time.time() - 3600
    for store in ("S1", "S2", "S3"):
        token = cloud.register(store)
        ingest(cloud, token, store, [placed(f"order-{store}-0001", now, [line("gbjd", 1)])])
    assert "gbjd" in MENU
    chain = cloud.hq("hq-chain", role="analyst")
    north = cloud.hq("north", role="analyst", stores=["S1", "S2"])
    assert north.get("/api/v1/hq/me").json()["stores"] == ["S1", "S2"]

    assert _store_rows(chain.get("/api/v1/hq/sales")) == {"S1", "S2", "S3"}
    for report in ("sales", "service", "kitchen", "fleet"):
        assert _store_rows(north.get(f"/api/v1/hq/{report}")) == {"S1", "S2"}, report
    assert _store_rows(north.get("/api/v1/hq/sales", params={"store": "S2"})) == {"S2"}
    # Another store: refused, by name or in the CSV, not an empty answer.
    outside = "store 'S3' is not in your scope"
    for report in ("sales", "daily", "dishes", "dishes/ranking", "kitchen", "waitlist"):
        r = north.get(f"/api/v1/hq/{report}", params={"store": "S3", "format": "csv"})
        _refused(r, outside)
    # A dish ranking over "all" is over their stores only: one kungpao each in S1 and S2.
    ranking = north.get("/api/v1/hq/dishes/ranking").json()
    assert [(d["dish"], d["qty"]) for d in ranking] == [("gbjd", 2)]
    # Members are the chain's: their record crosses every store.
    whole_chain = (
        "this is the whole chain's (members, coupons, experiments): your scope is some stores"
    )
    _refused(north.get(f"{MEMBERS}/{new_id()}"), whole_chain)
    _refused(north.get("/api/v1/hq/liability"), whole_chain)

    # A store-scoped admin configures their stores, not the others, not the chain.
    r = cloud.admin.put("/api/v1/hq/users/north/access", json={"role": "admin", "stores": ["S1"]})
    assert r.status_code == 200, r.text
    config = store_config().model_dump(mode="json")
    assert north.post(CONFIG, json={"scope": "S1", "config": config}).status_code == 201
    _refused(north.post(CONFIG, json={"scope": "S3", "config": config}), outside)
    _refused(
        north.post(CONFIG, json={"scope": "*", "config": config}),
        'only a chain admin publishes to "*"',
    )
    assert [d["scope"] for d in chain.get(CONFIG).json()] == ["S1"]
    assert [d["scope"] for d in north.get(CONFIG).json()] == ["S1"]


def test_users_are_made_with_a_role_and_known_stores(cloud: CloudHandle) -> None:
    cloud.register("S1")
    users = "/api/v1/hq/users"
    password = "correct horse battery"
    r = cloud.admin.post(users, json={"username": "new", "password": password})
    assert r.json() == {"username": "new", "role": "analyst", "stores": None}  # least privilege
    r = cloud.admin.post(users, json={"username": "x", "password": password, "stores": ["S9"]})
    assert (r.status_code, r.json()["detail"]) == (404, "no store S9")
    r = cloud.admin.post(users, json={"username": "y", "password": password, "role": "owner"})
    assert r.status_code == 422
    r = cloud.admin.post(users, json={"username": "z", "password": password, "stores": []})
    assert r.status_code == 422  # no stores at all would be nobody; the chain is null
    assert cloud.admin.put(f"{users}/nobody/access", json={"role": "admin"}).status_code == 404
    # Only the admin token makes or changes users; an HQ admin's session does not.
    admin = cloud.hq("root", role="admin")
    assert admin.put(f"{users}/new/access", json={"role": "admin"}).status_code == 401


def test_users_from_before_roles_stay_chain_admins(cloud_db: str) -> None:
    """Upgrading keeps everyone's work going: a user made before roles could change
    everything for the whole chain, and still can."""
    config = alembic_config(cloud_db)
    command.upgrade(config, "0008a")
    engine = make_engine(cloud_db)
    try:
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO hq_users (username, password_hash, created_at) "
                    "VALUES ('old', 'x', 0)"
                )
            )
        command.upgrade(config, "head")
        with engine.begin() as c:
            row = c.execute(text("SELECT role, stores FROM hq_users")).one()
            assert tuple(row) == ("admin", None)
            # New rows must name their role: the default was for the old rows only.
            default = c.execute(
                text(
                    "SELECT column_default FROM information_schema.columns "
                    "WHERE table_name = 'hq_users' AND column_name = 'role'"
                )
            ).scalar()
            assert default is None
    finally:
        engine.dispose()
