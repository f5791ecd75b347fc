"""A/B assignment: a pure function of the experiment's id and the member's id
(docs/analytics.md), so that HQ, an offline hub and the browser all give a member the same
variant. edge/web/static/js/abtest.js is the same function in JavaScript; the shared test
vectors (tests/fixtures/ab_vectors.json) hold both to it.

    bucket = int(sha256(f"{experiment}:{member}" as UTF-8).hexdigest()[:8], 16) % 10000

Variants take consecutive ranges of buckets in their listed order, each `share_pct` times 100
buckets wide: with shares [50, 50], buckets 0-4999 are variant 0 and 5000-9999 variant 1.
The first 8 hex digits are 32 bits, so the modulo's bias is below 10000 / 2**32 (0.0002 %).
"""

import hashlib
from collections.abc import Sequence
from typing import Final

BUCKETS: Final = 10_000
HASH_HEX_DIGITS: Final = 8  # 32 bits: an exact integer in JavaScript too
BUCKETS_PER_PCT: Final = BUCKETS // 100


def bucket(experiment: str, member: str) -> int:
    """The member's bucket in the experiment, 0 … 9999."""
    digest = hashlib.sha256(f"{experiment}:{member}".encode()).hexdigest()
    return int(digest[:HASH_HEX_DIGITS], 16) % BUCKETS


def variant_index(shares_pct: Sequence[int], b: int) -> int:
    """The variant whose range of buckets holds `b`; shares are whole percents summing to 100."""
    if sum(shares_pct) != 100 or any(s <= 0 for s in shares_pct):
        raise ValueError("shares are positive whole percents that add up to 100")
    upper = 0
    for i, share in enumerate(shares_pct):
        upper += share * BUCKETS_PER_PCT
        if b < upper:
            return i
    raise ValueError(f"bucket {b} is outside 0…{BUCKETS - 1}")


def assign(experiment: str, member: str, shares_pct: Sequence[int]) -> int:
    """The index of the member's variant in the experiment."""
    return variant_index(shares_pct, bucket(experiment, member))
