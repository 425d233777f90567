"""Inclusion and consistency proofs on a log of 1,000,000 items, against the raw look-up of the nodes they need.

The log is filled through the library's own append (``aidledger.store.log.append``,
which also appends the tree's nodes), with entry items in batches of 50,000:
posting a million entries would measure posting, not proofs.  A proof reads
O(log n) stored nodes in one query, recomputes the item's leaf from the log,
and is checked by the standalone verifier before it is returned; the raw side
reads the same node rows by key through ``sqlite3``.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aidledger import Ledger, consistency_proof, inclusion_proof, tree_digest
from aidledger.core import merkle
from aidledger.store import log, tree
from benchmarks.conftest import POSTINGS, record

#: Items of the log (the size of the postings benchmark: 1,000,000 unless shrunk).
ITEMS = POSTINGS
CHUNK = 50_000
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[Ledger, sqlite3.Connection]]:
    path = Path(tempfile.mkdtemp()) / "log.db"
    ledger = Ledger.open(f"sqlite:///{path}")
    for start in range(0, ITEMS, CHUNK):
        items = [log.Item("entry", str(n), f"{n:064x}", n) for n in range(start + 1, min(start + CHUNK, ITEMS) + 1)]
        with ledger.engine.begin() as connection:
            log.append(connection, items)
    assert tree_digest(ledger).size == ITEMS
    connection = sqlite3.connect(str(path))
    yield ledger, connection
    connection.close()
    ledger.close()


def positions(count: int) -> list[int]:
    chooser = random.Random(17)
    return [chooser.randrange(1, ITEMS + 1) for _ in range(count)]


def test_inclusion_proof(benchmark: Any, built: tuple[Ledger, sqlite3.Connection]) -> None:
    """inclusion_proof(ledger, item) against the tree now: nodes read, leaf recomputed, proof checked."""
    ledger, _ = built
    seqs = positions(100)
    benchmark.pedantic(lambda: [inclusion_proof(ledger, seq) for seq in seqs], rounds=3)
    TIMES["inclusion"] = benchmark.stats.stats.mean / len(seqs) * 1000


def test_inclusion_raw_nodes(benchmark: Any, built: tuple[Ledger, sqlite3.Connection]) -> None:
    """The raw limit: the same node rows, read by key in one query through sqlite3."""
    _, connection = built
    queries = []
    for seq in positions(100):
        keys = tree.keys([*merkle.inclusion_ranges(seq - 1, ITEMS), (seq - 1, seq)])
        where = " OR ".join(f"(level = {level} AND idx = {idx})" for level, idx in keys)
        queries.append(f"SELECT level, idx, hash FROM log_tree WHERE {where}")
    benchmark.pedantic(lambda: [connection.execute(q).fetchall() for q in queries], rounds=3)
    raw = benchmark.stats.stats.mean / len(queries) * 1000
    record(f"inclusion proof, {ITEMS:,}-item log (ms)", TIMES["inclusion"], "ms", limit=raw, target="< 50 ms")


def test_consistency_proof(benchmark: Any, built: tuple[Ledger, sqlite3.Connection]) -> None:
    """consistency_proof(ledger, old) from an earlier digest to the tree now."""
    ledger, _ = built
    sizes = positions(20)
    with ledger.snapshot() as connection:
        leaves_root = {size: merkle.root_from(_source(connection), size).hex() for size in sizes}
    olds = [f"tree:{size}:{root}" for size, root in leaves_root.items()]
    benchmark.pedantic(lambda: [consistency_proof(ledger, old) for old in olds], rounds=3)
    record(
        f"consistency proof, {ITEMS:,}-item log (ms)",
        benchmark.stats.stats.mean / len(olds) * 1000,
        "ms",
        target="< 50 ms",
    )


def _source(connection: Any) -> merkle.NodeSource:
    def source(start: int, size: int) -> bytes:
        level = size.bit_length() - 1
        return tree.nodes(connection, [(level, start >> level)])[(level, start >> level)]

    return source
