import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from edge.api.deps import CurrentStaff, HubDep, SessionDep, domain_of
from edge.api.errors import STAFF, errors
from edge.calls import service
from edge.calls.domain import CallsDomain
from edge.calls.schemas import CallPublic

router = APIRouter(prefix="/api/calls", tags=["calls"])

Calls = Annotated[CallsDomain, Depends(domain_of(CallsDomain))]


@router.get("", responses=errors(STAFF, 422))
def list_calls(
    session: SessionDep,
    _staff: CurrentStaff,
    status_: Literal["open", "recent"] = Query("open", alias="status"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[CallPublic]:
    rows = (
        service.open_calls(session) if status_ == "open" else service.recent_calls(session, limit)
    )
    return [CallPublic.of(c) for c in rows]


@router.post("/{call_id}/ack", responses=errors(STAFF, 404, 422))
def acknowledge(call_id: int, hub: HubDep, domain: Calls, staff: CurrentStaff) -> CallPublic:
    with hub.sessions.begin() as session:
        try:
            call = service.acknowledge(session, hub.store, call_id, staff, time.time())
        except service.CallNotFound:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no call {call_id} / 没有这个呼叫"
            ) from None
    domain.changed([call])
    return CallPublic.of(call)
