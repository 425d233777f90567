"""Every audit read takes one Window; a window through a digest reproduces a report, whatever came after."""

from __future__ import annotations

from typing import Any

import pytest

from aidledger import (
    Aid,
    DigestMismatch,
    InvalidArgument,
    JournalTestOptions,
    Ledger,
    UnknownRecord,
    Window,
    aid_summary,
    audit_report,
    audit_totals,
    fund_statement,
    grant_status,
    journal_tests,
    pledge_status,
    programme_summary,
    stock_position,
    verify,
)
from tests.books import MAY, PACKAGE
from tests.operations.conftest import APRIL, kzt


def reads(ledger: Ledger, window: Window) -> dict[str, Any]:
    """Every windowed read of the library, with one window."""
    return {
        "entries": list(ledger.entries(window=window)),
        "trial balance": ledger.trial_balance(window=window),
        "bank": ledger.balance("Assets:Bank:KZT", "CASH-AID", window=window),
        "fund balance": ledger.fund_balance("CASH-AID", "KZT", window=window),
        "spent": audit_totals(ledger, by=["fund", "purpose", "month"], window=window, tz="Asia/Almaty"),
        "received": audit_totals(ledger, flow="received", by=["donor"], window=window),
        "statement": fund_statement(ledger, "CASH-AID", window=window),
        "programme": programme_summary(ledger, "ONE-OFF", window=window),
        "summary": aid_summary(ledger, window=window),
        "stock": stock_position(ledger, "FOOD", PACKAGE, window=window),
        "journal tests": journal_tests(ledger, seed=3, sample_size=4, window=window),
        "report": audit_report(ledger, window=window, fund="CASH-AID", journal=JournalTestOptions(seed=3)),
    }


def later(books: Aid) -> None:
    """What the ledger learns after the digest: back-dated money, a reversal, a new project and pledge."""
    books.donate("CASH-AID", kzt("5000000"), donor="D-9", on=APRIL.subtract(days=2), actor="late-clerk")
    gift = next(e for e in books.ledger.entries() if e.entry.tags.get("donor") == "D-2")
    books.ledger.reverse(gift.id, actor="accountant", memo="not ours")
    books.commit_grant("SCHOOL", fund="HOUSING", amount=kzt("100000"), purpose="housing", grantee="Akimat",
                       on=APRIL, actor="director")  # fmt: skip
    books.pledge("HOUSING", kzt("7000"), code="P-9", donor="D-9", on=MAY, actor="cashier")


class TestThroughADigest:
    def test_every_read_through_a_digest_is_reproduced(self, books: Aid) -> None:
        """Reads through digest D made when D was the head equal the same reads after later entries."""
        digest = verify(books.ledger).digest
        window = Window(through=digest)
        then = reads(books.ledger, window)
        assert then == reads(books.ledger, Window()) | {
            name: then[name] for name in ("spent", "received", "statement", "journal tests", "report")
        }  # the same figures as the whole ledger; only the window each result names differs
        later(books)
        assert reads(books.ledger, window) == then
        assert reads(books.ledger, Window())["trial balance"] != then["trial balance"]

    def test_records_after_the_digest_are_not_known(self, books: Aid) -> None:
        """A project or pledge recorded after the digest's newest entry is unknown through it."""
        digest = verify(books.ledger).digest
        later(books)
        assert grant_status(books.ledger, "SCHOOL").committed == kzt("100000")
        with pytest.raises(UnknownRecord, match="no project 'SCHOOL' known at"):
            grant_status(books.ledger, "SCHOOL", window=Window(through=digest))
        with pytest.raises(UnknownRecord, match="no pledge 'P-9' known at"):
            pledge_status(books.ledger, "P-9", window=Window(through=digest))

    def test_a_digest_this_ledger_does_not_hold_is_refused(self, books: Aid) -> None:
        """A digest of another ledger (or of this one, rewritten) is DigestMismatch, for every read."""
        head = verify(books.ledger).digest
        seq = int(head.split(":")[0])
        for forged in (f"{seq}:{'0' * 64}", f"{seq + 1}:{head.split(':')[1]}"):
            window = Window(through=forged)
            for name, read in (
                ("entries", lambda w: list(books.ledger.entries(window=w))),
                ("trial balance", lambda w: books.ledger.trial_balance(window=w)),
                ("totals", lambda w: audit_totals(books.ledger, window=w)),
                ("statement", lambda w: fund_statement(books.ledger, "CASH-AID", window=w)),
                ("programme", lambda w: programme_summary(books.ledger, "ONE-OFF", window=w)),
                ("journal tests", lambda w: journal_tests(books.ledger, window=w)),
            ):
                with pytest.raises(DigestMismatch, match="does not describe this ledger"):
                    read(window)
                assert name

    def test_window_arguments_are_checked_once(self, books: Aid) -> None:
        """A read given something that is not a Window says so."""
        for bad in ("2020-04-01", APRIL, 5):
            with pytest.raises(InvalidArgument, match="window must be a Window"):
                audit_totals(books.ledger, window=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="either window or as_of"):
            books.ledger.balance("Assets:Bank:KZT", as_of=APRIL, window=Window())
