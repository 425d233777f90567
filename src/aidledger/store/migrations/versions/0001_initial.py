"""The initial schema: journal tables, maintained balances, append-only triggers.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aidledger.core.hashing import GENESIS
from aidledger.store import triggers

#: The append-only tables of this revision (later revisions add their own).
APPEND_ONLY = (
    "units",
    "accounts",
    "funds",
    "entries",
    "postings",
    "entry_tags",
    "claims",
    "claim_releases",
    "period_closes",
    "records",
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", sa.String(24), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("exponent", sa.Integer, nullable=False),
        sa.Column("measure", sa.String(32)),
    )
    for name in ("accounts", "funds"):
        extra = (
            [
                sa.Column("type", sa.String(16), nullable=False),
                sa.Column("unit_code", sa.String(24), sa.ForeignKey("units.code"), nullable=False),
                sa.Column("normal_side", sa.Integer, nullable=False),
            ]
            if name == "accounts"
            else [sa.Column("purpose", sa.String(1100)), sa.Column("restriction", sa.String(16), nullable=False)]
        )
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("code", sa.String(1100), nullable=False, unique=True),
            sa.Column("name", sa.Text, nullable=False),
            *extra,
            sa.Column("allow_negative", sa.Boolean, nullable=False),
        )
    op.create_table(
        "entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(500), unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("effective_at", sa.BigInteger, nullable=False),
        sa.Column("effective_tz", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("source", sa.String(500)),
        sa.Column("reverses", sa.String(36), unique=True),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> actor", name="ck_entries_checker_not_maker"),
    )
    op.create_index("ix_entries_effective", "entries", ["effective_at"])
    op.create_index("ix_entries_recorded", "entries", ["recorded_at"])
    op.create_table(
        "postings",
        sa.Column("entry_seq", sa.BigInteger, sa.ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
        sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("fund_id", sa.Integer, sa.ForeignKey("funds.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("effective_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount <> 0", name="ck_postings_nonzero"),
    )
    op.create_index("ix_postings_account_fund_time", "postings", ["account_id", "fund_id", "effective_at"])
    op.create_table(
        "entry_tags",
        sa.Column("entry_seq", sa.BigInteger, sa.ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
    )
    op.create_index("ix_entry_tags_name_value", "entry_tags", ["name", "value"])
    for name in ("claims", "claim_releases"):
        op.create_table(
            name,
            sa.Column("scope", sa.String(200), primary_key=True),
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("entry_seq", sa.BigInteger, sa.ForeignKey("entries.seq"), nullable=False),
        )
    op.create_index("ix_claims_entry", "claims", ["entry_seq"])
    op.create_index("ix_claim_releases_entry", "claim_releases", ["entry_seq"])
    op.create_table(
        "records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("code", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(500)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("kind", "code", name="uq_records_kind_code"),
    )
    op.create_index("ix_records_kind_subject", "records", ["kind", "subject"])
    op.create_table(
        "period_closes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("closed_through", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "balances",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True, autoincrement=False),
        sa.Column("fund_id", sa.Integer, sa.ForeignKey("funds.id"), primary_key=True, autoincrement=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("last_effective", sa.BigInteger, nullable=False),
        sa.Column("postings", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "balance_days",
        sa.Column("account_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("fund_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_ledger_head_single"),
    )
    op.execute(
        sa.text("INSERT INTO ledger_head (id, seq, hash, recorded_at) VALUES (1, 0, :genesis, 0)").bindparams(
            genesis=GENESIS
        )
    )
    triggers.create(op.get_bind(), APPEND_ONLY, frozen=False, approved=False)


def downgrade() -> None:
    raise NotImplementedError("an append-only ledger is never migrated down")
