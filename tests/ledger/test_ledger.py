"""The Ledger facade: opening a database, for writing or read-only."""

from __future__ import annotations

from pathlib import Path

import pytest

from aidledger import InvalidArgument, Ledger, NotALedger, StorageError, verify
from tests.conftest import Chart


class TestOpen:
    def test_create_false_refuses_a_missing_ledger(self, tmp_path: Path) -> None:
        """Ledger.open(create=False) names a missing file and creates nothing."""
        with pytest.raises(NotALedger, match="does not exist"):
            Ledger.open(str(tmp_path / "typo.db"), create=False)
        assert list(tmp_path.iterdir()) == []

    def test_create_false_opens_an_existing_ledger(self, tmp_path: Path) -> None:
        """An existing ledger opens as usual without create."""
        Ledger.open(str(tmp_path / "l.db")).close()
        with Ledger.open(str(tmp_path / "l.db"), create=False) as ledger:
            assert ledger.add_account(Chart.bank) == Chart.bank

    def test_read_only_reads_and_refuses_every_write(self, url: str) -> None:
        """A read-only ledger verifies and reads; adding an account or posting raises StorageError."""
        with Ledger.open(url) as ledger:
            ledger.add_account(Chart.bank)
        with Ledger.open(url, read_only=True) as auditor:
            assert auditor.read_only
            assert verify(auditor).ok
            assert auditor.account(Chart.bank.code) == Chart.bank
            with pytest.raises(StorageError, match="read-only"):
                auditor.add_account(Chart.donations)
            with pytest.raises(StorageError, match="read-only"):
                auditor.add_fund(Chart.general)

    def test_read_only_refuses_an_empty_database(self, url: str) -> None:
        """An empty database (SQLite file or PostgreSQL schema) is not a ledger when opened read-only."""
        if url.startswith("sqlite"):
            Path(url.removeprefix("sqlite:///")).touch()
        with pytest.raises(NotALedger, match="not an aidledger ledger"):
            Ledger.open(url, read_only=True)

    @pytest.mark.parametrize("name", ["create", "read_only"])
    def test_flags_are_booleans(self, tmp_path: Path, name: str) -> None:
        """create and read_only take True or False only."""
        with pytest.raises(InvalidArgument, match=name):
            Ledger.open(str(tmp_path / "l.db"), **{name: "yes"})  # type: ignore[arg-type]
