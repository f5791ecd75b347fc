"""The hub -> cloud contract: every fact a hub forwards, as one pydantic model per type.

The hub builds its events with these classes (edge/uplink/service.py `enqueue` takes nothing
else) and the cloud checks what it receives with the same classes (cloud/schemas.py,
cloud/api/ingest.py, cloud/sales_facts.py), so the two sides cannot drift apart. A type's name
is written once, in its model's `type` Literal: the constants, the registry and the list of
types are derived from the models. docs/wire-contract.md §11 is the reference page.

On the wire an event is `{"id", "type", "v", "occurred_at", "data"}`. `v` is the event's
schema version; events written by hubs from before it existed have none and are read as 1.
Within a version, fields are only ever added, never removed, renamed or retyped, and readers
ignore fields they do not know. Anything else is a new version, which the cloud must learn
before hubs send it: it refuses versions it does not know, and a hub keeps those events in its
outbox until the cloud takes them.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from contract.const import EVENT_ID_PATTERN
from contract.members import (
    CARD_NO_PATTERN,
    COUPON_CODE_PATTERN,
    MEMBER_ID_PATTERN,
    PHONE_HASH_PATTERN,
    EntryCause,
)

UPLINK_VERSION: Final = 1  # the schema version the hub writes
UPLINK_VERSIONS: Final = frozenset({1})  # the versions the cloud reads

# A sane order line (HQ's sums stay inside InfluxDB's int64 fields); the hub's menu limits
# (contract/menu.py) are far inside these.
MAX_LINE_QTY: Final = 1_000_000
MAX_UNIT_PRICE_FEN: Final = 10_000_000_000
DISH_ID_MAX: Final = 64
MAX_POINTS: Final = 100_000_000  # one entry; far above any bill's points
RATING_MIN: Final = 1  # feedback after the bill: 1 … 5 stars for food and for service
RATING_MAX: Final = 5
FEEDBACK_COMMENT_MAX: Final = 500  # characters

EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
# Epoch seconds and durations on the hub's clock. Never bounded by the contract: a hub clock
# set back makes a negative duration, and the hub must still be able to say what happened.
Seconds = Annotated[float, Field(allow_inf_nan=False)]


class UplinkData(BaseModel):
    """The `data` of an event. Strict: JSON's "2" is not a number, true is not 1. Fields a
    reader does not know are ignored (a newer hub may add one within a version)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


# --- The data of each type: exactly what the hub sends. ---


class _CallData(UplinkData):
    call: str  # the call's uid on the hub
    device: str  # the button's id, or qr-<table id> for a call from the table's page
    zone: str
    table: str
    reason: str  # service | bill | water
    opened_at: Seconds


class CallOpened(_CallData):
    """A diner called staff (a button, a smart table or the table's page)."""


class CallAnswered(_CallData):
    """Staff answered a call: who, and how fast."""

    acked_by: str
    response_s: Seconds
    urgent: bool  # it had gone urgent before it was answered


class DeviceAlarm(UplinkData):
    """An alarm on a device raised (`active`) or cleared."""

    alarm: str  # the alarm's uid on the hub
    device: str
    device_type: str
    zone: str
    kind: str  # edge/devices/alarms.py AlarmKind
    active: bool
    raised_at: Seconds


class PlacedLine(UplinkData):
    """A line of an order, priced as it was when ordered."""

    dish: str = Field(min_length=1, max_length=DISH_ID_MAX)
    name_zh: str
    name_en: str
    station: str
    qty: int = Field(gt=0, le=MAX_LINE_QTY)
    unit_price_fen: int = Field(ge=0, le=MAX_UNIT_PRICE_FEN)  # the dish with its options


class OrderPlaced(UplinkData):
    """An order the hub accepted (from a table's QR page or a kiosk)."""

    order: str = Field(min_length=1)  # the order's uid: what a void names it by
    no: int  # the number called on the queue screens (per store, per day)
    source: str  # table | kiosk
    table: str  # the table's name, "" for a kiosk
    device: str | None  # the kiosk, None for a table
    created_at: Seconds
    total_fen: int
    lines: list[PlacedLine]


class OrderLineVoided(UplinkData):
    """Staff took a line off an order."""

    order: str = Field(min_length=1)
    dish: str = Field(min_length=1, max_length=DISH_ID_MAX)
    qty: int = Field(gt=0, le=MAX_LINE_QTY)
    unit_price_fen: int = Field(ge=0, le=MAX_UNIT_PRICE_FEN)
    by: str


class OrderDone(UplinkData):
    """The kitchen marked an order ready."""

    order: str
    no: int
    ready_s: Seconds  # from the order to ready


class TicketPrinted(UplinkData):
    """A kitchen ticket reached its printer (first print only: a reprint is not a fact)."""

    order: str
    station: str
    printer: str
    ordered_at: Seconds
    printed_at: Seconds
    latency_s: Seconds  # from the order to the printer


class PaymentRecorded(UplinkData):
    """Staff took a table's payment: one payment for the party's orders."""

    payment: str  # the payment's uid on the hub
    table: str
    amount_fen: int
    method: str  # cash | card | wechat | alipay | waived
    orders: list[str]  # the orders' uids
    paid_at: Seconds
    by: str
    # Added within v1 (hubs before members send none of these):
    member: str | None = None  # the party's member, who earned on it
    gross_fen: int | None = None  # the orders' total before the coupon and points
    coupon: str | None = None
    coupon_off_fen: int = 0
    points_used: int = 0
    points_off_fen: int = 0
    points_earned: int = 0


class PaymentRefunded(UplinkData):
    """A manager refunded a paid bill: its sales, what it earned and what it spent reverse."""

    payment: str
    table: str
    amount_fen: int  # what was paid, given back
    refunded_at: Seconds
    by: str
    reason: str


# --- members (docs/members.md). Phone numbers never travel: a keyed hash and a mask. ---


class MemberJoined(UplinkData):
    """A diner joined at this hub (the id is made here; HQ merges ids by phone hash)."""

    member: str = Field(pattern=MEMBER_ID_PATTERN)
    phone_hash: str = Field(pattern=PHONE_HASH_PATTERN)
    phone_masked: str = Field(max_length=16)
    birthday: str | None = Field(
        default=None, pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
    )
    card_no: str | None = Field(default=None, pattern=CARD_NO_PATTERN)
    consent: str = Field(max_length=16)  # the privacy statement's version agreed to
    joined_at: Seconds


class PointsEntry(UplinkData):
    """One entry of a member's points ledger, made at this hub. The balance is the sum."""

    entry: str = Field(min_length=8, max_length=48)  # its id, made where it happened
    member: str = Field(pattern=MEMBER_ID_PATTERN)
    points: int = Field(ge=-MAX_POINTS, le=MAX_POINTS)  # negative: spent or taken back
    cause: Annotated[EntryCause, Field(strict=False)]  # its value, a string on the wire
    ref: str = Field(max_length=64)  # the payment's uid, or "" for an adjustment
    reason: str = Field(default="", max_length=200)  # an adjustment's reason
    # Spent while HQ could not be asked, within the offline allowance.
    offline: bool = False
    at: Seconds
    by: str = Field(max_length=64)  # the staff member, or "diner"/"system"


class CouponIssued(UplinkData):
    """A coupon given to a member at this hub (welcome, birthday): single use, its own code."""

    coupon: str = Field(pattern=COUPON_CODE_PATTERN)
    member: str = Field(pattern=MEMBER_ID_PATTERN)
    template: str
    source: str = Field(max_length=32)  # welcome | birthday | campaign ...
    valid_from: Seconds
    valid_until: Seconds
    issued_at: Seconds


class CouponRedeemed(UplinkData):
    """A coupon paid part of a bill. The same code redeemed twice (two offline stores) is kept
    once at HQ, by the hubs' clocks, and the other flagged."""

    coupon: str = Field(pattern=COUPON_CODE_PATTERN)
    member: str = Field(pattern=MEMBER_ID_PATTERN)
    payment: str
    off_fen: int = Field(ge=0)
    offline: bool = False
    at: Seconds


class CouponReleased(UplinkData):
    """A refund gave a redeemed coupon back to its member."""

    coupon: str = Field(pattern=COUPON_CODE_PATTERN)
    member: str = Field(pattern=MEMBER_ID_PATTERN)
    payment: str
    at: Seconds


class CouponWithdrawn(UplinkData):
    """A coupon given as a reward whose cause was undone (the invited friend's first bill was
    refunded) before it was used: it is no longer the member's to use, here or elsewhere."""

    coupon: str = Field(pattern=COUPON_CODE_PATTERN)
    member: str = Field(pattern=MEMBER_ID_PATTERN)
    payment: str  # the refunded bill that had earned it
    at: Seconds


class ConfigApplied(UplinkData):
    """The hub runs HQ's configuration of this version now."""

    version: int


class GamePlayed(UplinkData):
    """A game play (wheel, quiz, scan-QR, a stamp) drawn and recorded at the hub: what was
    drawn with which random value, and whether it paid out or waits for staff (flagged)."""

    play: str = Field(min_length=8, max_length=64)  # made on the phone: the idempotency key
    campaign: str
    kind: str  # contract.campaigns.CampaignKind
    member: str | None = Field(default=None, pattern=MEMBER_ID_PATTERN)
    table: str = ""
    payment: str | None = None  # the paid bill it plays for
    prize: str  # the prize id ("" while a quiz question waits for its answer)
    prize_kind: str  # contract.campaigns.PrizeKind
    cost_fen: int = Field(ge=0)
    rand: int = Field(ge=0)  # the random value drawn (secrets.randbelow(total))
    total: int = Field(ge=0)  # the table's total weight
    fallback_from: str | None = None  # the prize drawn first, when it was out
    status: str  # paid | flagged | nothing
    flag: str = Field(default="", max_length=200)  # why it waits for staff
    signature: str = Field(max_length=64)  # the result's HMAC (a screenshot's receipt)
    at: Seconds


class StampAdded(UplinkData):
    """A stamp on a member's stamp card, from a paid bill at a table of this hub: an entry of
    the member's stamp ledger, its id made here from its cause (store, bill, campaign:
    edge/members/stamps.py stamp_id; HQ stores each id once). The cards are
    counted from the stamps (contract.campaigns.stamp_cards); `completes` says this stamp
    filled the hub's card `card`, whose reward coupon went to the member."""

    stamp: str = Field(min_length=8, max_length=64)
    member: str = Field(pattern=MEMBER_ID_PATTERN)
    campaign: str = Field(max_length=32)
    place: str = Field(max_length=72)  # "<store>:<table>"
    card: int = Field(ge=1)
    completes: bool = False
    coupon: str | None = Field(default=None, pattern=COUPON_CODE_PATTERN)
    at: Seconds


class MemberInvited(UplinkData):
    """A friend joined at this hub with a member's share code (docs/members.md): sent when
    they join, and again when their first paid bill rewarded both (`rewarded_payment`)."""

    friend: str = Field(pattern=MEMBER_ID_PATTERN)
    inviter: str = Field(pattern=MEMBER_ID_PATTERN)
    campaign: str = Field(max_length=32)
    at: Seconds
    rewarded_payment: str | None = Field(default=None, max_length=64)
    rewarded_at: Seconds | None = None
    # The store-local day the friend joined, the day the hub's per-inviter limit counted them
    # under: HQ counts the chain's by it. None from hubs before it was sent.
    day: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class GameReleased(UplinkData):
    """Staff released (paid out) or refused a flagged play."""

    play: str = Field(min_length=8, max_length=64)
    campaign: str
    paid: bool
    by: str = Field(max_length=64)
    at: Seconds


class FeedbackGiven(UplinkData):
    """A party's rating after paying (one per bill: the hub refuses a second). The comment is
    the diner's own text: whoever shows it escapes it."""

    payment: str  # the bill's uid
    table: str
    food: int = Field(ge=RATING_MIN, le=RATING_MAX)
    service: int = Field(ge=RATING_MIN, le=RATING_MAX)
    comment: str = Field(default="", max_length=FEEDBACK_COMMENT_MAX)
    lang: Literal["zh", "en"] = "zh"  # the page's language when given
    at: Seconds


# --- The events: an envelope around each type's data. ---


def _known_version(v: int) -> int:
    if v not in UPLINK_VERSIONS:
        raise PydanticCustomError(
            "unknown_version",
            "schema version {v} is not known here (known: {known}): update HQ before the hubs",
            {"v": v, "known": ", ".join(str(k) for k in sorted(UPLINK_VERSIONS))},
        )
    return v


# --- the waitlist and reservations (docs/waitlist.md). No phone numbers: never. ---


class WaitlistParty(UplinkData):
    """A party in the line at the door changed: taken, called, seated, left, no_show. For a
    seated party `waited_s` and `error_s` (waited minus the middle of the estimate given when
    it took its number) measure how good the estimate was."""

    party: str  # the party's uid on the hub
    number: str  # A012
    group: str
    size: int = Field(ge=1, le=1000)
    what: Literal["taken", "called", "seated", "left", "no_show", "put_back"]
    source: str  # kiosk | phone | staff | booking
    priority: bool = False
    taken_at: Seconds
    at: Seconds
    est_low_s: Seconds | None = None
    est_high_s: Seconds | None = None
    est_s: Seconds | None = None
    waited_s: Seconds | None = None
    error_s: Seconds | None = None
    table: str | None = None


class BookingChanged(UplinkData):
    """A reservation was made, or its party arrived, did not come or cancelled."""

    booking: str
    day: str  # YYYY-MM-DD, store-local
    slot: str  # HH:MM, store-local
    group: str
    size: int = Field(ge=1, le=1000)
    what: Literal["booked", "arrived", "no_show", "cancelled"]
    at: Seconds


class UplinkEnvelope(BaseModel):
    """What every event has, whatever its type."""

    model_config = ConfigDict(frozen=True)

    id: EventId  # made where the fact happened; the cloud stores each (store, id) once
    type: str
    # The schema version; absent in events written before versions existed: 1.
    v: Annotated[int, Field(strict=True), AfterValidator(_known_version)] = UPLINK_VERSION
    # Epoch seconds on the hub's clock. Never compared with HQ's: skew is not an error.
    occurred_at: float = Field(ge=0, allow_inf_nan=False, strict=True)


class UplinkEvent(UplinkEnvelope):
    """An event with its typed data: one subclass per type below, nothing else is sent."""

    data: UplinkData


class CallOpenedEvent(UplinkEvent):
    """id `co-<call uid>`."""

    type: Literal["call.opened"] = "call.opened"
    data: CallOpened


class CallAnsweredEvent(UplinkEvent):
    """id `ca-<call uid>`."""

    type: Literal["call.answered"] = "call.answered"
    data: CallAnswered


class DeviceAlarmEvent(UplinkEvent):
    """id `da-<alarm uid>-raised` or `da-<alarm uid>-cleared`."""

    type: Literal["device.alarm"] = "device.alarm"
    data: DeviceAlarm


class OrderPlacedEvent(UplinkEvent):
    """id `op-<order uid>`; occurred_at is the order's created_at."""

    type: Literal["order.placed"] = "order.placed"
    data: OrderPlaced


class OrderLineVoidedEvent(UplinkEvent):
    """id `ov-<order uid>-<line id>`."""

    type: Literal["order.line_voided"] = "order.line_voided"
    data: OrderLineVoided


class OrderDoneEvent(UplinkEvent):
    """id `od-<order uid>`."""

    type: Literal["order.done"] = "order.done"
    data: OrderDone


class TicketPrintedEvent(UplinkEvent):
    """id `tp-<print job uid>`."""

    type: Literal["ticket.printed"] = "ticket.printed"
    data: TicketPrinted


class PaymentRecordedEvent(UplinkEvent):
    """id `pay-<payment uid>`: a table's bill paid."""

    type: Literal["payment.recorded"] = "payment.recorded"
    data: PaymentRecorded


class PaymentRefundedEvent(UplinkEvent):
    """id `rf-<payment uid>`."""

    type: Literal["payment.refunded"] = "payment.refunded"
    data: PaymentRefunded


class MemberJoinedEvent(UplinkEvent):
    """id `mj-<member id>`."""

    type: Literal["member.joined"] = "member.joined"
    data: MemberJoined


class PointsEntryEvent(UplinkEvent):
    """id `pt-<entry id>`."""

    type: Literal["member.points"] = "member.points"
    data: PointsEntry


class CouponIssuedEvent(UplinkEvent):
    """id `ci-<coupon code>`."""

    type: Literal["coupon.issued"] = "coupon.issued"
    data: CouponIssued


class CouponRedeemedEvent(UplinkEvent):
    """id `cr-<coupon code>-<payment uid>`."""

    type: Literal["coupon.redeemed"] = "coupon.redeemed"
    data: CouponRedeemed


class CouponReleasedEvent(UplinkEvent):
    """id `cx-<coupon code>-<payment uid>`."""

    type: Literal["coupon.released"] = "coupon.released"
    data: CouponReleased


class CouponWithdrawnEvent(UplinkEvent):
    """id `cw-<coupon code>`: a coupon is withdrawn once."""

    type: Literal["coupon.withdrawn"] = "coupon.withdrawn"
    data: CouponWithdrawn


class ConfigAppliedEvent(UplinkEvent):
    """id `cfg-<version>-<random>`: one per time the hub starts running a version."""

    type: Literal["config.applied"] = "config.applied"
    data: ConfigApplied


class WaitlistPartyEvent(UplinkEvent):
    """id `wl-<party uid>-<what>` (a called party called again: `wl-<uid>-called-<n>`)."""

    type: Literal["waitlist.party"] = "waitlist.party"
    data: WaitlistParty


class BookingChangedEvent(UplinkEvent):
    """id `bk-<booking uid>-<what>`."""

    type: Literal["booking.changed"] = "booking.changed"
    data: BookingChanged


class GamePlayedEvent(UplinkEvent):
    """id `gp-<play id>`."""

    type: Literal["game.played"] = "game.played"
    data: GamePlayed


class StampAddedEvent(UplinkEvent):
    """id `st-<stamp id>`."""

    type: Literal["member.stamp"] = "member.stamp"
    data: StampAdded


class MemberInvitedEvent(UplinkEvent):
    """id `mi-<friend id>` when they join, `mi-<friend id>-rewarded` when both were rewarded."""

    type: Literal["member.invited"] = "member.invited"
    data: MemberInvited


class GameReleasedEvent(UplinkEvent):
    """id `gr-<play id>`."""

    type: Literal["game.released"] = "game.released"
    data: GameReleased


class FeedbackGivenEvent(UplinkEvent):
    """id `fb-<payment uid>`: once per bill, so HQ keeps one however often it is sent."""

    type: Literal["feedback.given"] = "feedback.given"
    data: FeedbackGiven


# The one list of event models: everything below is derived from it.
AnyUplinkEvent = Annotated[
    CallOpenedEvent
    | CallAnsweredEvent
    | DeviceAlarmEvent
    | OrderPlacedEvent
    | OrderLineVoidedEvent
    | OrderDoneEvent
    | TicketPrintedEvent
    | PaymentRecordedEvent
    | PaymentRefundedEvent
    | MemberJoinedEvent
    | PointsEntryEvent
    | CouponIssuedEvent
    | CouponRedeemedEvent
    | CouponReleasedEvent
    | CouponWithdrawnEvent
    | ConfigAppliedEvent
    | WaitlistPartyEvent
    | BookingChangedEvent
    | GamePlayedEvent
    | GameReleasedEvent
    | FeedbackGivenEvent
    | StampAddedEvent
    | MemberInvitedEvent,
    Field(discriminator="type"),
]
EVENT_MODELS: Final[tuple[type[UplinkEvent], ...]] = get_args(get_args(AnyUplinkEvent)[0])


def _type_of(model: type[UplinkEvent]) -> str:
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


# Type name -> its event model.
UPLINK_EVENTS: Final[Mapping[str, type[UplinkEvent]]] = {_type_of(m): m for m in EVENT_MODELS}
UPLINK_EVENT_TYPES: Final[tuple[str, ...]] = tuple(UPLINK_EVENTS)
if TYPE_CHECKING:
    UplinkEventType = str
else:
    # A Literal of every type name, for pydantic and FastAPI (the cloud's ingest and filters).
    UplinkEventType = Literal[UPLINK_EVENT_TYPES]

# The names, as code compares and filters by them.
CALL_OPENED: Final = _type_of(CallOpenedEvent)
CALL_ANSWERED: Final = _type_of(CallAnsweredEvent)
DEVICE_ALARM: Final = _type_of(DeviceAlarmEvent)
ORDER_PLACED: Final = _type_of(OrderPlacedEvent)
ORDER_LINE_VOIDED: Final = _type_of(OrderLineVoidedEvent)
ORDER_DONE: Final = _type_of(OrderDoneEvent)
TICKET_PRINTED: Final = _type_of(TicketPrintedEvent)
PAYMENT_RECORDED: Final = _type_of(PaymentRecordedEvent)
CONFIG_APPLIED: Final = _type_of(ConfigAppliedEvent)
PAYMENT_REFUNDED: Final = _type_of(PaymentRefundedEvent)
MEMBER_JOINED: Final = _type_of(MemberJoinedEvent)
MEMBER_POINTS: Final = _type_of(PointsEntryEvent)
COUPON_ISSUED: Final = _type_of(CouponIssuedEvent)
COUPON_REDEEMED: Final = _type_of(CouponRedeemedEvent)
COUPON_RELEASED: Final = _type_of(CouponReleasedEvent)
COUPON_WITHDRAWN: Final = _type_of(CouponWithdrawnEvent)
WAITLIST_PARTY: Final = _type_of(WaitlistPartyEvent)
BOOKING_CHANGED: Final = _type_of(BookingChangedEvent)
GAME_PLAYED: Final = _type_of(GamePlayedEvent)
GAME_RELEASED: Final = _type_of(GameReleasedEvent)
FEEDBACK_GIVEN: Final = _type_of(FeedbackGivenEvent)
MEMBER_STAMP: Final = _type_of(StampAddedEvent)
MEMBER_INVITED: Final = _type_of(MemberInvitedEvent)

_EVENT_ADAPTER: Final[TypeAdapter[AnyUplinkEvent]] = TypeAdapter(AnyUplinkEvent)


def parse_event(raw: Any) -> UplinkEvent:
    """A whole event (as decoded from JSON) as its model; ValidationError if it is none."""
    event: UplinkEvent = _EVENT_ADAPTER.validate_python(raw)
    return event


def _data_of(model: type[UplinkEvent]) -> type[UplinkData]:
    data = model.model_fields["data"].annotation
    assert isinstance(data, type) and issubclass(data, UplinkData)
    return data


_DATA_MODELS: Final = {name: _data_of(m) for name, m in UPLINK_EVENTS.items()}


def data_model(event_type: str) -> type[UplinkData]:
    """The model of a type's `data` (KeyError for a type the contract does not have)."""
    return _DATA_MODELS[event_type]


# A hub clock further than this from HQ's (measured on every batch: `sent_at` against HQ's
# `received_at`) is flagged on the hub's board and in HQ's fleet view: its orders land in the
# wrong hour of the sales reports. Network latency is far below it.
CLOCK_SKEW_WARN_S: Final = 120.0


def clock_ok(offset_s: float | None) -> bool:
    return offset_s is None or abs(offset_s) <= CLOCK_SKEW_WARN_S
