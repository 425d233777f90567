"""Posting throughput of the ledger core against the raw database limit, in the same run.

Run with ``.venv/bin/python -m pytest benchmarks -s`` (not part of the test suite).  Each
round uses a fresh database; the raw side inserts the same rows (entries, postings,
tags, claims) with the same indexes through ``sqlite3.executemany``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pendulum
import pytest

from aidledger import Account, AccountType, Claim, Fund, JournalEntry, Ledger, Money, Posting, currency

ENTRIES = int(os.environ.get("AIDLEDGER_BENCH_ENTRIES", "20000"))
BATCH = min(5_000, ENTRIES)
KZT = currency("KZT")
BANK = Account("Assets:Bank", AccountType.ASSET, KZT)
GIFTS = Account("Revenue:Donations", AccountType.REVENUE, KZT)
AID = Account("Expenses:CashAid", AccountType.EXPENSE, KZT)
FUND = Fund("CASH-AID")
T0 = pendulum.datetime(2020, 4, 1, tz="Asia/Almaty")
RESULTS: dict[str, float] = {}


def payments() -> list[JournalEntry]:
    amount = Money("50000", KZT)
    return [
        JournalEntry(
            "payment",
            T0.add(days=1),
            [Posting.debit(AID, FUND, amount), Posting.credit(BANK, FUND, amount)],
            actor="payments",
            idempotency_key=f"pay-{n}",
            tags={"region": "Abai"},
            claims=[Claim("one-off", f"hh-{n}")],
        )
        for n in range(ENTRIES)
    ]


def fresh_ledger(directory: Path) -> Ledger:
    ledger = Ledger.open(str(directory / "bench.db"))
    for account in (BANK, GIFTS, AID):
        ledger.add_account(account)
    ledger.add_fund(FUND)
    gift = Money("100000000000", KZT)
    ledger.post(
        JournalEntry("donation", T0, [Posting.debit(BANK, FUND, gift), Posting.credit(GIFTS, FUND, gift)], actor="x")
    )
    return ledger


def test_aidledger_posting(benchmark: Any) -> None:
    """Entries per second through post_many, every invariant on, durable commits."""
    entries = payments()

    def setup() -> tuple[tuple[Ledger], dict[str, Any]]:
        return (fresh_ledger(Path(tempfile.mkdtemp())),), {}

    def post(ledger: Ledger) -> None:
        for start in range(0, ENTRIES, BATCH):
            ledger.post_many(entries[start : start + BATCH])
        ledger.close()

    benchmark.pedantic(post, setup=setup, rounds=3)
    RESULTS["aidledger"] = ENTRIES / benchmark.stats.stats.min


def test_raw_sqlite_executemany(benchmark: Any) -> None:
    """The same rows through sqlite3.executemany, same indexes, same durability: the database's limit."""

    def setup() -> tuple[tuple[sqlite3.Connection], dict[str, Any]]:
        ledger = fresh_ledger(Path(tempfile.mkdtemp()))
        path = ledger.engine.url.database
        ledger.close()
        connection = sqlite3.connect(str(path), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return (connection,), {}

    def insert(connection: sqlite3.Connection) -> None:
        for start in range(0, ENTRIES, BATCH):
            seqs = range(start + 2, start + BATCH + 2)
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT INTO entries (seq, id, idempotency_key, kind, effective_at, effective_tz, recorded_at, actor, memo,"
                " source, reverses, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        s,
                        f"id-{s}",
                        f"pay-{s}",
                        "payment",
                        1,
                        "Asia/Almaty",
                        2,
                        "payments",
                        "",
                        None,
                        None,
                        "0" * 64,
                        "1" * 64,
                    )
                    for s in seqs
                ],
            )
            connection.executemany(
                "INSERT INTO postings (entry_seq, line, account_id, fund_id, amount, effective_at) VALUES (?,?,?,?,?,?)",
                [(s, line, line, 1, 5_000_000 * (1 if line == 1 else -1), 1) for s in seqs for line in (1, 2)],
            )
            connection.executemany("INSERT INTO entry_tags VALUES (?,?,?)", [(s, "region", "Abai") for s in seqs])
            connection.executemany(
                "INSERT INTO claims (scope, key, generation, entry_seq) VALUES (?,?,?,?)",
                [("one-off", f"hh-{s}", 0, s) for s in seqs],
            )
            connection.execute("COMMIT")
        connection.close()

    benchmark.pedantic(insert, setup=setup, rounds=3)
    RESULTS["raw"] = ENTRIES / benchmark.stats.stats.min


@pytest.fixture(scope="module", autouse=True)
def report() -> Any:
    yield
    if {"aidledger", "raw"} <= RESULTS.keys():
        ratio = RESULTS["aidledger"] / RESULTS["raw"]
        line = (
            f"campaign posting on SQLite: aidledger {RESULTS['aidledger']:.0f} entries/s, raw executemany "
            f"{RESULTS['raw']:.0f} entries/s, ratio {ratio:.1%}"
        )
        print("\n" + line)
        if "AIDLEDGER_BENCH_ENTRIES" not in os.environ:  # a smoke run does not overwrite the figures
            Path("benchmarks/results.json").write_text(json.dumps({**RESULTS, "ratio": ratio}, indent=2) + "\n")
        assert RESULTS["aidledger"] > 0 and RESULTS["raw"] > 0
