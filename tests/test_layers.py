"""The layers of docs/architecture.md hold: import-linter's contract in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "import-linter is a test dependency (pip install -e .[test])"
    return subprocess.run(
        [exe, "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_no_import_crosses_a_layer_the_wrong_way() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_the_check_fails_when_the_hub_imports_a_sibling(tmp_path: Path) -> None:
    """The contract is not vacuous: a copy of the tree where the hub imports the device
    simulators (a sibling) and the contract imports the hub is refused, naming both."""
    copy = tmp_path / "tree"
    for name in ("contract", "edge", "devices", "cloud", "provisioning", "smartstore"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    with (copy / "edge" / "mqtt.py").open("a") as f:
        f.write("\nimport devices.base  # noqa\n")
    with (copy / "contract" / "const.py").open("a") as f:
        f.write("\nimport edge.mqtt  # noqa\n")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None
    result = subprocess.run(
        [exe, "--no-cache"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "edge.mqtt -> devices.base" in result.stdout
    assert "contract.const -> edge.mqtt" in result.stdout
