"""Splits under an approval threshold, on both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from aidledger import (
    Aid,
    InvalidAmount,
    InvalidArgument,
    Ledger,
    Money,
    PaymentLine,
    SplitReason,
    Window,
    split_under_threshold,
)
from tests.conftest import KZT
from tests.queries.entry_testing.journal import KEYS, START, THRESHOLD, Book


def tranche(book: Book, amount: str, grantee: str, day: int, *, actor: str = "maker", **extra: Any) -> Any:
    return book.post(
        amount, on=START.add(days=day), actor=actor, kind="grant-tranche", tags={"grantee": grantee}, **extra
    )


def test_split_under_threshold(book: Book) -> None:
    """Parts under the threshold that add up above it within the window, or keep coming just under it, are flagged."""
    book.fund("200000000")
    split = [tranche(book, "6000000", "G1", 0), tranche(book, "4000001", "G1", 3)]
    tranche(book, "6000000", "G2", 0)  # same grantee, weeks apart: not a split
    tranche(book, "6000000", "G2", 30)
    near = [tranche(book, "9500000", "G3", 0), tranche(book, "10000000", "G3", 40)]
    tranche(book, "6000000", "G4", 0, approved_by="checker")  # approved: nothing avoided
    tranche(book, "6000000", "G4", 1, approved_by="checker")
    tranche(book, "12000000", "G5", 0)  # above the threshold: needed approval, not a part
    tranche(book, "1000000", "G5", 1)
    tranche(book, "6000000", "G6", 0, actor="one")  # two makers
    tranche(book, "6000000", "G6", 1, actor="other")
    tranche(book, "5000000", "G7", 0)  # exactly the threshold within the window: not above it
    tranche(book, "5000000", "G7", 7)
    tranche(book, "5000000", "G8", 0)  # sums to the threshold only: not above it
    tranche(book, "5000000", "G8", 1)
    plain = [
        book.post("6000000", on=START.add(days=2), actor="m2"),
        book.post("6000000", on=START.add(days=2), actor="m2"),
    ]

    found = split_under_threshold(book.ledger, THRESHOLD)
    assert [(g.counterparty, g.reason) for g in found] == [
        ("accounts=Expenses:CashAid -> Assets:Bank:KZT", SplitReason.SUM_ABOVE),
        ("grantee=G1", SplitReason.SUM_ABOVE),
        ("grantee=G3", SplitReason.NEAR_THRESHOLD),
    ]
    assert [[i.entry.id for i in g.items] for g in found] == [
        [p.id for p in plain],
        [s.id for s in split],
        [n.id for n in near],
    ]
    assert [str(g.total) for g in found] == ["12000000.00 KZT", "10000001.00 KZT", "19500000.00 KZT"]
    assert [i.near_threshold for i in found[2].items] == [True, True]
    assert (found[1].kind, found[1].actor, found[1].threshold) == ("grant-tranche", "maker", THRESHOLD)
    # A wider window joins G2's parts (G7's only reach the threshold); a wider margin makes G1's first part near.
    wide = split_under_threshold(book.ledger, THRESHOLD, within=dt.timedelta(days=30))
    assert {g.counterparty for g in wide if g.reason is SplitReason.SUM_ABOVE} >= {"grantee=G2", "grantee=G1"}
    assert "grantee=G7" not in {g.counterparty for g in wide}  # 10,000,000 is not above 10,000,000
    assert split_under_threshold(book.ledger, THRESHOLD, margin=Decimal("0.5"))[1].items[0].near_threshold
    # Filters: only entries of some kinds, or effective in a period.
    assert split_under_threshold(book.ledger, THRESHOLD, kinds=["donation"]) == ()
    assert [
        g.counterparty for g in split_under_threshold(book.ledger, THRESHOLD, window=Window(end=START.add(days=1)))
    ] == []


def test_split_payment_lists(url: str) -> None:
    """A payment list is one item: two small lists of one maker and programme within days add up above the threshold."""
    with Ledger.open(url) as ledger:
        aid = Aid(ledger, approval_threshold=Money("100000", KZT))
        aid.create_fund("CASH-AID", name="Cash aid", purpose="cash-aid")
        aid.donate("CASH-AID", Money("9000000", KZT), donor="D-1", on=START, actor="cashier")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=Money("50000", KZT), actor="admin")
        lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"L-{n}") for n in range(6)]
        aid.pay("ONE-OFF", lines[:2], actor="maker", on=START.add(days=1), list_code="A")
        aid.pay("ONE-OFF", lines[2:4], actor="maker", on=START.add(days=2), list_code="B")
        aid.pay("ONE-OFF", lines[4:5], actor="maker", on=START.add(days=30), list_code="C")
        found = split_under_threshold(ledger, Money("100000", KZT))
        assert [
            (g.kind, g.counterparty, [(i.list_code, i.entries, str(i.amount)) for i in g.items]) for g in found
        ] == [("payment", "programme=ONE-OFF", [("A", 2, "100000.00 KZT"), ("B", 2, "100000.00 KZT")])]


def test_split_arguments(book: Book) -> None:
    with pytest.raises(InvalidAmount):
        split_under_threshold(book.ledger, Money("0", KZT))
    with pytest.raises(InvalidAmount):
        split_under_threshold(book.ledger, Decimal("10"))  # type: ignore[arg-type]
    for wrong in ({"window": dt.timedelta(0)}, {"margin": Decimal("1")}, {"margin": 0.1}, {"window": 7}):
        with pytest.raises(InvalidArgument):
            split_under_threshold(book.ledger, THRESHOLD, **wrong)
