"""The commands domain: staff send locate/display/reboot; devices reply or time out."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from contract import CommandReply, parse_payload
from contract.const import COMMANDS, Channel, DeviceType
from contract.inventory import DeviceSpec
from edge.commands import service
from edge.commands.models import DeviceCommand
from edge.commands.schemas import CommandPublic
from edge.commands.service import ReplyReport
from edge.core.domain import AfterCommit, Domain, MqttRoute
from edge.core.ingest import checked


def parse_reply(device: DeviceSpec, payload: bytes, now: float) -> ReplyReport:
    return ReplyReport(device, checked(device, parse_payload(payload, CommandReply)), now)


class CommandsDomain(Domain):
    name = "commands"
    writes = (ReplyReport,)

    @classmethod
    def router(cls) -> APIRouter:
        from edge.commands.routes import router

        return router

    def mqtt_routes(self) -> Sequence[MqttRoute]:
        return (MqttRoute(Channel.REPLY, frozenset(DeviceType), parse_reply),)

    def write(self, session: Session, items: list[Any], now: float) -> AfterCommit | None:
        answered = [c for r in items if (c := service.record_reply(session, r)) is not None]
        return self._tell(answered)

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        return self._tell(service.expire(session, now, self.hub.settings.command_timeout_s))

    def _tell(self, commands: list[DeviceCommand]) -> AfterCommit | None:
        if not commands:
            return None
        message = {
            "type": "commands",
            "commands": [CommandPublic.of(c).model_dump() for c in commands],
        }
        return lambda: self.hub.board.publish(message)

    def snapshot(self, session: Session) -> dict[str, Any]:
        return {"commands": {t.value: sorted(c.value for c in n) for t, n in COMMANDS.items()}}
