from fastapi import APIRouter

from edge.api.deps import CurrentStaff, SessionDep
from edge.api.errors import STAFF, errors
from edge.devices import service
from edge.devices.schemas import AlarmPublic, DevicePublic

router = APIRouter(prefix="/api", tags=["devices"])


@router.get("/devices", responses=errors(STAFF))
def list_devices(session: SessionDep, _staff: CurrentStaff) -> list[DevicePublic]:
    return [DevicePublic.of(d, alarms) for d, alarms in service.devices_with_alarms(session)]


@router.get("/alarms", responses=errors(STAFF))
def list_alarms(session: SessionDep, _staff: CurrentStaff) -> list[AlarmPublic]:
    return [AlarmPublic.of(a) for a in service.active_alarms(session)]
