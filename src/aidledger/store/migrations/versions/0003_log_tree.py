"""The log as a Merkle tree: the ``log_tree`` table of its perfect subtrees, built for the log as it is.

The nodes are derived from the log's items (RFC 9162 leaf hashes of their
canonical texts) and appended with every later item; no hash of the log
changes, so every digest taken before still names its item.  The table is
append-only like the log.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aidledger.store import tree, triggers

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_tree",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT seq, kind, ref, item, entries, prev_hash FROM log ORDER BY seq"))
    tree.build(connection, rows)
    triggers.create(connection, ("log_tree",), checker=False, frozen=False, approved=False)


def downgrade() -> None:
    raise NotImplementedError("an append-only ledger is never migrated down")
