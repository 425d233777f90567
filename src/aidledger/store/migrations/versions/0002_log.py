"""The one log: every write is an item of one hash-chained sequence.

Creates the ``log`` table with its append-only triggers and the rule that an
entry's rows are frozen once the entry is in the log, then logs what an
older ledger holds: its chart definitions first (units by code, accounts and
funds by id), then its entries, period closes and records in the order they
were recorded (ties: entries, then closes, then records).  Existing hashes
are not changed: an entry's digest taken before the migration still names it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from aidledger.store import log, triggers

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(500), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("entries", sa.BigInteger, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("kind", "ref", name="uq_log_kind_ref"),
    )
    op.create_index("ix_log_entries", "log", ["entries"])
    connection = op.get_bind()
    log.append(connection, _existing_items(connection), tree=False)
    triggers.create(connection, ("log",), checker=False, approved=False)


def _existing_items(connection: sa.Connection) -> list[log.Item]:
    items = [
        log.definition_item(kind, row._mapping)
        for kind, table, order in (("unit", "units", "code"), ("account", "accounts", "id"), ("fund", "funds", "id"))
        for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY {order}"))
    ]
    timed: list[tuple[int, int, int, log.Item]] = []
    for rank, (kind, table) in enumerate((("entry", "entries"), ("close", "period_closes"), ("record", "records"))):
        rows: Any = connection.execute(sa.text(f"SELECT seq, hash, recorded_at FROM {table}"))
        for row in rows:
            item = log.Item(kind, str(row.seq), row.hash, row.seq if kind == "entry" else None)
            timed.append((row.recorded_at, rank, row.seq, item))
    timed.sort(key=lambda found: found[:3])
    return items + [item for *_, item in timed]


def downgrade() -> None:
    raise NotImplementedError("an append-only ledger is never migrated down")
