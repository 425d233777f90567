"""Shared set-up of the benchmarks: sizes, the PostgreSQL server, and the report of ratios.

Run them with ``scripts/bench`` (see the README).  Every figure is measured in
the same run as the database's own limit, and reported as a ratio; the table
is printed at the end and written to ``benchmarks/results.json`` so that a later
change can be compared with today.  Environment variables shrink the sizes
(the test suite runs them tiny, as a smoke test, and then writes nothing).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from aidledger.testing import PostgresServer, PostgresUnavailable, find_bindir

#: Entries per posting run (batches of BATCH), and single durable posts.
ENTRIES = int(os.environ.get("AIDLEDGER_BENCH_ENTRIES", "20000"))
SINGLE = int(os.environ.get("AIDLEDGER_BENCH_SINGLE", "300"))
#: Postings in the ledger the query latencies are measured on.
POSTINGS = int(os.environ.get("AIDLEDGER_BENCH_POSTINGS", "1000000"))
#: Size of the campaign whose peak memory is measured (1 = the whole motivating case).
SCALE = os.environ.get("AIDLEDGER_BENCH_SCALE", "1")
SMOKE = any(name.startswith("AIDLEDGER_BENCH_") for name in os.environ)
RESULTS_FILE = Path(__file__).parent / "results.json"

#: name -> {"value": ..., "unit": ..., "limit": ..., "ratio": ..., "target": ...}
RESULTS: dict[str, dict[str, Any]] = {}


def record(name: str, value: float, unit: str, *, limit: float | None = None, target: str = "", note: str = "") -> None:
    """Keep one figure; ``limit`` is the raw database's figure for the same work.

    The ratio is aidledger's speed as a share of the raw speed: value / limit for
    rates, limit / value for times (``ms``, ``s``), so 100% means "as fast as the
    database itself" either way.
    """
    row: dict[str, Any] = {"value": value, "unit": unit, "target": target, "note": note}
    if limit is not None:
        row["limit"] = limit
        row["ratio"] = (limit / value if unit in ("ms", "s") else value / limit) if value and limit else None
    RESULTS[name] = row


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A durable PostgreSQL server (fsync on) for both sides of the PostgreSQL figures."""
    if find_bindir() is None:
        pytest.skip("no PostgreSQL binaries: install Debian's postgresql package (scripts/test does)")
    try:
        server = PostgresServer.start(durable=True)
    except PostgresUnavailable as error:
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()


def _previous() -> dict[str, dict[str, Any]]:
    """The figures of the last full run (``results.json`` before this run replaces it), by name."""
    try:
        return dict(json.loads(RESULTS_FILE.read_text())["results"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _measured_at() -> str:
    try:
        return str(json.loads(RESULTS_FILE.read_text())["measured_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return "at an unknown time"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


@pytest.fixture(scope="session", autouse=True)
def report() -> Iterator[None]:
    yield
    if not RESULTS:
        return
    before = _previous()
    lines = [
        "",
        f"{'benchmark':<44} {'before':>16} {'aidledger':>16} {'raw limit':>16} {'ratio':>8}  target",
    ]
    for name, row in RESULTS.items():
        limit = f"{_fmt(row['limit'])}" if "limit" in row else ""
        ratio = f"{row['ratio']:.1%}" if row.get("ratio") is not None else ""
        value = f"{_fmt(row['value'])} {row['unit']}"
        earlier = f"{_fmt(before[name]['value'])} {row['unit']}" if name in before else "-"
        lines.append(f"{name:<44} {earlier:>16} {value:>16} {limit:>16} {ratio:>8}  {row['target']}")
    print("\n".join(lines))
    if before:
        print(f"(before: {RESULTS_FILE.name} as it was, measured {_measured_at()})")
    if SMOKE:
        return
    RESULTS_FILE.write_text(
        json.dumps(
            {
                "measured_at": pendulum.now("UTC").to_iso8601_string(),
                "machine": {
                    "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version,
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                },
                "sizes": {"entries": ENTRIES, "single": SINGLE, "postings": POSTINGS, "campaign_scale": SCALE},
                "results": RESULTS,
            },
            indent=2,
        )
        + "\n"
    )
