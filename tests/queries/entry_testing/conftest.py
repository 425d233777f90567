"""The ``book`` fixture: a fresh ledger on each backend, with the test chart and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.queries.entry_testing.journal import Book, open_book


@pytest.fixture
def book(url: str) -> Iterator[Book]:
    opened = open_book(url)
    try:
        yield opened
    finally:
        opened.ledger.close()
