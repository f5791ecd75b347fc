"""HQ's waitlist report (cloud/api/waitlist.py) on real PostgreSQL: per store and hour, from
the `waitlist.party` facts hubs forward."""

import csv
import io

from contract.uplink import WaitlistParty, WaitlistPartyEvent
from smartstore.cloud_service import CloudHandle

HOUR = 1_772_000_000 // 3600 * 3600


def _fact(
    n: int, what: str, waited: float | None = None, high: float = 1200.0
) -> dict[str, object]:
    data = WaitlistParty(
        party=f"p{n:031d}", number=f"A{n:03d}", group="A", size=2, what=what,  # type: ignore[arg-type]
        source="kiosk", taken_at=HOUR + 60 * n, at=HOUR + 60 * n + (waited or 0),
        est_low_s=300.0, est_s=600.0, est_high_s=high, waited_s=waited,
        error_s=None if waited is None else waited - 600.0,
    )  # fmt: skip
    event = WaitlistPartyEvent(id=f"wl-p{n:031d}-{what}", occurred_at=data.at, data=data)
    return event.model_dump(mode="json")


def test_waits_leavers_no_shows_and_the_estimates_error_per_store_and_hour(
    cloud: CloudHandle,
) -> None:
    token = cloud.register("S1")
    events = [_fact(n, "taken") for n in range(5)]
    events += [_fact(0, "seated", 500.0), _fact(1, "seated", 900.0), _fact(2, "seated", 1500.0)]
    events += [_fact(3, "left", 100.0), _fact(4, "no_show", 800.0)]
    r = cloud.client(token).post("/api/v1/ingest", json={"store": "S1", "events": events})
    assert r.status_code == 200, r.text
    hq = cloud.hq()
    assert cloud.client().get("/api/v1/hq/waitlist").status_code == 401
    [row] = hq.get("/api/v1/hq/waitlist").json()
    assert row == {
        "store": "S1", "hour": float(HOUR), "taken": 5, "seated": 3, "left": 1, "no_show": 1,
        "wait_p50_s": 900.0, "wait_p90_s": 1380.0,  # 900 + 0.8 * (1500 - 900)
        "est_abs_error_p50_s": 300.0,  # |500-600|, |900-600|, |1500-600|
        "over_upper_share": 0.333,  # 1500 s > 1200 s
    }  # fmt: skip
    r = hq.get("/api/v1/hq/waitlist", params={"format": "csv"})
    [line] = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert (line["store"], line["taken"], line["no_show"]) == ("S1", "5", "1")
    assert hq.get("/api/v1/hq/waitlist", params={"until": HOUR - 1}).json() == []
