"""The commands domain in the writer's transaction (edge/commands/domain.py): replies and
timeouts reach the staff board only once committed."""

import pytest

from contract import CommandReply, RejectReason, WireError
from contract.const import CommandName, ReplyStatus
from contract.inventory import DeviceSpec, Inventory
from edge.commands import service as commands
from edge.commands.domain import CommandsDomain, parse_reply
from edge.commands.service import ReplyReport
from edge.core.domain import HubContext
from edge.devices.domain import DevicesDomain
from tests.fast.fakes import RecordingLive
from tests.fast.helpers import NOW, STAFF, StoreDb, build


@pytest.fixture
def domain(hub_ctx: HubContext) -> CommandsDomain:
    build(hub_ctx, DevicesDomain, CommandsDomain)  # devices: the rows commands name
    return hub_ctx.get(CommandsDomain)


def _send(db: StoreDb, device: DeviceSpec, name: CommandName, at: float = NOW) -> str:
    with db.sessions.begin() as s:
        return commands.create(s, device, name, {}, STAFF, at).id


def test_a_reply_reaches_the_board_after_commit(
    domain: CommandsDomain, db: StoreDb, inventory: Inventory, board: RecordingLive
) -> None:
    kiosk = inventory.by_id()["kiosk-01"]
    sent = _send(db, kiosk, CommandName.REBOOT)
    reply = ReplyReport(kiosk, CommandReply(id=sent, status=ReplyStatus.OK), NOW + 3)
    with db.sessions.begin() as s:
        done = domain.write(s, [reply], NOW + 3)
        assert board.messages == []
    assert done is not None
    done()
    [message] = board.messages
    assert message["type"] == "commands"
    [shown] = message["commands"]
    assert (shown["id"], shown["device"], shown["name"], shown["status"], shown["replied_at"]) == (
        sent,
        "kiosk-01",
        "reboot",
        "ok",
        NOW + 3,
    )
    # The same reply again (QoS 1 may deliver twice): nothing new to tell.
    with db.sessions.begin() as s:
        assert domain.write(s, [reply], NOW + 4) is None


def test_the_tick_times_out_unanswered_commands_and_says_so(
    domain: CommandsDomain, db: StoreDb, inventory: Inventory, board: RecordingLive
) -> None:
    timeout = domain.hub.settings.command_timeout_s
    assert timeout == 10.0
    sent = _send(db, inventory.by_id()["btn-002"], CommandName.LOCATE)
    with db.sessions.begin() as s:
        assert domain.tick(s, NOW + timeout - 0.5) is None
    with db.sessions.begin() as s:
        done = domain.tick(s, NOW + timeout)
    assert done is not None
    done()
    assert [(c["id"], c["status"], c["args"]) for c in board.messages[0]["commands"]] == [
        (sent, "timeout", {"seconds": 10})
    ]


def test_a_reply_parses_from_its_payload_and_must_name_its_own_device(
    inventory: Inventory,
) -> None:
    screen = inventory.by_id()["screen-01"]
    report = parse_reply(
        screen, b'{"v":1,"id":"cmd-0123456789abcdef","status":"error","error":"panel off"}', NOW
    )
    assert (report.device.id, report.reply.id, report.reply.status, report.reply.error) == (
        "screen-01",
        "cmd-0123456789abcdef",
        ReplyStatus.ERROR,
        "panel off",
    )
    with pytest.raises(WireError) as caught:
        parse_reply(screen, b'{"v":1,"id":"cmd-00000001","status":"ok","device":"kiosk-01"}', NOW)
    assert caught.value.reason is RejectReason.DEVICE_MISMATCH


def test_the_board_learns_which_device_takes_which_command(
    domain: CommandsDomain, db: StoreDb
) -> None:
    with db.reads() as s:
        snapshot = domain.snapshot(s)
    # What the board offers per device type (contract/const.py COMMANDS): a button and a
    # printer have no screen to display on.
    assert snapshot["commands"] == {
        "call_button": ["locate", "reboot"],
        "smart_table": ["display", "locate", "reboot"],
        "kiosk": ["display", "locate", "reboot"],
        "queue_screen": ["display", "locate", "reboot"],
        "printer": ["locate", "reboot"],
    }
