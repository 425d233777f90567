"""The log reader: the stored rows of the log, in sequence order, as they are, on one snapshot."""

from __future__ import annotations

from aidledger import Ledger
from aidledger.ledger.log import LogReader


class TestLogReader:
    def test_every_table_is_read_in_the_order_of_its_entries(self, filled: Ledger) -> None:
        """Entries by sequence; postings, tags and claims by their entry; closes by their own sequence."""
        with LogReader.of(filled) as log:
            assert [row.seq for row in log.entries()] == [1, 2, 3, 4, 5, 6]
            assert [(row.entry_seq, row.line) for row in log.postings()][:3] == [(1, 1), (1, 2), (2, 1)]
            assert [row.entry_seq for row in log.tags()] == [1, 2, 3, 4, 5, 6]
            assert [(row.entry_seq, row.key) for row in log.claims()] == [(n, f"hh{n - 1}") for n in range(2, 7)]
            assert list(log.releases()) == []
            assert [row.seq for row in log.period_closes()] == [1, 2]
            assert log.records() == []

    def test_the_head_and_links_are_the_newest_entrys(self, filled: Ledger) -> None:
        """The head row names the newest entry's number and hash; a link of a missing entry is None."""
        newest = list(filled.entries())[-1]
        with LogReader.of(filled) as log:
            head = log.head()
            assert (head.seq, head.hash) == (newest.seq, newest.hash)
            assert tuple(log.link(newest.seq)) == (newest.id, newest.hash)
            assert log.link(newest.seq + 1) is None
            assert sorted(log.chart().accounts) == sorted(a.code for a in filled.accounts())

    def test_streaming_reads_the_same_rows(self, filled: Ledger) -> None:
        """The streaming reader sees exactly what the plain one sees."""
        with LogReader.of(filled) as plain, LogReader.streaming(filled) as streamed:
            assert list(streamed.entries()) == list(plain.entries())
            assert list(streamed.postings()) == list(plain.postings())
