"""The draw process's messages: whole however the socket splits or joins them."""

import pytest

from edge.games.drawer import Frames, frame
from edge.games.plays import Outcome, Spin

pytestmark = pytest.mark.fast


def test_messages_split_and_joined_by_the_stream_come_out_whole_and_in_order() -> None:
    spin = Spin("wheel", "p" + "a" * 24, "A1", 3, "phone-cookie-0123", None)
    sent = [
        ("rules", {"store": "S1"}, None),
        ("spin", 1, spin),
        ("ok", 1, Outcome({"play": spin.play_id, "prize": {"id": "p10"}}, "printer-1")),
    ]
    stream = b"".join(frame(m) for m in sent)
    frames = Frames()
    got: list[tuple[object, ...]] = []
    # A byte at a time: nothing comes out before a message is whole.
    for i in range(len(stream)):
        frames.feed(stream[i : i + 1])
        got.extend(frames)
    assert got == sent
    # All at once, twice over: both, in order.
    frames.feed(stream + stream)
    assert list(frames) == sent + sent
    assert list(frames) == []
