"""Members in the demo store: a few simulated diners, each with their own phone (a cookie jar),
sit at a table now and then, open the member tab (joining the first time, or signing in with a
waiter's confirmation on a new phone), order from the table's page, and pay with the welcome
coupon or some points; the simulated waiter takes the payment and seats the table again.
Everything goes through the hub's own HTTP API, as real phones and tills do."""

import logging
import random
import secrets
import threading
import time
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEMO_PHONES = ("13800138000", "13912345678", "13700001111", "15800002222", "18600003333")
HEALTH_WAIT_S = 60.0


class DemoDiners:
    def __init__(
        self,
        base_url: str,
        staff: str,
        pin: str,
        every_s: float = 30.0,
        meal_s: tuple[float, float] = (3.0, 8.0),
        seed: int | None = None,
    ) -> None:
        self._meal_s = meal_s
        self._base = base_url
        self._staff_login = {"name": staff, "pin": pin}
        self._every_s = every_s
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-diners", daemon=True)
        self._phones: dict[str, httpx.Client] = {}

    def start(self) -> "DemoDiners":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        for phone in self._phones.values():
            phone.close()

    def _run(self) -> None:
        with httpx.Client(base_url=self._base, timeout=10) as staff:
            if not self._wait_for_hub(staff):
                return
            while not self._stop.wait(self._every_s * self._rng.uniform(0.5, 1.5)):
                try:
                    staff.post("/api/login", json=self._staff_login).raise_for_status()
                    self.visit(staff)
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    log.warning("demo diners: %s", exc)

    def _wait_for_hub(self, staff: httpx.Client) -> bool:
        deadline = time.monotonic() + HEALTH_WAIT_S
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                if staff.get("/health").status_code == httpx.codes.OK:
                    return True
            except httpx.HTTPError:
                pass
            self._stop.wait(0.5)
        return False

    def visit(self, staff: httpx.Client) -> None:
        """One party: a member sits at a free table, orders, and pays."""
        tables = staff.get("/api/tables").json()["tables"]
        free = [t for t in tables if t["open"] and t["due_fen"] == 0]
        if not free:
            return
        table = self._rng.choice(free)
        token = table["qr_path"].rsplit("/", 1)[1]
        number = self._rng.choice(DEMO_PHONES)
        phone = self._phones.setdefault(number, httpx.Client(base_url=self._base, timeout=10))
        if not self._signed_in(phone, staff, token, number):
            return
        menu = phone.get(f"/api/diner/{token}/menu").json()
        dishes = [d for d in menu["dishes"] if not d.get("sold_out")]
        lines = [self._line(d) for d in self._rng.sample(dishes, k=min(3, len(dishes)))]
        r = phone.post(
            f"/api/diner/{token}/orders",
            json={"key": "demo-" + secrets.token_hex(10), "lines": lines},
        )
        r.raise_for_status()
        self._stop.wait(self._rng.uniform(*self._meal_s))  # eating
        self._pay(staff, table["id"])
        self.play_games(phone, token)  # before the table is seated again: the bill is theirs
        staff.post(f"/api/tables/{table['id']}/open").raise_for_status()

    def _signed_in(self, phone: httpx.Client, staff: httpx.Client, token: str, number: str) -> bool:
        if self._has_member(phone, token):
            return True
        r = phone.post(f"/api/diner/{token}/member/join", json={"phone": number, "consent": True})
        if r.status_code == httpx.codes.CREATED:
            return True
        # A member already (a phone of an earlier demo run): sign in, the waiter confirms.
        asked = phone.post(f"/api/diner/{token}/member/sign-in", json={"phone": number})
        if asked.status_code != httpx.codes.ACCEPTED:
            return False
        request = asked.json()["id"]
        staff.post(f"/api/members/sign-ins/{request}/confirm").raise_for_status()
        state = phone.get(f"/api/diner/{token}/member/sign-in/{request}").json()["state"]
        # Signed in, the page opens the member tab again: the party becomes the member's.
        return state == "confirmed" and self._has_member(phone, token)

    def play_games(self, phone: httpx.Client, token: str) -> list[dict[str, Any]]:
        """After paying: the campaigns running here, each played once as the Games tab does
        (a refusal, such as a scan-QR gift taken already, is the hub's to give)."""
        played: list[dict[str, Any]] = []
        games = phone.get(f"/api/diner/{token}/games")
        if games.status_code != httpx.codes.OK:
            return played
        for c in games.json()["campaigns"]:
            if c["paused"]:
                continue
            api = f"/api/diner/{token}/games/{c['id']}"
            play = {"play": "demo" + secrets.token_hex(12)}
            action = {"wheel": "play", "quiz": "play", "scan_qr": "scan", "stamp_card": "stamp"}
            r = phone.post(f"{api}/{action[c['kind']]}", json=play)
            if r.status_code == httpx.codes.OK and c["kind"] == "quiz":
                choices = r.json()["question"]["choices"]
                answer = {**play, "choice": self._rng.choice(choices)["id"]}
                r = phone.post(f"{api}/answer", json=answer)
            if r.status_code == httpx.codes.OK:
                played.append(r.json())
        return played

    @staticmethod
    def _has_member(phone: httpx.Client, token: str) -> bool:
        return phone.get(f"/api/diner/{token}/member").json().get("member") is not None

    def _line(self, dish: dict[str, Any]) -> dict[str, Any]:
        options = {
            o["id"]: self._rng.choice(o["choices"])["id"]
            for o in dish.get("options", [])
            if o.get("required", True)
        }
        return {"dish": dish["id"], "qty": self._rng.randint(1, 2), "options": options}

    def _pay(self, staff: httpx.Client, table_id: str) -> None:
        bill = staff.get(f"/api/tables/{table_id}/bill").json()
        body: dict[str, Any] = {"method": "wechat", "amount_fen": bill["gross_fen"]}
        member = bill.get("member")
        if member is not None:
            usable = [c for c in member["coupons"] if c["refused"] is None and c["off_fen"] > 0]
            if usable and self._rng.random() < 0.5:
                body["coupon"] = usable[0]["code"]
            else:
                body["points"] = min(member["spendable"], member["max_points"]) // 2
        staff.post(f"/api/tables/{table_id}/pay", json=body).raise_for_status()
