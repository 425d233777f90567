"""A window as SQL: the same bounds as Core predicates and as driver SQL, and the digest checked against the log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aidledger import Ledger, verify
from aidledger.core.errors import DigestMismatch, InvalidArgument
from aidledger.core.times import to_micros
from aidledger.core.window import Digest, Window
from aidledger.store import schema as t
from aidledger.store.window import check_through, conditions, driver_sql
from tests.conftest import T0


class TestPredicates:
    def test_an_open_window_adds_nothing(self) -> None:
        """No bound, no predicate: the read sees every entry."""
        assert conditions(Window(), t.entries) == []
        assert driver_sql(Window()) == ("", [])

    def test_each_bound_becomes_one_predicate_in_both_forms(self) -> None:
        """Start, end, known_at and a resolved digest become four predicates, with the same parameters in both forms.

        The digest names log item 30; a ledger resolved it to the newest entry it covers, entry 7.
        """
        through = Digest(seq=30, hash="a" * 64, entries=7)
        window = Window(start=T0, end=T0.add(days=1), known_at=T0.add(days=2), through=through)
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
        """A digest names an item of the log (or, as before the one log, an entry) with its hash; it resolves to
        the entries it covers, and anything else is DigestMismatch saying what was found."""
        from tests.ledger import donate

        posted = donate(ledger)
        item = verify(ledger)
        with ledger.engine.connect() as connection:
            assert check_through(connection, Window()) == Window()
            resolved = check_through(connection, Window(through=item.digest)).through
            assert resolved is not None and (resolved.seq, resolved.entries) == (item.log_seq, 1)
            by_entry = check_through(connection, Window(through=f"1:{posted.hash}")).through
            assert by_entry is not None and by_entry.entries == 1
            with pytest.raises(DigestMismatch, match="no such item"):
                check_through(connection, Window(through=f"{item.log_seq + 1}:{posted.hash}"))
            with pytest.raises(DigestMismatch, match=f"item {item.log_seq} has hash {item.log_hash}"):
                check_through(connection, Window(through=f"{item.log_seq}:{'0' * 64}"))
            assert connection.execute(sa.select(sa.func.count()).select_from(t.entries)).scalar() == 1

    def test_an_unresolved_digest_bounds_nothing(self) -> None:
        """A digest read from text has not been checked against a ledger: using it as a bound is refused."""
        with pytest.raises(InvalidArgument, match="was not resolved against a ledger"):
            conditions(Window(through=f"3:{'a' * 64}"), t.entries)
