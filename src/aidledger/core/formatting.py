"""How amounts and times are written for people: one formatter for tables, totals, errors and reports.

An amount is written with exactly the decimals its unit has (KZT 2, JPY 0,
KWD 3), never through a float and never rounded: asking for fewer decimals than
the unit has is refused (round first, naming the rule, with ``Amount.rounded``).

Without a locale the text is ``1,234,567.50 KZT``; with a locale (through Babel)
it is what that locale writes: ``1 234 567,50 ₸`` for ``kk_KZ`` and ``ru_KZ``
(the spaces are no-break spaces), ``1.234.567,50 KZT`` for ``de_DE``.

A format spec is Python's (``format(money, ",")``, ``f"{money:>20,.3f}"``):
sign, grouping and precision shape the number; fill, alignment and width the
whole text, unit included.  The empty spec writes ``str(amount)``, the plain
machine form ``1234567.50 KZT``.

A time is written in the zone the user gave, with that zone's name:
``2020-04-01T09:00:00+06:00 (Asia/Almaty)``; with no zone given, in UTC, said
so: ``2020-04-01T03:00:00+00:00 (UTC)``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from aidledger.core.errors import InvalidArgument
from aidledger.core.times import from_micros, time_zone, to_micros, zone_name

if TYPE_CHECKING:
    from babel import Locale

    from aidledger.core.amounts import Amount

#: The spec the outputs use: thousands grouped, the unit's own decimals.
DISPLAY: Final = ","

# Python's format-spec mini-language: [[fill]align][sign][z][#][0][width][grouping][.precision][type].
_SPEC: Final = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?(?P<z>z)?(?P<alt>\#)?(?P<zero>0)?"
    r"(?P<width>[0-9]+)?(?P<grouping>[,_])?(?:\.(?P<precision>[0-9]+))?(?P<type>.)?",
    re.DOTALL,
)
_NO_BREAK: Final = "\N{NO-BREAK SPACE}"


@attrs.frozen
class _Spec:
    """A parsed format spec: what shapes the number, and what shapes the whole text."""

    fill: str
    align: str
    sign: str
    width: int | None
    grouping: str
    precision: int | None

    def pad(self, text: str) -> str:
        if self.width is None:
            return text
        return format(text, f"{self.fill}{self.align or '>'}{self.width}")


@functools.lru_cache(maxsize=256)
def _parse(spec: str) -> _Spec:
    """``spec`` read as Python's format spec, or InvalidArgument naming the part that amounts do not take."""
    if not isinstance(spec, str):
        raise InvalidArgument(f"a format spec is text, got {spec!r}", spec=spec)
    found = _SPEC.fullmatch(spec)
    if found is None:
        raise InvalidArgument(f"invalid format spec {spec!r} for an amount", spec=spec)
    parts = found.groupdict()
    refused = {
        "align": "'=' alignment" if parts["align"] == "=" else None,
        "zero": "'0' padding" if parts["zero"] else None,
        "alt": "the '#' form" if parts["alt"] else None,
        "z": "the 'z' option" if parts["z"] else None,
        "type": f"type {parts['type']!r}" if parts["type"] not in (None, "f") else None,
    }
    for reason in refused.values():
        if reason is not None:
            raise InvalidArgument(
                f"format spec {spec!r}: amounts take fill, alignment (<, >, ^), sign, width, grouping (, or _), "
                f"precision and type 'f', not {reason}",
                spec=spec,
            )
    return _Spec(
        fill=parts["fill"] or "",
        align=parts["align"] or "",
        sign=parts["sign"] or "",
        width=None if parts["width"] is None else int(parts["width"]),
        grouping=parts["grouping"] or "",
        precision=None if parts["precision"] is None else int(parts["precision"]),
    )


@functools.lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    """The Babel locale called ``name`` (``kk_KZ``, ``ru-KZ``, ``de``), or InvalidArgument."""
    from babel import Locale, UnknownLocaleError

    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"a locale is named by text such as 'kk_KZ', got {name!r}", locale=name)
    try:
        return Locale.parse(name.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidArgument(
            f"unknown locale {name!r}; name one as language_TERRITORY, such as kk_KZ, ru_KZ, en_US or de_DE",
            locale=name,
        ) from None


def check_locale(name: str | None) -> str | None:
    """``name`` if Babel knows that locale (or ``None``); InvalidArgument naming it if not."""
    if name is not None:
        _locale(name)
    return name


def _places(number: Decimal, spec: _Spec, exponent: int, unit: str) -> int:
    if spec.precision is None:
        return exponent
    if spec.precision < exponent:
        raise InvalidArgument(
            f"precision .{spec.precision} would hide decimals of {number}{' ' + unit if unit else ''}, "
            f"which has {exponent}; "
            f"round it first with a named rule (Amount.rounded)",
            spec=spec.precision,
            unit=unit,
        )
    return spec.precision


def _localized(number: Decimal, places: int, spec: _Spec, locale: str, currency: str | None) -> str:
    """``number`` written as ``locale`` writes it, with exactly ``places`` decimals (no rounding happens:
    ``number`` never has more); with the currency's symbol where ``currency`` is given."""
    from babel.numbers import parse_pattern

    if spec.sign not in ("", "-"):
        raise InvalidArgument(
            f"sign option {spec.sign!r} is not taken with a locale: the locale writes its own signs", spec=spec.sign
        )
    found = _locale(locale)
    # Babel hands out its locale's own pattern object: change a copy, never the shared one.
    pattern = copy.copy(parse_pattern(found.currency_formats["standard"] if currency else found.decimal_formats[None]))
    pattern.frac_prec = (places, places)
    text: str = pattern.apply(
        number, found, currency=currency, currency_digits=False, group_separator=bool(spec.grouping)
    )
    return text


def _written(number: Decimal, places: int, spec: _Spec, locale: str | None, currency: str | None) -> str:
    if locale is not None:
        return _localized(number, places, spec, locale, currency)
    grouped = format(number, f"{spec.sign}{',' if spec.grouping else ''}.{places}f")  # Decimal knows no '_'
    return grouped.replace(",", "_") if spec.grouping == "_" else grouped


def format_amount(amount: Amount, spec: str = DISPLAY, *, locale: str | None = None, unit: bool = True) -> str:
    """``amount`` as text for people, with exactly its unit's decimals.

    Args:
        amount: a :class:`~aidledger.Money` or :class:`~aidledger.Quantity`.
        spec: a Python format spec: ``","`` (the default) groups thousands, ``"_"`` groups with ``_``,
            ``""`` does not group; ``".3f"`` writes 3 decimals (never fewer than the unit has);
            ``">20"`` pads the whole text to 20 characters.  ``"+"`` writes a plus sign (without a locale).
        locale: a locale such as ``kk_KZ``, ``ru_KZ``, ``en_US`` or ``de_DE``: separators, sign and the
            currency's symbol as Babel has them for it; ``None`` writes ``1,234,567.50 KZT``.
        unit: whether to write the currency or commodity; ``False`` writes the number alone, for a table.

    Raises:
        InvalidArgument: an unknown locale, a spec amounts do not take (types other than ``f``, ``=``
            alignment, ``0`` padding, ``#``), or a precision below the unit's decimals.
    """
    from aidledger.core.amounts import Amount

    if not isinstance(amount, Amount):
        raise InvalidArgument(f"expected an amount (Money or Quantity), got {amount!r}", value=amount)
    parsed = _parse(spec)
    code = amount.unit.code
    places = _places(amount.value, parsed, amount.unit.exponent, code)
    if not unit:
        text = _written(amount.value, places, parsed, locale, None)
    elif locale is not None and amount.unit.is_currency:
        text = _localized(amount.value, places, parsed, locale, code)
    else:
        text = _written(amount.value, places, parsed, locale, None) + (_NO_BREAK if locale else " ") + code
    return parsed.pad(text)


def format_number(number: Decimal | int, spec: str = DISPLAY, *, locale: str | None = None) -> str:
    """A bare number (a count, or an amount's ``value``) written like :func:`format_amount` writes amounts,
    with the decimals it has: ``Decimal("185000000.00")`` is ``185,000,000.00``, ``1234`` is ``1,234``."""
    if isinstance(number, bool) or not isinstance(number, Decimal | int):
        raise InvalidArgument(f"expected a Decimal or an int, got {number!r}", value=number)
    value = Decimal(number)
    if not value.is_finite():
        raise InvalidArgument(f"cannot write {number!r} as a number", value=number)
    exponent = value.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    parsed = _parse(spec)
    places = _places(value, parsed, decimals, "")
    return parsed.pad(_written(value, places, parsed, locale, None))


def format_time(when: dt.datetime, zone: str | None = None) -> str:
    """``when`` as ISO 8601 text in ``zone`` (or in its own zone), with the zone's name:
    ``2020-04-01T09:00:00+06:00 (Asia/Almaty)``, ``2020-04-01T03:00:00+00:00 (UTC)``.

    Args:
        when: an aware datetime.
        zone: the zone to show it in (an IANA name or ``+HH:MM``); ``None`` keeps the zone ``when`` is in.
    """
    micros = to_micros(when, "time to write")
    if zone is not None:
        time_zone(zone)  # InvalidArgument for a zone pendulum does not know
    name = zone_name(when) if zone is None else zone
    text = from_micros(micros, name).isoformat()
    if name in ("+00:00", "-00:00"):
        name = "UTC"
    return text if name.startswith(("+", "-")) else f"{text} ({name})"


__all__ = ["DISPLAY", "check_locale", "format_amount", "format_number", "format_time"]
