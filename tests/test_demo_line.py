"""The demo's line at the door, against a real hub: parties take numbers from their phones,
the simulated host calls, seats and skips them through the staff API."""

from pathlib import Path

from smartstore.demo_line import DemoLine
from tests.ordering import kitchen
from tests.support import PIN, STAFF


def test_the_demo_line_takes_numbers_and_the_host_calls_and_seats_them(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store, waitlist_takes_per_client_per_minute=100) as k:
        line = DemoLine(k.hub.base_url, STAFF, PIN, meal_s=(3600, 3600), seed=3)
        parties = [line.arrive() for _ in range(6)]
        assert len({p["number"] for p in parties}) == 6
        now = 1e10  # far in the future: every skip's grace time has passed
        for _ in range(8):
            line.host(k.staff, now)
        mine = [k.diner.get(f"/api/waitlist/me/{p['token']}").json() for p in parties]
        seated = [p for p in mine if p["status"] == "seated"]
        assert seated and {p["status"] for p in mine} <= {"seated", "waiting", "called", "no_show"}
        # One party per table: the host never seats two at a table still eating.
        assert len({p["table"] for p in seated}) == len(seated)
