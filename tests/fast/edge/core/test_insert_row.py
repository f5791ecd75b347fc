"""Rows written straight to SQLite (edge/db.insert_row): what the ORM's flush would have
written, defaults and JSON included, and a duplicate refused the way a flush refuses it."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from edge.db import insert_row
from edge.games.models import GamePlay
from edge.members.models import PointsEntry
from tests.fast.helpers import StoreDb


def _entry(entry_id: str) -> PointsEntry:
    return PointsEntry(id=entry_id, member_id="m1", points=10, cause="earn", at=1.0, by="t")


def test_a_row_reads_back_as_the_orm_would_have_written_it(db: StoreDb) -> None:
    play = GamePlay(
        id="play-1",
        campaign="wheel",
        kind="wheel",
        once="bill-1",
        day="2026-11-28",
        at=1.0,
        status="asked",
        question={"dish": "tea", "choices": ["tea", "rice"]},
    )
    with db.sessions.begin() as s:
        insert_row(s, _entry("e-1"))
        insert_row(s, play)
        # Seen by the transaction that wrote it, before any commit.
        assert s.scalar(select(PointsEntry.points).where(PointsEntry.id == "e-1")) == 10
    assert play.flag == "" and play.cost_fen == 0  # the defaults, on the object too
    with db.reads() as s:
        entry = s.get(PointsEntry, "e-1")
        assert entry is not None and (entry.reason, entry.ref, entry.offline) == ("", "", False)
        row = s.get(GamePlay, "play-1")
        assert row is not None and row.question == {"dish": "tea", "choices": ["tea", "rice"]}
        assert (row.prize, row.prize_kind, row.member_id, row.answer) == ("", "none", None, None)


def test_a_duplicate_is_refused_and_a_savepoint_undoes_only_its_own_rows(db: StoreDb) -> None:
    with db.sessions.begin() as s:
        insert_row(s, _entry("e-1"))
        with pytest.raises(IntegrityError), s.begin_nested():
            insert_row(s, _entry("e-2"))
            insert_row(s, _entry("e-1"))  # the same id again
    with db.reads() as s:
        assert s.scalars(select(PointsEntry.id)).all() == ["e-1"]
