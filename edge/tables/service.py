"""Tables: open/closed, QR versions. Functions take an open Session; the caller commits."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from contract.inventory import Inventory
from edge.db import make_engine
from edge.tables.models import DiningTable
from edge.tables.tokens import TableToken, TokenSigner


class TableNotFound(LookupError):
    pass


def sync_tables(session: Session, inventory: Inventory, now: float) -> None:
    """Add the inventory's new tables (open); keep state and QR versions of known ones."""
    known = {t.id: t for t in session.scalars(select(DiningTable))}
    for spec in inventory.all_tables():
        row = known.get(spec.id)
        if row is None:
            session.add(DiningTable(id=spec.id, name=spec.label, zone=spec.zone, opened_at=now))
        else:
            row.name, row.zone = spec.label, spec.zone


def current(session: Session, token: TableToken) -> DiningTable | None:
    """The table a verified token names, if the token is its current QR version."""
    row = session.get(DiningTable, token.table)
    return row if row is not None and row.qr_version == token.version else None


def get(session: Session, table_id: str) -> DiningTable:
    row = session.get(DiningTable, table_id)
    if row is None:
        raise TableNotFound(table_id)
    return row


def set_open(
    session: Session, table_id: str, is_open: bool, now: float, party_settled: bool
) -> DiningTable:
    """Open or close a table's QR code. Opening starts a new party (its page and bill start
    empty) only once the last one has settled: a table closed with its bill unpaid and opened
    again is the same party, so nothing it ordered falls off its bill."""
    row = get(session, table_id)
    if is_open and not row.is_open and party_settled:
        row.opened_at = now
    row.is_open = is_open
    return row


def rotate_qr(session: Session, table_id: str) -> DiningTable:
    row = get(session, table_id)
    row.qr_version += 1
    return row


def list_tables(session: Session) -> list[DiningTable]:
    return list(session.scalars(select(DiningTable).order_by(DiningTable.zone, DiningTable.id)))


def qr_links(db_path: Path, inventory: Inventory, signer: TokenSigner) -> list[tuple[str, str]]:
    """(table name, path of its diner page) for every table, with each table's current QR
    version from the hub's database (version 1 for a table the hub has not seen yet)."""
    versions: dict[str, int] = {}
    if db_path.exists():
        engine = make_engine(db_path)
        try:
            with Session(engine) as session:
                versions = {t.id: t.qr_version for t in session.scalars(select(DiningTable))}
        except OperationalError:
            versions = {}  # a hub database from before tables existed
        finally:
            engine.dispose()
    return [
        (spec.label, f"/t/{signer.sign(spec.id, versions.get(spec.id, 1))}")
        for spec in inventory.all_tables()
    ]
