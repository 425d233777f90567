"""One formatter for amounts and times: format specs, locales through Babel, exact decimals, typed errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pendulum
import pytest

from aidledger import InvalidArgument, Money, Quantity, format_amount, format_number, format_time
from aidledger.core.amounts import MAX_MINOR, commodity

NB = "\N{NO-BREAK SPACE}"
AMOUNT = Money("1234567.50", "KZT")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("kk_KZ", f"1{NB}234{NB}567,50{NB}₸"),
        ("ru_KZ", f"1{NB}234{NB}567,50{NB}₸"),
        ("en_US", "KZT1,234,567.50"),
        ("de_DE", f"1.234.567,50{NB}KZT"),
        (None, "1,234,567.50 KZT"),
    ],
)
def test_money_per_locale(locale: str | None, expected: str) -> None:
    assert format_amount(AMOUNT, locale=locale) == expected


def test_negative_and_zero_exponent_currencies() -> None:
    assert format_amount(-AMOUNT) == "-1,234,567.50 KZT"
    assert format_amount(-AMOUNT, locale="kk_KZ") == f"-1{NB}234{NB}567,50{NB}₸"
    assert format_amount(Money("1234567", "JPY")) == "1,234,567 JPY"
    assert format_amount(Money("1234567", "JPY"), locale="en_US") == "¥1,234,567"
    assert format_amount(Money("-1.005", "KWD"), locale="de_DE") == f"-1,005{NB}KWD"
    assert format_amount(Money("0", "KZT"), locale="ru_KZ") == f"0,00{NB}₸"


def test_huge_amounts_keep_every_digit() -> None:
    biggest = Money.from_minor(MAX_MINOR, Money("0", "KZT").unit)
    assert format_amount(biggest) == "9,999,999,999,999,999.99 KZT"
    assert format_amount(-biggest, locale="kk_KZ").startswith(f"-9{NB}999{NB}999")
    assert format_amount(-biggest, locale="kk_KZ").endswith(f"999,99{NB}₸")


def test_format_specs() -> None:
    assert format(AMOUNT, ",") == "1,234,567.50 KZT"
    assert f"{AMOUNT}" == str(AMOUNT) == "1234567.50 KZT"
    assert f"{AMOUNT:_}" == "1_234_567.50 KZT"
    assert f"{AMOUNT:+,.3f}" == "+1,234,567.500 KZT"
    assert f"{AMOUNT:>20,}|" == "    1,234,567.50 KZT|"
    assert f"{AMOUNT:*^20}" == "***1234567.50 KZT***"
    assert f"{Quantity('1200', commodity('FOOD-PACKAGE', 'package')):,}" == "1,200 FOOD-PACKAGE"
    assert format_amount(AMOUNT, unit=False) == "1,234,567.50"
    assert format_amount(AMOUNT, "", locale="ru_KZ", unit=False) == "1234567,50"


@pytest.mark.parametrize("spec", ["e", "%", "d", "=20", "020", "#", "z", ".1f", ".0", "garbage!"])
def test_bad_specs_are_refused_with_a_typed_error(spec: str) -> None:
    with pytest.raises(InvalidArgument, match=r"spec|precision"):
        format(AMOUNT, spec)


def test_bad_locale_and_sign_with_a_locale_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown locale 'xx_YY'"):
        format_amount(AMOUNT, locale="xx_YY")
    with pytest.raises(InvalidArgument, match="sign option"):
        format_amount(AMOUNT, "+", locale="kk_KZ")
    with pytest.raises(InvalidArgument, match="expected an amount"):
        format_amount(Decimal("1"))  # type: ignore[arg-type]


def test_numbers_keep_their_decimals() -> None:
    assert format_number(Decimal("185000000.00")) == "185,000,000.00"
    assert format_number(1234) == "1,234"
    assert format_number(Decimal("185000000.00"), locale="ru_KZ") == f"185{NB}000{NB}000,00"
    with pytest.raises(InvalidArgument):
        format_number(1.5)  # type: ignore[arg-type]


def test_a_locale_never_changes_babels_shared_patterns() -> None:
    from babel.numbers import format_currency

    format_amount(Money("5", "JPY"), locale="en_US")
    assert format_currency(Decimal("1.5"), "USD", locale="en_US") == "$1.50"


def test_times_in_the_zone_given_or_said_to_be_utc() -> None:
    almaty = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")
    assert format_time(almaty) == "2020-04-01T09:00:00+06:00 (Asia/Almaty)"
    assert format_time(almaty, "UTC") == "2020-04-01T03:00:00+00:00 (UTC)"
    assert format_time(dt.datetime(2020, 4, 1, 3, tzinfo=dt.UTC)) == "2020-04-01T03:00:00+00:00 (UTC)"
    assert format_time(dt.datetime(2020, 4, 1, 3, tzinfo=dt.UTC), "+06:00") == "2020-04-01T09:00:00+06:00"
    with pytest.raises(InvalidArgument):
        format_time(almaty, "Mars/Olympus")
    with pytest.raises(InvalidArgument):
        format_time(dt.datetime(2020, 4, 1))  # naive on purpose
