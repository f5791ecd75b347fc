"""Every pattern, event type and limit of the HQ ingest contract, in one place."""

from typing import Final

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
MIN_ADMIN_TOKEN_LEN: Final = 32
# Store tokens: this many random bytes, URL-safe base64; only their SHA-256 is stored.
STORE_TOKEN_BYTES: Final = 32

HQ_PASSWORD_MIN: Final = 10
HQ_SESSION_S: Final = 12 * 3600
HQ_LOGIN_FAILURES_PER_MINUTE: Final = 5
# A store whose hub has not reached HQ for this long is shown offline (hubs send a heartbeat
# at least every minute when there is nothing else to send).
STORE_ONLINE_WITHIN_S: Final = 180

EVENTS_PAGE_DEFAULT: Final = 100
EVENTS_PAGE_MAX: Final = 1000

# InfluxDB: the measurements HQ writes for Grafana (docs/influxdb-schema.md, "Written by
# HQ"); the hubs write the others (edge/telemetry/points.py). dashboards/ reads both.
M_SALES: Final = "sales"  # one point per order line and per void (cloud/sales_influx.py)
M_ORDERS: Final = "orders"  # one point per order placed
M_PAYMENTS: Final = "payments"  # one point per bill paid: the daily visits and average bill
M_HUB_STATUS: Final = "hub_status"  # each store's hub as HQ sees it (cloud/fleet_influx.py)
# How often HQ writes each store's hub_status: the hub-offline alert fires within this of
# its threshold.
HUB_STATUS_EVERY_S: Final = 30.0
