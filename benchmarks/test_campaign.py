"""The whole motivating campaign through ``aidledger demo``: time, entries per second and peak memory; then
``aidledger reconcile`` and ``aidledger verify`` of the ledger it leaves, timed as an auditor runs them.

The demo runs in a child process (as a user runs it) on a fresh SQLite file;
peak memory is the child's maximum resident set size.  The campaign streams
its lists and batches, so memory should not grow with its size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.conftest import SCALE, record

#: The command, run in a child that reports its own peak resident set size (kB) on its last stderr line.
CHILD = """
import resource, sys
from aidledger.cli import main
try:
    main(sys.argv[1:])
finally:
    print("peak-kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def test_campaign_peak_memory() -> None:
    """aidledger demo at the configured scale (default: the full campaign), measured from outside."""
    directory = Path(tempfile.mkdtemp())
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "demo", str(directory / "demo.db"), "--scale", SCALE, "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["reconciliation"]["ok"]
    peak_mb = int(done.stderr.strip().splitlines()[-1].removeprefix("peak-kb ")) / 1024
    note = f"scale {SCALE}: {report['entries']:,} entries in {elapsed:.0f} s, reconciled"
    record("campaign peak memory (MB)", peak_mb, "MB", target="< 300 MB", note=note)
    record("campaign, whole demo (entries/s)", report["entries"] / elapsed, "entries/s", note=note)
    record("campaign, whole demo (s)", elapsed, "s", target="≤ 60 s", note=note)
    for command, target in (("reconcile", "≤ 10 s"), ("verify", "")):
        started = time.perf_counter()
        checked = subprocess.run(
            [sys.executable, "-m", "aidledger", command, str(directory / "demo.db"), "--json"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        took = time.perf_counter() - started
        assert checked.returncode == 0, checked.stderr[-3000:]
        if command == "verify":
            items = json.loads(checked.stdout)["items"]
            record("verify the campaign (items/s)", items / took, "items/s", target="≥ 200,000 items/s",
                   note=f"aidledger verify, {items:,} items in {took:.1f} s, process start included")  # fmt: skip
        else:
            record("reconcile the campaign (s)", took, "s", target=target, note=f"aidledger reconcile, scale {SCALE}")
