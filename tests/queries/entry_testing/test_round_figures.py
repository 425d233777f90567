"""Entries with round amounts, on both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aidledger import InvalidAmount, InvalidArgument, Money, round_amounts
from tests.conftest import KZT, USD, Chart
from tests.helpers import transfer
from tests.queries.entry_testing.journal import MEMO, MEMO_CONTRA, START, Book


def test_round_amounts(book: Book) -> None:
    """Exact multiples of the round figure in each currency, by integer minor units; memo accounts left out."""
    book.fund("100000000")  # 100 million: a round figure too
    one = book.post("1000000")
    two = book.post("2000000.00")
    book.post("1000000.01")
    half = book.post("500000")
    usd = book.ledger.post(
        transfer(Chart.bank_usd, Chart.donations_usd, Chart.general, "3000000", START, actor="clerk", kind="donation")
    )
    book.post("5000000", debit=MEMO, credit=MEMO_CONTRA, kind="commitment")  # no money moves
    found = round_amounts(book.ledger)
    assert [(r.entry.seq, str(r.amount)) for r in found] == [
        (1, "100000000.00 KZT"),
        (one.seq, "1000000.00 KZT"),
        (two.seq, "2000000.00 KZT"),
        (usd.seq, "3000000.00 USD"),
    ]
    assert found[0].multiple == Money("1000000", KZT)
    by_kzt = round_amounts(book.ledger, multiple=Money("500000", KZT), min_amount=Money("600000", KZT))
    assert [r.entry.seq for r in by_kzt] == [1, one.seq, two.seq]
    assert half.seq in {r.entry.seq for r in round_amounts(book.ledger, multiple=Decimal("500000"))}
    assert [r.entry.seq for r in round_amounts(book.ledger, min_amount=Decimal("3000000"))] == [1, usd.seq]
    assert round_amounts(book.ledger, multiple=Money("1", "EUR")) == ()
    with pytest.raises(InvalidAmount, match="more decimals"):
        round_amounts(book.ledger, multiple=Decimal("0.001"))
    for wrong in ({"multiple": Decimal("0")}, {"multiple": 1000.0}, {"min_amount": Decimal("-1")}):
        with pytest.raises(InvalidAmount):
            round_amounts(book.ledger, **wrong)
    with pytest.raises(InvalidArgument, match="different currencies"):
        round_amounts(book.ledger, multiple=Money("1", KZT), min_amount=Money("1", USD))
