"""Group commit: single posts from threads sharing a Ledger that arrive together share one transaction, and each
is still checked, refused and made idempotent on its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import event

from aidledger import (
    Claim,
    DuplicateClaim,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidArgument,
    JournalEntry,
    Ledger,
    Money,
    PostedEntry,
    reconcile,
    verify,
)
from aidledger.ledger.group import GroupCommit
from tests.conftest import KZT, T0, Chart
from tests.helpers import transfer

Outcome = PostedEntry | BaseException


def queued_together(ledger: Ledger, entries: list[JournalEntry]) -> tuple[list[Outcome], int]:
    """Post ``entries`` from one thread each, queued in this order while the writer is held, then let them go:
    the outcome of each post, and the number of commits the database saw."""
    group = ledger._group
    outcomes: list[Outcome | None] = [None] * len(entries)
    commits: list[object] = []

    def post(index: int) -> None:
        try:
            outcomes[index] = ledger.post(entries[index])
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(entries))]
    counted: Callable[..., None] = lambda *_: commits.append(None)  # noqa: E731
    with group._leader:
        for number, thread in enumerate(threads, start=1):
            thread.start()
            wait_until(lambda n=number: len(group._queue) == n)
        event.listen(ledger.engine, "commit", counted)
    try:
        for thread in threads:
            thread.join()
    finally:
        event.remove(ledger.engine, "commit", counted)
    return [o for o in outcomes if o is not None], len(commits)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the threads did not queue")
        time.sleep(0.001)


def test_posts_queued_together_share_one_commit_and_are_refused_alone(ledger: Ledger, chart: type[Chart]) -> None:
    """Six posts in one commit: two posted, a retry answered with the first result, a key reused for another
    entry, a claim taken twice and an overdraft refused, each alone; the ledger verifies and reconciles."""
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "100", T0, kind="donation"))

    def pay(amount: str, **extra: object) -> JournalEntry:
        return transfer(chart.cash_aid, chart.bank, chart.general, amount, T0.add(hours=1), **extra)  # type: ignore[arg-type]

    entries = [
        pay("10", key="pay-1"),
        pay("10", key="pay-1"),  # a retry of the same request
        pay("11", key="pay-1"),  # the key reused for another entry
        pay("20", claims=[Claim("programme", "hh-1")]),
        pay("20", claims=[Claim("programme", "hh-1")]),  # the household again
        pay("1000"),  # more than the bank holds
    ]
    outcomes, commits = queued_together(ledger, entries)
    assert commits == 1
    first = outcomes[0]
    assert isinstance(first, PostedEntry)
    assert outcomes[1] == first
    assert isinstance(outcomes[2], IdempotencyConflict)
    assert isinstance(outcomes[3], PostedEntry) and outcomes[3].seq == first.seq + 1
    assert isinstance(outcomes[4], DuplicateClaim)
    assert isinstance(outcomes[5], InsufficientBalance)
    assert ledger.balance(chart.cash_aid) == Money("30", KZT)
    assert ledger.head().seq == 3
    assert verify(ledger).ok and reconcile(ledger).ok


def test_posts_queued_together_are_written_as_one_batch(ledger: Ledger, chart: type[Chart]) -> None:
    """Five posts none of which is refused: one commit, consecutive numbers, a retry answered in place."""
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "100", T0, kind="donation"))
    entries = [
        transfer(chart.cash_aid, chart.bank, chart.general, str(n), T0.add(hours=1), key=f"pay-{n % 4}")
        for n in range(1, 5)
    ]
    outcomes, commits = queued_together(ledger, [*entries, entries[0]])
    assert commits == 1
    assert [o.seq for o in outcomes if isinstance(o, PostedEntry)] == [2, 3, 4, 5, 2]
    assert ledger.balance(chart.cash_aid) == Money("10", KZT)
    assert verify(ledger).ok and reconcile(ledger).ok


def test_many_threads_post_each_key_once(ledger: Ledger, chart: type[Chart]) -> None:
    """Eight threads post 200 keyed entries, each key from two threads: every key posted once, every result
    the entry posted under its key, and the chain intact."""
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "1000000", T0, kind="donation"))
    results: dict[str, set[str]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def post(worker: int) -> None:
        try:
            for n in range(50):
                key = f"pay-{(worker % 4) * 50 + n}"
                amount = str((worker % 4) * 50 + n + 1)
                posted = ledger.post(
                    transfer(chart.cash_aid, chart.bank, chart.general, amount, T0.add(hours=1), key=key)
                )
                with lock:
                    results.setdefault(key, set()).add(posted.id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=post, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 200 and all(len(ids) == 1 for ids in results.values())
    assert ledger.head().seq == 201
    assert ledger.balance(chart.cash_aid) == Money(str(sum(range(1, 201))), KZT)
    assert verify(ledger).ok and reconcile(ledger).ok


def test_a_post_inside_a_write_of_the_same_thread_is_refused(ledger: Ledger, chart: type[Chart]) -> None:
    """A post from a transact build function is refused as a nested write; it never waits for a group."""
    entry = transfer(chart.bank, chart.donations, chart.general, "10", T0, kind="donation")
    with pytest.raises(InvalidArgument, match="inside another write transaction"):
        ledger.transact(lambda _view: [ledger.post(entry)])
    assert ledger.head().seq == 0


def test_an_error_of_the_whole_group_is_every_post_s_outcome() -> None:
    """When the group's transaction fails, each waiting post raises that error; a later group is written anew."""
    calls: list[list[int]] = []

    def write(items: list[int]) -> list[int | BaseException]:
        calls.append(items)
        if len(calls) == 1:
            raise OSError("disk full")
        return [item * 10 for item in items]

    group: GroupCommit[int, int] = GroupCommit(write)
    outcomes: list[object] = [None] * 3

    def submit(index: int) -> None:
        try:
            outcomes[index] = group.submit(index)
        except OSError as error:
            outcomes[index] = error

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(3)]
    with group._leader:
        for number, thread in enumerate(threads, start=1):
            thread.start()
            wait_until(lambda n=number: len(group._queue) == n)
    for thread in threads:
        thread.join()
    assert calls == [[0, 1, 2]]
    assert all(isinstance(o, OSError) for o in outcomes)
    assert group.submit(7) == 70
