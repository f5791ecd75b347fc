"""Every pattern, event type and limit of the HQ ingest contract, in one place."""

from enum import StrEnum
from typing import Final, Literal

from contract.uplink import UPLINK_EVENT_TYPES, UplinkEventType

STORE_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,32}$"
EVENT_ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{8,64}$"

# What a hub may forward: defined once, with the hub, in contract/uplink.py.
EventType = UplinkEventType
EVENT_TYPES: Final[tuple[str, ...]] = UPLINK_EVENT_TYPES

MAX_BATCH_EVENTS: Final = 500
# An event's `data`, serialized as compact UTF-8 JSON: room for an order of 50 lines with
# Chinese and English names.
MAX_EVENT_DATA_BYTES: Final = 16384
# The whole request body, read before parsing: room for a full batch even when the client
# escapes every non-ASCII character (up to three times its UTF-8 size).
MAX_INGEST_BODY_BYTES: Final = 3 * MAX_BATCH_EVENTS * MAX_EVENT_DATA_BYTES + 1024 * 1024

STORE_NAME_MAX: Final = 200
# A store's region (optional): letters of any script, digits, "_" and "-", such as "华东" or
# "east-1"; the `region` tag HQ writes to InfluxDB and the dashboards' Region variable.
REGION_PATTERN: Final = r"^[\w-]{1,32}$"
MIN_ADMIN_TOKEN_LEN: Final = 32
# Store tokens: this many random bytes, URL-safe base64; only their SHA-256 is stored.
STORE_TOKEN_BYTES: Final = 32

HQ_PASSWORD_MIN: Final = 10
HQ_SESSION_S: Final = 12 * 3600
HQ_LOGIN_FAILURES_PER_MINUTE: Final = 5
HQ_SCOPE_MAX_STORES: Final = 500  # a region's stores; more is the whole chain


class HQRole(StrEnum):
    """What an HQ user may do: an analyst reads reports; an admin also changes things
    (campaigns and configuration, coupons, experiments, points, member erasure)."""

    ANALYST = "analyst"
    ADMIN = "admin"


# A store whose hub has not reached HQ for this long is shown offline (hubs send a heartbeat
# at least every minute when there is nothing else to send).
STORE_ONLINE_WITHIN_S: Final = 180

# Requests HQ passes to a store's hub (cloud/api/store_requests.py): a hub that has not
# opened its long poll (contract.store_requests.POLL_WAIT_S) for this long is not reachable,
# and HQ says so at once; a waiting long poll looks for new requests this often, as does HQ's
# caller waiting for the hub's answer (PostgreSQL is the only state, shared by the workers).
STORE_POLLING_WITHIN_S: Final = 35.0
STORE_REQUEST_CHECK_S: Final = 0.25
# A request a hub claimed and has not answered in this long: its hub is gone, HQ gives up on
# it and keeps only the masked phone (a hub back within it finishes the request).
STORE_REQUEST_CLAIMED_KEEP_S: Final = 2 * 86_400.0
# HQ looks for requests left with a full phone number at most this often (per worker).
STORE_REQUEST_SWEEP_S: Final = 60.0

# A config document's scope for every store (a store runs the newest for it or for all).
ALL_STORES: Final = "*"

EVENTS_PAGE_DEFAULT: Final = 100
EVENTS_PAGE_MAX: Final = 1000

# InfluxDB: the measurements HQ writes for Grafana (docs/influxdb-schema.md, "Written by
# HQ"); the hubs write the others (edge/telemetry/points.py). dashboards/ reads both.
M_SALES: Final = "sales"  # one point per order line and per void (cloud/sales_influx.py)
M_ORDERS: Final = "orders"  # one point per order placed
M_PAYMENTS: Final = "payments"  # one point per bill paid: the daily visits and average bill
# Members (cloud/sales_influx.py, from the hubs' events): joins and members' visits
# (`member_activity`, kind joined|visit, the member id as a field for distinct counts), points
# issued and redeemed (`points`, by cause), coupons issued and redeemed (`coupons`); what HQ
# owes (`member_liability`, cloud/fleet_influx.py every LIABILITY_EVERY_S).
M_MEMBER_ACTIVITY: Final = "member_activity"
M_POINTS: Final = "points"
# The line at the door (cloud/sales_influx.py, from `waitlist.party`): one point per step of a
# party (tag `what`: taken, called, seated, left, no_show, put_back), with the wait and the
# estimate's error on the steps that end it (docs/waitlist.md).
M_WAITLIST: Final = "waitlist"
M_COUPONS: Final = "coupons"
M_LIABILITY: Final = "member_liability"
LIABILITY_EVERY_S: Final = 300.0
CHAIN_STORE_TAG: Final = "*"  # the store tag of chain-wide points (each member once)
HQ_ISSUER_TAG: Final = "(hq)"  # the store tag of what HQ itself issued (no store id looks so)
# Campaigns (cloud/games_influx.py): one point per play and per staff decision (`games`, by
# campaign, prize and status), and each store's budget for the day per campaign
# (`campaign_budget`, with the liability every LIABILITY_EVERY_S).
M_GAMES: Final = "games"
M_CAMPAIGN_BUDGET: Final = "campaign_budget"
M_FEEDBACK: Final = "feedback"  # one point per party's rating after the bill (sales exporter)
M_RFM_SEGMENTS: Final = "rfm_segments"  # members per segment and store at each RFM scoring
M_HUB_STATUS: Final = "hub_status"  # each store's hub as HQ sees it (cloud/fleet_influx.py)
# How often HQ writes each store's hub_status: the hub-offline alert fires within this of
# its threshold.
HUB_STATUS_EVERY_S: Final = 30.0

# --- members (docs/members-hq.md) ---
# The chain's member key (SMARTSTORE_CLOUD_MEMBER_KEY) keys the phone hashes hubs and HQ make:
# as long as the admin token, so nobody can try every key against a leaked hash.
MIN_MEMBER_KEY_LEN: Final = 32
# What a coupon redeemed twice (two stores offline) does at HQ: `flag` keeps the earliest by
# the hubs' clocks and puts the other on the risk list; `honour` keeps it as information only.
DoubleRedeemPolicy = Literal["flag", "honour"]
DOUBLE_REDEEM_FLAG: Final = "flag"
DOUBLE_REDEEM_HONOUR: Final = "honour"
# Paid bills over this window make a member's level (contract.members.Level.min_spend_fen).
SPEND_WINDOW_S: Final = 365 * 86400
LEDGER_PAGE_DEFAULT: Final = 100
LEDGER_PAGE_MAX: Final = 1000
RISKS_PAGE_MAX: Final = 1000
# One coupon issue reaches at most this many members (a campaign larger than this is several
# requests: each is one transaction).
MAX_COUPON_RECIPIENTS: Final = 1000
IDEMPOTENCY_KEY_MAX: Final = 200
# Entries HQ makes itself (adjustments): their id's prefix, so a hub's never collides.
HQ_ENTRY_PREFIX: Final = "hq-"
# The member risk list (cloud/members/models.py RiskItem): what an item is about, and whether
# it is a risk or, by policy, information only.
RiskKind = Literal["overdraft", "double_redeem", "double_stamp", "withdrawn_used", "invite_limit"]
RiskLevel = Literal["risk", "info"]
OVERDRAFT: Final = "overdraft"
DOUBLE_REDEEM: Final = "double_redeem"
# One stamp card filled at two stores offline (its reward given twice, one coupon code).
DOUBLE_STAMP: Final = "double_stamp"
# A reward coupon used (offline, at another store) before the refund of its cause withdrew it.
WITHDRAWN_USED: Final = "withdrawn_used"
# An invited friend's reward beyond the campaign's friends per inviter per day, counted across
# the chain (each hub holds an inviter to it per store only).
INVITE_LIMIT: Final = "invite_limit"
RISK: Final = "risk"
INFO: Final = "info"
# A coupon redemption's outcome at HQ (cloud/members/models.py CouponRedemption).
KEPT: Final = "kept"
FLAGGED: Final = "flagged"
HONOURED: Final = "honoured"
PENDING: Final = "pending"
# Ids looked up per query (bounded IN lists).
ID_CHUNK: Final = 500

# --- analytics (docs/analytics.md) ---
RFM_TILES: Final = 5  # quintiles: NTILE(5)
RFM_HIGH_FROM: Final = 3  # a score of 3, 4 or 5 is "high" (the middle quintile and up)
# An A/B report concludes only when every arm has at least this many members given its
# coupon, and this many who used it and who did not: below that the normal approximation
# behind the z-test and the intervals is not to be trusted, and a lift is mostly noise.
AB_MIN_EXPOSED: Final = 100
AB_MIN_OUTCOMES: Final = 10
AB_ALPHA: Final = 0.05  # significance, split across the arms compared with the control
SRM_ALPHA: Final = 0.01  # a sample-ratio mismatch below this p is a warning (as Statsig)
AB_COUPON_SOURCE: Final = "ab"  # coupons.source of an experiment's coupons

# At HQ's stop: how long to wait for connections a cancelled request's worker thread still
# holds (cloud/app.py), before the pool is closed.
SHUTDOWN_DB_WAIT_S: Final = 5.0
