"""The hub -> cloud contract (contract/uplink.py): one model per event, built by the hub,
read by the cloud with the same class; versions known, refused or (absent) read as 1."""

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.const import EVENT_TYPES, EventType
from cloud.schemas import EventIn, IngestBatch
from contract import menu, uplink
from contract.members import EntryCause, MembersConfig, phone_hash
from contract.uplink import (
    EVENT_MODELS,
    UPLINK_EVENT_TYPES,
    UPLINK_EVENTS,
    AnyUplinkEvent,
    BookingChanged,
    BookingChangedEvent,
    CallAnswered,
    CallAnsweredEvent,
    CallOpened,
    CallOpenedEvent,
    ConfigApplied,
    ConfigAppliedEvent,
    CouponIssued,
    CouponIssuedEvent,
    CouponRedeemed,
    CouponRedeemedEvent,
    CouponReleased,
    CouponReleasedEvent,
    CouponWithdrawn,
    CouponWithdrawnEvent,
    DeviceAlarm,
    DeviceAlarmEvent,
    FeedbackGiven,
    FeedbackGivenEvent,
    GamePlayed,
    GamePlayedEvent,
    GameReleased,
    GameReleasedEvent,
    MemberInvited,
    MemberInvitedEvent,
    MemberJoined,
    MemberJoinedEvent,
    OrderDone,
    OrderDoneEvent,
    OrderLineVoided,
    OrderLineVoidedEvent,
    OrderPlaced,
    OrderPlacedEvent,
    PaymentRecorded,
    PaymentRecordedEvent,
    PaymentRefunded,
    PaymentRefundedEvent,
    PlacedLine,
    PointsEntry,
    PointsEntryEvent,
    StampAdded,
    StampAddedEvent,
    TicketPrinted,
    TicketPrintedEvent,
    UplinkData,
    UplinkEvent,
    WaitlistParty,
    WaitlistPartyEvent,
    parse_event,
)
from contract.waitlist import WaitlistConfig
from edge.billing import feedback
from edge.calls import service as calls
from edge.db import init_db, make_engine
from edge.devices import service as devices
from edge.devices.models import Device
from edge.games import service as games
from edge.members import bill as member_bill
from edge.members import coupons as member_coupons
from edge.members import ledger, share, stamps
from edge.members import service as members
from edge.orders import service as orders
from edge.orders.schemas import LineRequest
from edge.printing import service as printing
from edge.printing.models import PrintJob
from edge.tables.models import DiningTable
from edge.uplink import service as outbox
from edge.uplink.models import OutboxEvent
from edge.uplink.sender import CloudSender
from edge.waitlist import service as waitlist
from smartstore.cloud_service import CloudHandle
from smartstore.samples import SAMPLE_MENU
from tests import games as game_configs
from tests.support import wait_until

INGEST = "/api/v1/ingest"
AT = 1_772_000_000.0
UID = "0123456789abcdef0123456789abcdef"
MEMBER = "mabcdefgh23456789"

TEA = PlacedLine(
    dish="tea", name_zh="菊花茶", name_en="Tea", station="bar", qty=3, unit_price_fen=500
)
# One of each type, as the hub makes them.
SAMPLES: dict[str, AnyUplinkEvent] = {
    e.type: e
    for e in (
        CallOpenedEvent(
            id=f"co-{UID}",
            occurred_at=AT,
            data=CallOpened(
                call=UID, device="btn-001", zone="A", table="A1", reason="bill", opened_at=AT
            ),
        ),
        CallAnsweredEvent(
            id=f"ca-{UID}",
            occurred_at=AT + 42.5,
            data=CallAnswered(
                call=UID,
                device="qr-A1",
                zone="",
                table="一号桌",
                reason="service",
                opened_at=AT,
                acked_by="alice",
                response_s=42.5,
                urgent=True,
            ),
        ),
        DeviceAlarmEvent(
            id=f"da-{UID}-cleared",
            occurred_at=AT,
            data=DeviceAlarm(
                alarm=UID,
                device="printer-01",
                device_type="printer",
                zone="kitchen",
                kind="paper_out",
                active=False,
                raised_at=AT - 60,
            ),
        ),
        OrderPlacedEvent(
            id=f"op-{UID}",
            occurred_at=AT,
            data=OrderPlaced(
                order=UID,
                no=7,
                source="kiosk",
                table="",
                device="kiosk-01",
                created_at=AT,
                total_fen=1500,
                lines=[TEA],
            ),
        ),
        OrderLineVoidedEvent(
            id=f"ov-{UID}-3",
            occurred_at=AT + 60,
            data=OrderLineVoided(order=UID, dish="tea", qty=3, unit_price_fen=500, by="bob"),
        ),
        OrderDoneEvent(
            id=f"od-{UID}", occurred_at=AT + 300, data=OrderDone(order=UID, no=7, ready_s=300.0)
        ),
        TicketPrintedEvent(
            id=f"tp-{UID}",
            occurred_at=AT + 1,
            data=TicketPrinted(
                order=UID,
                station="bar",
                printer="printer-01",
                ordered_at=AT,
                printed_at=AT + 1,
                latency_s=-0.25,  # a hub clock set back: still a fact the hub must send
            ),
        ),
        PaymentRecordedEvent(
            id=f"pay-{UID}",
            occurred_at=AT + 900,
            data=PaymentRecorded(
                payment=UID,
                table="A1",
                amount_fen=1500,
                method="wechat",
                orders=[UID],
                paid_at=AT + 900,
                by="alice",
            ),
        ),
        PaymentRefundedEvent(
            id=f"rf-{UID}",
            occurred_at=AT + 1200,
            data=PaymentRefunded(
                payment=UID,
                table="A1",
                amount_fen=1500,
                refunded_at=AT + 1200,
                by="carol",
                reason="cold dish",
            ),
        ),
        MemberJoinedEvent(
            id=f"mj-{MEMBER}",
            occurred_at=AT,
            data=MemberJoined(
                member=MEMBER,
                phone_hash="ab" * 32,
                phone_masked="138****8000",
                birthday="02-29",
                card_no=None,
                consent="2026-11",
                joined_at=AT,
            ),
        ),
        PointsEntryEvent(
            id=f"pt-e-{UID}",
            occurred_at=AT + 900,
            data=PointsEntry(
                entry=f"e-{UID}",
                member=MEMBER,
                points=150,
                cause=EntryCause.EARN,
                ref=UID,
                at=AT + 900,
                by="alice",
            ),
        ),
        CouponIssuedEvent(
            id="ci-CABCDEFGH23",
            occurred_at=AT,
            data=CouponIssued(
                coupon="CABCDEFGH23",
                member=MEMBER,
                template="welcome",
                source="welcome",
                valid_from=AT,
                valid_until=AT + 30 * 86400,
                issued_at=AT,
            ),
        ),
        CouponRedeemedEvent(
            id=f"cr-CABCDEFGH23-{UID}",
            occurred_at=AT + 900,
            data=CouponRedeemed(
                coupon="CABCDEFGH23", member=MEMBER, payment=UID, off_fen=2000, at=AT + 900
            ),
        ),
        CouponReleasedEvent(
            id=f"cx-CABCDEFGH23-{UID}",
            occurred_at=AT + 1200,
            data=CouponReleased(coupon="CABCDEFGH23", member=MEMBER, payment=UID, at=AT + 1200),
        ),
        CouponWithdrawnEvent(
            id="cw-CABCDEFGH24",
            occurred_at=AT + 1300,
            data=CouponWithdrawn(coupon="CABCDEFGH24", member=MEMBER, payment=UID, at=AT + 1300),
        ),
        ConfigAppliedEvent(
            id="cfg-12-0123456789ab", occurred_at=AT, data=ConfigApplied(version=12)
        ),
        WaitlistPartyEvent(
            id=f"wl-{UID}-seated",
            occurred_at=AT + 1500,
            data=WaitlistParty(
                party=UID,
                number="A012",
                group="A",
                size=2,
                what="seated",
                source="kiosk",
                taken_at=AT,
                at=AT + 1500,
                est_low_s=900.0,
                est_s=1200.0,
                est_high_s=1800.0,
                waited_s=1500.0,
                error_s=300.0,
                table="A1",
            ),
        ),
        BookingChangedEvent(
            id=f"bk-{UID}-booked",
            occurred_at=AT,
            data=BookingChanged(
                booking=UID,
                day="2026-02-25",
                slot="19:30",
                group="B",
                size=4,
                what="booked",
                at=AT,
            ),
        ),
        GamePlayedEvent(
            id="gp-p0123456789abcdef",
            occurred_at=AT + 950,
            data=GamePlayed(
                play="p0123456789abcdef",
                campaign="wheel",
                kind="wheel",
                member=MEMBER,
                table="A1",
                payment=UID,
                prize="p10",
                prize_kind="points",
                cost_fen=10,
                rand=4711,
                total=10000,
                status="paid",
                signature="ab" * 16,
                at=AT + 950,
            ),
        ),
        GameReleasedEvent(
            id="gr-p0123456789abcdef",
            occurred_at=AT + 990,
            data=GameReleased(
                play="p0123456789abcdef", campaign="wheel", paid=True, by="alice", at=AT + 990
            ),
        ),
        FeedbackGivenEvent(
            id=f"fb-{UID}",
            occurred_at=AT + 1000,
            data=FeedbackGiven(
                payment=UID, table="一号桌", food=4, service=5, comment="好吃", at=AT + 1000
            ),
        ),
        MemberInvitedEvent(
            id="mi-m0123456789abcdef-rewarded",
            occurred_at=AT + 1020,
            data=MemberInvited(
                friend="m0123456789abcdef",
                inviter="mfedcba9876543210",
                campaign="share",
                at=AT + 100,
                rewarded_payment=UID,
                rewarded_at=AT + 1020,
                day="2026-11-28",
            ),
        ),
        StampAddedEvent(
            id="st-p0123456789abcdef",
            occurred_at=AT + 1010,
            data=StampAdded(
                stamp="p0123456789abcdef",
                member="m0123456789abcdef",
                campaign="stamps",
                place="S001:A1",
                card=1,
                completes=True,
                coupon="CABCDEFGHIJ",
                at=AT + 1010,
            ),
        ),
    )
}


def test_every_type_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(UPLINK_EVENT_TYPES)


@pytest.mark.parametrize("event_type", UPLINK_EVENT_TYPES)
def test_each_model_round_trips_through_json(event_type: str) -> None:
    event = SAMPLES[event_type]
    wire = json.loads(json.dumps(event.model_dump(mode="json")))  # as the sender posts it
    assert wire["v"] == 1 and wire["type"] == event_type
    again = parse_event(wire)
    assert type(again) is type(event) and again == event
    # The cloud's envelope takes it, and reads its data with the same class.
    received = EventIn.model_validate(wire)
    assert received.data == wire["data"]
    assert received.contract_problem() is None
    assert received.typed_data() == event.data
    assert type(received.typed_data()) is type(event.data)


def test_names_are_written_once_in_the_models() -> None:
    """The constants, the registry, the cloud's list and its Literal all come from the
    models' `type` Literals."""
    assert len(EVENT_MODELS) == len(UPLINK_EVENT_TYPES) == len(set(UPLINK_EVENT_TYPES)) == 23
    for name, model in UPLINK_EVENTS.items():
        assert model.model_fields["type"].default == name
        assert issubclass(model.model_fields["data"].annotation, UplinkData)  # type: ignore[arg-type]
    assert EVENT_TYPES == UPLINK_EVENT_TYPES
    assert set(EventType.__args__) == set(UPLINK_EVENT_TYPES)  # type: ignore[attr-defined]
    constants = {
        uplink.CALL_OPENED: CallOpenedEvent,
        uplink.CALL_ANSWERED: CallAnsweredEvent,
        uplink.DEVICE_ALARM: DeviceAlarmEvent,
        uplink.ORDER_PLACED: OrderPlacedEvent,
        uplink.ORDER_LINE_VOIDED: OrderLineVoidedEvent,
        uplink.ORDER_DONE: OrderDoneEvent,
        uplink.TICKET_PRINTED: TicketPrintedEvent,
        uplink.PAYMENT_RECORDED: PaymentRecordedEvent,
        uplink.CONFIG_APPLIED: ConfigAppliedEvent,
        uplink.PAYMENT_REFUNDED: PaymentRefundedEvent,
        uplink.MEMBER_JOINED: MemberJoinedEvent,
        uplink.MEMBER_POINTS: PointsEntryEvent,
        uplink.COUPON_ISSUED: CouponIssuedEvent,
        uplink.COUPON_REDEEMED: CouponRedeemedEvent,
        uplink.COUPON_RELEASED: CouponReleasedEvent,
        uplink.COUPON_WITHDRAWN: CouponWithdrawnEvent,
        uplink.WAITLIST_PARTY: WaitlistPartyEvent,
        uplink.BOOKING_CHANGED: BookingChangedEvent,
        uplink.GAME_PLAYED: GamePlayedEvent,
        uplink.GAME_RELEASED: GameReleasedEvent,
        uplink.FEEDBACK_GIVEN: FeedbackGivenEvent,
        uplink.MEMBER_STAMP: StampAddedEvent,
        uplink.MEMBER_INVITED: MemberInvitedEvent,
    }
    assert constants == dict(UPLINK_EVENTS)
    assert (outbox.CALL_OPENED, outbox.CALL_ANSWERED) == ("call.opened", "call.answered")


def _errors(raw: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        IngestBatch.model_validate({"store": "S1", "events": [raw]})
    return caught.value.errors()


def test_unknown_types_and_versions_are_refused_by_the_contract() -> None:
    wire = SAMPLES["order.placed"].model_dump(mode="json")
    with pytest.raises(ValidationError, match="schema version 2 is not known here"):
        parse_event({**wire, "v": 2})
    [error] = _errors({**wire, "v": 2})
    assert (error["type"], error["loc"]) == ("unknown_version", ("events", 0, "v"))
    assert (
        error["msg"] == "schema version 2 is not known here (known: 1): update HQ before the hubs"
    )
    for not_a_version in ("1", 1.0, True, None):
        [error] = _errors({**wire, "v": not_a_version})
        assert error["loc"] == ("events", 0, "v"), not_a_version
    [error] = _errors({**wire, "type": "order.cancelled"})
    assert error["loc"] == ("events", 0, "type")
    assert error["msg"].startswith("Input should be 'call.opened', 'call.answered'")
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_event({**wire, "type": "order.cancelled"})
    # Absent: an event written before versions existed, read as 1.
    legacy = {k: v for k, v in wire.items() if k != "v"}
    assert parse_event(legacy).v == 1
    assert IngestBatch.model_validate({"store": "S1", "events": [legacy]}).events[0].v == 1


def test_data_is_read_strictly_and_tolerates_fields_added_later() -> None:
    wire = SAMPLES["order.placed"].model_dump(mode="json")
    line = wire["data"]["lines"][0]
    for bad in ({"qty": "3"}, {"qty": True}, {"qty": 1.5}, {"qty": 0}, {"dish": ""}):
        data = {**wire["data"], "lines": [{**line, **bad}]}
        problem = EventIn.model_validate({**wire, "data": data}).contract_problem()
        assert problem is not None and problem.startswith("data.lines.0."), bad
    missing = {k: v for k, v in wire["data"].items() if k != "total_fen"}
    problem = EventIn.model_validate({**wire, "data": missing}).contract_problem()
    assert problem == "data.total_fen: Field required"
    newer = {**wire["data"], "member": "M-1"}  # a field a newer hub adds within v1
    assert EventIn.model_validate({**wire, "data": newer}).contract_problem() is None


def test_enqueue_takes_only_the_contracts_events(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "hub.db")
    try:
        sessions = init_db(engine)
        with sessions.begin() as session, pytest.raises(TypeError, match="not an event"):
            outbox.enqueue(session, [{"id": "co-12345678", "type": "call.opened"}])  # type: ignore[list-item]
        base = UplinkEvent(id="xx-12345678", type="made.up", occurred_at=AT, data=UplinkData())
        with sessions.begin() as session, pytest.raises(TypeError, match="not an event"):
            outbox.enqueue(session, [base])  # type: ignore[list-item]
        with sessions() as session:
            assert outbox.backlog(session)[0] == 0
    finally:
        engine.dispose()


def _hub_day(sessions: sessionmaker[Session]) -> None:
    """A table orders, a line is voided, a ticket prints, the order is done, the table pays;
    a diner calls and is answered; a printer fails and recovers: each through the hub's own
    service functions, which write the outbox."""
    store_menu = menu.load_menu(SAMPLE_MENU)
    routes = printing.Routes(by_station={}, receipt_printer="", addresses={})
    with sessions.begin() as s:
        s.add(DiningTable(id="A1", name="一号桌", opened_at=AT - 600))
        s.add(Device(id="printer-01", type="printer", zone="kitchen"))
    with sessions.begin() as s:
        placed = orders.place_order(
            s,
            store_menu,
            frozenset(),
            routes,
            orders.Origin(source="table", table_id="A1", table_name="一号桌"),
            "key-0001",
            [
                LineRequest(dish="kungpao", qty=2, options={"spice": "mild"}),
                LineRequest(dish="tea", qty=1, options={"temp": "iced"}),
            ],
            "",
            AT,
        )
        uid, line_id = placed.order.uid, placed.order.lines[1].id
    with sessions.begin() as s:
        orders.void_line(s, routes, uid, line_id, "bob", AT + 30)
    with sessions.begin() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.kind == "kitchen")).first()
        assert job is not None
        assert printing.claim(s, job.id) is not None
        printing.settle_sent(s, job.id, AT + 2)
    with sessions.begin() as s:
        orders.mark_done(s, uid, AT + 400)
    config = MembersConfig()
    with sessions.begin() as s:  # a diner joins (the welcome coupon) and signs in at A1
        member = members.join(s, config, "13800138000", "ab" * 32, "02-29", AT + 100)
        members.attach(s, "A1", AT - 600, member, AT + 100, replace=False)
        ledger.adjust(s, member, 500, "goodwill", "carol", AT + 110)
    with sessions.begin() as s:  # the table pays with the coupon and 100 points
        bill = orders.party_bill(s, "A1")
        member = members.by_id(s, member.id)
        [coupon] = member_coupons.usable_coupons(s, member.id, AT + 900)
        discount = member_bill.price_bill(
            s, config, "S1", member, bill.gross_fen, {}, coupon.code, 100, True, AT + 900
        )
        payment = orders.record_payment(
            s, bill, "wechat", "alice", AT + 900, bill.gross_fen, discount.off_fen
        )
        member_bill.record_paid(s, config, discount, payment, AT + 900)
        orders.enqueue_payment(s, payment)
    with sessions.begin() as s:  # the party rates the meal
        feedback.give(s, "A1", payment.uid, 4, 5, "好吃", "zh", AT + 950)
    with sessions.begin() as s:  # and a manager refunds it
        refunded = orders.refund_payment(s, payment.uid, "carol", "cold dish", AT + 1200)
        member_bill.reverse_paid(s, refunded, "carol", AT + 1200)
    with sessions.begin() as s:
        call = calls.call_from_table(s, "S1", "A1", "一号桌", "", "water", AT + 10)
    with sessions.begin() as s:
        calls.acknowledge(s, "S1", call.id, "alice", AT + 25)
    with sessions.begin() as s:
        devices.set_print_error(s, "printer-01", "connection refused", 20.0, AT + 5)
    with sessions.begin() as s:
        devices.set_print_error(s, "printer-01", None, 20.0, AT + 50)
    with sessions.begin() as s:  # a party takes a number and is seated; a booking is made
        line = WaitlistConfig()
        party = waitlist.take_number(s, line, "k-wl-1", 2, "kiosk", AT + 10).party
        waitlist.call(s, line, AT + 600, party=party)
        s.add(DiningTable(id="A2", name="二号桌", is_open=False))
        waitlist.seat(s, party, "A2", AT + 700)
        tomorrow = time.strftime("%Y-%m-%d", time.localtime(AT + 86400))
        request = waitlist.BookingRequest("k-bk-1", tomorrow, "19:30", 4, "", "13800138000")
        waitlist.book(s, line, None, request, AT + 800)
    # The member spins the wheel; the play is held as farmed, then staff release it.
    campaign = game_configs.wheel()
    rules = games.Rules("S1", config, store_menu, routes, b"k" * 32)
    player = games.Player("A1", "一号桌", AT - 600, "sess-0000000000000000", member.id)
    with sessions.begin() as s:
        row = games.member_of(s, member.id)
        play = games.new_play(
            s, "play-000000000000001", campaign, payment.uid, row, player, None, AT
        )
        prize = campaign.prizes[0]
        games.decide(s, play, campaign, prize, 10, 3, 100, None, "farmed?", rules, row, AT + 950)
    with sessions.begin() as s:
        games.release(s, "play-000000000000001", campaign, True, rules, "alice", AT + 990)
    with sessions.begin() as s:  # a friend joins with the member's share code
        m = members.by_id(s, member.id)
        friend_phone = "13912345678"
        friend = members.join(
            s, config, friend_phone, phone_hash(b"k" * 32, friend_phone), None, AT
        )
        share.record(s, game_configs.share(), m, friend, friend.phone_hash or "", AT + 992)
    with sessions.begin() as s:  # a stamp on the member's stamp card
        stamps.add_stamp(s, "play-000000000000002", member.id, "stamps", "S1:A1", 1, AT + 995)
    with sessions.begin() as s:  # a coupon of the friend's taken back with a refunded bill
        [reward] = member_coupons.usable_coupons(s, friend.id, AT + 996)
        member_coupons.withdraw(s, reward, payment.uid, AT + 996)


def test_what_the_hubs_code_writes_is_what_the_cloud_reads(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "hub.db")
    try:
        sessions = init_db(engine)
        _hub_day(sessions)
        with sessions() as session:
            sent = [outbox.as_sent(r) for r in outbox.oldest(session, 100)]
    finally:
        engine.dispose()
    sent = json.loads(json.dumps(sent))  # as the sender posts it
    assert {str(e["type"]) for e in sent} == set(UPLINK_EVENT_TYPES) - {"config.applied"}
    batch = IngestBatch.model_validate({"store": "S1", "events": sent})
    for wire, received in zip(sent, batch.events, strict=True):
        assert wire["v"] == 1
        assert received.contract_problem() is None, wire
        event = parse_event(wire)
        assert type(event) is UPLINK_EVENTS[event.type]
        assert event.data.model_dump(mode="json") == wire["data"]  # nothing more, nothing less
    by_type = {e["type"]: e["data"] for e in sent}
    placed = by_type["order.placed"]
    assert [x["dish"] for x in placed["lines"]] == ["kungpao", "tea"]
    assert placed["table"] == "一号桌" and placed["device"] is None and placed["source"] == "table"
    assert by_type["order.line_voided"]["by"] == "bob"
    assert by_type["ticket.printed"]["latency_s"] == 2.0
    assert by_type["order.done"]["ready_s"] == 400.0
    tea = placed["lines"][1]
    voided = tea["qty"] * tea["unit_price_fen"]
    paid = by_type["payment.recorded"]
    assert paid["gross_fen"] == placed["total_fen"] - voided
    assert paid["amount_fen"] == paid["gross_fen"] - 2000 - 100  # the coupon, 100 points
    assert (paid["coupon_off_fen"], paid["points_used"]) == (2000, 100)
    assert paid["points_earned"] == paid["amount_fen"] // 10  # 10% of what was paid
    entries = [e["data"] for e in sent if e["type"] == "member.points"]
    assert [(x["cause"], x["points"]) for x in entries] == [
        ("adjust", 500),
        ("redeem", -100),
        ("earn", paid["points_earned"]),
        ("refund", -paid["points_earned"]),
        ("refund", 100),
        ("campaign", 10),  # the released spin's 10 points
    ]
    played = by_type["game.played"]
    assert (played["status"], played["prize"], played["rand"]) == ("flagged", "p10", 3)
    assert by_type["game.released"]["paid"] is True
    # The day the hub counted the friend under (its per-inviter limit), for HQ's chain count.
    assert by_type["member.invited"]["day"] == time.strftime("%Y-%m-%d", time.localtime(AT + 992))
    assert (
        by_type["call.answered"] | {"reason": "water", "response_s": 15.0, "urgent": False}
        == (by_type["call.answered"])
    )


def _post(cloud: CloudHandle, token: str, events: list[dict[str, Any]]) -> Any:
    return cloud.client(token).post(INGEST, json={"store": "S1", "events": events})


def test_the_cloud_refuses_unknown_types_and_versions_naming_the_event(
    cloud: CloudHandle,
) -> None:
    token = cloud.register("S1")
    good = [e.model_dump(mode="json") for e in SAMPLES.values()]
    newer = {**good[1], "v": 2}
    r = _post(cloud, token, [good[0], newer, *good[2:]])
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["index"] == 1
    assert detail["message"] == (
        f'event 1 (id "{newer["id"]}") is invalid (v: schema version 2 is not known here'
        " (known: 1): update HQ before the hubs); nothing was stored"
    )
    assert detail["errors"][0]["type"] == "unknown_version"
    r = _post(cloud, token, [*good[:3], {**good[3], "type": "order.cancelled"}])
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["index"] == 3
    assert detail["message"].startswith(
        f"event 3 (id \"{good[3]['id']}\") is invalid (type: Input should be 'call.opened'"
    )
    assert cloud.admin.get("/api/v1/stores/S1/events").json() == []
    # The same events, all known: stored.
    r = _post(cloud, token, good)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["stored"]) == sorted(e["id"] for e in good)


def test_the_cloud_takes_events_written_before_versions(
    cloud: CloudHandle, caplog: pytest.LogCaptureFixture
) -> None:
    """Events an older hub sends, or an updated hub's outbox still holds, have no `v`: read as
    version 1, stored, and counted in the reports."""
    token = cloud.register("S1")
    legacy = {k: v for k, v in SAMPLES["order.placed"].model_dump(mode="json").items() if k != "v"}
    current = SAMPLES["order.line_voided"].model_dump(mode="json")
    r = _post(cloud, token, [legacy, current])
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == [legacy["id"], current["id"]]
    stored = {e["id"]: e for e in cloud.admin.get("/api/v1/stores/S1/events").json()}
    assert stored[legacy["id"]]["data"] == legacy["data"]
    [day] = cloud.hq().get("/api/v1/hq/sales").json()
    assert (day["orders"], day["items"], day["revenue_fen"]) == (1, 0, 0)  # 3 teas, all voided

    # Data that does not match the contract is stored as sent (as it always was), left out
    # of the reports, and named in the cloud's log.
    off = {**SAMPLES["call.opened"].model_dump(mode="json"), "data": {"call": 7}}
    with caplog.at_level(logging.WARNING, logger="cloud.api.ingest"):
        r = _post(cloud, token, [off])
    assert r.status_code == 200 and r.json()["stored"] == [off["id"]], r.text
    assert f"call.opened '{off['id']}' (v1): data.call: Input should be a valid string" in (
        caplog.text
    )


def test_a_legacy_outbox_row_drains_into_the_cloud(cloud: CloudHandle, tmp_path: Path) -> None:
    """A hub updated with events in its outbox: the table gains `v` in place, the old row
    (no version) and a new one (v 1) both reach HQ."""
    token = cloud.register("S1")
    path = tmp_path / "hub.db"
    engine = make_engine(path)
    init_db(engine)
    engine.dispose()
    legacy = {k: v for k, v in SAMPLES["call.opened"].model_dump(mode="json").items() if k != "v"}
    with sqlite3.connect(path) as db:  # the database as the previous version left it
        db.execute("ALTER TABLE outbox DROP COLUMN v")
        db.execute("DROP TABLE alembic_version")  # it had no migrations yet
        db.execute(
            "INSERT INTO outbox (event_id, type, occurred_at, data) VALUES (?, ?, ?, ?)",
            (legacy["id"], legacy["type"], legacy["occurred_at"], json.dumps(legacy["data"])),
        )
    db.close()
    engine = make_engine(path, for_writes=True)
    sender: CloudSender | None = None
    try:
        sessions = init_db(engine)  # the updated hub starts
        with sessions.begin() as session:
            outbox.enqueue(session, [SAMPLES["call.answered"]])
        with sessions() as session:
            rows = list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.pk)))
            assert [(r.event_id, r.v) for r in rows] == [(legacy["id"], None), (f"ca-{UID}", 1)]
            assert "v" not in outbox.as_sent(rows[0])
        sender = CloudSender(sessions, "S1", cloud.base_url, token, batch_size=10)
        sender.start()

        def drained() -> bool:
            with sessions() as session:
                return outbox.backlog(session)[0] == 0

        wait_until(drained, timeout=30, what="the outbox to drain")
    finally:
        if sender is not None:
            sender.stop()
        engine.dispose()
    events = cloud.admin.get("/api/v1/stores/S1/events").json()
    assert sorted(e["id"] for e in events) == sorted([legacy["id"], f"ca-{UID}"])
    assert {e["id"]: e["data"] for e in events}[legacy["id"]] == legacy["data"]
