"""Two processes posting against the same fund at once: no overdraft, no key posted twice."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from aidledger import Ledger, Money, verify
from aidledger.store import schema as t
from tests.conftest import KZT, T0, Chart
from tests.helpers import transfer
from tests.ledger.workers import spend


def test_two_processes_cannot_overdraw_or_double_post(ledger: Ledger, chart: type[Chart], url: str) -> None:
    """Two writers race for 1,000 KZT in 10 KZT payments with shared keys; the invariants hold."""
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "1000", T0, kind="donation"))
    attempts = 80  # 2 x 80 attempts of 10 KZT, half of them on shared keys: more than the fund holds
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(spend, [(url, 0, attempts, "10"), (url, 1, attempts, "10")])
    assert all(posted > 0 for posted, _, _ in results), results
    assert ledger.balance(chart.bank) >= Money("0", KZT)
    with ledger.engine.connect() as connection:
        keys = connection.execute(select(func.count(t.entries.c.idempotency_key))).scalar_one()
        distinct = connection.execute(select(func.count(func.distinct(t.entries.c.idempotency_key)))).scalar_one()
        payments = connection.execute(select(func.count()).where(t.entries.c.kind == "payment")).scalar_one()
    assert keys == distinct == payments
    # Exactly as many payments as the money allowed: 100 of 10 KZT.
    assert payments == 100
    assert ledger.balance(chart.bank).is_zero()
    assert ledger.balance(chart.cash_aid) == Money("1000", KZT)
    # Every success a worker saw is in the ledger; a shared key seen by both is one entry.
    for _, _, ids in results:
        for entry_id in ids:
            assert ledger.entry(entry_id).entry.kind == "payment"
    assert ledger.trial_balance().balanced
    assert verify(ledger).ok
