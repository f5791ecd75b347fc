"""HQ in one compose file (docker-compose.yml): the cloud service built from ./Dockerfile on
PostgreSQL, InfluxDB and Grafana, started in order of health, with no secret in the file.
No Docker engine runs here: Debian's docker-compose validates and resolves the file
(`docker-compose config`), and the Dockerfile is checked against the repository."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from smartstore.cli import app

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-only-for-the-config-check",
    "SMARTSTORE_CLOUD_ADMIN_TOKEN": "t" * 40,
    "GRAFANA_ADMIN_PASSWORD": "grafana-only-for-the-config-check",
}


def resolved(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("Debian's docker-compose is not installed (apt-get install docker-compose)")
    no_dotenv = tmp_path / "empty.env"  # an operator's .env next to the file must not count
    no_dotenv.write_text("", encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [exe, "--env-file", str(no_dotenv), "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def stack(tmp_path: Path) -> dict[str, Any]:
    done = resolved(SECRETS, tmp_path)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def test_every_secret_is_required_and_none_is_written_in_the_file(tmp_path: Path) -> None:
    text = COMPOSE.read_text()
    for name in SECRETS:
        assert f"${{{name}:?" in text
        missing = resolved({k: v for k, v in SECRETS.items() if k != name}, tmp_path)
        assert missing.returncode != 0 and name in missing.stderr, (name, missing.stderr)
    # Nothing that looks like a password or token given a literal value.
    for line in text.splitlines():
        if re.search(r"(PASSWORD|TOKEN)\s*:", line) and not line.lstrip().startswith("#"):
            assert "${" in line, line


def test_the_stack_starts_in_order_of_health(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert {"postgres", "cloud", "influxdb", "grafana"} <= set(services)
    for name in ("postgres", "cloud", "influxdb", "grafana"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped"
    assert services["cloud"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "influxdb": {"condition": "service_healthy"},
    }
    assert services["grafana"]["depends_on"] == {"influxdb": {"condition": "service_healthy"}}
    # The database outlives its container.
    assert any(v["target"] == "/var/lib/postgresql/data" for v in _volumes(services["postgres"]))
    assert "postgres-data" in stack["volumes"]


def test_the_cloud_is_built_here_migrates_at_start_and_reaches_postgres(
    stack: dict[str, Any],
) -> None:
    cloud = stack["services"]["cloud"]
    assert Path(cloud["build"]["context"]) == ROOT
    # `smartstore cloud` runs Alembic before it serves (smartstore/cli.py).
    assert cloud["command"][:2] == ["smartstore", "cloud"]
    env = cloud["environment"]
    password = SECRETS["POSTGRES_PASSWORD"]
    assert env["SMARTSTORE_CLOUD_DATABASE_URL"] == (
        f"postgresql+psycopg://smartstore:{password}@postgres:5432/smartstore"
    )
    assert env["SMARTSTORE_CLOUD_ADMIN_TOKEN"] == SECRETS["SMARTSTORE_CLOUD_ADMIN_TOKEN"]
    postgres = stack["services"]["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("smartstore", "smartstore")


def test_the_dockerfile_copies_what_exists_and_runs_a_real_command() -> None:
    text = DOCKERFILE.read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().split()
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
        assert source not in ignored, source
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd is not None
    words = yaml.safe_load(cmd.group(1))
    assert words[:2] == ["smartstore", "cloud"]
    commands = {
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    }
    assert "cloud" in commands


def _volumes(service: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for v in service.get("volumes", []):
        out.append(v if isinstance(v, dict) else {"target": v.split(":")[1]})
    return out
