"""Campaign posting throughput against the database's own limit, on SQLite and PostgreSQL.

aidledger posts payments in batches of 5,000 through ``post_many`` with every
invariant on (chart, balance per entry and fund, no overdraft at any effective
time, once-only claims, idempotency keys, the hash chain, the maintained
balances), each batch one durable transaction.  The limit writes exactly the
same rows through the driver in the same transactions: ``sqlite3.executemany``
on SQLite, ``COPY`` on PostgreSQL.  Each round starts from a fresh database.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from aidledger import Ledger
from aidledger.testing import PostgresServer
from benchmarks.conftest import ENTRIES, record
from benchmarks.workload import (
    BATCH,
    COLUMNS,
    UPDATE_HEAD,
    UPSERT_BALANCE,
    UPSERT_DAY,
    fresh_ledger,
    ids,
    insert_sql,
    payments,
    raw_batches,
)

ROUNDS = 3
RATES: dict[str, float] = {}


def post_all(ledger: Ledger, entries: list[Any]) -> None:
    for start in range(0, len(entries), BATCH):
        ledger.post_many(entries[start : start + BATCH])
    ledger.close()


def sqlite_url() -> str:
    return f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"


def test_sqlite_aidledger(benchmark: Any) -> None:
    """aidledger on SQLite: entries per second, every invariant on, durable commits."""
    entries = payments(ENTRIES)
    benchmark.pedantic(post_all, setup=lambda: ((fresh_ledger(sqlite_url(), ENTRIES), entries), {}), rounds=ROUNDS)
    RATES["sqlite"] = ENTRIES / benchmark.stats.stats.min


def test_sqlite_raw_executemany(benchmark: Any) -> None:
    """The same rows through sqlite3.executemany, same indexes and durability: SQLite's limit from Python."""

    def setup() -> tuple[tuple[sqlite3.Connection, list[Any]], dict[str, Any]]:
        ledger = fresh_ledger(sqlite_url(), ENTRIES)
        chart, path = ids(ledger), ledger.engine.url.database
        ledger.close()
        connection = sqlite3.connect(str(path), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return (connection, list(raw_batches(ENTRIES, chart, first_seq=2))), {}

    def insert(connection: sqlite3.Connection, batches: list[Any]) -> None:
        for rows in batches:
            connection.execute("BEGIN IMMEDIATE")
            for table in COLUMNS:
                connection.executemany(insert_sql(table, "?"), rows[table])
            connection.executemany(UPSERT_BALANCE.format(m="?"), rows["balances"])
            connection.executemany(UPSERT_DAY.format(m="?"), rows["balance_days"])
            connection.executemany(UPDATE_HEAD.format(m="?"), rows["head"])
            connection.execute("COMMIT")
        connection.close()

    benchmark.pedantic(insert, setup=setup, rounds=ROUNDS)
    rate = ENTRIES / benchmark.stats.stats.min
    record("posting, SQLite (entries/s)", RATES["sqlite"], "entries/s", limit=rate, target="≥ 50% of executemany")


def test_postgresql_aidledger(benchmark: Any, postgres: PostgresServer) -> None:
    """aidledger on PostgreSQL (fsync on): entries per second, every invariant on."""
    entries = payments(ENTRIES)
    benchmark.pedantic(
        post_all, setup=lambda: ((fresh_ledger(postgres.create_database(), ENTRIES), entries), {}), rounds=ROUNDS
    )
    RATES["postgresql"] = ENTRIES / benchmark.stats.stats.min


def test_postgresql_raw_copy(benchmark: Any, postgres: PostgresServer) -> None:
    """The same rows through psycopg's COPY, in the same transactions: PostgreSQL's limit from Python."""
    import psycopg

    def setup() -> tuple[tuple[Any, list[Any]], dict[str, Any]]:
        ledger = fresh_ledger(postgres.create_database(), ENTRIES)
        chart, url = ids(ledger), ledger.engine.url
        ledger.close()
        connection = psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=False
        )
        return (connection, list(raw_batches(ENTRIES, chart, first_seq=2))), {}

    def copy(connection: Any, batches: list[Any]) -> None:
        with connection.cursor() as cursor:
            for rows in batches:
                for table, columns in COLUMNS.items():
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copying:
                        for row in rows[table]:
                            copying.write_row(row)
                cursor.executemany(UPSERT_BALANCE.format(m="%s"), rows["balances"])
                cursor.executemany(UPSERT_DAY.format(m="%s"), rows["balance_days"])
                cursor.executemany(UPDATE_HEAD.format(m="%s"), rows["head"])
                connection.commit()
        connection.close()

    benchmark.pedantic(copy, setup=setup, rounds=ROUNDS)
    rate = ENTRIES / benchmark.stats.stats.min
    record("posting, PostgreSQL (entries/s)", RATES["postgresql"], "entries/s", limit=rate, target="≥ 50% of COPY")
