"""The line at the door in the demo store: simulated parties take numbers from their phones
(the door's QR page's API), and a simulated host calls them when a table of their group is
free, seats those who come and skips, after the grace time, the one in ten who does not. The
queue screens call the numbers (and speak them); the staff's /waitlist page shows it all.
Everything goes through the hub's own HTTP API, as real phones and the staff page do."""

import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

SIZES = ((1, 10), (2, 35), (3, 14), (4, 22), (5, 6), (6, 5), (8, 3), (10, 2))
NO_SHOW_SHARE = 0.1
HEALTH_WAIT_S = 60.0


@dataclass
class _Host:
    """What the simulated host remembers: who was called, who will not come, busy tables."""

    no_show: set[str] = field(default_factory=set)  # party ids
    busy_until: dict[str, float] = field(default_factory=dict)  # table id -> free again at


class DemoLine:
    def __init__(
        self,
        base_url: str,
        staff: str,
        pin: str,
        every_s: float = 25.0,
        meal_s: tuple[float, float] = (60.0, 180.0),
        seed: int | None = None,
    ) -> None:
        self._base = base_url
        self._login = {"name": staff, "pin": pin}
        self._every_s = every_s
        self._meal_s = meal_s
        self._rng = random.Random(seed)
        self._host = _Host()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-line", daemon=True)

    def start(self) -> "DemoLine":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        with httpx.Client(base_url=self._base, timeout=10) as staff:
            deadline = time.monotonic() + HEALTH_WAIT_S
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    if staff.get("/health").status_code == httpx.codes.OK:
                        break
                except httpx.HTTPError:
                    pass
                self._stop.wait(0.5)
            while not self._stop.wait(self._every_s * self._rng.uniform(0.5, 1.5)):
                try:
                    staff.post("/api/login", json=self._login).raise_for_status()
                    self.arrive()
                    self.host(staff, time.time())
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    log.warning("demo line: %s", exc)

    def arrive(self) -> dict[str, Any]:
        """A party at the door scans the QR code and takes a number."""
        size = self._rng.choices([s for s, _ in SIZES], [w for _, w in SIZES])[0]
        with httpx.Client(base_url=self._base, timeout=10) as phone:
            r = phone.post(
                "/api/waitlist/take", json={"key": f"demo-{secrets.token_hex(6)}", "size": size}
            )
        r.raise_for_status()
        party: dict[str, Any] = r.json()
        if self._rng.random() < NO_SHOW_SHARE:
            self._host.no_show.add(party["token"].split(".")[0])
        return party

    def host(self, staff: httpx.Client, now: float) -> None:
        """One round at the door: seat who came, skip who did not, call for free tables."""
        line = staff.get("/api/waitlist").json()
        tables = staff.get("/api/tables").json()["tables"]
        busy = {t for t, until in self._host.busy_until.items() if until > now}
        free = [t["id"] for t in tables if t["due_fen"] == 0 and t["id"] not in busy]
        for group in line["groups"]:
            for party in group["called"]:
                if party["status"] != "called":
                    continue
                if party["id"] in self._host.no_show:
                    if now - (party["called_at"] or now) >= line["no_show_grace_s"]:
                        staff.post(f"/api/waitlist/parties/{party['id']}/no-show")
                elif free:
                    table = free.pop(self._rng.randrange(len(free)))
                    r = staff.post(
                        f"/api/waitlist/parties/{party['id']}/seat", json={"table": table}
                    )
                    if r.status_code == httpx.codes.OK:
                        self._host.busy_until[table] = now + self._rng.uniform(*self._meal_s)
            calling = sum(p["status"] == "called" for p in group["called"])
            if group["waiting"] and calling == 0 and free:
                staff.post(f"/api/waitlist/groups/{group['id']}/call-next")
