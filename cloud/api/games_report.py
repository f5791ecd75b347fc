"""HQ's campaign report: per campaign and store, from the plays the hubs forwarded
(`game.played`, `game.released`) and the coupons the games gave (`coupon.issued` with source
`game:<campaign>`, then `coupon.redeemed`). docs/games.md."""

from collections import Counter, defaultdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import Result, select
from sqlalchemy.orm import Session

from cloud.api.deps import SessionDep
from cloud.api.errors import errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, json_or_csv
from cloud.models import IngestedEvent
from contract.campaigns import CampaignKind
from contract.uplink import COUPON_ISSUED, COUPON_REDEEMED, GAME_PLAYED, GAME_RELEASED

router = APIRouter(prefix="/api/v1/hq", tags=["hq"])

GAME_SOURCE = "game:"  # the source of a coupon a game gave (edge/games/service.py)
PAID = ("paid", "released")
SCAN_QR = CampaignKind.SCAN_QR.value  # played once per member, not per bill


class CampaignStore(BaseModel):
    campaign: str
    store: str
    plays: int
    winners: int  # plays that paid a prize (released ones included)
    winners_by_prize: str  # "c20=23 p10=80": one cell, so the CSV keeps one row per store
    cost_fen: int  # what the prizes paid cost, against the budget
    held: int  # flagged, not decided by staff yet
    released: int
    refused: int
    members: int  # distinct members who played
    bills: int  # distinct paid bills that played
    coupons_given: int
    coupons_redeemed: int


@router.get(
    "/campaigns", response_model=None, responses={**errors(401, 403), **json_or_csv(CampaignStore)}
)
def campaign_report(
    session: SessionDep,
    user: HQUserDep,
    since: Annotated[float, Query(ge=0, description="epoch seconds, by the store's clock")] = 0.0,
    until: Annotated[float | None, Query(ge=0)] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> list[CampaignStore] | Response:
    """Per campaign and store: plays, winners per prize, cost, held plays, members, bills, and
    the game coupons given and redeemed."""
    types = [GAME_PLAYED, GAME_RELEASED, COUPON_ISSUED, COUPON_REDEEMED]
    plays: dict[tuple[str, str], dict[str, dict[str, object]]] = defaultdict(dict)
    # What each campaign may do once at a store (a bill, or a member for scan-QR), and the
    # play that did it: the play id is the phone's, so a second id for the same bill (a
    # hub restored from a backup, a replayed batch) is not a second play, win or cost.
    once: dict[tuple[str, str, str], str] = {}
    # Staff's decisions by (store, play): a play id is only the phone's, unique per store.
    decided: dict[tuple[str, str], bool] = {}
    coupon_campaign: dict[str, str] = {}
    redeemed: set[str] = set()
    for store, kind, data in _events(session, types, since, until):
        if kind == GAME_PLAYED:
            play, campaign = str(data["play"]), str(data["campaign"])
            if once.setdefault((campaign, store, _once_key(data)), play) == play:
                plays[(campaign, store)][play] = data
        elif kind == GAME_RELEASED:
            decided[(store, str(data["play"]))] = bool(data["paid"])
        elif kind == COUPON_ISSUED and str(data.get("source", "")).startswith(GAME_SOURCE):
            coupon_campaign[str(data["coupon"])] = str(data["source"])[len(GAME_SOURCE) :]
        elif kind == COUPON_REDEEMED:
            redeemed.add(str(data["coupon"]))
    given: Counter[str] = Counter(coupon_campaign.values())
    used: Counter[str] = Counter(coupon_campaign[c] for c in redeemed if c in coupon_campaign)
    rows = []
    for (campaign, store), by_play in sorted(plays.items()):
        won: Counter[str] = Counter()
        cost = held = released = refused = 0
        for play, d in by_play.items():
            status = str(d["status"])
            if status == "flagged" and (store, play) in decided:
                status = "released" if decided[(store, play)] else "refused"
                released += status == "released"
                refused += status == "refused"
            held += status == "flagged"
            if status in PAID and d["prize_kind"] != "none":
                won[str(d["prize"])] += 1
                cost += int(d["cost_fen"])  # type: ignore[call-overload]
        rows.append(
            CampaignStore(
                campaign=campaign,
                store=store,
                plays=len(by_play),
                winners=sum(won.values()),
                winners_by_prize=" ".join(f"{p}={n}" for p, n in sorted(won.items())),
                cost_fen=cost,
                held=held,
                released=released,
                refused=refused,
                members=len({d["member"] for d in by_play.values() if d.get("member")}),
                bills=len({d["payment"] for d in by_play.values() if d.get("payment")}),
                # The chain's figure for the campaign (a coupon is used where its member pays).
                coupons_given=given[campaign],
                coupons_redeemed=used[campaign],
            )
        )
    # After the whole count: a coupon won here may be redeemed at another store.
    rows = user.visible(rows, lambda r: r.store)
    if format == "csv":
        return csv_response(rows, CampaignStore, "campaigns.csv")
    return rows


class FlaggedPlay(BaseModel):
    store: str
    campaign: str
    play: str
    table: str
    member: str  # the hub's member id ("" for none): HQ's member report finds the person
    at: float  # by the store's clock
    flag: str  # why the hub held it (Chinese / English)
    decision: Literal["held", "released", "refused"]
    decided_by: str  # the store's staff who decided ("" while held)


# Flagged plays a report lists at most (the newest first): a chain's risk list, read by people.
FLAGS_MAX = 5000


@router.get(
    "/campaigns/flags",
    response_model=None,
    responses={**errors(401, 403), **json_or_csv(FlaggedPlay)},
)
def flagged_plays(
    session: SessionDep,
    user: HQUserDep,
    since: Annotated[float, Query(ge=0, description="epoch seconds, by the store's clock")] = 0.0,
    until: Annotated[float | None, Query(ge=0)] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> list[FlaggedPlay] | Response:
    """The plays the stores' hubs held as farmed, newest first: why (new members at one
    table, one phone for many members, new members who took coupons and never paid), and
    what the store's staff decided."""
    held: dict[tuple[str, str], FlaggedPlay] = {}
    decided: dict[tuple[str, str], tuple[bool, str]] = {}
    for store, kind, data in _events(session, [GAME_PLAYED, GAME_RELEASED], since, until):
        play = str(data["play"])
        if kind == GAME_RELEASED:
            decided[(store, play)] = (bool(data["paid"]), str(data.get("by", "")))
        elif data.get("status") == "flagged":
            held[(store, play)] = FlaggedPlay(
                store=store,
                campaign=str(data["campaign"]),
                play=play,
                table=str(data.get("table") or ""),
                member=str(data.get("member") or ""),
                at=float(data["at"]),
                flag=str(data.get("flag") or ""),
                decision="held",
                decided_by="",
            )
    for key, (paid, by) in decided.items():
        if key in held:
            row = held[key]
            row.decision, row.decided_by = ("released" if paid else "refused"), by
    rows = user.visible(sorted(held.values(), key=lambda r: -r.at), lambda r: r.store)
    rows = rows[:FLAGS_MAX]
    if format == "csv":
        return csv_response(rows, FlaggedPlay, "campaign-flags.csv")
    return rows


def _events(
    session: Session, types: list[str], since: float, until: float | None
) -> Result[str, str, Any]:
    """(store, type, data) of the events of these types in [since, until), as ingested."""
    query = select(IngestedEvent.store_id, IngestedEvent.type, IngestedEvent.data).where(
        IngestedEvent.type.in_(types), IngestedEvent.occurred_at >= since
    )
    if until is not None:
        query = query.where(IngestedEvent.occurred_at < until)
    return session.execute(query.order_by(IngestedEvent.id))


def _once_key(data: dict[str, Any]) -> str:
    """What the hub let the play happen once for (edge/games/models.py GamePlay.once): the
    member for scan-QR, else the paid bill; a play naming neither is its own."""
    if data.get("kind") == SCAN_QR:
        return f"member:{data.get('member')}"
    if data.get("payment"):
        return f"bill:{data['payment']}"
    return f"play:{data['play']}"
