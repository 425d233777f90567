"""Opening databases: URLs, SQLite settings, file permissions, read-only opens and the revision check."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from aidledger import Ledger, LedgerUrlError, StorageError, verify
from aidledger.core.errors import NotALedger, SchemaMismatch
from aidledger.store import engine as store_engine


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


class TestReadOnly:
    """An auditor's open: nothing created, nothing written, nothing but a ledger accepted."""

    def test_a_missing_file_is_not_a_ledger_and_is_not_created(self, tmp_path: Path) -> None:
        """A read-only open of a path that does not exist names it and creates no file."""
        path = tmp_path / "typo.db"
        with pytest.raises(NotALedger, match=r"typo\.db"):
            store_engine.create(store_engine.parse_url(str(path)), read_only=True)
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize("tables", [[], ["CREATE TABLE people (name TEXT)"]], ids=["empty", "foreign"])
    def test_a_database_without_the_schema_is_not_a_ledger(self, tmp_path: Path, tables: list[str]) -> None:
        """An empty file, or another application's database, is refused by name and left as it was."""
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as connection:
            for statement in tables:
                connection.execute(statement)
        before = path.read_bytes()
        engine = store_engine.create(store_engine.parse_url(str(path)), read_only=True)
        with pytest.raises(NotALedger, match="not an aidledger ledger"):
            store_engine.check_schema(engine, str(path))
        engine.dispose()
        assert path.read_bytes() == before

    def test_sqlite_refuses_writes(self, tmp_path: Path) -> None:
        """A read-only SQLite engine reads the ledger and the database refuses any write."""
        path = tmp_path / "ledger.db"
        Ledger.open(str(path)).close()
        engine = store_engine.create(store_engine.parse_url(str(path)), read_only=True)
        store_engine.check_schema(engine, str(path))
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM entries").scalar() == 0
            with pytest.raises(OperationalError, match="readonly"):
                connection.exec_driver_sql("INSERT INTO units VALUES ('X', 'currency', 0, NULL)")
        engine.dispose()

    @pytest.mark.postgres
    def test_postgresql_refuses_writes(self, tmp_path: Path, pg_database: str | None) -> None:
        """A read-only PostgreSQL engine keeps the URL's options (its search_path) and refuses writes."""
        from tests.conftest import new_url

        url = new_url("postgresql", tmp_path, pg_database)
        Ledger.open(url).close()
        engine = store_engine.create(store_engine.parse_url(url), read_only=True)
        store_engine.check_schema(engine, url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM entries").scalar() == 0
            with pytest.raises(DBAPIError, match="read-only transaction"):
                connection.exec_driver_sql("INSERT INTO units VALUES ('X', 'currency', 0, NULL)")
        engine.dispose()

    def test_an_older_or_unknown_revision_is_named(self, tmp_path: Path) -> None:
        """A revision this library does not know is a SchemaMismatch on read and on a writable open alike."""
        path = tmp_path / "ledger.db"
        Ledger.open(str(path)).close()
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE alembic_version SET version_num = '0099'")
        engine = store_engine.create(store_engine.parse_url(str(path)), read_only=True)
        with pytest.raises(SchemaMismatch, match=r"'0099'.*newer aidledger"):
            store_engine.check_schema(engine, str(path))
        engine.dispose()
        with pytest.raises(SchemaMismatch, match="'0099'"):
            Ledger.open(str(path))
