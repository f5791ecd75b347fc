import time

from fastapi import APIRouter, HTTPException, Query, status

from contract import Channel, Command, device_topic, encode
from contract.const import QOS_CMD
from edge.api.deps import CurrentManager, CurrentStaff, HubDep, SessionDep
from edge.api.errors import STAFF, errors
from edge.commands import service as commands
from edge.commands.schemas import CommandCreate, CommandPublic

router = APIRouter(prefix="/api", tags=["devices"])


@router.post(
    "/devices/{device_id}/commands",
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(STAFF, 400, 404, 422),
)
def send_command(
    device_id: str, body: CommandCreate, hub: HubDep, staff: CurrentManager
) -> CommandPublic:
    """Store the command, then publish it; the device's reply (or a timeout) arrives live."""
    spec = hub.inventory.by_id().get(device_id)
    if spec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id} / 没有这个设备")
    try:
        with hub.sessions.begin() as session:
            command = commands.create(session, spec, body.name, body.args, staff, time.time())
    except commands.CommandRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    payload = Command(
        id=command.id, name=body.name, args=command.args, ts_ms=int(command.created_at * 1000)
    )
    hub.mqtt.publish(
        device_topic(hub.store, spec.type, spec.id, Channel.CMD), encode(payload), QOS_CMD
    )
    return CommandPublic.of(command)


@router.get("/devices/{device_id}/commands", responses=errors(STAFF, 404, 422))
def recent_commands(
    device_id: str,
    session: SessionDep,
    hub: HubDep,
    _staff: CurrentStaff,
    limit: int = Query(20, ge=1, le=200),
) -> list[CommandPublic]:
    if device_id not in hub.inventory.by_id():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id} / 没有这个设备")
    return [CommandPublic.of(c) for c in commands.recent(session, device_id, limit)]
