"""What a hub domain is, and what the hub gives every domain.

A domain (calls, devices, orders, printing, ...) is one folder with its models, service
functions, routes and a `domain.py` holding a `Domain` subclass. The hub builds each listed
domain with the same constructor, gathers what it declares (HTTP router, MQTT routes, the
reports it writes, its workers, its part of the board's snapshot) and starts and stops it.
Domains talk to each other through the typed event bus, or call another domain's public
methods through `hub.get(OtherDomain)` when they need an answer back.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from fastapi import APIRouter
from sqlalchemy.orm import Session, sessionmaker

from contract.const import Channel, DeviceType
from contract.inventory import DeviceSpec, Inventory
from edge.auth import RateLimiter, SessionSigner
from edge.config import Settings
from edge.core.bus import EventBus
from edge.live import LiveHub

if TYPE_CHECKING:
    from edge.core.ingest import RejectCounter
    from edge.mqtt import HubMqtt

D = TypeVar("D", bound="Domain")

# What a domain's `write` or `tick` may hand back: work to do once the transaction committed
# (acknowledge devices, tell the boards). Never run when the transaction failed.
AfterCommit = Callable[[], None]


class Startable(Protocol):
    """A background worker: `edge.core.worker.Worker`, or anything started and stopped alike."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class MqttRoute:
    """Messages on `channel` from devices of `device_types` are this domain's.

    `parse(device, payload, received_at)` returns the item to deliver (None: nothing to do),
    or raises `contract.WireError` to have it refused and counted. The item goes to
    the store writer's next batch (its type must be in some domain's `writes`), or to `sink`
    when the domain handles it on a thread of its own.
    """

    channel: Channel
    device_types: frozenset[DeviceType]
    parse: Callable[[DeviceSpec, bytes, float], object | None]
    sink: Callable[[Any], None] | None = None


class HubContext:
    """What the running hub shares with its domains."""

    def __init__(
        self,
        settings: Settings,
        inventory: Inventory,
        sessions: sessionmaker[Session],
        reads: sessionmaker[Session],
        mqtt: "HubMqtt",
        rejects: "RejectCounter",
    ) -> None:
        self.settings = settings
        self.store = settings.store_id
        self.inventory = inventory
        self.sessions = sessions  # writes: each transaction takes SQLite's write lock first
        self.reads = reads  # reads never wait for a writer (WAL)
        self.mqtt = mqtt
        self.rejects = rejects
        self.bus = EventBus()
        self.board = LiveHub()  # the staff pages' live feed
        self.diners = LiveHub()  # the diners' phones, each listening to its table
        self.domains: list[Domain] = []
        # Staff identity is every staff route's concern, so it lives here, not in a domain.
        self.signer = SessionSigner(settings.secret_key.get_secret_value())
        self.login_limiter = RateLimiter(settings.login_attempts_per_minute)
        self.staff = {k: v.get_secret_value() for k, v in settings.staff.items()}
        self.writer_backlog: Callable[[], int] = lambda: 0  # set by the runtime

    def get(self, kind: type[D]) -> D:
        """The running domain of this type (built before the one asking)."""
        for domain in self.domains:
            if isinstance(domain, kind):
                return domain
        raise LookupError(f"{kind.__name__} is not running in this hub (or not yet built)")


class Domain:
    """A pluggable piece of the hub. Override what applies; the defaults do nothing."""

    name: ClassVar[str] = ""
    # Item types the store writer hands to `write` (from MQTT routes). Routine items (a
    # heartbeat nobody waits for) are written in bounded chunks after the urgent ones.
    writes: ClassVar[tuple[type, ...]] = ()
    routine: ClassVar[tuple[type, ...]] = ()
    # The app tries routes in order, one by one: a domain whose route takes bursts (the
    # wheel's spin: 500 in a second) has its routes tried before the others'.
    routes_first: ClassVar[bool] = False

    def __init__(self, hub: HubContext) -> None:
        self.hub = hub

    # Routes and error handlers belong to the domain's class: the app is built before the
    # hub starts (FastAPI needs them at build time), so they reach their running domain
    # through a dependency (`edge.api.deps.domain_of`).
    @classmethod
    def router(cls) -> APIRouter | None:
        return None

    def mqtt_routes(self) -> Sequence[MqttRoute]:
        return ()

    def workers(self) -> Sequence[Startable]:
        """Made in __init__ (the same objects every call): started after every domain was
        built, stopped in reverse order before the database closes."""
        return ()

    @classmethod
    def exception_handlers(cls) -> dict[type[Exception], Callable[..., Any]]:
        return {}

    def write(self, session: Session, items: list[Any], now: float) -> AfterCommit | None:
        """Store a batch of this domain's items inside the writer's transaction."""
        return None

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        """Twice a second inside the writer's transaction: timers (escalation, silence)."""
        return None

    def snapshot(self, session: Session) -> dict[str, Any]:
        """This domain's part of the staff board's first message after connecting."""
        return {}

    def start(self) -> None:
        for worker in self.workers():
            worker.start()

    def stop(self) -> None:
        for worker in reversed(self.workers()):
            worker.stop()
