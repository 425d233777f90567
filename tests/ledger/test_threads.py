"""Threads of one process may share a Ledger: a chart read by one thread is never seen half-loaded by another."""

from __future__ import annotations

import threading

from aidledger import Account, AccountType, Fund, Ledger, Money, verify
from tests.conftest import KZT, T0, Chart
from tests.helpers import transfer


def test_threads_share_a_ledger_while_the_chart_is_reread(ledger: Ledger, chart: type[Chart]) -> None:
    """Posting threads run while another keeps re-reading the chart and a third adds accounts and funds."""
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "1000000", T0, kind="donation"))
    errors: list[BaseException] = []
    stop = threading.Event()

    def guarded(work: object) -> threading.Thread:
        def run() -> None:
            try:
                work()  # type: ignore[operator]
            except BaseException as error:
                errors.append(error)

        return threading.Thread(target=run)

    def reread() -> None:
        while not stop.is_set():
            ledger.funds()
            ledger.accounts()

    def define() -> None:
        for n in range(20):
            ledger.add_account(Account(f"Expenses:Extra{n}", AccountType.EXPENSE, KZT))
            ledger.add_fund(Fund(f"EXTRA-{n}"))

    def post(worker: int) -> None:
        for n in range(40):
            ledger.post(transfer(chart.cash_aid, chart.bank, chart.general, "1", T0.add(hours=1), key=f"{worker}-{n}"))

    reader = guarded(reread)
    others = [guarded(define), *(guarded(lambda w=w: post(w)) for w in range(3))]
    reader.start()
    for thread in others:
        thread.start()
    for thread in others:
        thread.join()
    stop.set()
    reader.join()
    assert errors == []
    assert ledger.balance(chart.cash_aid) == Money("120", KZT)
    assert len([f for f in ledger.funds() if f.code.startswith("EXTRA-")]) == 20
    assert verify(ledger).ok
