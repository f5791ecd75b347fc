"""The menu domain: the menu diners order from (HQ's, or the store's file), sold-out marks,
opening hours, and the configuration HQ pushes down (pulled, applied, reported back)."""

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.menu import MenuFile, StoreConfig, load_menu
from contract.uplink import ConfigApplied as ConfigAppliedFact
from contract.uplink import ConfigAppliedEvent
from edge.core.domain import Domain, HubContext, Startable
from edge.menu.models import AppliedConfig, SoldOut
from edge.menu.service import MenuState
from edge.orders.errors import OrderError
from edge.uplink import service as outbox
from edge.uplink.config_pull import ConfigPuller
from edge.uplink.events import FactsCommitted

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConfigApplied:
    """HQ's configuration `version` is what the hub serves now."""

    version: int
    config: StoreConfig


@dataclass(frozen=True, slots=True)
class SoldOutChanged:
    """Staff changed the sold-out marks; `sold_out` is the whole set now."""

    sold_out: frozenset[str]


class MenuDomain(Domain):
    name = "menu"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.state: MenuState | None = None
        self.config: StoreConfig | None = None  # HQ's, when one was ever applied
        self.config_version: int | None = None
        with hub.sessions.begin() as session:
            applied = session.scalar(
                select(AppliedConfig).order_by(AppliedConfig.version.desc()).limit(1)
            )
            if applied is not None:
                # The last good configuration from HQ outranks the local file.
                self.config = StoreConfig.model_validate(applied.document)
                self.config_version = applied.version
            menu = self.config.menu if self.config is not None else self._load_menu()
            if menu is not None:
                self.state = MenuState.load(session, menu)
        s = hub.settings
        self.puller = ConfigPuller(
            s.cloud_url,
            s.cloud_token.get_secret_value(),
            s.config_poll_s,
            lambda: self.config_version,
            self.apply_config,
        )

    def _load_menu(self) -> MenuFile | None:
        path = self.hub.settings.menu_file
        if not path.exists():
            log.warning("no menu at %s: ordering is off until one is installed", path)
            return None
        return load_menu(path)

    @classmethod
    def router(cls) -> APIRouter:
        from edge.menu.routes import router

        return router

    def workers(self) -> Sequence[Startable]:
        return (self.puller,)

    def snapshot(self, session: Session) -> dict[str, Any]:
        return {"sold_out": sorted(self.state.sold_out) if self.state is not None else []}

    @property
    def menu(self) -> MenuState:
        if self.state is None:
            raise OrderError(
                503,
                "no_menu",
                "菜单未加载，请联系服务员 / The menu is not loaded, please ask staff",
            )
        return self.state

    def apply_config(self, version: int, config: StoreConfig) -> None:
        """Store it and the fact for HQ in one transaction, then serve it."""
        now = time.time()
        with self.hub.sessions.begin() as session:
            session.merge(
                AppliedConfig(
                    version=version, document=config.model_dump(mode="json"), applied_at=now
                )
            )
            event = ConfigAppliedEvent(
                id=f"cfg-{version}-{uuid.uuid4().hex[:12]}",
                occurred_at=now,
                data=ConfigAppliedFact(version=version),
            )
            outbox.enqueue(session, [event])
            sold_out = set(session.scalars(select(SoldOut.dish_id)))
        if self.state is None:
            self.state = MenuState(config.menu, sold_out)
        else:
            self.state.replace(config.menu)
        self.config, self.config_version = config, version
        self.hub.bus.publish(FactsCommitted())
        self.hub.bus.publish(ConfigApplied(version, config))
        self.hub.board.publish({"type": "config", "version": version})
        self.hub.diners.publish({"type": "config", "version": version})

    def check_open(self, now: float) -> None:
        if self.config is None:
            return
        local = time.localtime(now)
        if not self.config.is_open(local.tm_wday, time.strftime("%H:%M", local)):
            raise OrderError(
                409, "store_closed", "本店现在不营业 / The store is not open for orders now"
            )
