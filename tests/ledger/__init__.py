"""Tests of the ledger's rooms, and the entries they post into the small chart of ``tests/conftest.py``."""

from __future__ import annotations

from aidledger import Claim, Fund, JournalEntry, Ledger, verify
from tests.conftest import T0, Chart
from tests.helpers import transfer


def donate(
    ledger: Ledger, amount: str = "1000000", *, fund: Fund = Chart.general, days: int = 0, key: str | None = None
):
    """Post a donation of ``amount`` into the bank, ``days`` after T0."""
    return ledger.post(transfer(Chart.bank, Chart.donations, fund, amount, T0.add(days=days), key=key, kind="donation"))


def pay(
    amount: str, *, fund: Fund = Chart.general, days: int = 1, key: str | None = None, **extra: object
) -> JournalEntry:
    """A cash-aid payment out of the bank, ``days`` after T0 (not posted)."""
    return transfer(Chart.cash_aid, Chart.bank, fund, amount, T0.add(days=days), key=key, kind="payment", **extra)


def pay_household(amount: str = "10", *, household: str = "hh-1", actor: str = "maker", **extra: object):  # type: ignore[no-untyped-def]
    """A payment to ``household`` that claims it once in ``programme`` (not posted)."""
    return transfer(
        Chart.cash_aid,
        Chart.bank,
        Chart.general,
        amount,
        T0.add(days=1),
        kind="payment",
        actor=actor,
        claims=[Claim("programme", household)],
        **extra,
    )


def fill(ledger: Ledger, chart: type[Chart]) -> Ledger:
    """A donation, five claimed and tagged payments, and two period closes: rows in every journal table."""
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "1000", T0, kind="donation", tags={"donor": "D1"}))
    for day in range(1, 6):
        ledger.post(
            transfer(
                chart.cash_aid,
                chart.bank,
                chart.general,
                "10",
                T0.add(days=day),
                kind="payment",
                tags={"region": "north"},
                claims=[Claim("p1", f"hh{day}")],
            )
        )
    ledger.close_period(T0.add(hours=1), actor="closer")
    ledger.close_period(T0.add(hours=2), actor="closer")
    assert verify(ledger).ok
    return ledger
