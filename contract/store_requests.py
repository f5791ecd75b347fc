"""Requests HQ passes down to a store's hub, and the hub's answers (docs/waitlist.md, "HQ
takes a booking"). Hubs reach HQ and never the other way round (NAT): a hub keeps one long
poll open for them (GET /api/v1/store-requests), claims each one before acting on it, and
answers. One schema for both sides: HQ checks a request with it before storing it, the hub
again before acting on it.
"""

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from contract.http import JsonInt

REQUEST_ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{8,64}$"  # the caller's idempotency key
KIND_BOOKING: Final = "booking"
# The hub's long poll: HQ holds it at most this long (seconds) when it has nothing to hand.
POLL_WAIT_S: Final = 20.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookingAsk(_Strict):
    """A booking HQ takes for a store: what the store's booking page asks for, and the member
    HQ booked it for (the hub decides the member's priority from its own rules)."""

    day: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="store-local date")
    slot: str = Field(pattern=r"^[0-2][0-9]:[0-5][0-9]$", description="HH:MM, store-local")
    size: JsonInt = Field(ge=1, le=100)  # `true` or "2" is not a party of one or two
    name: str = Field(default="", max_length=40)
    phone: str = Field(min_length=6, max_length=16)
    member_id: str | None = Field(default=None, max_length=32)


class StoreRequest(_Strict):
    """One request handed to a hub: `id` is HQ's (the hub's idempotency key for it). `kind`
    is a string, not a closed set: a hub older than HQ leaves a kind it does not know alone."""

    id: str
    kind: str = Field(max_length=16)
    body: dict[str, Any]


class StoreRequests(_Strict):
    requests: list[StoreRequest]


class StoreAnswer(_Strict):
    """The hub's answer: the status its own API would have answered (201, 409, 422) and its
    body (the booking, or its refusal's code and bilingual message)."""

    status: int = Field(ge=100, le=599)
    body: dict[str, Any]
