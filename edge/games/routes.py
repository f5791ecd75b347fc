"""Games over HTTP: the diner's 游戏 Games tab with the table's token (and the member's
cookie, and a games cookie per phone for the per-phone limits); pauses, flagged plays and
receipts for staff."""

import re
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from contract.campaigns import PLAY_ID_PATTERN
from edge.api.board_routes import PAGE_HEADERS, STATIC
from edge.api.deps import CurrentManager, CurrentStaff, HubDep, domain_of, get_hub, staff_of
from edge.api.errors import STAFF, errors
from edge.auth import COOKIE
from edge.games import const
from edge.games.domain import Asker, GamesDomain
from edge.games.service import Player
from edge.members.domain import MEMBER_COOKIE, MembersDomain
from edge.menu.routes import MEDIA_CACHE, MEDIA_DIR
from edge.tables.domain import TablesDomain

router = APIRouter(tags=["games"])

Games = Annotated[GamesDomain, Depends(domain_of(GamesDomain))]
Tables = Annotated[TablesDomain, Depends(domain_of(TablesDomain))]
Members = Annotated[MembersDomain, Depends(domain_of(MembersDomain))]
MemberCookie = Annotated[str | None, Cookie(alias=MEMBER_COOKIE)]
GamesCookie = Annotated[str | None, Cookie(alias=const.SESSION_COOKIE)]
SESSION_PATTERN = r"^[A-Za-z0-9_-]{16,32}$"


class PlayRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"play": "p3f9a1c07be24d6e58"}]})

    play: str = Field(pattern=PLAY_ID_PATTERN, max_length=40)  # made on the phone, per tap


class AnswerRequest(PlayRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"play": "p3f9a1c07be24d6e58", "choice": "kungpao"}]}
    )

    choice: str = Field(max_length=32)


class ReceiptRequest(BaseModel):
    receipt: str = Field(max_length=200)


def _player(
    token: str,
    hub: HubDep,
    tables: Tables,
    members: Members,
    request: Request,
    response: Response,
    member_cookie: MemberCookie = None,
    games_cookie: GamesCookie = None,
) -> Player:
    """The table (its signed token), the member signed in on this phone, and the phone's games
    cookie (made here the first time: a phone that drops it is a new phone, which the
    per-table and per-member limits still bound)."""
    session_id = _phone(request, response, games_cookie)
    with hub.reads() as session:
        table = tables.table_for(session, token)
        member = members.member_of_session(session, member_cookie) if members.enabled else None
        return Player(
            table_id=table.id,
            table_name=table.name,
            party_opened_at=table.opened_at,
            session=session_id,
            member_id=member.id if member is not None else None,
        )


def _phone(request: Request, response: Response, games_cookie: str | None) -> str:
    """The phone's games cookie, made here the first time."""
    session_id = games_cookie or ""
    if not session_id or not _valid_session(session_id):
        session_id = secrets.token_urlsafe(18)
        response.set_cookie(
            const.SESSION_COOKIE,
            session_id,
            max_age=int(const.SESSION_COOKIE_S),
            httponly=True,
            samesite="strict",
            secure=request.scope.get("scheme") == "https",
        )
    return session_id


def _valid_session(value: str) -> bool:
    return re.match(SESSION_PATTERN, value) is not None


PlayerDep = Annotated[Player, Depends(_player)]


@router.get("/api/diner/{token}/games", responses=errors(403))
def games_state(player: PlayerDep, games: Games) -> dict[str, Any]:
    """The campaigns running here now, what this party played and may still play."""
    return games.state(player)


@router.post(
    "/api/diner/{token}/games/{campaign}/play", responses=errors(400, 401, 403, 404, 409, 422, 429)
)
async def play(
    token: str,
    campaign: str,
    body: PlayRequest,
    request: Request,
    response: Response,
    member_cookie: MemberCookie = None,
    games_cookie: GamesCookie = None,
) -> dict[str, Any]:
    """Spin the wheel, or get the quiz's question: once per paid bill. The same play id again
    answers the recorded result (a retry after a lost answer never draws twice). Async: the
    table and member are read in the play's own transaction, on the games' writing thread;
    no worker thread waits per spin (a burst of 500, bench/bench_games.py). The domain comes
    from the request, not as a dependency (this route takes bursts); the cookies stay
    parameters, so that the API's description names them."""
    games = get_hub(request).get(GamesDomain)
    asker = Asker(token, _phone(request, response, games_cookie), member_cookie)
    return (await games.play_from_phone(campaign, body.play, asker)).public


@router.post(
    "/api/diner/{token}/games/{campaign}/answer",
    responses=errors(400, 401, 403, 404, 409, 422, 429),
)
def answer(campaign: str, body: AnswerRequest, player: PlayerDep, games: Games) -> dict[str, Any]:
    """The quiz's one answer; right: the draw."""
    return games.answer(campaign, body.play, body.choice, player).public


@router.post(
    "/api/diner/{token}/games/{campaign}/scan", responses=errors(400, 401, 403, 404, 409, 422, 429)
)
def scan(campaign: str, body: PlayRequest, player: PlayerDep, games: Games) -> dict[str, Any]:
    """The scan-QR campaign's gift: once per member."""
    return games.scan(campaign, body.play, player).public


@router.post(
    "/api/diner/{token}/games/{campaign}/stamp", responses=errors(400, 401, 403, 404, 409, 422, 429)
)
def stamp(campaign: str, body: PlayRequest, player: PlayerDep, games: Games) -> dict[str, Any]:
    """A stamp for the party's paid bill."""
    return games.stamp(campaign, body.play, player).public


@router.get("/api/games/plays/{play_id}/photo", include_in_schema=False)
def quiz_photo(play_id: str, hub: HubDep, games: Games) -> FileResponse:
    """A quiz question's picture under the play's own address: its file name would tell."""
    name = games.photo(play_id)
    folder = (hub.settings.menu_file.parent / MEDIA_DIR).resolve()
    path = (folder / name).resolve() if name else None
    if path is None or path.parent != folder or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such picture")
    return FileResponse(
        Path(path),
        headers={"Cache-Control": MEDIA_CACHE},
        media_type="image/svg+xml" if path.suffix == ".svg" else None,
    )


# --- staff ------------------------------------------------------------------------------


@router.get("/games", include_in_schema=False, response_model=None)
def games_page(request: Request, hub: HubDep) -> HTMLResponse | RedirectResponse:
    """Staff's games page: pauses, plays held for a check, receipts."""
    if staff_of(hub, request.cookies.get(COOKIE)) is None:
        return RedirectResponse("/login?next=/games", status_code=303)
    page = (STATIC / "games.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers=PAGE_HEADERS)


@router.get("/api/games", responses=errors(STAFF))
def staff_games(games: Games, _staff: CurrentStaff) -> dict[str, Any]:
    """This store's campaigns (running, paused, spent today) and the plays held for staff."""
    return games.staff_view()


@router.post("/api/games/{campaign}/pause", responses=errors(STAFF, 404))
def pause(campaign: str, games: Games, staff: CurrentManager) -> dict[str, Any]:
    return games.pause(campaign, True, staff)


@router.post("/api/games/{campaign}/resume", responses=errors(STAFF, 404))
def resume(campaign: str, games: Games, staff: CurrentManager) -> dict[str, Any]:
    return games.pause(campaign, False, staff)


@router.post("/api/games/plays/{play_id}/release", responses=errors(STAFF, 404, 409))
def release(play_id: str, games: Games, staff: CurrentManager) -> dict[str, Any]:
    """A flagged play was checked: pay it out now."""
    return games.decide(play_id, True, staff)


@router.post("/api/games/plays/{play_id}/refuse", responses=errors(STAFF, 404, 409))
def refuse(play_id: str, games: Games, staff: CurrentManager) -> dict[str, Any]:
    """A flagged play was farmed: nothing is paid, its stock and budget return."""
    return games.decide(play_id, False, staff)


@router.post("/api/games/verify", responses=errors(STAFF, 400, 422))
def verify(body: ReceiptRequest, games: Games, _staff: CurrentStaff) -> dict[str, Any]:
    """Check a result a diner shows (the receipt under the result, or on a screenshot)."""
    return games.verify(body.receipt)
