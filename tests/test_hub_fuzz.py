"""Schemathesis (a client nobody here wrote) against the hub's own OpenAPI, on a real hub with
its mosquitto, printers, members and games: the diners' operations (what anyone on the store's
Wi-Fi can reach, with a table's QR token, a member's cookie, a waitlist link) and the staff's,
past the staff login.

Every answer is held to the document: no 5xx, every status, content type, header and body
declared (edge/api/errors.py); schema-violating input refused, methods not declared refused
with 405, no staff operation that ignores its credential; and a check of our own
(tests/hub_fuzz_hooks.py): a refused request changes nothing in the hub's database.

And a proof that can fail: the run's HAR says each operation answered 2xx at least once, so
the fuzzing got past the tokens and the login into every handler.

Two runs, each on a hub of its own: the staff's closes tables and rotates their QR codes,
which would shut the diners' run out of its tables.
"""

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract.members import member_code
from contract.menu import StoreConfig
from contract.waitlist import WaitlistConfig
from devices.virtual_printer import VirtualPrinter
from edge.members.domain import derived_key
from tests.games import seed_config, store_config
from tests.members import join, table_tokens
from tests.ordering import KUNGPAO, STATIONS, TEA, Kitchen
from tests.support import (
    PIN,
    SECRET,
    STAFF,
    hub_settings,
    make_inventory,
    run_hub_thread,
    start_broker,
    wait_until,
)
from tests.test_cloud_fuzz import SCHEMATHESIS, assert_each_reached_its_handler, statuses

# A run takes about a minute here; a failure found is shrunk to its smallest case, which takes
# longer on a loaded machine: room for it, so that the failure is what gets reported.
pytestmark = pytest.mark.timeout(300)

HOOKS = "tests.hub_fuzz_hooks"
STAFF_SCHEME = "StaffSession"
PHONES = ["13800138000", "13900139000", "13700137000"]  # A2's member joins with the first
NEW_PHONES = ["13600136000", "13500135000"]
CAMPAIGNS = ["wheel", "quiz", "scan", "stamps"]
# Tomorrow at seven in the evening, for two.
BOOKING = {
    "key": "fuzz-book-0001",
    "day": time.strftime("%Y-%m-%d", time.localtime(time.time() + 86_400)),
    "slot": "19:00",
    "size": 2,
    "name": "Li",
    "phone": PHONES[1],
}

# The fuzz hub's limits: high, so that a run of hundreds of requests from one address is not
# refused as a flood (the limits have tests of their own).
# A paid table for each game (each table may play 20 times a minute), besides A3's member's.
GAME_TABLES = {"play": "A2", "scan": "A4", "stamp": "A5"}

# The line before the staff's run: each party's action (its own dictionary) and its state.
LINE = [
    ("call", "waiting"),
    ("call", "waiting"),
    ("number", "waiting"),
    ("number", "waiting"),
    ("leave", "waiting"),
    ("leave", "called"),
    ("seat", "called"),
    ("seat", "called"),
    ("no_show", "called"),
    ("no_show", "called"),
    ("put_back", "no-show"),
    ("put_back", "no-show"),
]

UNLIMITED: dict[str, Any] = {
    "login_attempts_per_minute": 10_000,
    "orders_per_table_per_minute": 10_000,
    "calls_per_table_per_minute": 10_000,
    "waitlist_takes_per_client_per_minute": 10_000,
    "bookings_per_client_per_minute": 10_000,
    "call_urgent_after_s": 86_400,  # no call turns urgent mid-run (its row would change)
}

CONFIG = """
seed = 20261128

[cache]
enabled = false

[generation]
max-examples = 25

[checks]
enabled = true
negative_data_rejection.expected-statuses = [
  "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
]

[auth.openapi.StaffSession]
api_key = "${SMARTSTORE_FUZZ_STAFF_COOKIE}"

[parameters]
"path.token" = { dictionary = "table_tokens", probability = 0.9 }
"cookie.ss_member" = { dictionary = "member_sessions", probability = 0.5 }
"path.campaign" = { dictionary = "campaigns", probability = 0.9 }
"path.request_id" = { dictionary = "sign_ins", probability = 0.6 }
"path.table_id" = { dictionary = "tables", probability = 0.7 }
"path.uid" = { dictionary = "orders", probability = 0.6 }
"path.line_id" = { dictionary = "lines", probability = 0.6 }
"path.call_id" = { dictionary = "calls", probability = 0.6 }
"path.dish" = { dictionary = "dishes", probability = 0.7 }
"path.device_id" = { dictionary = "devices", probability = 0.7 }
"path.member_id" = { dictionary = "members", probability = 0.7 }
"path.group" = { dictionary = "groups", probability = 0.7 }
"path.number" = { dictionary = "numbers", probability = 0.7 }
"query.day" = { dictionary = "days", probability = 0.6 }
"body.phone" = { dictionary = "phones", probability = 0.5 }
"body.payment" = { dictionary = "payments", probability = 0.7 }
"body.table" = { dictionary = "tables", probability = 0.7 }
"body.code" = { dictionary = "member_codes", probability = 0.7 }
"body.choice" = { dictionary = "choices", probability = 0.7 }
"body.size" = { dictionary = "sizes", probability = 0.7 }
"body.day" = { dictionary = "days", probability = 0.8 }
"body.slot" = { dictionary = "slots", probability = 0.8 }

[[operations]]
include-path-regex = "^/api/waitlist/me/"
parameters."path.token" = { dictionary = "waitlist_tokens", probability = 0.8 }

[[operations]]
# Each action on a party has parties of its own: one seated, left or marked a no-show is
# gone from the line for all the others.
include-path-regex = "^/api/waitlist/parties/[^/]+/call$"
parameters."path.uid" = { dictionary = "party_call", probability = 0.8 }

[[operations]]
include-path-regex = "^/api/waitlist/parties/[^/]+/seat$"
parameters."path.uid" = { dictionary = "party_seat", probability = 0.8 }
parameters."body.table" = { dictionary = "free_tables", probability = 0.8 }

[[operations]]
include-path-regex = "^/api/waitlist/parties/[^/]+/no-show$"
parameters."path.uid" = { dictionary = "party_no_show", probability = 0.8 }

[[operations]]
include-path-regex = "^/api/waitlist/parties/[^/]+/put-back$"
parameters."path.uid" = { dictionary = "party_put_back", probability = 0.8 }

[[operations]]
include-path-regex = "^/api/waitlist/parties/[^/]+/leave$"
parameters."path.uid" = { dictionary = "party_leave", probability = 0.8 }

[[operations]]
include-path-regex = "/void$"
parameters."path.uid" = { dictionary = "kept_orders", probability = 0.8 }
parameters."path.line_id" = { dictionary = "kept_lines", probability = 0.8 }

[[operations]]
# Each game's own campaign, at a table that paid: a wheel's play, the quiz's answer, the
# scan's gift, a stamp. (Schemathesis takes the parameters of the first block that matches.)
include-path-regex = "/games/[^/]+/play$"
parameters."path.token" = { dictionary = "play_tokens", probability = 0.9 }
parameters."path.campaign" = { dictionary = "wheel_and_quiz", probability = 0.9 }

[[operations]]
include-path-regex = "/games/[^/]+/answer$"
parameters."path.token" = { dictionary = "answer_tokens", probability = 0.9 }
parameters."path.campaign" = { dictionary = "quiz", probability = 0.9 }
parameters."body.play" = { dictionary = "plays", probability = 0.7 }

[[operations]]
include-path-regex = "/games/[^/]+/scan$"
parameters."path.token" = { dictionary = "scan_tokens", probability = 0.9 }
parameters."path.campaign" = { dictionary = "scan", probability = 0.9 }

[[operations]]
include-path-regex = "/games/[^/]+/stamp$"
parameters."path.token" = { dictionary = "stamp_tokens", probability = 0.9 }
parameters."path.campaign" = { dictionary = "stamps", probability = 0.9 }

[[operations]]
# The rating of A3's paid bill: at A3's code (at another table's the bill is not that table's).
include-path-regex = "/feedback$"
parameters."path.token" = { dictionary = "answer_tokens", probability = 0.9 }
parameters."body.payment" = { dictionary = "payments", probability = 0.9 }

[[operations]]
# A party owing, left out of the other tables (paid and closed before its bill is asked).
include-path-regex = "^/api/tables/[^/]+/bill$"
parameters."path.table_id" = { dictionary = "billed_tables", probability = 0.9 }

[[operations]]
include-path-regex = "^/api/bookings/"
parameters."path.uid" = { dictionary = "bookings", probability = 0.7 }

[[operations]]
include-path-regex = "^/api/print-jobs/"
parameters."path.uid" = { dictionary = "print_jobs", probability = 0.7 }

[[operations]]
include-path-regex = "^/api/payments/"
parameters."path.uid" = { dictionary = "payments", probability = 0.7 }

[[operations]]
include-name = "POST /api/login"
parameters."body.name" = { dictionary = "staff", probability = 0.7 }
parameters."body.pin" = { dictionary = "pins", probability = 0.7 }
"""


# Valid by the schema, refused by rules a JSON schema does not state, each with a bilingual
# 422 (or 409) a person reads: a dish the menu lacks, an option it does not offer, a quantity
# past the limit; a phone that is not a mobile number, a birthday that is not a date; a
# quiz's choice that is not one of its four; a booking's day or slot that is not one; points
# or a coupon the member lacks; an adjustment without a reason; a command the device does not
# take; a party size no table group seats.
RULES_BEYOND_THE_SCHEMA = [
    "POST /api/diner/{token}/orders",
    "POST /api/diner/{token}/member/join",
    "POST /api/diner/{token}/member/sign-in",
    "POST /api/diner/{token}/games/{campaign}/answer",
    "POST /api/bookings",
    "GET /api/bookings/slots",
    "POST /api/tables/{table_id}/pay",
    "POST /api/orders/{uid}/pay",
    "POST /api/payments/{uid}/refund",
    "POST /api/members/{member_id}/adjust",
    "POST /api/devices/{device_id}/commands",
    "POST /api/waitlist/take",
    "POST /api/waitlist/staff-take",
]


# Operations the proof leaves out, each with what they need that a run cannot make: a kiosk's
# order (made over MQTT by a kiosk: tests/test_kiosk_orders.py pays one at the counter), a play
# held as farming (tests/test_games.py releases and refuses them).
UNREACHED = {
    "GET /api/orders/{uid}/bill": "a kiosk's order",
    "POST /api/orders/{uid}/pay": "a kiosk's order",
    "POST /api/games/plays/{play_id}/release": "a play held for a check",
    "POST /api/games/plays/{play_id}/refuse": "a play held for a check",
}

NO_POSITIVE_CHECK = "checks.positive_data_acceptance.enabled = false"


def schemathesis_toml(dictionaries: dict[str, list[Any]]) -> str:
    relaxed = "".join(
        f'[[operations]]\ninclude-name = "{op}"\n{NO_POSITIVE_CHECK}\n\n'
        for op in RULES_BEYOND_THE_SCHEMA
    )
    listed = (
        f"[dictionaries.{name}]\nvalues = {json.dumps(v)}\n" for name, v in dictionaries.items()
    )
    return CONFIG + "\n" + relaxed + "\n".join(listed)


def operations(doc: dict[str, Any]) -> dict[str, str | None]:
    """Every operation ("POST /api/login") and the security scheme it takes (None: none)."""
    found: dict[str, str | None] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            schemes = [name for requirement in op.get("security", []) for name in requirement]
            assert len(schemes) <= 1, (method, path, schemes)
            found[f"{method.upper()} {path}"] = schemes[0] if schemes else None
    return found


def paid_table(k: Kitchen, token: str, table: str) -> str:
    """A party at `table` that ordered and paid (games and feedback want a paid bill)."""
    r = k.order(token, [TEA], key=f"fuzz-paid-{table}-000001")
    assert r.status_code == 201, r.text
    r = k.staff.post(f"/api/tables/{table}/pay", json={"method": "cash"})
    assert r.status_code == 200, r.text
    payment: str = r.json()["id"]
    return payment


def seed(k: Kitchen, staff_cookie: str) -> dict[str, list[Any]]:
    """What the hub holds before the runs, and the values Schemathesis mixes into what it
    makes, so that handlers find what they look up."""
    tokens = table_tokens(k.staff)
    tables = sorted(tokens)
    unpaid = [t for t in tables if t not in ("A1", "A3", *GAME_TABLES.values())]
    # A1: a party that ordered and has not paid; A2 paid; A3: a member's party that paid.
    r = k.order(tokens["A1"], [KUNGPAO, TEA], key="fuzz-order-a1-000001")
    assert r.status_code == 201, r.text
    order = r.json()
    for table in unpaid:  # more parties owing, so that some are left to pay when it is tried
        r = k.order(tokens[table], [TEA], key=f"fuzz-order-{table}-00001")
        assert r.status_code == 201, r.text
    # The last of them is left out of the tables Schemathesis names: its order is there to void
    # (not paid and closed before the voids are tried).
    kept = r.json()
    phone, member = join(k.hub.base_url, tokens["A3"], PHONES[0])
    member_session = phone.cookies["ss_member"]
    payment = paid_table(k, tokens["A3"], "A3")
    for table in GAME_TABLES.values():  # each table plays 20 a minute: the games have a table each
        paid_table(k, tokens[table], table)
    # A3's member asked the quiz's question: its answer is what Schemathesis may send.
    quiz = "pfuzzquiz0000000001"
    r = phone.post(f"/api/diner/{tokens['A3']}/games/quiz/play", json={"play": quiz})
    assert r.status_code == 200, r.text
    choices = [c["id"] for c in r.json()["question"]["choices"]]
    code = phone.get(f"/api/diner/{tokens['A3']}/member/code").json()
    phone.close()
    r = k.diner.post(f"/api/diner/{tokens['A1']}/call", json={"reason": "water"})
    assert r.status_code == 200, r.text
    call = r.json()["call"]["id"]
    sign_ins = []
    # Sign-ins asked at other tables, to confirm or refuse: the member's, and numbers that
    # are none (the page cannot tell them apart; confirming one tells the waiter).
    for table, number in zip(unpaid * 2, [PHONES[0], *NEW_PHONES], strict=False):
        r = k.diner.post(f"/api/diner/{tokens[table]}/member/sign-in", json={"phone": number})
        assert r.status_code == 202, r.text
        sign_ins.append(r.json()["id"])
    taken = []
    for n in range(len(LINE)):
        r = k.diner.post("/api/waitlist/take", json={"key": f"fuzz-take-{n:04d}", "size": 2})
        assert r.status_code == 201, r.text
        taken.append(r.json()["number"])
    view = k.staff.get("/api/waitlist").json()
    uid = {p["number"]: p["id"] for g in view["groups"] for p in g["waiting"]}
    parties: dict[str, list[str]] = {}
    for number, (action, state) in zip(taken, LINE, strict=True):
        parties.setdefault(f"party_{action}", []).append(uid[number])
        for step in {"waiting": [], "called": ["call"], "no-show": ["call", "no-show"]}[state]:
            r = k.staff.post(f"/api/waitlist/parties/{uid[number]}/{step}")
            assert r.status_code == 200, r.text
    waiting = k.diner.post("/api/waitlist/take", json={"key": "fuzz-take-me01", "size": 2}).json()
    jobs = wait_until(
        lambda: [j for o in k.staff.get("/api/orders").json()["orders"] for j in o["print"]],
        what="the kitchen's print jobs",
    )
    r = k.diner.post("/api/bookings", json=BOOKING)
    assert r.status_code == 201, r.text
    booking = r.json()["id"]
    return {
        "table_tokens": [tokens[t] for t in ("A1", "A2", "A3")],
        **{f"{op}_tokens": [tokens[GAME_TABLES[op]]] for op in GAME_TABLES},
        "answer_tokens": [tokens["A3"]],  # where the quiz's question was asked
        "member_sessions": [member_session],
        "campaigns": CAMPAIGNS,
        "wheel_and_quiz": ["wheel", "quiz"],
        "quiz": ["quiz"],
        "scan": ["scan"],
        "stamps": ["stamps"],
        "sign_ins": sign_ins,
        # The code the member's phone shows now, and those it will show in the minutes a run
        # lasts (a code is good for its minute and the next: what staff scan at the bill).
        "member_codes": [code["code"]]
        + [
            member_code(derived_key(SECRET, "member-code"), member["id"], time.time() + 60 * n)
            for n in range(1, 6)
        ],
        "tables": [t for t in tables if t not in unpaid],
        "billed_tables": unpaid[:1],
        "orders": [order["id"]],
        "kept_orders": [kept["id"]],
        "kept_lines": [line["id"] for line in kept["lines"]],
        "lines": [line["id"] for line in order["lines"]],
        "calls": [call],
        "dishes": ["kungpao", "tea", "rice"],
        "devices": sorted(d.id for d in k.broker.inventory.devices),
        "members": [member["id"]],
        "groups": ["A", "B", "C", "D"],
        "numbers": [n for n, (action, _) in zip(taken, LINE, strict=True) if action == "number"],
        "days": [BOOKING["day"], time.strftime("%Y-%m-%d")],
        "phones": PHONES + NEW_PHONES,
        "plays": [quiz],
        "choices": choices,
        "sizes": [1, 2, 4, 6],
        "slots": [BOOKING["slot"]],
        "payments": [payment],
        "waitlist_tokens": [waiting["token"]],
        **parties,
        "free_tables": ["A3"],  # paid: a party may sit there
        "bookings": [booking],
        "print_jobs": [j["id"] for j in jobs],
        "staff": [STAFF],
        "pins": [PIN],
        "staff_cookie": [staff_cookie],
    }


def fuzz(
    k: Kitchen, tmp_path: Path, name: str, values: dict[str, list[Any]], selected: list[str]
) -> dict[str, Counter[int]]:
    """Run Schemathesis on `selected`; returns each operation's statuses, from the HAR."""
    work = tmp_path / name
    work.mkdir()
    config = work / "schemathesis.toml"
    config.write_text(schemathesis_toml(values))
    har = work / "run.har"
    repo = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
        "SCHEMATHESIS_HOOKS": HOOKS,
        "SMARTSTORE_FUZZ_DB": str(k.hub.settings.db_path),
        "SMARTSTORE_FUZZ_STAFF_COOKIE": values["staff_cookie"][0],
    }
    r = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{k.hub.base_url}/openapi.json",
            *(f"--include-name={op}" for op in selected),
            "--request-timeout=10",
            "--report=har",
            f"--report-har-path={har}",
        ],
        cwd=work,  # its caches and Hypothesis' database stay out of the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    (work / "output.txt").write_text(r.stdout + r.stderr)
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-2000:]
    return statuses(json.loads(har.read_text()), selected)


@contextmanager
def fuzz_kitchen(tmp_path: Path, store: str, config: StoreConfig) -> Iterator[Kitchen]:
    """tests.games.games_kitchen with eight tables in zone A (A1 to A8) and no limits."""
    printers = {s: VirtualPrinter().start() for s in STATIONS}
    ports = {s: p.port for s, p in printers.items()}
    inventory = make_inventory(store, buttons=8, printer_ports=ports)
    broker = start_broker(tmp_path / "mqtt", inventory)
    settings = hub_settings(broker, tmp_path / "hub", **UNLIMITED)
    seed_config(settings, config)
    hub = run_hub_thread(settings)
    try:
        yield Kitchen(broker, hub, printers, hub.client(), hub.client(login=False))
    finally:
        hub.stop()
        broker.stop()
        for p in printers.values():
            p.stop()


def run(tmp_path: Path, store: str, scheme: str | None) -> None:
    """Fuzz the operations taking `scheme` (None: the diners', which take none) on a hub of
    their own, and prove each answered 2xx at least once."""
    # No-shows may be marked at once (the grace time has tests of its own).
    config = store_config().model_copy(update={"waitlist": WaitlistConfig(no_show_grace_s=0)})
    with fuzz_kitchen(tmp_path, store, config) as k:
        ops = operations(httpx.get(f"{k.hub.base_url}/openapi.json").json())
        assert set(ops.values()) == {None, STAFF_SCHEME}, "an operation with another scheme"
        selected = sorted(op for op, taken in ops.items() if taken == scheme)
        values = seed(k, k.staff.cookies["ss_staff"])
        seen = fuzz(k, tmp_path, scheme or "diners", values, selected)
        assert_each_reached_its_handler(seen, [op for op in selected if op not in UNREACHED])


def test_diner_api_past_the_table_codes(tmp_path: Path, store: str) -> None:
    run(tmp_path, store, None)


def test_staff_api_past_the_login(tmp_path: Path, store: str) -> None:
    run(tmp_path, store, STAFF_SCHEME)
