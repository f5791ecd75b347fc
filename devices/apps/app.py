"""What every device app shares: one device on MQTT (devices/base.py's protocol: presence with
a Last Will, heartbeats, commands, events resent until acked), a small local web server with
the page and its live channel, and the runner that starts and stops both.

    app = DeviceApp(load_app_config(Path("kiosk-01.json")))
    app.run()            # the command line: until Ctrl-C or SIGTERM
    app.start(); ...; app.stop()   # tests and the demo: in a thread

Threads: the device runs on its DeviceLoop's thread (every device method runs there); the web
server on uvicorn's event loop. The device tells the page through `Live` (any thread); the page's
messages reach the device through `DeviceLoop.call_soon_threadsafe`.
"""

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, ClassVar

import uvicorn
from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from contract import Command, HubState, Telemetry, WireError, hub_state_topic, parse_payload
from contract.const import DISPLAY_TEXT_MAX, LOCATE_SECONDS_MAX, CommandName, Presence
from contract.net import free_port
from devices.apps.config import AppConfig
from devices.apps.live import Live, Message
from devices.base import SimDevice
from devices.loop import DeviceLoop

log = logging.getLogger(__name__)

APP_VERSION = "1.0.0"
STATIC = Path(__file__).resolve().parent / "static"
NO_CACHE = {"Cache-Control": "no-cache"}
RELOAD_AFTER_REBOOT_S = 0.5


class AppDevice(SimDevice):
    """A device app's MQTT side. Subclasses (with the device type's simulator class after this
    one) add what the type shows and sends."""

    page: ClassVar[str]  # the HTML file in static/

    def __init__(self, loop: DeviceLoop, config: AppConfig, live: Live) -> None:
        super().__init__(
            loop,
            config.store,
            config.device_id,
            config.mqtt.password.get_secret_value(),
            config.mqtt.host,
            config.mqtt.port,
            telemetry_every_s=config.telemetry_interval_s,
            client_id=config.mqtt.client_id,
            keepalive_s=config.mqtt.keepalive_s,
            ca_pem=config.mqtt.ca_certificate,
            firmware=f"app-{config.device_type.value}-{APP_VERSION}"[:32],
        )
        self.config = config
        self.live = live
        self.hub_online: bool | None = None  # None: the hub's state is not known (yet)
        self.publish_status()

    # --- MQTT ----------------------------------------------------------------------------
    def extra_subscriptions(self) -> list[str]:
        return [*super().extra_subscriptions(), hub_state_topic(self.store)]

    def handle_other(self, topic: str, payload: bytes) -> None:
        if topic != hub_state_topic(self.store):
            super().handle_other(topic, payload)
            return
        if not payload:  # a cleared retained state: nobody knows
            self.hub_online = None
        else:
            try:
                self.hub_online = parse_payload(payload, HubState).state is Presence.ONLINE
            except WireError as err:
                log.warning("%s got a bad hub state: %s", self.id, err)
                return
        self.publish_status()
        self.hub_changed()

    def hub_changed(self) -> None:
        """The hub came or went (self.hub_online); on the loop's thread."""

    def connection_changed(self, connected: bool) -> None:
        if not connected:
            # Whatever the hub said is old news now: the retained state comes again on connect.
            self.hub_online = None
        self.publish_status()
        self.hub_changed()

    def telemetry(self) -> Telemetry:
        # Mains powered, wired or on the store's Wi-Fi: what an app knows about itself.
        return Telemetry(
            ts_ms=int(time.time() * 1000),
            fw=self.firmware,
            uptime_s=int(time.monotonic() - self._started),
        )

    def handle_command(self, command: Command) -> str | None:
        args = command.args
        if command.name is CommandName.LOCATE:
            seconds = args.get("seconds", 10)
            if not isinstance(seconds, int) or not 1 <= seconds <= LOCATE_SECONDS_MAX:
                return f"locate: seconds must be 1..{LOCATE_SECONDS_MAX}"
        if command.name is CommandName.DISPLAY:
            text = args.get("text")
            if not isinstance(text, str) or not 1 <= len(text.strip()) <= DISPLAY_TEXT_MAX:
                return f"display: text must be 1..{DISPLAY_TEXT_MAX} characters"
        error = super().handle_command(command)
        if error is not None:
            return error
        if command.name is CommandName.LOCATE:
            self.live.send({"type": "locate", "seconds": args.get("seconds", 10)})
        elif command.name is CommandName.DISPLAY:
            self.show_text(self.display_text.strip())
        else:  # REBOOT: the base reconnects as a new boot; the page starts afresh too
            self.loop.call_later(RELOAD_AFTER_REBOOT_S, lambda: self.live.send({"type": "reload"}))
        return None

    def show_text(self, text: str) -> None:
        self.live.set("display", {"type": "display", "text": text, "at_ms": _now_ms()})

    # --- the page ------------------------------------------------------------------------
    def status(self) -> Message:
        hub = "unknown" if self.hub_online is None else "online" if self.hub_online else "offline"
        return {"type": "status", "broker": self.connected, "hub": hub}

    def publish_status(self) -> None:
        self.live.set("status", self.status())

    def on_page_message(self, message: Message) -> None:
        """A message from the page; on the loop's thread."""

    def add_routes(self, app: FastAPI) -> None:
        """Routes beyond the page, its static files and /ws."""

    def close(self) -> None:
        """The app is stopping (after the goodbye); on the caller's thread."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class _NoCacheStatic(StaticFiles):
    # A kiosk runs for months: after an update it must not mix an old cached module with a
    # new one. The ETag keeps the revalidation a cheap 304.
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def create_web(device: AppDevice, live: Live) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        live.bind(asyncio.get_running_loop())
        yield

    app = FastAPI(
        title=f"smartstore {device.device_type.value} {device.id}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / device.page, headers=NO_CACHE)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        # Only the app's own page (or a tool without a browser's Origin): a page from
        # anywhere else open in the same browser must not place orders through it.
        origin = websocket.headers.get("origin")
        if origin is not None and origin != f"http://{websocket.headers.get('host', '')}":
            await websocket.close(code=1008)
            return

        def to_device(message: Message) -> None:
            device.loop.call_soon_threadsafe(lambda: device.on_page_message(message))

        await live.serve(websocket, to_device)

    device.add_routes(app)
    app.mount("/static", _NoCacheStatic(directory=str(STATIC)), name="static")
    return app


class _Server(uvicorn.Server):
    """uvicorn's server, minus raising Ctrl-C or SIGTERM again after its orderly shutdown
    (uvicorn 0.29+): that would kill the process before the app says goodbye on MQTT. As the
    hub's server does (edge/app.py)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()


class DeviceApp:
    """One app: its device on MQTT and its local web server."""

    def __init__(self, device_cls: type[AppDevice], config: AppConfig, **device_kw: Any) -> None:
        self.config = config
        self.live = Live()
        self.loop = DeviceLoop()
        self.device = device_cls(self.loop, config, self.live, **device_kw)
        self.host = config.http_host
        self.port = config.http_port or free_port(self.host)
        self.server = _Server(
            uvicorn.Config(
                create_web(self.device, self.live),
                host=self.host,
                port=self.port,
                log_level="warning",
                ws="websockets-sansio",  # the legacy websockets protocol is deprecated
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104
        return f"http://{shown}:{self.port}/"

    def start(self) -> None:
        """Device and web server in background threads; returns once the page is served."""
        self._start_device()
        self._thread = threading.Thread(target=self.server.run, name="app-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._stop_device()
                raise RuntimeError(f"the app's web server did not start on {self.url}")
            time.sleep(0.02)

    def run(self) -> None:
        """In the foreground until Ctrl-C or SIGTERM (uvicorn's signal handling), then a clean
        goodbye on MQTT."""
        self._start_device()
        try:
            self.server.run()
        finally:
            self._stop_device()

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        self._stop_device()

    def _start_device(self) -> None:
        self.loop.call_soon_threadsafe(self.device.start)
        self.loop.start()

    def _stop_device(self) -> None:
        done = threading.Event()

        def goodbye() -> None:
            try:
                self.device.stop()
            finally:
                done.set()

        self.loop.call_soon_threadsafe(goodbye)
        done.wait(10)
        self.loop.stop()
        self.device.close()
