"""The games domain: HQ's campaigns played at the table (docs/games.md). The lucky wheel and
the quiz play once per paid bill, the scan-QR campaign once per member, the stamp card
stamps once per paid bill at a table new to the card. Every draw is the hub's, recorded and
signed before the phone sees it, within the stock, budget and pacing HQ gave this store."""

import contextlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.campaigns import (
    Campaign,
    CampaignKind,
    CampaignsConfig,
    Prize,
    PrizeKind,
    read_receipt,
    result_message,
    sign_result,
)
from edge.auth import RateLimiter
from edge.core.domain import Domain, HubContext
from edge.games import const, plays, service
from edge.games import errors as game_errors
from edge.games.batch import GroupCommit
from edge.games.draw_process import DrawProcess
from edge.games.models import ASKED, FLAGGED, CampaignPause, GamePlay
from edge.games.plays import Outcome
from edge.games.service import Player, Rules
from edge.members import coupons as member_coupons
from edge.members import ledger
from edge.members import stamps as member_stamps
from edge.members.domain import MembersDomain, derived_key
from edge.menu.domain import MenuDomain
from edge.orders import errors as order_errors
from edge.orders.errors import OrderError
from edge.printing.domain import PrintingDomain
from edge.tables.domain import TablesDomain
from edge.uplink.events import FactsCommitted


@dataclass(frozen=True, slots=True)
class Asker:
    """A phone's play before anything is read: the table's signed token, the phone's games
    cookie, the member's cookie."""

    token: str
    session: str
    member_cookie: str | None


class GamesDomain(Domain):
    name = "games"
    routes_first = True  # 500 spins in a second (bench/bench_games.py)

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.menu = hub.get(MenuDomain)
        self.members = hub.get(MembersDomain)
        self.printing = hub.get(PrintingDomain)
        self.tables = hub.get(TablesDomain)
        self.key = derived_key(hub.settings.secret_key.get_secret_value(), "game-result")
        self.table_limiter = RateLimiter(const.PLAYS_PER_TABLE_PER_MINUTE)
        self.session_limiter = RateLimiter(const.PLAYS_PER_SESSION_PER_MINUTE)
        # Draws share write transactions with those that arrive with them, in order.
        self._group: GroupCommit[Outcome] = GroupCommit(hub.sessions)
        # The diners' spins, decided in a process of their own (started with the hub when a
        # wheel or quiz runs here, else at the first spin).
        self._drawer = (
            DrawProcess(hub.settings.db_path, self._rules_now)
            if hub.settings.games_draw_process
            else None
        )

    def start(self) -> None:
        super().start()
        spun = (CampaignKind.WHEEL, CampaignKind.QUIZ)
        if self._drawer is not None and any(
            c.kind in spun and c.for_store(self.hub.store) for c in self.config.campaigns
        ):
            with contextlib.suppress(RuntimeError):  # no event loop (a hub without HTTP)
                self._drawer.spawn()

    def stop(self) -> None:
        if self._drawer is not None:
            self._drawer.stop()
        super().stop()

    @property
    def drawer(self) -> DrawProcess | None:
        return self._drawer

    @classmethod
    def router(cls) -> APIRouter:
        from edge.games.routes import router

        return router

    # --- configuration ---------------------------------------------------------------

    @property
    def config(self) -> CampaignsConfig:
        config = self.menu.config
        return config.campaigns if config is not None else CampaignsConfig()

    def rules(self) -> Rules:
        return Rules(
            store=self.hub.store,
            members=self.members.config,
            menu=self.menu.menu.menu,
            routes=self.printing.routes,
            key=self.key,
        )

    def campaign(self, campaign_id: str) -> Campaign:
        found = self.config.campaign(campaign_id)
        if found is None or not found.for_store(self.hub.store):
            raise game_errors.no_campaign()
        return found

    def snapshot(self, session: Session) -> dict[str, Any]:
        return {"game_flags": [service.flagged_public(p) for p in service.flagged(session)]}

    # --- the phone -------------------------------------------------------------------

    def limit(self, player: Player) -> None:
        if not self.table_limiter.take(player.table_id) or (
            player.session and not self.session_limiter.take(player.session)
        ):
            raise game_errors.rate_limited()

    def _write(self, work: Callable[[Session], Outcome]) -> Outcome:
        """In a write transaction shared with the plays that arrived with it (one fsync for
        all: edge/games/batch.py); after commit: the printer, HQ, staff."""
        try:
            outcome = self._group.run(work)
        except IntegrityError:
            # Two phones claimed the same bill (or member) in the same instant: the
            # constraint kept one; this one changed nothing.
            raise game_errors.bill_played() from None
        self._after(outcome)
        return outcome

    def _after(self, outcome: Outcome) -> None:
        """Committed: the printer, HQ's sender, staff's board hear of it."""
        if outcome.printer:
            self.printing.nudge({outcome.printer})
        if outcome.fresh:
            self.hub.bus.publish(FactsCommitted())
        if outcome.flagged:
            self.hub.board.publish({"type": "game_flag", "play": outcome.public})

    def _playable(self, campaign_id: str) -> Campaign:
        campaign = self.campaign(campaign_id)
        if campaign.kind not in (CampaignKind.WHEEL, CampaignKind.QUIZ):
            raise game_errors.no_campaign()
        return campaign

    def play(self, campaign_id: str, play_id: str, player: Player) -> Outcome:
        """A spin of the wheel, or a quiz's question: once per paid bill."""
        campaign = self._playable(campaign_id)
        self.limit(player)
        rules = self.rules()
        return self._write(lambda session: plays.play(session, campaign, play_id, player, rules))

    async def play_from_phone(self, campaign_id: str, play_id: str, asker: Asker) -> Outcome:
        """`play` for the diner's page, awaited on the event loop. The token's and cookie's
        signatures are checked here; the rest (the table, the bill, the member, the draw) is
        read and decided in the play's own write transaction, by the draw process when it
        runs (edge/games/drawer.py: a core of its own in a burst), else on the games'
        writing thread. No worker thread waits per spin (bench/bench_games.py)."""
        campaign = self._playable(campaign_id)
        signed = self.tables.signer.verify(asker.token)
        if signed is None:
            raise order_errors.bad_token()
        if not self.table_limiter.take(signed.table) or (
            asker.session and not self.session_limiter.take(asker.session)
        ):
            raise game_errors.rate_limited()
        # The member's cookie is only checked here; the member is read (and an erased one
        # refused) where the play needs them: the paid bill's member comes first.
        member_id = (
            self.members.session_signer.verify(asker.member_cookie)
            if self.members.enabled and asker.member_cookie
            else None
        )
        asked = plays.Spin(
            campaign.id, play_id, signed.table, signed.version, asker.session, member_id
        )
        rules, campaigns, version = self._rules_now()
        outcome = None
        if self._drawer is not None:
            self._drawer.spawn()  # again, if it ended
            outcome = await self._drawer.spin(asked, rules, campaigns, version)
        if outcome is None:
            try:
                outcome = await self._group.run_async(
                    lambda session: plays.spin(session, campaign, asked, rules)
                )
            except IntegrityError:
                raise game_errors.bill_played() from None
        self._after(outcome)
        return outcome

    def _rules_now(self) -> tuple[Rules, CampaignsConfig, tuple[object, ...]]:
        """The rules, the campaigns and what they are made of. The version is read first: a
        config applied meanwhile makes the rules newer than it, and the next spin sends them
        again; read last, it could record the new version beside old rules for good."""
        version = self._rules_version()
        return self.rules(), self.config, version

    def _rules_version(self) -> tuple[object, ...]:
        """What the rules are made of: the draw process is sent them again when one is
        replaced (HQ's config applied, the menu changed)."""
        return (self.menu.config, self.members.config, self.menu.menu.menu, self.printing.routes)

    def answer(self, campaign_id: str, play_id: str, choice: str, player: Player) -> Outcome:
        campaign = self.campaign(campaign_id)
        self.limit(player)
        rules = self.rules()

        def work(session: Session) -> Outcome:
            now = time.time()
            play = service.existing(session, play_id, campaign, player.table_id)
            if play is None or campaign.kind is not CampaignKind.QUIZ:
                raise game_errors.not_asked()
            if play.status != ASKED and play.answer == choice:
                return Outcome(service.play_public(play, campaign), fresh=False)  # a retry
            right = service.take_answer(session, play, choice)
            member = service.member_of(session, play.member_id)
            if not right:
                service.enqueue_play(session, play, campaign)
                return Outcome(service.play_public(play, campaign))
            flag = service.farming_flag(session, member, player, now)
            return plays.draw(session, play, campaign, rules, member, flag, now)

        return self._write(work)

    def scan(self, campaign_id: str, play_id: str, player: Player) -> Outcome:
        """The scan-QR campaign: a new member (joined since it started) gets the welcome
        coupon, a returning one the points; once per member."""
        campaign = self.campaign(campaign_id)
        if campaign.kind is not CampaignKind.SCAN_QR:
            raise game_errors.no_campaign()
        self.limit(player)
        rules = self.rules()

        def work(session: Session) -> Outcome:
            now = time.time()
            found = service.existing(session, play_id, campaign, player.table_id)
            if found is not None:
                return Outcome(service.play_public(found, campaign), fresh=False)
            service.check_running(session, campaign, rules.store, now)
            member = service.player_member(session, None, player)
            if member is None:
                raise game_errors.sign_in()
            service.check_who(session, campaign, member, None, rules, now)
            play = service.new_play(
                session, play_id, campaign, member.id, member, player, None, now
            )
            session.flush()
            started = time.mktime(time.strptime(campaign.starts, "%Y-%m-%d"))
            if member.joined_at >= started:
                prize = Prize(
                    id="new",
                    name_zh="新人券",
                    name_en="Welcome coupon",
                    kind=PrizeKind.COUPON,
                    weight=1,
                    coupon=campaign.scan.new_member_coupon,
                )
            else:
                prize = Prize(
                    id="returning",
                    name_zh=f"{campaign.scan.returning_points}积分",
                    name_en=f"{campaign.scan.returning_points} points",
                    kind=PrizeKind.POINTS,
                    weight=1,
                    points=max(campaign.scan.returning_points, 1),
                )
            flag = service.farming_flag(session, member, player, now)
            cost = service.prize_cost(prize, rules.members, rules.menu)
            if prize.kind is PrizeKind.COUPON:
                # Joining gave the welcome coupon already: the campaign counts it, it never
                # gives a second one (issue_coupon keeps the per-member limit).
                template = rules.members.coupon(prize.coupon or "")
                assert template is not None
                held = member_coupons.usable_coupons(session, member.id, now)
                if any(c.terms.get("template") == template.id for c in held):
                    play.delivered = "held"
                    cost = 0
            printer = service.decide(
                session, play, campaign, prize, cost, 0, 1, None, flag, rules, member, now
            )
            public = service.play_public(play, campaign)
            public["prize"] = service.prize_public(prize)
            public["new_member"] = prize.id == "new"
            if play.status != FLAGGED:
                zh, en = service.WHERE[prize.kind]
                public["where_zh"], public["where_en"] = zh, en
            return Outcome(public, printer, flagged=bool(flag))

        return self._write(work)

    def stamp(self, campaign_id: str, play_id: str, player: Player) -> Outcome:
        """A stamp for the party's paid bill, if this table has not stamped the member's card;
        a full card pays its coupon and the next card starts."""
        campaign = self.campaign(campaign_id)
        if campaign.kind is not CampaignKind.STAMP_CARD or campaign.stamp is None:
            raise game_errors.no_campaign()
        stamp = campaign.stamp
        self.limit(player)
        rules = self.rules()
        self._learn_stamps(player)

        def work(session: Session) -> Outcome:
            now = time.time()
            found = service.existing(session, play_id, campaign, player.table_id)
            if found is not None:
                return Outcome(self._card(session, campaign, found.member_id), fresh=False)
            service.check_running(session, campaign, rules.store, now)
            payment = service.party_payment(session, player.table_id, player.party_opened_at, now)
            if payment is None:
                raise game_errors.pay_first()
            member = service.player_member(session, payment, player)
            if member is None:
                raise game_errors.sign_in()
            service.check_who(session, campaign, member, payment, rules, now)
            # The member's card across the chain: HQ's stamps from other stores (at the last
            # lookup) and every stamp given here, offline ones too.
            held = member_stamps.cards(session, member.id, campaign.id, stamp.stamps)
            place = f"{rules.store}:{player.table_id}"
            if place in held.places:
                raise game_errors.stamped()
            play = service.new_play(
                session, play_id, campaign, payment.uid, member, player, payment, now
            )
            play.card = held.card
            full = len(held.places) + 1 >= stamp.stamps
            code = None
            if full:
                whole = service.full_member(session, member)
                code = member_stamps.reward_code(whole, campaign.id, held.card)
            # The stamp's id is the bill's (store, bill, campaign), not the play's: the once
            # key refused a second play of this bill, and HQ counts the stamp once too.
            stamp_id = member_stamps.stamp_id(rules.store, payment.uid, campaign.id)
            member_stamps.add_stamp(
                session, stamp_id, member.id, campaign.id, place, held.card, now, full, code
            )
            session.flush()
            if full:
                template = rules.members.coupon(stamp.reward_coupon)
                assert template is not None
                prize = Prize(
                    id="card",
                    name_zh=template.name_zh,
                    name_en=template.name_en,
                    kind=PrizeKind.COUPON,
                    weight=1,
                    coupon=template.id,
                )
            else:
                prize = service.NOTHING
            flag = service.farming_flag(session, member, player, now) if full else ""
            cost = service.prize_cost(prize, rules.members, rules.menu)
            printer = service.decide(
                session, play, campaign, prize, cost, 0, 1, None, flag, rules, member, now
            )
            public = self._card(session, campaign, member.id)
            public["stamped"] = service.play_public(play, campaign)
            public["stamped"]["prize"] = service.prize_public(prize)
            public["full"] = full
            return Outcome(public, printer, flagged=bool(flag))

        return self._write(work)

    def _card(self, session: Session, campaign: Campaign, member_id: str | None) -> dict[str, Any]:
        assert campaign.stamp is not None
        if member_id is None:
            return {"card": 1, "stamps": [], "needed": campaign.stamp.stamps}
        held = member_stamps.cards(session, member_id, campaign.id, campaign.stamp.stamps)
        return {
            "card": held.card,
            "stamps": list(held.places),
            "needed": campaign.stamp.stamps,
            "filled": len(held.completed),
        }

    def _learn_stamps(self, player: Player) -> None:
        """The member's stamps from other stores, as HQ knows them now (never inside a write
        transaction: HQ may take seconds; without an answer the hub counts what it knew)."""
        if player.member_id and any(
            c.kind is CampaignKind.STAMP_CARD for c in self.config.campaigns
        ):
            self.members.refresh(player.member_id, max_age_s=const.CARD_FRESH_S)

    def state(self, player: Player) -> dict[str, Any]:
        """The Games tab: the campaigns running here now, what this party may still do, and
        what it played."""
        self._learn_stamps(player)
        now = time.time()
        with self.hub.reads() as session:
            payment = service.party_payment(session, player.table_id, player.party_opened_at, now)
            member = service.player_member(session, payment, player)
            out = []
            for c in self.config.campaigns:
                if c.kind is CampaignKind.SHARE or not service.running(c, self.hub.store, now):
                    continue  # inviting a friend is on the member tab
                plays = [
                    service.play_public(p, c)
                    for p in session.query(GamePlay).filter(
                        GamePlay.campaign == c.id,
                        GamePlay.table_id == player.table_id,
                        GamePlay.party_opened_at == player.party_opened_at,
                    )
                ]
                item: dict[str, Any] = {
                    "id": c.id,
                    "kind": c.kind.value,
                    "name_zh": c.name_zh,
                    "name_en": c.name_en,
                    "text_zh": c.text_zh,
                    "text_en": c.text_en,
                    "paused": service.is_paused(session, c.id),
                    # Slices of the wheel: names only (the weights stay at the hub).
                    "prizes": [service.prize_public(p) for p in c.prizes],
                    "plays": plays,
                    "paid": payment is not None,
                    "members_only": c.who.members_only,
                }
                if c.kind is CampaignKind.STAMP_CARD:
                    item["card"] = self._card(session, c, member.id if member else None)
                out.append(item)
            return {
                "campaigns": out,
                "member": member.id if member is not None else None,
                "points": (
                    ledger.balance(session, service.full_member(session, member))
                    if member is not None
                    else None
                ),
            }

    def photo(self, play_id: str) -> str | None:
        """The picture file of a quiz play's dish (served under the play's address)."""
        with self.hub.reads() as session:
            play = session.get(GamePlay, play_id)
            if play is None or play.question is None:
                return None
            dish = self.menu.menu.menu.dish(str(play.question["dish"]))
            return dish.picture if dish is not None else None

    # --- staff -----------------------------------------------------------------------

    def staff_view(self) -> dict[str, Any]:
        now = time.time()
        with self.hub.reads() as session:
            return {
                "campaigns": [
                    {
                        "id": c.id,
                        "kind": c.kind.value,
                        "name_zh": c.name_zh,
                        "name_en": c.name_en,
                        "running": service.running(c, self.hub.store, now),
                        "paused": service.is_paused(session, c.id),
                        "spent_today_fen": service.spent_fen(session, c.id, service.local_day(now)),
                        "budget_today_fen": c.budget.store_day_fen(self.hub.store),
                    }
                    for c in self.config.campaigns
                    if c.for_store(self.hub.store)
                ],
                "flagged": [service.flagged_public(p) for p in service.flagged(session)],
            }

    def pause(self, campaign_id: str, paused: bool, staff: str) -> dict[str, Any]:
        campaign = self.campaign(campaign_id)
        with self.hub.sessions.begin() as session:
            row = session.get(CampaignPause, campaign.id)
            if paused and row is None:
                session.add(CampaignPause(campaign=campaign.id, by=staff, at=time.time()))
            elif not paused and row is not None:
                session.delete(row)
        message = {"type": "games", "campaign": campaign.id, "paused": paused}
        self.hub.board.publish(message)
        self.hub.diners.publish(message)
        return {"campaign": campaign.id, "paused": paused}

    def decide(self, play_id: str, pay: bool, staff: str) -> dict[str, Any]:
        with self.hub.reads() as session:
            found = session.get(GamePlay, play_id)
            campaign_id = found.campaign if found is not None else ""
        campaign = self.config.campaign(campaign_id)
        if campaign is None:
            raise OrderError(404, "no_play", "没有这次游戏 / There is no such play")
        rules = self.rules()

        def work(session: Session) -> Outcome:
            play, printer = service.release(
                session, play_id, campaign, pay, rules, staff, time.time()
            )
            return Outcome(service.flagged_public(play) | {"status": play.status}, printer)

        decided = self._group.run(work)
        public, printer = decided.public, decided.printer
        if printer:
            self.printing.nudge({printer})
        self.hub.bus.publish(FactsCommitted())
        self.hub.board.publish({"type": "game_decided", "play": public})
        return public

    def verify(self, text: str) -> dict[str, Any]:
        """A receipt from a diner's screen (or a screenshot): signed by this hub, and the
        result recorded under its play id?"""
        read = read_receipt(text)
        if read is None:
            return {"valid": False, "reason": "not a game receipt"}
        play_id, prize_id, signature = read
        with self.hub.reads() as session:
            play = session.get(GamePlay, play_id)
            if play is None:
                return {"valid": False, "reason": "no such play at this store"}
            expected = sign_result(
                self.key,
                result_message(
                    play.id,
                    play.campaign,
                    self.hub.store,
                    play.prize,
                    play.rand,
                    play.total,
                    play.at,
                ),
            )
            valid = hmac.compare_digest(signature, expected) and prize_id == play.prize
            return {
                "valid": valid,
                "reason": "" if valid else "the receipt does not match the recorded play",
                "play": {
                    "id": play.id,
                    "campaign": play.campaign,
                    "prize": play.prize,
                    "status": play.status,
                    "table": play.table_id,
                    "at": play.at,
                },
            }
