"""What diners and staff get of the menu (docs/ordering-api.md)."""

from typing import Any

from contract.menu import MAX_LINES, MAX_QTY, NOTE_MAX, MenuFile

MEDIA_PREFIX = "/media/"


def menu_public(menu: MenuFile, sold_out: frozenset[str]) -> dict[str, Any]:
    dishes = []
    for d in menu.dishes:
        item = d.model_dump(exclude={"station", "picture"})
        item["picture"] = MEDIA_PREFIX + d.picture if d.picture else None
        item["sold_out"] = d.id in sold_out
        dishes.append(item)
    return {
        "version": menu.version,
        "categories": [c.model_dump() for c in menu.categories],
        "dishes": dishes,
        "limits": {"max_qty": MAX_QTY, "max_lines": MAX_LINES, "note_max": NOTE_MAX},
    }
