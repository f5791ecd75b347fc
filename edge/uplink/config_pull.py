"""Pulls the configuration HQ publishes for this store (menu, opening hours).

A document is validated whole before anything changes; one that fails (or a cloud that is
away) leaves the store on its last good configuration, which is kept in the hub's database.
"""

import logging
import random
from collections.abc import Callable

import httpx
from pydantic import ValidationError

from contract.menu import StoreConfig
from edge.core.worker import Worker
from edge.uplink.sender import cloud_client

log = logging.getLogger(__name__)

CONFIG_PATH = "/api/v1/config"
BACKOFF_MAX_S = 300.0


class ConfigPuller(Worker):
    name = "config-pull"
    join_timeout_s = 15.0

    def __init__(
        self,
        url: str,
        token: str,
        every_s: float,
        current_version: Callable[[], int | None],
        apply: Callable[[int, StoreConfig], None],
    ) -> None:
        super().__init__()
        self._url = url.rstrip("/")
        self._token = token
        self._every_s = every_s
        self._current = current_version
        self._apply = apply
        self.last_error = ""

    @property
    def enabled(self) -> bool:
        return bool(self._url)

    def run(self) -> None:
        failures = 0
        with cloud_client(self._url, self._token) as client:
            while not self.stopping:
                try:
                    self.pull_once(client)
                    failures = 0
                    self.last_error = ""
                    wait = self._every_s
                except (httpx.HTTPError, ValueError) as exc:
                    failures += 1
                    self.last_error = str(exc)[:200]
                    wait = min(self._every_s * 2**failures, BACKOFF_MAX_S)
                    log.warning("configuration from HQ: %s; retry in %.0fs", exc, wait)
                self.sleep(wait * random.uniform(0.9, 1.1))

    def pull_once(self, client: httpx.Client) -> bool:
        """True when a new configuration was applied."""
        version = self._current()
        headers = {"If-None-Match": f'"{version}"'} if version is not None else {}
        r = client.get(CONFIG_PATH, headers=headers)
        if r.status_code in (204, 304):
            return False
        r.raise_for_status()
        body = r.json()
        new_version = body.get("version")
        if not isinstance(new_version, int):
            raise ValueError("HQ's configuration has no version")
        if version is not None and new_version <= version:
            return False
        try:
            config = StoreConfig.model_validate(body.get("config"))
        except ValidationError as exc:
            raise ValueError(f"HQ's configuration {new_version} is not valid: {exc}") from None
        self._apply(new_version, config)
        log.info("applied HQ's configuration version %d", new_version)
        return True
