"""The hub's FastAPI application."""

import asyncio
import gc
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from contract.http import allow_every_method, refuse_bad_input_clearly
from edge.api import auth_routes, board_routes
from edge.api.board_routes import STATIC
from edge.api.cross_site import CrossSiteGuard
from edge.config import Settings
from edge.core import systemd
from edge.domains import DOMAINS
from edge.runtime import HubRuntime


class RevalidatedStatic(StaticFiles):
    """The pages' scripts are ES modules that import each other: a phone that kept an old
    module beside a new one after a hub update would show a blank page. `no-cache` makes the
    browser ask every time; the ETag makes the answer a cheap 304 while nothing changed."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = HubRuntime(settings, DOMAINS)
        runtime.hub.board.bind(asyncio.get_running_loop())
        runtime.hub.diners.bind(asyncio.get_running_loop())
        app.state.hub = runtime.hub
        runtime.start()
        # Everything loaded so far (SQLAlchemy, pydantic, FastAPI, the models) lives as long
        # as the hub. Full GC passes walked it all: 50-140 ms pauses every few seconds under a
        # thousand heartbeats a second, each one holding presses back. Frozen, it is skipped.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await asyncio.to_thread(runtime.stop)

    # No OpenTelemetry here: FastAPI's own would ask on every request whether it is set up.
    app = FastAPI(
        title=f"smartstore hub {settings.store_id}",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    refuse_bad_input_clearly(app)
    app.add_middleware(CrossSiteGuard)
    allow_every_method(app)
    app.include_router(auth_routes.router)
    app.include_router(board_routes.router)
    # Paths of different domains never overlap, so the order only decides how soon a
    # request finds its route (Domain.routes_first).
    for domain in sorted(DOMAINS, key=lambda d: not d.routes_first):
        if (router := domain.router()) is not None:
            app.include_router(router)
        for kind, handler in domain.exception_handlers().items():
            app.add_exception_handler(kind, handler)
    app.mount("/static", RevalidatedStatic(directory=str(STATIC)), name="static")
    return app


# How long a phone's idle connection stays open (uvicorn's default is 5 s). A diner's page
# asks again within a minute (the next order, a spin, the bill); a new connection costs the
# phone a TCP handshake (a TLS one too over HTTPS) on a busy Wi-Fi, and the hub about 0.4 ms
# of CPU (measured here: 0.52 ms a request on an open connection, 0.90 ms on a new one). An
# idle connection costs a file descriptor (the unit allows 65,536) and a few kilobytes.
HTTP_KEEP_ALIVE_S = 60


def server_config(settings: Settings, log_level: str = "warning") -> "uvicorn.Config":
    """How the hub is served, the same for the CLI, the demo and the tests: over HTTPS when
    a certificate is set (`provision --tls` makes one signed by the store CA)."""
    https = settings.https_cert_file is not None and settings.https_key_file is not None
    return uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=log_level,
        # The sans-I/O websockets protocol: the legacy one is deprecated by websockets.
        ws="websockets-sansio",
        timeout_keep_alive=HTTP_KEEP_ALIVE_S,
        ssl_certfile=str(settings.https_cert_file) if https else None,
        ssl_keyfile=str(settings.https_key_file) if https else None,
    )


class StoreServer(uvicorn.Server):
    """uvicorn's server, minus its habit of raising Ctrl-C again after an orderly shutdown:
    that KeyboardInterrupt lands while the app's lifespan task still waits and prints a
    traceback after a clean stop. Ctrl-C or SIGTERM: the hub shuts down and run() returns."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # Serving now (the lifespan ran: database migrated, domains and workers started, the
        # port bound): systemd (Type=notify) may start what waits for the hub.
        if self.started and not self.should_exit:
            systemd.notify(systemd.READY)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        systemd.notify(systemd.STOPPING)
        await super().shutdown(sockets)

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn's own list (0.29+); if a release renames it, Ctrl-C prints again, no worse.
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()
