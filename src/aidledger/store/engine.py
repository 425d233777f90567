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

from sqlalchemy import create_engine, event, inspect, pool, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from aidledger.core.errors import LedgerUrlError, NotALedger, SchemaMismatch

#: The newest migration; a test checks it is Alembic's head.
SCHEMA_REVISION: Final = "0004"
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


def create(url: URL, *, read_only: bool = False, create_file: bool = True) -> Engine:
    """An engine with aidledger's settings for the URL's dialect.

    ``read_only=True`` never creates a file and opens every connection so that
    the database itself refuses writes: SQLite with ``mode=ro``, PostgreSQL with
    ``default_transaction_read_only``.  With ``read_only`` or without
    ``create_file``, a SQLite file that does not exist is :class:`NotALedger`.
    """
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url, read_only=read_only, create_file=create_file and not read_only)
        if read_only:
            url = _with_option(url, "-c default_transaction_read_only=on")
        engine = create_engine(url, isolation_level="READ COMMITTED", pool_pre_ping=True)
        event.listen(engine, "checkin", _server_access_mode)
        return engine
    except (ArgumentError, NoSuchModuleError) as error:
        raise LedgerUrlError(f"cannot use {shown(url)}: {error}", url=shown(url)) from None


def _server_access_mode(dbapi_connection: Any, _: Any) -> None:
    """Let a pooled connection's transactions start as the server says (a plain ``BEGIN``).

    A read-only snapshot sets psycopg's ``read_only``, and SQLAlchemy resets it
    to ``False`` on check-in, so every later transaction on that connection
    would start with ``BEGIN READ WRITE``: refused by a hot standby (even for
    reading) and overriding ``default_transaction_read_only`` of a read-only
    ledger.  ``None`` leaves the access mode to the server.
    """
    if dbapi_connection is not None:
        dbapi_connection.read_only = None


def _with_option(url: URL, option: str) -> URL:
    """``url`` with a server option added to libpq's ``options`` (keeping any the URL has, e.g. a search_path)."""
    given = url.query.get("options", ())
    options = [given] if isinstance(given, str) else list(given)
    return url.update_query_dict({"options": " ".join([*options, option])})


def _sqlite_engine(url: URL, *, read_only: bool, create_file: bool) -> Engine:
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
        if not create_file and not path.is_file():
            raise NotALedger(f"no ledger at {shown(url)}: the file {database!r} does not exist", url=shown(url))
        if read_only:
            # The file is opened through a URI with mode=ro: SQLite refuses every write, and creates nothing.
            url = url.set(database=f"{path.resolve().as_uri()}?mode=ro", query={**url.query, "uri": "true"})
        elif not path.exists():
            # Readable by its owner only, before SQLite writes anything into it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # Let SQLAlchemy's begin() emit our own BEGIN (pysqlite's would be deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory and not read_only:
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


#: Tables every aidledger schema has, whatever its revision.
_LEDGER_TABLES: Final = ("entries", "postings", "accounts", "funds", "units")


def check_schema(engine: Engine, shown_url: str, *, allow_older: bool = False) -> None:
    """Refuse a database that is not an aidledger ledger of exactly this library's schema revision.

    :class:`NotALedger` when it has no aidledger schema (an empty or foreign
    database), :class:`SchemaMismatch` when its revision is older (open it for
    writing once to migrate; ``allow_older`` lets it through for that) or one
    this library does not know (a newer one).
    """
    with engine.connect() as probe:
        tables = set(inspect(probe).get_table_names())
        revision = _current_revision(probe) if _VERSION_TABLE in tables else None
    missing = [name for name in _LEDGER_TABLES if name not in tables]
    if revision is None or missing:
        what = "it is empty" if not tables else f"it has no {', '.join(missing) or 'alembic_version'} table"
        raise NotALedger(f"{shown_url} is not an aidledger ledger: {what}", url=shown_url)
    if revision == SCHEMA_REVISION:
        return
    if revision in known_revisions() and allow_older:
        return
    if revision in known_revisions():
        raise SchemaMismatch(
            f"the ledger at {shown_url} has schema revision {revision}, older than this library's {SCHEMA_REVISION}; "
            "migrate it once with `aidledger migrate` (or open it for writing with Ledger.open)",
            url=shown_url,
            revision=revision,
        )
    raise SchemaMismatch(
        f"the ledger at {shown_url} has schema revision {revision!r}, which this library ({SCHEMA_REVISION}) does not "
        f"know: it was written by a newer aidledger; upgrade aidledger to read it",
        url=shown_url,
        revision=revision,
    )


_MIGRATIONS: Final = Path(__file__).parent / "migrations"
_VERSION_TABLE: Final = "alembic_version"


def _current_revision(connection: Connection) -> str | None:
    """The revision in Alembic's version table (which must exist), read with one query: opening a current
    ledger never loads Alembic.

    ``None`` when the table has no row; several rows (branches this library never makes) read as one
    revision no migration knows.
    """
    rows = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars().all()
    return ",".join(sorted(rows)) or None


def known_revisions() -> frozenset[str]:
    """Every schema revision this library's migrations know (and can migrate from)."""
    from alembic.script import ScriptDirectory  # Alembic is loaded only when a migration is needed

    return frozenset(script.revision for script in ScriptDirectory(str(_MIGRATIONS)).walk_revisions())


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creating it in an empty database)."""
    with engine.connect() as probe:
        current = _current_revision(probe) if inspect(probe).has_table(_VERSION_TABLE) else None
    if current == SCHEMA_REVISION:
        return
    if current is not None and current not in known_revisions():
        raise SchemaMismatch(
            f"the ledger has schema revision {current!r}, which this library ({SCHEMA_REVISION}) does not know: "
            f"it was written by a newer aidledger; upgrade aidledger to open it",
            revision=current,
        )
    with engine.execution_options(**{WRITE: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes opening a new database at once: the second waits here.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7341021)")
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
