"""The benchmarks still run (tiny and untimed): a schema change cannot break them unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_benchmarks_run_at_smoke_size() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:randomly", "-s"],
        cwd=ROOT,
        env={
            **os.environ,
            "AIDLEDGER_BENCH_ENTRIES": "200",
            "AIDLEDGER_BENCH_SINGLE": "10",
            "AIDLEDGER_BENCH_POSTINGS": "2000",
            "AIDLEDGER_BENCH_SCALE": "0.001",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "posting, SQLite (entries/s)" in result.stdout and "campaign peak memory (MB)" in result.stdout
