import time

from fastapi import APIRouter, HTTPException, Query, status

from edge.api.deps import CurrentStaff, RuntimeDep, SessionDep
from edge.commands import service as commands
from edge.commands.schemas import CommandCreate, CommandPublic
from edge.devices import service
from edge.devices.schemas import AlarmPublic, DevicePublic
from smartstore.wire import Channel, Command, device_topic, encode
from smartstore.wire.const import QOS_CMD

router = APIRouter(prefix="/api", tags=["devices"])


@router.get("/devices")
def list_devices(session: SessionDep, _staff: CurrentStaff) -> list[DevicePublic]:
    return [DevicePublic.of(d, alarms) for d, alarms in service.devices_with_alarms(session)]


@router.get("/alarms")
def list_alarms(session: SessionDep, _staff: CurrentStaff) -> list[AlarmPublic]:
    return [AlarmPublic.of(a) for a in service.active_alarms(session)]


@router.post("/devices/{device_id}/commands", status_code=status.HTTP_202_ACCEPTED)
def send_command(
    device_id: str, body: CommandCreate, runtime: RuntimeDep, staff: CurrentStaff
) -> CommandPublic:
    """Store the command, then publish it; the device's reply (or a timeout) arrives live."""
    spec = runtime.inventory.by_id().get(device_id)
    if spec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id} / 没有这个设备")
    try:
        with runtime.sessions.begin() as session:
            command = commands.create(session, spec, body.name, body.args, staff, time.time())
    except commands.CommandRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    payload = Command(
        id=command.id, name=body.name, args=command.args, ts_ms=int(command.created_at * 1000)
    )
    runtime.mqtt.publish(
        device_topic(runtime.settings.store_id, spec.type, spec.id, Channel.CMD),
        encode(payload),
        QOS_CMD,
    )
    return CommandPublic.of(command)


@router.get("/devices/{device_id}/commands")
def recent_commands(
    device_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    _staff: CurrentStaff,
    limit: int = Query(20, ge=1, le=200),
) -> list[CommandPublic]:
    if device_id not in runtime.inventory.by_id():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id} / 没有这个设备")
    return [CommandPublic.of(c) for c in commands.recent(session, device_id, limit)]
