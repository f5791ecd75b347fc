"""The store's inventory: which devices exist, of what type, where they stand.

Only devices listed here are accepted by the hub; the broker's password and ACL files are
generated from the same file (provisioning.provision).
"""

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.const import ID_PATTERN, DeviceType


class DeviceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    type: DeviceType
    zone: str = Field(default="", max_length=32)
    table: str = Field(default="", max_length=32)
    station: str = Field(default="", max_length=32)
    # Printers: where the ESC/POS printer itself listens ("host:port", raw TCP, usually 9100).
    address: str = Field(default="", max_length=64, pattern=r"^$|^[A-Za-z0-9_.-]+:[0-9]{1,5}$")


class TableSpec(BaseModel):
    """A table diners sit at: what its QR code names. `id` goes into the signed token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(default="", max_length=32)  # as printed and shown; the id if empty
    zone: str = Field(default="", max_length=32)

    @property
    def label(self) -> str:
        return self.name or self.id


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str = Field(pattern=ID_PATTERN)
    devices: list[DeviceSpec] = Field(default_factory=list)
    tables: list[TableSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> "Inventory":
        seen: set[str] = set()
        for d in self.devices:
            if d.id in seen:
                raise ValueError(f"device id {d.id!r} is listed twice")
            if d.id == "hub":
                raise ValueError("'hub' is reserved for the hub's own account")
            seen.add(d.id)
        tables = [t.id for t in self.tables]
        if len(set(tables)) != len(tables):
            raise ValueError("a table id is listed twice")
        return self

    def by_id(self) -> dict[str, DeviceSpec]:
        return {d.id: d for d in self.devices}

    def all_tables(self) -> list[TableSpec]:
        """The tables listed, or else one per table named by a device (a call button's)."""
        if self.tables:
            return list(self.tables)
        named = {d.table: d.zone for d in self.devices if d.table}
        return [TableSpec(id=name, zone=zone) for name, zone in named.items()]


def load_inventory(path: Path) -> Inventory:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"inventory file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"inventory file {path} is not valid YAML: {exc}") from None
    return Inventory.model_validate(data)


def save_inventory(inventory: Inventory, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = inventory.model_dump(mode="json", exclude_defaults=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


STATIONS = ("hot", "cold", "bar")  # hot kitchen, cold dishes, bar
RECEIPT_STATION = "cashier"  # receipts print here, or on the first printer when none is


def generate_inventory(
    store: str,
    *,
    tables: int = 0,
    buttons: int = 0,
    kiosks: int = 0,
    screens: int = 0,
    printers: int = 0,
) -> Inventory:
    """A store laid out from counts: smart tables, then tables with a call button, ten to a
    zone (A1..A10, B1..),
    kiosks at the entrance, screens in the waiting area, printers one per station in turn.
    Ids are stable for the same counts, so an inventory generated twice provisions alike."""

    def zone_name(i: int) -> str:  # A..Z, then AA, AB.. like spreadsheet columns
        name = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            name = chr(ord("A") + r) + name
        return name

    def table(n: int) -> tuple[str, str]:
        zone = zone_name((n - 1) // 10)
        return zone, f"{zone}{(n - 1) % 10 + 1}"

    devices = []
    for n in range(1, tables + 1):
        zone, name = table(n)
        devices.append(
            DeviceSpec(id=f"table-{n:03d}", type=DeviceType.SMART_TABLE, zone=zone, table=name)
        )
    for n in range(1, buttons + 1):
        zone, name = table(tables + n)
        devices.append(
            DeviceSpec(id=f"btn-{n:03d}", type=DeviceType.CALL_BUTTON, zone=zone, table=name)
        )
    for n in range(1, kiosks + 1):
        devices.append(DeviceSpec(id=f"kiosk-{n:02d}", type=DeviceType.KIOSK, zone="entrance"))
    for n in range(1, screens + 1):
        devices.append(
            DeviceSpec(id=f"screen-{n:02d}", type=DeviceType.QUEUE_SCREEN, zone="waiting")
        )
    for n in range(1, printers + 1):
        station = STATIONS[(n - 1) % len(STATIONS)]
        devices.append(
            DeviceSpec(
                id=f"printer-{n:02d}", type=DeviceType.PRINTER, zone="kitchen", station=station
            )
        )
    return Inventory(store=store, devices=devices)


def demo_inventory(store: str, buttons: int) -> Inventory:
    """Call buttons only (benchmarks of the call path)."""
    return generate_inventory(store, buttons=buttons)
