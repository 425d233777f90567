"""Alembic environment: migrations run on a connection the ledger hands in."""

from __future__ import annotations

from alembic import context

from aidledger.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
