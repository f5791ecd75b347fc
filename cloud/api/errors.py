"""Every refusal the HQ API can answer, declared once for the OpenAPI document.

Routes and routers name the statuses they can answer (`errors(401, 404)`), so the published
document lists each status with the body and headers a client receives; a status missing here is
a contract nobody wrote down (tests/test_cloud_fuzz.py checks every answer against the document).
"""

from typing import Any

from pydantic import BaseModel, Field


class Refusal(BaseModel):
    """Why the request was refused, for a person to read (an HTTPException's detail)."""

    detail: str


class FieldProblem(BaseModel):
    """One refused input: where (`loc`), what kind (`type`) and why (`msg`)."""

    type: str
    loc: list[str | int]
    msg: str


class InvalidInput(BaseModel):
    """Parameters or body that do not match this document (contract.http's answer). FastAPI
    declares it itself as its HTTPValidationError, the same shape, on every route that takes
    input; a route that also refuses with a reason of its own declares it with this."""

    detail: list[FieldProblem]


class BatchProblem(BaseModel):
    message: str
    index: int | None = Field(description="the first refused event; null if not one event's fault")
    indexes: list[int] = Field(default_factory=list, description="every refused event")
    errors: list[FieldProblem] = Field(default_factory=list)


class BatchRefused(BaseModel):
    """An ingest batch refused whole: nothing of it was stored."""

    detail: BatchProblem


_BEARER_CHALLENGE = {
    "WWW-Authenticate": {
        "description": "Bearer: the credential this operation takes is missing or refused",
        "schema": {"type": "string"},
        "required": True,
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "string"},
        "required": True,
    }
}

ERRORS: dict[int, dict[str, Any]] = {
    # FastAPI's answer to a JSON body it cannot even decode (bytes that are not UTF-8).
    400: {"model": Refusal, "description": "The body could not be read (not UTF-8 text)"},
    401: {
        "model": Refusal,
        "description": "No credential, or not the one this operation takes",
        "headers": _BEARER_CHALLENGE,
    },
    403: {
        "model": Refusal,
        "description": "The credential is valid but not for this resource (another store's, "
        "or an HQ user whose role or stores do not include it)",
    },
    404: {"model": Refusal, "description": "No such store"},
    409: {"model": Refusal, "description": "It exists already"},
    413: {"model": Refusal, "description": "The body is too large; send less at once"},
    429: {
        "model": Refusal,
        "description": "Too many attempts; wait before trying again",
        "headers": _RETRY_AFTER,
    },
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The shared declarations of `codes`, for a route's or router's `responses=`; a route
    adds its own to these where it answers a status with another body (`{**errors(401), 422:
    ...}`)."""
    return {code: ERRORS[code] for code in codes}
