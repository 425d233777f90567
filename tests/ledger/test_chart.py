"""The chart room: accounts, funds and units are defined once, exactly."""

from __future__ import annotations

import pytest

from aidledger import Account, AccountType, DuplicateDefinition, Fund, Ledger
from tests.conftest import KZT, Chart


class TestDefinitions:
    def test_redefinition_is_refused(self, ledger: Ledger, chart: type[Chart]) -> None:
        """The same code cannot be defined twice differently; the same definition is a no-op."""
        assert ledger.add_account(chart.bank) == chart.bank
        with pytest.raises(DuplicateDefinition):
            ledger.add_account(Account("Assets:Bank:KZT", AccountType.LIABILITY, KZT))
        with pytest.raises(DuplicateDefinition):
            ledger.add_fund(Fund("GENERAL", name="other"))
        with pytest.raises(DuplicateDefinition, match="unit KZT"):
            from aidledger import Unit, UnitKind

            ledger.add_account(Account("Assets:Odd", AccountType.ASSET, Unit("KZT", UnitKind.CURRENCY, 3)))
        assert [a.code for a in ledger.accounts()][:2] == ["Assets:Bank:KZT", "Assets:Bank:USD"]
