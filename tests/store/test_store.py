"""Opening databases: URLs, SQLite settings, file permissions and migrations."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from aidledger import Ledger, LedgerUrlError, StorageError, verify
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


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    """Opening an existing ledger again finds its chart and does not migrate twice."""
    from tests.conftest import Chart

    path = tmp_path / "ledger.db"
    with Ledger.open(str(path)) as ledger:
        ledger.add_account(Chart.bank)
    with Ledger.open(f"sqlite:///{path}") as ledger:
        assert ledger.account("Assets:Bank:KZT") == Chart.bank


def test_new_sqlite_file_is_private(tmp_path: Path) -> None:
    """A new ledger file is readable and writable by its owner only."""
    path = tmp_path / "private.db"
    Ledger.open(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sqlite_is_durable_wal(tmp_path: Path) -> None:
    """SQLite files run in WAL mode with synchronous=FULL and foreign keys on."""
    with Ledger.open(str(tmp_path / "l.db")) as ledger, ledger.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_in_memory_ledger() -> None:
    """sqlite:// opens a private in-memory ledger."""
    with Ledger.open("sqlite://") as ledger:
        assert verify(ledger).ok
        assert ledger.url == "sqlite://"


class TestUrls:
    def test_password_never_shows(self) -> None:
        """A bad or unreachable URL's error hides its password."""
        with pytest.raises(LedgerUrlError) as raised:
            Ledger.open("mysql://auditor:s3cret-pw@db.example/ledger")
        assert "s3cret-pw" not in str(raised.value)
        assert "***" in str(raised.value)
        with pytest.raises(StorageError) as refused:
            Ledger.open("postgresql://auditor:s3cret-pw@127.0.0.1:1/ledger?connect_timeout=2")
        assert "s3cret-pw" not in str(refused.value)

    @pytest.mark.parametrize("url", ["nonsense://", "://", 42, "postgresql+nosuchdriver://x/y"])
    def test_unusable_urls(self, url: object) -> None:
        """Unknown schemes, drivers and non-text URLs raise LedgerUrlError."""
        with pytest.raises(LedgerUrlError):
            Ledger.open(url)  # type: ignore[arg-type]

    def test_missing_directory(self, tmp_path: Path) -> None:
        """A SQLite file in a directory that does not exist is refused, not created."""
        with pytest.raises(LedgerUrlError, match="no directory"):
            Ledger.open(str(tmp_path / "missing" / "l.db"))

    def test_postgresql_scheme_means_psycopg(self) -> None:
        """postgresql:// is read as postgresql+psycopg://."""
        assert store_engine.parse_url("postgresql://u:p@h/d").drivername == "postgresql+psycopg"
