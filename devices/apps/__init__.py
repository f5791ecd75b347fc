"""The software that runs on the devices a store buys: the kiosk at the door and the queue
screen in the waiting area. Each app is one device on MQTT with its own credentials (from the
JSON config `smartstore provision` renders) and a local web page shown by Chromium in kiosk
mode. docs/device-apps.md says how to install them.

    app = build_app(load_app_config(Path("/etc/smartstore/kiosk-01.json")))
    app.start()  # or app.run() in the foreground
    print(app.url)
"""

from typing import Any

from devices.apps.app import AppDevice, DeviceApp
from devices.apps.config import (
    AnyAppConfig,
    ConfigError,
    KioskConfig,
    QueueScreenConfig,
    load_app_config,
    parse_app_config,
)
from devices.apps.kiosk import KioskApp
from devices.apps.queue_screen import QueueScreenApp


def build_app(config: AnyAppConfig, **device_kw: Any) -> DeviceApp:
    """The app for the config's device type; `device_kw` go to its device (e.g. `camera`)."""
    if isinstance(config, KioskConfig):
        return DeviceApp(KioskApp, config, **device_kw)
    return DeviceApp(QueueScreenApp, config, **device_kw)


__all__ = [
    "AnyAppConfig",
    "AppDevice",
    "ConfigError",
    "DeviceApp",
    "KioskApp",
    "KioskConfig",
    "QueueScreenApp",
    "QueueScreenConfig",
    "build_app",
    "load_app_config",
    "parse_app_config",
]
