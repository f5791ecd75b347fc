"""The hub's domains, in the order they are built (a domain may use those above it).

Adding a domain: a folder with its models, service, routes and a `domain.py` holding a
`Domain` subclass, and one line here. See docs/architecture.md.
"""

from edge.backups.domain import BackupsDomain
from edge.billing.domain import BillingDomain
from edge.calls.domain import CallsDomain
from edge.commands.domain import CommandsDomain
from edge.core.domain import Domain
from edge.devices.domain import DevicesDomain
from edge.games.domain import GamesDomain
from edge.kiosk.domain import KioskDomain
from edge.limits.domain import LimitsDomain
from edge.members.domain import MembersDomain
from edge.menu.domain import MenuDomain
from edge.orders.domain import OrdersDomain
from edge.printing.domain import PrintingDomain
from edge.queue_screens.domain import QueueScreensDomain
from edge.status.domain import StatusDomain
from edge.tables.domain import TablesDomain
from edge.telemetry.domain import TelemetryDomain
from edge.uplink.domain import UplinkDomain
from edge.waitlist.domain import WaitlistDomain

DOMAINS: tuple[type[Domain], ...] = (
    TelemetryDomain,
    UplinkDomain,
    StatusDomain,
    DevicesDomain,
    CommandsDomain,
    CallsDomain,
    LimitsDomain,
    MenuDomain,
    TablesDomain,
    PrintingDomain,
    OrdersDomain,
    MembersDomain,
    BillingDomain,
    GamesDomain,
    WaitlistDomain,
    KioskDomain,
    QueueScreensDomain,
    BackupsDomain,
)
