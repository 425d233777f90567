"""Code the reliability tests run in child processes (importable by the ``spawn`` start method).

Nothing here imports pytest or the test fixtures, so a child starts in well under
a second.  :class:`Faults`, the failure injector, is here too because the
concurrency test's children use it as well as the parent's retry test.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
import traceback
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection as PipeEnd
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Final

import pendulum
import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from aidledger import (
    Account,
    AccountType,
    Aid,
    Beneficiary,
    DuplicateClaim,
    Fund,
    InsufficientBalance,
    JournalEntry,
    Ledger,
    Money,
    OnConflict,
    PaymentLine,
    PaymentStatus,
    Posting,
    ProviderLine,
    Pseudonymizer,
    TrialBalance,
    read_provider_report,
)
from aidledger.store.engine import WRITE

ZONE: Final = "Asia/Almaty"
APRIL: Final = pendulum.datetime(2020, 4, 1, 9, tz=ZONE)
KEYS: Final = Pseudonymizer({1: bytes(range(32))})
#: Every programme in these tests pays this much per beneficiary.
AMOUNT: Final = Money("50000", "KZT")
#: The one-off programmes of the concurrency test: code and the fund it pays from.
PROGRAMMES: Final = (("ONE-OFF", "CASH-AID"), ("MEDICS", "GENERAL"))
#: The programme of the crash test.
CRASH_PROGRAMME: Final = "FLOOD-2020"
#: The chart of the durability test.
BANK: Final = Account("Assets:Bank:KZT", AccountType.ASSET, AMOUNT.unit)
DONATIONS: Final = Account("Revenue:Donations:KZT", AccountType.REVENUE, AMOUNT.unit)
GENERAL: Final = Fund("GENERAL", name="Unrestricted")


def beneficiary(name: str) -> Beneficiary:
    """The pseudonym of registry id ``name`` (the tests' registry holds no personal data)."""
    return KEYS.pseudonym(name)


# -- injected failures -------------------------------------------------------------------------


class Faults:
    """Failures injected into the write transactions of one ledger engine.

    ``serialization``: per statement of a write transaction, the chance that the
    database aborts the transaction as it does under contention, before or after
    the statement ran.  On PostgreSQL the server itself raises SQLSTATE 40001 or
    40P01 (a ``DO`` block run on the same connection, so the server-side
    transaction is really aborted); on SQLite the driver raises "database is
    locked".  The ledger must retry the whole transaction.

    ``per_transaction``: at most this many such failures in a row before a commit
    (the ledger retries a transaction 8 times, so with fewer the caller never sees them).

    ``lost_answer``: per commit, the chance that the connection drops right after
    the database committed, so the caller gets an error for a write that happened.

    ``lost_commit``: per commit, the chance that the connection drops before the
    commit reaches the database, so the caller gets an error for a write that did not.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        seed: int,
        serialization: float = 0.0,
        per_transaction: int = 5,
        lost_answer: float = 0.0,
        lost_commit: float = 0.0,
    ) -> None:
        self.random = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.active = True
        self._serialization = serialization
        self._per_transaction = per_transaction
        self._in_a_row = 0
        self._lost_answer = lost_answer
        self._lost_commit = lost_commit
        self._postgres = engine.dialect.name == "postgresql"
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        commit = engine.dialect.do_commit

        def do_commit(connection: Any) -> None:
            roll = self.random.random() if self.active else 1.0
            self._in_a_row = 0
            if roll < self._lost_commit:
                self.counts["connection lost before the commit"] += 1
                self._drop(connection)
            commit(connection)
            if roll < self._lost_commit + self._lost_answer:
                self.counts["connection lost after the commit"] += 1
                self._drop(connection)

        engine.dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]

    def _drop(self, connection: Any) -> None:
        """Close the driver's connection under SQLAlchemy and raise what the driver raises then."""
        connection.dbapi_connection.close()
        if self._postgres:
            raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
        raise sqlite3.ProgrammingError("Cannot operate on a closed database.")

    def _before(self, connection: Connection, cursor: Any, statement: str, *_: object) -> None:
        self._maybe_abort(connection, cursor, statement, "before")

    def _after(self, connection: Connection, cursor: Any, statement: str, *_: object) -> None:
        self._maybe_abort(connection, cursor, statement, "after")

    def _maybe_abort(self, connection: Connection, cursor: Any, statement: str, when: str) -> None:
        if not self.active or not connection.get_execution_options().get(WRITE, False):
            return
        if statement.lstrip().upper().startswith("BEGIN"):
            return
        if self._in_a_row >= self._per_transaction or self.random.random() >= self._serialization / 2:
            return  # half the failures come before a statement, half after it
        self._in_a_row += 1
        if not self._postgres:
            self.counts[f"database is locked ({when} a statement)"] += 1
            raise sqlite3.OperationalError("database is locked")
        code = self.random.choice(("serialization_failure", "deadlock_detected"))
        self.counts[f"{code} ({when} a statement)"] += 1
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'injected {code}' USING ERRCODE = '{code}'; END $$")
        raise AssertionError("the server did not raise the injected error")  # pragma: no cover


# -- reporting from a child ------------------------------------------------------------------------


def _report(out: str, work: Callable[[], dict[str, Any]]) -> None:
    """Run ``work`` and write its result (or the traceback of what it raised) as JSON to ``out``."""
    try:
        result: dict[str, Any] = {"result": work()}
    except BaseException:
        result = {"error": traceback.format_exc()}
    Path(out).write_text(json.dumps(result))
    if "error" in result:
        raise SystemExit(1)


# -- concurrency: payment offices and an auditor --------------------------------------------------------


def pay_concurrently(
    url: str, worker: int, seconds: float, pool: int, seed: int, serialization: float, start: Barrier, out: str
) -> None:
    """A payment office: for ``seconds``, approve small lists and settle earlier ones, then settle the rest.

    Lists of 1 to 4 beneficiaries from a pool of ``pool`` shared by every office go
    to a random programme (refusing or skipping beneficiaries already paid).
    Settling a list sends it to the provider and posts a report where some
    payments fail and some paid ones come back, which frees the beneficiary and
    the money for another list.  Writes what succeeded and what was refused to ``out``.
    """
    _report(out, lambda: _pay_concurrently(url, worker, seconds, pool, seed, serialization, start))


def _pay_concurrently(
    url: str, worker: int, seconds: float, pool: int, seed: int, serialization: float, start: Barrier
) -> dict[str, Any]:
    rng = random.Random(seed)
    posted: dict[str, str] = {}  # idempotency key -> entry id, of every entry a call reported as posted
    lists: dict[str, dict[str, Any]] = {}
    outcomes: Counter[str] = Counter()
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        faults = Faults(ledger.engine, seed=seed, serialization=serialization)
        faults.active = False
        start.wait(timeout=120)
        faults.active = True
        deadline = time.monotonic() + seconds
        number = 0
        while time.monotonic() < deadline:
            unsettled = [code for code, info in lists.items() if info["keys"] and not info["settled"]]
            if unsettled and rng.random() < 0.3:
                _settle(aid, rng.choice(unsettled), lists, posted, rng, worker)
                outcomes["settled"] += 1
                continue
            number += 1
            code = f"W{worker}-{number}"
            programme = rng.choice(PROGRAMMES)[0]
            chosen = rng.sample(range(pool), rng.randint(1, 4))
            lines = [PaymentLine(beneficiary(f"person-{n}"), f"{code}-{n}") for n in chosen]
            on_conflict = rng.choice((OnConflict.REFUSE, OnConflict.SKIP))
            try:
                result = aid.pay(
                    programme,
                    lines,
                    actor=f"office-{worker}",
                    on=pendulum.now(ZONE),
                    list_code=code,
                    on_conflict=on_conflict,
                )
            except InsufficientBalance:
                outcomes["refused: insufficient balance"] += 1
                lists[code] = {"programme": programme, "keys": [], "refused": "InsufficientBalance", "settled": True}
                continue
            except DuplicateClaim:
                outcomes["refused: beneficiary already paid"] += 1
                lists[code] = {"programme": programme, "keys": [], "refused": "DuplicateClaim", "settled": True}
                continue
            keys = [str(p.entry.idempotency_key) for p in result.posted]
            posted.update({str(p.entry.idempotency_key): p.id for p in result.posted})
            outcomes["lists posted"] += 1
            outcomes["lines skipped: beneficiary already paid"] += len(result.conflicts)
            lists[code] = {"programme": programme, "keys": keys, "refused": None, "settled": not keys}
        faults.active = False
        for code, info in lists.items():
            if not info["settled"]:
                _settle(aid, code, lists, posted, rng, worker)
    return {"posted": posted, "lists": lists, "outcomes": dict(outcomes), "faults": dict(faults.counts)}


def _settle(
    aid: Aid, code: str, lists: dict[str, dict[str, Any]], posted: dict[str, str], rng: random.Random, worker: int
) -> None:
    """Send a list to the provider and post its report: paid, failed, and some paid ones returned."""
    sent = aid.send(code, provider="Kazpost", actor=f"treasurer-{worker}", on=pendulum.now(ZONE))
    posted[str(sent.entry.idempotency_key)] = sent.id
    references = [key.split(":", 2)[2] for key in lists[code]["keys"]]
    statuses = {reference: rng.choice((PaymentStatus.PAID, PaymentStatus.FAILED)) for reference in references}
    report = [ProviderLine(reference, status, AMOUNT) for reference, status in statuses.items()]
    settlement = aid.settle(code, report, actor=f"treasurer-{worker}", on=pendulum.now(ZONE))
    assert not settlement.unmatched and not settlement.mismatched and not settlement.duplicates, settlement
    returned = [
        ProviderLine(reference, PaymentStatus.RETURNED, AMOUNT)
        for reference, status in statuses.items()
        if status is PaymentStatus.PAID and rng.random() < 0.3
    ]
    entries = list(settlement.entries)
    if returned:
        entries += aid.settle(code, returned, actor=f"treasurer-{worker}", on=pendulum.now(ZONE)).entries
    posted.update({str(p.entry.idempotency_key): p.id for p in entries})
    lists[code]["settled"] = True


def read_trial_balances(url: str, seconds: float, donated: int, start: Barrier, out: str) -> None:
    """An auditor reading trial balances for ``seconds``; writes how many reads, and what any read got wrong.

    Every other read sums the postings themselves (``known_at``) instead of the maintained balances.
    """
    _report(out, lambda: _read_trial_balances(url, seconds, donated, start))


def _read_trial_balances(url: str, seconds: float, donated: int, start: Barrier) -> dict[str, Any]:
    reads = 0
    problems: list[str] = []
    with Ledger.open(url) as ledger:
        start.wait(timeout=120)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            reads += 1
            balance = ledger.trial_balance(known_at=pendulum.now(ZONE) if reads % 2 else None)
            problems.extend(f"read {reads}: {problem}" for problem in trial_balance_problems(balance, donated))
            time.sleep(0.002)  # leave the offices some of the two cores
    return {"reads": reads, "problems": problems[:20]}


def trial_balance_problems(balance: TrialBalance, donated: int) -> list[str]:
    """What is wrong with a trial balance of the concurrency test's ledger, where ``donated`` minor units came in.

    It must balance per unit and per fund; the donations received never change
    (payments move money, they do not make or lose it); no account that may not
    go negative, and no fund's net assets, are below zero.
    """
    problems = []
    if not balance.balanced:
        problems.append(f"not balanced: {dict(balance.totals)}, per fund {dict(balance.fund_totals)}")
    revenue = sum(line.balance.minor for line in balance.lines if line.account.type is AccountType.REVENUE)
    if revenue != -donated:
        problems.append(f"donations received are {-revenue} minor units, not {donated}")
    net: Counter[str] = Counter()
    for line in balance.lines:
        if line.account.type in (AccountType.ASSET, AccountType.LIABILITY):
            net[line.fund.code] += line.balance.minor
        if not line.account.allow_negative and line.balance.minor * line.account.normal_side.value < 0:
            problems.append(f"{line.account.code} in {line.fund.code} is below zero: {line.balance}")
    problems.extend(
        f"fund {fund} is overdrawn: net assets {minor} minor units" for fund, minor in net.items() if minor < 0
    )
    return problems


# -- crashes: a payment list imported by a process that gets killed --------------------------------------


def payment_lines(number: int, lines: int) -> list[PaymentLine]:
    """The lines of crash-test list ``number``: its own beneficiaries, one reference each."""
    return [PaymentLine(beneficiary(f"flood-{number}-{n}"), f"L{number}-{n:05d}") for n in range(lines)]


def import_payment_list(url: str, number: int, lines: int, report: str) -> dict[str, Any]:
    """Import payment list ``number`` completely: approve it, send it, settle it from the provider's CSV report.

    Each step is keyed, so running this again after a crash finishes what is
    missing and posts nothing twice.  Returns the ids each step returned.
    """
    with Ledger.open(url) as ledger:
        return _import(Aid(ledger), number, lines, report, None)


def import_until_killed(url: str, number: int, lines: int, report: str, ready: PipeEnd) -> None:
    """:func:`import_payment_list` in a child that says on ``ready`` when it starts posting (then gets killed)."""
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        aid.chart.bank(AMOUNT.unit)  # the accounts exist already; look them up before the clock starts
        _import(aid, number, lines, report, ready)


def _import(aid: Aid, number: int, lines: int, report: str, ready: PipeEnd | None) -> dict[str, Any]:
    code = f"L{number}"
    payment_list = payment_lines(number, lines)
    provider_report = read_provider_report(report)
    if ready is not None:
        ready.send("importing")
    paid = aid.pay(CRASH_PROGRAMME, payment_list, actor="importer", on=APRIL.add(days=1), list_code=code)
    sent = aid.send(code, provider="Kazpost", actor="importer", on=APRIL.add(days=1))
    settled = aid.settle(code, provider_report, actor="importer", on=APRIL.add(days=2))
    return {
        "paid": [p.id for p in paid.posted],
        "conflicts": len(paid.conflicts),
        "sent": sent.id,
        "settled": [p.id for p in settled.entries],
        "duplicates": len(settled.duplicates),
        "unmatched": len(settled.unmatched) + len(settled.mismatched),
    }


# -- durability: posting, reporting each commit, and dying -----------------------------------------------


def donation(number: int, minor: int, *, prefix: str) -> JournalEntry:
    """A keyed donation of ``minor`` tiyn into GENERAL (the accounts the durability test defines)."""
    money = Money.from_minor(minor, AMOUNT.unit)
    return JournalEntry(
        kind="donation",
        effective_at=APRIL,
        postings=[Posting.debit(BANK, GENERAL, money), Posting.credit(DONATIONS, GENERAL, money)],
        actor="cashier",
        idempotency_key=f"{prefix}-{number}",
    )


def post_and_die(url: str, key: str, told: PipeEnd) -> None:
    """Post one keyed donation, tell the parent what was committed, and kill this process at once."""
    with Ledger.open(url) as ledger:
        posted = ledger.post(donation(0, 123_45, prefix=key))
        told.send((posted.id, posted.seq, posted.hash))
        os.kill(os.getpid(), signal.SIGKILL)


def post_until_killed(url: str, prefix: str, told: PipeEnd) -> None:
    """Post keyed donations one by one, telling the parent each one's key number and id after it returns."""
    with Ledger.open(url) as ledger:
        told.send(("ready", ""))
        number = 0
        while True:
            number += 1
            posted = ledger.post(donation(number, number, prefix=prefix))
            told.send((number, posted.id))
