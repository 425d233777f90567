"""Single durable posts from concurrent writers on PostgreSQL (fsync on), against one writer posting alone.

A service posts a request at a time, from several threads or processes.  The
threads of one process share a Ledger, and posts that arrive while another is
being written share its transaction and its commit (group commit,
``aidledger.ledger.group``).  Processes each open their own Ledger; the
ledger's write lock orders them, and each commit is its own flush.  The
figure is posts per second, and the ratio is against one writer's rate
measured in the same run.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

from aidledger import Ledger
from aidledger.testing import PostgresServer
from benchmarks.conftest import SINGLE, record
from benchmarks.workload import fresh_ledger, payments

THREADS = 8
PROCESSES = 4
RATES: dict[str, float] = {}


def _post_from_threads(ledger: Ledger, entries: list[Any], threads: int) -> float:
    """Seconds for ``threads`` threads sharing ``ledger`` to post ``entries`` one by one."""
    shares = [entries[n::threads] for n in range(threads)]
    errors: list[BaseException] = []

    def post(share: list[Any]) -> None:
        try:
            for entry in share:
                ledger.post(entry)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    workers = [threading.Thread(target=post, args=(share,)) for share in shares]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    assert errors == [], errors[:1]
    return elapsed


def _process(url: str, start: int, count: int, ready: Any, go: Any, done: Any) -> None:
    """One writer process: open the ledger, wait for the start, post its share, report its end time."""
    entries = payments(count, start)
    with Ledger.open(url) as ledger:
        ready.put(None)
        go.wait()
        for entry in entries:
            ledger.post(entry)
        done.put(time.perf_counter())


def _post_from_processes(url: str, total: int, processes: int) -> float:
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    share = total // processes
    workers = [
        context.Process(target=_process, args=(url, n * share, share, ready, go, done)) for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    ends = [done.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    return max(ends) - started


def test_one_writer(postgres: PostgresServer) -> None:
    """One thread posting alone: the rate the others are compared with."""
    ledger = fresh_ledger(postgres.create_database(), SINGLE)
    RATES["one"] = SINGLE / _post_from_threads(ledger, payments(SINGLE), 1)
    ledger.close()


def test_threads_sharing_a_ledger(postgres: PostgresServer) -> None:
    """Eight threads sharing one Ledger: posts that arrive together share a commit."""
    ledger = fresh_ledger(postgres.create_database(), SINGLE)
    rate = SINGLE / _post_from_threads(ledger, payments(SINGLE), THREADS)
    ledger.close()
    record(
        f"single posts, {THREADS} threads, PostgreSQL (posts/s)", rate, "posts/s",
        limit=RATES["one"], target="≥ 3x one writer", note=f"against one writer: {RATES['one']:,.0f} posts/s",
    )  # fmt: skip


def test_processes_each_with_a_ledger(postgres: PostgresServer) -> None:
    """Four processes, each with its own Ledger on the same database."""
    url = postgres.create_database()
    fresh_ledger(url, SINGLE).close()
    total = SINGLE - SINGLE % PROCESSES
    rate = total / _post_from_processes(url, total, PROCESSES)
    record(
        f"single posts, {PROCESSES} processes, PostgreSQL (posts/s)", rate, "posts/s",
        limit=RATES["one"], target="≥ 3x one writer", note=f"against one writer: {RATES['one']:,.0f} posts/s",
    )  # fmt: skip
