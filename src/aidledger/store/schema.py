"""The database schema (SQLAlchemy Core), generic: it knows journals, not aid.

Amounts are signed integer minor units (BigInteger) and times are integer UTC
microseconds, so neither SQLite's REAL nor its time-zone-less DATETIME can
bend them.  Journal tables are append-only (see :mod:`aidledger.store.triggers`);
``balances``, ``balance_days`` and ``ledger_head`` are maintained caches that the
ledger rebuilds from the journal and that ``reconcile`` compares with it.

Changing a table here needs a new Alembic migration in ``store/migrations``; a
test compares a migrated database with this module.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

units = Table(
    "units",
    metadata,
    Column("code", String(24), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("exponent", Integer, nullable=False),
    Column("measure", String(32)),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(1100), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("unit_code", String(24), ForeignKey("units.code"), nullable=False),
    Column("normal_side", Integer, nullable=False),
    Column("allow_negative", Boolean, nullable=False),
)

funds = Table(
    "funds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(1100), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("purpose", String(1100)),
    Column("restriction", String(16), nullable=False),
    Column("allow_negative", Boolean, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(36), nullable=False, unique=True),
    Column("idempotency_key", String(500), unique=True),
    Column("kind", String(64), nullable=False),
    Column("effective_at", BigInteger, nullable=False),
    Column("effective_tz", String(64), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("memo", Text, nullable=False),
    Column("source", String(500)),
    Column("reverses", String(36), unique=True),
    Column("approved_by", String(200)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Maker and checker are two people, whatever writes the row.
    CheckConstraint("approved_by IS NULL OR approved_by <> actor", name="ck_entries_checker_not_maker"),
    Index("ix_entries_effective", "effective_at"),
    Index("ix_entries_recorded", "recorded_at"),
)

postings = Table(
    "postings",
    metadata,
    Column("entry_seq", BigInteger, ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("fund_id", Integer, ForeignKey("funds.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    # A copy of the entry's effective time, so a balance as of a time is one index range.
    Column("effective_at", BigInteger, nullable=False),
    CheckConstraint("amount <> 0", name="ck_postings_nonzero"),
    Index("ix_postings_account_fund_time", "account_id", "fund_id", "effective_at"),
)

entry_tags = Table(
    "entry_tags",
    metadata,
    Column("entry_seq", BigInteger, ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
    Column("name", String(64), primary_key=True),
    Column("value", String(500), nullable=False),
    Index("ix_entry_tags_name_value", "name", "value"),
)

# A claim's nth taking is generation n; it is free again once generation n is released.
claims = Table(
    "claims",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("entry_seq", BigInteger, ForeignKey("entries.seq"), nullable=False),
    Index("ix_claims_entry", "entry_seq"),
)

claim_releases = Table(
    "claim_releases",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("entry_seq", BigInteger, ForeignKey("entries.seq"), nullable=False),
    Index("ix_claim_releases_entry", "entry_seq"),
)

# Hash-chained records beside the journal: definitions, pending batches and the
# decisions on them.  A decision's actor is never the maker of its subject.
records = Table(
    "records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(64), nullable=False),
    Column("code", String(500), nullable=False),
    Column("subject", String(500)),
    Column("actor", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("kind", "code", name="uq_records_kind_code"),
    Index("ix_records_kind_subject", "kind", "subject"),
)

period_closes = Table(
    "period_closes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("closed_through", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# The one log: every write that changes what the ledger says is one item here, in
# one gap-free sequence, each hashing the item's own hash and its predecessor.
log = Table(
    "log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("ref", String(500), nullable=False),
    Column("item", String(64), nullable=False),
    # The newest entry's number at this item: what a digest of the log covers of the journal.
    Column("entries", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("kind", "ref", name="uq_log_kind_ref"),
    Index("ix_log_entries", "entries"),
)

# --- maintained caches (rebuildable from the journal) -------------------------

balances = Table(
    "balances",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True, autoincrement=False),
    Column("fund_id", Integer, ForeignKey("funds.id"), primary_key=True, autoincrement=False),
    Column("total", BigInteger, nullable=False),
    Column("last_effective", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
)

balance_days = Table(
    "balance_days",
    metadata,
    Column("account_id", Integer, primary_key=True, autoincrement=False),
    Column("fund_id", Integer, primary_key=True, autoincrement=False),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("delta", BigInteger, nullable=False),
)

ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="ck_ledger_head_single"),
)

#: Tables whose rows are never updated or deleted.
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
    "log",
)
