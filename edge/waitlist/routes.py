"""The waitlist over HTTP: the door's page and a phone's number page with its live socket
(diners); the line, calling, seating, skipping (staff); bookings (both)."""

import html
import io
import time
from typing import Annotated, Any, Literal

import qrcode
from fastapi import APIRouter, Depends, Query, Request, Response, WebSocket, status
from fastapi.responses import HTMLResponse, RedirectResponse

from edge.api.board_routes import PAGE_HEADERS, STATIC, WS_CLOSE_POLICY, forward_live
from edge.api.deps import CurrentStaff, HubDep, domain_of, staff_of, websocket_hub
from edge.api.errors import ANSWERED_BEFORE, STAFF, errors
from edge.auth import COOKIE
from edge.members.domain import MEMBER_COOKIE, MembersDomain
from edge.orders import errors as order_errors
from edge.orders.errors import OrderError
from edge.waitlist import service
from edge.waitlist.domain import LIVE_KEY, WaitlistDomain, booking_public
from edge.waitlist.schemas import BookingCreate, SeatParty, TakeNumber

router = APIRouter(tags=["waitlist"])

# What staff do with a booking: named in the OpenAPI document, anything else refused (422).
BookingAction = Literal["arrive", "no-show", "cancel"]

Waitlist = Annotated[WaitlistDomain, Depends(domain_of(WaitlistDomain))]
Members = Annotated[MembersDomain, Depends(domain_of(MembersDomain))]


def _page(name: str) -> HTMLResponse:
    return HTMLResponse((STATIC / name).read_text(encoding="utf-8"), headers=PAGE_HEADERS)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _member_id(hub: HubDep, members: MembersDomain, request: Request) -> str | None:
    """The signed-in member of this phone (the members' cookie), for priority."""
    cookie = request.cookies.get(MEMBER_COOKIE)
    if not cookie or not members.enabled:
        return None
    with hub.reads() as session:
        member = members.member_of_session(session, cookie)
        return member.id if member is not None else None


# --- diners ------------------------------------------------------------------------------


@router.get("/wait", include_in_schema=False)
def door_page() -> HTMLResponse:
    """What the QR code at the door opens: take a number."""
    return _page("wait.html")


@router.get("/w/{token}", include_in_schema=False)
def number_page(token: str, hub: HubDep, domain: Waitlist) -> HTMLResponse:
    try:
        with hub.reads() as session:
            domain.party_of_token(session, token)
    except OrderError:
        zh, en = "排号链接无效", "This waitlist link is not valid. Please ask a member of staff."
        body = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{zh}</title><link rel="stylesheet" href="/static/waitlist.css"></head>'
            f'<body><main class="bad-code"><h1>{html.escape(zh)}</h1>'
            f"<p>{html.escape(en)}</p></main></body></html>"
        )
        return HTMLResponse(body, status_code=status.HTTP_403_FORBIDDEN, headers=PAGE_HEADERS)
    return _page("waitlist.html")


@router.post(
    "/api/waitlist/take",
    status_code=status.HTTP_201_CREATED,
    responses={**ANSWERED_BEFORE, **errors(400, 409, 422, 429)},
)
def take_from_phone(
    body: TakeNumber, request: Request, response: Response, hub: HubDep, domain: Waitlist,
    members: Members,
) -> dict[str, Any]:  # fmt: skip
    if not domain.phone_takes.take(_client(request)):
        raise order_errors.rate_limited()
    member_id = _member_id(hub, members, request)
    public, created = domain.take(
        f"phone:{body.key}", body.size, service.FROM_PHONE, time.time(), member_id
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return public


@router.get("/api/waitlist/me/{token}", responses=errors(403))
def my_number(token: str, hub: HubDep, domain: Waitlist) -> dict[str, Any]:
    with hub.reads() as session:
        return domain.public(session, domain.party_of_token(session, token), time.time())


@router.post("/api/waitlist/me/{token}/leave", responses=errors(403, 409))
def leave_line(token: str, hub: HubDep, domain: Waitlist) -> dict[str, Any]:
    now = time.time()
    with hub.sessions.begin() as session:
        party = domain.party_of_token(session, token)
        service.leave(session, party, now)
        public = domain.public(session, party, now)
    domain.changed()
    return public


@router.websocket("/ws/waitlist/{token}")
async def number_socket(websocket: WebSocket, token: str) -> None:
    """Tells the phone when the line moved; the page then asks for its number again."""
    hub = websocket_hub(websocket)
    try:
        with hub.reads() as session:
            hub.get(WaitlistDomain).party_of_token(session, token)
    except OrderError:
        await websocket.close(code=WS_CLOSE_POLICY, reason="bad token")
        return
    await websocket.accept()
    queue = hub.diners.subscribe(LIVE_KEY)
    await forward_live(websocket, hub.diners, queue, lambda: {"type": "waitlist"})


@router.get("/api/waitlist/door-qr.png", include_in_schema=False)
def door_qr(hub: HubDep, request: Request) -> Response:
    """The QR code to print and put at the door: it opens /wait on the hub."""
    base = hub.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    image = qrcode.make(f"{base}/wait", border=4, box_size=10)
    out = io.BytesIO()
    image.save(out)
    return Response(out.getvalue(), media_type="image/png")


# --- bookings (the diner's booking page, and staff) --------------------------------------


@router.get("/book", include_in_schema=False)
def booking_page() -> HTMLResponse:
    return _page("book.html")


@router.get("/api/bookings/slots", responses=errors(422))
def slots(
    request: Request, hub: HubDep, domain: Waitlist, members: Members,
    day: str = Query(max_length=10),
) -> dict[str, Any]:  # fmt: skip
    config = domain.config
    member_id = _member_id(hub, members, request)
    now = time.time()
    with hub.reads() as session:
        priority = domain.priority_of(session, member_id, now)
        left = service.slots_left(session, config, day, now, priority)
    return {
        "day": day,
        "priority": priority,
        "groups": [
            {
                "id": g.id,
                "name_zh": g.name_zh,
                "name_en": g.name_en,
                "min_size": g.min_size,
                "max_size": g.max_size,
                "capacity": g.slot_capacity,
                # Of the capacity, held for priority members until held_release_min before
                # the slot.
                "held": g.priority_held,
            }
            for g in config.groups
        ],
        "held_release_min": config.priority_hold_release_min,
        # Slots not listed: a group's capacity, less its held places for a diner without
        # priority while they are held.
        "left": left,
    }


@router.post(
    "/api/bookings",
    status_code=status.HTTP_201_CREATED,
    responses={**ANSWERED_BEFORE, **errors(400, 409, 422, 429)},
)
def book(
    body: BookingCreate, request: Request, response: Response, hub: HubDep, domain: Waitlist,
    members: Members,
) -> dict[str, Any]:  # fmt: skip
    if not domain.bookings.take(_client(request)):
        raise order_errors.rate_limited()
    member_id = _member_id(hub, members, request)
    request_ = service.BookingRequest(
        f"web:{body.key}", body.day, body.slot, body.size, body.name, body.phone
    )
    public, created = domain.book(request_, member_id, time.time())
    if not created:
        response.status_code = status.HTTP_200_OK
    return public


# --- staff -------------------------------------------------------------------------------


@router.get("/waitlist", include_in_schema=False)
def staff_page(request: Request, hub: HubDep) -> Response:
    if staff_of(hub, request.cookies.get(COOKIE)) is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return _page("waitlist-staff.html")


@router.get("/api/waitlist", responses=errors(STAFF))
def the_line(hub: HubDep, domain: Waitlist, _staff: CurrentStaff) -> dict[str, Any]:
    with hub.reads() as session:
        return domain.staff_view(session, time.time())


@router.post(
    "/api/waitlist/staff-take",
    status_code=status.HTTP_201_CREATED,
    responses=errors(STAFF, 400, 409, 422),
)
def take_for_walk_in(body: TakeNumber, domain: Waitlist, _staff: CurrentStaff) -> dict[str, Any]:
    public, _ = domain.take(f"staff:{body.key}", body.size, service.FROM_STAFF, time.time())
    return public


def _act(
    hub: HubDep, domain: WaitlistDomain, what: str, uid: str | None = None,
    group: str | None = None, table: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    now = time.time()
    config = domain.config
    with hub.sessions.begin() as session:
        party = service.by_uid(session, uid) if uid is not None else None
        if what == "call":
            party = service.call(session, config, now, group=group, party=party)
        elif party is None:
            raise service.not_found()
        elif what == "seat":
            service.seat(session, party, table or "", now)
        elif what == "no_show":
            service.skip_no_show(session, config, party, now)
        elif what == "put_back":
            service.put_back(session, party, now)
        else:
            service.leave(session, party, now)
        public = domain.public(session, party, now)
    if what == "seat" and table is not None:
        # The table's phones learn at once: its new party may order.
        hub.diners.publish({"type": "table", "open": True}, key=table)
    domain.changed()
    return public


@router.post("/api/waitlist/groups/{group}/call-next", responses=errors(STAFF, 404, 409))
def call_next(group: str, hub: HubDep, domain: Waitlist, _s: CurrentStaff) -> dict[str, Any]:
    return _act(hub, domain, "call", group=group)


@router.post("/api/waitlist/numbers/{number}/call", responses=errors(STAFF, 404, 409))
def call_number(number: str, hub: HubDep, domain: Waitlist, _s: CurrentStaff) -> dict[str, Any]:
    with hub.reads() as session:
        uid = service.find_number(session, number, time.time()).uid
    return _act(hub, domain, "call", uid=uid)


@router.post("/api/waitlist/parties/{uid}/call", responses=errors(STAFF, 404, 409))
def call_party(uid: str, hub: HubDep, domain: Waitlist, _s: CurrentStaff) -> dict[str, Any]:
    return _act(hub, domain, "call", uid=uid)


@router.post("/api/waitlist/parties/{uid}/seat", responses=errors(STAFF, 400, 404, 409, 422))
def seat_party(
    uid: str, body: SeatParty, hub: HubDep, domain: Waitlist, _s: CurrentStaff
) -> dict[str, Any]:
    return _act(hub, domain, "seat", uid=uid, table=body.table)


@router.post("/api/waitlist/parties/{uid}/no-show", responses=errors(STAFF, 404, 409))
def no_show(uid: str, hub: HubDep, domain: Waitlist, _s: CurrentStaff) -> dict[str, Any]:
    return _act(hub, domain, "no_show", uid=uid)


@router.post("/api/waitlist/parties/{uid}/put-back", responses=errors(STAFF, 404, 409))
def put_back(uid: str, hub: HubDep, domain: Waitlist, _s: CurrentStaff) -> dict[str, Any]:
    return _act(hub, domain, "put_back", uid=uid)


@router.post("/api/waitlist/parties/{uid}/leave", responses=errors(STAFF, 404, 409))
def staff_leave(uid: str, hub: HubDep, domain: Waitlist, _s: CurrentStaff) -> dict[str, Any]:
    return _act(hub, domain, "leave", uid=uid)


@router.get("/api/bookings", responses=errors(STAFF, 422))
def day_bookings(
    hub: HubDep, _s: CurrentStaff, day: str | None = Query(default=None, max_length=10)
) -> list[dict[str, Any]]:
    with hub.reads() as session:
        rows = service.day_bookings(session, day or service.local_day(time.time()))
        return [booking_public(b) for b in rows]


@router.post("/api/bookings/{uid}/{what}", responses=errors(STAFF, 404, 409))
def booking_action(
    uid: str, what: BookingAction, hub: HubDep, domain: Waitlist, _s: CurrentStaff
) -> dict[str, Any]:
    now = time.time()
    config = domain.config
    result: dict[str, Any] = {}
    with hub.sessions.begin() as session:
        booking = service.booking_by_uid(session, uid)
        if what == "arrive":
            party = service.arrive(session, config, booking, now)
            result["party"] = domain.public(session, party, now)
        elif what == "no-show":
            service.booking_no_show(session, config, booking, now)
        else:
            service.cancel_booking(session, booking, now)
        result["booking"] = booking_public(booking)
    domain.changed()
    return result
