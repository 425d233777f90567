"""The standard chart: account codes named from their unit, purpose, project or pledge, without a ledger."""

from __future__ import annotations

from aidledger import currency
from aidledger.vocabulary import TRANSFERS_PREFIX, Chart


def test_chart_names_accounts_without_a_ledger() -> None:
    """The standard chart's codes, named as values."""
    kzt = currency("KZT")
    chart = Chart()
    assert chart.transfers(kzt).code == f"{TRANSFERS_PREFIX}KZT" == "NetAssets:Transfers:KZT"
    assert chart.expenses("cash_aid", kzt).code == "Expenses:CASH-AID:KZT"
    assert chart.commitment("dostyk", kzt).code == "Memo:Grants:DOSTYK:KZT"
