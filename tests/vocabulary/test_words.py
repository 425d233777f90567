"""The stored words never change: every kind, event and account code is hashed into the chain and exported."""

from __future__ import annotations

from aidledger import currency
from aidledger.vocabulary import TRANSFERS_PREFIX, Chart, Event, Kind, PaymentStatus


def test_kinds_are_the_stored_strings() -> None:
    """Each entry kind is the text the ledger has always stored."""
    assert [kind.value for kind in Kind] == [
        "donation", "refund", "conversion", "release", "designation", "undesignation", "pledge", "pledge-write-off",
        "payment", "payment-transfer", "payment-paid", "payment-failed", "payment-returned", "goods-donation",
        "goods-purchase", "goods-dispatch", "goods-delivery", "goods-loss", "grant-commitment", "grant-tranche",
        "grant-clawback",
    ]  # fmt: skip


def test_a_settlement_names_its_kind_and_event() -> None:
    """A provider's status settles with ``payment-<status>`` and the event of the same name."""
    for status in PaymentStatus:
        assert (status.kind.value, status.event) == (f"payment-{status.value}", status.value)
    assert Event.FULFILLED == "fulfil" and Event.WRITTEN_OFF == "write-off"


def test_chart_names_accounts_without_a_ledger() -> None:
    """The standard chart's codes, named as values."""
    kzt = currency("KZT")
    chart = Chart()
    assert chart.transfers(kzt).code == f"{TRANSFERS_PREFIX}KZT" == "NetAssets:Transfers:KZT"
    assert chart.expenses("cash_aid", kzt).code == "Expenses:CASH-AID:KZT"
    assert chart.commitment("kokterek", kzt).code == "Memo:Grants:KOKTEREK:KZT"
