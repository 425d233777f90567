"""Every journal-entry test in one report, on both backends."""

from __future__ import annotations

import pytest

from aidledger import InvalidAmount, InvalidArgument, Money, SampleMethod, journal_tests, sample_entries
from tests.conftest import KZT
from tests.queries.entry_testing.journal import ALMATY, START, THRESHOLD, Book


def test_journal_tests_report(book: Book) -> None:
    """One report with every test and a count of findings per test."""
    book.fund()
    book.post("6000000", tags={"grantee": "G"}, kind="grant-tranche")
    book.post("6000000", tags={"grantee": "G"}, kind="grant-tranche")
    book.post("1000000", memo="", actor="intern", at=START.add(hours=14))  # round, undescribed, rare, off hours
    report = journal_tests(book.ledger, tz=ALMATY, max_entries=1, seed=7, sample_size=2)
    assert dict(report.findings) == {
        "entries after close": 0,
        "rare actors": 1,
        "off-hours entries": 1,
        "entries without description": 1,
        "round amounts": 4,  # the gift, both tranches and the intern's million
        "one beneficiary, several programmes": 0,
        "sampled entries": 2,
    }
    assert report.through_seq == 4 and report.splits == ()
    assert report.sample == sample_entries(book.ledger, 2, seed=7)
    with_threshold = journal_tests(book.ledger, threshold=THRESHOLD, bulk_kinds=["general"], limit=0)
    assert with_threshold.findings["splits under threshold"] == 1
    assert with_threshold.findings["entries without description"] == 0
    assert with_threshold.without_description.entries == ()
    with pytest.raises(InvalidArgument):
        journal_tests(book.ledger, sample_method=SampleMethod.MONETARY_UNIT)
    with pytest.raises(InvalidAmount):
        journal_tests(book.ledger, threshold=Money("-1", KZT))


def test_empty_ledger(book: Book) -> None:
    """Every test runs on an empty journal and finds nothing."""
    report = journal_tests(book.ledger, threshold=THRESHOLD, sample_method=SampleMethod.MONETARY_UNIT, sample_unit=KZT)
    assert set(report.findings.values()) == {0}
    assert report.sample.total == Money("0", KZT) and report.sample.entries == ()
