"""Opening a database: URL checks, dialect settings, and migrations on first open.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed entry survives a
power loss) and a busy timeout; a write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue instead of failing with
``SQLITE_BUSY_SNAPSHOT``.  PostgreSQL runs at READ COMMITTED; writers serialise
on the ``ledger_head`` row (``SELECT ... FOR UPDATE``) and re-read what they
check after taking it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from aidledger.core.errors import LedgerUrlError

#: The newest migration; a test checks it is Alembic's head.
SCHEMA_REVISION: Final = "0001"
BUSY_TIMEOUT_MS: Final = 60_000
WRITE: Final = "aidledger_write"


def parse_url(url: str | URL) -> URL:
    """A SQLAlchemy URL for ``url``; a bare path means a SQLite file.

    ``postgresql://`` is read as ``postgresql+psycopg://``.  Errors never show the password.
    """
    if isinstance(url, URL):
        parsed = url
    elif isinstance(url, str) and url and "://" not in url:
        parsed = URL.create("sqlite", database=url)
    elif isinstance(url, str):
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise LedgerUrlError(f"not a database URL: {_hide_password(url)!r}", url=_hide_password(url)) from None
    else:
        raise LedgerUrlError(f"a database URL must be text, got {type(url).__name__}", url=None)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.get_driver_name() in ("psycopg2", "psycopg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise LedgerUrlError(
            f"aidledger runs on SQLite and PostgreSQL, not {backend!r} ({shown(parsed)})", url=shown(parsed)
        )
    return parsed


def _hide_password(text: str) -> str:
    """``text`` with anything between ``user:`` and ``@``, and any password in its query, masked, for messages."""
    head, sep, rest = text.partition("://")
    if not sep:
        return _hide_query_password(text)
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        if ":" in credentials:
            rest = f"{user}:***@{host}"
    return _hide_query_password(f"{head}://{rest}")


#: Query parameters that libpq reads as passwords (``?password=...`` works as well as ``user:password@``).
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)


def _hide_query_password(text: str) -> str:
    return _QUERY_PASSWORD.sub(r"\1***", text)


def shown(url: URL) -> str:
    """The URL as it may appear in messages and logs: its password hidden, in the user part or the query."""
    return _hide_query_password(url.render_as_string(hide_password=True))


def create(url: URL) -> Engine:
    """An engine with aidledger's settings for the URL's dialect."""
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return create_engine(url, isolation_level="READ COMMITTED", pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as error:
        raise LedgerUrlError(f"cannot use {shown(url)}: {error}", url=shown(url)) from None


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {}
    if in_memory:
        # One shared connection, so every part of the ledger sees the same memory database.
        kwargs = {"poolclass": pool.StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        path = Path(database)
        if not path.parent.exists():
            raise LedgerUrlError(f"no directory {str(path.parent)!r} for the ledger file", url=shown(url))
        if not path.exists():
            # Readable by its owner only, before SQLite writes anything into it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # Let SQLAlchemy's begin() emit our own BEGIN (pysqlite's would be deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creating it in an empty database)."""
    with engine.connect() as probe:
        if MigrationContext.configure(probe).get_current_revision() == SCHEMA_REVISION:
            return
    with engine.execution_options(**{WRITE: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes opening a new database at once: the second waits here.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7341021)")
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
