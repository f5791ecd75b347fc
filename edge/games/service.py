"""Games at the hub: checking a play may happen, drawing, recording, paying out. Functions
take an open Session; the caller commits (docs/games.md).

A draw is made and recorded in one write transaction (the hub's write sessions take SQLite's
write lock when they begin): stock, budget and pacing are read and the play written with
nothing in between, so no burst can spend past them. The random value comes from `secrets`;
the recorded result is signed before the phone sees it.
"""

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from contract.campaigns import (
    Campaign,
    CampaignKind,
    Prize,
    PrizeKind,
    pacing_cap_fen,
    receipt,
    result_message,
    sign_result,
)
from contract.members import CouponKind, CouponTemplate, EntryCause, MembersConfig
from contract.menu import MenuFile
from contract.uplink import GamePlayed, GamePlayedEvent, GameReleased, GameReleasedEvent
from edge.db import insert_row
from edge.games import const, reads
from edge.games import errors as game_errors
from edge.games.models import (
    ASKED,
    FLAGGED,
    PAID,
    REFUSED,
    RELEASED,
    RESERVED,
    WRONG,
    GamePlay,
)
from edge.games.reads import Bill, MemberRow
from edge.members import coupons as member_coupons
from edge.members import ledger
from edge.members import stamps as member_stamps
from edge.members.models import Coupon, Member
from edge.orders.errors import OrderError
from edge.printing import service as printing
from edge.printing.service import Routes
from edge.uplink import service as outbox

_RNG = secrets.SystemRandom()  # the quiz's choices: the OS's source, like the draw
# What a campaign without a "thanks for playing" prize gives when its prize is out.
NOTHING = Prize(
    id="none", name_zh="谢谢参与", name_en="Thanks for playing", kind=PrizeKind.NONE, weight=0
)


@dataclass(frozen=True, slots=True)
class Rules:
    """What a play is judged and paid by: HQ's config as the hub runs it now."""

    store: str
    members: MembersConfig
    menu: MenuFile
    routes: Routes
    key: bytes  # signs results


@dataclass(frozen=True, slots=True)
class Player:
    """Who asks, from where."""

    table_id: str
    table_name: str
    party_opened_at: float
    session: str  # the phone's games cookie
    member_id: str | None  # signed in on this phone


# --- time --------------------------------------------------------------------------------


def local_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(now))


def _hhmm(now: float) -> str:
    return time.strftime("%H:%M", time.localtime(now))


def running(campaign: Campaign, store: str, now: float) -> bool:
    day = local_day(now)
    return (
        campaign.for_store(store)
        and campaign.starts <= day <= campaign.ends
        and campaign.hours_from <= _hhmm(now) < campaign.hours_to
    )


def is_paused(session: Session, campaign_id: str) -> bool:
    return reads.paused(session, campaign_id)


def check_running(session: Session, campaign: Campaign, store: str, now: float) -> None:
    if not running(campaign, store, now):
        raise game_errors.not_running()
    if is_paused(session, campaign.id):
        raise game_errors.paused()


def elapsed_hours(campaign: Campaign, now: float) -> float:
    local = time.localtime(now)
    h, m = campaign.hours_from.split(":")
    return max((local.tm_hour * 60 + local.tm_min - int(h) * 60 - int(m)) / 60, 0.0)


# --- the draw (pure) -----------------------------------------------------------------------


def pick(prizes: Sequence[Prize], rand: int) -> Prize:
    """The prize `rand` (0 <= rand < total weight) lands on: each prize owns a run of values
    as long as its weight, in the configured order."""
    for prize in prizes:
        if rand < prize.weight:
            return prize
        rand -= prize.weight
    raise ValueError("rand is not below the total weight")


def total_weight(prizes: Sequence[Prize]) -> int:
    return sum(p.weight for p in prizes)


def draw(prizes: Sequence[Prize]) -> tuple[Prize, int, int]:
    """(prize, random value, total weight), from the OS's cryptographic source."""
    total = total_weight(prizes)
    rand = secrets.randbelow(total)
    return pick(prizes, rand), rand, total


def prize_cost(prize: Prize, members: MembersConfig, menu: MenuFile) -> int:
    """What a prize costs the store (fen): configured, or points at their value, a coupon's
    amount (a percentage coupon at its cap), a dish at its menu price."""
    if prize.cost_fen is not None:
        return prize.cost_fen
    if prize.kind is PrizeKind.POINTS:
        return prize.points * members.point_value_fen
    if prize.kind is PrizeKind.COUPON:
        template = members.coupon(prize.coupon or "")
        if template is None:
            return 0
        if template.kind is CouponKind.AMOUNT_OFF:
            return template.value_fen
        if template.kind is CouponKind.PERCENT_OFF:
            return template.cap_fen or 0
        dish = menu.dish(template.dish or "")
        return dish.price_fen if dish is not None else 0
    if prize.kind is PrizeKind.DISH:
        dish = menu.dish(prize.dish or "")
        return dish.price_fen if dish is not None else 0
    return 0


# --- what was given --------------------------------------------------------------------------


def _reserved(campaign_id: str) -> Any:
    return (GamePlay.campaign == campaign_id) & GamePlay.status.in_(RESERVED)


def spent_fen(session: Session, campaign_id: str, day: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(GamePlay.cost_fen), 0)).where(
            _reserved(campaign_id), GamePlay.day == day
        )
    )
    return int(total or 0)


def given(session: Session, campaign_id: str, prize_id: str, day: str | None = None) -> int:
    query = (
        select(func.count())
        .select_from(GamePlay)
        .where(_reserved(campaign_id), GamePlay.prize == prize_id)
    )
    if day is not None:
        query = query.where(GamePlay.day == day)
    return int(session.scalar(query) or 0)


def _can_give(
    session: Session,
    campaign: Campaign,
    prize: Prize,
    cost: int,
    member: MemberRow | None,
    rules: Rules,
    now: float,
) -> bool:
    if prize.kind is PrizeKind.NONE:
        return True
    day = local_day(now)
    given_all, given_today, spent = reads.tallies(session, campaign.id, prize.id, day)
    if prize.stock is not None and given_all >= prize.stock:
        return False
    if prize.daily_stock is not None and given_today >= prize.daily_stock:
        return False
    budget = campaign.budget.store_day_fen(rules.store)
    if budget and cost:
        cap = pacing_cap_fen(
            budget,
            campaign.budget.pacing_pct,
            elapsed_hours(campaign, now),
            campaign.window_hours(),
        )
        if spent + cost > min(budget, cap):
            return False
    if prize.kind is PrizeKind.COUPON:
        template = rules.members.coupon(prize.coupon or "")
        if template is None or member is None or not template.valid_at(rules.store):
            return False
        if not _may_hold(session, member, template, now):
            return False
    # A dish nobody would make (no printer serves its station) is out too.
    return prize.kind is not PrizeKind.DISH or bool(
        rules.routes.printer_for(_station(prize, rules))
    )


def _station(prize: Prize, rules: Rules) -> str:
    dish = rules.menu.dish(prize.dish or "")
    return dish.station if dish is not None else ""


def _may_hold(session: Session, member: MemberRow, template: CouponTemplate, now: float) -> bool:
    """The member may take one more of these (issue_coupon would refuse past the limit)."""
    held = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(
            Coupon.member_id == member.id,
            Coupon.redeemed_payment.is_(None),
            Coupon.valid_until > now,
            func.json_extract(Coupon.terms, "$.template") == template.id,
        )
    )
    return (held or 0) < template.per_member_limit


def settle_prize(
    session: Session,
    campaign: Campaign,
    drawn: Prize,
    member: MemberRow | None,
    rules: Rules,
    now: float,
) -> tuple[Prize, int, str | None]:
    """The prize actually given: the one drawn if it can be (stock, budget, pacing), else its
    fallback, and so on; "thanks for playing" at the end. (prize, its cost, the prize first
    drawn when it fell back)."""
    seen: set[str] = set()
    prize: Prize | None = drawn
    while prize is not None and prize.id not in seen:
        seen.add(prize.id)
        cost = prize_cost(prize, rules.members, rules.menu)
        if _can_give(session, campaign, prize, cost, member, rules, now):
            return prize, cost, None if prize.id == drawn.id else drawn.id
        prize = campaign.prize(prize.fallback) if prize.fallback else campaign.consolation()
    return campaign.consolation() or NOTHING, 0, drawn.id


# --- who may play ----------------------------------------------------------------------------


def party_payment(session: Session, table_id: str, opened_at: float, now: float) -> Bill | None:
    """The party's paid bill the hub recorded (not refunded, paid within the play window):
    the only thing that earns a play or a stamp. Nothing the phone sends can stand in for it."""
    return reads.party_bill(session, table_id, opened_at, now - const.PLAY_WINDOW_S)


def member_of(session: Session, member_id: str | None) -> MemberRow | None:
    """The member (not erased): their id and when they joined, read plainly; `full_member`
    where more is needed."""
    return reads.member(session, member_id) if member_id else None


def full_member(session: Session, member: MemberRow) -> Member:
    """The member's ORM object (a coupon or a level needs it)."""
    found = session.get(Member, member.id)
    assert found is not None  # read in the same transaction
    return found


def player_member(session: Session, payment: Bill | None, player: Player) -> MemberRow | None:
    """Who wins: the bill's member (the one who paid), else the member signed in on the phone."""
    if payment is not None and payment.member_id is not None:
        found = member_of(session, payment.member_id)
        if found is not None:
            return found
    return member_of(session, player.member_id)


def check_who(
    session: Session,
    campaign: Campaign,
    member: MemberRow | None,
    payment: Bill | None,
    rules: Rules,
    now: float,
) -> None:
    who = campaign.who
    if who.members_only and member is None:
        raise game_errors.sign_in()
    if payment is not None and (payment.gross_fen or payment.amount_fen) < who.min_bill_fen:
        raise game_errors.not_eligible(
            f"账单满{who.min_bill_fen // 100}元才能参加",
            f"Bills from {who.min_bill_fen // 100} yuan may play",
        )
    if who.min_level is not None and member is not None:
        levels = rules.members.levels
        need = next((lv for lv in levels if lv.id == who.min_level), None)
        have = rules.members.level(
            ledger.level_id(session, rules.members, full_member(session, member), now)
        )
        if need is not None and have.min_spend_fen < need.min_spend_fen:
            raise game_errors.not_eligible(
                f"{need.name_zh}及以上会员才能参加", f"For {need.name_en} members and above"
            )


def _count(session: Session, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(GamePlay).where(*where)) or 0)


def check_limits(
    session: Session,
    campaign: Campaign,
    member: MemberRow | None,
    player: Player,
    now: float,
    once: str | None = None,
) -> None:
    """Per party, per member per day, per phone per day, and (given `once`) whether this bill
    played already: one statement (edge/games/reads.py). The unique constraint on the play's
    `once` key stays the last word on a bill played twice at the same instant."""
    limits = campaign.limits
    party, by_member, by_phone, bill = reads.limit_counts(
        session,
        campaign.id,
        player.table_id,
        player.party_opened_at,
        member.id if member is not None else None,
        player.session,
        local_day(now),
        once,
    )
    if party >= limits.per_party:
        raise game_errors.limit("这桌已经玩过了", "This table's party has played already")
    if member is not None and by_member >= limits.per_member_per_day:
        raise game_errors.limit("今天的次数已用完", "You have played as often as allowed today")
    if player.session and by_phone >= limits.per_session_per_day:
        raise game_errors.limit("这部手机今天的次数已用完", "This phone has played enough today")
    if bill:
        raise _claimed(campaign)


def _claimed(campaign: Campaign) -> Exception:
    return (
        game_errors.already_member_claimed()
        if campaign.kind is CampaignKind.SCAN_QR
        else game_errors.bill_played()
    )


def farming_flag(session: Session, member: MemberRow | None, player: Player, now: float) -> str:
    """Why this play looks farmed ("" when it does not), in Chinese and English for staff:
    many new members at one table within minutes, one phone playing for several members in a
    day, or new members on one phone who took coupons and never paid a bill."""
    since = now - const.FARM_WINDOW_S
    new_here = reads.new_members_at_table(session, player.table_id, since)
    if member is not None and member.joined_at >= since:
        new_here.add(member.id)
    if len(new_here) >= const.FARM_NEW_MEMBERS_PER_TABLE:
        minutes = int(const.FARM_WINDOW_S // 60)
        return (
            f"{minutes}分钟内{len(new_here)}位新会员在{player.table_name}桌玩 / "
            f"{len(new_here)} new members played at table {player.table_name} in {minutes} min"
        )
    if player.session and member is not None:
        others = reads.members_on_phone(session, player.session, local_day(now))
        others.add(member.id)
        if len(others) > const.MEMBERS_PER_SESSION_PER_DAY:
            return (
                f"一部手机今天为{len(others)}位会员玩 / "
                f"one phone played for {len(others)} members today"
            )
    return _unpaid_newcomers(session, member, player, now)


def _unpaid_newcomers(
    session: Session, member: MemberRow | None, player: Player, now: float
) -> str:
    """Members who join, take the welcome coupon and never pay, again and again on one phone:
    this member is new and never paid here, and so were others on this phone."""
    joined_since = now - const.FARM_UNPAID_WINDOW_S
    if (
        not player.session
        or member is None
        or member.joined_at < joined_since
        or reads.member_paid(session, member.id)
    ):
        return ""
    unpaid = reads.unpaid_newcomers_on_phone(
        session, player.session, local_day(joined_since), joined_since, member.id
    )
    count = len(unpaid) + 1
    if count < const.FARM_UNPAID_MEMBERS_PER_PHONE:
        return ""
    return (
        f"一部手机上{count}位新会员领券后从未消费 / "
        f"{count} new members on one phone took coupons and never paid a bill"
    )


# --- recording and paying out ------------------------------------------------------------


def existing(session: Session, play_id: str, campaign: Campaign, table_id: str) -> GamePlay | None:
    """The play already recorded under this id (a retry: the same result, never a second
    draw); an id used for another campaign or table is refused."""
    # Nearly every play is new: a plain lookup first, the ORM's object only for a retry.
    play = session.get(GamePlay, play_id) if reads.play_known(session, play_id) else None
    if play is not None and (play.campaign != campaign.id or play.table_id != table_id):
        raise game_errors.play_mismatch()
    return play


def new_play(
    session: Session,
    play_id: str,
    campaign: Campaign,
    once: str,
    member: MemberRow | None,
    player: Player,
    payment: Bill | None,
    now: float,
    checked: bool = False,
    add: bool = True,
) -> GamePlay:
    """The play's row, claiming its `once` key: a second play of the same bill (or of the same
    member in a scan campaign) fails here, on the unique constraint, whoever asked first.
    `checked`: check_limits counted the key already. Not `add`ed: the play stays out of the
    session until `decide` writes it with its result, in one plain INSERT (a spin)."""
    if not checked and _count(session, GamePlay.campaign == campaign.id, GamePlay.once == once):
        raise _claimed(campaign)
    play = GamePlay(
        id=play_id,
        campaign=campaign.id,
        kind=campaign.kind.value,
        once=once,
        member_id=member.id if member is not None else None,
        session=player.session,
        table_id=player.table_id,
        party_opened_at=player.party_opened_at,
        payment_uid=payment.uid if payment is not None else None,
        day=local_day(now),
        at=now,
        status=ASKED,
    )
    if add:
        session.add(play)
    return play


def decide(
    session: Session,
    play: GamePlay,
    campaign: Campaign,
    prize: Prize,
    cost: int,
    rand: int,
    total: int,
    fallback_from: str | None,
    flag: str,
    rules: Rules,
    member: MemberRow | None,
    now: float,
) -> str | None:
    """Record the result (signed), pay it out unless flagged, and tell HQ. Returns the printer
    to nudge for a dish prize."""
    play.prize, play.prize_kind, play.cost_fen = prize.id, prize.kind.value, cost
    play.rand, play.total, play.fallback_from = rand, total, fallback_from
    play.flag = flag[:200]
    play.status = FLAGGED if flag and prize.kind is not PrizeKind.NONE else PAID
    play.signature = sign_result(
        rules.key,
        result_message(play.id, campaign.id, rules.store, prize.id, rand, total, play.at),
    )
    printer = None
    if play.status == PAID:
        printer = pay_out(session, play, campaign, prize, member, rules, now)
    if inspect(play).transient:
        insert_row(session, play)
    session.flush()
    enqueue_play(session, play, campaign)
    return printer


def pay_out(
    session: Session,
    play: GamePlay,
    campaign: Campaign,
    prize: Prize,
    member: MemberRow | None,
    rules: Rules,
    now: float,
) -> str | None:
    """The prize into the member's wallet (points with an entry id made from the play, so it
    can never be made twice; a coupon) or a PRIZE ticket at the dish's station."""
    if prize.kind is PrizeKind.POINTS and member is not None:
        entry = ledger.add_entry(
            session,
            f"g-{play.id}",
            member.id,
            prize.points,
            EntryCause.CAMPAIGN,
            play.id,
            "game",
            now,
            reason=campaign.id,
        )
        play.delivered = entry.id
    elif prize.kind is PrizeKind.COUPON and member is not None:
        template = rules.members.coupon(prize.coupon or "")
        assert template is not None  # StoreConfig checks its references
        # A filled stamp card's coupon has a code every hub makes alike for that card: two
        # stores filling it offline give one coupon (edge/members/stamps.py).
        whole = full_member(session, member)
        code = (
            member_stamps.reward_code(whole, campaign.id, play.card)
            if campaign.kind is CampaignKind.STAMP_CARD and play.card is not None
            else None
        )
        coupon = member_coupons.issue_coupon(
            session, whole, template, f"game:{campaign.id}"[:32], now, code
        )
        play.delivered = coupon.code if coupon is not None else ""
    elif prize.kind is PrizeKind.DISH:
        dish = rules.menu.dish(prize.dish or "")
        assert dish is not None
        job = printing.queue_prize_ticket(
            session,
            rules.routes,
            play.table_id,
            dish.station,
            {
                "name_zh": dish.name_zh,
                "name_en": dish.name_en,
                "campaign_zh": campaign.name_zh,
                "campaign_en": campaign.name_en,
                "play": play.id,
            },
            now,
        )
        play.delivered = job.uid
        return job.printer_id or None
    return None


def enqueue_play(session: Session, play: GamePlay, campaign: Campaign) -> None:
    fact = GamePlayed(
        play=play.id,
        campaign=campaign.id,
        kind=play.kind,
        member=play.member_id,
        table=play.table_id,
        payment=play.payment_uid,
        prize=play.prize,
        prize_kind=play.prize_kind,
        cost_fen=play.cost_fen,
        rand=play.rand,
        total=play.total,
        fallback_from=play.fallback_from,
        status=play.status,
        flag=play.flag,
        signature=play.signature,
        at=play.at,
    )
    outbox.enqueue(session, [GamePlayedEvent(id=f"gp-{play.id}", occurred_at=play.at, data=fact)])


def release(
    session: Session,
    play_id: str,
    campaign: Campaign,
    pay: bool,
    rules: Rules,
    staff: str,
    now: float,
) -> tuple[GamePlay, str | None]:
    """Staff decide a flagged play: released (paid out now) or refused (its stock and budget
    freed). Once: a play no longer flagged is refused with 409."""
    play = session.get(GamePlay, play_id)
    if play is None or play.status != FLAGGED:
        raise OrderError(
            409, "not_flagged", "这次游戏不在待审核状态 / This play is not waiting for staff"
        )
    printer = None
    prize = campaign.prize(play.prize)
    if pay and prize is not None:
        member = member_of(session, play.member_id)
        printer = pay_out(session, play, campaign, prize, member, rules, now)
    play.status = RELEASED if pay else REFUSED
    play.decided_by = staff
    fact = GameReleased(play=play.id, campaign=campaign.id, paid=pay, by=staff, at=now)
    outbox.enqueue(session, [GameReleasedEvent(id=f"gr-{play.id}", occurred_at=now, data=fact)])
    return play, printer


# --- the quiz ------------------------------------------------------------------------------


def make_question(campaign: Campaign, menu: MenuFile) -> dict[str, Any]:
    """A dish (with a picture or a description) and four names, the dish's among them."""
    pool = campaign.quiz.dishes or [d.id for d in menu.dishes if d.picture or d.desc_zh]
    dish = _RNG.choice(pool)
    others = [d.id for d in menu.dishes if d.id != dish]
    choices = [dish, *_RNG.sample(others, min(const.QUIZ_CHOICES - 1, len(others)))]
    _RNG.shuffle(choices)
    return {"dish": dish, "choices": choices}


def question_public(play: GamePlay, menu: MenuFile, photo_url: str) -> dict[str, Any]:
    """What the phone sees of a question: the picture (under the play's own address, so its
    file name cannot give the dish away), the description, four names. Never the answer."""
    assert play.question is not None
    dish = menu.dish(str(play.question["dish"]))
    choices = []
    for dish_id in play.question["choices"]:
        d = menu.dish(str(dish_id))
        if d is not None:
            choices.append({"id": d.id, "name_zh": d.name_zh, "name_en": d.name_en})
    return {
        "photo": photo_url if dish is not None and dish.picture else None,
        "desc_zh": dish.desc_zh if dish is not None else "",
        "desc_en": dish.desc_en if dish is not None else "",
        "choices": choices,
    }


def take_answer(session: Session, play: GamePlay, choice: str) -> bool:
    """The one answer a question gets: right or wrong. A second answer (or an answer to a
    question that was never asked) is refused and changes nothing."""
    if play.status != ASKED or play.question is None or play.answer is not None:
        raise game_errors.not_asked()
    if choice not in play.question["choices"]:
        raise game_errors.error(422, "bad_choice", "请选择一个选项", "Pick one of the four names")
    play.answer = choice
    right = choice == str(play.question["dish"])
    if not right:
        play.status = WRONG
    return right


# --- what the phone and staff see --------------------------------------------------------


def prize_public(prize: Prize) -> dict[str, Any]:
    return {"id": prize.id, "name_zh": prize.name_zh, "name_en": prize.name_en, "kind": prize.kind}


WHERE = {
    PrizeKind.POINTS: ("积分已存入您的会员账户", "points added to your member account"),
    PrizeKind.COUPON: ("优惠券已放入您的卡包", "coupon in your wallet"),
    PrizeKind.DISH: ("免费菜品正在为您准备", "free dish — on its way to your table"),
    PrizeKind.NONE: ("谢谢参与", "thanks for playing"),
}


def play_public(play: GamePlay, campaign: Campaign) -> dict[str, Any]:
    prize = campaign.prize(play.prize) or (NOTHING if play.prize == NOTHING.id else None)
    result: dict[str, Any] = {
        "play": play.id,
        "campaign": campaign.id,
        "kind": play.kind,
        "status": play.status,
        "at": play.at,
        "prize": prize_public(prize) if prize is not None else None,
        "index": next((i for i, p in enumerate(campaign.prizes) if p.id == play.prize), None),
        "receipt": receipt(play.id, play.prize, play.signature) if play.signature else None,
        "card": play.card,
    }
    if play.question is not None and play.answer is not None:
        # Answered: now the right dish may be told (never before).
        result["answer"] = str(play.question["dish"])
        result["right"] = play.answer == result["answer"]
    if prize is not None and play.status in (PAID, RELEASED):
        zh, en = WHERE[prize.kind]
        result["where_zh"], result["where_en"] = zh, en
    elif play.status == FLAGGED:
        result["where_zh"] = "奖品待店员确认后发放"
        result["where_en"] = "your prize waits for a staff check"
    elif play.status == WRONG:
        result["where_zh"], result["where_en"] = "答错了，下次再来", "not this time"
    return result


def flagged_public(play: GamePlay) -> dict[str, Any]:
    return {
        "play": play.id,
        "campaign": play.campaign,
        "table": play.table_id,
        "member": play.member_id,
        "prize": play.prize,
        "cost_fen": play.cost_fen,
        "flag": play.flag,
        "at": play.at,
    }


def flagged(session: Session) -> list[GamePlay]:
    return list(
        session.scalars(
            select(GamePlay)
            .where(GamePlay.status == FLAGGED)
            .order_by(GamePlay.at)
            .limit(const.FLAGGED_LIST_MAX)
        )
    )
