"""The database enforces the approval policies: an entry above the policy in force needs its approvals.

Adds the rule of :func:`aidledger.store.triggers.sqlite_approved` (on PostgreSQL,
the function ``aidledger_entry_approved()`` and its trigger): the log refuses
an entry's item when the approval policies recorded before it ask for more
distinct approvals than the entry's batch has.  No table changes and no hash
changes; entries logged before the upgrade are checked by ``reconcile``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from aidledger.store import triggers

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    triggers.create(op.get_bind(), (), checker=False, frozen=False, approved=True)


def downgrade() -> None:
    raise NotImplementedError("an append-only ledger is never migrated down")
