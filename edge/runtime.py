"""Everything the running hub holds, started and stopped in one place.

The core (database, broker connection, ingest, writer, bus) is built here; everything else
is a domain from `edge.domains`, built in order, each handed the same `HubContext`.
"""

import logging
from collections.abc import Sequence

from sqlalchemy.orm import sessionmaker

from contract.inventory import load_inventory
from edge.config import Settings
from edge.core.domain import Domain, HubContext
from edge.core.ingest import Ingest, RejectCounter
from edge.core.systemd import WatchdogFeeder
from edge.core.writer import StoreWriter
from edge.db import Checkpointer, init_db, make_engine
from edge.mqtt import HubMqtt

log = logging.getLogger(__name__)


class HubRuntime:
    def __init__(self, settings: Settings, domains: Sequence[type[Domain]] | None = None) -> None:
        if domains is None:
            from edge.domains import DOMAINS

            domains = DOMAINS
        self.settings = settings
        inventory = load_inventory(settings.inventory_file)
        if inventory.store != settings.store_id:
            raise ValueError(
                f"inventory {settings.inventory_file} is for store {inventory.store!r}, "
                f"this hub is store {settings.store_id!r}"
            )
        # Writes take the lock when they begin (see make_engine); reads never wait for it.
        self.engine = make_engine(settings.db_path, for_writes=True)
        sessions = init_db(self.engine)
        self.read_engine = make_engine(settings.db_path)
        reads = sessionmaker(self.read_engine, expire_on_commit=False)
        self.checkpointer = Checkpointer(settings.db_path)
        rejects = RejectCounter()
        self.mqtt = HubMqtt(
            settings.store_id,
            settings.mqtt_host,
            settings.mqtt_port,
            settings.mqtt_username,
            settings.mqtt_password.get_secret_value(),
            self._on_mqtt,
            settings.mqtt_ca_pem(),
        )
        self.hub = HubContext(settings, inventory, sessions, reads, self.mqtt, rejects)
        for kind in domains:
            self.hub.domains.append(kind(self.hub))
        self.writer = StoreWriter(sessions, self.mqtt, self.hub.domains)
        self.hub.writer_backlog = self.writer.backlog
        # Under systemd (WatchdogSec=), pings only while the writer stores what arrives.
        self.watchdog = WatchdogFeeder(self.writer.healthy)
        self.ingest = Ingest(
            settings.store_id,
            inventory,
            rejects,
            [route for d in self.hub.domains for route in d.mqtt_routes()],
            self.writer.submit,
        )

    def _on_mqtt(self, topic: str, payload: bytes) -> None:
        self.ingest.handle(topic, payload)

    def start(self) -> None:
        self.checkpointer.start()
        self.writer.start()
        for domain in self.hub.domains:
            domain.start()
        self.mqtt.start()
        self.watchdog.start()
        log.info(
            "hub for store %s: %d devices, %d domains, db %s",
            self.settings.store_id,
            len(self.hub.inventory.devices),
            len(self.hub.domains),
            self.settings.db_path,
        )

    def stop(self) -> None:
        self.watchdog.stop()
        self.mqtt.stop()  # no new input
        self.writer.stop()  # what arrived is written
        for domain in reversed(self.hub.domains):
            domain.stop()
        self.engine.dispose()
        self.read_engine.dispose()
        self.checkpointer.stop()
