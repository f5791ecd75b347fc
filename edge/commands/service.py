"""Commands: checked against what the device type understands, stored, then answered."""

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contract import CommandReply
from contract.const import (
    COMMANDS,
    DISPLAY_TEXT_MAX,
    LOCATE_SECONDS_MAX,
    CommandName,
    ReplyStatus,
)
from contract.inventory import DeviceSpec
from edge.commands.models import DeviceCommand

PENDING = "pending"
TIMEOUT = "timeout"
LOCATE_DEFAULT_S = 10


class CommandRefused(ValueError):
    """The command makes no sense for this device; the message says why, in both languages."""


@dataclass(frozen=True, slots=True)
class ReplyReport:
    device: DeviceSpec
    reply: CommandReply
    received_at: float


def checked_args(
    device: DeviceSpec, name: CommandName, args: dict[str, str | int]
) -> dict[str, str | int]:
    if name not in COMMANDS[device.type]:
        raise CommandRefused(f"a {device.type.value} cannot {name.value} / 该设备不支持此命令")
    if name is CommandName.DISPLAY:
        text = args.get("text")
        if not isinstance(text, str) or not 1 <= len(text.strip()) <= DISPLAY_TEXT_MAX:
            raise CommandRefused(
                f"display needs text of 1 to {DISPLAY_TEXT_MAX} characters"
                f" / 文字长度需为1至{DISPLAY_TEXT_MAX}字"
            )
        return {"text": text.strip()}
    if name is CommandName.LOCATE:
        seconds = args.get("seconds", LOCATE_DEFAULT_S)
        if type(seconds) is not int or not 1 <= seconds <= LOCATE_SECONDS_MAX:  # not bool
            raise CommandRefused(
                f"seconds must be 1 to {LOCATE_SECONDS_MAX} / 秒数需为1至{LOCATE_SECONDS_MAX}"
            )
        return {"seconds": seconds}
    return {}


def create(
    session: Session,
    device: DeviceSpec,
    name: CommandName,
    args: dict[str, str | int],
    staff: str,
    now: float,
) -> DeviceCommand:
    command = DeviceCommand(
        id=f"cmd-{secrets.token_hex(8)}",
        device_id=device.id,
        name=name.value,
        args=checked_args(device, name, args),
        staff=staff,
        created_at=now,
        status=PENDING,
    )
    session.add(command)
    return command


def record_reply(session: Session, report: ReplyReport) -> DeviceCommand | None:
    """Store a device's answer. A reply naming another device's command changes nothing."""
    command = session.get(DeviceCommand, report.reply.id)
    if command is None or command.device_id != report.device.id:
        return None
    if command.status not in (PENDING, TIMEOUT):
        return None  # a repeated reply
    command.status = report.reply.status.value
    command.error = report.reply.error if report.reply.status is ReplyStatus.ERROR else None
    command.replied_at = report.received_at
    return command


def expire(session: Session, now: float, timeout_s: float) -> list[DeviceCommand]:
    rows = session.scalars(
        update(DeviceCommand)
        .where(DeviceCommand.status == PENDING, DeviceCommand.created_at <= now - timeout_s)
        .values(status=TIMEOUT)
        .returning(DeviceCommand)
    )
    return list(rows)


def recent(session: Session, device_id: str, limit: int) -> list[DeviceCommand]:
    return list(
        session.scalars(
            select(DeviceCommand)
            .where(DeviceCommand.device_id == device_id)
            .order_by(DeviceCommand.created_at.desc())
            .limit(limit)
        )
    )
