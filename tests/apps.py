"""Shared set-up for the device app tests: an app's config rendered as `provision` renders it,
the app running in this process, and screenshots for docs/img when asked for."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from devices.apps import AnyAppConfig, DeviceApp, build_app, parse_app_config
from provisioning.firmware import render_device_config
from tests.support import Broker, wait_until

# SMARTSTORE_SCREENSHOTS=docs/img: the browser tests save the docs' screenshots there.
SCREENSHOTS = os.environ.get("SMARTSTORE_SCREENSHOTS")


def app_config(broker: Broker, device_id: str, hub_url: str, **overrides: Any) -> AnyAppConfig:
    """The device's config exactly as `smartstore provision --configs-dir` writes it, with the
    page on a free port and `overrides` (what an installer sets) on top."""
    spec = broker.inventory.by_id()[device_id]
    text = render_device_config(
        broker.store,
        spec,
        broker.accounts[device_id],
        "127.0.0.1",
        broker.port,
        hub_url=hub_url,
    )
    return parse_app_config({**json.loads(text), "http_port": 0, **overrides})


@contextmanager
def running_app(config: AnyAppConfig, **device_kw: Any) -> Iterator[DeviceApp]:
    app = build_app(config, **device_kw)
    app.start()
    try:
        wait_until(lambda: app.device.connected, what=f"{config.device_id} on the broker")
        yield app
    finally:
        app.stop()


def keep_screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name))
