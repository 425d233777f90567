"""Balance-as-of and audit-totals latency on a ledger of 1,000,000+ postings, against the raw SQL aggregate.

The ledger is built through aidledger (payments spread over 240 days, each
with a region and a beneficiary).  The raw side computes the same figure with
one hand-written SQL aggregate over the postings through ``sqlite3``: the sum
up to a time for a balance; amounts, entries and distinct paid beneficiaries
per region for the audit totals.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aidledger import Ledger, Money, audit_totals, verify
from benchmarks.conftest import POSTINGS, record
from benchmarks.workload import AID, BATCH, FUND, T0, fresh_ledger, ids, micros, payments

ENTRIES = POSTINGS // 2
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[Ledger, sqlite3.Connection, dict[str, int]]]:
    path = Path(tempfile.mkdtemp()) / "million.db"
    ledger = fresh_ledger(f"sqlite:///{path}", ENTRIES)
    for start in range(0, ENTRIES, BATCH):
        ledger.post_many(payments(min(BATCH, ENTRIES - start), start=start))
    connection = sqlite3.connect(str(path))
    with ledger.engine.connect() as check:
        postings = check.exec_driver_sql("SELECT count(*) FROM postings").scalar_one()
    assert postings >= POSTINGS
    yield ledger, connection, ids(ledger)
    connection.close()
    ledger.close()


def moments(count: int) -> list[Any]:
    chooser = random.Random(2020)
    return [T0.add(seconds=chooser.randrange(240 * 86_400)) for _ in range(count)]


def test_balance_as_of(benchmark: Any, built: tuple[Ledger, sqlite3.Connection, dict[str, int]]) -> None:
    """Ledger.balance(account, fund, as_of=...) at random times."""
    ledger, _, _ = built
    times = moments(200)
    benchmark.pedantic(lambda: [ledger.balance(AID, FUND, as_of=t) for t in times], rounds=5)
    TIMES["balance"] = benchmark.stats.stats.mean / len(times)


def test_balance_raw_sum(benchmark: Any, built: tuple[Ledger, sqlite3.Connection, dict[str, int]]) -> None:
    """The raw aggregate: SUM(amount) of the account's postings up to the time, by its index."""
    ledger, connection, chart = built
    times = [micros(t) for t in moments(200)]
    sql = "SELECT coalesce(sum(amount), 0) FROM postings WHERE account_id = ? AND fund_id = ? AND effective_at <= ?"
    account, fund = chart[AID.code], chart["fund"]
    result = benchmark.pedantic(
        lambda: [connection.execute(sql, (account, fund, t)).fetchone()[0] for t in times], rounds=5
    )
    assert Money.from_minor(result[-1], AID.unit) == ledger.balance(AID, FUND, as_of=moments(200)[-1])
    raw = benchmark.stats.stats.mean / len(times)
    record("balance as of a time (ms)", TIMES["balance"] * 1000, "ms", limit=raw * 1000, target="< 1 ms",
           note=f"{POSTINGS:,} postings")  # fmt: skip


REGION_TOTALS = """
SELECT region, sum(amount), count(DISTINCT entry_seq), count(DISTINCT CASE WHEN net > 0 THEN beneficiary END)
FROM (
    SELECT r.value AS region, p.entry_seq, p.amount, b.value AS beneficiary,
           sum(p.amount) OVER (PARTITION BY r.value, b.value) AS net
    FROM postings p
    JOIN accounts a ON a.id = p.account_id AND a.type = 'expense'
    JOIN entry_tags r ON r.entry_seq = p.entry_seq AND r.name = 'region'
    LEFT JOIN entry_tags b ON b.entry_seq = p.entry_seq AND b.name = 'beneficiary'
)
GROUP BY region
"""


def test_audit_totals(benchmark: Any, built: tuple[Ledger, sqlite3.Connection, dict[str, int]]) -> None:
    """audit_totals(ledger, by=["region"]): amount, entries and distinct beneficiaries per region."""
    ledger, _, _ = built
    totals = benchmark.pedantic(lambda: audit_totals(ledger, by=["region"]), rounds=3)
    assert totals.entries == ENTRIES
    TIMES["totals"] = benchmark.stats.stats.mean


def test_audit_totals_raw(benchmark: Any, built: tuple[Ledger, sqlite3.Connection, dict[str, int]]) -> None:
    """The same figures from one hand-written SQL aggregate."""
    ledger, connection, _ = built
    rows = benchmark.pedantic(lambda: connection.execute(REGION_TOTALS).fetchall(), rounds=3)
    totals = audit_totals(ledger, by=["region"])
    assert sorted((r[0], r[1], r[2], r[3]) for r in rows) == sorted(
        (row["region"], row.amount.minor, row.entries, row.beneficiaries) for row in totals.rows
    )
    raw = benchmark.stats.stats.mean
    record("audit totals by region (s)", TIMES["totals"], "s", limit=raw, target="≤ 2x raw",
           note=f"{POSTINGS:,} postings")  # fmt: skip


#: What verify() reads: every row of the log and of what its items cover, each table in its order.
VERIFY_SCANS = (
    "SELECT * FROM log ORDER BY seq",
    "SELECT * FROM entries ORDER BY seq",
    "SELECT * FROM postings ORDER BY entry_seq, line",
    "SELECT * FROM entry_tags ORDER BY entry_seq, name",
    "SELECT * FROM claims ORDER BY entry_seq, scope, key",
    "SELECT * FROM claim_releases ORDER BY entry_seq, scope, key",
)


def test_verify(benchmark: Any, built: tuple[Ledger, sqlite3.Connection, dict[str, int]]) -> None:
    """verify(ledger): every item of the log recomputed from its rows, chained, and checked against them."""
    ledger, _, _ = built
    result = benchmark.pedantic(lambda: verify(ledger), rounds=1, iterations=1)
    assert result.ok
    TIMES["verify"] = benchmark.stats.stats.mean
    TIMES["items"] = result.items


def test_verify_raw_scan(benchmark: Any, built: tuple[Ledger, sqlite3.Connection, dict[str, int]]) -> None:
    """The raw limit: reading every row verify() reads, once, through sqlite3, without checking anything."""
    _, connection, _ = built
    benchmark.pedantic(lambda: [connection.execute(sql).fetchall() for sql in VERIFY_SCANS], rounds=1, iterations=1)
    items = TIMES["items"]
    record("verify the whole log (items/s)", items / TIMES["verify"], "items/s",
           limit=items / benchmark.stats.stats.mean, target="≥ 200,000 items/s",
           note=f"{items:,} items, {POSTINGS:,} postings")  # fmt: skip
