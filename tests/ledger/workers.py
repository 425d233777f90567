"""Code that runs in child processes for the concurrency tests (importable by spawn)."""

from __future__ import annotations

from aidledger import InsufficientBalance, Ledger
from tests.conftest import T0, Chart
from tests.helpers import transfer


def spend(url: str, worker: int, attempts: int, amount: str) -> tuple[int, int, list[str]]:
    """Try ``attempts`` payments; shared keys make every other one a race with the other worker."""
    posted = refused = 0
    ids = []
    with Ledger.open(url) as ledger:
        for number in range(attempts):
            # Even numbers use keys shared by every worker; odd numbers are this worker's own.
            key = f"shared-{number}" if number % 2 == 0 else f"w{worker}-{number}"
            entry = transfer(Chart.cash_aid, Chart.bank, Chart.general, amount, T0.add(days=1), key=key, kind="payment")
            try:
                result = ledger.post(entry)
            except InsufficientBalance:
                refused += 1
                continue
            posted += 1
            ids.append(result.id)
    return posted, refused, ids
