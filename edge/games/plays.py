"""A play decided inside a write transaction: the spin (or the quiz's question) and the draw.

Plain functions of a session and the rules, no domain: the hub's own process runs them (its
games domain) and so does the draw process (edge/games/drawer.py), which takes the diners'
spins off the HTTP process in a burst. Whoever runs them, the limits hold: every play is
judged inside a transaction that holds SQLite's write lock (BEGIN IMMEDIATE).
"""

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from contract.campaigns import Campaign, CampaignKind, PrizeKind
from contract.menu import MenuFile
from edge.games import errors as game_errors
from edge.games import reads, service
from edge.games.models import ASKED, GamePlay
from edge.games.service import Player, Rules
from edge.orders import errors as order_errors


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a play request changed: the phone's answer, and what to do after commit."""

    public: dict[str, Any]
    printer: str | None = None
    flagged: bool = False
    fresh: bool = True  # False: a retry answered from the record


@dataclass(frozen=True, slots=True)
class Spin:
    """A phone's spin once its token and member cookie were checked (their signatures are
    the HTTP process's work): what the transaction still reads and judges."""

    campaign: str
    play_id: str
    table_id: str
    qr_version: int  # the token's; a table whose QR was reprinted refuses the old one
    phone: str  # the phone's games cookie
    member_id: str | None


def spin(session: Session, campaign: Campaign, asked: Spin, rules: Rules) -> Outcome:
    """The table is read in the play's own transaction (not in a read transaction before it)."""
    table = reads.table(session, asked.table_id)
    if table is None or table.qr_version != asked.qr_version:
        raise order_errors.bad_token()
    player = Player(
        table_id=asked.table_id,
        table_name=table.name,
        party_opened_at=table.opened_at,
        session=asked.phone,
        member_id=asked.member_id,
    )
    return play(session, campaign, asked.play_id, player, rules)


def play(
    session: Session, campaign: Campaign, play_id: str, player: Player, rules: Rules
) -> Outcome:
    now = time.time()
    found = service.existing(session, play_id, campaign, player.table_id)
    if found is not None:
        return again(found, campaign, rules.menu)
    service.check_running(session, campaign, rules.store, now)
    payment = service.party_payment(session, player.table_id, player.party_opened_at, now)
    if payment is None:
        raise game_errors.pay_first()
    member = service.player_member(session, payment, player)
    service.check_who(session, campaign, member, payment, rules, now)
    service.check_limits(session, campaign, member, player, now, once=payment.uid)
    quiz = campaign.kind is CampaignKind.QUIZ
    # A spin's play is written once, with its result (service.decide); a question's now.
    new = service.new_play(
        session,
        play_id,
        campaign,
        payment.uid,
        member,
        player,
        payment,
        now,
        checked=True,
        add=quiz,
    )
    if quiz:
        session.flush()
        new.question = service.make_question(campaign, rules.menu)
        return Outcome(asked_public(new, campaign, rules.menu))
    # The new row is written once, with its result (decide flushes): the reads before it do
    # not need it (the flag adds this member itself; a play being asked counts against no
    # stock).
    with session.no_autoflush:
        flag = service.farming_flag(session, member, player, now)
    return draw(session, new, campaign, rules, member, flag, now)


def draw(
    session: Session,
    play: GamePlay,
    campaign: Campaign,
    rules: Rules,
    member: Any,
    flag: str,
    now: float,
) -> Outcome:
    drawn, rand, total = service.draw(campaign.prizes)
    with session.no_autoflush:
        prize, cost, fallback_from = service.settle_prize(
            session, campaign, drawn, member, rules, now
        )
    printer = service.decide(
        session, play, campaign, prize, cost, rand, total, fallback_from, flag, rules, member, now
    )
    public = service.play_public(play, campaign)
    return Outcome(public, printer, flagged=bool(play.flag) and prize.kind is not PrizeKind.NONE)


def asked_public(play: GamePlay, campaign: Campaign, menu: MenuFile) -> dict[str, Any]:
    public = service.play_public(play, campaign)
    public["question"] = service.question_public(play, menu, f"/api/games/plays/{play.id}/photo")
    return public


def again(play: GamePlay, campaign: Campaign, menu: MenuFile) -> Outcome:
    """A retried request: the recorded result, never a second draw."""
    if play.status == ASKED:
        return Outcome(asked_public(play, campaign, menu), fresh=False)
    return Outcome(service.play_public(play, campaign), fresh=False)
