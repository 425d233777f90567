"""``import aidledger`` in a fresh interpreter, against the interpreter importing ``sqlite3`` (the raw limit).

Both run as a child process, as a user's script starts; compiled bytecode is
cached in a temporary folder first (``PYTHONPYCACHEPREFIX``), as it is in an
installed package, so that neither side pays for compiling sources.  The
figure is the best of several runs.  ``import aidledger`` loads the ledger, the
money and the aid operations; the queries, exports and file readers load with
their first name, so the note also gives the time of importing every public name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from benchmarks.conftest import SMOKE, record

RUNS = 3 if SMOKE else 15


def best_start(code: str, env: dict[str, str]) -> float:
    """The shortest wall time, in ms, of a fresh interpreter running ``code``."""
    subprocess.run([sys.executable, "-c", code], env=env, check=True)  # writes the bytecode cache
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def test_import_time() -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp()
    raw = best_start("import sqlite3", env)
    aidledger = best_start("import aidledger", env)
    sqlalchemy = best_start("import sqlalchemy", env)
    everything = best_start("from aidledger import *", env)
    note = f"import sqlalchemy alone: {sqlalchemy:.0f} ms; every public name (from aidledger import *): {everything:.0f} ms"
    record("import aidledger (ms)", aidledger, "ms", limit=raw, target="≤ 300 ms", note=note)
