"""Exactly once under retries: lost answers, dropped connections and serialization failures never post twice.

The database is made to fail on purpose (see :class:`tests.reliability.workers.Faults`):
serialization failures and deadlocks at random statements, which the ledger retries
itself; and connections that drop just before or just after a commit, which reach
the caller as a StorageError, so that the caller retries the same call with the
same idempotency keys without knowing whether the first one was written.

The longer setting: ``AIDLEDGER_RELIABILITY=long AIDLEDGER_HYPOTHESIS=long scripts/test tests/reliability``.
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections import Counter
from collections.abc import Callable
from typing import Any, Final, TypeVar

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection

from aidledger import (
    Aid,
    IdempotencyConflict,
    Ledger,
    Money,
    PaymentLine,
    PaymentStatus,
    ProviderLine,
    StorageError,
    reconcile,
    verify,
)
from aidledger.store import schema as t
from tests.helpers import snapshot
from tests.reliability.workers import AMOUNT, APRIL, BANK, DONATIONS, GENERAL, Faults, beneficiary, donation

LONG: Final = os.environ.get("AIDLEDGER_RELIABILITY") == "long"
#: Keyed postings in the main test: 10,000 in every setting.
POSTINGS: Final = 10_000
#: How many of them go one call each; the others go in batches of 2 to 50 entries.
SINGLES: Final = 5_000 if LONG else 1_000
#: Chance that a statement of a write transaction fails with a serialization failure or deadlock.
SERIALIZATION: Final = 0.01
#: Chance that a commit's answer is lost (the connection drops right after the commit).
LOST_ANSWER: Final = 0.03
#: Chance that the connection drops just before a commit reaches the database.
LOST_COMMIT: Final = 0.01
#: A caller gives up after this many calls that failed (a test failure: it never happens in practice).
CALLS: Final = 25
#: The seed of the injected failures; set AIDLEDGER_SEED to replay a failure.
SEED: Final = int(os.environ.get("AIDLEDGER_SEED") or random.SystemRandom().randrange(2**32))

T = TypeVar("T")


def define_chart(ledger: Ledger) -> None:
    ledger.add_account(BANK)
    ledger.add_account(DONATIONS)
    ledger.add_fund(GENERAL)


def until_answered(call: Callable[[], T], tally: Counter[str]) -> T:
    """Make ``call`` again, unchanged, each time it fails with StorageError (as a careful client does)."""
    for _ in range(CALLS):
        try:
            return call()
        except StorageError:
            tally["calls that failed and were made again"] += 1
    raise AssertionError(f"{CALLS} calls in a row failed (seed {SEED})")


def test_ten_thousand_keyed_postings_post_exactly_once(url: str) -> None:
    """10,000 keyed postings through lost answers, dropped commits and serialization failures: exactly 10,000 entries."""
    rng = random.Random(SEED)
    tally: Counter[str] = Counter()
    with Ledger.open(url) as ledger:
        define_chart(ledger)
        faults = Faults(
            ledger.engine, seed=SEED, serialization=SERIALIZATION, lost_answer=LOST_ANSWER, lost_commit=LOST_COMMIT
        )
        amounts = [rng.randint(1, 10**9) for _ in range(POSTINGS)]
        entries = [donation(number, minor, prefix="gift") for number, minor in enumerate(amounts)]
        answered: dict[str, str] = {}
        start = 0
        while start < POSTINGS:
            batch = entries[start : start + (1 if start < SINGLES else rng.randint(2, 50))]
            results = until_answered(
                lambda batch=batch: ledger.post_many(batch) if len(batch) > 1 else [ledger.post(batch[0])],  # type: ignore[misc]
                tally,
            )
            assert [p.entry.idempotency_key for p in results] == [e.idempotency_key for e in batch]
            assert [p.entry.postings[0].amount for p in results] == [e.postings[0].amount for e in batch]
            answered.update({str(p.entry.idempotency_key): p.id for p in results})
            start += len(batch)
        faults.active = False

        with ledger.engine.connect() as connection:
            rows = connection.execute(select(t.entries.c.idempotency_key, t.entries.c.id))
            stored = {str(key): str(entry_id) for key, entry_id in rows}
        assert len(stored) == POSTINGS, f"seed {SEED}"
        assert stored == answered, f"seed {SEED}: a caller was answered with an entry that is not the stored one"
        assert ledger.balance(BANK) == Money.from_minor(sum(amounts), AMOUNT.unit)
        assert verify(ledger).ok
        assert reconcile(ledger).ok
    # The failures really happened, and answers really were lost after commits.
    assert faults.counts["connection lost after the commit"] > 0, faults.counts
    assert faults.counts["connection lost before the commit"] > 0, faults.counts
    assert sum(n for what, n in faults.counts.items() if "a statement" in what) > 0, faults.counts
    assert tally["calls that failed and were made again"] >= faults.counts["connection lost after the commit"]


def test_retry_after_lost_answer_returns_the_committed_entry(url: str) -> None:
    """When the answer to a commit is lost, the retried call returns the entry that was committed, not a second one."""
    with Ledger.open(url) as ledger:
        define_chart(ledger)
        faults = Faults(ledger.engine, seed=SEED, lost_answer=1.0)
        entry = donation(1, 500_00, prefix="lost")
        with pytest.raises(StorageError):
            ledger.post(entry)
        faults.active = False
        committed = ledger.entry_by_key("lost-1")
        assert committed is not None
        retried = ledger.post(entry)
        assert (retried.id, retried.seq, retried.hash) == (committed.id, committed.seq, committed.hash)
        # A whole batch whose answer was lost comes back whole, in order, on the retry.
        batch = [donation(n, n, prefix="lost-batch") for n in range(1, 21)]
        faults.active = True
        with pytest.raises(StorageError):
            ledger.post_many(batch)
        faults.active = False
        before = ledger.head()
        again = ledger.post_many(batch)
        assert ledger.head() == before
        assert [p.entry.idempotency_key for p in again] == [e.idempotency_key for e in batch]
        assert [p.seq for p in again] == list(range(before.seq - 19, before.seq + 1))
        with ledger.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(t.entries)).scalar_one() == 21
        assert verify(ledger).ok


def test_retry_after_dropped_commit_posts_once(url: str) -> None:
    """When the connection drops before the commit, nothing was written and the retried call posts the entry once."""
    with Ledger.open(url) as ledger:
        define_chart(ledger)
        faults = Faults(ledger.engine, seed=SEED, lost_commit=1.0)
        before = snapshot(ledger)
        with pytest.raises(StorageError):
            ledger.post(donation(1, 700_00, prefix="dropped"))
        assert snapshot(ledger) == before
        faults.active = False
        posted = ledger.post(donation(1, 700_00, prefix="dropped"))
        assert ledger.post(donation(1, 700_00, prefix="dropped")).id == posted.id
        assert ledger.head().seq == 1
        assert ledger.balance(BANK) == Money("700", "KZT")


def test_serialization_failures_are_retried_inside_the_ledger(url: str) -> None:
    """Serialization failures and deadlocks on many statements, up to 3 in a row, are retried inside the ledger."""
    with Ledger.open(url) as ledger:
        define_chart(ledger)
        faults = Faults(ledger.engine, seed=SEED, serialization=0.3, per_transaction=3)
        posted = [ledger.post(donation(n, n * 100, prefix="contended")) for n in range(1, 31)]
        faults.active = False
        assert [p.seq for p in posted] == list(range(1, 31))
        assert ledger.balance(BANK) == Money.from_minor(sum(n * 100 for n in range(1, 31)), AMOUNT.unit)
        assert verify(ledger).ok
    assert faults.counts.total() > 30, faults.counts


def test_same_key_with_another_amount_is_refused(url: str) -> None:
    """A key already posted, sent again with another amount, raises IdempotencyConflict and writes nothing."""
    with Ledger.open(url) as ledger:
        define_chart(ledger)
        faults = Faults(ledger.engine, seed=SEED, serialization=SERIALIZATION)
        tally: Counter[str] = Counter()
        for number in range(1, 51):
            until_answered(lambda number=number: ledger.post(donation(number, 1000, prefix="gift")), tally)  # type: ignore[misc]
        before = snapshot(ledger)
        for number in (1, 25, 50):
            with pytest.raises(IdempotencyConflict) as refused:
                ledger.post(donation(number, 1001, prefix="gift"))
            assert refused.value.details["key"] == f"gift-{number}"
        # In a batch, one conflicting key refuses the whole batch, and the new keys stay free.
        with pytest.raises(IdempotencyConflict):
            ledger.post_many([donation(51, 1000, prefix="gift"), donation(7, 999, prefix="gift")])
        faults.active = False
        assert snapshot(ledger) == before
        assert ledger.entry_by_key("gift-51") is None
        assert ledger.post(donation(7, 1000, prefix="gift")).seq == 7
        assert ledger.post(donation(51, 1000, prefix="gift")).seq == 51


def test_payment_lists_retried_after_lost_answers_pay_each_beneficiary_once(url: str) -> None:
    """Payment lists, sends and settlements whose answers are often lost, all retried: each beneficiary paid once."""
    tally: Counter[str] = Counter()
    lists, per_list = 8, 20
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        aid.create_fund("CASH-AID", purpose="cash-aid")
        aid.donate("CASH-AID", Money("100000000", "KZT"), donor="D-1", on=APRIL, actor="cashier", key="gift")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=AMOUNT, actor="admin")
        faults = Faults(ledger.engine, seed=SEED, serialization=0.02, lost_answer=0.3, lost_commit=0.1)
        for number in range(lists):
            code = f"L{number}"
            lines = [PaymentLine(beneficiary(f"hh-{number}-{n}"), f"{code}-{n}") for n in range(per_list)]
            on = APRIL.add(days=1)
            paid = until_answered(lambda: aid.pay("ONE-OFF", lines, actor="maker", on=on, list_code=code), tally)  # noqa: B023
            assert len(paid.posted) == per_list and not paid.conflicts
            until_answered(lambda: aid.send(code, provider="Kazpost", actor="treasurer", on=on), tally)  # noqa: B023
            report = [
                ProviderLine(line.reference, PaymentStatus.FAILED if n % 5 == 0 else PaymentStatus.PAID, AMOUNT)
                for n, line in enumerate(lines)
            ]
            settled = until_answered(lambda: aid.settle(code, report, actor="treasurer", on=on.add(days=1)), tally)  # noqa: B023
            assert not settled.unmatched and not settled.mismatched and not settled.outstanding
            # The same lists again, as a client that lost track would send them: nothing new is posted.
            head = ledger.head()
            again = until_answered(lambda: aid.pay("ONE-OFF", lines, actor="maker", on=on, list_code=code), tally)  # noqa: B023
            assert [p.id for p in again.posted] == [p.id for p in paid.posted]
            assert ledger.head() == head
        faults.active = False
        payments = ledger.count_tagged("list", kind="payment")
        assert payments == {f"L{number}": per_list for number in range(lists)}
        assert ledger.count_tagged("list", kind="payment-transfer") == dict.fromkeys(payments, 1)
        assert ledger.count_tagged("list", kind="payment-paid") == dict.fromkeys(payments, per_list * 4 // 5)
        assert ledger.count_tagged("list", kind="payment-failed") == dict.fromkeys(payments, per_list // 5)
        assert len(list(aid.ledger.active_claims("programme:ONE-OFF"))) == lists * per_list * 4 // 5
        spent = Money.from_minor(AMOUNT.minor * lists * per_list * 4 // 5, AMOUNT.unit)
        assert ledger.balance(aid.chart.expenses("cash-aid", AMOUNT.unit)) == spent
        assert reconcile(ledger).ok
    assert faults.counts["connection lost after the commit"] > 0, faults.counts


def test_failure_inside_a_records_savepoint_is_retried_whole(url: str) -> None:
    """A serialization failure inside a record's savepoint is retried with nothing more sent to the aborted transaction.

    Rolling back to the savepoint first sent one more statement to the aborted
    transaction; a failure there (on PostgreSQL, the fault injector's own statement
    answered with InFailedSqlTransaction) took the place of the retryable error.
    """
    with Ledger.open(url) as ledger:
        sent: list[str] = []
        injected: list[str] = []

        def after(connection: Connection, cursor: Any, statement: str, *_: object) -> None:
            if statement.startswith("INSERT INTO records") and not injected:
                injected.append(statement)
                abort_transaction(ledger, cursor)

        def before(connection: Connection, cursor: Any, statement: str, *_: object) -> None:
            sent.append(statement)
            if injected and statement.startswith("ROLLBACK TO SAVEPOINT"):
                abort_transaction(ledger, cursor)  # what Faults may do before any statement

        event.listen(ledger.engine, "after_cursor_execute", after)
        event.listen(ledger.engine, "before_cursor_execute", before)
        record = ledger.put_record("programme", "P-1", {"amount": "50000.00"}, actor="admin")
        event.remove(ledger.engine, "after_cursor_execute", after)
        event.remove(ledger.engine, "before_cursor_execute", before)
        assert injected
        assert not [s for s in sent if s.startswith("ROLLBACK TO SAVEPOINT")]
        assert ledger.records("programme") == (record,)
        assert verify(ledger).ok


def abort_transaction(ledger: Ledger, cursor: Any) -> None:
    """Fail the current statement as contention does: PostgreSQL aborts the transaction, SQLite is locked."""
    if ledger.dialect == "postgresql":
        cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = 'serialization_failure'; END $$")
    raise sqlite3.OperationalError("database is locked")
