"""The hub's settings: one object, from SMARTSTORE_* environment variables or an env file."""

import datetime as dt
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contract.const import ID_PATTERN

# PINs anyone would try first; refused in production.
WEAK_PINS = frozenset({"0000", "1111", "1234", "12345", "123456", "4321", "8888", "password"})
MIN_SECRET_KEY_LEN = 32
MIN_PIN_LEN = 4
# Inside SMARTSTORE_DATA_DIR: the database, and the nightly backups unless told otherwise.
DB_FILE = "hub.sqlite3"
BACKUPS_DIR = "backups"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMARTSTORE_", extra="ignore")

    mode: Literal["production", "demo"] = "production"
    store_id: str = Field(pattern=ID_PATTERN)
    data_dir: Path = Path("./data")
    inventory_path: Path | None = None

    http_host: str = "0.0.0.0"  # noqa: S104 - the board is served to the store's LAN
    http_port: int = 8000

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str = "hub"
    mqtt_password: SecretStr = SecretStr("")
    # The store CA (`smartstore provision --tls`: ca.crt): set, the hub talks to its broker
    # over TLS (mqtt_port is then the broker's TLS port, 8883) and trusts only this CA.
    mqtt_ca_file: Path | None = None
    # The hub's pages over HTTPS on the LAN (web.crt and web.key from `provision --tls`):
    # both or neither. Browsers warn unless the store CA is installed (docs/install.md).
    https_cert_file: Path | None = None
    https_key_file: Path | None = None

    # Empty URL: no InfluxDB; points still wait in the on-disk buffer, bounded.
    influx_url: str = ""
    influx_token: SecretStr = SecretStr("")
    influx_org: str = "smartstore"
    influx_bucket: str = "smartstore"
    influx_buffer_max_points: int = Field(default=100_000, ge=1000)
    influx_batch_size: int = Field(default=5000, ge=1)

    # Staff who may log in to the board: name -> PIN (JSON in the environment).
    staff: dict[str, SecretStr] = Field(default_factory=dict)
    secret_key: SecretStr = SecretStr("")
    # Staff who may also do what changes money after the fact: refunds, points adjustments.
    managers: list[str] = Field(default_factory=list)
    # The chain's member key, the same at every hub and at HQ (SMARTSTORE_CLOUD_MEMBER_KEY):
    # phone numbers are found by their hash under it. Empty: members are off in this store.
    member_key: SecretStr = SecretStr("")
    # After HQ failed to answer a member lookup, the hub goes on offline without asking again
    # for this long: a waiter at a bill must not wait seconds on every member while the
    # internet is down (edge/members/hq.py).
    member_lookup_cool_off_s: float = Field(default=30.0, gt=0)
    session_hours: float = 12.0
    login_attempts_per_minute: int = 5

    # The cloud (HQ). Empty URL: facts wait in the outbox until one is configured.
    cloud_url: str = ""
    cloud_token: SecretStr = SecretStr("")
    cloud_batch_size: int = Field(default=500, ge=1, le=500)
    # How often the hub asks HQ for a newer configuration (menu, opening hours).
    config_poll_s: float = Field(default=60.0, gt=0)

    # The store's menu (YAML or JSON, see docs/ordering-api.md); ordering is off without one.
    menu_path: Path | None = None
    store_name: str = Field(default="", max_length=40)  # printed on receipts
    # Per table, per minute: more than this is someone scripting, not a party ordering.
    orders_per_table_per_minute: int = Field(default=10, ge=1)
    calls_per_table_per_minute: int = Field(default=6, ge=1)
    # Waitlist numbers and bookings (docs/waitlist.md): per phone (its address) and per kiosk,
    # per minute. A family taps twice; a script trying to fill the line is stopped.
    waitlist_takes_per_client_per_minute: int = Field(default=3, ge=1)
    waitlist_takes_per_kiosk_per_minute: int = Field(default=30, ge=1)
    bookings_per_client_per_minute: int = Field(default=5, ge=1)
    # The public address diners' phones reach the hub at, for the QR codes.
    public_url: str = ""

    call_urgent_after_s: float = Field(default=120.0, gt=0)
    # A device that sends nothing (no heartbeat, no state) for this long is shown offline,
    # even if its Last Will has not fired (a frozen device keeps its TCP connection).
    device_silent_after_s: float = Field(default=90.0, gt=0)
    # Battery call buttons deep-sleep between presses and wake at least hourly: a goodbye
    # from one is sleep, not failure; only silence past this says it is gone.
    sleepy_silent_after_s: float = Field(default=7200.0, gt=0)
    battery_low_pct: float = Field(default=20.0, ge=0, le=100)
    command_timeout_s: float = Field(default=10.0, gt=0)
    # The spooler asks each idle printer its status (DLE EOT) this often; 0: only around jobs.
    printer_status_every_s: float = Field(default=15.0, ge=0)
    # A printer that takes the connection but does not answer within this is "unknown".
    printer_status_timeout_s: float = Field(default=1.0, gt=0, le=5)

    # Nightly backups of the database (SQLite's online backup API): where, how many are kept,
    # and when (local time: a restaurant's quiet hour, usually after closing).
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=1, le=366)
    backup_at: dt.time = dt.time(3, 30)

    # The diners' spins decided in a second process (edge/games/drawer.py), so that HTTP and
    # the draws use two cores in a burst. Off: the hub's own process decides them (slower in
    # a burst, the same results).
    games_draw_process: bool = True

    @property
    def backups_dir(self) -> Path:
        return self.backup_dir or self.data_dir / BACKUPS_DIR

    @property
    def inventory_file(self) -> Path:
        return self.inventory_path or self.data_dir / "inventory.yaml"

    @property
    def menu_file(self) -> Path:
        return self.menu_path or self.data_dir / "menu.yaml"

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE

    def mqtt_ca_pem(self) -> str | None:
        if self.mqtt_ca_file is None:
            return None
        return self.mqtt_ca_file.read_text(encoding="ascii")

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        problems = []
        if len(self.secret_key.get_secret_value()) < MIN_SECRET_KEY_LEN:
            problems.append(f"SMARTSTORE_SECRET_KEY must be at least {MIN_SECRET_KEY_LEN} chars")
        if not self.staff:
            problems.append("SMARTSTORE_STAFF must name at least one staff member and PIN")
        for name, pin in self.staff.items():
            value = pin.get_secret_value()
            if self.mode == "production" and (len(value) < MIN_PIN_LEN or value in WEAK_PINS):
                problems.append(f"the PIN of {name!r} is too weak")
        if 0 < len(self.member_key.get_secret_value()) < MIN_SECRET_KEY_LEN:
            problems.append(f"SMARTSTORE_MEMBER_KEY must be at least {MIN_SECRET_KEY_LEN} chars")
        if unknown := [m for m in self.managers if m not in self.staff]:
            problems.append(f"SMARTSTORE_MANAGERS names no staff member: {', '.join(unknown)}")
        if not self.mqtt_password.get_secret_value():
            problems.append("SMARTSTORE_MQTT_PASSWORD is required")
        problems += self._tls_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _tls_problems(self) -> list[str]:
        problems = []
        if (self.https_cert_file is None) != (self.https_key_file is None):
            problems.append("SMARTSTORE_HTTPS_CERT_FILE and SMARTSTORE_HTTPS_KEY_FILE go together")
        for name in ("mqtt_ca_file", "https_cert_file", "https_key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                problems.append(f"SMARTSTORE_{name.upper()}: no file at {path}")
        if self.mqtt_ca_file is not None and self.mqtt_ca_file.is_file():
            text = self.mqtt_ca_file.read_text(encoding="ascii", errors="replace")
            if "-----BEGIN CERTIFICATE-----" not in text:
                problems.append(f"SMARTSTORE_MQTT_CA_FILE: {self.mqtt_ca_file} is no certificate")
        return problems
