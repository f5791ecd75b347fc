"""Refuse requests that change something when a browser says another site sent them (CSRF).

The hub's cookies (staff `ss_staff`, member `ss_member`, games `ss_games`) are all
SameSite=Strict, which already keeps them off requests from other *sites*. That is not enough
alone: a site is only the registrable domain (or the bare IP), so another port or host on the
store's LAN (a printer's or router's web page, a second app on the Pi) is the same site and its
pages would carry the cookies; old browsers ignore SameSite. So, as OWASP's "verify origin with
standard headers" advises beside SameSite, every POST/PUT/PATCH/DELETE is checked against the
headers a browser sets itself and a page cannot forge:

- `Sec-Fetch-Site`, when present, must be `same-origin` (or `none`: typed by the user). Browsers
  send it only to secure origins (HTTPS, localhost), so on plain HTTP over the LAN the next
  check is the one that works;
- `Origin`, when present, must be this hub's own (its host and port, as the `Host` header names
  them; the scheme is left out so that a TLS proxy in front changes nothing).

A request with neither header is not from a browser (the kiosk app, devices, scripts, tests)
and cannot carry a victim's cookies, so it passes. Chosen over a double-submit token: no token
to thread through every page and form, no state, nothing for pages to get wrong; every fetch()
the pages make is same-origin and already sends these headers.
"""

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
REFUSAL = "跨站请求被拒绝 / cross-site request refused"


DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """("host", port) of a netloc, the scheme's port when none is written; None if malformed."""
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, port or DEFAULT_PORTS.get(scheme, 80)


def is_cross_site(headers: Headers) -> bool:
    """Whether a browser tells us this request was sent by a page of another origin."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in ALLOWED_FETCH_SITES:
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    parts = urlsplit(origin)
    # "Origin: null" (a sandboxed frame, a file) or no Host to compare with: not ours.
    sent_from = _host_port(parts.netloc, parts.scheme)
    # A Host without a port takes the Origin's scheme's: behind a TLS proxy the hub itself
    # sees plain HTTP while the browser's origin is https://hub.local.
    return sent_from is None or sent_from != _host_port(headers.get("host", ""), parts.scheme)


class CrossSiteGuard:
    """ASGI middleware: 403 for an unsafe method a browser says came from elsewhere; the route
    never runs, so nothing changes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A WebSocket has no CORS: a page on another port of the hub's address (the same
        # "site", so the staff cookie goes along) could open the board's socket and read the
        # live feed. Its handshake is refused the same way: closed before it is accepted,
        # which the server answers with 403.
        if scope["type"] == "websocket" and is_cross_site(Headers(scope=scope)):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE_METHODS
            or not is_cross_site(Headers(scope=scope))
        ):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": REFUSAL}, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
