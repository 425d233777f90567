"""The bank test: payment offices in several processes pay from the same funds and programmes at once.

Four offices (processes) approve payment lists for the same beneficiaries, from the
same two funds and one-off programmes, and settle them (some payments fail or come
back, which frees money and beneficiaries for the others), while an auditor process
reads trial balances.  The database also fails some of their statements with
serialization failures and deadlocks, which the ledger retries.  Afterwards money
is conserved, no fund went below zero, no beneficiary was paid twice, every read
saw a balanced ledger, and every answered call is in the ledger (and nothing else).

The last tests interleave an auditor's reads with another writer's commits
deterministically: the other writer commits before every statement the auditor runs.

The longer setting: ``AIDLEDGER_RELIABILITY=long AIDLEDGER_HYPOTHESIS=long scripts/test tests/reliability``.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event

from aidledger import Account, AccountType, Aid, JournalEntry, Ledger, Money, Posting, reconcile, verify
from tests.reliability.workers import (
    AMOUNT,
    APRIL,
    BANK,
    DONATIONS,
    GENERAL,
    PROGRAMMES,
    donation,
    pay_concurrently,
    read_trial_balances,
    trial_balance_problems,
)

LONG: Final = os.environ.get("AIDLEDGER_RELIABILITY") == "long"
#: Payment offices, each a process; one more process reads trial balances.
OFFICES: Final = 4
#: How long they race, in seconds.
SECONDS: Final = 60.0 if LONG else 5.0
#: Beneficiaries every office picks from.
POOL: Final = 30
#: Money in each fund at the start, in payments of AMOUNT: less than the offices try to pay.
FUNDED: Final = {"CASH-AID": 12, "GENERAL": 6}
#: Chance that a statement of an office's write transaction fails with a serialization failure or deadlock.
SERIALIZATION: Final = 0.02
#: The seed of the offices' choices (each adds its number); set AIDLEDGER_SEED to use a given one.
SEED: Final = int(os.environ.get("AIDLEDGER_SEED") or random.SystemRandom().randrange(2**32))
#: What a payment, a failure and a return do to the number of live payments of a beneficiary.
LIVE: Final = {"payment": 1, "payment-failed": -1, "payment-returned": -1}


def open_books(url: str) -> int:
    """Funds, donations and programmes for the offices; returns the minor units donated."""
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        aid.create_fund("GENERAL", name="Unrestricted")
        aid.create_fund("CASH-AID", name="One-off cash aid", purpose="cash-aid")
        for fund, payments in FUNDED.items():
            gift = Money.from_minor(AMOUNT.minor * payments, AMOUNT.unit)
            aid.donate(fund, gift, donor="D-1", on=APRIL, actor="cashier", key=f"gift-{fund}")
        for code, fund in PROGRAMMES:
            aid.create_programme(code, fund=fund, purpose="cash-aid", amount=AMOUNT, actor="admin")
        # Every account the offices post to exists before they start.
        aid.chart.expenses("cash-aid", AMOUNT.unit)
        aid.chart.payments_due(AMOUNT.unit)
        aid.chart.provider_clearing(AMOUNT.unit)
    return AMOUNT.minor * sum(FUNDED.values())


def run_offices(url: str, tmp_path: Path, donated: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start the offices and the auditor together; return what each office and the auditor wrote."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(OFFICES + 1)
    outs = [tmp_path / f"office-{n}.json" for n in range(OFFICES)]
    auditor_out = tmp_path / "auditor.json"
    processes = [
        context.Process(
            target=pay_concurrently, args=(url, n, SECONDS, POOL, SEED + n, SERIALIZATION, start, str(outs[n]))
        )
        for n in range(OFFICES)
    ]
    processes.append(context.Process(target=read_trial_balances, args=(url, SECONDS, donated, start, str(auditor_out))))
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join(timeout=SECONDS + 240)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    reports = []
    for process, out in zip(processes, [*outs, auditor_out], strict=True):
        assert out.exists(), f"{process.name} wrote nothing (exit code {process.exitcode})"
        report = json.loads(out.read_text())
        assert "error" not in report, report["error"]
        assert process.exitcode == 0
        reports.append(report["result"])
    return reports[:-1], reports[-1]


def test_offices_race_for_the_same_funds_and_programmes(url: str, tmp_path: Path) -> None:
    """Four offices pay and settle at once while an auditor reads: money conserved, nobody paid twice, all answered."""
    donated = open_books(url)
    offices, auditor = run_offices(url, tmp_path, donated)
    seed = f"seed {SEED}"

    # Every trial balance the auditor read while the offices ran was balanced and conserved the money.
    assert auditor["reads"] > 0
    assert auditor["problems"] == [], seed

    answered: dict[str, str] = {}
    outcomes: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    refused_lists = []
    for office in offices:
        answered.update(office["posted"])
        outcomes.update(office["outcomes"])
        faults.update(office["faults"])
        refused_lists += [code for code, info in office["lists"].items() if info["refused"]]
    # The race really happened: lists were posted, refused for want of money, and for beneficiaries already paid.
    assert outcomes["lists posted"] > 0, outcomes
    assert outcomes["refused: insufficient balance"] > 0, outcomes
    assert outcomes["refused: beneficiary already paid"] + outcomes["lines skipped: beneficiary already paid"] > 0
    assert outcomes["settled"] > 0, outcomes

    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        entries = list(ledger.entries())
        stored = {e.entry.idempotency_key: e.id for e in entries if e.entry.kind.startswith("payment")}
        # Every call that was answered is in the ledger, as answered; and nothing else was written.
        assert stored == answered, seed
        for code in refused_lists:
            assert ledger.record("payment-list", code) is None
        # No beneficiary ever held two live payments of one programme, at any point of the journal.
        live: Counter[tuple[str, str]] = Counter()
        for posted in entries:
            change = LIVE.get(posted.entry.kind)
            if change is not None:
                holder = (posted.entry.tags["programme"], posted.entry.tags["beneficiary"])
                live[holder] += change
                assert 0 <= live[holder] <= 1, f"{holder} has {live[holder]} live payments at entry {posted.seq}"
        paid = {holder for holder, count in live.items() if count}
        claims = {(c.scope.removeprefix("programme:"), c.key) for c in ledger.active_claims("programme:")}
        assert claims == paid
        # Money is conserved, per fund to the last tiyn, and no fund is overdrawn.
        assert trial_balance_problems(ledger.trial_balance(), donated) == []
        for programme, fund in PROGRAMMES:
            payments = sum(1 for holder in paid if holder[0] == programme)
            left = AMOUNT.minor * (FUNDED[fund] - payments)
            assert ledger.fund_balance(fund, AMOUNT.unit) == Money.from_minor(left, AMOUNT.unit)
            assert left >= 0
        spent = ledger.balance(aid.chart.expenses("cash-aid", AMOUNT.unit))
        assert spent == Money.from_minor(AMOUNT.minor * len(paid), AMOUNT.unit)
        result = reconcile(ledger)
        assert result.ok, result.failed
        assert verify(ledger).ok
    # The ledger retried the serialization failures and deadlocks it was given (the offices never saw them).
    assert faults.total() > 0, faults


class TestReadsWhileAnotherWriterCommits:
    """An auditor's read must see one state of the ledger, even when another writer commits in the middle of it."""

    @staticmethod
    def commit_before_every_statement(auditor: Ledger, clerk: Ledger, commit: Any) -> Counter[str]:
        """Make ``clerk`` call ``commit(n)`` before each statement the auditor's connections run."""
        counter = itertools.count(1)
        tally: Counter[str] = Counter()

        def before(*_: object) -> None:
            commit(next(counter))
            tally["commits"] += 1

        event.listen(auditor.engine, "before_cursor_execute", before)
        return tally

    def test_verify_and_reconcile_see_one_snapshot(self, url: str) -> None:
        """verify() and reconcile() find an intact, reconciled ledger while another writer commits between statements."""
        with Ledger.open(url) as clerk, Ledger.open(url) as auditor:
            clerk.add_account(BANK)
            clerk.add_account(DONATIONS)
            clerk.add_fund(GENERAL)
            for number in range(1, 11):
                clerk.post(donation(number, 100_00, prefix="before"))
            tally = self.commit_before_every_statement(
                auditor, clerk, lambda n: clerk.post(donation(n, 100, prefix="during"))
            )
            verification = verify(auditor)
            assert verification.ok, verification.first_break
            result = reconcile(auditor)
            assert result.ok, result.failed
            assert tally["commits"] > 10

    def test_trial_balance_sees_an_account_added_meanwhile(self, url: str) -> None:
        """A trial balance read while another writer adds an account and posts to it is balanced (and does not crash)."""
        with Ledger.open(url) as clerk, Ledger.open(url) as auditor:
            clerk.add_account(BANK)
            clerk.add_account(DONATIONS)
            clerk.add_fund(GENERAL)

            def open_an_account(number: int) -> None:
                account = clerk.add_account(Account(f"Assets:Bank:Branch{number}", AccountType.ASSET, AMOUNT.unit))
                money = Money("1", "KZT")
                clerk.post(
                    JournalEntry(
                        kind="donation",
                        effective_at=APRIL,
                        postings=[Posting.debit(account, GENERAL, money), Posting.credit(DONATIONS, GENERAL, money)],
                        actor="cashier",
                    )
                )

            self.commit_before_every_statement(auditor, clerk, open_an_account)
            assert auditor.trial_balance().balanced
