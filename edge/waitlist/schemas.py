"""What the waitlist's HTTP routes take."""

from pydantic import BaseModel, ConfigDict, Field

from contract.const import EVENT_ID_PATTERN
from contract.http import JsonInt

# Sizes are checked by the service (a party of 0 or 200 gets the bilingual message, not a
# schema error a diner cannot read); only absurd integers are refused here. Strict, as every
# number and yes/no the hub's API takes: `false` is not a party of 0, nor "2" of two.
SIZE_GUARD = 1000


class TakeNumber(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"key": "t-8Hq2cW4z", "size": 2}]}
    )

    key: str = Field(pattern=EVENT_ID_PATTERN)  # made on the phone: a retried tap, one number
    size: JsonInt = Field(ge=-SIZE_GUARD, le=SIZE_GUARD)


class SeatParty(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = Field(min_length=1, max_length=32)


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=EVENT_ID_PATTERN)
    day: str = Field(max_length=10)
    slot: str = Field(max_length=5)
    size: JsonInt = Field(ge=-SIZE_GUARD, le=SIZE_GUARD)
    name: str = Field(default="", max_length=40)
    phone: str = Field(max_length=20)
