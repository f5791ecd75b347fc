"""The games at the hub on a scratch database: the draw, replays, one play per paid bill,
stock, budget and pacing, the quiz's one answer, the scan-QR gift once per member, the
stamp card, farming flags and their release, signed receipts."""

import re
import sqlite3
import time
from collections import Counter
from contextlib import closing
from dataclasses import replace

import pytest
from sqlalchemy import event, select

from contract.campaigns import (
    Budget,
    CampaignsConfig,
    Prize,
    PrizeKind,
    pacing_cap_fen,
)
from contract.members import phone_hash
from contract.menu import MenuFile, StoreConfig
from edge.core.domain import HubContext
from edge.games import service
from edge.games.domain import GamesDomain
from edge.games.models import GamePlay
from edge.games.service import Player
from edge.members import ledger
from edge.members import service as members
from edge.members.domain import MembersDomain
from edge.members.models import Coupon, Member, PointsEntry
from edge.menu.domain import MenuDomain
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.service import Origin
from edge.printing.domain import PrintingDomain
from edge.printing.models import PrintJob
from edge.printing.spooler import build_ticket
from edge.printing.tickets import render
from edge.tables import service as tables
from edge.tables.domain import TablesDomain
from tests.fast.edge.orders.placing import line
from tests.fast.helpers import STAFF, build, outbox
from tests.games import all_campaigns, members_config, quiz, wheel

KEY = b"k" * 32


def _hub(hub: HubContext, menu: MenuFile, campaigns: CampaignsConfig) -> GamesDomain:
    build(hub, MenuDomain, TablesDomain, PrintingDomain, MembersDomain, GamesDomain)
    config = StoreConfig(menu=menu, members=members_config(), campaigns=campaigns)
    hub.get(MenuDomain).apply_config(1, config)
    return hub.get(GamesDomain)


@pytest.fixture
def games(hub_ctx: HubContext, menu: MenuFile) -> GamesDomain:
    return _hub(hub_ctx, menu, all_campaigns(stamps=2))


def _join(games: GamesDomain, phone: str, joined_at: float | None = None) -> str:
    with games.hub.sessions.begin() as s:
        m = members.join(
            s, members_config(), phone, phone_hash(KEY, phone), None, joined_at or time.time()
        )
        return m.id


def _pay(games: GamesDomain, table: str, member_id: str | None, new_party: bool = True) -> Player:
    """A party at `table` orders a tea and pays (as a member, or not): the player it makes."""
    now = time.time()
    with games.hub.sessions.begin() as s:
        if new_party:
            row = tables.get(s, table)
            row.is_open, row.opened_at = True, now
        s.flush()
        opened = tables.get(s, table).opened_at
    with games.hub.sessions.begin() as s:
        orders.place_order(
            s,
            games.menu.menu.menu,
            frozenset(),
            games.printing.routes,
            Origin(orders.SOURCE_TABLE, table, table),
            f"key-{table}-{now:.6f}".replace(".", "_"),
            [line("tea", temp="hot")],
            "",
            now,
        )
    with games.hub.sessions.begin() as s:
        bill = orders.party_bill(s, table)
        payment = orders.record_payment(s, bill, "cash", STAFF, now)
        payment.member_id = member_id
    return Player(table, table, opened, "sess-" + table * 8, member_id)


def _player(table: str, member_id: str | None) -> Player:
    return Player(table, table, 0.0, "sess-none-000000", member_id)


def _code(call: object) -> str:
    with pytest.raises(OrderError) as caught:
        call()  # type: ignore[operator]
    assert " / " in caught.value.message  # Chinese / English
    return caught.value.code


# --- the draw --------------------------------------------------------------------------------


def test_each_prize_owns_a_run_of_random_values_as_long_as_its_weight() -> None:
    prizes = [
        Prize(id="a", name_zh="甲", name_en="A", kind=PrizeKind.NONE, weight=3),
        Prize(id="b", name_zh="乙", name_en="B", kind=PrizeKind.NONE, weight=0),
        Prize(id="c", name_zh="丙", name_en="C", kind=PrizeKind.NONE, weight=2),
    ]
    assert [service.pick(prizes, r).id for r in range(5)] == ["a", "a", "a", "c", "c"]
    with pytest.raises(ValueError):
        service.pick(prizes, 5)
    drawn = Counter(service.draw(prizes)[0].id for _ in range(2000))
    assert set(drawn) == {"a", "c"} and 1000 < drawn["a"] < 1400


def test_pacing_lets_each_hour_spend_its_share_and_what_earlier_hours_left() -> None:
    assert pacing_cap_fen(10_000, 100, 0.5, 10) == 1_000  # the first of ten hours: a tenth
    assert pacing_cap_fen(10_000, 150, 0.5, 10) == 1_500
    assert pacing_cap_fen(10_000, 100, 4.2, 10) == 5_000  # by the fifth hour, half
    assert pacing_cap_fen(10_000, 150, 9.9, 10) == 10_000  # never more than the day


# --- the wheel -------------------------------------------------------------------------------


def test_a_spin_needs_a_paid_bill_is_recorded_signed_and_replayed_not_redrawn(
    games: GamesDomain,
) -> None:
    member = _join(games, "13800138001")
    assert _code(lambda: games.play("wheel", "play-000000000000001", _player("A1", member))) == (
        "pay_first"
    )
    player = _pay(games, "A1", member)
    first = games.play("wheel", "play-000000000000001", player).public
    assert first["status"] == "paid" and first["receipt"].startswith("SSG1.play-0000")
    again = games.play("wheel", "play-000000000000001", player)
    assert again.public == first and not again.fresh
    # The same bill from another phone, another play id: refused, nothing changed.
    other = Player("A1", "A1", player.party_opened_at, "sess-other-phone00", None)
    assert _code(lambda: games.play("wheel", "play-000000000000002", other)) in (
        "bill_played",
        "play_limit",
    )
    with games.hub.reads() as s:
        [row] = s.scalars(select(GamePlay)).all()
        assert 0 <= row.rand < row.total == 100
        played = [f for f in outbox(s) if f.type == "game.played"]
        assert [f.id for f in played] == ["gp-play-000000000000001"]
        assert played[0].data["rand"] == row.rand
    # The receipt checks; a doctored one does not.
    assert games.verify(first["receipt"])["valid"] is True
    claimed = "none" if first["prize"]["id"] != "none" else "p10"  # another prize, claimed
    forged = first["receipt"].replace(f".{first['prize']['id']}.", f".{claimed}.")
    assert games.verify(forged)["valid"] is False
    # The play id cannot be reused at another table.
    assert _code(
        lambda: games.play("wheel", "play-000000000000001", _pay(games, "A2", member))
    ) == ("play_mismatch")


def test_stock_and_budget_are_never_exceeded_and_the_draw_falls_back(
    hub_ctx: HubContext, menu: MenuFile
) -> None:
    prizes = [
        Prize(
            id="p50",
            name_zh="50积分",
            name_en="50 points",
            kind=PrizeKind.POINTS,
            weight=1,
            points=50,
            stock=2,
            fallback="p10",
        ),
        Prize(
            id="p10",
            name_zh="10积分",
            name_en="10 points",
            kind=PrizeKind.POINTS,
            weight=0,
            points=10,
        ),
        Prize(id="none", name_zh="谢谢参与", name_en="Thanks", kind=PrizeKind.NONE, weight=0),
    ]
    budget = Budget(per_store_day_fen=120, pacing_pct=10_000)  # 120 fen: 2 x 50 + 2 x 10
    games = _hub(hub_ctx, menu, CampaignsConfig(campaigns=[wheel(prizes=prizes, budget=budget)]))
    got = []
    for i in range(6):
        member = _join(games, f"1380013800{i}")
        player = _pay(games, f"A{i % 4 + 1}", member)
        got.append(games.play("wheel", f"play-stock-00000000{i}", player).public["prize"]["id"])
    # Two 50s (the stock), then 10s until the day's 120 fen are gone, then thanks.
    assert got == ["p50", "p50", "p10", "p10", "none", "none"]
    with games.hub.reads() as s:
        assert service.spent_fen(s, "wheel", service.local_day(time.time())) == 120
        entries = s.scalars(select(PointsEntry).where(PointsEntry.cause == "campaign")).all()
        assert sorted(e.points for e in entries) == [10, 10, 50, 50]
        assert all(e.id.startswith("g-play-stock-") for e in entries)


def test_a_free_dish_prints_at_its_station_marked_prize(
    hub_ctx: HubContext, menu: MenuFile
) -> None:
    prizes = [
        Prize(
            id="tea",
            name_zh="免费柠檬茶",
            name_en="Free tea",
            kind=PrizeKind.DISH,
            weight=1,
            dish="tea",
        ),
        Prize(id="none", name_zh="谢谢参与", name_en="Thanks", kind=PrizeKind.NONE, weight=0),
    ]
    games = _hub(hub_ctx, menu, CampaignsConfig(campaigns=[wheel(prizes=prizes)]))
    result = games.play(
        "wheel", "play-dish-000000001", _pay(games, "A3", _join(games, "13900139000"))
    )
    assert result.public["where_en"].startswith("free dish")
    assert result.printer == games.printing.routes.printer_for("bar")
    with games.hub.reads() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.kind == "prize")).one()
        text = render(build_ticket(s, menu, job, "Store")).decode("gb18030", "replace")
    assert "奖品 PRIZE" in text and "免费" not in text.split("奖品 PRIZE")[0][-3:]
    assert "柠檬茶" in text or "tea" in text.lower()


# --- the quiz ------------------------------------------------------------------------------


def test_the_quiz_never_sends_its_answer_and_takes_one_answer(games: GamesDomain) -> None:
    member = _join(games, "13700137000")
    player = _pay(games, "A1", member)
    asked = games.play("quiz", "play-quiz-000000001", player).public
    question = asked["question"]
    assert len(question["choices"]) == 4 and asked["status"] == "asked"
    assert "dish" not in question and "answer" not in asked
    assert question["photo"] in (None, "/api/games/plays/play-quiz-000000001/photo")
    with games.hub.reads() as s:
        right = s.get(GamePlay, "play-quiz-000000001").question["dish"]  # type: ignore[union-attr,index]
    wrong = next(c["id"] for c in question["choices"] if c["id"] != right)
    assert _code(lambda: games.answer("quiz", "play-quiz-000000002", right, player)) == "not_asked"
    answered = games.answer("quiz", "play-quiz-000000001", wrong, player).public
    assert answered["status"] == "wrong" and answered["answer"] == right
    # One answer per play: the right one after a wrong one changes nothing.
    assert _code(lambda: games.answer("quiz", "play-quiz-000000001", right, player)) == "not_asked"
    # The next paid bill, answered right: 20 points.
    player = _pay(games, "A2", member)
    asked = games.play("quiz", "play-quiz-000000003", player).public
    with games.hub.reads() as s:
        right = s.get(GamePlay, "play-quiz-000000003").question["dish"]  # type: ignore[union-attr,index]
    won = games.answer("quiz", "play-quiz-000000003", right, player).public
    assert won["right"] is True and won["prize"]["id"] == "p20"


# --- scan-QR ---------------------------------------------------------------------------------


def test_scan_gives_a_new_member_the_welcome_coupon_and_a_returning_one_points_once(
    games: GamesDomain,
) -> None:
    new = _join(games, "13600136000")
    old = _join(games, "13600136001", joined_at=time.mktime((2019, 6, 1, 12, 0, 0, 0, 0, -1)))
    got = games.scan("scan", "play-scan-000000001", _player("A1", new)).public
    assert got["new_member"] is True and got["prize"]["kind"] == "coupon"
    got = games.scan("scan", "play-scan-000000002", _player("A2", old)).public
    assert got["new_member"] is False and got["prize"]["kind"] == "points"
    assert _code(lambda: games.scan("scan", "play-scan-000000003", _player("A2", old))) == (
        "already_claimed"
    )
    assert _code(lambda: games.scan("scan", "play-scan-000000004", _player("A2", None))) == (
        "member_required"
    )
    with games.hub.reads() as s:
        welcome = s.scalars(select(Coupon).where(Coupon.member_id == new)).all()
        assert len(welcome) == 1  # joining gave it; the campaign never gives a second
        assert ledger.balance(s, s.get(Member, old)) == 10  # type: ignore[arg-type]


# --- the stamp card ------------------------------------------------------------------------


def test_stamps_come_from_paid_bills_once_per_table_and_a_full_card_pays(
    games: GamesDomain,
) -> None:
    member = _join(games, "13500135000")
    assert _code(lambda: games.stamp("stamps", "play-stmp-000000001", _player("A1", member))) == (
        "pay_first"
    )
    card = games.stamp("stamps", "play-stmp-000000001", _pay(games, "A1", member)).public
    assert card["stamps"] == ["S001:A1"] and not card["full"]
    # A1 again, another paid bill: the table stamped this card already.
    assert (
        _code(lambda: games.stamp("stamps", "play-stmp-000000002", _pay(games, "A1", member)))
        == "table_stamped"
    )
    full = games.stamp("stamps", "play-stmp-000000003", _pay(games, "A2", member)).public
    assert full["full"] and full["card"] == 2 and full["stamps"] == []
    with games.hub.reads() as s:
        [reward] = s.scalars(select(Coupon).where(Coupon.source == "game:stamps")).all()
        assert reward.terms["template"] == "stamp50"


# --- farming ---------------------------------------------------------------------------------


def test_many_new_members_at_one_table_are_flagged_and_pay_only_when_released(
    hub_ctx: HubContext, menu: MenuFile
) -> None:
    prizes = [
        Prize(
            id="p10",
            name_zh="10积分",
            name_en="10 points",
            kind=PrizeKind.POINTS,
            weight=1,
            points=10,
        ),
        Prize(id="none", name_zh="谢谢参与", name_en="Thanks", kind=PrizeKind.NONE, weight=0),
    ]
    games = _hub(hub_ctx, menu, CampaignsConfig(campaigns=[wheel(prizes=prizes)]))
    results = []
    for i in range(3):
        member = _join(games, f"1330013300{i}")
        results.append(games.play("wheel", f"play-farm-00000000{i}", _pay(games, "B1", member)))
    assert [r.public["status"] for r in results] == ["paid", "paid", "flagged"]
    flagged = results[2].public
    assert flagged["where_en"] == "your prize waits for a staff check"
    view = games.staff_view()
    [held] = view["flagged"]
    assert "3 new members" in held["flag"]
    with games.hub.reads() as s:
        assert s.scalars(select(PointsEntry)).all().__len__() == 2  # nothing paid for it yet
    games.decide(flagged["play"], True, STAFF)
    assert _code(lambda: games.decide(flagged["play"], True, STAFF)) == "not_flagged"
    with games.hub.reads() as s:
        assert len(s.scalars(select(PointsEntry)).all()) == 3
        types = [f.type for f in outbox(s)]
        assert types.count("game.released") == 1


def test_new_members_who_take_coupons_and_never_pay_are_flagged_on_their_phone(
    games: GamesDomain,
) -> None:
    """One person joining with new phone numbers on one phone for the welcome coupon and the
    scan-QR gift, never paying: the second such member's gift waits for staff. A member
    who joined there and then paid a bill is a diner, not a farm."""

    def scan(member: str, phone: str, n: int) -> dict[str, object]:
        table = "A1" if phone == farm else "B1"  # apart: 3 new members at a table is a flag too
        player = Player(table, table, 0.0, phone, member)
        return games.scan("scan", f"play-unpaid-0000000{n}", player).public

    farm, diner = "sess-farm-000000000", "sess-diner-00000000"
    first = scan(_join(games, "13200132000"), farm, 1)
    assert first["status"] != "flagged"
    second = scan(_join(games, "13200132001"), farm, 2)
    assert second["status"] == "flagged"
    [held] = games.staff_view()["flagged"]
    assert held["flag"].startswith("一部手机上2位新会员领券后从未消费 / ")
    assert held["flag"].endswith("2 new members on one phone took coupons and never paid a bill")
    with games.hub.reads() as s:  # the flagged gift gave nothing yet
        assert not s.scalars(select(Coupon).where(Coupon.source == "game:scan")).all()

    paying = _join(games, "13200132002")
    assert scan(paying, diner, 3)["status"] != "flagged"
    _pay(games, "A2", paying)
    assert scan(_join(games, "13200132003"), diner, 4)["status"] != "flagged"


def test_a_paused_campaign_plays_nothing(games: GamesDomain) -> None:
    games.pause("wheel", True, STAFF)
    member = _join(games, "13200132000")
    player = _pay(games, "A1", member)
    assert _code(lambda: games.play("wheel", "play-paus-000000001", player)) == "campaign_paused"
    games.pause("wheel", False, STAFF)
    assert games.play("wheel", "play-paus-000000001", player).public["status"] == "paid"


def test_a_campaign_config_naming_what_does_not_exist_is_refused(menu: MenuFile) -> None:
    with pytest.raises(ValueError, match="no coupon template"):
        StoreConfig(menu=menu, campaigns=CampaignsConfig(campaigns=[wheel()]))
    with pytest.raises(ValueError, match="thanks for playing"):
        quiz(
            prizes=[
                Prize(id="x", name_zh="x", name_en="x", kind=PrizeKind.POINTS, weight=1, points=1)
            ]
        )


def test_a_spin_reads_by_index_whatever_the_store_and_campaign_have_behind_them(
    games: GamesDomain,
) -> None:
    """Every statement a spin runs finds its rows by an index: one that scanned the store's
    payments or the campaign's plays would cost more each day the store runs (a year of
    bills, a month-long campaign), in the transaction every other spin waits for."""
    player = _pay(games, "A1", _join(games, "13800138001"))
    engine = games.hub.sessions.kw["bind"]
    statements: list[str] = []

    def trace(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.set_trace_callback(statements.append)

    engine.dispose()  # new connections, each traced: the SQL as SQLite runs it, values in
    event.listen(engine, "connect", trace)
    try:
        assert games.play("wheel", "play-000000000000001", player).public["status"] == "paid"
        # A party that paid without a member, the phone's new member playing: the check for
        # new members who never paid runs too.
        unpaid = replace(_pay(games, "A2", None), member_id=_join(games, "13800138002"))
        assert games.play("wheel", "play-000000000000002", unpaid).public["status"] == "paid"
    finally:
        event.remove(engine, "connect", trace)
        engine.dispose()
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) >= 5  # the bill, the limits, the stock and budget, farming: all traced
    scans = []
    with closing(sqlite3.connect(games.hub.settings.db_path)) as db:
        for sql in reads:
            for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"):
                if re.match(r"SCAN (?!CONSTANT ROW)", row[-1]):
                    scans.append((row[-1], sql))
    assert scans == []
