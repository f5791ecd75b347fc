"""Sold-out marks (edge/menu/service.py: MenuState): stored in the caller's transaction,
served from memory once committed, kept across a new menu."""

import pytest
from sqlalchemy import select

from contract.menu import MenuFile
from edge.menu.models import SoldOut
from edge.menu.service import MenuState, SoldOutMark, UnknownDish
from tests.fast.helpers import NOW, STAFF, StoreDb


def _mark(
    db: StoreDb, state: MenuState, dish: str, sold_out: bool = True, by: str = STAFF
) -> SoldOutMark:
    """As the staff route does: the row in a transaction, then the mark to serve."""
    with db.sessions.begin() as s:
        return state.set_sold_out(s, dish, sold_out, by, NOW)


def _stored(db: StoreDb) -> list[tuple[str, str]]:
    with db.reads() as s:
        return [(r.dish_id, r.by) for r in s.scalars(select(SoldOut).order_by(SoldOut.dish_id))]


def test_a_mark_is_served_once_committed_and_stored_once(db: StoreDb, menu: MenuFile) -> None:
    state = MenuState(menu, set())
    marked = _mark(db, state, "fish")
    assert (marked, state.sold_out) == (SoldOutMark("fish", True), frozenset())  # not served yet
    assert state.commit(marked) == {"fish"}
    assert state.sold_out == {"fish"}
    # Marked again by someone else: still one row, the first one's.
    state.commit(_mark(db, state, "fish", by="bob"))
    assert _stored(db) == [("fish", STAFF)]
    state.commit(_mark(db, state, "fish", sold_out=False))
    assert (state.sold_out, _stored(db)) == (frozenset(), [])


def test_an_unknown_dish_cannot_be_marked(db: StoreDb, menu: MenuFile) -> None:
    state = MenuState(menu, set())
    with pytest.raises(UnknownDish):
        _mark(db, state, "lobster")
    assert _stored(db) == []


def test_marks_survive_a_restart_and_a_new_menu(db: StoreDb, menu: MenuFile) -> None:
    state = MenuState(menu, set())
    state.commit(_mark(db, state, "beer"))
    with db.reads() as s:
        restarted = MenuState.load(s, menu)
    assert restarted.sold_out == {"beer"}
    newer = menu.model_copy(update={"version": "hq-7"})
    restarted.replace(newer)
    assert (restarted.menu.version, restarted.sold_out) == ("hq-7", frozenset({"beer"}))


def test_two_staff_marking_at_once_both_count(db: StoreDb, menu: MenuFile) -> None:
    state = MenuState(menu, set())
    alice = _mark(db, state, "kungpao", by="alice")  # committed; her commit() not yet called
    bob = _mark(db, state, "fish", by="bob")
    state.commit(alice)
    state.commit(bob)
    assert _stored(db) == [("fish", "bob"), ("kungpao", "alice")]
    assert state.sold_out == {"fish", "kungpao"}
