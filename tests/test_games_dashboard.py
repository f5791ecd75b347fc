"""The campaign panels of the members and campaigns dashboard (smartstore/grafana/members.py)
on the real InfluxDB 1.6.7, with points made by the code that writes them: the sales
exporter's `games` points for the hubs' `game.played` and `game.released` events
(cloud/sales_influx.py, cloud/games_influx.py, with the decided plays read back from a cloud
database as the exporter does) and the stores' budgets for the day from the config HQ
published (cloud/games_influx.py's budget_points, which the fleet exporter writes). Every
campaign panel's query runs as Grafana would send it for two stores, and the numbers are HQ's
report worked out by hand."""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from cloud.db import Base as CloudBase
from cloud.db import make_engine, make_sessions
from cloud.games_influx import budget_points, plays_decided, released_plays
from cloud.models import ConfigDocument, IngestedEvent, Store
from cloud.sales_influx import SalesEvent, sales_points
from contract.campaigns import Budget, CampaignsConfig
from smartstore.services import InfluxServer
from tests.games import wheel
from tests.test_dashboards import DASHBOARDS, DB, all_panels, interpolate, load, write_lines
from tests.test_members_dashboard import FILE, Seeded, total


def _played(
    play: str, campaign: str, member: str, bill: str, prize: str, kind: str, cost: int,
    status: str, at: float,
) -> dict[str, Any]:  # fmt: skip
    return {
        "play": play, "campaign": campaign, "kind": "wheel", "member": member, "table": "A1",
        "payment": bill, "prize": prize, "prize_kind": kind, "cost_fen": cost, "rand": 3,
        "total": 100, "status": status, "flag": "3 new members" if status == "flagged" else "",
        "signature": "ab" * 32, "at": at,
    }  # fmt: skip


def panel_rows(seeded: Seeded, title: str, ref: str = "A") -> list[dict[str, Any]]:
    """The rows of one of a panel's queries, as Grafana would ask for the two stores."""
    (panel,) = [p for p in all_panels(load(DASHBOARDS / FILE)) if p["title"] == title]
    (target,) = [t for t in panel["targets"] if t["refId"] == ref]
    q = interpolate(target["query"], panel, (seeded.x, seeded.y), now=seeded.now + 1)
    found: list[dict[str, Any]] = []
    for s in seeded.influxdb.query(q, db=DB):
        tags: dict[str, str] = s.get("tags") or {}  # type: ignore[assignment]
        for values in s["values"]:  # type: ignore[attr-defined]
            found.append({**tags, **dict(zip(s["columns"], values, strict=True))})  # type: ignore[call-overload]
    return found


def _released(play: str, paid: bool, at: float) -> dict[str, Any]:
    return {"play": play, "campaign": "wheel", "paid": paid, "by": "alice", "at": at}


@pytest.fixture(scope="module")
def seeded(influxdb: InfluxServer) -> Iterator[Seeded]:
    x, y = (f"G{time.time_ns() % 10**8:08d}{s}" for s in "XY")
    now = time.time()
    t = now - 600
    plays = [
        # At x: a coupon and points paid, thanks for playing, three held for a check.
        (x, _played("gplay0001", "wheel", "mgame00001", "b1", "c20", "coupon", 2000, "paid", t)),
        (x, _played("gplay0002", "wheel", "mgame00002", "b2", "p10", "points", 100, "paid", t)),
        (x, _played("gplay0003", "wheel", "mgame00001", "b3", "none", "none", 0, "paid", t)),
        (x, _played("gplay0004", "wheel", "mgame00003", "b4", "c20", "coupon", 2000, "flagged", t)),
        (x, _played("gplay0005", "wheel", "mgame00004", "b5", "tea", "dish", 1200, "flagged", t)),
        (x, _played("gplay0006", "wheel", "mgame00001", "b6", "p10", "points", 100, "flagged", t)),
        (y, _played("gplay0007", "wheel", "mgame00005", "b7", "p10", "points", 100, "paid", t)),
        # The scan-QR gift of a member who joined since the campaign started.
        (y, _played("gplay0008", "scan", "mgame00006", "", "new", "coupon", 2000, "paid", t)),
    ]  # fmt: skip
    decisions = [
        (x, _released("gplay0004", True, t + 60)),
        (x, _released("gplay0005", False, t + 61)),
    ]
    engine = make_engine("sqlite://")
    CloudBase.metadata.create_all(engine)
    events: list[SalesEvent] = []
    with make_sessions(engine)() as s:
        s.add_all([Store(id=x, name=x, created_at=now), Store(id=y, name=y, created_at=now)])
        s.flush()  # the stores before what refers to them
        # HQ's config: 500 yuan a day for each store, 300 for y.
        campaign = wheel(budget=Budget(per_store_day_fen=50_000, stores={y: 30_000}))
        config = CampaignsConfig(campaigns=[campaign]).model_dump(mode="json")
        s.add(ConfigDocument(scope="*", document={"campaigns": config}, published_at=now,
                             published_by="hq"))  # fmt: skip
        for n, (store, data) in enumerate(plays, 1):
            events.append(SalesEvent(n, store, f"gp-{data['play']}", "game.played", t + n, t, data))
        for n, (store, data) in enumerate(decisions, 100):
            events.append(
                SalesEvent(n, store, f"gr-{data['play']}", "game.released", t + n, t, data)
            )
        for e in events:
            s.add(IngestedEvent(store_id=e.store, event_id=e.event_id, type=e.type,
                                occurred_at=e.occurred_at, received_at=e.received_at,
                                data=e.data))  # fmt: skip
        s.commit()
        played = plays_decided(s, released_plays((e.store, e.type, e.data) for e in events))
        lines = sales_points(events, {}, played) + budget_points(s, now - 60)
    engine.dispose()
    write_lines(influxdb, lines)
    yield Seeded(influxdb, x, y, now)


def test_campaigns_by_store_is_hqs_report(seeded: Seeded) -> None:
    rows = {(r["campaign"], r["store"]): r for r in panel_rows(seeded, "Campaigns by store")}
    x = rows[("wheel", seeded.x)]
    assert (x["plays"], x["winners"], x["members"], x["bills"]) == (6, 3, 4, 6)
    # Paid and held cost against the budget; the refused tea gave its 12 yuan back.
    assert x["cost"] == 20 + 1 + 20 + 1
    assert (x["held"], x["released"], x["refused"]) == (1, 1, 1)
    y = rows[("wheel", seeded.y)]
    assert (y["plays"], y["winners"], y["cost"], y["held"]) == (1, 1, 1, 0)
    scan = rows[("scan", seeded.y)]
    assert (scan["plays"], scan["new_members"], scan["cost"]) == (1, 1, 20)


def test_winners_by_prize(seeded: Seeded) -> None:
    rows = panel_rows(seeded, "Campaign winners by prize")
    won = {(r["campaign"], r["prize"]): r["winners"] for r in rows}
    assert won == {
        ("wheel", "c20"): 2,  # one paid, one released by staff
        ("wheel", "p10"): 2,  # the held one has not won yet
        ("wheel", "tea"): 0,  # refused
        ("wheel", "none"): 0,
        ("scan", "new"): 1,
    }


def test_cost_against_budget_and_flags(seeded: Seeded) -> None:
    cost = panel_rows(seeded, "Campaign cost against budget per day")
    assert total(cost, "cost", campaign="wheel") == 43
    budget = panel_rows(seeded, "Campaign cost against budget per day", "B")
    assert total(budget, "budget", campaign="wheel") == 800  # 500 at x and 300 at y
    assert [r["held"] for r in panel_rows(seeded, "Campaign plays held for a check")] == [1]
    flagged = panel_rows(seeded, "Campaign plays flagged per day")
    assert total(flagged, "flagged", store=seeded.x) == 3
    assert total(flagged, "flagged", store=seeded.y) == 0
    per_day = panel_rows(seeded, "Campaign plays and winners per day")
    assert (
        total(per_day, "plays", campaign="wheel"),
        total(per_day, "winners", campaign="wheel"),
    ) == (7, 4)
