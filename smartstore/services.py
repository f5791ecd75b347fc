"""Throwaway instances of the real parts (InfluxDB here; mosquitto in provisioning.broker),
started by the project itself for the demo, the tests and the benchmarks."""

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from contract.net import free_port
from provisioning.broker import wait_for_port


@dataclass
class InfluxServer:
    proc: subprocess.Popen[bytes]
    url: str

    def query(self, q: str, db: str = "") -> list[dict[str, object]]:
        """Run InfluxQL; return the first statement's series (empty if none)."""
        params = urllib.parse.urlencode({"q": q, "db": db, "epoch": "ns"})
        with urllib.request.urlopen(f"{self.url}/query?{params}", timeout=10) as resp:  # noqa: S310
            data = json.loads(resp.read())
        result = data["results"][0]
        if "error" in result:
            raise RuntimeError(result["error"])
        series: list[dict[str, object]] = result.get("series", [])
        return series

    def create_database(self, name: str) -> None:
        body = urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode()
        urllib.request.urlopen(f"{self.url}/query", data=body, timeout=10).close()  # noqa: S310

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def influxd_binary() -> str:
    found = shutil.which("influxd") or (
        "/usr/bin/influxd" if Path("/usr/bin/influxd").exists() else None
    )
    if found is None:
        raise FileNotFoundError("influxd is not installed (apt-get install influxdb)")
    return found


def start_influxd(directory: Path, http_port: int | None = None) -> InfluxServer:
    """InfluxDB 1.x with all state under `directory`, listening on loopback only."""
    directory.mkdir(parents=True, exist_ok=True)
    http_port = http_port or free_port()
    rpc_port = free_port()
    conf = directory / "influxdb.conf"
    conf.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{directory}/meta"
[data]
  dir = "{directory}/data"
  wal-dir = "{directory}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
""",
        encoding="utf-8",
    )
    with (directory / "influxd.log").open("ab") as log:
        # Its own session, as mosquitto's (provisioning/broker.py): stopped after the hub, not
        # by Ctrl-C.
        proc = subprocess.Popen(
            [influxd_binary(), "-config", str(conf)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    server = InfluxServer(proc, f"http://127.0.0.1:{http_port}")
    try:
        wait_for_port("127.0.0.1", http_port, timeout=30)
        deadline = time.monotonic() + 30
        while True:  # the port opens a moment before /ping answers 204
            try:
                urllib.request.urlopen(f"{server.url}/ping", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    except Exception:
        server.stop()
        raise
    return server
