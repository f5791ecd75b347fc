"""The tables domain: the store's tables, their parties (open, closed, paid) and the signed
QR code each one carries."""

import time

from fastapi import APIRouter
from sqlalchemy.orm import Session

from edge.core.domain import Domain, HubContext
from edge.orders import errors
from edge.tables import service
from edge.tables.models import DiningTable
from edge.tables.tokens import TokenSigner


class TablesDomain(Domain):
    name = "tables"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.signer = TokenSigner(hub.settings.secret_key.get_secret_value(), hub.store)
        with hub.sessions.begin() as session:
            service.sync_tables(session, hub.inventory, time.time())

    @classmethod
    def router(cls) -> APIRouter:
        from edge.tables.routes import router

        return router

    def table_for(self, session: Session, token: str) -> DiningTable:
        """The table a diner's QR token names, if it is the table's current code."""
        signed = self.signer.verify(token)
        table = service.current(session, signed) if signed is not None else None
        if table is None:
            raise errors.bad_token()
        return table

    def token_of(self, table: DiningTable) -> str:
        return self.signer.sign(table.id, table.qr_version)
