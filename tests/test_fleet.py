"""The device fleet through the real broker: presence, heartbeats, alarms, commands, and what
one device's credentials can and cannot do (with the ACL generated from the inventory)."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from contract import Channel, DeviceType
from contract.const import PaperLevel
from devices.printer import PrinterBridge
from tests.support import (
    Broker,
    Hub,
    hub_settings,
    on_loop,
    run_hub_thread,
    running_fleet,
    until_marker,
    wait_until,
)


def device(staff: httpx.Client, device_id: str) -> dict[str, object]:
    rows = {d["id"]: d for d in staff.get("/api/devices").json()}
    found: dict[str, object] = rows[device_id]
    return found


def alarms(staff: httpx.Client) -> set[tuple[str, str]]:
    return {(a["device"], a["kind"]) for a in staff.get("/api/alarms").json()}


def test_a_silent_device_goes_offline_and_recovers(broker: Broker, tmp_path: Path) -> None:
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub", device_silent_after_s=2.0))
    staff = hub.client()
    try:
        with running_fleet(broker, telemetry_every_s=0.5) as fleet:
            wait_until(lambda: device(staff, "screen-01")["state"] == "online", what="online")
            screen = fleet.devices["screen-01"]
            # Hung, but its TCP connection stays up: no Will fires, only silence tells.
            on_loop(fleet, screen.freeze)
            wait_until(
                lambda: device(staff, "screen-01")["state"] == "offline",
                timeout=2.0 + 3.0,
                what="silent -> offline within the timeout and a tick",
            )
            assert device(staff, "screen-01")["state_reason"] == "silent"
            assert ("screen-01", "offline") in alarms(staff)
            on_loop(fleet, screen.thaw)
            wait_until(lambda: device(staff, "screen-01")["state"] == "online", what="recovered")
            wait_until(lambda: ("screen-01", "offline") not in alarms(staff), what="alarm cleared")
    finally:
        hub.stop()


def test_a_device_that_drops_off_is_offline_by_its_will_and_comes_back(
    broker: Broker, hub: Hub
) -> None:
    staff = hub.client()
    with running_fleet(broker) as fleet:
        kiosk = fleet.devices["kiosk-01"]
        wait_until(lambda: device(staff, "kiosk-01")["state"] == "online", what="online")
        on_loop(fleet, lambda: kiosk.stop(clean=False))
        wait_until(lambda: device(staff, "kiosk-01")["state"] == "offline", what="the Will")
        assert device(staff, "kiosk-01")["state_reason"] == "will"
        on_loop(fleet, kiosk.restart)
        wait_until(lambda: device(staff, "kiosk-01")["state"] == "online", what="back online")
        # Switched off properly, it says goodbye itself: staff can tell that from a failure.
        on_loop(fleet, lambda: kiosk.stop(clean=True))
        wait_until(lambda: device(staff, "kiosk-01")["state"] == "offline", what="the goodbye")
        assert device(staff, "kiosk-01")["state_reason"] == "goodbye"


def test_printer_paper_out_raises_an_alarm_that_clears_when_refilled(
    broker: Broker, hub: Hub
) -> None:
    staff = hub.client()
    with running_fleet(broker) as fleet:
        printer = fleet.devices["printer-01"]
        assert isinstance(printer, PrinterBridge)
        wait_until(lambda: device(staff, "printer-01")["paper"] == "ok", what="first heartbeat")
        on_loop(fleet, lambda: printer.set_printer(paper=PaperLevel.OUT, online=False))
        wait_until(
            lambda: (
                {("printer-01", "paper_out"), ("printer-01", "printer_offline")} <= alarms(staff)
            ),
            what="paper-out and printer-offline alarms",
        )
        on_loop(fleet, lambda: printer.set_printer(paper=PaperLevel.OK, online=True))
        wait_until(lambda: not alarms(staff), what="alarms cleared")
        assert device(staff, "printer-01")["alarms"] == []


def test_low_battery_is_an_alarm(broker: Broker, tmp_path: Path) -> None:
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub", battery_low_pct=100.0))
    try:
        staff = hub.client()
        with running_fleet(broker, telemetry_every_s=0.3):
            wait_until(lambda: ("btn-001", "battery_low") in alarms(staff), what="battery_low")
            # Mains-powered devices report no battery and raise no such alarm (once the
            # printer's telemetry is in, the hub has judged it).
            wait_until(lambda: device(staff, "printer-01")["paper"] == "ok", what="its heartbeat")
            assert device(staff, "printer-01")["battery_pct"] is None
            assert ("printer-01", "battery_low") not in alarms(staff)
    finally:
        hub.stop()


def test_commands_are_confirmed_by_the_device(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    with running_fleet(broker) as fleet:
        r = staff.post(
            "/api/devices/screen-01/commands",
            json={"name": "display", "args": {"text": "请A12号就餐 A12 please"}},
        )
        assert r.status_code == 202, r.text
        sent = r.json()
        assert sent["status"] == "pending" and sent["staff"] == "alice"
        wait_until(
            lambda: staff.get("/api/devices/screen-01/commands").json()[0]["status"] == "ok",
            what="the screen's reply",
        )
        assert fleet.devices["screen-01"].display_text == "请A12号就餐 A12 please"

        r = staff.post(
            "/api/devices/btn-001/commands", json={"name": "locate", "args": {"seconds": 5}}
        )
        assert r.status_code == 202
        wait_until(lambda: fleet.devices["btn-001"].locating_until > 0, what="the button blinking")

        # A reboot is answered, then the device comes back with a new boot.
        r = staff.post("/api/devices/kiosk-01/commands", json={"name": "reboot"})
        wait_until(lambda: fleet.devices["kiosk-01"].reboots == 1, what="the reboot")
        wait_until(
            lambda: staff.get("/api/devices/kiosk-01/commands").json()[0]["status"] == "ok",
            what="the reboot confirmed",
        )


def test_commands_a_device_cannot_do_are_refused_clearly(hub: Hub) -> None:
    staff = hub.client()
    r = staff.post(
        "/api/devices/btn-001/commands", json={"name": "display", "args": {"text": "hi"}}
    )
    assert r.status_code == 422 and "cannot display" in r.json()["detail"]
    r = staff.post(
        "/api/devices/screen-01/commands", json={"name": "display", "args": {"text": ""}}
    )
    assert r.status_code == 422 and "1 to 64" in r.json()["detail"]

    # docs/wire-contract.md §4, commands: text of 1 … 64 characters (characters, not bytes),
    # seconds an integer 1 … 60.
    def send(device: str, name: str, args: dict[str, object]) -> int:
        r = staff.post(f"/api/devices/{device}/commands", json={"name": name, "args": args})
        return r.status_code

    assert send("screen-01", "display", {"text": "请" * 64}) == 202
    assert send("screen-01", "display", {"text": "请" * 65}) == 422
    assert send("btn-001", "locate", {"seconds": 60}) == 202
    assert send("btn-001", "locate", {"seconds": 1}) == 202
    assert send("btn-001", "locate", {"seconds": 61}) == 422
    assert send("btn-001", "locate", {"seconds": 0}) == 422
    r = staff.post(
        "/api/devices/btn-001/commands", json={"name": "locate", "args": {"seconds": True}}
    )
    assert r.status_code == 422
    r = staff.post("/api/devices/nope/commands", json={"name": "locate"})
    assert r.status_code == 404
    assert staff.get("/api/devices/nope/commands").status_code == 404
    assert (
        hub.client(login=False)
        .post("/api/devices/btn-001/commands", json={"name": "reboot"})
        .status_code
        == 401
    )


def test_a_command_to_a_dead_device_times_out(broker: Broker, tmp_path: Path) -> None:
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub", command_timeout_s=1.0))
    try:
        staff = hub.client()
        r = staff.post("/api/devices/btn-002/commands", json={"name": "locate"})  # nobody runs it
        assert r.status_code == 202
        wait_until(
            lambda: staff.get("/api/devices/btn-002/commands").json()[0]["status"] == "timeout",
            timeout=5,
            what="the timeout",
        )
    finally:
        hub.stop()


def test_a_reply_for_another_devices_command_changes_nothing(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    cmd = staff.post("/api/devices/btn-002/commands", json={"name": "locate"}).json()
    # btn-001 answers btn-002's command on its own reply topic (the only one it may use).
    broker.pub(
        "btn-001",
        broker.topic("btn-001", Channel.REPLY),
        json.dumps({"v": 1, "id": cmd["id"], "status": "ok"}),
    )
    broker.press("btn-003")  # processed after the forged reply
    wait_until(lambda: staff.get("/api/calls").json(), what="the marker press")
    assert staff.get("/api/devices/btn-002/commands").json()[0]["status"] == "pending"


def test_a_button_cannot_read_another_devices_commands(broker: Broker, hub: Hub) -> None:
    """btn-001 subscribes to every button's commands and to everything in the store; the broker
    delivers it only its own. Its commands before and after btn-002's prove its subscriptions
    were live throughout: it got both, and btn-002's command, sent between them, never."""
    staff = hub.client()

    def command(device: str) -> str:
        r = staff.post(f"/api/devices/{device}/commands", json={"name": "locate"})
        r.raise_for_status()
        command_id: str = r.json()["id"]
        return command_id

    def ids(lines: list[str]) -> list[str]:
        return [json.loads(line).get("id", "") for line in lines]

    def is_(command_id: str) -> Callable[[str], bool]:
        return lambda line: json.loads(line).get("id") == command_id

    every_buttons_commands = f"store/{broker.store}/{DeviceType.CALL_BUTTON}/+/cmd"
    with (
        broker.sub("btn-001", every_buttons_commands) as stolen,
        broker.sub("btn-001", "store/#") as everything,
        broker.sub("btn-002", broker.topic("btn-002", Channel.CMD)) as own,
    ):
        before = command("btn-001")
        until_marker(stolen, is_(before), "btn-001's own command on the wildcard")
        until_marker(everything, is_(before), "btn-001's own command on store/#")
        forbidden = command("btn-002")
        until_marker(own, is_(forbidden), "btn-002 receiving its command")
        after = command("btn-001")
        stolen_seen = until_marker(stolen, is_(after), "btn-001's next command on the wildcard")
        everything_seen = until_marker(everything, is_(after), "btn-001's next command")
    assert ids(stolen_seen) == [before, after]
    # On store/#: what any device may read (the hub's retained presence, ready numbers and
    # waitlist board), then its own two commands; btn-002's, sent between them, is not there.
    seen = [json.loads(line) for line in everything_seen]
    # The waitlist's board (nobody called yet), retained, and republished every 30 s as its
    # estimates age: it may come at any point.
    lines = [m for m in seen if "call_seq" in m]
    assert lines and all(m["call_seq"] == 0 and len(m["groups"]) == 4 for m in lines)
    rest = [m for m in seen if "call_seq" not in m]
    retained = sorted(json.dumps({k: m[k] for k in sorted(m) if k != "ts_ms"}) for m in rest[:2])
    assert retained == ['{"ready": [], "v": 1}', '{"state": "online", "v": 1}']
    assert [m["id"] for m in rest[2:]] == [before, after]
    assert forbidden not in ids(everything_seen)


def test_unprovisioned_and_wrong_password_devices_are_refused(broker: Broker) -> None:
    base = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-m", "{}", "-t"]
    topic = "store/" + broker.store + "/call_button/btn-999/event"
    r = subprocess.run(
        [*base, topic, "-u", "btn-999", "-P", "guess"], capture_output=True, text=True, timeout=10
    )
    assert r.returncode != 0 and "not authorised" in r.stderr.lower()
    r = subprocess.run(
        [*base, broker.topic("btn-001"), "-u", "btn-001", "-P", "wrong"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode != 0 and "not authorised" in r.stderr.lower()
    r = subprocess.run([*base, broker.topic("btn-001")], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0  # anonymous


def test_a_spoofed_device_id_in_telemetry_is_rejected(broker: Broker, hub: Hub) -> None:
    staff = hub.client()
    broker.pub(
        "btn-001",
        broker.topic("btn-001", Channel.TELEMETRY),
        json.dumps({"v": 1, "device": "btn-002", "battery_pct": 3}),
    )
    wait_until(
        lambda: staff.get("/api/stats").json()["rejected"].get("device_mismatch") == 1,
        what="mismatch",
    )
    assert device(staff, "btn-002")["battery_pct"] is None


def test_a_sleeping_button_is_gone_only_after_its_own_silence_limit(
    broker: Broker, tmp_path: Path
) -> None:
    hub = run_hub_thread(
        hub_settings(broker, tmp_path / "hub", device_silent_after_s=1.0, sleepy_silent_after_s=3.0)
    )
    try:
        staff = hub.client()
        state = broker.topic("btn-003", Channel.STATE)
        telemetry = broker.topic("btn-003", Channel.TELEMETRY)
        broker.pub("btn-003", state, json.dumps({"v": 1, "state": "online"}))
        broker.pub("btn-003", telemetry, json.dumps({"v": 1, "battery_pct": 9.5}))
        wait_until(lambda: ("btn-003", "battery_low") in alarms(staff), what="battery_low")
        broker.pub("btn-003", state, json.dumps({"v": 1, "state": "offline"}))  # goes to sleep
        wait_until(lambda: device(staff, "btn-003")["state"] == "asleep", what="asleep")
        # Asleep is not a failure, and its battery is as low as it was: that alarm stays.
        assert alarms(staff) == {("btn-003", "battery_low")}
        # Past the mains devices' limit it is still just asleep; past its own, it is gone.
        wait_until(lambda: device(staff, "btn-003")["state"] == "offline", timeout=6, what="gone")
        gone = device(staff, "btn-003")
        assert gone["state_reason"] == "silent"
        silent_for = float(str(gone["state_at"])) - float(str(gone["last_seen"]))
        assert silent_for >= 3.0, silent_for  # its own limit, not the mains devices' 1 s
        assert alarms(staff) == {("btn-003", "offline")}
    finally:
        hub.stop()
