"""Reproducible random and monetary-unit samples, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from aidledger import InvalidArgument, Money, SampleMethod, Window, commodity, sample_entries
from tests.conftest import KZT, new_url
from tests.queries.entry_testing.journal import START, Book, open_book


def fill(book: Book, count: int = 60, huge: str | None = None) -> None:
    """The same journal on any backend: a donation, then ``count`` payments of growing amounts."""
    book.fund("900000000")
    for number in range(count):
        book.post(str(1000 * (number + 1)), on=START.add(hours=number), kind="payment" if number % 3 else "general")
    if huge is not None:
        book.post(huge, on=START.add(days=5), kind="payment")


class TestSamples:
    def test_random_sample_is_reproducible(self, book: Book) -> None:
        """The same seed gives the same sample; another seed another; a known_at re-run after new entries too."""
        fill(book)
        first = sample_entries(book.ledger, 10, seed=42)
        assert first == sample_entries(book.ledger, 10, seed=42)
        assert [e.seq for e in first.entries] != [e.seq for e in sample_entries(book.ledger, 10, seed=43).entries]
        assert (first.method, first.seed, first.requested, first.population, first.total) == (
            SampleMethod.RANDOM,
            42,
            10,
            61,
            None,
        )
        assert len(first.entries) == 10 and len({e.seq for e in first.entries}) == 10
        assert [e.seq for e in first.entries] == sorted(e.seq for e in first.entries)
        cut = book.clock.now
        book.clock.set(cut.add(days=1))
        book.post("5")
        later = sample_entries(book.ledger, 10, seed=42, window=Window(known_at=cut))
        assert [e.id for e in later.entries] == [e.id for e in first.entries]
        whole = sample_entries(book.ledger, 500, seed=1, kinds=["general"])
        assert whole.population == len(whole.entries) == 21
        with_amounts = sample_entries(book.ledger, 5, seed=1, unit="KZT", kinds=["payment"])
        assert all(e.amount is not None and e.amount.unit == KZT for e in with_amounts.entries)
        assert with_amounts.total == Money(sum(1000 * (n + 1) for n in range(60) if n % 3), KZT)

    def test_monetary_unit_sample(self, book: Book) -> None:
        """Each entry is picked in proportion to its amount; one larger than the interval always is."""
        fill(book, huge="50000000")
        for seed in range(15):
            sample = sample_entries(
                book.ledger, 8, seed=seed, method=SampleMethod.MONETARY_UNIT, unit=KZT, exclude_kinds=["donation"]
            )
            assert sample.population == 61
            assert sample.total == Money(sum(1000 * (n + 1) for n in range(60)) + 50_000_000, KZT)
            assert sample.interval == Money(sample.total.value / 8, KZT)  # exact here
            assert sum(e.hits for e in sample.entries) == 8
            huge = [e for e in sample.entries if e.amount == Money("50000000", KZT)]
            assert len(huge) == 1 and huge[0].hits in (7, 8)  # 50,000,000 is 7.7 intervals of 6,478,750
        same = sample_entries(book.ledger, 8, seed=3, method=SampleMethod.MONETARY_UNIT, unit="KZT")
        assert same == sample_entries(book.ledger, 8, seed=3, method=SampleMethod.MONETARY_UNIT, unit="KZT")

    def test_arguments(self, book: Book) -> None:
        for n, options in (
            (0, {}),
            (True, {}),
            (3, {"seed": "1"}),
            (3, {"method": "random"}),
            (3, {"method": SampleMethod.MONETARY_UNIT}),
            (3, {"unit": commodity("FOOD-PACKAGE", "package")}),
            (3, {"unit": 5}),
            (3, {"kinds": ["payment", 3]}),
        ):
            with pytest.raises(InvalidArgument):
                sample_entries(book.ledger, n, **{"seed": 1, **options})  # type: ignore[arg-type]


def test_sample_is_the_same_on_sqlite_and_postgresql(tmp_path: Path, pg_database: str | None) -> None:
    """The same operations on both backends give the same sampled entries, random and monetary-unit."""
    results = []
    for backend in ("sqlite", "postgresql"):
        book = open_book(new_url(backend, tmp_path, pg_database))
        try:
            fill(book, huge="7000000")
            random_sample = sample_entries(book.ledger, 12, seed=2020)
            mus = sample_entries(book.ledger, 12, seed=2020, method=SampleMethod.MONETARY_UNIT, unit=KZT)
            results.append(
                (
                    [(e.seq, e.kind, e.amount) for e in random_sample.entries],
                    [(e.seq, e.amount, e.hits) for e in mus.entries],
                    mus.total,
                )
            )
        finally:
            book.ledger.close()
    assert results[0] == results[1]
    assert len(results[0][0]) == 12
