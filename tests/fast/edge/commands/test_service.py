"""Commands to devices: checked before anything is stored, answered by a reply or timed out
(edge/commands/service.py; docs/wire-contract.md §4)."""

import pytest

from contract import CommandReply
from contract.const import DISPLAY_TEXT_MAX, LOCATE_SECONDS_MAX, CommandName, ReplyStatus
from contract.inventory import DeviceSpec, Inventory
from edge.commands import service as commands
from edge.commands.models import DeviceCommand
from edge.commands.service import CommandRefused, ReplyReport
from edge.devices import service as devices
from tests.fast.helpers import NOW, STAFF, StoreDb, count

TIMEOUT_S = 10.0


@pytest.fixture
def fleet(db: StoreDb, inventory: Inventory) -> dict[str, DeviceSpec]:
    with db.sessions.begin() as s:
        devices.sync_inventory(s, inventory)  # commands name a device row
    return inventory.by_id()


@pytest.mark.parametrize(
    ("device", "name", "args", "sent"),
    [
        ("btn-001", CommandName.LOCATE, {}, {"seconds": 10}),
        ("btn-001", CommandName.LOCATE, {"seconds": 1}, {"seconds": 1}),
        ("printer-01", CommandName.LOCATE, {"seconds": 60}, {"seconds": 60}),
        (
            "kiosk-01",
            CommandName.DISPLAY,
            {"text": "  请稍候 Please wait "},
            {"text": "请稍候 Please wait"},
        ),
        ("screen-01", CommandName.DISPLAY, {"text": "字" * 64}, {"text": "字" * 64}),
        ("table-001", CommandName.REBOOT, {"seconds": 5}, {}),  # reboot takes no arguments
    ],
)
def test_what_the_hub_sends(
    inventory: Inventory,
    device: str,
    name: CommandName,
    args: dict[str, str | int],
    sent: dict[str, str | int],
) -> None:
    assert commands.checked_args(inventory.by_id()[device], name, args) == sent


@pytest.mark.parametrize(
    ("device", "name", "args", "says"),
    [
        ("btn-001", CommandName.DISPLAY, {"text": "hi"}, "a call_button cannot display"),
        ("printer-01", CommandName.DISPLAY, {"text": "hi"}, "a printer cannot display"),
        ("kiosk-01", CommandName.DISPLAY, {}, "display needs text of 1 to 64 characters"),
        ("kiosk-01", CommandName.DISPLAY, {"text": "   "}, "display needs text of 1 to 64"),
        ("kiosk-01", CommandName.DISPLAY, {"text": "x" * 65}, "display needs text of 1 to 64"),
        ("kiosk-01", CommandName.DISPLAY, {"text": 7}, "display needs text of 1 to 64"),
        ("btn-001", CommandName.LOCATE, {"seconds": 0}, "seconds must be 1 to 60"),
        ("btn-001", CommandName.LOCATE, {"seconds": 61}, "seconds must be 1 to 60"),
        ("btn-001", CommandName.LOCATE, {"seconds": "5"}, "seconds must be 1 to 60"),
        ("btn-001", CommandName.LOCATE, {"seconds": True}, "seconds must be 1 to 60"),
    ],
)
def test_what_the_hub_refuses(
    inventory: Inventory,
    device: str,
    name: CommandName,
    args: dict[str, str | int],
    says: str,
) -> None:
    with pytest.raises(CommandRefused) as caught:
        commands.checked_args(inventory.by_id()[device], name, args)
    assert str(caught.value).startswith(says)
    assert " / " in str(caught.value)  # and in Chinese
    assert (DISPLAY_TEXT_MAX, LOCATE_SECONDS_MAX) == (64, 60)


def _send(db: StoreDb, device: DeviceSpec, at: float = NOW) -> str:
    with db.sessions.begin() as s:
        return commands.create(s, device, CommandName.LOCATE, {}, STAFF, at).id


def _reply(
    db: StoreDb,
    device: DeviceSpec,
    command_id: str,
    status: ReplyStatus,
    error: str | None = None,
    at: float = NOW + 2,
) -> DeviceCommand | None:
    reply = CommandReply(id=command_id, status=status, error=error)
    with db.sessions.begin() as s:
        return commands.record_reply(s, ReplyReport(device, reply, at))


def _status(db: StoreDb, command_id: str) -> tuple[str, float | None, str | None]:
    with db.reads() as s:
        row = s.get(DeviceCommand, command_id)
        assert row is not None
        return row.status, row.replied_at, row.error


def test_a_command_is_stored_pending_with_who_sent_it(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    command_id = _send(db, fleet["btn-001"])
    assert command_id.startswith("cmd-") and len(command_id) == 20
    with db.reads() as s:
        row = s.get(DeviceCommand, command_id)
        assert row is not None
        assert (row.device_id, row.name, row.args, row.staff, row.status) == (
            "btn-001",
            "locate",
            {"seconds": 10},
            STAFF,
            "pending",
        )
    with db.sessions.begin() as s, pytest.raises(CommandRefused):
        commands.create(s, fleet["btn-001"], CommandName.DISPLAY, {"text": "x"}, STAFF, NOW)
    with db.reads() as s:
        assert count(s, DeviceCommand) == 1  # a refused command is never stored


def test_a_reply_settles_the_command_once(db: StoreDb, fleet: dict[str, DeviceSpec]) -> None:
    btn = fleet["btn-001"]
    ok = _send(db, btn)
    failed = _send(db, btn)
    assert _reply(db, btn, ok, ReplyStatus.OK, error="ignored with ok") is not None
    assert _reply(db, btn, failed, ReplyStatus.ERROR, error="button stuck") is not None
    assert _status(db, ok) == ("ok", NOW + 2, None)
    assert _status(db, failed) == ("error", NOW + 2, "button stuck")
    # A second reply changes nothing.
    assert _reply(db, btn, failed, ReplyStatus.OK) is None
    assert _status(db, failed) == ("error", NOW + 2, "button stuck")


def test_a_reply_for_another_device_or_an_unknown_command_is_ignored(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    mine = _send(db, fleet["btn-001"])
    assert _reply(db, fleet["btn-002"], mine, ReplyStatus.OK) is None
    assert _reply(db, fleet["btn-001"], "cmd-0000000000000000", ReplyStatus.OK) is None
    assert _status(db, mine) == ("pending", None, None)


def test_unanswered_commands_time_out_and_a_late_reply_still_counts(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    btn = fleet["btn-001"]
    old = _send(db, btn, NOW)
    answered = _send(db, btn, NOW)
    young = _send(db, btn, NOW + 5)
    _reply(db, btn, answered, ReplyStatus.OK)
    with db.sessions.begin() as s:
        assert commands.expire(s, NOW + TIMEOUT_S - 0.1, TIMEOUT_S) == []
    with db.sessions.begin() as s:
        assert [c.id for c in commands.expire(s, NOW + TIMEOUT_S, TIMEOUT_S)] == [old]
    with db.sessions.begin() as s:
        assert [c.id for c in commands.expire(s, NOW + TIMEOUT_S + 5, TIMEOUT_S)] == [young]
    assert [_status(db, c)[0] for c in (old, answered, young)] == ["timeout", "ok", "timeout"]
    # The device answered after all: timeout becomes ok (docs/wire-contract.md §4).
    assert _reply(db, btn, old, ReplyStatus.OK, at=NOW + 12) is not None
    assert _status(db, old) == ("ok", NOW + 12, None)
