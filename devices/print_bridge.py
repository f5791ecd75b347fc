"""The printer bridge: a small computer (a Pi) beside a USB ESC/POS printer that makes it a
network printer for the hub, and a `printer` device on MQTT.

    python -m devices.print_bridge --config printer-01.json [--local printer-01.local.json]
    smartstore print-bridge --config printer-01.json [--local printer-01.local.json]

- **Print server.** It accepts the hub's tickets on TCP `listen_port` (9100; the inventory's
  `address` is this computer's) and writes them to the printer byte for byte, one connection
  (one job) at a time, as a network printer takes them. Status requests in the stream (ESC/POS
  `DLE EOT n`, contract/printer_status.py) are answered, not printed: relayed to a printer
  that can answer (python-escpos `Usb`; `Network`, for a network printer behind a bridge) and
  its answer returned, or none if it gave none; a printer written as a device file
  (python-escpos `File`, e.g. `/dev/usb/lp0`) cannot answer, so the bridge answers from what
  it knows: offline with an error while the device cannot be opened or written; otherwise
  online, with the paper out or the printer offline when the kernel's usblp driver reports
  that (LPGETSTATUS), and else paper adequate and cover closed, which it cannot see.
  A request after print data is answered once that data was written to the printer. If
  writing failed, the bridge closes the connection instead of answering, so the hub knows the
  ticket may not have printed and prints it again marked REPRINT.
- **Device.** On MQTT with its own credentials, through devices/base.py's protocol
  (devices/printer.py's PrinterBridge): presence with a Last Will, heartbeats, PrinterTelemetry
  with the printer's paper, cover and link read every `status_interval_s` (and after each
  job), at once when they change (a value the bridge cannot know is left out), and `locate`
  and `reboot` answered (`reboot` reconnects to the broker as a new boot).
"""

import argparse
import array
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.printer import File, Network, Usb
from pydantic import Field, ValidationError, field_validator, model_validator

from contract import Command, DeviceType, PrinterTelemetry, Telemetry
from contract.const import CommandName, PaperLevel
from contract.printer_status import (
    PrinterStatus,
    RealtimeScanner,
    StatusRequest,
    is_answer,
)
from devices.apps.config import AppConfig, ConfigError
from devices.loop import DeviceLoop
from devices.printer import PrinterBridge

log = logging.getLogger(__name__)

BRIDGE_VERSION = "1.0.0"
RELAY_TIMEOUT_S = 1.0  # a printer that has not answered a status request by then will not
WRITE_TIMEOUT_S = 10.0
IDLE_CONNECTION_S = 60.0  # a hub connection silent this long is dropped: the printer is free
# What an installer sets for one bridge, in a file of its own (`--local`), never rendered.
LOCAL_KEYS = frozenset(
    {
        "listen_host",
        "listen_port",
        "usb_device",
        "usb_vendor_id",
        "usb_product_id",
        "printer_host",
        "printer_port",
        "status_interval_s",
        "telemetry_interval_s",
    }
)

# Linux's usblp (<linux/lp.h>): the printer's 1284 port status, as the kernel last read it.
LPGETSTATUS = 0x060B
LP_PERRORP = 0x08  # no error (active low)
LP_PSELECD = 0x10  # selected: online
LP_POUTPA = 0x20  # paper out


class PrintBridgeConfig(AppConfig):
    """`printer.json` as `smartstore provision` renders it, plus the installer's values."""

    device_type: Literal[DeviceType.PRINTER]
    station: str = ""
    # Where the hub sends tickets (the inventory's address). Port 0: any free port (tests).
    listen_host: str = "0.0.0.0"  # noqa: S104 - the hub reaches it over the store's LAN
    listen_port: int = Field(default=9100, ge=0, le=65535)
    # The printer, exactly one of: its device file (python-escpos File), its USB ids
    # (python-escpos Usb, needs pyusb), or a network printer's address (python-escpos Network).
    usb_device: str | None = None
    usb_vendor_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    usb_product_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    printer_host: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,253}$")
    printer_port: int = Field(default=9100, ge=1, le=65535)
    encoding: Literal["GB18030"] = "GB18030"
    # How often the bridge reads its printer's status for its telemetry.
    status_interval_s: float = Field(default=5.0, ge=0.1, le=300)

    @field_validator("usb_vendor_id", "usb_product_id", mode="before")
    @classmethod
    def _hex(cls, value: object) -> object:
        return int(value, 0) if isinstance(value, str) else value  # "0x04b8" as lsusb shows

    @model_validator(mode="after")
    def _one_printer(self) -> "PrintBridgeConfig":
        usb_ids = self.usb_vendor_id is not None or self.usb_product_id is not None
        chosen = [self.usb_device is not None, usb_ids, self.printer_host is not None]
        if sum(chosen) != 1:
            raise ValueError(
                "set exactly one printer: usb_device (e.g. /dev/usb/lp0), usb_vendor_id and "
                "usb_product_id, or printer_host"
            )
        if usb_ids and (self.usb_vendor_id is None or self.usb_product_id is None):
            raise ValueError("usb_vendor_id and usb_product_id go together")
        return self


def load_bridge_config(path: Path, local: Path | None = None) -> PrintBridgeConfig:
    """The rendered config with the installer's `local` values (LOCAL_KEYS) on top."""
    data = _read_json(path)
    if local is not None:
        extra = _read_json(local)
        unknown = sorted(set(extra) - LOCAL_KEYS)
        if unknown:
            allowed = ", ".join(sorted(LOCAL_KEYS))
            raise ConfigError(f"{local}: {', '.join(unknown)} cannot be set here ({allowed})")
        data = {**data, **extra}
    return parse_bridge_config(data, str(path))


def parse_bridge_config(data: object, where: str = "the config") -> PrintBridgeConfig:
    if not isinstance(data, dict) or data.get("device_type") != DeviceType.PRINTER.value:
        raise ConfigError(f"{where}: not a printer bridge's config (device_type printer)")
    try:
        config = PrintBridgeConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ConfigError(f"{where}: {field}: {first['msg']}") from None
    if config.mqtt.username != config.device_id:
        raise ConfigError(f"{where}: mqtt.username must be the device id {config.device_id!r}")
    wrong = {k: v for k, v in config.expected_topics().items() if config.topics.get(k) != v}
    if wrong:
        names = ", ".join(f"{k} (expected {v})" for k, v in wrong.items())
        raise ConfigError(f"{where}: topics do not follow the wire contract: {names}")
    return config


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return data


def status_from_lp(port_status: int) -> PrinterStatus:
    """What usblp's port status byte says, as DLE EOT would (no cover: it cannot tell)."""
    out = bool(port_status & LP_POUTPA)
    fault = not port_status & LP_PSELECD or not port_status & LP_PERRORP
    return PrinterStatus.of(paper=PaperLevel.OUT if out else PaperLevel.OK, error=fault)


def lp_port_status(fd: int) -> int | None:
    """The usblp driver's port status of the printer behind `fd`; None when `fd` is not a
    usblp device (a plain file, a pty)."""
    buf = array.array("i", [0])
    try:
        fcntl.ioctl(fd, LPGETSTATUS, buf, True)
    except OSError:
        return None
    return int(buf[0])


class PrinterPort:
    """The printer behind the bridge, through python-escpos. Not thread-safe: the print
    server's lock gives it one user at a time."""

    def __init__(self, printer: Escpos, can_answer: bool, per_job: bool = False) -> None:
        self.printer = printer
        self.can_answer = can_answer
        self._per_job = per_job  # a network printer: one connection per job, as the hub does
        self._open = False
        self._silent = False  # a request went unanswered on this connection: ask no more
        self._opened_as = (0, 0)  # the device file that is open (st_dev, st_ino)
        self.fault: str | None = None  # why it could not be opened or written, last time

    @classmethod
    def from_config(cls, config: PrintBridgeConfig) -> "PrinterPort":
        if config.usb_device is not None:
            return cls(File(config.usb_device), can_answer=False)
        if config.printer_host is not None:
            return cls(
                Network(config.printer_host, config.printer_port, timeout=WRITE_TIMEOUT_S),
                can_answer=True,
                per_job=True,
            )
        usb = Usb(config.usb_vendor_id, config.usb_product_id, timeout=int(WRITE_TIMEOUT_S * 1000))
        return cls(usb, can_answer=True)

    def begin(self) -> bool:
        """Open the printer if it is not; False (and `fault`) when it cannot be."""
        if self._open:
            return True
        try:
            if isinstance(self.printer, Network):
                # Network.open() leaks its socket when the connect fails.
                sock = socket.create_connection(
                    (self.printer.host, self.printer.port), timeout=WRITE_TIMEOUT_S
                )
                self.printer.device = sock
            else:
                if isinstance(self.printer, File) and not os.path.exists(self.printer.devfile):
                    # File opens "wb": it would make a plain file where the device was.
                    raise FileNotFoundError(f"no device {self.printer.devfile}")
                self.printer.open()
        except (OSError, EscposError) as exc:
            self._failed(f"cannot open the printer: {exc}")
            return False
        self._open = True
        self.fault = None
        if isinstance(self.printer, File):
            opened = os.stat(self.printer.devfile)
            self._opened_as = (opened.st_dev, opened.st_ino)
        return True

    def end(self) -> None:
        """A job is over: a network printer's connection closes (that ends its job)."""
        if self._per_job:
            self.close()

    def close(self) -> None:
        if self._open:
            with contextlib.suppress(OSError, EscposError):
                self.printer.close()
        self._open = False
        self._silent = False

    def write(self, data: bytes) -> bool:
        """False (and `fault`) when the printer did not take it."""
        if not self.begin():
            return False
        try:
            self.printer._raw(data)
        except (OSError, EscposError) as exc:
            self._failed(f"writing to the printer failed: {exc}")
            return False
        return True

    def answer(self, request: StatusRequest) -> int | None:
        """The answer to DLE EOT `request`: the printer's own, when it can answer (None if it
        did not); otherwise what the bridge knows."""
        if not self.can_answer or not self.begin():
            return self.known().answer(request)  # a printer it cannot reach: offline, error
        if self._silent:
            return None  # a late answer to the last one could be read as this one's
        sock = self.printer.device if isinstance(self.printer, Network) else None
        try:
            if isinstance(sock, socket.socket):
                sock.settimeout(RELAY_TIMEOUT_S)
            raw = self.printer.query_status(request.command)
        except TimeoutError:
            self._silent = True
            return None
        except (OSError, EscposError) as exc:
            self._failed(f"asking the printer failed: {exc}")
            return None  # asked again, it is opened again (or found unreachable)
        finally:
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.settimeout(WRITE_TIMEOUT_S)
        if not raw or not is_answer(raw[-1]):
            return None
        return int(raw[-1])

    def known(self) -> PrinterStatus:
        """What the bridge knows without asking the printer: whether it can open it (its
        device file is there and takes data), and what usblp says of the paper."""
        self._check_device()
        if not self.begin():
            return PrinterStatus.of(error=True)
        lp = self._lp_status()
        return PrinterStatus() if lp is None else status_from_lp(lp)

    def read(self) -> tuple[PrinterStatus, bool, bool]:
        """The printer's status, and whether its paper, and its cover, are really known."""
        if self.can_answer and self.begin():
            printer = self.answer(StatusRequest.PRINTER)
            cause = self.answer(StatusRequest.OFFLINE_CAUSE)
            paper = self.answer(StatusRequest.ROLL_PAPER)
            if printer is not None:
                status = PrinterStatus.from_answers(printer, cause, paper)
                return status, paper is not None, cause is not None
        status = self.known()
        # usblp tells paper out (and online), never the cover.
        return status, self.fault is None and self._lp_status() is not None, False

    def _check_device(self) -> None:
        """An unplugged printer's device file goes away; plugged in again, it comes back as a
        new one (that the open file is not)."""
        if not self._open or not isinstance(self.printer, File):
            return
        try:
            now = os.stat(self.printer.devfile)
        except OSError as exc:
            self._failed(f"the printer's device is gone: {exc}")
            return
        if (now.st_dev, now.st_ino) != self._opened_as:
            self.close()  # another device at that path: open that one

    def _lp_status(self) -> int | None:
        if not self._open or not isinstance(self.printer, File):
            return None  # (a closed File's `device` would open it: make a plain file)
        device = self.printer.device
        fileno = getattr(device, "fileno", None)
        return lp_port_status(fileno()) if callable(fileno) else None

    def _failed(self, why: str) -> None:
        if self.fault != why:
            log.warning("%s", why)
        self.fault = why
        self.close()


class PrintServer:
    """The hub's tickets in on TCP, to the printer; DLE EOT answered. One job at a time."""

    def __init__(
        self,
        port: PrinterPort,
        host: str = "0.0.0.0",  # noqa: S104
        listen_port: int = 9100,
        on_job_done: Callable[[], None] | None = None,
    ) -> None:
        self.port = port
        self.host = host
        self.listen_port = listen_port
        self.lock = threading.Lock()  # the printer: a job, or the bridge's own status read
        self._on_job_done = on_job_done
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> "PrintServer":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.listen_port))
        listener.listen()
        self.listen_port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, name="print-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        for sock in (self._conn, self._listener):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._listener is not None:
            self._listener.close()
        with self.lock:
            self.port.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping:
            try:
                conn, peer = self._listener.accept()
            except OSError:
                return
            # One at a time, in this thread: the next connection waits in the backlog, as it
            # would at a printer busy with a job.
            with conn, self.lock:
                self._conn = conn
                try:
                    self._serve(conn)
                except OSError as exc:
                    log.warning("connection from %s: %s", peer[0], exc)
                finally:
                    self._conn = None
                    self.port.end()
            if self._on_job_done is not None:
                self._on_job_done()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(IDLE_CONNECTION_S)
        scanner = RealtimeScanner()
        broken = False  # the printer refused some of this job's data
        while chunk := conn.recv(65536):
            for part in scanner.feed(chunk):
                if not isinstance(part, StatusRequest):
                    broken = broken or not self.port.write(part)
                    continue
                if broken:
                    # Say nothing: the hub reads a hang-up as "may not have printed".
                    log.warning("closing the hub's connection: %s", self.port.fault)
                    return
                answer = self.port.answer(part)
                if answer is not None:
                    conn.sendall(bytes([answer]))
        rest = scanner.flush()
        if rest:
            self.port.write(rest)


class BridgeDevice(PrinterBridge):
    """The bridge on MQTT: PrinterBridge's reports, with the bridge's own health only."""

    def __init__(self, loop: DeviceLoop, config: PrintBridgeConfig) -> None:
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
            firmware=f"bridge-{BRIDGE_VERSION}",
        )
        # Unknown until the printer was read.
        self.paper = self.cover = self.printer_online = None

    def handle_command(self, command: Command) -> str | None:
        error = super().handle_command(command)
        if error is None and command.name is CommandName.LOCATE:
            # No light or buzzer of its own: whoever looks for it reads the log.
            log.warning("locate: staff are looking for printer bridge %s", self.id)
        return error

    def telemetry(self) -> Telemetry:
        # Mains powered on the store's LAN: no battery, no radio to report.
        return PrinterTelemetry(
            ts_ms=int(time.time() * 1000),
            fw=self.firmware,
            uptime_s=int(time.monotonic() - self._started),
            paper=self.paper,
            cover=self.cover,
            printer_online=self.printer_online,
        )


class PrintBridge:
    """The print server, the MQTT device, and the status reader that tells the device."""

    def __init__(self, config: PrintBridgeConfig, port: PrinterPort | None = None) -> None:
        self.config = config
        self.loop = DeviceLoop()
        self.device = BridgeDevice(self.loop, config)
        self.server = PrintServer(
            port or PrinterPort.from_config(config),
            config.listen_host,
            config.listen_port,
            on_job_done=self.read_printer,
        )
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self) -> "PrintBridge":
        self.server.start()
        self.read_printer()
        self.loop.call_soon_threadsafe(self.device.start)
        self.loop.start()
        self._reader = threading.Thread(target=self._read_loop, name="status", daemon=True)
        self._reader.start()
        log.info(
            "printer bridge %s: tickets on %s:%d",
            self.config.device_id,
            self.config.listen_host,
            self.server.listen_port,
        )
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()
        if self._reader is not None:
            self._reader.join(timeout=10)
        done = threading.Event()

        def goodbye() -> None:
            self.device.stop()
            done.set()

        self.loop.call_soon_threadsafe(goodbye)
        done.wait(5)
        self.loop.stop()

    def read_printer(self) -> None:
        """Read the printer (unless a job has it) and tell the device what changed."""
        if not self.server.lock.acquire(timeout=RELAY_TIMEOUT_S):
            return  # a job is printing; it reads again when the job is done
        try:
            status, paper_known, cover_known = self.server.port.read()
            self.server.port.end()
        finally:
            self.server.lock.release()
        paper = status.paper if paper_known else None
        cover = status.cover if cover_known else None
        online = not status.fault
        self.loop.call_soon_threadsafe(lambda: self.device.printer_changed(paper, cover, online))

    def _read_loop(self) -> None:
        while not self._stop.wait(self.config.status_interval_s):
            try:
                self.read_printer()
            except Exception:
                log.exception("reading the printer failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.print_bridge",
        description="The printer bridge: a USB printer as a network printer, on MQTT.",
    )
    parser.add_argument("--config", type=Path, required=True, help="printer.json from provision")
    parser.add_argument("--local", type=Path, help="this bridge's own settings (JSON)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_bridge_config(args.config, args.local)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return run(config)


def run(config: PrintBridgeConfig) -> int:
    """In the foreground until SIGTERM or Ctrl-C, then a clean goodbye on MQTT."""
    bridge = PrintBridge(config)
    try:
        bridge.start()
    except OSError as exc:
        print(f"cannot listen on {config.listen_host}:{config.listen_port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        while not stop.wait(1):
            pass
    bridge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
