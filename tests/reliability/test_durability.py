"""Durability: SQLite runs in WAL mode with full synchronous commits, and a commit survives its process dying.

A child process posts, tells the parent what was committed, and is killed with
SIGKILL (by itself, right after the commit returned, or by the parent at a random
moment): no clean close, no checkpoint.  Every entry the parent was told of is in
the ledger afterwards, exactly as told, and the ledger verifies.

The longer setting: ``AIDLEDGER_RELIABILITY=long AIDLEDGER_HYPOTHESIS=long scripts/test tests/reliability``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Connection

from aidledger import Ledger, Money, reconcile, verify
from aidledger.store.engine import WRITE
from tests.reliability.workers import AMOUNT, BANK, DONATIONS, GENERAL, donation, post_and_die, post_until_killed

LONG: Final = os.environ.get("AIDLEDGER_RELIABILITY") == "long"
#: Times a posting process is killed at a random moment, per backend.
KILLS: Final = 50 if LONG else 3
#: The latest a kill comes after the process starts posting, in seconds.
LATEST: Final = 0.5
#: The seed of the kill times; set AIDLEDGER_SEED to use a given one.
SEED: Final = int(os.environ.get("AIDLEDGER_SEED") or random.SystemRandom().randrange(2**32))
#: SQLite's "synchronous" setting: 2 is FULL (the WAL is synced on every commit).
FULL: Final = 2


def define_chart(url: str) -> None:
    with Ledger.open(url) as ledger:
        ledger.add_account(BANK)
        ledger.add_account(DONATIONS)
        ledger.add_fund(GENERAL)


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_sqlite_defaults_to_wal_and_full_synchronous(tmp_path: Path) -> None:
    """A ledger opened from a bare file path is a WAL database whose connections, writers too, use synchronous=FULL."""
    path = tmp_path / "ledger.db"
    define_chart(str(path))
    # WAL mode is written into the file itself (header bytes 18 and 19), so every later opener uses it too.
    assert path.read_bytes()[18:20] == b"\x02\x02"
    with Ledger.open(str(path)) as ledger:
        with ledger.engine.connect() as first, ledger.engine.connect() as second:
            for connection in (first, second):
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == FULL
        # The connection that writes an entry, asked in the middle of its write transaction.
        seen: set[tuple[str, int]] = set()

        def ask(connection: Connection, cursor: Any, *_: object) -> None:
            if connection.get_execution_options().get(WRITE, False):
                raw = cursor.connection
                seen.add(
                    (raw.execute("PRAGMA journal_mode").fetchone()[0], raw.execute("PRAGMA synchronous").fetchone()[0])
                )

        event.listen(ledger.engine, "before_cursor_execute", ask)
        ledger.post(donation(1, 100, prefix="asked"))
        assert seen == {("wal", FULL)}


def test_committed_entry_survives_kill_right_after_commit(url: str, backend: str) -> None:
    """An entry whose post() returned survives the process being killed the next moment, without a checkpoint."""
    define_chart(url)
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=post_and_die, args=(url, "durable", send))
    child.start()
    send.close()
    try:
        assert receive.poll(120), f"the child said nothing (exit code {child.exitcode})"
        entry_id, seq, digest = receive.recv()
    finally:
        child.join(60)
        receive.close()
    assert child.exitcode == -signal.SIGKILL
    if backend == "sqlite":
        # The commit is in the write-ahead log only: the main file, read alone, does not have it yet.
        path = sqlite_path(url)
        assert Path(f"{path}-wal").stat().st_size > 0
        with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as alone:
            assert alone.execute("SELECT count(*) FROM entries").fetchone() == (0,)
    with Ledger.open(url) as ledger:
        posted = ledger.entry_by_key("durable-0")
        assert posted is not None
        assert (posted.id, posted.seq, posted.hash) == (entry_id, seq, digest)
        assert ledger.balance(BANK) == Money("123.45", "KZT")
        assert verify(ledger).ok
        assert reconcile(ledger).ok


def test_every_answered_commit_survives_random_kills(url: str) -> None:
    """A process posting one entry after another is killed at random; every entry it was answered for is there."""
    define_chart(url)
    rng = random.Random(SEED)
    context = multiprocessing.get_context("spawn")
    answered_in_all = 0
    donated = 0  # minor units: entry number n of each round gives n tiyn
    for round_ in range(KILLS):
        prefix = f"round-{round_}"
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=post_until_killed, args=(url, prefix, send))
        child.start()
        send.close()
        answered: dict[int, str] = {}
        try:
            assert receive.poll(120), f"the child said nothing (exit code {child.exitcode})"
            assert receive.recv() == ("ready", "")
            deadline = time.monotonic() + rng.uniform(0, LATEST)
            while (left := deadline - time.monotonic()) > 0:
                if receive.poll(left):
                    number, entry_id = receive.recv()
                    answered[number] = entry_id
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
            child.join(60)
            while True:  # what the child said before it died is still in the pipe
                try:
                    number, entry_id = receive.recv()
                except EOFError:
                    break
                answered[number] = entry_id
        finally:
            if child.is_alive():
                child.kill()
            child.join(60)
            receive.close()
        assert child.exitcode == -signal.SIGKILL
        with Ledger.open(url) as ledger:
            result = reconcile(ledger)
            assert result.ok, result.failed
            mine = {
                int(str(e.entry.idempotency_key).rsplit("-", 1)[1]): e.id
                for e in ledger.entries()
                if str(e.entry.idempotency_key).startswith(f"{prefix}-")
            }
            donated += sum(mine)
            # Every answered entry is there as answered; at most one more (committed, its answer cut off).
            assert {n: mine.get(n) for n in answered} == answered
            assert set(mine) in ({*answered}, {*answered, len(answered) + 1}), (sorted(mine), sorted(answered))
            assert ledger.balance(BANK) == Money.from_minor(donated, AMOUNT.unit)
        answered_in_all += len(answered)
    assert answered_in_all > 0
