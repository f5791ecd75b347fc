"""An app's configuration: the JSON file `smartstore provision` renders for one kiosk or queue
screen (firmware_configs/templates/), read and checked before anything connects."""

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from contract import Channel, DeviceType, device_topic, hub_state_topic, menu_topic, ready_topic
from contract.const import ID_PATTERN

APP_TYPES = (DeviceType.KIOSK, DeviceType.QUEUE_SCREEN)
# What an installer sets for one device, in a file of its own beside the rendered config
# (`--local`): `provision` renders the config again (a rotated password), never this file.
LOCAL_KEYS = frozenset(
    {
        "hub_url",
        "http_host",
        "http_port",
        "idle_timeout_s",
        "order_timeout_s",
        "printer_host",
        "printer_port",
        "camera_source",
        "display_s",
        "chime",
        "telemetry_interval_s",
    }
)


class _Config(BaseModel):
    # Keys an app does not use (qos, subscribe, will, ... kept for firmware writers) are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)


class MqttSettings(_Config):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    username: str = Field(pattern=ID_PATTERN)
    password: SecretStr
    client_id: str = Field(min_length=1, max_length=64)
    keepalive_s: int = Field(default=15, ge=5, le=300)
    # The store CA's certificate (PEM), written in by `provision --tls`: the app connects to
    # `port` over TLS and accepts only a broker the store CA vouches for. None: plain MQTT.
    ca_certificate: str | None = Field(
        default=None, pattern=r"^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\s*$"
    )


class AppConfig(_Config):
    config_version: Literal[1]
    store: str = Field(pattern=ID_PATTERN)
    device_id: str = Field(pattern=ID_PATTERN)
    device_type: DeviceType
    zone: str = ""
    mqtt: MqttSettings
    topics: dict[str, str]
    telemetry_interval_s: float = Field(default=30, gt=0, le=60)
    # The local page. 127.0.0.1: only the browser on the device itself reaches it. 0: any free
    # port (tests, the demo).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # The hub's web server (dish pictures); "" for none.
    hub_url: str = Field(default="", pattern=r"^$|^https?://[^/\s]+/?$")

    def expected_topics(self) -> dict[str, str]:
        def own(channel: Channel) -> str:
            return device_topic(self.store, self.device_type, self.device_id, channel)

        return {
            "state": own(Channel.STATE),
            "telemetry": own(Channel.TELEMETRY),
            "cmd": own(Channel.CMD),
            "reply": own(Channel.REPLY),
            "hub_state": hub_state_topic(self.store),
        }


class KioskConfig(AppConfig):
    device_type: Literal[DeviceType.KIOSK]
    http_port: int = Field(default=8080, ge=0, le=65535)
    # No touch for this long: back to the welcome screen, the cart forgotten.
    idle_timeout_s: float = Field(default=90, ge=5, le=3600)
    # An order unanswered for this long (the hub away): resending stops and the diner is told
    # it could not be placed.
    order_timeout_s: float = Field(default=60, ge=10, le=600)
    printer_host: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,253}$")
    printer_port: int = Field(default=9100, ge=1, le=65535)
    printer_encoding: Literal["GB18030"] = "GB18030"
    # What cv2.VideoCapture opens: 0 for /dev/video0, a /dev/video* path, a stream URL, or a
    # file (demos). None: no camera.
    camera_source: int | str | None = None

    def expected_topics(self) -> dict[str, str]:
        def own(channel: Channel) -> str:
            return device_topic(self.store, self.device_type, self.device_id, channel)

        return super().expected_topics() | {
            "event": own(Channel.EVENT),
            "ack": own(Channel.ACK),
            "menu": menu_topic(self.store),
        }


class QueueScreenConfig(AppConfig):
    device_type: Literal[DeviceType.QUEUE_SCREEN]
    http_port: int = Field(default=8081, ge=0, le=65535)
    # How long a text staff send with `display` stays on the screen.
    display_s: float = Field(default=600, ge=5, le=86400)
    chime: bool = True

    def expected_topics(self) -> dict[str, str]:
        return super().expected_topics() | {"ready": ready_topic(self.store)}


AnyAppConfig = KioskConfig | QueueScreenConfig


class ConfigError(ValueError):
    pass


def parse_app_config(data: object, where: str = "the config") -> AnyAppConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} is not a JSON object")
    kind = data.get("device_type")
    model: type[AnyAppConfig]
    if kind == DeviceType.KIOSK.value:
        model = KioskConfig
    elif kind == DeviceType.QUEUE_SCREEN.value:
        model = QueueScreenConfig
    else:
        apps = ", ".join(t.value for t in APP_TYPES)
        raise ConfigError(f"{where}: device_type {kind!r} has no app here (apps: {apps})")
    try:
        config = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ConfigError(f"{where}: {field}: {first['msg']}") from None
    if config.mqtt.username != config.device_id:
        raise ConfigError(f"{where}: mqtt.username must be the device id {config.device_id!r}")
    wanted = config.expected_topics()
    wrong = {k: v for k, v in wanted.items() if config.topics.get(k) != v}
    if wrong:
        # A config from an older template, or edited by hand: the broker's ACL would drop
        # what the app sends, silently. Render it again with `smartstore provision`.
        names = ", ".join(f"{k} (expected {v})" for k, v in wrong.items())
        raise ConfigError(f"{where}: topics do not follow the wire contract: {names}")
    return config


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not JSON: {exc}") from None


def load_app_config(path: Path, local: Path | None = None) -> AnyAppConfig:
    """The rendered config, with the installer's `local` values (LOCAL_KEYS) on top."""
    data = _read_json(path)
    if local is not None:
        extra = _read_json(local)
        if not isinstance(extra, dict):
            raise ConfigError(f"{local} is not a JSON object")
        unknown = sorted(set(extra) - LOCAL_KEYS)
        if unknown:
            allowed = ", ".join(sorted(LOCAL_KEYS))
            raise ConfigError(f"{local}: {', '.join(unknown)} cannot be set here ({allowed})")
        if isinstance(data, dict):
            data = {**data, **extra}
    return parse_app_config(data, str(path))
