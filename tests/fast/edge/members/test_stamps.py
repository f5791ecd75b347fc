"""Stamp cards across the chain (contract.campaigns.stamp_cards, edge/members/stamps.py) and
invite codes: the rules every hub and HQ compute alike."""

import pytest
from sqlalchemy import select

from contract.campaigns import Stamp, completion_id, stamp_cards
from contract.members import StampSeen, invite_code, phone_hash, read_invite_code
from edge.members import service as members
from edge.members import stamps
from edge.members.models import Member, MemberStamp
from tests.fast.edge.members.test_service import CONFIG, KEY, PHONE
from tests.fast.helpers import NOW, StoreDb, outbox

pytestmark = pytest.mark.fast


def test_a_card_fills_with_distinct_places_in_time_order_whichever_store_counts() -> None:
    seen = [
        Stamp("b2", "S2:A1", 30.0),
        Stamp("a1", "S1:A1", 10.0),
        Stamp("a2", "S1:A1", 15.0),  # the same table again (two offline views): not counted
        Stamp("b1", "S2:A2", 20.0),
        Stamp("a3", "S1:A2", 40.0),
        Stamp("b3", "S2:B1", 50.0),
    ]
    cards = stamp_cards(seen, 4)
    # a1, b1, b2, a3 are four places: a3 filled card 1; b3 opens card 2.
    assert cards.completed == ((1, "a3"),) and (cards.card, cards.places) == (2, ("S2:B1",))
    assert stamp_cards(reversed(seen), 4) == cards  # the order they arrive in is no matter
    assert stamp_cards([], 4).card == 1
    assert completion_id(1, "a3") == "1.a3"


def test_the_hub_counts_hqs_stamps_from_elsewhere_and_its_own(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        m = members.join(s, CONFIG, PHONE, phone_hash(KEY, PHONE), None, NOW)
        stamps.add_stamp(s, "play-here-0000001", m.id, "stamps", "S1:A1", 1, NOW)
        member_id = m.id
    with db.reads() as s:
        [fact] = [f for f in outbox(s) if f.type == "member.stamp"]
        assert fact.id == "st-play-here-0000001" and fact.data["place"] == "S1:A1"
    elsewhere = [
        StampSeen(stamp="play-there-000001", campaign="stamps", place="S2:A1", at=NOW - 60),
        StampSeen(stamp="play-there-000002", campaign="stamps", place="S2:A2", at=NOW - 30),
    ]
    with db.sessions.begin() as s:
        stamps.apply_lookup(s, s.get(Member, member_id), elsewhere)  # type: ignore[arg-type]
    with db.reads() as s:
        cards = stamps.cards(s, member_id, "stamps", 5)
        assert cards.places == ("S2:A1", "S2:A2", "S1:A1")
    # HQ's next answer replaces its last one; this hub's own stamp stays, never doubled.
    again = [
        elsewhere[0],
        StampSeen(stamp="play-here-0000001", campaign="stamps", place="S1:A1", at=NOW),
    ]
    with db.sessions.begin() as s:
        stamps.apply_lookup(s, s.get(Member, member_id), again)  # type: ignore[arg-type]
    with db.reads() as s:
        assert stamps.cards(s, member_id, "stamps", 5).places == ("S2:A1", "S1:A1")
        mine = s.scalars(select(MemberStamp.id).where(MemberStamp.mine.is_(True))).all()
        assert mine == ["play-here-0000001"]


def test_an_invite_code_names_its_member_and_cannot_be_forged() -> None:
    key, other = b"k" * 32, b"o" * 32
    code = invite_code(key, "mabcdefghijklmnop")
    assert read_invite_code(key, code) == "mabcdefghijklmnop"
    assert read_invite_code(key, code.lower()) == "mabcdefghijklmnop"  # typed in lower case
    assert read_invite_code(other, code) is None  # another chain's key
    forged = code.replace("MABCDEFGHIJKLMNOP", "MABCDEFGHIJKLMNOQ")
    assert read_invite_code(key, forged) is None
    for junk in ("", "SSI1", "SSI1--", "SSI1-²-X", code + "-1"):
        assert read_invite_code(key, junk) is None


def test_a_stamps_id_is_its_bills_whatever_the_phone_sends() -> None:
    """Made from store, bill and campaign: the same bill names the same stamp at every ask;
    another store's bill with the same uid, or another campaign, is another stamp."""
    one = stamps.stamp_id("S1", "b" * 32, "stamps")
    assert one == stamps.stamp_id("S1", "b" * 32, "stamps") and one.startswith("sb-")
    others = {
        stamps.stamp_id("S2", "b" * 32, "stamps"),
        stamps.stamp_id("S1", "c" * 32, "stamps"),
        stamps.stamp_id("S1", "b" * 32, "stamps2"),
    }
    assert one not in others and len(others) == 3
    assert all(StampSeen(stamp=s, campaign="stamps", place="S1:A1", at=NOW) for s in others)
    assert len(f"st-{one}") <= 64  # the event's id (contract/const.py EVENT_ID_PATTERN)
