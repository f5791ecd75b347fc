"""Real parts for tests and the demo: a throwaway PostgreSQL server, the HQ app in a thread."""

import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from psycopg import sql
from pydantic import SecretStr

from cloud.app import create_app
from cloud.config import Settings
from contract.net import free_port
from provisioning.files import write_private

PG_USER = "postgres"
# How long CloudHandle.stop() lets HQ's requests in flight finish (run_cloud_thread).
STOP_GRACE_S = 2  # whole seconds: uvicorn takes an int


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are: Debian keeps them out of PATH, per major version."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return max(versions, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))


def _as_postgres() -> list[str]:
    # PostgreSQL refuses to run as root: as root, run it as the `postgres` account.
    return ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []


@dataclass
class PostgresServer:
    directory: Path
    port: int
    database: str
    bindir: Path

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = name or f"t_{secrets.token_hex(6)}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        cmd = [
            *_as_postgres(),
            str(self.bindir / "pg_ctl"),
            "stop",
            "-D",
            str(self.directory / "data"),
        ]
        subprocess.run([*cmd, "-m", "fast", "-w"], capture_output=True, timeout=60, check=False)


def start_postgres(
    directory: Path, database: str = "smartstore", durable: bool = False
) -> PostgresServer:
    """initdb and start a private PostgreSQL in `directory`, on a free port of 127.0.0.1.

    Trust authentication on 127.0.0.1 and (unless `durable`, as benchmarks want) fsync off:
    for tests and demos, never for HQ.
    `directory` must be reachable by the `postgres` account when run as root (not under
    pytest's 0700 tmp dirs): e.g. tempfile.mkdtemp(dir="/tmp").
    """
    bindir = postgres_bindir()
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, PG_USER, PG_USER)
        directory.chmod(0o700)
    data, log = directory / "data", directory / "postgres.log"
    run = [*_as_postgres()]
    initdb = subprocess.run(
        [
            *run,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            PG_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        cwd=directory,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed: {initdb.stderr.decode(errors='replace')}")
    port = free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={directory}"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    started = subprocess.run(
        [
            *run,
            str(bindir / "pg_ctl"),
            "start",
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            options,
        ],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=90,
        check=False,
    )
    if started.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.decode()}\n{tail}")
    server = PostgresServer(directory, port, database, bindir)
    server.create_database(database)
    return server


HQ_TEST_PASSWORD = "correct horse battery"  # noqa: S105 - only ever a test database's user


def cloud_settings(database_url: str, **values: Any) -> Settings:
    """HQ's settings for a test or the demo: a fresh admin token and chain member key (as long
    as production requires) unless `values` gives them. The hubs of a test or demo chain take
    the member key from here too (CloudHandle.member_key)."""
    values.setdefault("admin_token", SecretStr(secrets.token_urlsafe(32)))
    values.setdefault("member_key", SecretStr(secrets.token_urlsafe(32)))
    return Settings(database_url=database_url, **values)


@dataclass
class CloudHandle:
    settings: Settings
    base_url: str
    admin: httpx.Client
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)

    @property
    def member_key(self) -> bytes:
        """The chain's member key, as a hub of this HQ uses it (contract.members.phone_hash)."""
        return self.settings.member_key_bytes()

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client, closed by stop(); with a bearer token when given one."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.base_url, headers=headers, timeout=30)
        self._clients.append(c)
        return c

    def register(self, store_id: str, name: str | None = None) -> str:
        """Register a store as HQ's admin would; returns its token."""
        r = self.admin.post("/api/v1/stores", json={"id": store_id, "name": name or store_id})
        if r.status_code != 201:
            raise AssertionError(f"registering {store_id}: {r.status_code} {r.text}")
        token: str = r.json()["token"]
        return token

    def hq(
        self,
        username: str = "lin",
        password: str = HQ_TEST_PASSWORD,
        role: str = "admin",
        stores: list[str] | None = None,
    ) -> httpx.Client:
        """A client logged in as an HQ user (made by the admin if new: a chain admin unless
        `role` and `stores` say otherwise)."""
        user = {"username": username, "password": password, "role": role, "stores": stores}
        r = self.admin.post("/api/v1/hq/users", json=user)
        if r.status_code not in (201, 409):
            raise AssertionError(f"making HQ user {username}: {r.status_code} {r.text}")
        client = self.client()
        r = client.post("/api/v1/hq/login", json={"username": username, "password": password})
        if r.status_code != 200:
            raise AssertionError(f"HQ login {username}: {r.status_code} {r.text}")
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return client

    def stop(self) -> None:
        for c in [self.admin, *self._clients]:
            c.close()
        self._server.should_exit = True
        self._thread.join(15)


def run_cloud_thread(
    settings: Settings, timeout: float = 20.0, port: int | None = None
) -> CloudHandle:
    """The HQ app served by uvicorn in a thread, on `port` (a free one if None) of 127.0.0.1.

    The database must already be migrated (cloud.db.migrate).
    """
    port = port or free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        # stop() is HQ going away: requests in flight get this long, then are cut off (a hub
        # sees an error and sends again later) instead of holding the stop while running hubs'
        # long polls wait out their 20 s.
        timeout_graceful_shutdown=STOP_GRACE_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="cloud", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            raise RuntimeError("the HQ service did not start")
        time.sleep(0.02)
    base_url = f"http://127.0.0.1:{port}"
    admin = httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"},
        timeout=30,
    )
    return CloudHandle(settings, base_url, admin, server, thread)


@dataclass
class CloudProcess:
    """`smartstore cloud` as its own process(es), the way HQ runs it."""

    proc: subprocess.Popen[bytes]
    base_url: str
    admin_token: str
    member_key: str

    def register(self, store_id: str) -> str:
        r = httpx.post(
            f"{self.base_url}/api/v1/stores",
            json={"id": store_id, "name": store_id},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        r.raise_for_status()
        return str(r.json()["token"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def run_cloud_process(
    database_url: str, directory: Path, workers: int = 2, timeout: float = 60.0
) -> CloudProcess:
    """Start `smartstore cloud --workers N` (it migrates, then serves) and wait for /health."""
    admin, member_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    env_file = directory / "cloud.env"
    write_private(
        env_file,
        f"SMARTSTORE_CLOUD_DATABASE_URL={database_url}\nSMARTSTORE_CLOUD_ADMIN_TOKEN={admin}\n"
        f"SMARTSTORE_CLOUD_MEMBER_KEY={member_key}\n",
    )
    port = free_port()
    command = [sys.executable, "-m", "smartstore.cli", "cloud", "--env-file", str(env_file)]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return CloudProcess(proc, base_url, admin, member_key)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("`smartstore cloud` did not start")
        time.sleep(0.1)
