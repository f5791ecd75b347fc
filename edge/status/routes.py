"""The hub's own health: for a load balancer or monitor (/api/health) and for staff and
installers (/api/stats: broker, writer, InfluxDB, HQ uplink, clock)."""

import time

from fastapi import APIRouter
from pydantic import BaseModel

from contract.uplink import clock_ok
from edge.api.deps import CurrentStaff, HubDep, SessionDep
from edge.api.errors import STAFF, errors
from edge.games.domain import GamesDomain
from edge.telemetry import buffer
from edge.telemetry.domain import TelemetryDomain
from edge.uplink import service as outbox
from edge.uplink.domain import UplinkDomain

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
    # The diners' spins decided in the draw process (edge/games/drawer.py): it runs and
    # answers; how many it decided since the hub started.
    games_draw_process: bool
    games_spins_by_process: int


@router.get("/health")
def health(hub: HubDep) -> Health:
    return Health(store=hub.store, broker_connected=hub.mqtt.connected.is_set())


@router.get("/stats", responses=errors(STAFF))
def stats(hub: HubDep, session: SessionDep, _staff: CurrentStaff) -> HubStats:
    backlog, oldest = outbox.backlog(session)
    influx = hub.get(TelemetryDomain).sender
    cloud = hub.get(UplinkDomain).sender
    drawer = hub.get(GamesDomain).drawer
    return HubStats(
        store=hub.store,
        broker_connected=hub.mqtt.connected.is_set(),
        rejected=hub.rejects.counts(),
        writer_backlog=hub.writer_backlog(),
        influx_healthy=influx.healthy,
        influx_backlog=buffer.backlog(session),
        influx_sent=influx.sent,
        influx_dropped=influx.dropped,
        board_clients=hub.board.client_count,
        outbox_backlog=backlog,
        outbox_oldest_age_s=round(time.time() - oldest, 1) if oldest is not None else None,
        cloud_healthy=cloud.healthy,
        cloud_error=cloud.last_error,
        clock_offset_s=cloud.clock_offset_s,
        clock_ok=clock_ok(cloud.clock_offset_s),
        games_draw_process=drawer is not None and drawer.ready,
        games_spins_by_process=drawer.answered if drawer is not None else 0,
    )
