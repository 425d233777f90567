"""Entries without a description, on both backends."""

from __future__ import annotations

import pytest

from aidledger import InvalidArgument, entries_without_description
from tests.queries.entry_testing.journal import Book


def test_entries_without_description(book: Book) -> None:
    """Empty and white-space memos (any Unicode white space) are found; text, even padded, is not."""
    book.fund()
    empty = book.post(memo="")
    spaces = book.post(memo="   ")
    unicode_blank = book.post(memo="\u3000\t\n\u00a0")
    book.post(memo="  padded but real ")
    book.post(memo="x")
    bulk = book.post(memo="", kind="payment")
    found = entries_without_description(book.ledger)
    assert (found.count, dict(found.by_kind)) == (4, {"general": 3, "payment": 1})
    assert [e.id for e in found.entries] == [empty.id, spaces.id, unicode_blank.id, bulk.id]
    hand_made = entries_without_description(book.ledger, exclude_kinds=["payment"])
    assert hand_made.count == 3
    assert entries_without_description(book.ledger, kinds=["payment"]).entries[0].id == bulk.id
    limited = entries_without_description(book.ledger, limit=2)
    assert (limited.count, [e.id for e in limited.entries]) == (4, [empty.id, spaces.id])
    with pytest.raises(InvalidArgument):
        entries_without_description(book.ledger, limit="2")  # type: ignore[arg-type]
