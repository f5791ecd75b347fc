"""Alembic's environment for the hub's SQLite: the connection comes from edge.db.migrate (one
transaction around the whole upgrade), the models from every domain (for autogenerate)."""

from alembic import context

import edge.domains  # noqa: F401 - every domain's models register their tables on Base
from edge.db import Base

config = context.config
target_metadata = Base.metadata

connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the hub's migrations run through edge.db.migrate (or `smartstore hub`), "
        "which hands Alembic the database connection"
    )
# Batch mode: SQLite alters most things by copying the table, which Alembic does for us.
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
