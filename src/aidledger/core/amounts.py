"""Units, and the one gateway through which numbers become money or quantities.

A :class:`Unit` is a currency (looked up in py-moneyed, which gives its minor-unit
exponent: KZT has 2, JPY 0, KWD 3) or a commodity counted in a unit of measure
(``FOOD-PACKAGE`` in packages, ``FLOUR`` in kg with 3 decimals, that is grams).

An :class:`Amount` is an exact ``Decimal`` in a unit.  It never comes from a
float, NaN or infinity, never holds more decimals than its unit allows, and is
stored as an integer count of the unit's smallest step (``minor``).  Where a
value must be rounded, the caller names the rule (:class:`Rounding`).
"""

from __future__ import annotations

import decimal
import enum
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from aidledger.core.errors import InvalidAmount, InvalidArgument, UnitMismatch

if TYPE_CHECKING:  # py-moneyed loads Babel: it is imported on the first currency looked up, not by `import aidledger`
    import moneyed

#: Largest absolute amount, in minor units, that the ledger accepts (18 digits):
#: sums of many such amounts still fit the databases' signed 64-bit integers.
MAX_MINOR: Final = 10**18 - 1

# Decimal arithmetic in here never loses digits: 40 significant digits hold any
# value of MAX_MINOR scaled by any exponent we allow.
_EXACT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.Inexact])

_COMMODITY_CODE = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]\Z")
_MEASURE = re.compile(r"^[a-z][a-z0-9_-]{0,31}\Z")
_MAX_EXPONENT: Final = 9


class UnitKind(enum.Enum):
    """Whether a unit is money or goods."""

    CURRENCY = "currency"
    COMMODITY = "commodity"


class Rounding(enum.Enum):
    """A named rounding rule; every division or conversion in aidledger names one."""

    HALF_UP = decimal.ROUND_HALF_UP
    HALF_EVEN = decimal.ROUND_HALF_EVEN
    DOWN = decimal.ROUND_DOWN
    UP = decimal.ROUND_UP
    FLOOR = decimal.ROUND_FLOOR
    CEILING = decimal.ROUND_CEILING


def _check_exponent(_: object, __: object, value: int) -> None:
    if type(value) is not int or not 0 <= value <= _MAX_EXPONENT:
        raise InvalidArgument(
            f"unit exponent must be an integer from 0 to {_MAX_EXPONENT}, got {value!r}",
            exponent=value,
        )


@attrs.frozen
class Unit:
    """A currency or a commodity.

    Attributes:
        code: ``KZT`` for a currency, ``FOOD-PACKAGE`` for a commodity (Beancount syntax).
        kind: currency or commodity.
        exponent: how many decimals an amount may have (KZT: 2; packages: 0; kg counted in grams: 3).
        measure: for a commodity, its unit of measure (``package``, ``kg``); ``None`` for a currency.
    """

    code: str
    kind: UnitKind
    exponent: int = attrs.field(validator=_check_exponent)
    measure: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.code, str) or not _COMMODITY_CODE.match(self.code):
            raise InvalidArgument(
                f"unit code must be 2-24 characters, upper-case letters, digits and ' . _ -, "
                f"starting with a letter; got {self.code!r}",
                code=self.code,
            )
        if self.kind is UnitKind.CURRENCY and self.measure is not None:
            raise InvalidArgument(f"currency {self.code} cannot have a unit of measure", code=self.code)
        if self.kind is UnitKind.COMMODITY and (not isinstance(self.measure, str) or not _MEASURE.match(self.measure)):
            raise InvalidArgument(
                f"commodity {self.code} needs a unit of measure such as 'kg' or 'package', got {self.measure!r}",
                code=self.code,
                measure=self.measure,
            )

    @property
    def step(self) -> Decimal:
        """The smallest amount of this unit (``0.01`` for KZT, ``1`` for packages)."""
        return Decimal(1).scaleb(-self.exponent)

    @property
    def is_currency(self) -> bool:
        return self.kind is UnitKind.CURRENCY

    def __str__(self) -> str:
        return self.code


def currency(code: str) -> Unit:
    """The currency with this ISO 4217 code, with its minor-unit exponent from py-moneyed.

    >>> currency("KZT").exponent
    2
    """
    if not isinstance(code, str):
        raise InvalidArgument(f"currency code must be a string, got {code!r}", code=code)
    import moneyed

    try:
        found = moneyed.get_currency(code.upper())
    except moneyed.CurrencyDoesNotExist:
        raise InvalidArgument(f"unknown currency code {code!r}", code=code) from None
    sub_unit = int(found.sub_unit)
    exponent = len(str(sub_unit)) - 1
    if sub_unit != 10**exponent:  # pragma: no cover - no such ISO currency today
        raise InvalidArgument(f"currency {code} has a non-decimal minor unit", code=code)
    return Unit(code=found.code, kind=UnitKind.CURRENCY, exponent=exponent)


def commodity(code: str, measure: str, exponent: int = 0) -> Unit:
    """A commodity counted in ``measure``, with ``exponent`` decimals allowed.

    >>> commodity("FLOUR", "kg", exponent=3).step
    Decimal('0.001')
    """
    return Unit(code=code, kind=UnitKind.COMMODITY, exponent=exponent, measure=measure)


#: The one text form of an amount: ASCII digits, an optional leading '-', an optional decimal point with digits after.
_PLAIN: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def to_decimal(value: object) -> Decimal:
    """Turn an ``int``, ``str`` or ``Decimal`` into a finite ``Decimal``; refuse everything else.

    Floats are refused even when they look harmless: ``0.1`` is not one tenth.
    Text must be plain: ``50000``, ``-12.50``; Python's ``Decimal`` also reads
    ``5e4``, ``+5``, ``.5``, ``1_000`` and digits of other scripts, which are not
    accepted as money.
    """
    if isinstance(value, bool):
        raise InvalidAmount(f"a boolean is not an amount: {value!r}", value=value)
    if isinstance(value, float):
        raise InvalidAmount(
            f"floats are never money: {value!r}; pass a str or Decimal such as '12.50'",
            value=value,
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if not _PLAIN.fullmatch(value.strip()):
            raise InvalidAmount(
                f"not a decimal number: {value!r}; write an amount as ASCII digits with an optional leading '-' and "
                f"decimal point, such as '50000' or '-12.50' (no exponent, sign '+', '_' or other digits)",
                value=value,
            )
        number = Decimal(value.strip())
    else:
        raise InvalidAmount(
            f"an amount must be int, str or Decimal, got {type(value).__name__}: {value!r}",
            value=value,
        )
    if not number.is_finite():
        raise InvalidAmount(f"an amount must be finite, got {value!r}", value=value)
    return number


def _minor_units(number: Decimal, unit: Unit) -> int:
    """``number`` as an exact count of the unit's smallest step, or InvalidAmount."""
    if number and number.adjusted() + unit.exponent >= len(str(MAX_MINOR)):
        raise _beyond(number, unit)  # far too large to scale exactly: say so, not "too many decimals"
    try:
        scaled = _EXACT.scaleb(number, unit.exponent)
        if scaled != scaled.to_integral_value(context=_EXACT):
            raise decimal.Inexact
        minor = int(scaled)
    except (decimal.Inexact, decimal.InvalidOperation):
        raise InvalidAmount(
            f"{number} has more decimals than {unit.code} allows ({unit.exponent}); round it first with a named rule",
            value=number,
            unit=unit.code,
        ) from None
    if abs(minor) > MAX_MINOR:
        raise _beyond(number, unit)
    return minor


def _beyond(number: Decimal, unit: Unit) -> InvalidAmount:
    return InvalidAmount(
        f"{number} {unit.code} is beyond the largest amount the ledger holds ({MAX_MINOR} minor units)",
        value=number,
        unit=unit.code,
    )


@attrs.frozen(order=False)
class Amount:
    """An exact amount of a unit; the base of :class:`Money` and :class:`Quantity`.

    Attributes:
        value: the decimal value, exactly representable in the unit.
        unit: the currency or commodity.
    """

    value: Decimal = attrs.field(converter=to_decimal)
    unit: Unit

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.unit, Unit):
            raise InvalidArgument(f"unit must be a Unit, got {self.unit!r}", unit=self.unit)
        minor = _minor_units(self.value, self.unit)
        # Normalise to the unit's exponent so equal amounts print and hash the same.
        object.__setattr__(self, "value", Decimal(minor).scaleb(-self.unit.exponent))

    @classmethod
    def from_minor(cls, minor: int, unit: Unit) -> Amount:
        """The amount of ``minor`` smallest steps of ``unit`` (as stored in the database)."""
        if type(minor) is not int:
            raise InvalidAmount(f"minor units must be an int, got {minor!r}", value=minor)
        return _of_kind(unit)(Decimal(minor).scaleb(-unit.exponent), unit)

    @classmethod
    def rounded(cls, value: object, unit: Unit, rounding: Rounding) -> Amount:
        """``value`` rounded to the unit's exponent with the named rule (the only way to round)."""
        if not isinstance(rounding, Rounding):
            raise InvalidArgument(f"rounding must be a Rounding, got {rounding!r}", rounding=rounding)
        number = to_decimal(value)
        with decimal.localcontext(decimal.Context(prec=60)):
            quantized = number.quantize(unit.step, rounding=rounding.value)
        return _of_kind(unit)(quantized, unit)

    @property
    def minor(self) -> int:
        """The amount as an integer number of the unit's smallest step."""
        return int(self.value.scaleb(self.unit.exponent))

    def is_zero(self) -> bool:
        return self.value == 0

    def _same_unit(self, other: object, operation: str) -> Amount:
        if not isinstance(other, Amount):
            raise UnitMismatch(f"cannot {operation} {self} and {other!r}", left=self, right=other)
        if other.unit != self.unit:
            raise UnitMismatch(
                f"cannot {operation} {self} and {other}: different units",
                left=self,
                right=other,
            )
        return other

    def __add__(self, other: object) -> Amount:
        return type(self)(self.value + self._same_unit(other, "add").value, self.unit)

    def __sub__(self, other: object) -> Amount:
        return type(self)(self.value - self._same_unit(other, "subtract").value, self.unit)

    def __neg__(self) -> Amount:
        return type(self)(-self.value, self.unit)

    def __abs__(self) -> Amount:
        return type(self)(abs(self.value), self.unit)

    def __lt__(self, other: object) -> bool:
        return self.value < self._same_unit(other, "compare").value

    def __le__(self, other: object) -> bool:
        return self.value <= self._same_unit(other, "compare").value

    def __gt__(self, other: object) -> bool:
        return self.value > self._same_unit(other, "compare").value

    def __ge__(self, other: object) -> bool:
        return self.value >= self._same_unit(other, "compare").value

    def __str__(self) -> str:
        """The plain machine form, ``1234567.50 KZT``: what JSON and logs carry; people read :meth:`__format__`."""
        return f"{self.value:f} {self.unit.code}"

    def __format__(self, spec: str) -> str:
        """``format(amount, ",")`` is ``1,234,567.50 KZT``; ``""`` is ``str(amount)``.

        The spec is Python's (fill, alignment, sign, width, grouping, precision, type ``f``); see
        :func:`aidledger.format_amount`, which also takes a locale.
        """
        if spec == "":
            return str(self)
        from aidledger.core.formatting import format_amount

        return format_amount(self, spec)

    def to_moneyed(self) -> moneyed.Money:
        """This amount as a py-moneyed ``Money`` (for formatting); currencies only."""
        if not self.unit.is_currency:
            raise UnitMismatch(f"{self} is not money", amount=self)
        import moneyed

        return moneyed.Money(self.value, self.unit.code)


def _to_currency(unit: Unit | str) -> Unit:
    if isinstance(unit, str):
        return currency(unit)
    if not isinstance(unit, Unit) or not unit.is_currency:
        raise UnitMismatch(f"money needs a currency, got {unit!r}", unit=unit)
    return unit


def _to_commodity(unit: Unit) -> Unit:
    if not isinstance(unit, Unit) or unit.is_currency:
        raise UnitMismatch(f"a quantity needs a commodity, got {unit!r}", unit=unit)
    return unit


@attrs.frozen(order=False)
class Money(Amount):
    """An exact amount of a currency: ``Money("50000", "KZT")``."""

    unit: Unit = attrs.field(converter=_to_currency)

    @classmethod
    def from_minor(cls, minor: int, unit: Unit) -> Money:
        """The money of ``minor`` smallest steps of the currency ``unit`` (as stored in the database)."""
        if type(minor) is not int:
            raise InvalidAmount(f"minor units must be an int, got {minor!r}", value=minor)
        return cls(Decimal(minor).scaleb(-unit.exponent), unit)


@attrs.frozen(order=False)
class Quantity(Amount):
    """An exact quantity of a commodity: ``Quantity("1000", FOOD_PACKAGE)``."""

    unit: Unit = attrs.field(converter=_to_commodity)


def _of_kind(unit: Unit) -> type[Amount]:
    return Money if unit.is_currency else Quantity
