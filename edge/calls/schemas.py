from typing import Literal

from pydantic import BaseModel

from edge.calls.models import Call

CallStatus = Literal["open", "urgent", "acked"]


class CallPublic(BaseModel):
    id: int
    device: str
    zone: str
    table: str
    reason: str
    status: CallStatus
    created_at: float
    last_press_at: float
    presses: int
    urgent_at: float | None
    acked_at: float | None
    acked_by: str | None
    response_s: float | None

    @classmethod
    def of(cls, call: Call) -> "CallPublic":
        status: CallStatus = (
            "acked" if call.acked_at is not None else "urgent" if call.urgent_at else "open"
        )
        return cls(
            id=call.id,
            device=call.device_id,
            zone=call.zone,
            table=call.table_name,
            reason=call.reason,
            status=status,
            created_at=call.created_at,
            last_press_at=call.last_press_at,
            presses=call.presses,
            urgent_at=call.urgent_at,
            acked_at=call.acked_at,
            acked_by=call.acked_by,
            response_s=call.response_s,
        )
