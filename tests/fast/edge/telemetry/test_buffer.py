"""The buffer of points waiting for InfluxDB (edge/telemetry/buffer.py): in the hub's SQLite
file, bounded (the oldest go first, counted), drained oldest first by id."""

from edge.telemetry import buffer
from tests.fast.helpers import StoreDb, points


def _add(db: StoreDb, *lines: str) -> None:
    with db.sessions.begin() as s:
        buffer.buffer_points(s, list(lines))


def test_points_leave_oldest_first_and_only_what_was_read(db: StoreDb) -> None:
    _add(db, "p 1", "p 2", "p 3")
    with db.reads() as s:
        read = buffer.oldest(s, 2)
    assert [line for _, line in read] == ["p 1", "p 2"]
    _add(db, "p 4")  # arrives while the sender posts what it read
    with db.sessions.begin() as s:
        buffer.remove_through(s, read[-1][0])
    with db.reads() as s:
        assert (points(s), buffer.backlog(s)) == (["p 3", "p 4"], 2)


def test_an_emptied_buffer_never_reuses_an_id(db: StoreDb) -> None:
    _add(db, "p 1", "p 2")
    with db.reads() as s:
        last_read = buffer.oldest(s, 10)[-1][0]
    with db.sessions.begin() as s:
        buffer.remove_through(s, last_read)
    _add(db, "p 3")
    with db.reads() as s:
        [(new_id, _)] = buffer.oldest(s, 10)
    assert new_id > last_read  # a late "remove through" of the old batch cannot take it


def test_past_its_bound_the_oldest_points_are_dropped_and_counted(db: StoreDb) -> None:
    _add(db, *(f"p {n}" for n in range(1, 11)))
    with db.sessions.begin() as s:
        assert buffer.trim(s, 10) == 0
        assert buffer.trim(s, 4) == 6
        assert buffer.trim(s, 4) == 0
    with db.reads() as s:
        assert points(s) == ["p 7", "p 8", "p 9", "p 10"]
    with db.sessions.begin() as s:
        assert buffer.trim(s, 0) == 4
        assert buffer.trim(s, 0) == 0  # empty: nothing to drop
    with db.reads() as s:
        assert buffer.backlog(s) == 0
