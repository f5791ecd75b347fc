"""The call-button simulator speaks the contract over the real broker: presence with a Last
Will, telemetry, and presses resent until the hub acknowledges them."""

from pathlib import Path

from devices.fleet import Fleet
from tests.support import Broker, Hub, hub_settings, run_hub_thread, wait_until


def test_presses_made_while_the_hub_is_away_arrive_once(broker: Broker, tmp_path: Path) -> None:
    fleet = Fleet(broker.inventory, broker.accounts, "127.0.0.1", broker.port)
    fleet.start()
    hub = None
    try:
        fleet.wait_connected()
        button = fleet.buttons[0]
        fleet.loop.call_soon_threadsafe(button.press)
        fleet.loop.call_soon_threadsafe(button.press)
        # No hub has ever connected: the broker has no session for it, so only the device's
        # resending can deliver these.
        wait_until(lambda: button.resent >= 2, timeout=10, what="the button to resend")
        assert fleet.unacknowledged() == 2
        hub = run_hub_thread(hub_settings(broker, tmp_path / "hub"))
        wait_until(lambda: fleet.unacknowledged() == 0, timeout=15, what="acks from the hub")
        staff = hub.client()
        calls = staff.get("/api/calls").json()
        assert len(calls) == 1 and calls[0]["presses"] == 2
        assert button.acked == 2
    finally:
        fleet.stop()
        if hub is not None:
            hub.stop()


def test_presence_and_telemetry_reach_the_device_list(broker: Broker, hub: Hub) -> None:
    fleet = Fleet(
        broker.inventory, broker.accounts, "127.0.0.1", broker.port, telemetry_every_s=0.3
    )
    fleet.start()
    staff = hub.client()
    try:
        fleet.wait_connected()

        def device(name: str) -> dict[str, object]:
            rows = {d["id"]: d for d in staff.get("/api/devices").json()}
            found: dict[str, object] = rows[name]
            return found

        wait_until(lambda: device("btn-001")["battery_pct"] is not None, what="telemetry")
        d = device("btn-001")
        assert d["state"] == "online" and d["fw"] == "sim-0.1.0"
        assert -130 <= d["rssi_dbm"] <= 0  # type: ignore[operator]
        # Every device type has a simulator; the printer bridge reports its printer too.
        wait_until(lambda: device("printer-01")["paper"] == "ok", what="printer telemetry")
        assert {device(d)["state"] for d in ("kiosk-01", "screen-01", "table-001")} == {"online"}

        # A smart table (mains powered) drops off without a goodbye: its Will says offline.
        table = fleet.devices["table-001"]
        fleet.loop.call_soon_threadsafe(lambda: table.stop(clean=False))
        wait_until(lambda: device("table-001")["state"] == "offline", timeout=45, what="the Will")
        # A battery button disconnecting is a button going to sleep: no alarm.
        button = fleet.devices["btn-002"]
        fleet.loop.call_soon_threadsafe(lambda: button.stop(clean=False))
        wait_until(lambda: device("btn-002")["state"] == "asleep", timeout=45, what="asleep")
        assert device("btn-002")["alarms"] == []
    finally:
        fleet.stop()
