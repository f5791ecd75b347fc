from fastapi import APIRouter

from edge.api.deps import CurrentStaff, SessionDep
from edge.devices import service
from edge.devices.schemas import DevicePublic

router = APIRouter(prefix="/api/devices", tags=["devices"])


@router.get("")
def list_devices(session: SessionDep, _staff: CurrentStaff) -> list[DevicePublic]:
    return [DevicePublic.of(d) for d in service.list_devices(session)]
