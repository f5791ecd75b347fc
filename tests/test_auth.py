"""Staff login: PINs, signed sessions, a limit on guessing, no default secrets in production."""

import json
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from edge.auth import COOKIE, RateLimiter, SessionSigner
from edge.config import Settings
from tests.support import PIN, SECRET, STAFF, Hub


def test_board_and_api_need_a_login(hub: Hub) -> None:
    anon = hub.client(login=False)
    assert anon.get("/api/calls").status_code == 401
    assert anon.post("/api/calls/1/ack").status_code == 401
    assert anon.get("/api/stats").status_code == 401
    r = anon.get("/board", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/board")


def _board_socket(ws_url: str, headers: dict[str, str]) -> str:
    """What the board socket does for these headers: "refused <HTTP status>" at the
    handshake, "closed <code>" right after accepting, or "data" when it sends something."""
    try:
        with connect(ws_url, additional_headers=headers) as ws:
            ws.recv(timeout=5)
    except InvalidStatus as exc:
        return f"refused {exc.response.status_code}"
    except ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd is not None else None}"
    return "data"


def test_board_socket_refuses_anonymous_and_forged_sessions(hub: Hub) -> None:
    ws_url = hub.base_url.replace("http", "ws") + "/ws/board"
    forged = SessionSigner("x" * 40).issue(STAFF, 3600)
    # Closed before it is accepted: the server answers the handshake with 403.
    assert _board_socket(ws_url, {}) == "refused 403"
    assert _board_socket(ws_url, {"Cookie": f"{COOKIE}={forged}"}) == "refused 403"
    staff = hub.client()
    cookie = staff.cookies[COOKIE]
    with connect(ws_url, additional_headers={"Cookie": f"{COOKIE}={cookie}"}) as ws:
        snapshot = json.loads(ws.recv(timeout=5))
    assert snapshot["type"] == "snapshot" and snapshot["staff"] == STAFF
    # A page of another origin (another port of the hub's address: the same site, so the
    # browser sends the cookie) cannot open it; the hub's own page can.
    port = int(hub.base_url.rsplit(":", 1)[1])
    elsewhere = {"Cookie": f"{COOKIE}={cookie}", "Origin": f"http://127.0.0.1:{port + 1}"}
    assert _board_socket(ws_url, elsewhere) == "refused 403"
    ours = {"Cookie": f"{COOKIE}={cookie}", "Origin": hub.base_url}
    assert _board_socket(ws_url, ours) == "data"


def test_wrong_pins_are_rate_limited(hub: Hub) -> None:
    anon = hub.client(login=False)
    codes = [
        anon.post("/api/login", json={"name": STAFF, "pin": f"00000{i}"}).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    # Even the right PIN waits now: guessing cannot continue by luck.
    r = anon.post("/api/login", json={"name": STAFF, "pin": PIN})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_limiter_forgets_after_the_window() -> None:
    lim = RateLimiter(per_minute=2)
    lim.failed("1.2.3.4", now=100.0)
    lim.failed("1.2.3.4", now=101.0)
    assert lim.retry_after("1.2.3.4", now=102.0) == pytest.approx(58.0)  # until 100 + 60
    assert lim.retry_after("5.6.7.8", now=102.0) == 0
    assert lim.retry_after("1.2.3.4", now=161.5) == 0


def test_session_tokens_expire_and_resist_tampering() -> None:
    signer = SessionSigner(SECRET)
    token = signer.issue("alice", ttl_s=60, now=1000.0)
    assert signer.verify(token, now=1030.0) == "alice"
    assert signer.verify(token, now=1061.0) is None
    name, expires, mac = token.split(".")
    assert signer.verify(f"{name}.{int(expires) + 9999}.{mac}", now=1030.0) is None
    assert signer.verify("garbage", now=1030.0) is None


def test_logout_ends_the_session(hub: Hub) -> None:
    staff = hub.client()
    assert staff.get("/api/me").json() == {"name": STAFF, "role": "manager"}
    staff.post("/api/logout")
    assert staff.get("/api/me").status_code == 401


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"secret_key": ""}, "SECRET_KEY"),
        ({"staff": {}}, "SMARTSTORE_STAFF"),
        ({"staff": {"alice": "1234"}}, "too weak"),
        ({"mqtt_password": ""}, "MQTT_PASSWORD"),
    ],
)
def test_production_refuses_default_secrets(overrides: dict[str, object], complaint: str) -> None:
    values: dict[str, object] = {
        "store_id": "S1",
        "staff": {"alice": "482913"},
        "secret_key": SECRET,
        "mqtt_password": "pw",
        **overrides,
    }
    with pytest.raises(ValidationError, match=complaint):
        Settings(**values)  # type: ignore[arg-type]


def test_hub_command_explains_unusable_settings(tmp_path: Path) -> None:
    import subprocess
    import sys

    env_file = tmp_path / "hub.env"
    env_file.write_text('SMARTSTORE_STORE_ID=S1\nSMARTSTORE_STAFF={"a":"1234"}\n')
    r = subprocess.run(
        [sys.executable, "-m", "smartstore.cli", "hub", "--env-file", str(env_file)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 2
    assert "SECRET_KEY" in r.stderr and "too weak" in r.stderr


def test_login_page_is_served_without_a_session(hub: Hub) -> None:
    r = httpx.get(f"{hub.base_url}/login")
    assert r.status_code == 200 and "Staff login" in r.text and "员工登录" in r.text
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_unencodable_input_is_a_clear_422_not_a_500(hub: Hub) -> None:
    r = hub.client(login=False).post(
        "/api/login",
        content='{"name": "a\\ud800", "pin": 5}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {("body", "name"), ("body", "pin")}
