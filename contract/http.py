"""What both of our HTTP services (hub, cloud) do alike."""

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's default answer echoes each refused input back. Input that is not valid text
    # (a lone surrogate: legal JSON, not UTF-8) cannot be encoded, and the 422 became a 500.
    # Where and why is what a client needs; it knows what it sent.
    errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def refuse_bad_input_clearly(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
