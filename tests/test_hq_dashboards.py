"""HQ's chain and fleet dashboards and the alert rules (smartstore/grafana), on the real
InfluxDB 1.6.7, with points made by the real code that writes them: the hubs'
edge/telemetry/points.py and HQ's cloud/sales_influx.py and cloud/fleet_influx.py.

Each panel's query is sent as Grafana would (tests/test_dashboards.py `interpolate`) for two
stores of this test, and the numbers HQ would read are asserted. Each alert rule's query runs
the same way and its condition (last value above the threshold) is evaluated per series, as
Grafana's reduce and threshold expressions do: true for the seeded bad store, false for the
good one. Grafana itself cannot run here (tests/test_dashboards.py says why).
"""

import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud.db import Base as CloudBase
from cloud.db import make_engine, make_sessions
from cloud.fleet_influx import status_points
from cloud.models import Store
from cloud.sales_influx import SalesEvent, sales_points
from contract import DeviceType, Telemetry
from contract.inventory import DeviceSpec
from edge.calls.models import Call
from edge.devices.models import Alarm
from edge.telemetry import points
from smartstore.grafana import alerts, build, chain, fleet, service
from smartstore.services import InfluxServer
from tests.test_dashboards import (
    DASHBOARDS,
    DB,
    all_panels,
    interpolate,
    load,
    variable_query,
    write_lines,
)

HOUR = 3600.0
WEEK = 7 * 86400.0


def test_the_checked_in_files_are_what_the_code_makes(tmp_path: Path) -> None:
    """dashboards/ is generated: `python -m smartstore.grafana --write` after a change."""
    assert build.stale() == [], "run: python -m smartstore.grafana --write"
    # And the check sees a stale file: a copy with one panel retitled is reported.
    for path, text in build.render().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    assert build.stale(tmp_path) == []
    fleet = tmp_path / "fleet.json"
    fleet.write_text(fleet.read_text().replace("Hubs online", "Hubs up"), encoding="utf-8")
    assert build.stale(tmp_path) == [Path("fleet.json")]


def test_every_dashboard_has_a_store_variable_every_panel_uses() -> None:
    for name in build.DASHBOARDS:
        board = load(DASHBOARDS / name)
        names = [v["name"] for v in board["templating"]["list"]]
        # The region first: Grafana fills the store list from the regions picked.
        assert names.index("region") < names.index("store"), name
        (store,) = [v for v in board["templating"]["list"] if v["name"] == "store"]
        assert store["multi"] is True and store["includeAll"] is True
        assert '"region" =~ /^$region$/' in variable_query(store), name
        (region,) = [v for v in board["templating"]["list"] if v["name"] == "region"]
        assert region["multi"] is True and region["includeAll"] is True
        assert region["allValue"] == ".*"  # also the stores with no region
        for panel in all_panels(board):
            for target in panel.get("targets", []) if panel["type"] != "row" else ():
                assert '"store" =~ /^$store$/' in target["query"], (name, panel["title"])


# --- seeded points ------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    influxdb: InfluxServer
    bad: str  # the store every alert fires for
    good: str
    now: float
    region: str  # the bad store's (HQ's stores table); the good one has none


def _sale(n: int, store: str, kind: str, at: float, data: dict[str, Any]) -> SalesEvent:
    prefix = {"order.placed": "op", "order.line_voided": "ov", "payment.recorded": "pay"}[kind]
    return SalesEvent(n, store, f"{prefix}-{store}-{n}", kind, at, at, data)


def _order(uid: str, lines: list[tuple[str, int, int]]) -> dict[str, Any]:
    return {
        "order": uid,
        "source": "table",
        "lines": [
            {"dish": d, "name_zh": d, "name_en": d, "station": "wok", "qty": q, "unit_price_fen": p}
            for d, q, p in lines
        ],
    }


def _payment(uid: str, amount_fen: int, at: float) -> dict[str, Any]:
    return {
        "payment": uid,
        "table": "A1",
        "amount_fen": amount_fen,
        "method": "wechat",
        "orders": [uid],
        "paid_at": at,
        "by": "alice",
    }


def _store(
    store_id: str,
    seen_ago: float,
    offset: float,
    backlog: float,
    now: float,
    region: str | None = None,
) -> Store:
    return Store(
        id=store_id,
        name=store_id,
        created_at=now - WEEK,
        last_seen_at=now - seen_ago,
        clock_offset_s=offset,
        backlog_age_s=backlog,
        region=region,
    )


def _device(device_id: str, kind: DeviceType) -> DeviceSpec:
    return DeviceSpec(id=device_id, type=kind, zone="A")


def _alarm(n: int, device: str, kind: str, raised: float, cleared: float | None) -> list[Alarm]:
    return [Alarm(id=n, device_id=device, kind=kind, raised_at=raised, cleared_at=cleared)]


def _answered(n: int, response_s: float, at: float) -> Call:
    return Call(
        id=n,
        device_id="btn-001",
        zone="A",
        table_name="A1",
        reason="service",
        created_at=at - response_s,
        last_press_at=at - response_s,
        presses=1,
        urgent_at=None,
        acked_at=at,
        acked_by="alice",
        response_s=response_s,
    )


def _party(n: int, store: str, what: str, at: float, waited: float | None = None) -> SalesEvent:
    """A `waitlist.party` fact as a hub sends it: the estimate shown was 8-15 min, mid 10."""
    data = {
        "party": f"p{n:031d}", "number": f"A{n:03d}", "group": "A", "size": 2, "what": what,
        "source": "kiosk", "priority": False, "taken_at": at - (waited or 0), "at": at,
        "est_low_s": 480.0, "est_s": 600.0, "est_high_s": 900.0, "waited_s": waited,
        "error_s": None if waited is None or what != "seated" else waited - 600.0,
    }  # fmt: skip
    return SalesEvent(100 + n, store, f"wl-p{n:031d}-{what}", "waitlist.party", at, at, data)


VOID_RICE = {"order": "o1", "dish": "rice", "qty": 1, "unit_price_fen": 200, "by": "alice"}


@pytest.fixture(scope="module")
def seeded(influxdb: InfluxServer) -> Iterator[Seeded]:
    bad, good = ("Q" + secrets.token_hex(4) for _ in range(2))
    region = "华东-" + secrets.token_hex(3)  # this test's own: the InfluxDB is shared
    now = time.time()
    # Sales: the bad store sold gbjd x2 + rice x1 (7,800 fen) and tea x3 (1,500), then voided
    # the rice (-200) and was paid 7,600; a week ago, gbjd x1 (3,800). The good store sold beer
    # x2 (3,000) and was paid 3,000.
    sales = [
        _sale(
            1, bad, "order.placed", now - 1800, _order("o1", [("gbjd", 2, 3800), ("rice", 1, 200)])
        ),
        _sale(2, bad, "order.placed", now - 1200, _order("o2", [("tea", 3, 500)])),
        _sale(3, bad, "order.line_voided", now - 600, VOID_RICE),
        _sale(4, bad, "payment.recorded", now - 300, _payment("p1", 7600, now - 300)),
        _sale(5, bad, "order.placed", now - WEEK - 1800, _order("o0", [("gbjd", 1, 3800)])),
        _sale(6, good, "order.placed", now - 900, _order("o3", [("beer", 2, 1500)])),
        _sale(7, good, "payment.recorded", now - 240, _payment("p3", 3000, now - 240)),
    ]
    lines = sales_points(sales, {})  # the void's order: its station and source unknown
    # The line at the door: the bad store seated parties after 6, 10 and 20 minutes (the last
    # past the 15 shown), one left and one did not come; the good one seated one after 5.
    lines += sales_points(
        [
            _party(1, bad, "taken", now - 3000),
            _party(1, bad, "seated", now - 2640, 360.0),
            _party(2, bad, "seated", now - 2400, 600.0),
            _party(3, bad, "seated", now - 1800, 1200.0),
            _party(4, bad, "left", now - 1500, 900.0),
            _party(5, bad, "no_show", now - 1200, 700.0),
            _party(6, good, "seated", now - 600, 300.0),
        ],
        {},
    )

    # The hubs as HQ sees them, two rounds 30 s apart: the bad store's hub last called 400 s
    # ago, an hour ahead, its oldest fact waiting 900 s; the good one's 10 s ago.
    engine = make_engine("sqlite://")
    CloudBase.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        session.add_all(
            [_store(bad, 400, 3600.0, 900.0, now, region), _store(good, 10, 0.4, 0.0, now)]
        )
        session.commit()
        lines += status_points(session, now - 30) + status_points(session, now)
    engine.dispose()

    btn1, btn2 = (
        _device("btn-001", DeviceType.CALL_BUTTON),
        _device("btn-002", DeviceType.CALL_BUTTON),
    )

    def battery(store: str, device: DeviceSpec, pct: float, ago: float) -> str:
        t = Telemetry(battery_pct=pct, rssi_dbm=-60, fw="1.0.0", uptime_s=60)
        return points.device_telemetry(store, device, t, now - ago)

    lines += [
        battery(bad, btn1, 80.0, 3 * 86400),
        battery(bad, btn1, 22.0, 600),  # change it
        battery(bad, btn2, 10.0, 86400),  # change it
        battery(good, btn1, 19.0, 2 * 86400),
        battery(good, btn1, 90.0, 3600),  # changed yesterday: not any more
        battery(good, btn2, 12.0, 10 * 86400),  # not heard from this week
    ]
    alarms = [
        (bad, _alarm(1, "btn-002", "offline", now - 900, None)),
        (bad, _alarm(2, "printer-01", "paper_out", now - 600, None)),
        (good, _alarm(3, "printer-01", "paper_out", now - 900, now - 300)),  # refilled
        (good, _alarm(4, "btn-001", "offline", now - 2000, now - 1000)),
    ]
    for store, (alarm,) in alarms:
        lines.append(points.device_alarm(store, alarm, True))
        if alarm.cleared_at is not None:
            lines.append(points.device_alarm(store, alarm, False))
    # Calls answered in the last half hour: the bad store's p95 is 400 s, the good one's 60 s.
    for store, times in ((bad, (100.0, 200.0, 400.0)), (good, (30.0, 60.0))):
        for n, response_s in enumerate(times, start=1):
            lines.append(points.call_answered(store, _answered(n, response_s, now - 60 * n)))
    write_lines(influxdb, lines)
    yield Seeded(influxdb, bad, good, now, region)


def panel_rows(
    seeded: Seeded,
    file: str,
    title: str,
    ref: str = "A",
    stores: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The panel's query for `stores` (the two stores): one dict per row (its tags and
    columns)."""
    (panel,) = [p for p in all_panels(load(DASHBOARDS / file)) if p["title"] == title]
    (target,) = [t for t in panel["targets"] if t["refId"] == ref]
    picked = (seeded.bad, seeded.good) if stores is None else stores
    q = interpolate(target["query"], panel, picked, now=seeded.now + 1)
    found: list[dict[str, Any]] = []
    for s in seeded.influxdb.query(q, db=DB):
        tags: dict[str, str] = s.get("tags") or {}  # type: ignore[assignment]
        for values in s["values"]:  # type: ignore[attr-defined]
            found.append({**tags, **dict(zip(s["columns"], values, strict=True))})  # type: ignore[call-overload]
    return found


def by(rows: Sequence[Mapping[str, Any]], key: str, column: str) -> dict[str, Any]:
    """key -> the column's non-null values summed (a whole number stays an int)."""
    out: dict[str, Any] = {}
    for r in rows:
        if r[column] is not None:
            out[r[key]] = out.get(r[key], 0) + r[column]
    return out


# --- regions ------------------------------------------------------------------------------


def variable_values(seeded: Seeded, file: str, name: str, regions: list[str] | None) -> set[str]:
    """What the dashboard's variable lists with `regions` picked in Region (None: All)."""
    (variable,) = [v for v in load(DASHBOARDS / file)["templating"]["list"] if v["name"] == name]
    q = interpolate(variable_query(variable), {}, [], regions=regions)
    return {str(row[1]) for s in seeded.influxdb.query(q, db=DB) for row in s["values"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("file", list(build.DASHBOARDS))
def test_a_region_picks_its_stores_on_every_dashboard(seeded: Seeded, file: str) -> None:
    bad, good = seeded.bad, seeded.good
    assert seeded.region in variable_values(seeded, file, "region", None)
    # Region All: every store, those with no region too (the good one).
    assert {bad, good} <= variable_values(seeded, file, "store", None)
    # The bad store's region: the bad store only; no store is in a region nobody has.
    assert variable_values(seeded, file, "store", [seeded.region]) == {bad}
    assert variable_values(seeded, file, "store", [seeded.region + "x"]) == set()


def test_a_region_filters_the_panels_through_its_stores(seeded: Seeded) -> None:
    """Store All under a region is that region's stores: HQ's points and the hubs' own (which
    carry no region) are filtered alike."""
    stores = sorted(variable_values(seeded, CHAIN, "store", [seeded.region]))
    assert stores == [seeded.bad]
    sales = panel_rows(seeded, CHAIN, "Sales per hour by store", stores=stores)
    assert by(sales, "store", "sum") == {seeded.bad: 91.0}
    stores = sorted(variable_values(seeded, service.FILE, "store", [seeded.region]))
    assert stores == [seeded.bad]
    p95 = panel_rows(seeded, service.FILE, "Call response time p50 / p95", "B", stores=stores)
    assert {r["store"] for r in p95} == {seeded.bad}
    fleet_rows = panel_rows(seeded, fleet.FILE, "Hubs", stores=stores)
    assert {r["store"] for r in fleet_rows} == {seeded.bad}


# --- the chain today ----------------------------------------------------------------------

CHAIN = chain.FILE


def test_sales_per_hour_and_the_same_weekday_last_week(seeded: Seeded) -> None:
    bad, good = seeded.bad, seeded.good
    now = panel_rows(seeded, CHAIN, "Sales per hour by store")
    assert by(now, "store", "sum") == {bad: 91.0, good: 30.0}  # yuan, net of the void
    week = panel_rows(seeded, CHAIN, "Same weekday last week, per hour")
    assert by(week, "store", "sum") == {bad: 38.0}
    today = panel_rows(seeded, CHAIN, "Sales by store: today against the same weekday last week")
    assert by(today, "store", "today") == {bad: 91.0, good: 30.0}
    before = panel_rows(
        seeded, CHAIN, "Sales by store: today against the same weekday last week", "B"
    )
    assert by(before, "store", "same_weekday_last_week") == {bad: 38.0}


def test_orders_bills_and_average_bill(seeded: Seeded) -> None:
    bad, good = seeded.bad, seeded.good
    orders = panel_rows(seeded, CHAIN, "Orders, bills and average bill by store")
    assert {r["store"]: (r["orders"], r["average_order"]) for r in orders} == {
        bad: (2, 46.5),  # (7,800 + 1,500) / 2 fen, before the void
        good: (1, 30.0),
    }
    bills = panel_rows(seeded, CHAIN, "Orders, bills and average bill by store", "B")
    assert {r["store"]: (r["bills"], r["average_bill"]) for r in bills} == {
        bad: (1, 76.0),
        good: (1, 30.0),
    }
    per_hour = panel_rows(seeded, CHAIN, "Orders per hour by store")
    assert by(per_hour, "store", "sum") == {bad: 2, good: 1}


def test_dishes_top_dishes_by_hour_and_voids(seeded: Seeded) -> None:
    bad = seeded.bad
    dishes = panel_rows(seeded, CHAIN, "Dishes")
    assert {r["dish"]: (r["qty"], r["revenue"]) for r in dishes} == {
        "gbjd": (2, 76.0),
        "tea": (3, 15.0),
        "rice": (0, 0.0),  # sold one, voided it
        "beer": (2, 30.0),
    }
    top = panel_rows(seeded, CHAIN, "Top dishes by hour")
    assert by(top, "dish", "qty") == {"gbjd": 2, "tea": 3, "rice": 0, "beer": 2}
    assert max(sum(1 for r in top if r["time"] == t) for t in {r["time"] for r in top}) <= 5
    voids = panel_rows(seeded, CHAIN, "Voids by store")
    assert [(r["store"], r["items_voided"], r["value_voided"]) for r in voids] == [(bad, 1, 2.0)]


def test_visits_and_average_bill_per_day(seeded: Seeded) -> None:
    rows = panel_rows(seeded, CHAIN, "Visits and average bill per day (last 30 days)")
    assert {r["store"]: (r["visits"], r["average_bill"]) for r in rows} == {
        seeded.bad: (1, 76.0),
        seeded.good: (1, 30.0),
    }


# --- the line at the door ----------------------------------------------------------------

SERVICE = service.FILE


def test_waiting_at_the_door_waits_estimates_and_who_gave_up(seeded: Seeded) -> None:
    bad, good = seeded.bad, seeded.good
    stores = {r["store"]: r for r in panel_rows(seeded, SERVICE, "Waiting at the door by store")}
    assert {
        s: (r["seated"], r["wait_p50"], r["wait_p90"], r["estimate_error_p50"],
            r["waited_past_range"])
        for s, r in stores.items()
    } == {
        bad: (3, 10.0, 20.0, 4.0, 1 / 3),  # errors 4, 0, 10 min: median 4
        good: (1, 5.0, 5.0, 5.0, 0.0),
    }  # fmt: skip
    gave_up = panel_rows(seeded, SERVICE, "Left the line and no-shows by store")
    assert {(r["store"], r["what"]): r["parties"] for r in gave_up} == {
        (bad, "left"): 1,
        (bad, "no_show"): 1,
    }
    outcomes = panel_rows(seeded, SERVICE, "Seated, left the line, no-shows per hour")
    assert by(outcomes, "what", "sum") == {"seated": 4, "left": 1, "no_show": 1}
    p90 = panel_rows(seeded, SERVICE, "Wait at the door p50 / p90 per hour", "B")
    # Per hour (the seeded waits may fall on either side of an hour's boundary): no hour's p90
    # is over the longest wait.
    assert max(r["percentile"] for r in p90 if r["percentile"] is not None) <= 20.0
    assert {r["store"] for r in p90 if r["percentile"] is not None} == {bad, good}


# --- the fleet ----------------------------------------------------------------------------

FLEET = fleet.FILE


def test_hubs_online_offline_and_their_clocks_and_backlogs(seeded: Seeded) -> None:
    bad, good = seeded.bad, seeded.good
    assert [r["online"] for r in panel_rows(seeded, FLEET, "Hubs online")] == [1]
    assert [r["offline"] for r in panel_rows(seeded, FLEET, "Hubs offline")] == [1]
    hubs = {r["store"]: r for r in panel_rows(seeded, FLEET, "Hubs")}
    assert {s: (r["online"], r["clock_offset_s"], r["backlog_age_s"]) for s, r in hubs.items()} == {
        bad: (0, 3600.0, 900.0),
        good: (1, 0.4, 0.0),
    }
    assert hubs[bad]["since_seen_s"] == pytest.approx(400, abs=1)
    offsets = panel_rows(seeded, FLEET, "Clock offset by store")
    assert {r["store"] for r in offsets if r["last"] is not None} == {bad, good}
    assert max(r["last"] or 0 for r in offsets if r["store"] == bad) == 3600.0
    backlog = panel_rows(seeded, FLEET, "Outbox backlog age by store")
    assert max(r["max"] or 0 for r in backlog if r["store"] == bad) == 900.0
    assert max(r["max"] or 0 for r in backlog if r["store"] == good) == 0.0


def test_devices_offline_printers_out_of_paper_and_batteries(seeded: Seeded) -> None:
    bad, good = seeded.bad, seeded.good
    offline = panel_rows(seeded, FLEET, "Devices offline by store")
    assert by(offline, "store", "devices_offline") == {bad: 1, good: 0}
    paper = panel_rows(seeded, FLEET, "Printers out of paper")
    assert [(r["store"], r["device"]) for r in paper] == [(bad, "printer-01")]
    batteries = panel_rows(seeded, FLEET, "Batteries to change this week")
    assert {(r["store"], r["device"]): r["battery"] for r in batteries} == {
        (bad, "btn-001"): 22.0,
        (bad, "btn-002"): 10.0,
    }


# --- the alert rules ----------------------------------------------------------------------


def rule_file() -> dict[str, Any]:
    data = yaml.safe_load((DASHBOARDS / build.ALERTS_FILE).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def firing(seeded: Seeded, uid: str) -> dict[str, bool]:
    """store -> whether the rule fires for it (any of its series), read off the provisioned
    file: query A over its relative range, B the last value, C the threshold."""
    [group] = rule_file()["groups"]
    (rule,) = [r for r in group["rules"] if r["uid"] == uid]
    data = {d["refId"]: d for d in rule["data"]}
    assert rule["condition"] == "C" and data["C"]["model"]["expression"] == "B"
    reduce = {"expression": "A", "reducer": "last", "refId": "B", "type": "reduce"}
    assert data["B"]["model"] == reduce
    [condition] = data["C"]["model"]["conditions"]
    assert condition["evaluator"]["type"] == "gt"
    (threshold,) = condition["evaluator"]["params"]
    lookback = f"{data['A']['relativeTimeRange']['from']}s"
    q = interpolate(data["A"]["model"]["query"], {"timeFrom": lookback}, [], now=seeded.now + 1)
    fires: dict[str, bool] = {}
    for s in seeded.influxdb.query(q, db=DB):
        store = s["tags"]["store"]  # type: ignore[index]
        values = [v[1] for v in s["values"] if v[1] is not None]  # type: ignore[attr-defined]
        if store in (seeded.bad, seeded.good) and values:
            fires[store] = fires.get(store, False) or values[-1] > threshold
    return fires


@pytest.mark.parametrize("rule", alerts.RULES, ids=lambda r: r.uid)
def test_each_alert_fires_for_the_bad_store_only(seeded: Seeded, rule: alerts.Rule) -> None:
    assert firing(seeded, rule.uid) == {seeded.bad: True, seeded.good: False}


def test_the_alert_rules_file_is_grafanas_provisioning_format() -> None:
    data = rule_file()
    assert data["apiVersion"] == 1
    [group] = data["groups"]
    assert (group["orgId"], group["folder"], group["interval"]) == (1, "Smartstore", "1m")
    assert [r["title"] for r in group["rules"]] == [
        "Hub offline for 5 minutes",
        "Printer out of paper for 2 minutes",
        "Outbox backlog older than 10 minutes",
        "Call response p95 over 3 minutes",
    ]
    by_uid = {r["uid"]: r for r in group["rules"]}
    assert by_uid["smartstore-printer-paper-out"]["for"] == "2m"
    # Outside service hours no call is answered: no data, and that is not an alert.
    assert by_uid["smartstore-call-response-p95"]["noDataState"] == "OK"
    for rule in group["rules"]:
        assert not {"folderUID", "orgID", "ruleGroup"} & set(rule)
        [query] = [d for d in rule["data"] if d["refId"] == "A"]
        assert query["datasourceUid"] == "smartstore-influx"
        assert query["model"]["rawQuery"] is True
