"""The log reader: the stored rows of the log, in sequence order, as they are, on one snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aidledger import Ledger
from aidledger.ledger.log import COLUMNS, LogReader


def columns(rows: Iterable[tuple[Any, ...]], table: str, *names: str) -> list[tuple[Any, ...]]:
    """The named columns of every streamed row (the reader streams plain tuples of ``COLUMNS[table]``)."""
    places = [COLUMNS[table].index(name) for name in names]
    return [tuple(row[i] for i in places) for row in rows]


class TestLogReader:
    def test_every_table_is_read_in_the_order_of_its_entries(self, filled: Ledger) -> None:
        """Entries by sequence; postings, tags and claims by their entry; closes by their own sequence."""
        with LogReader.of(filled) as log:
            assert [row[0] for row in columns(log.entries(), "entries", "seq")] == [1, 2, 3, 4, 5, 6]
            postings = columns(log.postings(), "postings", "entry_seq", "line")
            assert postings[:3] == [(1, 1), (1, 2), (2, 1)]
            assert [row[0] for row in columns(log.tags(), "entry_tags", "entry_seq")] == [1, 2, 3, 4, 5, 6]
            claims = columns(log.claims(), "claims", "entry_seq", "key")
            assert claims == [(n, f"hh{n - 1}") for n in range(2, 7)]
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
