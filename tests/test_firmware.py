"""Device configs from the inventory: ESPHome YAML that ESPHome accepts, JSON for apps, and
both speaking exactly the wire contract with the device's own account."""

import json
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract import (
    CallButtonEvent,
    Channel,
    CommandReply,
    DeviceState,
    DeviceType,
    Telemetry,
    device_topic,
    hub_state_topic,
    menu_topic,
    parse_payload,
    ready_topic,
    telemetry_model,
)
from contract.const import COMMANDS, EVENT_ID_PATTERN, ID_PATTERN, CallReason, Presence
from contract.inventory import DeviceSpec, Inventory
from provisioning.firmware import (
    TEMPLATES_DIR,
    config_filename,
    inline_packages,
    node_name,
    render_esphome,
    render_json,
    write_device_configs,
)
from provisioning.provision import ensure_secrets

REPO = Path(__file__).resolve().parent.parent
ESPHOME_VENV_BIN = REPO / ".venv-esphome" / "bin" / "esphome"
STORE = "S1"
# Every character YAML, ESPHome's substitutions or a C++ string could trip over.
NASTY_PASSWORD = "a: b #c $d ${e} <% f %> \"g\" 'h' \\i é"
DEVICES = [
    DeviceSpec(id="btn-001", type=DeviceType.CALL_BUTTON, zone="A", table="A1"),
    DeviceSpec(id="Table_07", type=DeviceType.SMART_TABLE, zone="B", table="B7"),
    DeviceSpec(id="kiosk-1", type=DeviceType.KIOSK, zone="front"),
    DeviceSpec(id="queue-1", type=DeviceType.QUEUE_SCREEN, zone="pickup"),
    DeviceSpec(id="prn-hot", type=DeviceType.PRINTER, station="hot"),
]
ESPHOME_TYPES = {DeviceType.CALL_BUTTON, DeviceType.SMART_TABLE}


class _AnyTagLoader(yaml.SafeLoader):
    """Reads ESPHome YAML: !lambda, !secret, !literal ... become the plain value they tag."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node, deep=True)


_AnyTagLoader.add_multi_constructor("!", _untagged)


@dataclass(frozen=True)
class Generated:
    inventory: Inventory
    accounts: dict[str, str]
    paths: dict[str, Path]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    base = tmp_path_factory.mktemp("firmware")
    inventory = Inventory(store=STORE, devices=DEVICES)
    secrets_file = base / "secrets.json"
    # provision keeps passwords it already has: the call button gets the awkward one.
    secrets_file.write_text(json.dumps({"btn-001": NASTY_PASSWORD}), encoding="utf-8")
    accounts = ensure_secrets(inventory, secrets_file)
    assert accounts["btn-001"] == NASTY_PASSWORD
    out = base / "configs"
    paths = write_device_configs(inventory, accounts, out, "10.20.0.2", 1883)
    # Site Wi-Fi credentials, which the installer keeps beside the generated files.
    (out / "secrets.yaml").write_text(
        'wifi_ssid: "store-wifi"\nwifi_password: "not-a-real-one"\n', encoding="utf-8"
    )
    return Generated(inventory, accounts, {p.stem: p for p in paths})


def _esphome() -> str:
    configured = os.environ.get("ESPHOME")
    if configured:
        found = shutil.which(configured)
        if found is None:
            pytest.fail(f"ESPHOME={configured!r} is not an executable")
        return found
    if ESPHOME_VENV_BIN.exists():
        return str(ESPHOME_VENV_BIN)
    pytest.fail(
        "ESPHome is needed to validate the generated configs. Install it into its own "
        "virtualenv, not .venv (it pins many packages): python3 -m venv .venv-esphome && "
        ".venv-esphome/bin/pip install esphome==2026.6.5 (run in the repository root), "
        "or set ESPHOME to an esphome executable."
    )


@pytest.fixture(scope="module")
def esphome_views(generated: Generated) -> dict[str, dict[str, Any]]:
    """`esphome config` of every generated YAML, as ESPHome resolved it (secrets shown)."""
    esphome = _esphome()
    views: dict[str, dict[str, Any]] = {}
    for device in DEVICES:
        if device.type not in ESPHOME_TYPES:
            continue
        path = generated.paths[device.id]
        result = subprocess.run(
            [esphome, "config", "--show-secrets", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, (
            f"esphome config {path.name} failed:\n{result.stdout[-4000:]}\n{result.stderr}"
        )
        assert "Configuration is valid!" in result.stderr
        assert "WARNING" not in result.stderr, result.stderr
        views[device.id] = yaml.load(result.stdout, _AnyTagLoader)  # noqa: S506
    return views


def _load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(encoding="utf-8"), _AnyTagLoader)  # noqa: S506
    assert isinstance(data, dict)
    return data


def _substituted(node: Any, subs: dict[str, Any]) -> Any:
    """ESPHome's plain $name / ${name} substitution (a whole-string match keeps the type)."""
    if isinstance(node, dict):
        return {k: _substituted(v, subs) for k, v in node.items()}
    if isinstance(node, list):
        return [_substituted(v, subs) for v in node]
    if isinstance(node, str):
        whole = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", node)
        if whole:
            return subs[whole.group(1) or whole.group(2)]
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: str(subs[m.group(1) or m.group(2)]), node)
    return node


def _merged(old: Any, new: Any) -> Any:
    """ESPHome's merge of a package (old) and the file that lists it (new): maps merge key by
    key, lists are the package's items then the file's, a null keeps the package's value."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merged(old.get(k), v) for k, v in new.items()}}
    if isinstance(old, list) and isinstance(new, list):
        return old + new
    return old if new is None else new


def _resolved_esphome(path: Path) -> dict[str, Any]:
    """The generated file as ESPHome would see it after substitution (by our own reading)."""
    data = _load_yaml(path)
    # Its packages are inline (the file stands alone): merged under it, as ESPHome does.
    for package in data.pop("packages", {}).values():
        data = _merged(package, data)
    subs = data.pop("substitutions")
    assert isinstance(subs, dict)
    # The password is !literal: ESPHome does not substitute inside it, so neither do we.
    password = data["mqtt"].pop("password")
    resolved = _substituted(data, subs)
    assert isinstance(resolved, dict)
    resolved["mqtt"]["password"] = password
    return resolved


def _all_text(node: Any) -> str:
    """Every string in a config (keys and values, lambdas included), one per line."""
    if isinstance(node, dict):
        return "\n".join(f"{k}\n{_all_text(v)}" for k, v in node.items())
    if isinstance(node, list):
        return "\n".join(_all_text(v) for v in node)
    return str(node)


def _raw_strings(text: str, label: str) -> list[str]:
    """The C++ raw string literals R"label(...)label" in a config: the JSON formats."""
    return re.findall(rf'R"{label}\((.*?)\){label}"', text, re.DOTALL)


def _topic(device: DeviceSpec, channel: Channel) -> str:
    return device_topic(STORE, device.type, device.id, channel)


def _check_mqtt_block(device: DeviceSpec, mqtt: dict[str, Any], password: str) -> None:
    assert mqtt["username"] == device.id
    assert mqtt["password"] == password
    assert mqtt["client_id"] == f"{STORE}-{device.id}"
    assert mqtt["broker"] == "10.20.0.2"
    assert int(mqtt["port"]) == 1883
    assert mqtt["keepalive"] == "15s"
    assert mqtt["discovery"] is False
    assert mqtt["discover_ip"] is False
    assert mqtt["topic_prefix"] in (None, "")  # no ESPHome topics: the ACL would drop them
    assert mqtt["log_topic"] is None
    state_topic = _topic(device, Channel.STATE)
    for key, presence in (
        ("birth_message", Presence.ONLINE),
        ("will_message", Presence.OFFLINE),
        ("shutdown_message", Presence.OFFLINE),
    ):
        message = mqtt[key]
        assert message["topic"] == state_topic
        assert int(message["qos"]) == 1
        assert message["retain"] is True
        state = parse_payload(message["payload"].encode(), DeviceState)
        assert state.state is presence
    subscribed = {m["topic"]: int(m["qos"]) for m in mqtt["on_json_message"]}
    assert subscribed == {_topic(device, Channel.ACK): 1, _topic(device, Channel.CMD): 1}


def test_one_config_file_per_device_private(generated: Generated) -> None:
    assert set(generated.paths) == {d.id for d in DEVICES}
    for device in DEVICES:
        path = generated.paths[device.id]
        assert path.name == config_filename(device)
        assert path.suffix == (".yaml" if device.type in ESPHOME_TYPES else ".json")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(next(iter(generated.paths.values())).parent.glob("*.tmp"))


def test_rewriting_makes_a_loose_file_private(tmp_path: Path) -> None:
    inventory = Inventory(store=STORE, devices=DEVICES[:1])
    target = tmp_path / "btn-001.yaml"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    (path,) = write_device_configs(inventory, {"btn-001": "pw"}, tmp_path, "hub.local", 1883)
    assert path == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8") != "old"


def test_esphome_accepts_every_generated_yaml(
    generated: Generated, esphome_views: dict[str, dict[str, Any]]
) -> None:
    """What ESPHome itself made of each file: the contract's topics and the exact password."""
    assert set(esphome_views) == {d.id for d in DEVICES if d.type in ESPHOME_TYPES}
    for device_id, view in esphome_views.items():
        device = generated.inventory.by_id()[device_id]
        _check_mqtt_block(device, view["mqtt"], generated.accounts[device_id])
        assert view["esphome"]["name"] == node_name(device_id)


def test_esphome_yaml_speaks_the_wire_contract(generated: Generated) -> None:
    for device in DEVICES:
        if device.type not in ESPHOME_TYPES:
            continue
        path = generated.paths[device.id]
        config = _resolved_esphome(path)
        _check_mqtt_block(device, config["mqtt"], generated.accounts[device.id])
        text = _all_text(config)

        # Exactly the device's own six topics appear anywhere in it, nothing else.
        topics = set(re.findall(r"store/[A-Za-z0-9_/-]+", text))
        assert topics == {_topic(device, c) for c in Channel}

        # The press: the id format and the payload format, with example values.
        (id_format,) = set(_raw_strings(text, "event_id"))
        event_id = id_format % (device.id, 7, 3)
        assert event_id == f"{device.id}-000007-3"
        shortest = id_format % ("b", 0, 1)
        longest = id_format % ("x" * 32, 2**32 - 1, 2**32 - 1)
        for made in (event_id, shortest, longest):
            assert re.fullmatch(EVENT_ID_PATTERN, made), made
        (press_format,) = set(_raw_strings(text, "press"))
        for reason in (CallReason.SERVICE, CallReason.BILL):
            event = parse_payload(
                (press_format % (event_id, reason.value)).encode(), CallButtonEvent
            )
            assert (event.id, event.type, event.reason) == (event_id, "press", reason)

        # Replies to commands, ok and error.
        reply_formats = set(_raw_strings(text, "reply"))
        assert len(reply_formats) == 2
        for fmt in reply_formats:
            values = ("cmd-42-abcdef", "unsupported command")[: fmt.count("%s")]
            reply = parse_payload((fmt % values).encode(), CommandReply)
            assert reply.id == "cmd-42-abcdef"

        # Telemetry: every field it sets is a Telemetry field.
        fields = set(re.findall(r'root\["(\w+)"\]', text))
        assert fields <= set(Telemetry.model_fields)
        assert {"v", "rssi_dbm", "fw", "uptime_s"} <= fields
        if device.type is DeviceType.CALL_BUTTON:
            assert "battery_pct" in fields

        # The firmware version it reports fits the contract.
        fw = _load_yaml(path)["substitutions"]["fw"]
        assert parse_payload(json.dumps({"v": 1, "fw": fw}).encode(), Telemetry).fw == fw


def test_call_button_sleeps_and_keeps_its_counter(generated: Generated) -> None:
    config = _resolved_esphome(generated.paths["btn-001"])
    assert config["deep_sleep"]["wakeup_pin"]["number"] == "GPIO27"
    boot = {g["id"]: g for g in config["globals"]}["boot_count"]
    assert boot["restore_value"] is True
    assert "deep_sleep" not in _resolved_esphome(generated.paths["Table_07"])


def test_esphome_templates_share_one_package(generated: Generated) -> None:
    """What every ESP32 device has (board, MQTT link, boot counter, replies) is written once,
    in an ESPHome package; each rendered file carries it inline and needs nothing beside it."""
    package = TEMPLATES_DIR.parent / "packages" / "esp32_device.yaml"
    include = "packages:\n  - !include ../packages/esp32_device.yaml\n"
    shared = _load_yaml(package)
    assert {"esp32", "wifi", "mqtt", "globals", "script", "interval"} <= set(shared)
    assert "@{" not in package.read_text(encoding="utf-8")
    for device in DEVICES:
        if device.type not in ESPHOME_TYPES:
            continue
        template = (TEMPLATES_DIR / f"{device.type.value}.yaml").read_text(encoding="utf-8")
        assert include in template
        assert "birth_message" not in template and "id: boot_count" not in template
        # Inline, not an !include of a file that would have to travel with it.
        assert _load_yaml(generated.paths[device.id])["packages"] == {"esp32_device": shared}


@pytest.mark.parametrize(
    ("package", "template", "error"),
    [
        ("mqtt:\n  password: @{mqtt_password}\n", None, "a secret belongs in the template"),
        ("substitutions:\n  a: b\n", None, "substitutions: or packages:"),
        ("wifi: {}\n", "packages:\n  - !include ../../p.yaml\n", "outside"),
        ("wifi: {}\n", "packages:\n  p: !include ../packages/p.yaml\n", "may only list"),
    ],
)
def test_package_mistakes_are_refused(
    tmp_path: Path, package: str, template: str | None, error: str
) -> None:
    root = tmp_path / "firmware_configs"
    (root / "templates").mkdir(parents=True)
    (root / "packages").mkdir()
    (root / "packages" / "p.yaml").write_text(package, encoding="utf-8")
    (tmp_path / "p.yaml").write_text(package, encoding="utf-8")
    template = template or "packages:\n  - !include ../packages/p.yaml\n"
    with pytest.raises(ValueError, match=error):
        inline_packages(template, root / "templates")


def test_json_configs_for_apps(generated: Generated) -> None:
    for device in DEVICES:
        if device.type in ESPHOME_TYPES:
            continue
        config = json.loads(generated.paths[device.id].read_text(encoding="utf-8"))
        assert (config["store"], config["device_id"], config["device_type"]) == (
            STORE,
            device.id,
            device.type.value,
        )
        mqtt = config["mqtt"]
        assert mqtt["username"] == device.id
        assert mqtt["password"] == generated.accounts[device.id]
        assert mqtt["client_id"] == f"{STORE}-{device.id}"
        assert (mqtt["host"], mqtt["port"], mqtt["keepalive_s"]) == ("10.20.0.2", 1883, 15)
        topics = {
            "state": _topic(device, Channel.STATE),
            "telemetry": _topic(device, Channel.TELEMETRY),
            "cmd": _topic(device, Channel.CMD),
            "reply": _topic(device, Channel.REPLY),
            "hub_state": hub_state_topic(STORE),
        }
        qos = {"state": 1, "telemetry": 0, "cmd": 1, "reply": 1}
        subscribe = [_topic(device, Channel.CMD), hub_state_topic(STORE)]
        if device.type is DeviceType.KIOSK:
            # The kiosk app orders (events at QoS 0, acks) and reads the hub's menu.
            topics |= {
                "event": _topic(device, Channel.EVENT),
                "ack": _topic(device, Channel.ACK),
                "menu": menu_topic(STORE),
            }
            qos |= {"event": 0, "ack": 1}
            subscribe = [_topic(device, Channel.ACK), *subscribe, menu_topic(STORE)]
            assert config["hub_url"] == "http://10.20.0.2:8000"
        elif device.type is DeviceType.QUEUE_SCREEN:
            topics["ready"] = ready_topic(STORE)
            subscribe.append(ready_topic(STORE))
        assert config["topics"] == topics
        assert config["qos"] == qos
        assert config["subscribe"] == subscribe
        for key, presence in (
            ("will", Presence.OFFLINE),
            ("birth", Presence.ONLINE),
            ("goodbye", Presence.OFFLINE),
        ):
            message = config[key]
            assert (message["topic"], message["qos"], message["retain"]) == (
                _topic(device, Channel.STATE),
                1,
                True,
            )
            state = parse_payload(message["payload"].encode(), DeviceState)
            assert state.state is presence
        assert config["telemetry_interval_s"] == 30
        assert config["commands"] == sorted(c.value for c in COMMANDS[device.type])
        assert telemetry_model(device.type).__name__ in ("Telemetry", "PrinterTelemetry")
        if device.type is DeviceType.PRINTER:
            assert config["station"] == device.station
            assert config["printer_port"] == 9100
            assert config["encoding"] == "GB18030"
            assert "printer_host" in config
        else:
            assert config["zone"] == device.zone


def test_templates_hold_no_secret(generated: Generated) -> None:
    templates = sorted(TEMPLATES_DIR.iterdir())
    assert {p.name for p in templates} == {
        "call_button.yaml",
        "smart_table.yaml",
        "kiosk.json",
        "queue_screen.json",
        "printer.json",
    }
    for template in templates:
        text = template.read_text(encoding="utf-8")
        for password in generated.accounts.values():
            assert password not in text, template.name
        assert "@{mqtt_password}" in text
    # And the generated files do hold it, each its own device's.
    for device_id, path in generated.paths.items():
        text = path.read_text(encoding="utf-8")
        others = [pw for name, pw in generated.accounts.items() if name != device_id]
        assert not any(pw in text for pw in others)


def test_awkward_password_survives_yaml_and_json() -> None:
    template = "mqtt:\n  username: ${device_id}\n  password: @{mqtt_password}\n"
    for password in (NASTY_PASSWORD, "#only", ": x", "line\nbreak", "'", '"', "~", "null"):
        text = render_esphome(template, {"device_id": "d1"}, {"mqtt_password": password})
        assert _load_yaml_text(text)["mqtt"]["password"] == password
        rendered = render_json('{"p": "@{mqtt_password}"}', {}, {"mqtt_password": password})
        assert json.loads(rendered)["p"] == password


def _load_yaml_text(text: str) -> dict[str, Any]:
    data = yaml.load(text, _AnyTagLoader)  # noqa: S506
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("name: ${nobody}\n", "not a device value"),
        ("substitutions:\n  a: b\n", "own substitutions"),
        ("password: x@{mqtt_password}\n", "whole value"),
        ("password: @{api_key}\n", "not a secret"),
    ],
)
def test_template_mistakes_are_refused(template: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        render_esphome(template, {"device_id": "d1"}, {"mqtt_password": "pw"})


def test_unsafe_values_and_missing_accounts_are_refused(tmp_path: Path) -> None:
    inventory = Inventory(store=STORE, devices=DEVICES)
    with pytest.raises(ValueError, match="no MQTT password"):
        write_device_configs(inventory, {"btn-001": "pw"}, tmp_path, "hub", 1883)
    accounts = {d.id: "pw" for d in DEVICES}
    with pytest.raises(ValueError, match="broker host"):
        write_device_configs(inventory, accounts, tmp_path, "hub; rm -rf /", 1883)
    with pytest.raises(ValueError, match="TCP port"):
        write_device_configs(inventory, accounts, tmp_path, "hub", 0)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="substitutions"):
        render_esphome("x: ${fw}\n", {"fw": "a$b"}, {})


@pytest.mark.parametrize(
    ("device_id", "expected"),
    [
        # Already a valid node name: the id itself.
        ("btn-001", "btn-001"),
        ("btn-1", "btn-1"),
        ("-", "-"),
        # Otherwise lower case, "-" for "_", at most 24 characters, then "-" and the first
        # 6 hex digits of the exact id's SHA-256.
        ("Btn_1", "btn-1-692d66"),
        ("_x_", "x-f1f6bd"),
        ("A" * 32, "a" * 24 + "-22a480"),
    ],
)
def test_node_names_are_valid_for_esphome(device_id: str, expected: str) -> None:
    assert re.fullmatch(ID_PATTERN, device_id)
    name = node_name(device_id)
    assert name == expected
    assert re.fullmatch(r"[a-z0-9-]{1,31}", name), name


def test_node_names_do_not_collide() -> None:
    ids = ["Btn_1", "btn-1", "BTN-1", "btn_1"]
    assert len({node_name(i) for i in ids}) == len(ids)
