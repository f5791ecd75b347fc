"""What both of our HTTP services (hub, cloud) do alike."""

import functools
import re
from typing import Annotated

from fastapi import FastAPI, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException
from starlette.routing import compile_path


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's default answer echoes each refused input back. Input that is not valid text
    # (a lone surrogate: legal JSON, not UTF-8) cannot be encoded, and the 422 became a 500.
    # Where and why is what a client needs; it knows what it sent.
    errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _json_integer(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer (a JSON number)")
    return value


# An integer as JSON Schema (the OpenAPI document) counts one: 2 and 2.0, never `true` or "2",
# which pydantic's lax int takes (a party of `false` was a party of 0).
JSON_INTEGER = BeforeValidator(_json_integer)
JsonInt = Annotated[int, JSON_INTEGER]  # in a union: Annotated[int, Field(...), JSON_INTEGER]


def refuse_bad_input_clearly(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def allow_every_method(app: FastAPI) -> None:
    """A 405's Allow names every method of the path, as the OpenAPI document has them (and
    HEAD with GET). Starlette names those of the first route whose path matched, and a path can
    have several routes (GET and POST /api/v1/hq/config at HQ, /api/bookings at the hub)."""

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
