"""The Beancount file's totals equal the library's own audit totals, to the minor unit."""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

from beancount import loader
from beancount.core import data

from aidledger import Aid, Flow, audit_totals, export_beancount


def test_beancount_totals_equal_audit_totals(books: Aid) -> None:
    """Expenses in the file add up to what was spent, income to what was received, per unit."""
    out = io.StringIO()
    export_beancount(books.ledger, out)
    entries, errors, _ = loader.load_string(out.getvalue())
    assert errors == []
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                root = posting.account.split(":", 1)[0]
                assert posting.units is not None and posting.units.number is not None
                sums[(root, posting.units.currency)] += posting.units.number
    spent = audit_totals(books.ledger, flow=Flow.SPENT, by=[]).totals
    received = audit_totals(books.ledger, flow=Flow.RECEIVED, by=[]).totals
    assert {unit: amount.value for unit, amount in spent.items()} == {
        unit: value for (root, unit), value in sums.items() if root == "Expenses" and value
    }
    assert {unit: amount.value for unit, amount in received.items()} == {
        unit: -value for (root, unit), value in sums.items() if root == "Income" and value
    }
