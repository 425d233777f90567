"""A window as SQL: the same bounds as Core predicates and as driver SQL, and the digest checked against the log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aidledger import Ledger
from aidledger.core.errors import DigestMismatch
from aidledger.core.times import to_micros
from aidledger.core.window import Window
from aidledger.store import schema as t
from aidledger.store.window import check_through, conditions, driver_sql
from tests.conftest import T0


class TestPredicates:
    def test_an_open_window_adds_nothing(self) -> None:
        """No bound, no predicate: the read sees every entry."""
        assert conditions(Window(), t.entries) == []
        assert driver_sql(Window()) == ("", [])

    def test_each_bound_becomes_one_predicate_in_both_forms(self) -> None:
        """Start, end, known_at and a digest become four predicates, with the same parameters in both forms."""
        window = Window(start=T0, end=T0.add(days=1), known_at=T0.add(days=2), through=f"7:{'a' * 64}")
        sql, params = driver_sql(window, entries="x", marker="%s")
        assert sql == " AND x.effective_at >= %s AND x.effective_at < %s AND x.recorded_at <= %s AND x.seq <= %s"
        assert params == [to_micros(T0), to_micros(T0.add(days=1)), to_micros(T0.add(days=2)), 7]
        compiled = [str(c.compile(compile_kwargs={"literal_binds": True})) for c in conditions(window, t.entries)]
        assert compiled == [
            f"entries.effective_at >= {params[0]}",
            f"entries.effective_at < {params[1]}",
            f"entries.recorded_at <= {params[2]}",
            "entries.seq <= 7",
        ]

    def test_another_effective_column_may_be_bounded(self) -> None:
        """A posting's own copy of the effective time can stand in for the entry's."""
        sql, _ = driver_sql(Window(as_of=T0), effective="p.effective_at")
        assert sql == " AND p.effective_at < ?"
        (only,) = conditions(Window(as_of=T0), t.entries, effective=t.postings.c.effective_at)
        assert "postings.effective_at <" in str(only)


class TestDigest:
    def test_a_digest_of_this_ledger_passes_and_any_other_is_refused(self, ledger: Ledger, chart: object) -> None:
        """The digest's entry must exist with that hash; otherwise DigestMismatch says what was found."""
        from tests.ledger import donate

        posted = donate(ledger)
        with ledger.engine.connect() as connection:
            check_through(connection, Window())
            check_through(connection, Window(through=f"1:{posted.hash}"))
            with pytest.raises(DigestMismatch, match="no such entry"):
                check_through(connection, Window(through=f"2:{posted.hash}"))
            with pytest.raises(DigestMismatch, match=f"entry 1 has hash {posted.hash}"):
                check_through(connection, Window(through=f"1:{'0' * 64}"))
            assert connection.execute(sa.select(sa.func.count()).select_from(t.entries)).scalar() == 1
