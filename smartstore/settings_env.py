"""Settings back into the environment variables they are read from, for a child process (the
hub started as `smartstore hub`, the cloud's uvicorn workers) that builds its own copy."""

import json

from pydantic import SecretStr
from pydantic_settings import BaseSettings


def _plain(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def as_environment(settings: BaseSettings) -> dict[str, str]:
    """Every set field as PREFIX_NAME=value: secrets in clear, dicts and lists as JSON (as
    pydantic-settings parses them back), None left out (the default applies)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    dumped = settings.model_dump(mode="json")
    env = {}
    for name in type(settings).model_fields:
        value = _plain(getattr(settings, name))
        if value is None:
            continue
        if isinstance(value, dict | list):
            text = json.dumps(value)
        elif isinstance(value, str | int | float | bool):
            text = str(value)
        else:
            text = str(dumped[name])  # paths, enums: their JSON form
        env[f"{prefix}{name.upper()}"] = text
    return env
