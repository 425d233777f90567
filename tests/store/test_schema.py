"""The schema: what the migrations build is exactly schema.py, at the revision the engine expects."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from aidledger import Ledger
from aidledger.store import engine as store_engine
from aidledger.store.schema import metadata


def test_migrated_schema_matches_the_tables(ledger: Ledger) -> None:
    """A database built by the migrations has exactly the tables, columns and indexes of schema.py."""
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_schema_revision_is_the_newest_migration() -> None:
    """The revision the ledger checks on open is Alembic's head."""
    config = Config()
    config.set_main_option("script_location", str(Path(store_engine.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == store_engine.SCHEMA_REVISION
