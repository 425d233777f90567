"""The reader: entries read back exactly, in chain order, in pages, with filters."""

from __future__ import annotations

import pytest

from aidledger import InvalidArgument, Ledger
from tests.conftest import T0, Chart
from tests.helpers import transfer
from tests.ledger import donate, pay


class TestEntries:
    def test_entry_reads_back_exactly(self, ledger: Ledger, chart: type[Chart]) -> None:
        """An entry read back equals what was posted, time zone and hostile text included."""
        memo = "'; DROP TABLE entries; -- \u202eעברית " + "ж" * 3000
        posted = ledger.post(
            transfer(
                chart.bank,
                chart.donations,
                chart.general,
                "12.34",
                T0,
                key="k1",
                memo=memo,
                source="receipt 7",
                tags={"donor": "D-1", "region": "Abai"},
            )
        )
        again = ledger.entry(posted.id)
        assert again == posted
        assert again.entry.effective_at.timezone_name == "Asia/Almaty"

    def test_entries_iterates_in_chain_order(self, ledger: Ledger, chart: type[Chart]) -> None:
        """entries() yields posted entries by sequence."""
        donate(ledger)
        ledger.post(pay("1"))
        assert [e.seq for e in ledger.entries()] == [1, 2]
        assert [e.seq for e in ledger.entries(after_seq=1)] == [2]


def test_entries_read_in_pages_with_filters(
    ledger: Ledger, chart: type[Chart], monkeypatch: pytest.MonkeyPatch
) -> None:
    """entries() pages through the journal, and filters by effective time, recorded time and count in SQL."""
    import aidledger.ledger.reader as module

    monkeypatch.setattr(module, "_PAGE", 2)
    posted = [ledger.post(transfer(chart.bank, chart.donations, chart.general, "10", T0.add(days=n))) for n in range(5)]
    assert [p.id for p in ledger.entries()] == [p.id for p in posted]
    assert [p.seq for p in ledger.entries(as_of=T0.add(days=2))] == [1, 2, 3]
    assert [p.seq for p in ledger.entries(after_seq=1, limit=3)] == [2, 3, 4]
    cut = posted[1].recorded_at
    assert [p.seq for p in ledger.entries(known_at=cut)] == [p.seq for p in posted if p.recorded_at <= cut]
    assert list(ledger.entries(limit=0)) == []
    with pytest.raises(InvalidArgument, match="limit must be"):
        list(ledger.entries(limit=-1))
