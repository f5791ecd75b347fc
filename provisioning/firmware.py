"""Per-device firmware and app configuration, made from the store inventory and its secrets.

Templates live in firmware_configs/templates/, one per device type:

- ESPHome YAML (call_button, smart_table). The rendered file is a `substitutions:` block
  followed by the template. The block holds the device's values (ids, topics, broker, the
  state payloads made by contract), and the template reads them as ESPHome's own
  `${name}`. Every such value is checked to be free of `$` and of Jinja's `<% %>`, so that
  ESPHome uses it as it is. The MQTT password is different: it can be any string, so it never
  goes through ESPHome's substitutions. The template holds `@{mqtt_password}` as the whole
  value of one key, and it is replaced with the password as a double-quoted YAML string
  tagged `!literal` (ESPHome then leaves `$` in it alone). Wi-Fi credentials are the site's,
  not the device's: the YAML reads them with `!secret` from `secrets.yaml` in the same folder.
  What every ESPHome device shares is an ESPHome package in firmware_configs/packages/,
  which a template lists under a top-level `packages:` as `- !include ../packages/<name>.yaml`.
  The rendered file carries each package inline (`packages: {<name>: <its text>}`), so that
  it stands alone, and its substitutions block covers what the packages use too. A package
  holds no secret (no `@{...}`) and has no `substitutions:` or `packages:` of its own.
- JSON (kiosk, queue_screen, printer). The template is parsed as JSON, and every string
  value of the form `@{name}` is replaced by the value itself (a number stays a number). A
  placeholder inside a longer string is replaced by the value's text. The result is written
  back with the json module, so nothing needs escaping by hand.

A placeholder that names nothing is an error, and so is a `${name}` that ESPHome would not
find (ESPHome itself only warns about those). Rendered files hold a password: they are
written with mode 0600.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Final

import yaml

from contract import (
    Channel,
    DeviceState,
    DeviceType,
    device_topic,
    encode,
    hub_state_topic,
    menu_topic,
    ready_topic,
)
from contract.const import (
    COMMANDS,
    QOS_ACK,
    QOS_CMD,
    QOS_EVENT,
    QOS_KIOSK_ORDER,
    QOS_REPLY,
    QOS_STATE,
    QOS_TELEMETRY,
    Presence,
)
from contract.inventory import DeviceSpec, Inventory
from provisioning.files import write_private

# Package data (pyproject.toml), found through the import system: the same files in a checkout
# and in an installed wheel, which has no firmware_configs/ beside provisioning/.
TEMPLATES_DIR: Final = Path(str(files("firmware_configs") / "templates"))

FIRMWARE_VERSION: Final = "1.0.0"
KEEPALIVE_S: Final = 15
TELEMETRY_INTERVAL_S: Final = 30
ESPHOME_TYPES: Final = frozenset({DeviceType.CALL_BUTTON, DeviceType.SMART_TABLE})
SECRET_PLACEHOLDERS: Final = frozenset({"mqtt_password"})
# Where a device app (kiosk) fetches dish pictures: the hub's web server, by default on the
# broker's host (the hub and mosquitto share the Pi) at the hub's default port.
HUB_HTTP_PORT: Final = 8000

# ESPHome: node names are at most 31 characters of [a-z0-9_-]; '_' draws a warning.
_NODE_NAME_MAX = 31
# What ESPHome reads as a substitution: $name or ${name} (esphome.expression).
_ESPHOME_VARIABLE = re.compile(r"\$([A-Za-z0-9_]+|\{[A-Za-z0-9_]*\})")
_PLACEHOLDER = re.compile(r"@\{([A-Za-z0-9_]+)\}")
# A YAML placeholder must be the whole value of a key: `  password: @{mqtt_password}`.
_YAML_PLACEHOLDER_LINE = re.compile(
    r"^(?P<lead>[ \t]*(?:- )?[A-Za-z0-9_]+:[ \t]+)@\{(?P<name>[A-Za-z0-9_]+)\}[ \t]*$",
    re.MULTILINE,
)
_BROKER_HOST = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")
# A template's packages: `packages:` then only `  - !include <path>.yaml` lines.
_PACKAGES_BLOCK = re.compile(
    r"^packages:[ \t]*\n(?P<items>(?:[ \t]+- !include [^\s#]+\.yaml[ \t]*\n)+)", re.MULTILINE
)
_PACKAGE_ITEM = re.compile(r"- !include (?P<path>[^\s#]+)")
_HUB_URL = re.compile(r"^https?://[A-Za-z0-9._:\[\]-]{1,253}(:[0-9]{1,5})?/?$")

JsonValue = str | int | bool | list[str] | None
# Added to an ESP32 device's packages when the store's broker speaks TLS.
TLS_PACKAGE: Final = "../packages/mqtt_tls.yaml"


def template_path(device_type: DeviceType, templates_dir: Path = TEMPLATES_DIR) -> Path:
    suffix = ".yaml" if device_type in ESPHOME_TYPES else ".json"
    return templates_dir / f"{device_type.value}{suffix}"


def config_filename(device: DeviceSpec) -> str:
    return f"{device.id}.yaml" if device.type in ESPHOME_TYPES else f"{device.id}.json"


def firmware_version(device_type: DeviceType) -> str:
    """The `fw` an ESPHome device built from these templates reports (at most 32 chars)."""
    return f"ss-{device_type.value}-{FIRMWARE_VERSION}"


def node_name(device_id: str) -> str:
    """An ESPHome node name (hostname) for the device: the id itself when ESPHome accepts it.

    Otherwise the id lower-cased with '-' for '_', cut short, and a hash of the exact id
    appended, so that two ids that differ only in case or '_' still get different names.
    """
    simple = device_id.lower().replace("_", "-")
    if simple == device_id and len(device_id) <= _NODE_NAME_MAX:
        return device_id
    digest = hashlib.sha256(device_id.encode()).hexdigest()[:6]
    base = simple.strip("-")[: _NODE_NAME_MAX - len(digest) - 1].rstrip("-") or "device"
    return f"{base}-{digest}"


def device_values(
    store: str,
    device: DeviceSpec,
    broker_host: str,
    broker_port: int,
    hub_url: str | None = None,
    ca_pem: str | None = None,
) -> dict[str, JsonValue]:
    """Everything a template may name except secrets. `hub_url`: the hub's web server as the
    device reaches it (dish pictures); default http://{broker_host}:8000. `ca_pem`: the store
    CA when the broker is reached over TLS (then `broker_port` is its TLS port)."""
    if not _BROKER_HOST.fullmatch(broker_host):
        raise ValueError(f"broker host {broker_host!r} is not a host name or an IP address")
    if isinstance(broker_port, bool) or not 1 <= broker_port <= 65535:
        raise ValueError(f"broker port {broker_port!r} is not a TCP port")
    if hub_url is None:
        host = f"[{broker_host}]" if ":" in broker_host else broker_host
        hub_url = f"http://{host}:{HUB_HTTP_PORT}"
    if not _HUB_URL.fullmatch(hub_url):
        raise ValueError(f"hub URL {hub_url!r} is not http(s)://host[:port]")
    offline = encode(DeviceState(state=Presence.OFFLINE)).decode()
    fw = firmware_version(device.type)
    if device.type in ESPHOME_TYPES:
        birth = encode(DeviceState(state=Presence.ONLINE, fw=fw)).decode()
    else:
        # An app reports its own version: it adds "fw" to this when it publishes.
        birth = encode(DeviceState(state=Presence.ONLINE)).decode()
    values: dict[str, JsonValue] = {
        "store": store,
        "device_id": device.id,
        "device_type": device.type.value,
        "zone": device.zone,
        "table": device.table,
        "station": device.station,
        "node_name": node_name(device.id),
        "client_id": f"{store}-{device.id}",
        "fw": fw,
        "broker_host": broker_host,
        "broker_port": broker_port,
        "keepalive_s": KEEPALIVE_S,
        "telemetry_interval_s": TELEMETRY_INTERVAL_S,
        "birth_payload": birth,
        "will_payload": offline,
        "topic_hub_state": hub_state_topic(store),
        "topic_menu": menu_topic(store),
        "topic_ready": ready_topic(store),
        "hub_url": hub_url.rstrip("/"),
        # Public, not a secret: the certificate devices check the broker's against.
        "mqtt_ca_certificate": ca_pem,
        "qos_state": QOS_STATE,
        "qos_telemetry": QOS_TELEMETRY,
        "qos_event": QOS_EVENT,
        "qos_ack": QOS_ACK,
        "qos_cmd": QOS_CMD,
        "qos_reply": QOS_REPLY,
        "qos_kiosk_order": QOS_KIOSK_ORDER,
        "commands": sorted(c.value for c in COMMANDS[device.type]),
    }
    for channel in Channel:
        values[f"topic_{channel.value}"] = device_topic(store, device.type, device.id, channel)
    return values


def render_device_config(
    store: str,
    device: DeviceSpec,
    password: str,
    broker_host: str,
    broker_port: int,
    templates_dir: Path = TEMPLATES_DIR,
    hub_url: str | None = None,
    ca_pem: str | None = None,
) -> str:
    """The configuration file for one device, as text."""
    path = template_path(device.type, templates_dir)
    template = path.read_text(encoding="utf-8")
    values = device_values(store, device, broker_host, broker_port, hub_url, ca_pem)
    secrets = {"mqtt_password": password}
    if device.type in ESPHOME_TYPES:
        if ca_pem is not None:
            template = with_package(template, TLS_PACKAGE)
        template = inline_packages(template, path.parent)
        header = (
            f"# Generated by provisioning/firmware.py from {path.name} and the packages it\n"
            f"# lists, for {device.type.value} {device.id} of store {store}.\n"
            "# It holds the device's MQTT password: keep it private (mode 0600) and out of\n"
            "# version control. Change the template and generate again instead of editing.\n"
        )
        return header + render_esphome(template, values, secrets)
    return render_json(template, values, secrets)


def write_device_configs(
    inventory: Inventory,
    accounts: dict[str, str],
    out_dir: Path,
    broker_host: str,
    broker_port: int,
    hub_url: str | None = None,
    ca_pem: str | None = None,
) -> list[Path]:
    """One config file per device of the inventory in out_dir (mode 0600); their paths.
    With `ca_pem` (the store CA), every device connects to the broker over TLS."""
    missing = [d.id for d in inventory.devices if d.id not in accounts]
    if missing:
        raise ValueError(f"no MQTT password for: {', '.join(missing)}; run provision first")
    rendered = [
        (
            out_dir / config_filename(d),
            render_device_config(
                inventory.store,
                d,
                accounts[d.id],
                broker_host,
                broker_port,
                hub_url=hub_url,
                ca_pem=ca_pem,
            ),
        )
        for d in inventory.devices
    ]
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path, text in rendered:
        write_private(path, text)
    return [path for path, _ in rendered]


def with_package(template: str, include: str) -> str:
    """The template with one more `- !include` at the end of its `packages:` block (merged
    after the others: its keys win)."""
    block = _PACKAGES_BLOCK.search(template)
    if block is None:
        raise ValueError(f"the template has no packages: block to add {include} to")
    return template[: block.end()] + f"  - !include {include}\n" + template[block.end() :]


def inline_packages(template: str, template_dir: Path) -> str:
    """The ESPHome template with its `packages:` block of `- !include` lines replaced by the
    packages themselves, each under its file's name: ESPHome merges them as it would the
    included files, and the rendered file needs nothing beside it but `secrets.yaml`.

    Paths are relative to `template_dir` and must stay inside its parent (firmware_configs/).
    """
    block = _PACKAGES_BLOCK.search(template)
    if block is None:
        if re.search(r"^packages\s*:", template, re.MULTILINE):
            raise ValueError("a template's packages: block may only list `- !include <file>.yaml`")
        return template
    root = template_dir.resolve().parent
    lines = ["packages:"]
    names: set[str] = set()
    for item in _PACKAGE_ITEM.finditer(block.group("items")):
        path = (template_dir / item.group("path")).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"package {item.group('path')} is outside {root}")
        if path.stem in names:
            raise ValueError(f"two packages are named {path.stem}")
        names.add(path.stem)
        text = path.read_text(encoding="utf-8")
        if re.search(r"^(substitutions|packages)\s*:", text, re.MULTILINE):
            raise ValueError(f"package {path.name} must not have substitutions: or packages:")
        if _PLACEHOLDER.search(text):
            raise ValueError(f"package {path.name} is shared: a secret belongs in the template")
        lines.append(f"  # {path.relative_to(root)}, copied in whole by provisioning/firmware.py")
        lines.append(f"  {path.stem}:")
        lines += [f"    {line}" if line.strip() else "" for line in text.splitlines()]
    return template[: block.start()] + "\n".join(lines) + "\n" + template[block.end() :]


def render_esphome(
    template: str, values: Mapping[str, JsonValue], secrets: Mapping[str, str]
) -> str:
    """A `substitutions:` block with the values the template uses, then the template."""
    if re.search(r"^substitutions\s*:", template, re.MULTILINE):
        raise ValueError("an ESPHome template must not have its own substitutions: block")
    used: list[str] = []
    for match in _ESPHOME_VARIABLE.finditer(template):
        name = match.group(1).strip("{}")
        if name not in values:
            raise ValueError(f"the template uses ${{{name}}}, which is not a device value")
        if name not in used:
            used.append(name)

    def secret(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in secrets:
            raise ValueError(f"the template uses @{{{name}}}, which is not a secret")
        return match.group("lead") + "!literal " + yaml_quoted(secrets[name])

    body = _YAML_PLACEHOLDER_LINE.sub(secret, template)
    stray = _PLACEHOLDER.search(body)
    if stray is not None:
        raise ValueError(f"{stray.group(0)} must be the whole value of a key, on its own line")
    lines = ["substitutions:"]
    for name in sorted(used, key=list(values).index):
        lines.append(f"  {name}: {_esphome_value(name, values[name])}")
    return "\n".join(lines) + "\n\n" + body


def render_json(template: str, values: Mapping[str, JsonValue], secrets: Mapping[str, str]) -> str:
    """The JSON template with every `@{name}` string replaced; formatted with indent 2."""
    known: dict[str, JsonValue] = {**values, **secrets}

    def lookup(name: str) -> JsonValue:
        if name not in known:
            raise ValueError(f"the template uses @{{{name}}}, which is not a device value")
        return known[name]

    def fill(node: object) -> object:
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, str):
            whole = _PLACEHOLDER.fullmatch(node)
            if whole is not None:
                return lookup(whole.group(1))
            return _PLACEHOLDER.sub(lambda m: str(lookup(m.group(1))), node)
        return node

    return json.dumps(fill(json.loads(template)), indent=2, ensure_ascii=False) + "\n"


def yaml_quoted(value: str) -> str:
    """`value` as one quoted, single-line YAML scalar that reads back exactly as `value`.

    Single quotes when they can hold it (easier to read), double quotes with escapes if not.
    """
    for style in ("'", '"'):
        text = yaml.safe_dump(value, default_style=style, allow_unicode=False, width=1 << 30)
        text = text.removesuffix("\n")
        if "\n" not in text and yaml.safe_load(text) == value:
            return text
    raise ValueError("the value cannot be written as a single-line YAML string")


def _esphome_value(name: str, value: JsonValue) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} cannot be an ESPHome substitution")
    if isinstance(value, int):
        return str(value)
    # ESPHome expands $name, ${...} and <% ... %> in substitution values and where they land.
    if "$" in value or "<%" in value or "%>" in value:
        raise ValueError(f"{name}={value!r} would be changed by ESPHome's substitutions")
    return yaml_quoted(value)
