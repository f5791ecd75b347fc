import time

from fastapi import APIRouter
from pydantic import BaseModel

from edge.api.deps import CurrentStaff, RuntimeDep, SessionDep
from edge.telemetry import buffer
from edge.uplink import service as outbox
from smartstore.wire.uplink import clock_ok

router = APIRouter(prefix="/api", tags=["hub"])


class Health(BaseModel):
    store: str
    broker_connected: bool


class HubStats(BaseModel):
    store: str
    broker_connected: bool
    rejected: dict[str, int]
    writer_backlog: int
    influx_healthy: bool
    influx_backlog: int
    influx_sent: int
    influx_dropped: int
    board_clients: int
    outbox_backlog: int
    outbox_oldest_age_s: float | None
    cloud_healthy: bool
    cloud_error: str
    clock_offset_s: float | None  # this hub's clock minus HQ's; None before HQ answered
    clock_ok: bool


@router.get("/health")
def health(runtime: RuntimeDep) -> Health:
    return Health(store=runtime.settings.store_id, broker_connected=runtime.mqtt.connected.is_set())


@router.get("/stats")
def stats(runtime: RuntimeDep, session: SessionDep, _staff: CurrentStaff) -> HubStats:
    backlog, oldest = outbox.backlog(session)
    return HubStats(
        store=runtime.settings.store_id,
        broker_connected=runtime.mqtt.connected.is_set(),
        rejected=runtime.rejects.counts(),
        writer_backlog=runtime.writer.backlog(),
        influx_healthy=runtime.influx.healthy,
        influx_backlog=buffer.backlog(session),
        influx_sent=runtime.influx.sent,
        influx_dropped=runtime.influx.dropped,
        board_clients=runtime.live.client_count,
        outbox_backlog=backlog,
        outbox_oldest_age_s=round(time.time() - oldest, 1) if oldest is not None else None,
        cloud_healthy=runtime.cloud.healthy,
        cloud_error=runtime.cloud.last_error,
        clock_offset_s=runtime.cloud.clock_offset_s,
        clock_ok=clock_ok(runtime.cloud.clock_offset_s),
    )
