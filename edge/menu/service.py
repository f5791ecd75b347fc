"""The menu the hub serves: the loaded file plus the sold-out marks."""

import threading
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from contract.menu import MenuFile
from edge.menu.models import SoldOut


class UnknownDish(LookupError):
    pass


class MenuState:
    """Read by every request, changed by staff: one object, swapped whole under a lock."""

    def __init__(self, menu: MenuFile, sold_out: set[str]) -> None:
        self._lock = threading.Lock()
        self._menu = menu
        self._sold_out = frozenset(sold_out)

    @classmethod
    def load(cls, session: Session, menu: MenuFile) -> "MenuState":
        return cls(menu, set(session.scalars(select(SoldOut.dish_id))))

    def replace(self, menu: MenuFile) -> None:
        """A new menu (from HQ); sold-out marks of dishes it still has stay."""
        with self._lock:
            self._menu = menu

    @property
    def menu(self) -> MenuFile:
        return self._menu

    @property
    def sold_out(self) -> frozenset[str]:
        return self._sold_out

    def set_sold_out(
        self, session: Session, dish_id: str, sold_out: bool, staff: str, now: float
    ) -> "SoldOutMark":
        """In the caller's transaction; the served set changes when `commit()` is called with
        what this returns, after the transaction committed."""
        if self._menu.dish(dish_id) is None:
            raise UnknownDish(dish_id)
        if sold_out:
            if session.get(SoldOut, dish_id) is None:
                session.add(SoldOut(dish_id=dish_id, since=now, by=staff))
        else:
            session.execute(delete(SoldOut).where(SoldOut.dish_id == dish_id))
        return SoldOutMark(dish_id, sold_out)

    def commit(self, mark: "SoldOutMark") -> frozenset[str]:
        """Serve one committed mark; the set now served. The one change is applied to the set
        current under the lock: two staff marking two dishes at once both count."""
        with self._lock:
            current = self._sold_out
            self._sold_out = current | {mark.dish} if mark.sold_out else current - {mark.dish}
            return self._sold_out


@dataclass(frozen=True, slots=True)
class SoldOutMark:
    dish: str
    sold_out: bool
