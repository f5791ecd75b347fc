"""The HQ service's FastAPI application.

The schema is Alembic's business (cloud.db.migrate): the app only connects to the database.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from cloud.api import (
    config_push,
    coupons,
    experiments,
    feedback,
    games_report,
    hq,
    ingest,
    liability,
    member_lookup,
    members,
    rfm,
    risks,
    sales,
    store_requests,
    stores,
    waitlist,
)
from cloud.config import Settings
from cloud.const import SHUTDOWN_DB_WAIT_S
from cloud.db import make_engine, make_sessions
from contract.http import allow_every_method, refuse_bad_input_clearly


async def _connections_back(engine: Engine) -> None:
    """Wait (a little) for the connections still out. A request the server cancelled at its
    stop (a hub's long poll, a booking waiting for its hub) may have a worker thread at the
    database still; the connection it hands back after `dispose` would go to a pool nobody
    closes, and stay open until collected."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return
    deadline = time.monotonic() + SHUTDOWN_DB_WAIT_S
    while pool.checkedout() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.sessions = make_sessions(engine)
        try:
            yield
        finally:
            await _connections_back(engine)
            engine.dispose()

    app = FastAPI(title="smartstore HQ", lifespan=lifespan)
    app.state.settings = settings
    app.state.store_request_sweep = store_requests.Sweep()
    refuse_bad_input_clearly(app)
    allow_every_method(app)
    app.include_router(stores.router)
    app.include_router(ingest.router)
    app.include_router(hq.router)
    app.include_router(sales.router)
    app.include_router(config_push.router)
    app.include_router(member_lookup.router)
    app.include_router(members.search_router)
    app.include_router(members.router)
    app.include_router(coupons.router)
    app.include_router(liability.router)
    app.include_router(risks.router)
    app.include_router(waitlist.router)
    app.include_router(store_requests.router)
    app.include_router(games_report.router)
    app.include_router(rfm.router)
    app.include_router(experiments.router)
    app.include_router(feedback.router)

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    return app


def app_from_environment() -> FastAPI:
    """For uvicorn's --factory with several workers: each builds the app from the environment."""
    return create_app(Settings())  # type: ignore[call-arg]
