"""Dump a ledger's tables and load them into another database, with SQLAlchemy Core only.

The library offers no dump or copy function, so an auditor who moves a ledger
from SQLite to PostgreSQL (or back) copies the rows table by table: every
table in foreign-key order, each in the order of its primary key (``seq`` for
the journal).  The append-only triggers allow INSERT, so a copy needs no
special rights; only the single ``ledger_head`` row is updated in place.

The same dump also serves the tampering tests: it is the template a tampered
database is compared with and restored from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidledger import Ledger
from aidledger.store import schema as t
from aidledger.store import triggers

#: Every table of the schema, parents before children, and the log last: once an entry is in the
#: log, the database refuses rows added to it (pg_dump and sqlite3's .dump also create triggers last).
TABLES: tuple[sa.Table, ...] = (*(table for table in t.metadata.sorted_tables if table is not t.log), t.log)

Dump = dict[str, list[tuple[Any, ...]]]


def dump(connection: Connection) -> Dump:
    """Every row of every table, by table name, in primary-key order (``seq`` order for the journal)."""
    rows: Dump = {}
    for table in TABLES:
        query = sa.select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in connection.execute(query)]
    return rows


def _insert(connection: Connection, table: sa.Table, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        names = [column.name for column in table.columns]
        connection.execute(sa.insert(table), [dict(zip(names, row, strict=True)) for row in rows])


def load(connection: Connection, rows: Mapping[str, Sequence[Sequence[Any]]]) -> None:
    """Insert a dump into an empty, migrated ledger database (its ``ledger_head`` row is updated)."""
    for table in TABLES:
        if table is t.ledger_head:
            continue
        _insert(connection, table, rows[table.name])
    ((_, seq, hash_, recorded),) = rows[t.ledger_head.name]
    connection.execute(sa.update(t.ledger_head).values(seq=seq, hash=hash_, recorded_at=recorded))


def copy_ledger(source: Ledger, target_url: str) -> Ledger:
    """A new ledger at ``target_url`` (created empty by :meth:`Ledger.open`) holding a copy of ``source``."""
    with source.engine.connect() as connection:
        rows = dump(connection)
    target = Ledger.open(target_url)
    with target.engine.begin() as connection:
        load(connection, rows)
    return target


def restore(connection: Connection, rows: Mapping[str, Sequence[Sequence[Any]]]) -> None:
    """Put the rows of a database back to ``rows`` exactly, whatever was done to them (in the caller's transaction).

    The triggers are held back while the tables are emptied and refilled: on
    PostgreSQL for this transaction only (``session_replication_role``, which
    needs a superuser), on SQLite by dropping and creating them again.
    """
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    else:
        triggers.drop(connection)
    for table in reversed(TABLES):
        connection.execute(sa.delete(table))
    for table in TABLES:
        _insert(connection, table, rows[table.name])
    if not postgres:
        triggers.create(connection)
