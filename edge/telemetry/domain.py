"""The telemetry domain: points buffered in SQLite, sent to InfluxDB."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from edge.core.domain import AfterCommit, Domain, HubContext, Startable
from edge.telemetry import points
from edge.telemetry.buffer import buffer_points
from edge.telemetry.sender import InfluxSender

INGEST_POINTS_EVERY_S = 10.0


class TelemetryDomain(Domain):
    name = "telemetry"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        s = hub.settings
        self.sender = InfluxSender(
            hub.sessions,
            s.influx_url,
            s.influx_token.get_secret_value(),
            s.influx_org,
            s.influx_bucket,
            s.influx_batch_size,
            s.influx_buffer_max_points,
        )
        self._next_ingest_points = 0.0

    def workers(self) -> Sequence[Startable]:
        return (self.sender,)

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        # What MQTT ingest refused, by reason, every 10 s: HQ sees a misbehaving device.
        if self._next_ingest_points == 0.0:
            self._next_ingest_points = now + INGEST_POINTS_EVERY_S
        elif now >= self._next_ingest_points:
            self._next_ingest_points = now + INGEST_POINTS_EVERY_S
            buffer_points(
                session,
                [
                    points.hub_ingest(self.hub.store, reason, n, now)
                    for reason, n in self.hub.rejects.take_delta().items()
                ],
            )
        return None
