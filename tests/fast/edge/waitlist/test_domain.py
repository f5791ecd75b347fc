"""The waitlist domain (edge/waitlist/domain.py) with recording stand-ins for the broker and
the live feeds: a kiosk's number request answered on its ack topic, the board the screens
read, the phones and the staff told when the line moved, forged tokens refused."""

import json
import time

import pytest
from pydantic import SecretStr

from contract.const import DeviceType
from contract.inventory import DeviceSpec
from contract.menu import MenuFile, StoreConfig
from contract.waitlist import WaitlistConfig
from edge.config import Settings
from edge.core.domain import HubContext
from edge.members.domain import MembersDomain
from edge.menu.domain import MenuDomain
from edge.orders.errors import OrderError
from edge.tables.domain import TablesDomain
from edge.uplink.domain import UplinkDomain
from edge.waitlist.domain import LIVE_KEY, WaitlistDomain, is_queue_take, parse_kiosk_take
from tests.fast.fakes import RecordingLive, RecordingMqtt
from tests.fast.helpers import build

KIOSK = DeviceSpec(id="kiosk-01", type=DeviceType.KIOSK)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The fast tier's settings with the chain's member key: members are on."""
    return settings.model_copy(update={"member_key": SecretStr("m" * 40)})


def _domain(hub_ctx: HubContext) -> WaitlistDomain:
    build(hub_ctx, UplinkDomain, MenuDomain, TablesDomain, MembersDomain, WaitlistDomain)
    return hub_ctx.get(WaitlistDomain)


def _take(party: int, event_id: str = "kiosk-01-take-0001") -> bytes:
    return json.dumps({"v": 1, "id": event_id, "type": "queue_take", "party": party}).encode()


def test_a_kiosk_request_is_answered_with_its_number_once(
    hub_ctx: HubContext, mqtt: RecordingMqtt
) -> None:
    domain = _domain(hub_ctx)
    assert is_queue_take(_take(2)) and not is_queue_take(b'{"type":"order"}')
    item = parse_kiosk_take(KIOSK, _take(2), time.time())
    domain.answer_kiosk(item)
    domain.answer_kiosk(item)  # the kiosk resent it: the same number
    domain.answer_kiosk(parse_kiosk_take(KIOSK, _take(0, "kiosk-01-take-0002"), time.time()))
    acks = mqtt.acks()
    assert [a[0] for a in acks] == ["kiosk-01"] * 3
    first, second, bad = (a[1] for a in acks)
    assert first["status"] == "ok" and first["data"]["number"] == "A001"
    assert second["data"] == first["data"]
    assert bad["status"] == "rejected" and bad["error"] == "bad_party_size"
    token = first["data"]["token"]
    with hub_ctx.reads() as s:
        assert domain.party_of_token(s, token).number == "A001"
        with pytest.raises(OrderError, match="not valid"):
            domain.party_of_token(s, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_every_change_reaches_the_screens_the_phones_and_the_staff(
    hub_ctx: HubContext, mqtt: RecordingMqtt, board: RecordingLive
) -> None:
    domain = _domain(hub_ctx)
    domain.take("phone:tap-0001-aaaa", 3, "phone", time.time())
    retained = [p for p in mqtt.published if p.topic == "store/S001/hub/waitlist"]
    assert retained and all(p.retain and p.qos == 1 for p in retained)
    doc = retained[-1].json()
    group_b = next(g for g in doc["groups"] if g["group"] == "B")
    assert (
        group_b["waiting"] == 1 and "calling" not in group_b
    )  # absent: nobody called (encode drops nulls)
    assert group_b["est_low_min"] <= group_b["est_high_min"]
    assert board.of_type("waitlist") == [{"type": "waitlist"}]
    diners = hub_ctx.diners
    assert isinstance(diners, RecordingLive)
    assert diners.keyed == [({"type": "waitlist"}, LIVE_KEY)]


def test_a_member_of_a_priority_level_goes_first(hub_ctx: HubContext, menu: MenuFile) -> None:
    domain = _domain(hub_ctx)
    # HQ made every member a priority member for this test (levels: normal, silver, gold).
    hub_ctx.get(MenuDomain).config = StoreConfig(
        menu=menu, waitlist=WaitlistConfig(priority_levels=["normal"])
    )
    members = hub_ctx.get(MembersDomain)
    member = members.join("13800138000", None, time.time())
    now = time.time()
    plain, _ = domain.take("phone:tap-plain-0001", 2, "phone", now)
    gold, _ = domain.take("phone:tap-member-01", 2, "phone", now + 1, member.id)
    assert gold["priority"] and not plain["priority"]
    again, _ = domain.take("phone:tap-plain-0001", 2, "phone", now)
    assert (gold["ahead"], again["ahead"]) == (0, 1)  # the member went before the other


def test_a_booking_hq_passes_down_is_decided_here_once_per_request(hub_ctx: HubContext) -> None:
    domain = _domain(hub_ctx)
    day = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
    body = {"day": day, "slot": "19:00", "size": 2, "name": "王", "phone": "13800138000"}
    status, booking = domain.book_for_hq("r" * 32, body)
    assert status == 201 and booking["phone"] == "138****8000" and booking["slot"] == "19:00"
    again = domain.book_for_hq("r" * 32, body)  # handed again after a restart: the same one
    assert again == (200, booking)
    assert domain.book_for_hq("s" * 32, body)[0] == 201
    full = domain.book_for_hq("t" * 32, body)  # group A: 2 a slot
    assert full[0] == 409 and full[1]["detail"]["code"] == "slot_full"
    bad = domain.book_for_hq("u" * 32, {**body, "size": "many"})
    assert bad[0] == 422 and " / " in bad[1]["detail"]["message"]
