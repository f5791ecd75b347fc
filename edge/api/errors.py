"""Every refusal the hub's HTTP API can answer, declared once for its OpenAPI document.

Routes name the statuses they can answer (`responses=errors(404, 409)`; staff routes add
`STAFF`, the statuses of the staff login and roles), so the published document lists each with
the body and headers a client receives; tests/test_hub_fuzz.py holds every answer to it.

Two kinds of refusal reach a client. The staff's credential and a missing resource answer a
bilingual sentence (an HTTPException's `detail`); a diner's or a rule's refusal answers an
object with a `code` a program reads and a bilingual `message` a person reads (OrderError:
edge/orders/errors.py). One status of one route may be either (a waiter's missing login, a
bill already paid), so each is declared as either.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """A refusal a program can tell apart by `code`; `message` is for the person ("中文 /
    English"). Some carry more (the dish that is sold out, the points a member has)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(examples=["table_closed"])
    message: str = Field(
        examples=["A1 桌已关闭，请联系服务员 / Table A1 is closed, please ask staff"]
    )


class Refusal(BaseModel):
    """Why the request was refused and nothing changed: a bilingual sentence, or a Problem."""

    detail: str | Problem


class FieldProblem(BaseModel):
    """One refused input: where (`loc`), what kind (`type`) and why (`msg`)."""

    type: str
    loc: list[str | int]
    msg: str


class InvalidInput(BaseModel):
    """Input that does not match this document (contract.http's answer: where and why, never
    the input itself), or input the rules refuse (a Problem, or a sentence)."""

    detail: list[FieldProblem] | Problem | str


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
    401: {"model": Refusal, "description": "Log in first (staff), or sign in as a member"},
    403: {
        "model": Refusal,
        "description": "Not allowed: a QR code or link that is not (or no longer) valid, or a "
        "staff member whose role may not do this",
    },
    404: {"model": Refusal, "description": "No such thing here (table, order, call, ...)"},
    409: {
        "model": Refusal,
        "description": "Not now: the state does not allow it (a closed table, a bill paid "
        "already, ...)",
    },
    422: {"model": InvalidInput, "description": "The input is not valid"},
    429: {"model": Refusal, "description": "Too many requests; wait a minute"},
    503: {
        "model": Refusal,
        "description": "Not available now: no menu loaded yet, members not offered here, or "
        "HQ (which members need) not reachable; try again later",
    },
}

# A request sent again with the key of one answered before (a retry after a lost answer):
# what the first made, with 200 where the first answered 201 Created; nothing new is made.
ANSWERED_BEFORE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The same key again: what the first request made (nothing new)",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}

# A wrong PIN too often: the login tells when to try again.
LOGIN_LIMITED = {
    **ERRORS[429],
    "description": "Too many wrong PINs; wait before trying again",
    "headers": _RETRY_AFTER,
}

# What every staff route can answer before its handler runs: not logged in (401); logged in
# but not allowed (403: a manager's action, a cross-site request).
STAFF = (401, 403)


def errors(*codes: int | tuple[int, ...]) -> dict[int | str, dict[str, Any]]:
    """The declarations of `codes` (numbers, or groups such as STAFF), for a route's
    `responses=`."""
    flat: list[int] = []
    for code in codes:
        flat.extend(code if isinstance(code, tuple) else (code,))
    return {code: ERRORS[code] for code in sorted(flat)}
