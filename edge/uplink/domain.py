"""The uplink domain: the outbox drained into HQ's cloud service."""

from collections.abc import Sequence

from edge.core.domain import Domain, HubContext, Startable
from edge.uplink.events import FactsCommitted
from edge.uplink.sender import CloudSender


class UplinkDomain(Domain):
    name = "uplink"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        s = hub.settings
        self.sender = CloudSender(
            hub.sessions,
            s.store_id,
            s.cloud_url,
            s.cloud_token.get_secret_value(),
            s.cloud_batch_size,
        )
        hub.bus.subscribe(FactsCommitted, lambda _e: self.sender.nudge())

    def workers(self) -> Sequence[Startable]:
        return (self.sender,)
