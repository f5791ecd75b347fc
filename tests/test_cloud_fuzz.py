"""Schemathesis (a client nobody here wrote) against the cloud's own OpenAPI, on real
PostgreSQL, past every login.

Each operation gets the credential its OpenAPI security requirement names, by Schemathesis'
OpenAPI-aware authentication: the admin token for AdminToken, a store's token for StoreToken,
and for HQSession a session Schemathesis opens itself at POST /api/v1/hq/login as an HQ user.
Every answer is held to the document: no 5xx, and every status, content type, header and body
declared (cloud/api/errors.py); schema-violating input refused, every method but the declared
ones refused with 405 and an Allow that names them, no operation that ignores its credential.

And a proof that can fail: the run's HAR says each operation answered 2xx at least once, so
the fuzzing got past the login into every handler (a wrong credential answers only 401).

Two runs, each on a cloud of its own: the admin's rotates and revokes store tokens, which would
shut the store out of the other run (ingest and config, and the HQ reports over what it sent).
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from cloud.api.config_push import EXAMPLE as CONFIG_EXAMPLE
from cloud.app import create_app
from cloud.db import migrate
from contract.members import phone_hash
from smartstore.cloud_service import (
    HQ_TEST_PASSWORD,
    CloudHandle,
    cloud_settings,
    run_cloud_thread,
)
from tests.test_cloud_members import joined, points
from tests.test_sales import done, line, placed, printed, utc, voided

# Schemathesis runs every operation a few dozen times, past every login: minutes on a loaded
# two-core machine, more than the suite's default per-test limit.
pytestmark = pytest.mark.timeout(400)

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
STORE = "S1"
HQ_USER = "lin"
# Members the hub sends HQ before the run, so lookups and HQ's member operations find some.
MEMBERS = ["mfuzzmember00001", "mfuzzmember00002"]
ERASABLE = ["mfuzzerasable001", "mfuzzerasable002"]
PHONE, CARD = "13800138000", "1234567890"
EXPERIMENT = "fuzz-exp"  # made before the run, so its issue and report find it
TEMPLATE = {"name_zh": "满50减10", "name_en": "10 off 50", "kind": "amount_off", "value_fen": 1000}
BOOKING = {"request_id": "fuzz-booking-0001", "day": "2030-01-07", "slot": "19:00", "size": 2,
           "name": "fuzz", "phone": PHONE}  # fmt: skip

# Schemathesis' configuration: the credentials come from the environment (SMARTSTORE_FUZZ_*),
# the dictionaries it names from DICTIONARIES below.
CONFIG = """
seed = 20261121

[cache]
enabled = false

[generation]
max-examples = 25

[checks]
enabled = true
# Refusing a batch over its size with 413 is as right as refusing it with a 4xx can be.
negative_data_rejection.expected-statuses = [
  "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
]

[[operations]]
# Valid by the schema, refused by rules a JSON schema does not state: an unknown time zone, a
# dish whose station the menu lacks, an event's contract version.
include-name-regex = "^(GET /api/v1/hq/(sales|dishes|daily)|POST /api/v1/(hq/config|ingest))$"
checks.positive_data_acceptance.enabled = false

[[operations]]
# Diners' feedback: an unknown time zone, likewise.
include-name-regex = "^GET /api/v1/hq/feedback(/comments)?$"
checks.positive_data_acceptance.enabled = false

[[operations]]
# Members, likewise: a lookup by exactly one key, a phone that is not a mobile number, a
# coupon template given twice or not at all.
include-name-regex = "^(GET /api/v1/members/lookup|POST /api/v1/hq/(member-search|coupons))$"
checks.positive_data_acceptance.enabled = false

[[operations]]
# An experiment's split that does not add up to 100, two variants with one template; an id
# that exists already (409).
include-name = "POST /api/v1/hq/experiments"
checks.positive_data_acceptance.enabled = false

[[operations]]
# An adjustment that would make a balance negative (409).
include-name = "POST /api/v1/hq/members/{member}/adjustments"
checks.positive_data_acceptance.enabled = false

[[operations]]
# Bookings HQ takes for a store: the store's hub refuses by its own rules (409), and answers
# 503 by design when it is away ("nothing was booked"); claiming or answering a request that
# is not the hub's to claim or answer is refused (409, 410).
include-name-regex = "^(POST|GET) /api/v1/(hq/stores/.+/bookings|store-requests/)"
checks.positive_data_acceptance.enabled = false
checks.not_a_server_error.enabled = false
parameters."path.store_id" = { dictionary = "stores", probability = 1.0 }
parameters."path.request" = { dictionary = "store_requests", probability = 0.9 }
parameters."path.request_id" = { dictionary = "booking_requests", probability = 0.9 }
parameters."body.request_id" = { dictionary = "booking_requests", probability = 1.0 }
parameters."body.day" = { dictionary = "booking_days", probability = 1.0 }
parameters."body.slot" = { dictionary = "booking_slots", probability = 1.0 }
parameters."body.size" = { dictionary = "booking_sizes", probability = 1.0 }
parameters."body.name" = { dictionary = "booking_names", probability = 1.0 }
parameters."body.phone" = { dictionary = "phones", probability = 1.0 }

[[operations]]
# The hub's long poll: held no longer than a moment here.
include-name = "GET /api/v1/store-requests"
parameters."query.wait" = { dictionary = "poll_waits", probability = 1.0 }

[auth.openapi.AdminToken]
bearer = "${SMARTSTORE_FUZZ_ADMIN_TOKEN}"

[auth.openapi.StoreToken]
bearer = "${SMARTSTORE_FUZZ_STORE_TOKEN}"

[auth.dynamic.openapi.HQSession]
path = "/api/v1/hq/login"
payload = { username = "${SMARTSTORE_FUZZ_HQ_USER}", password = "${SMARTSTORE_FUZZ_HQ_PASSWORD}" }
extract_selector = "/token"

[parameters]
"path.store_id" = { dictionary = "stores", probability = 0.3 }
"query.store" = { dictionary = "stores", probability = 0.3 }
"query.tz" = { dictionary = "zones", probability = 0.6 }
"header.if-none-match" = { dictionary = "config_versions", probability = 0.5 }
"path.member" = { dictionary = "members", probability = 0.5 }
"query.member" = { dictionary = "members", probability = 0.5 }
"query.phone_hash" = { dictionary = "phone_hashes", probability = 0.5 }
"query.card_no" = { dictionary = "cards", probability = 0.5 }
"body.phone" = { dictionary = "phones", probability = 0.5 }
"body.template_id" = { dictionary = "coupon_templates", probability = 0.5 }
"path.experiment" = { dictionary = "experiments", probability = 0.6 }

[[operations]]
# Erasure has members of its own: erased, the others could no longer be found by phone.
include-name = "DELETE /api/v1/hq/members/{member}"
parameters."path.member" = { dictionary = "erasable", probability = 0.8 }

[[operations]]
include-name = "POST /api/v1/ingest"
parameters."body.store" = { dictionary = "stores", probability = 0.5 }

[[operations]]
include-name = "POST /api/v1/hq/login"
parameters."body.username" = { dictionary = "hq_users", probability = 0.5 }
parameters."body.password" = { dictionary = "hq_passwords", probability = 1.0 }
"""


# Real values, mixed into what is generated, so that handlers get past their lookups: the store
# that exists (and whose token signs ingest), time zones whose offsets change (the reports'
# offset segments), the config versions a hub may run (ETags: 304 when one is the newest), and
# the HQ user with the right password (logins that work; wrong passwords lock a user out after
# five a minute, and Schemathesis logs in as this one).
DICTIONARIES = {
    "stores": [STORE],
    "zones": [
        "UTC",
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
    ],
    "config_versions": [f'"{version}"' for version in range(1, 31)],
    "hq_users": [HQ_USER],
    "hq_passwords": [HQ_TEST_PASSWORD],
    "members": MEMBERS,
    "erasable": ERASABLE,
    "phones": [PHONE],
    "cards": [CARD],
    "coupon_templates": ["welcome", "birthday"],
    "experiments": [EXPERIMENT],
    # The booking HQ took for S1 before the run (booked()): sent again, its answer.
    "booking_days": [BOOKING["day"]],
    "booking_slots": [BOOKING["slot"]],
    "booking_sizes": [BOOKING["size"]],
    "booking_names": [BOOKING["name"]],
    "poll_waits": [0],
}


def schemathesis_toml(member_key: bytes = b"", made: dict[str, list[str]] | None = None) -> str:
    # The phone's hash is the cloud's own (its member key is made per run).
    dictionaries = {
        **DICTIONARIES,
        "phone_hashes": [phone_hash(member_key, PHONE)],
        "store_requests": ["0" * 32],
        "booking_requests": [BOOKING["request_id"]],
        **(made or {}),
    }
    listed = (
        f"[dictionaries.{name}]\nvalues = {json.dumps(v)}\n" for name, v in dictionaries.items()
    )
    return CONFIG + "\n" + "\n".join(listed)


def document() -> dict[str, Any]:
    """The cloud's OpenAPI document (made without a database: it does not need one)."""
    settings = cloud_settings("sqlite://")
    return create_app(settings).openapi()


def operations(doc: dict[str, Any]) -> dict[str, str | None]:
    """Every operation ("POST /api/v1/ingest") and the security scheme it takes (None: none)."""
    found: dict[str, str | None] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            schemes = [name for requirement in op.get("security", []) for name in requirement]
            assert len(schemes) <= 1, (method, path, schemes)
            found[f"{method.upper()} {path}"] = schemes[0] if schemes else None
    return found


# Each run: the security schemes whose operations it fuzzes, and the operations without one.
ADMIN_RUN = {"AdminToken", "GET /health"}
HUB_AND_HQ_RUN = {"StoreToken", "HQSession", "POST /api/v1/hq/login"}


def selection(run: set[str]) -> list[str]:
    """The operations of a run: those taking its schemes, and those it names."""
    return sorted(op for op, scheme in operations(document()).items() if {op, scheme} & run)


def test_every_operation_is_fuzzed_in_one_run() -> None:
    everything = set(operations(document()))
    admin, hub_and_hq = set(selection(ADMIN_RUN)), set(selection(HUB_AND_HQ_RUN))
    assert admin | hub_and_hq == everything and not admin & hub_and_hq


def fuzz(
    cloud: CloudHandle, tmp_path: Path, store_token: str, selected: list[str],
    made: dict[str, list[str]] | None = None,
) -> dict[str, Counter[int]]:  # fmt: skip
    """Run Schemathesis on `selected`; returns each operation's statuses, from the HAR.
    `made`: dictionaries of what the test made before the run (its ids)."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_toml(cloud.member_key, made))
    har = tmp_path / "run.har"
    env = {
        **os.environ,
        "SMARTSTORE_FUZZ_ADMIN_TOKEN": cloud.settings.admin_token.get_secret_value(),
        "SMARTSTORE_FUZZ_STORE_TOKEN": store_token,
        "SMARTSTORE_FUZZ_HQ_USER": HQ_USER,
        "SMARTSTORE_FUZZ_HQ_PASSWORD": HQ_TEST_PASSWORD,
    }
    r = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{cloud.base_url}/openapi.json",
            *(f"--include-name={op}" for op in selected),
            "--request-timeout=10",
            "--report=har",
            f"--report-har-path={har}",
        ],
        cwd=tmp_path,  # its caches and Hypothesis' database stay out of the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    return statuses(json.loads(har.read_text()), selected)


def statuses(har: dict[str, Any], selected: list[str]) -> dict[str, Counter[int]]:
    """How often each operation answered each status, from the HAR's requests and responses."""
    templates = []
    for op in selected:
        method, path = op.split(" ", 1)
        templates.append((method, re.compile("^" + re.sub(r"\{[^/}]+\}", "[^/]+", path) + "$"), op))
    seen: dict[str, Counter[int]] = defaultdict(Counter)
    for entry in har["log"]["entries"]:
        method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
        for m, template, op in templates:
            if m == method and template.match(path):
                seen[op][entry["response"]["status"]] += 1
    return seen


def assert_each_reached_its_handler(seen: dict[str, Counter[int]], selected: list[str]) -> None:
    unreached = {op: dict(seen[op]) for op in selected if not any(200 <= s < 300 for s in seen[op])}
    assert not unreached, f"never answered 2xx (statuses seen): {unreached}"


def test_admin_api_past_the_admin_token(cloud: CloudHandle, tmp_path: Path) -> None:
    store_token = cloud.register(STORE)
    selected = selection(ADMIN_RUN)
    assert_each_reached_its_handler(fuzz(cloud, tmp_path, store_token, selected), selected)


def sales(store: httpx.Client) -> None:
    """Orders across the spring's clock changes (US 10 March, Europe 31 March, Lord Howe 7
    April), a void, a kitchen ticket and a finished order: what the reports add up."""
    days = [utc(12) + n * 86400 for n in (0, 14, 31, 45)]
    events = [
        placed(f"order-{n:04d}", at, [line("gbjd", 1), line("rice", 2)])
        for n, at in enumerate(days)
    ]
    events += [
        voided("order-0001", 1, days[1] + 60, "rice", 1),
        printed("print-0000", "order-0000", days[0], 4.5),
        done("order-0000", days[0] + 600, 600.0),
    ]
    r = store.post("/api/v1/ingest", json={"store": STORE, "events": events})
    assert r.status_code == 200 and len(r.json()["stored"]) == len(events), r.text


def members(store: httpx.Client, key: bytes) -> None:
    """Members (two ids of one phone, and two to erase), with points: what lookups find."""
    phones = [PHONE, PHONE, "13900139000", "13700137000"]
    events = [
        joined(key, m, phone, card=CARD if m == MEMBERS[0] else None)
        for m, phone in zip(MEMBERS + ERASABLE, phones, strict=True)
    ]
    events += [points(m, 1000) for m in MEMBERS + ERASABLE]
    r = store.post("/api/v1/ingest", json={"store": STORE, "events": events})
    assert r.status_code == 200 and len(r.json()["stored"]) == len(events), r.text


def booked(hub: httpx.Client, hq: httpx.Client) -> tuple[str, str]:
    """A booking HQ took for the store and its hub answered (as the hub's puller does): the
    caller's request id, and HQ's id of the request to claim and answer again. HQ waits only
    a moment here: a try the hub does not claim in time expires, and the next one is made."""
    for attempt in range(50):
        request_id = f"fuzz-booking-{attempt:04d}"
        ask = {**BOOKING, "request_id": request_id}
        with ThreadPoolExecutor(1) as pool:
            asked = pool.submit(hq.post, f"/api/v1/hq/stores/{STORE}/bookings", json=ask)
            requests: list[dict[str, Any]] = []
            while not requests and not asked.done():
                requests = hub.get("/api/v1/store-requests").json()["requests"]
            claimed = [r["id"] for r in requests if hub.post(
                f"/api/v1/store-requests/{r['id']}/claim").status_code == 200]  # fmt: skip
            assert asked.result().status_code in (202, 503)
        if claimed:
            answer = {"status": 201, "body": {"id": "fuzz-b1", "phone": "138****8000"}}
            r = hub.post(f"/api/v1/store-requests/{claimed[0]}/answer", json=answer)
            assert r.status_code == 204, r.text
            return request_id, claimed[0]
    raise AssertionError("the store's hub never claimed a booking in time")


@pytest.fixture
def quick_cloud(cloud_db: str) -> Iterator[CloudHandle]:
    """HQ waiting a moment, not 8 s, for a store's hub to answer a booking (each fuzzed one),
    and answering a hub's long poll at once."""
    migrate(cloud_db)
    settings = cloud_settings(cloud_db, store_request_wait_s=0.05, store_poll_hold_s=0)
    handle = run_cloud_thread(settings)
    yield handle
    handle.stop()


@pytest.mark.timeout(300)  # as long as Schemathesis is given: 36 operations on a busy machine
def test_hub_and_hq_api_past_their_logins(quick_cloud: CloudHandle, tmp_path: Path) -> None:
    cloud = quick_cloud
    store_token = cloud.register(STORE)
    sales(cloud.client(store_token))
    members(cloud.client(store_token), cloud.member_key)
    hq = cloud.hq(HQ_USER)  # the user Schemathesis logs in as
    r = hq.post("/api/v1/hq/config", json=CONFIG_EXAMPLE)  # so a hub has one to pull (version 1)
    assert r.status_code == 201 and r.json()["version"] == 1, r.text
    variants = [
        {"name": name, "share_pct": 50, "template": {**template, "id": name}}
        for name, template in (("a10", TEMPLATE), ("b20", {**TEMPLATE, "value_fen": 2000}))
    ]
    body = {"id": EXPERIMENT, "name": "fuzz", "variants": variants}
    assert hq.post("/api/v1/hq/experiments", json=body).status_code == 201
    request_id, store_request = booked(cloud.client(store_token), hq)
    selected = selection(HUB_AND_HQ_RUN)
    seen = fuzz(cloud, tmp_path, store_token, selected, {
        "booking_requests": [request_id], "store_requests": [store_request]})  # fmt: skip
    assert_each_reached_its_handler(seen, selected)
