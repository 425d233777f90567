"""The chart's values: account types and their normal sides, codes, and funds' restrictions."""

from __future__ import annotations

import pytest

from aidledger import Account, AccountType, Fund, InvalidArgument, Restriction
from aidledger.core.accounts import Side, check_code
from tests.conftest import KZT


class TestAccountTypes:
    @pytest.mark.parametrize(
        ("kind", "side"),
        [
            (AccountType.ASSET, Side.DEBIT),
            (AccountType.EXPENSE, Side.DEBIT),
            (AccountType.MEMO, Side.DEBIT),
            (AccountType.LIABILITY, Side.CREDIT),
            (AccountType.NET_ASSETS, Side.CREDIT),
            (AccountType.REVENUE, Side.CREDIT),
        ],
    )
    def test_each_type_has_its_normal_side(self, kind: AccountType, side: Side) -> None:
        """Assets, expenses and memo accounts are debit-normal; the rest credit-normal, and accounts inherit it."""
        assert kind.normal_side is side
        assert Account("Assets:X", kind, KZT).normal_side is side

    def test_an_account_may_override_its_side(self) -> None:
        """A contra account keeps its type and carries the other side."""
        contra = Account("Assets:Allowance", AccountType.ASSET, KZT, normal_side=Side.CREDIT)
        assert (contra.type, contra.normal_side) == (AccountType.ASSET, Side.CREDIT)


class TestCodes:
    @pytest.mark.parametrize("code", ["Assets", "Assets:Bank:KZT", "CASH-AID", "Expenses:CASH-AID:KZT", "a_1:2b"])
    def test_good_codes_pass_unchanged(self, code: str) -> None:
        """Letters, digits, '_' and '-' in ':'-separated parts, the first starting with a letter."""
        assert check_code("account", code) == code

    @pytest.mark.parametrize(
        "code", ["", "1Bank", "Assets::Bank", "Assets:", ":Assets", "Assets Bank", "Assets/Bank", "A" * 65, 42, None]
    )
    def test_bad_codes_are_refused_naming_the_kind_and_the_code(self, code: object) -> None:
        """A bad code is an InvalidArgument that says which kind of code and shows it."""
        with pytest.raises(InvalidArgument, match=r"^fund code must be .*; got ") as refused:
            check_code("fund", code)
        assert refused.value.details["code"] == code

    def test_a_name_with_a_nul_is_refused(self) -> None:
        """Names are text without NUL characters."""
        with pytest.raises(InvalidArgument, match="name must be text without NUL"):
            Account("Assets:Bank:KZT", AccountType.ASSET, KZT, name="bank\x00")


class TestFunds:
    def test_the_restriction_follows_the_purpose_by_default(self) -> None:
        """No purpose means unrestricted; a purpose means donor-restricted unless the board designated it."""
        assert Fund("GENERAL").restriction is Restriction.UNRESTRICTED and not Fund("GENERAL").restricted
        assert Fund("FOOD", purpose="food").restriction is Restriction.DONOR
        board = Fund("RESERVE", purpose="cash-aid", restriction=Restriction.BOARD)
        assert board.restricted

    @pytest.mark.parametrize(
        ("purpose", "restriction"),
        [(None, Restriction.DONOR), (None, Restriction.BOARD), ("food", Restriction.UNRESTRICTED)],
    )
    def test_a_restriction_and_a_purpose_come_together(self, purpose: str | None, restriction: Restriction) -> None:
        """A restricted fund without a purpose, or an unrestricted one with a purpose, is refused by code."""
        with pytest.raises(InvalidArgument, match="fund ODD: a restricted or designated fund needs a purpose"):
            Fund("ODD", purpose=purpose, restriction=restriction)

    def test_a_purpose_is_a_code(self) -> None:
        """A purpose is checked like a code, so it can be compared and stored."""
        with pytest.raises(InvalidArgument, match="purpose code"):
            Fund("FOOD", purpose="food and water")
