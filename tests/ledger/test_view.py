"""The read view ``transact`` hands its build function, inside the write transaction."""

from __future__ import annotations

import pytest

from aidledger import InvalidArgument, Ledger, Money
from tests.conftest import KZT, Chart
from tests.helpers import snapshot
from tests.ledger import donate, pay


class TestTransact:
    def test_build_reads_inside_the_write_transaction(self, ledger: Ledger, chart: type[Chart]) -> None:
        """``transact`` hands ``build`` the ledger as it stands under the write lock."""
        donate(ledger, "100000", key="gift")
        seen = []

        def build(view):  # type: ignore[no-untyped-def]
            bank = view.balance(chart.bank, chart.general)
            seen.append((bank, view.entry_by_key("gift").seq))
            return [pay(str(bank.value))]

        result = ledger.transact(build)
        assert seen == [(Money("100000", KZT), 1)]
        assert len(result.posted) == 1
        assert ledger.balance(chart.bank).is_zero()

    def test_a_write_inside_build_is_refused_not_deadlocked(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Writing from inside ``build`` would wait for its own lock; it is refused at once and writes nothing."""
        donate(ledger, "100000")
        before = snapshot(ledger)

        def build(view):  # type: ignore[no-untyped-def]
            ledger.post(pay("1"))
            return []

        with pytest.raises(InvalidArgument, match="inside another write transaction"):
            ledger.transact(build)
        assert snapshot(ledger) == before
        assert len(ledger.transact(lambda view: [pay("1")]).posted) == 1

    def test_build_must_return_entries(self, ledger: Ledger, chart: type[Chart]) -> None:
        before = snapshot(ledger)
        with pytest.raises(InvalidArgument, match="JournalEntry"):
            ledger.transact(lambda view: ["not an entry"])  # type: ignore[list-item]
        assert snapshot(ledger) == before
