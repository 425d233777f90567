"""Crashes: a process importing a large payment list is killed with SIGKILL at random moments.

The import approves the list (``Aid.pay``), sends it to the provider, and settles it
from the provider's CSV report; each step is one transaction with keyed entries.
After each kill the ledger verifies and reconciles, holds every step whole or not at
all, and running the same import again finishes it, posting each entry exactly once.

The longer setting: ``AIDLEDGER_RELIABILITY=long AIDLEDGER_HYPOTHESIS=long scripts/test tests/reliability``.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Final

from aidledger import Aid, Ledger, Money, reconcile
from tests.conftest import new_url
from tests.reliability.workers import (
    AMOUNT,
    APRIL,
    CRASH_PROGRAMME,
    import_payment_list,
    import_until_killed,
    payment_lines,
)

LONG: Final = os.environ.get("AIDLEDGER_RELIABILITY") == "long"
#: SIGKILLs per backend: a handful by default, 200 in the longer setting.
KILLS: Final = 200 if LONG else 5
#: Lines in each payment list.
LINES: Final = 1_000 if LONG else 600
#: Every tenth payment fails at the provider (and the beneficiary's claim is released).
FAILED_EVERY: Final = 10
#: Lists imported into one ledger before the test starts a fresh one (so verify and reconcile stay quick).
LISTS_PER_LEDGER: Final = 10
#: The latest a kill comes, as a multiple of how long an undisturbed import takes (later ones find it finished).
LATEST: Final = 1.3
#: The seed of the kill times; set AIDLEDGER_SEED to use a given one.
SEED: Final = int(os.environ.get("AIDLEDGER_SEED") or random.SystemRandom().randrange(2**32))
#: New entries the finishing run must post, by what the killed import had done.
MISSING: Final = {"nothing": 2 * LINES + 1, "approved": LINES + 1, "sent": LINES, "settled": 0}


def open_books(url: str) -> None:
    """A cash-aid fund with money for 10 lists, and the one-off programme the lists pay."""
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        aid.create_fund("CASH-AID", name="Flood relief", purpose="cash-aid")
        gift = Money.from_minor(AMOUNT.minor * LINES * (LISTS_PER_LEDGER + 1), AMOUNT.unit)
        aid.donate("CASH-AID", gift, donor="D-1", on=APRIL, actor="cashier", key="gift")
        aid.create_programme(CRASH_PROGRAMME, fund="CASH-AID", purpose="cash-aid", amount=AMOUNT, actor="admin")
        aid.chart.expenses("cash-aid", AMOUNT.unit)
        aid.chart.payments_due(AMOUNT.unit)
        aid.chart.provider_clearing(AMOUNT.unit)


def write_report(tmp_path: Path, number: int) -> Path:
    """The provider's report of list ``number`` as a CSV file: every line paid but every tenth, which failed."""
    path = tmp_path / f"report-{number}.csv"
    rows = ["reference,status,amount,currency"]
    for n, line in enumerate(payment_lines(number, LINES)):
        rows.append(f"{line.reference},{'failed' if n % FAILED_EVERY == 0 else 'paid'},{AMOUNT.value},KZT")
    path.write_text("\n".join(rows) + "\n")
    return path


def state_after_kill(url: str, number: int) -> tuple[str, int]:
    """Check the ledger after a kill; return how far list ``number`` got, and the ledger's head.

    Each step is whole or absent.  Every reconciliation check holds, except that
    the list may be approved and not yet sent, or sent and not yet settled.
    """
    code = f"L{number}"
    with Ledger.open(url) as ledger:
        result = reconcile(ledger)  # its first check is verify(): the hash chain, recomputed
        assert result.checks[0].name == "hash chain" and result.checks[0].ok, result.checks[0]
        for check in result.failed:
            assert check.name == "payment lists settled", check
            assert all(detail.startswith(f"payment list {code}: ") for detail in check.details), check
        payments = ledger.count_tagged("list", kind="payment").get(code, 0)
        sent = ledger.count_tagged("list", kind="payment-transfer").get(code, 0)
        settled = sum(ledger.count_tagged("list", kind=k).get(code, 0) for k in ("payment-paid", "payment-failed"))
        assert payments in (0, LINES), f"{code}: {payments} of {LINES} payments"
        assert (ledger.record("payment-list", code) is not None) == (payments == LINES)
        assert sent in (0, 1) and (payments == LINES or not sent)
        assert settled in (0, LINES) and (sent or not settled), f"{code}: {settled} of {LINES} settled"
        state = "settled" if settled else "sent" if sent else "approved" if payments else "nothing"
        return state, ledger.head().seq


def finish_and_check(url: str, number: int, report: Path, base: int, state: str, head: int) -> None:
    """Run the import of list ``number`` again to the end; check each of its entries was posted exactly once."""
    code = f"L{number}"
    again = import_payment_list(url, number, LINES, str(report))
    failures = len(range(0, LINES, FAILED_EVERY))
    with Ledger.open(url) as ledger:
        assert ledger.head().seq - head == MISSING[state], f"{code} after a kill at '{state}'"
        mine = list(ledger.entries(after_seq=base))
        kinds = Counter(e.entry.kind for e in mine)
        assert kinds == {
            "payment": LINES,
            "payment-transfer": 1,
            "payment-paid": LINES - failures,
            "payment-failed": failures,
        }
        assert all(e.entry.tags["list"] == code for e in mine)
        # The run that finished was answered with the entries already there: nothing posted twice.
        assert sorted(again["paid"]) == sorted(e.id for e in mine if e.entry.kind == "payment")
        assert again["sent"] == next(e.id for e in mine if e.entry.kind == "payment-transfer")
        assert again["conflicts"] == 0 and again["unmatched"] == 0
        assert len(again["settled"]) == (0 if state == "settled" else LINES)
        released = {e.entry.tags["beneficiary"] for e in mine if e.entry.kind == "payment-failed"}
        claimed = {c.key for c in ledger.active_claims(f"programme:{CRASH_PROGRAMME}")}
        assert {e.entry.tags["beneficiary"] for e in mine if e.entry.kind == "payment"} - released <= claimed
        assert not released & claimed
        result = reconcile(ledger)
        assert result.ok, result.failed


def test_killed_imports_leave_whole_steps_and_finish_exactly_once(
    backend: str, tmp_path: Path, pg_database: str | None
) -> None:
    """An import killed at random moments leaves each step whole or absent; running it again posts each entry once."""
    rng = random.Random(SEED)
    context = multiprocessing.get_context("spawn")
    states: Counter[str] = Counter()
    killed_running = 0
    url, duration = "", 0.0
    for number in range(1, KILLS + 1):
        if number % LISTS_PER_LEDGER == 1:
            url = new_url(backend, tmp_path, pg_database)
            open_books(url)
            started = time.monotonic()
            import_payment_list(url, 0, LINES, str(write_report(tmp_path, 0)))  # how long an undisturbed import takes
            duration = time.monotonic() - started
        report = write_report(tmp_path, number)
        with Ledger.open(url) as ledger:
            base = ledger.head().seq
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=import_until_killed, args=(url, number, LINES, str(report), send))
        child.start()
        send.close()
        try:
            assert receive.poll(120), f"the importer of L{number} never started (exit code {child.exitcode})"
            assert receive.recv() == "importing"
            time.sleep(rng.uniform(0, LATEST * duration))
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        finally:
            child.join(60)
            if child.is_alive():
                child.kill()
                child.join()
            receive.close()
        assert child.exitcode in (0, -signal.SIGKILL), f"the importer of L{number} failed: exit code {child.exitcode}"
        killed_running += child.exitcode == -signal.SIGKILL
        state, head = state_after_kill(url, number)
        states[state] += 1
        finish_and_check(url, number, report, base, state, head)
    # Most kills must land while the import runs (later ones find it finished; that is checked too).
    assert killed_running > 0, (states, f"seed {SEED}")
