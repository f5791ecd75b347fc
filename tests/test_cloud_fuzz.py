"""Schemathesis (a client nobody here wrote) against the cloud's own OpenAPI, on real
PostgreSQL: whatever it sends, the cloud answers with something other than a 500."""

import subprocess
import sys
from pathlib import Path

from cloud.testing import CloudHandle

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def fuzz(cloud: CloudHandle, token: str, *selection: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{cloud.base_url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "40",
            "--seed",
            "20261121",
            "--request-timeout",
            "10",
            *selection,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_server_errors_on_ingest(cloud: CloudHandle) -> None:
    token = cloud.register("S1")
    r = fuzz(cloud, token, "--include-path", "/api/v1/ingest")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_no_server_errors_on_the_admin_api(cloud: CloudHandle) -> None:
    cloud.register("S1")
    admin = cloud.settings.admin_token.get_secret_value()
    r = fuzz(cloud, admin, "--exclude-path", "/api/v1/ingest")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
