"""The limits domain: how often one table may do what costs the store (orders, calls), so
that a script on the store's Wi-Fi cannot flood the kitchen or the staff. Anything new that
gives away value (coupons, game plays) gets its limiter here, configured in one place."""

from edge.auth import RateLimiter
from edge.core.domain import Domain, HubContext
from edge.orders import errors


class LimitsDomain(Domain):
    name = "limits"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        s = hub.settings
        self.orders = RateLimiter(s.orders_per_table_per_minute)
        self.calls = RateLimiter(s.calls_per_table_per_minute)

    @staticmethod
    def take(limiter: RateLimiter, key: str) -> None:
        """Count one for `key`, or refuse with the diner's bilingual 429."""
        if not limiter.take(key):
            raise errors.rate_limited()
