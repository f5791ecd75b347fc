"""The waitlist and reservations: what HQ configures (table groups, priority, slot capacity).
One schema for the hub and HQ (docs/waitlist.md). The MQTT messages of the line at the door
(QueueTakeEvent, WaitlistBoard) are in contract/payloads.py with the others.
"""

import itertools
from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

GROUP_PATTERN: Final = r"^[A-Z]$"  # a group is the letter before the number: A012
MAX_PARTY: Final = 30  # larger parties book by phone with the manager; a guard against typos
SLOT_MINUTES: Final = 15  # reservations start on the quarter hour
NUMBER_PATTERN: Final = r"^[A-Z][0-9]{3}$"  # A001..Z999: what a slip, a screen and a voice say
RECENT_CALLED: Final = 5  # numbers called before the current one, per group, on the screens


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableGroup(_Strict):
    """Parties of min_size..max_size wait in this group for one of its tables."""

    id: str = Field(pattern=GROUP_PATTERN)
    name_zh: str = Field(min_length=1, max_length=20)
    name_en: str = Field(min_length=1, max_length=30)
    min_size: int = Field(ge=1, le=MAX_PARTY)
    max_size: int = Field(ge=1, le=MAX_PARTY)
    # The store's tables that seat this group (inventory ids). Empty: the store's tables are
    # shared evenly between the groups when estimating (a store that has not said which).
    tables: list[str] = Field(default_factory=list, max_length=200)
    # The turn time (seated to paid) assumed until the store has its own (recent payments).
    default_turn_min: int = Field(default=60, ge=5, le=600)
    # Reservations: parties of this group that may start in one 15-minute slot.
    slot_capacity: int = Field(default=2, ge=0, le=100)
    # Of those, how many only members of a priority level may book, until
    # WaitlistConfig.priority_hold_release_min before the slot (then anyone may).
    priority_held: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.max_size < self.min_size:
            raise ValueError(f"group {self.id}: max_size {self.max_size} < min_size")
        if self.priority_held > self.slot_capacity:
            raise ValueError(f"group {self.id}: priority_held {self.priority_held} > slot_capacity")
        return self


DEFAULT_GROUPS: Final = (
    TableGroup(id="A", name_zh="小桌", name_en="Small table", min_size=1, max_size=2,
               default_turn_min=45, slot_capacity=2),
    TableGroup(id="B", name_zh="中桌", name_en="Medium table", min_size=3, max_size=4,
               default_turn_min=60, slot_capacity=2),
    TableGroup(id="C", name_zh="大桌", name_en="Large table", min_size=5, max_size=8,
               default_turn_min=75, slot_capacity=1),
    TableGroup(id="D", name_zh="包间", name_en="Private room", min_size=9, max_size=MAX_PARTY,
               default_turn_min=90, slot_capacity=1),
)  # fmt: skip


class WaitlistConfig(_Strict):
    """HQ's waitlist rules (contract.menu.StoreConfig.waitlist)."""

    groups: list[TableGroup] = Field(
        default_factory=lambda: list(DEFAULT_GROUPS), min_length=1, max_length=26
    )
    # Members of these levels (contract.members.MembersConfig.levels ids) are called ahead
    # of others in their group...
    priority_levels: list[str] = Field(default_factory=lambda: ["gold"], max_length=20)
    # ...but a waiting party is passed over at most this many times: then it is called first.
    max_passed_over: int = Field(default=2, ge=0, le=20)
    # A called party that has not come may be skipped as a no-show after this long.
    no_show_grace_s: int = Field(default=180, ge=0, le=3600)
    # How far ahead a diner may book, and members of a priority level.
    book_days_ahead: int = Field(default=7, ge=0, le=90)
    priority_book_days_ahead: int = Field(default=30, ge=0, le=365)
    # Places held for priority members (TableGroup.priority_held) open to everyone this long
    # before their slot: a held place nobody with priority wanted is not left empty.
    priority_hold_release_min: int = Field(default=24 * 60, ge=0, le=30 * 24 * 60)
    # A booked party's table is held this long after its slot; then staff may mark a no-show.
    booking_hold_min: int = Field(default=15, ge=0, le=120)

    @model_validator(mode="after")
    def _groups(self) -> Self:
        ordered = sorted(self.groups, key=lambda g: g.min_size)
        if len({g.id for g in self.groups}) != len(self.groups):
            raise ValueError("a table group id is listed twice")
        if ordered[0].min_size != 1:
            raise ValueError("the smallest group must start at a party of 1")
        for a, b in itertools.pairwise(ordered):
            if b.min_size != a.max_size + 1:
                raise ValueError(f"groups {a.id} and {b.id} leave a gap or overlap in sizes")
        return self

    @property
    def max_party(self) -> int:
        return max(g.max_size for g in self.groups)

    def group_for(self, size: int) -> TableGroup | None:
        return next((g for g in self.groups if g.min_size <= size <= g.max_size), None)

    def group(self, group_id: str) -> TableGroup | None:
        return next((g for g in self.groups if g.id == group_id), None)
