"""The HQ service's FastAPI application.

The schema is Alembic's business (cloud.db.migrate): the app only connects to the database.
"""

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

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
from cloud.db import make_engine, make_sessions
from contract.http import refuse_bad_input_clearly

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def _allow_every_method(app: FastAPI) -> None:
    """A 405's Allow names every method of the path, as the OpenAPI document has them (and
    HEAD with GET). Starlette names those of the first route whose path matched, and a path can
    have several routes (GET and POST /api/v1/hq/config)."""

    @functools.cache
    def paths() -> list[tuple[re.Pattern[str], frozenset[str]]]:
        compiled = []
        for template, operations in app.openapi()["paths"].items():
            methods = {m.upper() for m in operations} & HTTP_METHODS
            if "GET" in methods:
                methods.add("HEAD")
            compiled.append((compile_path(template)[0], frozenset(methods)))
        return compiled

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        methods = {m for pattern, allowed in paths() if pattern.match(path) for m in allowed}
        if methods:
            headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(methods))}
            exc = HTTPException(exc.status_code, exc.detail, headers=headers)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(405, method_not_allowed)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.sessions = make_sessions(engine)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="smartstore HQ", lifespan=lifespan)
    app.state.settings = settings
    refuse_bad_input_clearly(app)
    _allow_every_method(app)
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
