"""Driver SQL for the hot paths: chunks of keys, rows by a list of keys, and plain inserts, on both backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from aidledger import Ledger
from aidledger.ledger import rows
from aidledger.store import schema as t


class TestChunks:
    @pytest.mark.parametrize(("count", "sizes"), [(0, []), (1, [1]), (2, [2]), (5, [2, 2, 1]), (6, [2, 2, 2])])
    def test_consecutive_slices_of_at_most_size(self, count: int, sizes: list[int]) -> None:
        """Every item once, in order, in slices of ``size`` with a shorter last one."""
        items = list(range(count))
        pieces = list(rows.chunks(items, 2))
        assert [len(piece) for piece in pieces] == sizes
        assert [item for piece in pieces for item in piece] == items

    def test_the_default_size_keeps_a_query_under_the_drivers_parameter_limits(self) -> None:
        """A list of 1,001 keys goes in three queries by default."""
        assert [len(piece) for piece in rows.chunks(list(range(1001)))] == [rows.CHUNK, rows.CHUNK, 1]


class TestDriverSql:
    def test_first_line_of_a_database_error(self) -> None:
        """A multi-line error shows its first line; an empty one its type's name."""
        assert rows.first_line(ValueError("deadlock detected\nDETAIL: Process 7 waits")) == "deadlock detected"
        assert rows.first_line(ValueError("  ")) == "ValueError"

    def test_rows_in_finds_every_key_across_chunks(self, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
        """Rows matching a list of keys come back whole, however many queries the list takes."""
        original = rows.chunks

        def small(items: Sequence[tuple[object, ...]], size: int = 2) -> Iterator[Sequence[tuple[object, ...]]]:
            return original(items, size)

        monkeypatch.setattr(rows, "chunks", small)
        codes = [f"U{n}" for n in range(5)]
        with ledger.engine.begin() as connection:
            rows.insert_rows(connection, t.units, ("code", "kind", "exponent"), [(c, "currency", 2) for c in codes])
            rows.insert_rows(connection, t.units, ("code", "kind", "exponent"), [])
            found = rows.rows_in(connection, t.units, ("code", "exponent"), ("code",), [(c,) for c in [*codes, "NONE"]])
            assert sorted(tuple(row) for row in found) == [(c, 2) for c in codes]
            grouped = rows.rows_in(connection, t.units, ("kind", "count(*)"), ("kind",), [("currency",)], group=True)
            assert [tuple(row) for row in grouped] == [("currency", 5)]

    def test_the_parameter_marker_is_the_drivers(self, ledger: Ledger) -> None:
        """psycopg takes ``%s``, sqlite3 ``?``."""
        with ledger.engine.connect() as connection:
            assert rows.mark(connection) == ("%s" if ledger.dialect == "postgresql" else "?")
