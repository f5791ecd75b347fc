from pydantic import BaseModel, Field, StrictInt, StrictStr

from contract.const import CommandName
from edge.commands.models import DeviceCommand


class CommandCreate(BaseModel):
    name: CommandName
    # Strict: `true` is not 1 second and "5" is not a number.
    args: dict[str, StrictStr | StrictInt] = Field(default_factory=dict, max_length=8)


class CommandPublic(BaseModel):
    id: str
    device: str
    name: str
    args: dict[str, str | int]
    staff: str
    created_at: float
    status: str
    replied_at: float | None
    error: str | None

    @classmethod
    def of(cls, c: DeviceCommand) -> "CommandPublic":
        return cls(
            id=c.id,
            device=c.device_id,
            name=c.name,
            args=dict(c.args),
            staff=c.staff,
            created_at=c.created_at,
            status=c.status,
            replied_at=c.replied_at,
            error=c.error,
        )
