"""A kiosk's camera: frames from OpenCV, codes from devices.camera, each code reported once while
it is held up.

    def on_code(text: str) -> None:  # on the reader's thread: hand it to the device loop
        loop.call_soon_threadsafe(lambda: kiosk.order(lines, member=text))

    reader = CameraReader(0, on_code)
    reader.start()  # raises SourceError at once if the camera cannot be opened
    ...
    reader.stop()

Sources are whatever `cv2.VideoCapture` opens:
- live: an int (USB camera index, /dev/videoN), a "/dev/video*" path or a stream URL
  ("rtsp://…"). When a live source stops giving frames (the camera was unplugged), the reader
  reopens it with exponential backoff until it comes back or `stop()` is called.
- files: a video file, or an image sequence pattern ("frames/img_%03d.png"). At its end the
  reader ends (state ENDED), or starts again from the first frame with `loop=True` (demos;
  add `realtime=True` to play at the file's frame rate instead of as fast as possible).

Threading: one daemon thread per reader. `on_code(text)` and `on_state(state)` run on it: keep
them short and hand work to your own thread or loop. An exception they raise is logged and the
reader carries on.

Time: a live source's frames are timed by `time.monotonic`; a file's frames by their place in it
(frame n is at n / fps seconds), so a file gives the same reports however fast it is read. An
injected `clock` replaces both.

Rate: every frame is grabbed (so the next decoded frame is a fresh one) but at most `max_fps`
frames a second are decoded, leaving the rest of a small CPU free: a frame is decoded when its
time reaches the next due time; due times are 1/max_fps apart, and start again from the frame's
time when decoding fell a whole interval behind.

Debounce rule (`Debounce`): a text is reported when it is seen and was not seen within the last
`debounce_s` seconds (default 3). Every sighting, reported or not, renews it. So a code held up
for a minute is reported once, a few unreadable frames while it is held change nothing, and the
same code shown again after it was out of sight for `debounce_s` seconds is reported again.
Different codes are independent: a member card then a coupon gives both.
"""

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import cv2

from devices.camera import Frame, read_codes

log = logging.getLogger(__name__)

DEBOUNCE_S = 3.0
MAX_FPS = 10.0  # decoded frames per second; a 640x480 frame costs a few ms of zxing-cpp
FILE_FPS = 30.0  # a file's frame rate when it does not say
FRAME_SIZE = (640, 480)  # asked of a live camera: enough for a code held up to it
BACKOFF_S = (0.5, 10.0)  # first and longest wait before reopening a lost live source
_EPS = 1e-6  # float slack when comparing frame times


class SourceError(RuntimeError):
    """The camera, stream or file cannot be opened."""


class ReaderState(enum.StrEnum):
    RUNNING = "running"  # frames are coming
    RECONNECTING = "reconnecting"  # a live source gave no frame; reopening it with backoff
    ENDED = "ended"  # a file reached its end (without loop)
    STOPPED = "stopped"  # stop() was called
    FAILED = "failed"  # an unexpected error in the reader's thread (logged, in `error`)


@dataclass(frozen=True, slots=True)
class ReaderStats:
    frames: int = 0  # frames grabbed
    decoded: int = 0  # frames decoded (at most max_fps a second)
    reported: int = 0  # codes passed to on_code
    reconnects: int = 0  # times a live source was reopened
    errors: int = 0  # exceptions raised by the decoder or the callbacks (logged)


class Debounce:
    """Which texts of a sighting to report (the rule is in the module's docstring)."""

    def __init__(self, window_s: float = DEBOUNCE_S, clock: Callable[[], float] = time.monotonic):
        if window_s < 0:
            raise ValueError(f"debounce window must be >= 0 s, not {window_s}")
        self.window_s = window_s
        self._clock = clock
        self._last_seen: dict[str, float] = {}

    def seen(self, texts: Iterable[str]) -> list[str]:
        """Record that `texts` are in view now; return those to report, in their order."""
        now = self._clock()
        # Forget texts out of sight for a whole window: they would be reported anyway, and the
        # table stays as small as what was seen lately.
        for text, last in list(self._last_seen.items()):
            if now - last >= self.window_s:
                del self._last_seen[text]
        new = []
        for text in texts:
            if text not in self._last_seen and text not in new:
                new.append(text)
            self._last_seen[text] = now
        return new


def _is_live(source: int | str) -> bool:
    return isinstance(source, int) or "://" in source or source.startswith("/dev/video")


def _why_not_opened(source: int | str, live: bool) -> str:
    if isinstance(source, int):
        return (
            f"camera {source} (/dev/video{source}) cannot be opened: not plugged in, used by"
            " another program, or no permission (is the user in the 'video' group?)"
        )
    if live:
        return f"stream {source!r} cannot be opened"
    if "%" in source:
        return f"image sequence {source!r} cannot be opened: no image file matches the pattern"
    if not Path(source).exists():
        return f"video file {source!r} does not exist"
    return f"{source!r} cannot be read by OpenCV: not a video or image file, or an unknown codec"


class CameraReader:
    """Reads codes from a camera, stream or file on a background thread; see the module doc."""

    def __init__(
        self,
        source: int | str,
        on_code: Callable[[str], None],
        *,
        max_fps: float = MAX_FPS,
        debounce_s: float = DEBOUNCE_S,
        loop: bool = False,
        realtime: bool = False,
        live: bool | None = None,
        frame_rate: float | None = None,
        frame_size: tuple[int, int] | None = FRAME_SIZE,
        backoff_s: tuple[float, float] = BACKOFF_S,
        clock: Callable[[], float] | None = None,
        decode: Callable[[Frame], list[str]] = read_codes,
        on_state: Callable[[ReaderState], None] | None = None,
    ) -> None:
        """`live`: None guesses from the source (see the module doc). `frame_rate`: a file's
        frames per second when the file does not say (image sequences; default 30).
        `frame_size`: (width, height) asked of a live camera, None for its default. `clock`:
        the time of the current frame in seconds, for the rate limit and the debounce."""
        if max_fps <= 0:
            raise ValueError(f"max_fps must be > 0, not {max_fps}")
        self.source = source
        self.live = _is_live(source) if live is None else live
        self.loop = loop
        self.realtime = realtime
        self._on_code = on_code
        self._on_state = on_state
        self._decode = decode
        self._interval = 1.0 / max_fps
        self._frame_rate = frame_rate
        self._frame_size = frame_size
        self._backoff_s = backoff_s
        self._clock = clock or (time.monotonic if self.live else self._file_time)
        self.debounce = Debounce(debounce_s, clock=lambda: self._now)
        self._stats = ReaderStats()
        self._state = ReaderState.STOPPED
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Position in a file: frames since it was (re)opened, their rate, and the time at which
        # this pass started (a looped file's time goes on growing).
        self._pos = 0
        self._fps = FILE_FPS
        self._pass_start = 0.0
        self._now = 0.0
        self._due = float("-inf")  # the time from which the next frame is decoded

    # -- public ---------------------------------------------------------------------------

    @property
    def state(self) -> ReaderState:
        return self._state

    @property
    def stats(self) -> ReaderStats:
        return self._stats

    def start(self) -> None:
        """Open the source (SourceError if it cannot be) and start reading on a thread."""
        if self._thread is not None:
            raise RuntimeError("a CameraReader starts once")
        cap = self._open()
        if cap is None:
            raise SourceError(_why_not_opened(self.source, self.live))
        self._thread = threading.Thread(
            target=self._run, args=(cap,), name=f"camera-reader-{self.source}", daemon=True
        )
        self._state = ReaderState.RUNNING
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading and release the source. Safe to call more than once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("camera reader %r did not stop within %.1f s", self.source, timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the reader's thread to end (a file's end, stop() or a failure); True if it
        has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> "CameraReader":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the thread -----------------------------------------------------------------------

    def _open(self) -> cv2.VideoCapture | None:
        cap = cv2.VideoCapture(self.source)
        if not cap.isOpened():
            cap.release()
            return None
        if self.live and isinstance(self.source, int) and self._frame_size is not None:
            width, height = self._frame_size
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if not self.live:
            said = cap.get(cv2.CAP_PROP_FPS)
            self._fps = self._frame_rate or (said if said > 0 else FILE_FPS)
        self._pos = 0
        return cap

    def _file_time(self) -> float:
        return self._pass_start + (self._pos - 1) / self._fps

    def _run(self, cap: cv2.VideoCapture) -> None:
        wall_start = time.monotonic()
        backoff = self._backoff_s[0]
        final = ReaderState.STOPPED
        try:
            self._set_state(ReaderState.RUNNING)
            while not self._stop.is_set():
                if not cap.grab():
                    cap.release()
                    if self.live:
                        cap, backoff = self._reconnect(backoff)
                    elif self.loop and self._pos > 0:
                        self._pass_start += self._pos / self._fps
                        reopened = self._open()
                        if reopened is None:
                            raise SourceError(_why_not_opened(self.source, self.live))
                        cap = reopened
                    else:
                        if self.loop:
                            raise SourceError(f"{self.source!r} gave no frame to loop over")
                        final = ReaderState.ENDED
                        return
                    continue
                backoff = self._backoff_s[0]
                self._pos += 1
                self._bump(frames=1)
                self._now = self._clock()
                if self.realtime and not self.live:
                    self._stop.wait(wall_start + self._now - time.monotonic())
                if self._now + _EPS < self._due:
                    continue
                # Keep the cadence through jitter; start it again from here when behind.
                late = self._now - self._due >= self._interval
                self._due = (self._now if late else self._due) + self._interval
                ok, image = cap.retrieve()
                if ok:
                    self._read(cast(Frame, image))
        except Exception as e:
            log.exception("camera reader %r failed", self.source)
            self.error = e
            final = ReaderState.FAILED
        finally:
            cap.release()
            self._set_state(final)

    def _reconnect(self, backoff: float) -> tuple[cv2.VideoCapture, float]:
        """Reopen a live source until it opens (or stop() is called: then a closed capture)."""
        self._set_state(ReaderState.RECONNECTING)
        log.warning("camera %r gave no frame; reopening", self.source)
        while not self._stop.wait(backoff):
            backoff = min(backoff * 2, self._backoff_s[1])
            cap = self._open()
            if cap is not None:
                self._bump(reconnects=1)
                self._set_state(ReaderState.RUNNING)
                log.info("camera %r reopened", self.source)
                return cap, backoff
        return cv2.VideoCapture(), backoff

    def _read(self, image: Frame) -> None:
        self._bump(decoded=1)
        try:
            texts = self._decode(image)
        except Exception:
            log.exception("decoding a frame of %r failed", self.source)
            self._bump(errors=1)
            return
        for text in self.debounce.seen(texts):
            self._bump(reported=1)
            try:
                self._on_code(text)
            except Exception:
                log.exception("on_code(%r) failed", text)
                self._bump(errors=1)

    def _bump(self, **counts: int) -> None:
        s = self._stats
        self._stats = replace(s, **{k: getattr(s, k) + v for k, v in counts.items()})

    def _set_state(self, state: ReaderState) -> None:
        self._state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("on_state(%s) failed", state)
                self._bump(errors=1)
