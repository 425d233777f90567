"""One entry per durable commit, as a service posts a request at a time, against a raw single-row commit.

aidledger posts one keyed payment per ``post`` call (its own transaction, every
check, the hash chain, a durable commit).  The limit commits one row of the
entries table per transaction through the driver, with the same durability
(SQLite: WAL, synchronous=FULL; PostgreSQL: fsync on).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from aidledger import Ledger
from aidledger.testing import PostgresServer
from benchmarks.conftest import SINGLE, record
from benchmarks.workload import ENTRY_COLUMNS, fresh_ledger, ids, payments, raw_batches

RATES: dict[str, float] = {}
ENTRY_INSERT = f"INSERT INTO entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({{marks}})"


def post_each(ledger: Ledger, entries: list[Any]) -> None:
    for entry in entries:
        ledger.post(entry)
    ledger.close()


def entry_rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    return [row for rows in raw_batches(SINGLE, ids(ledger), first_seq=2) for row in rows["entries"]]


def test_single_sqlite_aidledger(benchmark: Any) -> None:
    """aidledger on SQLite: one entry per post, each a durable commit."""
    entries = payments(SINGLE)

    def setup() -> tuple[tuple[Ledger, list[Any]], dict[str, Any]]:
        return (fresh_ledger(f"sqlite:///{Path(tempfile.mkdtemp()) / 'single.db'}", SINGLE), entries), {}

    benchmark.pedantic(post_each, setup=setup, rounds=3)
    RATES["sqlite"] = SINGLE / benchmark.stats.stats.min


def test_single_sqlite_raw(benchmark: Any) -> None:
    """sqlite3: one entries row per transaction, WAL and synchronous=FULL."""

    def setup() -> tuple[tuple[sqlite3.Connection, list[Any]], dict[str, Any]]:
        ledger = fresh_ledger(f"sqlite:///{Path(tempfile.mkdtemp()) / 'single.db'}", SINGLE)
        rows, path = entry_rows(ledger), ledger.engine.url.database
        ledger.close()
        connection = sqlite3.connect(str(path), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return (connection, rows), {}

    def insert(connection: sqlite3.Connection, rows: list[Any]) -> None:
        sql = ENTRY_INSERT.format(marks=", ".join(["?"] * len(ENTRY_COLUMNS)))
        for row in rows:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(sql, row)
            connection.execute("COMMIT")
        connection.close()

    benchmark.pedantic(insert, setup=setup, rounds=3)
    rate = SINGLE / benchmark.stats.stats.min
    record("single durable post, SQLite (entries/s)", RATES["sqlite"], "entries/s", limit=rate, target="≥ 70%")


def test_single_postgresql_aidledger(benchmark: Any, postgres: PostgresServer) -> None:
    """aidledger on PostgreSQL (fsync on): one entry per post, each a durable commit."""
    entries = payments(SINGLE)
    benchmark.pedantic(
        post_each, setup=lambda: ((fresh_ledger(postgres.create_database(), SINGLE), entries), {}), rounds=3
    )
    RATES["postgresql"] = SINGLE / benchmark.stats.stats.min


def test_single_postgresql_raw(benchmark: Any, postgres: PostgresServer) -> None:
    """psycopg: one entries row per transaction, fsync on."""
    import psycopg

    def setup() -> tuple[tuple[Any, list[Any]], dict[str, Any]]:
        ledger = fresh_ledger(postgres.create_database(), SINGLE)
        rows, url = entry_rows(ledger), ledger.engine.url
        ledger.close()
        connection = psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database)
        return (connection, rows), {}

    def insert(connection: Any, rows: list[Any]) -> None:
        sql = ENTRY_INSERT.format(marks=", ".join(["%s"] * len(ENTRY_COLUMNS)))
        for row in rows:
            connection.execute(sql, row)
            connection.commit()
        connection.close()

    benchmark.pedantic(insert, setup=setup, rounds=3)
    rate = SINGLE / benchmark.stats.stats.min
    record("single durable post, PostgreSQL (entries/s)", RATES["postgresql"], "entries/s", limit=rate, target="≥ 70%")
