"""The release wheel: it builds without a warning, and a hub unpacked from it alone (no
checkout anywhere on its path, run from an unrelated folder) serves its pages, migrates its
database and writes device configs from its templates."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from contract.inventory import load_inventory
from edge.tables.service import qr_links
from edge.tables.tokens import TokenSigner
from smartstore.settings_env import as_environment
from tests.support import Broker, hub_settings, wait_until

REPO = Path(__file__).resolve().parent.parent
# What a build must not see: environments, caches, a previous build's leftovers.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".smartstore-demo"
)


def build_wheel(out: Path) -> tuple[Path, str]:
    src = out / "src"
    shutil.copytree(REPO, src, ignore=NOT_SOURCE)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(out / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (out / "dist").glob("smartstore-*.whl")
    return wheel, built.stdout + built.stderr


def test_a_hub_runs_from_the_wheel_alone(broker: Broker, tmp_path: Path) -> None:
    wheel, log = build_wheel(tmp_path)
    assert "warning" not in log.lower(), log
    assert "deprecat" not in log.lower(), log

    # Installed by pip as a release's virtualenv gets it (its dependencies are the shared
    # environment's here: --no-deps), without a warning either.
    site = tmp_path / "site"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    assert "warning" not in (installed.stdout + installed.stderr).lower(), installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings = hub_settings(broker, tmp_path / "hub")
    # -P and PYTHONPATH: the unpacked wheel first, the current folder not at all; the shared
    # environment supplies only the dependencies.
    env = {**os.environ, **as_environment(settings), "PYTHONPATH": str(site)}
    cmd = [sys.executable, "-P", "-m", "smartstore.cli"]

    where = subprocess.run(
        [*cmd[:2], "-c", "import edge, firmware_configs; print(edge.__file__)"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site)), where.stdout

    configs = tmp_path / "configs"
    provisioned = subprocess.run(
        [
            *cmd,
            "provision",
            "--inventory",
            str(settings.inventory_file),
            "--broker-dir",
            str(tmp_path / "b"),
            "--secrets-file",
            str(tmp_path / "s.json"),
            "--configs-dir",
            str(configs),
        ],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert provisioned.returncode == 0, provisioned.stderr
    assert "esp32" in (configs / "btn-001.yaml").read_text()

    with (tmp_path / "hub.log").open("ab") as out:
        proc = subprocess.Popen([*cmd, "hub"], env=env, cwd=elsewhere, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{settings.http_port}"
    try:
        wait_until(lambda: _ok(f"{base}/api/health"), 30, "the hub from the wheel")
        assert "<html" in httpx.get(f"{base}/login").text.lower()
        assert httpx.get(f"{base}/static/board.css").status_code == 200
        signer = TokenSigner(settings.secret_key.get_secret_value(), settings.store_id)
        _name, path = qr_links(settings.db_path, load_inventory(settings.inventory_file), signer)[0]
        diner = httpx.get(base + path)
        assert diner.status_code == 200 and "diner" in diner.text
    finally:
        proc.terminate()
        proc.wait(15)
    assert "Traceback" not in (tmp_path / "hub.log").read_text()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
