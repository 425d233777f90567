"""Driver SQL for the hot paths: chunks of keys, rows by a list of keys, and plain inserts, on both backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import event

from aidledger import Claim, Ledger
from aidledger.ledger import rows
from aidledger.store import schema as t
from tests.conftest import T0, Chart
from tests.helpers import transfer


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

    def test_rows_in_by_a_key_of_several_columns(
        self, funded: Ledger, chart: type[Chart], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Rows by (scope, key) pairs come back whole and grouped; SQLite finds each pair by the index.

        A row-value ``IN`` of the pairs made SQLite scan every claim for every chunk of pairs.
        """
        original = rows.chunks
        monkeypatch.setattr(rows, "chunks", lambda items, size=2: original(items, size))
        claims = [Claim("programme-1", f"hh-{n}") for n in range(5)]
        funded.post_many([transfer(chart.cash_aid, chart.bank, chart.general, "1", T0, claims=[c]) for c in claims])
        asked = [("programme-1", "hh-1"), ("programme-1", "hh-3"), ("programme-1", "hh-9"), ("other", "hh-1")]
        sql: list[str] = []

        def listen(connection: object, cursor: object, statement: str, *rest: object) -> None:
            sql.append(statement)

        event.listen(funded.engine, "before_cursor_execute", listen)
        try:
            with funded.engine.connect() as connection:
                found = rows.rows_in(
                    connection, t.claims, ("scope", "key", "count(*)"), ("scope", "key"), asked, group=True
                )
                assert sorted(tuple(row) for row in found) == [("programme-1", "hh-1", 1), ("programme-1", "hh-3", 1)]
        finally:
            event.remove(funded.engine, "before_cursor_execute", listen)
        sql = [statement for statement in sql if "claims" in statement]
        assert len(sql) == 2  # two chunks of two pairs
        if funded.dialect == "sqlite":
            with funded.engine.connect() as connection:
                plan = connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {sql[0]}", tuple(v for p in asked[:2] for v in p)
                )
                details = [row[-1] for row in plan]
            assert not [d for d in details if d.startswith("SCAN claims")], details
            assert [d for d in details if d.startswith("SEARCH claims")], details

    def test_the_parameter_marker_is_the_drivers(self, ledger: Ledger) -> None:
        """psycopg takes ``%s``, sqlite3 ``?``."""
        with ledger.engine.connect() as connection:
            assert rows.mark(connection) == ("%s" if ledger.dialect == "postgresql" else "?")
