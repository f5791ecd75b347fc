"""The uplink domain: the outbox drained into HQ's cloud service, and the requests HQ passes
down to the store (edge/uplink/requests_pull.py)."""

from collections.abc import Sequence

from edge.core.domain import Domain, HubContext, Startable
from edge.uplink.events import FactsCommitted
from edge.uplink.requests_pull import StoreRequestPuller
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
        # Requests HQ passes down (bookings): the domains that handle a kind register for it.
        self.requests = StoreRequestPuller(s.cloud_url, s.cloud_token.get_secret_value())

    def workers(self) -> Sequence[Startable]:
        return (self.sender, self.requests)
