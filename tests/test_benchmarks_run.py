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
        env={**os.environ, "AIDLEDGER_BENCH_ENTRIES": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
