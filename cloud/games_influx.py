# mypy: disallow-untyped-calls=False
# (influxdb-client's Point has no type hints: see cloud/sales_influx.py.)
"""Campaigns into InfluxDB for Grafana (docs/influxdb-schema.md, "Written by HQ"; docs/games.md).

`games`: one point per `game.played` and per `game.released` the hubs forwarded, written by
the sales exporter with the rest of the hubs' events (cloud/sales_influx.py), so that sums
over any range give HQ's report (cloud/api/games_report.py) per campaign and store:

    games,store=S1,campaign=wheel,prize=c20,status=paid plays=1i,won=1i,cost_fen=2000i,
          held=0i,released=0i,refused=0i,new_member=0i,member="m…",bill="…"

A play counts against the budget as the hub counts it: paid or held for staff (`cost_fen`);
a winner is a play that paid a prize (`won`); a held play is `held=1`. Staff's decision
(`game.released`) is a point of its own with the play's prize: released, `won=1, held=-1`;
refused, `held=-1` and its cost back (`cost_fen` negative). The member and the bill are
fields, not tags (COUNT(DISTINCT) without a series per member). `new_member`: the scan-QR
gift of a member who joined since the campaign started.

`campaign_budget`: what each store may spend today per campaign (the day's share HQ gave it,
from the newest config the store runs), written with the liability every few minutes
(cloud/fleet_influx.py): the dashboard sets the day's cost against it.
"""

import time
from collections.abc import Iterable
from typing import Any

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cloud.const import ALL_STORES, M_CAMPAIGN_BUDGET, M_GAMES
from cloud.models import ConfigDocument, IngestedEvent, Store
from cloud.sales_facts import parse
from contract.campaigns import CampaignsConfig
from contract.uplink import GAME_PLAYED, GAME_RELEASED, GamePlayed, GameReleased

UNKNOWN = "-"  # a tag with no value (docs/influxdb-schema.md)
PAID, FLAGGED = "paid", "flagged"
NO_PRIZE = "none"  # contract.campaigns.PrizeKind.NONE
NEW_MEMBER_PRIZE = "new"  # the scan-QR gift of a new member (edge/games/domain.py)


def played_event_id(play: str) -> str:
    return f"gp-{play}"  # contract.uplink.GamePlayedEvent


def _point(store: str, campaign: str, prize: str, status: str) -> Any:
    return (
        Point(M_GAMES)
        .tag("store", store)
        .tag("campaign", campaign or UNKNOWN)
        .tag("prize", prize or UNKNOWN)
        .tag("status", status or UNKNOWN)
    )


def game_points(
    store: str, kind: str, data: Any, ns: int, played: dict[tuple[str, str], GamePlayed]
) -> list[str]:
    """The `games` line of one event (none for an event that does not match the contract).
    `played`: the plays a `game.released` decides, by (store, play), as HQ holds them."""
    if kind == GAME_PLAYED:
        play = parse(GamePlayed, data)
        if play is None:
            return []
        won = play.status == PAID and play.prize_kind != NO_PRIZE
        point = (
            _point(store, play.campaign, play.prize, play.status)
            .field("plays", 1)
            .field("won", int(won))
            .field("cost_fen", play.cost_fen if play.status in (PAID, FLAGGED) else 0)
            .field("held", int(play.status == FLAGGED))
            .field("released", 0)
            .field("refused", 0)
            .field("new_member", int(play.prize == NEW_MEMBER_PRIZE and won))
        )
        if play.member:
            point = point.field("member", play.member)
        if play.payment:
            point = point.field("bill", play.payment)
    elif kind == GAME_RELEASED:
        decided = parse(GameReleased, data)
        if decided is None:
            return []
        of = played.get((store, decided.play))
        prize, prize_kind, cost = (of.prize, of.prize_kind, of.cost_fen) if of else ("", "", 0)
        point = (
            _point(store, decided.campaign, prize, "released" if decided.paid else "refused")
            .field("plays", 0)
            .field("won", int(decided.paid and of is not None and prize_kind != NO_PRIZE))
            .field("cost_fen", 0 if decided.paid else -cost)
            .field("held", -1)
            .field("released", int(decided.paid))
            .field("refused", int(not decided.paid))
            .field("new_member", int(decided.paid and prize == NEW_MEMBER_PRIZE))
        )
    else:
        return []
    return [str(point.time(ns, WritePrecision.NS).to_line_protocol())]


def released_plays(events: Iterable[tuple[str, str, Any]]) -> set[tuple[str, str]]:
    """(store, play) of the `game.released` among (store, type, data)."""
    return {
        (store, str(data.get("play")))
        for store, kind, data in events
        if kind == GAME_RELEASED and isinstance(data, dict)
    }


def plays_decided(
    session: Session, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], GamePlayed]:
    """The `game.played` of each (store, play) that HQ holds."""
    if not keys:
        return {}
    rows = session.execute(
        select(IngestedEvent.store_id, IngestedEvent.data).where(
            IngestedEvent.type == GAME_PLAYED,
            IngestedEvent.event_id.in_({played_event_id(play) for _store, play in keys}),
        )
    )
    found: dict[tuple[str, str], GamePlayed] = {}
    for store, data in rows:
        play = parse(GamePlayed, data)
        if play is not None and (store, play.play) in keys:
            found[(store, play.play)] = play
    return found


def budget_points(session: Session, now: float) -> list[str]:
    """One `campaign_budget` line per store and campaign running there today (by HQ's clock's
    date) with a budget: the day's share the store may spend, from the newest config it runs."""
    day = time.strftime("%Y-%m-%d", time.localtime(now))
    ns = round(now * 1_000_000) * 1000
    lines: list[str] = []
    stores = select(Store.id).where(Store.revoked_at.is_(None)).order_by(Store.id)
    for store in session.scalars(stores):
        doc = session.scalar(
            select(ConfigDocument.document)
            .where(or_(ConfigDocument.scope == store, ConfigDocument.scope == ALL_STORES))
            .order_by(ConfigDocument.version.desc())
            .limit(1)
        )
        if not isinstance(doc, dict) or not doc.get("campaigns"):
            continue
        try:
            config = CampaignsConfig.model_validate(doc["campaigns"])
        except ValidationError:
            continue  # published before a schema change: nothing HQ can chart for it
        for c in config.campaigns:
            budget = c.budget.store_day_fen(store)
            if budget and c.for_store(store) and c.starts <= day <= c.ends:
                lines.append(
                    str(
                        Point(M_CAMPAIGN_BUDGET)
                        .tag("store", store)
                        .tag("campaign", c.id)
                        .field("day_budget_fen", budget)
                        .time(ns, WritePrecision.NS)
                        .to_line_protocol()
                    )
                )
    return lines
