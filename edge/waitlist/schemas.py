"""What the waitlist's HTTP routes take."""

from pydantic import BaseModel, ConfigDict, Field

from contract.const import EVENT_ID_PATTERN

# Sizes are checked by the service (a party of 0 or 200 gets the bilingual message, not a
# schema error a diner cannot read); only absurd integers are refused here.
SIZE_GUARD = 1000


class TakeNumber(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=EVENT_ID_PATTERN)  # made on the phone: a retried tap, one number
    size: int = Field(ge=-SIZE_GUARD, le=SIZE_GUARD)


class SeatParty(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = Field(min_length=1, max_length=32)


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=EVENT_ID_PATTERN)
    day: str = Field(max_length=10)
    slot: str = Field(max_length=5)
    size: int = Field(ge=-SIZE_GUARD, le=SIZE_GUARD)
    name: str = Field(default="", max_length=40)
    phone: str = Field(max_length=20)
