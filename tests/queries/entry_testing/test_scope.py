"""Which entries a journal-entry test looks at: the period's bounds."""

from __future__ import annotations

from aidledger import Window, entries_without_description
from tests.queries.entry_testing.journal import START, Book


def test_a_period_runs_from_start_to_just_before_end(book: Book) -> None:
    """start is inclusive and end exclusive, as in audit_totals: back-to-back periods share no entry."""
    book.fund()
    first = book.post(on=START, memo="")
    second = book.post(on=START.add(days=1), memo="")
    day_one = entries_without_description(book.ledger, window=Window(start=START, end=START.add(days=1)))
    day_two = entries_without_description(book.ledger, window=Window(start=START.add(days=1), end=START.add(days=2)))
    assert [x.id for x in day_one.entries] == [first.id]
    assert [x.id for x in day_two.entries] == [second.id]
