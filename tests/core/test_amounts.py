"""The money gateway: exact decimals in named units, never floats."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import (
    MAX_MINOR,
    Amount,
    InvalidAmount,
    InvalidArgument,
    Money,
    Quantity,
    Rounding,
    UnitMismatch,
    commodity,
    currency,
)

KZT = currency("KZT")
PACKAGE = commodity("FOOD-PACKAGE", "package")
FLOUR = commodity("FLOUR", "kg", exponent=3)


class TestUnits:
    def test_currency_exponents_come_from_py_moneyed(self) -> None:
        """KZT has two decimals, JPY none and KWD three."""
        assert (currency("KZT").exponent, currency("JPY").exponent, currency("KWD").exponent) == (2, 0, 3)

    def test_unknown_currency_is_refused(self) -> None:
        """A code that is not ISO 4217 raises InvalidArgument naming it."""
        with pytest.raises(InvalidArgument, match="'XYZ1'"):
            currency("XYZ1")

    def test_commodity_needs_a_unit_of_measure(self) -> None:
        """A commodity without a measure is refused."""
        with pytest.raises(InvalidArgument, match="unit of measure"):
            commodity("RICE", "")

    @pytest.mark.parametrize("code", ["rice", "R", "1RICE", "RICE PACK", "A" * 30])
    def test_bad_commodity_codes_are_refused(self, code: str) -> None:
        """Codes outside Beancount's commodity syntax are refused."""
        with pytest.raises(InvalidArgument):
            commodity(code, "kg")


class TestMoney:
    @pytest.mark.parametrize(
        "bad", [0.1, 1.0, float("nan"), float("inf"), "nan", "-inf", "Infinity", True, None, [], "1e", ""]
    )
    def test_non_exact_values_are_refused(self, bad: object) -> None:
        """Floats, NaN, infinities, booleans and junk never become money."""
        with pytest.raises(InvalidAmount):
            Money(bad, KZT)

    def test_too_many_decimals_are_refused(self) -> None:
        """1.001 KZT is finer than the tiyn and must be rounded by the caller."""
        with pytest.raises(InvalidAmount, match="more decimals than KZT allows"):
            Money("1.001", KZT)

    def test_trailing_zeros_are_fine_and_normalised(self) -> None:
        """12.500 is 12.50 KZT."""
        assert Money("12.500", KZT) == Money("12.5", "KZT")
        assert str(Money("12.500", KZT)) == "12.50 KZT"

    def test_beyond_the_largest_amount_is_refused(self) -> None:
        """Amounts must fit 18 digits of minor units."""
        assert Money(Decimal(MAX_MINOR).scaleb(-2), KZT).minor == MAX_MINOR
        with pytest.raises(InvalidAmount, match="beyond the largest amount"):
            Money(Decimal(MAX_MINOR + 1).scaleb(-2), KZT)

    def test_money_needs_a_currency(self) -> None:
        """Money of a commodity is a type error."""
        with pytest.raises(UnitMismatch):
            Money("1", PACKAGE)
        with pytest.raises(UnitMismatch):
            Quantity("1", KZT)

    def test_arithmetic_refuses_mixed_units(self) -> None:
        """KZT plus USD is a UnitMismatch, which is also a TypeError."""
        with pytest.raises(TypeError):
            _ = Money("1", KZT) + Money("1", "USD")

    def test_arithmetic_is_exact(self) -> None:
        """Sums of tiyn are exact."""
        total = Money("0", KZT)
        for _ in range(10):
            total = total + Money("0.10", KZT)
        assert total == Money("1", KZT)
        assert -Money("5", KZT) < Money("0", KZT)

    @pytest.mark.parametrize(
        ("value", "rule", "expected"),
        [
            ("1.005", Rounding.HALF_UP, "1.01"),
            ("1.005", Rounding.HALF_EVEN, "1.00"),
            ("1.015", Rounding.HALF_EVEN, "1.02"),
            ("1.009", Rounding.DOWN, "1.00"),
            ("-1.001", Rounding.FLOOR, "-1.01"),
        ],
    )
    def test_rounding_is_explicit_and_named(self, value: str, rule: Rounding, expected: str) -> None:
        """Amount.rounded applies exactly the rule it is given."""
        assert Amount.rounded(value, KZT, rule) == Money(expected, KZT)

    def test_rounding_needs_a_rule(self) -> None:
        """A rounding that is not a Rounding is refused."""
        with pytest.raises(InvalidArgument):
            Amount.rounded("1.005", KZT, decimal.ROUND_HALF_UP)  # type: ignore[arg-type]

    def test_quantities_in_grams(self) -> None:
        """Flour counted in kg with three decimals holds grams exactly."""
        assert Quantity("1000.125", FLOUR).minor == 1_000_125

    @given(st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR))
    def test_minor_units_round_trip(self, minor: int) -> None:
        """Any amount in range goes to minor units and back unchanged."""
        amount = Amount.from_minor(minor, KZT)
        assert isinstance(amount, Money)
        assert amount.minor == minor
        assert Money(str(amount.value), KZT) == amount

    def test_formats_with_py_moneyed(self) -> None:
        """Money converts to py-moneyed for locale-aware formatting."""
        assert Money("1500.50", KZT).to_moneyed().amount == Decimal("1500.50")
