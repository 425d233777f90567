"""Entries recorded after a period close, on both backends."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from aidledger import AfterCloseReason, InvalidArgument, InvalidTime, PeriodClosed, Window, entries_after_close
from tests.queries.entry_testing.journal import ALMATY, START, Book


class TestEntriesAfterClose:
    def test_ledger_refuses_back_dating_into_a_closed_period(self, book: Book) -> None:
        """The ledger itself refuses an entry into a closed period, so that can only come from outside it."""
        book.fund()
        book.clock.set(START.add(days=40))
        book.ledger.close_period(START.end_of("month"), actor="accountant")
        with pytest.raises(PeriodClosed):
            book.post(on=START.add(days=5))
        assert entries_after_close(book.ledger) == ()

    def test_flags_entries_back_dated_across_a_close_and_clock_skew(self, book: Book) -> None:
        """Just after the close and back-dated across it: flagged; corrections and later entries: not."""
        book.fund()
        april = book.post(on=START, at=START)
        book.post(on=START.add(days=20), at=START.add(days=20))  # recorded before the close: fine
        book.clock.set(pendulum.datetime(2020, 5, 2, 10, tz=ALMATY))
        book.ledger.close_period(pendulum.datetime(2020, 4, 30, 23, 59, 59, tz=ALMATY), actor="accountant")
        may_3 = pendulum.datetime(2020, 5, 3, 10, tz=ALMATY)
        late = book.post(on=pendulum.datetime(2020, 5, 1, 12, tz=ALMATY), at=may_3)  # back-dated across the close
        book.post(on=pendulum.datetime(2020, 5, 20, tz=ALMATY), at=may_3)  # beyond the window
        reversal = book.ledger.reverse(april.id, actor="checker", effective_at=pendulum.datetime(2020, 5, 1, tz=ALMATY))
        book.post(on=pendulum.datetime(2020, 5, 4, tz=ALMATY), at=pendulum.datetime(2020, 5, 5, tz=ALMATY))
        # A close made by a writer whose clock is behind is recorded no earlier than the newest entry,
        # so it cannot claim to predate an entry it covers.
        skewed = book.post(on=pendulum.datetime(2020, 5, 10, tz=ALMATY), at=pendulum.datetime(2020, 5, 12, tz=ALMATY))
        book.clock.set(pendulum.datetime(2020, 5, 11, tz=ALMATY))
        book.ledger.close_period(pendulum.datetime(2020, 5, 10, 23, tz=ALMATY), actor="accountant")

        found = entries_after_close(book.ledger)
        assert [(f.entry.id, f.reason, f.close_seq) for f in found] == [
            (late.id, AfterCloseReason.JUST_AFTER_CLOSE, 1),
        ]
        assert skewed.id not in {f.entry.id for f in found}
        assert reversal.id not in {f.entry.id for f in found}
        assert found[0].closed_through == pendulum.datetime(2020, 4, 30, 23, 59, 59, tz=ALMATY)
        assert found[0].close_recorded_at == pendulum.datetime(2020, 5, 2, 10, tz=ALMATY)

        # Re-run as known on May 4: neither the skewed entry nor the second close existed.
        assert [
            f.entry.id
            for f in entries_after_close(book.ledger, window=Window(known_at=pendulum.datetime(2020, 5, 4, tz="UTC")))
        ] == [late.id]
        # A zero window keeps only entries inside closed periods (none here); filters narrow the entries.
        assert entries_after_close(book.ledger, within=dt.timedelta(0)) == ()
        assert entries_after_close(book.ledger, window=Window(start=pendulum.datetime(2020, 5, 2, tz=ALMATY))) == ()
        assert entries_after_close(book.ledger, window=Window(start=pendulum.datetime(2020, 5, 1, tz=ALMATY))) == found
        assert entries_after_close(book.ledger, exclude_kinds=["general"]) == ()

    def test_arguments(self, book: Book) -> None:
        with pytest.raises(InvalidArgument, match="window"):
            entries_after_close(book.ledger, within=dt.timedelta(days=-1))
        with pytest.raises(InvalidTime):
            entries_after_close(book.ledger, window=Window(known_at=dt.datetime(2020, 5, 1)))
        with pytest.raises(InvalidArgument, match="is not after start"):
            entries_after_close(book.ledger, window=Window(start=START, end=START.subtract(days=1)))
        with pytest.raises(InvalidArgument, match="is not after start"):
            entries_after_close(book.ledger, window=Window(start=START, end=START))  # end is exclusive: an empty period
        with pytest.raises(InvalidArgument, match="Ledger"):
            entries_after_close("sqlite://")  # type: ignore[arg-type]
