"""The kiosk's camera reader on real OpenCV sources: a video file written with cv2.VideoWriter
(MJPG in AVI), image sequences ("img_%03d.jpg"), sources that cannot be opened, a live source
that goes away and comes back. Frames are camera-like (tests/qr_images.py): a member's QR code
and a Micro QR member card, tilted, blurred, noisy, JPEG-compressed.

A real USB camera cannot be plugged here: the "live" tests open files with `live=True`, which
runs the same reconnect path (a source that stops giving frames, reopened with backoff)."""

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.camera import Frame, read_codes
from devices.camera_reader import CameraReader, Debounce, ReaderState, SourceError
from tests.qr_images import FRAME_H, FRAME_W, Shot, no_code_images, render
from tests.support import wait_until

MEMBER = "M:13800138000:ab12cd34"  # a member's code in the app: a QR code
CARD = "6200123456789012"  # a static member card number, printed as Micro QR
FPS = 30.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the debounce rule --------------------------------------------------------------------


def test_a_code_held_up_is_reported_once() -> None:
    clock = FakeClock()
    debounce = Debounce(3.0, clock=clock)
    reports = []
    for _ in range(600):  # a minute at 10 decoded frames a second
        reports += debounce.seen([MEMBER])
        clock.now += 0.1
    assert reports == [MEMBER]


def test_a_code_is_reported_again_only_after_it_was_away_for_the_window() -> None:
    clock = FakeClock()
    debounce = Debounce(3.0, clock=clock)
    assert debounce.seen([MEMBER]) == [MEMBER]
    clock.now += 2.9  # unreadable for a moment, or taken away and shown again at once
    assert debounce.seen([MEMBER]) == []
    clock.now += 2.9  # the window runs from the last sighting, not from the report
    assert debounce.seen([MEMBER]) == []
    clock.now += 3.0
    assert debounce.seen([MEMBER]) == [MEMBER]


def test_codes_are_debounced_each_on_its_own() -> None:
    clock = FakeClock()
    debounce = Debounce(3.0, clock=clock)
    assert debounce.seen([MEMBER, CARD, MEMBER]) == [MEMBER, CARD]
    clock.now += 1
    assert debounce.seen(["C:SPRING20:9f8e7d6c", MEMBER]) == ["C:SPRING20:9f8e7d6c"]
    clock.now += 2.5  # CARD out of sight 3.5 s, MEMBER 2.5 s
    assert debounce.seen([CARD, MEMBER]) == [CARD]
    assert debounce.seen([]) == []


def test_a_zero_window_reports_every_sighting_and_a_negative_one_is_refused() -> None:
    clock = FakeClock()
    debounce = Debounce(0.0, clock=clock)
    assert debounce.seen([MEMBER]) + debounce.seen([MEMBER]) == [MEMBER, MEMBER]
    with pytest.raises(ValueError, match="debounce window"):
        Debounce(-1.0)


# -- frames ----------------------------------------------------------------------------------


def _noisy(frame: Frame, rng: np.random.Generator) -> Frame:
    noise = rng.standard_normal(frame.shape, dtype=np.float32) * 3.0
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def _empty_frames(n: int, rng: np.random.Generator) -> Iterator[Frame]:
    """A counter with printed text and no code, or a dark or grey view: nothing to read."""
    scenes = [
        image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR).astype(np.uint8)
        for what, image in no_code_images(seed=5)
        if what != "uniform noise"
    ]
    for i in range(n):
        yield _noisy(scenes[(i // 10) % len(scenes)], rng)


def _held_code(
    text: str, n: int, rng: np.random.Generator, *, micro: bool = False, shaky: int = 0
) -> Iterator[Frame]:
    """`n` frames of a code held up by a hand: it moves a little (a new pose every 10 frames),
    every frame has its own noise; `shaky` frames in the middle are smeared by motion."""
    poses = [
        render(
            text,
            Shot(
                code_px=float(rng.uniform(120, 160)),
                angle=float(rng.uniform(-12, 12)),
                tilt=float(rng.uniform(8, 22)),
                tilt_axis=float(rng.uniform(0, 180)),
                blur=float(rng.uniform(0.5, 1.0)),
            ),
            seed=int(rng.integers(2**31)),
            micro=micro,
        )
        for _ in range((n + 9) // 10)
    ]
    smear_from = (n - shaky) // 2
    for i in range(n):
        frame = poses[i // 10]
        if smear_from <= i < smear_from + shaky:
            frame = cv2.blur(frame, (41, 3)).astype(np.uint8)
        yield _noisy(frame, rng)


def _write_video(path: Path, frames: Iterator[Frame]) -> int:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (FRAME_W, FRAME_H))
    assert writer.isOpened(), "this OpenCV cannot write MJPG in AVI"
    n = 0
    for frame in frames:
        writer.write(frame)
        n += 1
    writer.release()
    return n


def _write_sequence(folder: Path, frames: Iterator[Frame]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        assert cv2.imwrite(str(folder / f"img_{i:03d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return str(folder / "img_%03d.jpg")


class Recorder:
    """on_code and a decoder that records what every decoded frame held."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.sightings: list[list[str]] = []
        self.lock = threading.Lock()

    def on_code(self, text: str) -> None:
        with self.lock:
            self.codes.append(text)

    def decode(self, frame: Frame) -> list[str]:
        found = read_codes(frame)
        self.sightings.append(found)
        return found


# -- the reader on real sources -------------------------------------------------------------


def test_a_video_of_a_member_code_then_a_micro_qr_card_reports_each_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(2026)
    video = tmp_path / "kiosk.avi"

    def frames() -> Iterator[Frame]:
        yield from _empty_frames(30, rng)  # 1 s of the counter
        yield from _held_code(MEMBER, 90, rng, shaky=6)  # the phone held up for 3 s
        yield from _empty_frames(45, rng)
        yield from _held_code(CARD, 90, rng, micro=True)  # the card for 3 s
        yield from _empty_frames(30, rng)

    assert _write_video(video, frames()) == 285
    rec = Recorder()
    states: list[ReaderState] = []
    reader = CameraReader(str(video), rec.on_code, decode=rec.decode, on_state=states.append)
    with reader:
        assert reader.wait(60), "the reader did not reach the end of the file"
    assert rec.codes == [MEMBER, CARD]
    assert states == [ReaderState.RUNNING, ReaderState.ENDED]
    # Every frame grabbed, one in three decoded (10 a second of a 30 fps file).
    assert reader.stats.frames == 285 and reader.stats.decoded == 95
    assert reader.stats.reported == 2 and reader.stats.errors == 0
    # The codes were read on most frames they were on, and the smeared frames in the middle of
    # the member's hold were not read: the debounce bridged the gap.
    runs: list[tuple[tuple[str, ...], int]] = []
    for found in rec.sightings:
        key = tuple(found)
        if runs and runs[-1][0] == key:
            runs[-1] = (key, runs[-1][1] + 1)
        else:
            runs.append((key, 1))
    with_code = [run for run in runs if run[0]]
    assert {key for key, _ in with_code} == {(MEMBER,), (CARD,)}
    assert sum(n for key, n in with_code if key == (MEMBER,)) >= 25  # of 30 decoded
    assert sum(n for key, n in with_code if key == (CARD,)) >= 25
    assert [key for key, _ in with_code].count((MEMBER,)) >= 2, runs


def test_an_image_sequence_shows_a_code_again_after_it_was_away(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)

    def frames() -> Iterator[Frame]:  # at 10 frames a second
        yield from _held_code(MEMBER, 10, rng)
        yield from _empty_frames(10, rng)  # away 1 s: the same visit
        yield from _held_code(MEMBER, 10, rng)
        yield from _empty_frames(40, rng)  # away 4 s: shown again
        yield from _held_code(MEMBER, 10, rng)

    pattern = _write_sequence(tmp_path / "seq", frames())
    rec = Recorder()
    with CameraReader(pattern, rec.on_code, frame_rate=10.0, decode=rec.decode) as reader:
        assert reader.wait(60)
    assert rec.codes == [MEMBER, MEMBER]
    assert reader.state is ReaderState.ENDED and reader.stats.decoded == 80


def test_decoding_is_limited_to_max_fps_of_the_sources_time(tmp_path: Path) -> None:
    video = tmp_path / "empty.avi"
    _write_video(video, _empty_frames(90, np.random.default_rng(1)))  # 3 s at 30 fps
    for max_fps, decoded in ((30.0, 90), (10.0, 30), (4.0, 12)):
        calls: list[Frame] = []

        def decode(frame: Frame) -> list[str]:
            calls.append(frame)  # noqa: B023 (called before the next iteration)
            return []

        reader = CameraReader(str(video), lambda _: None, max_fps=max_fps, decode=decode)
        with reader:
            assert reader.wait(30)
        assert (reader.stats.frames, len(calls)) == (90, decoded), max_fps


def test_sources_that_cannot_be_opened_say_why(tmp_path: Path) -> None:
    not_video = tmp_path / "notes.avi"
    not_video.write_text("not a video")
    cases: list[tuple[int | str, str]] = [
        (str(tmp_path / "missing.avi"), "does not exist"),
        (str(tmp_path / "img_%03d.png"), "no image file matches"),
        (str(not_video), "cannot be read by OpenCV"),
        (63, r"camera 63 \(/dev/video63\) cannot be opened"),
    ]
    for source, why in cases:
        reader = CameraReader(source, lambda _: None)
        with pytest.raises(SourceError, match=why):
            reader.start()
        assert reader.state is ReaderState.STOPPED


def test_a_looping_demo_file_reports_the_code_on_every_pass(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)

    def frames() -> Iterator[Frame]:  # 2 s at 10 fps
        yield from _held_code(MEMBER, 3, rng)
        yield from _empty_frames(17, rng)

    pattern = _write_sequence(tmp_path / "demo", frames())
    rec = Recorder()
    reader = CameraReader(pattern, rec.on_code, frame_rate=10.0, loop=True, debounce_s=1.0)
    with reader:
        wait_until(lambda: len(rec.codes) >= 3, timeout=30, what="three passes")
    assert reader.wait(5) and reader.state is ReaderState.STOPPED
    assert set(rec.codes) == {MEMBER}
    assert reader.stats.frames >= 41  # two whole passes and the code of the third


def test_a_live_source_that_goes_away_is_reopened_when_it_comes_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    first = tmp_path / "first.avi"
    _write_video(first, _held_code(MEMBER, 15, rng))
    second = tmp_path / "second.avi"
    _write_video(second, _held_code(CARD, 15, rng, micro=True))
    camera = tmp_path / "camera.avi"  # what the "camera" serves
    shutil.copy(first, camera)
    rec = Recorder()
    states: list[ReaderState] = []
    reader = CameraReader(
        str(camera),
        rec.on_code,
        live=True,
        max_fps=1000.0,
        backoff_s=(0.02, 0.1),
        on_state=states.append,
    )
    with reader:
        wait_until(lambda: rec.codes == [MEMBER], what="the first code")
        camera.unlink()  # unplugged: reads fail, and so does reopening
        time.sleep(0.3)  # longer than reading what was open and one backoff
        reconnects = reader.stats.reconnects
        time.sleep(0.5)
        away, reconnected = reader.state, reader.stats.reconnects - reconnects
        assert away is ReaderState.RECONNECTING and reconnected == 0, (away, reconnected)
        shutil.copy(second, camera)  # plugged in again
        wait_until(lambda: CARD in rec.codes, what="the code after the camera came back")
        # The second video runs out too (a live source that ends is one gone away again):
        # waited for, so that stopping the reader cannot come first on a busy machine.
        wait_until(
            lambda: states.count(ReaderState.RECONNECTING) >= 2, what="the second video's end"
        )
    assert reader.state is ReaderState.STOPPED
    assert rec.codes == [MEMBER, CARD]
    assert states[:4] == [
        ReaderState.RUNNING,
        ReaderState.RECONNECTING,
        ReaderState.RUNNING,
        ReaderState.RECONNECTING,
    ]
    assert reader.stats.reconnects >= 1


def test_a_failing_callback_is_logged_and_reading_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = np.random.default_rng(5)

    def frames() -> Iterator[Frame]:
        yield from _held_code(MEMBER, 5, rng)
        yield from _empty_frames(40, rng)
        yield from _held_code(CARD, 5, rng, micro=True)

    pattern = _write_sequence(tmp_path / "seq", frames())
    seen: list[str] = []

    def on_code(text: str) -> None:
        seen.append(text)
        raise RuntimeError("the kiosk app broke")

    with CameraReader(pattern, on_code, frame_rate=10.0) as reader:
        assert reader.wait(30)
    assert seen == [MEMBER, CARD]
    assert reader.stats.errors == 2 and reader.state is ReaderState.ENDED
    assert "the kiosk app broke" in caplog.text
