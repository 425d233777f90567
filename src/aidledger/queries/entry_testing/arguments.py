"""Checks of the arguments that several journal-entry tests take (the scope's are in ``scope``)."""

from __future__ import annotations

import datetime as dt

from aidledger.core.amounts import Unit, currency
from aidledger.core.errors import InvalidArgument


def positive_int(value: object, what: str, *, zero: bool = False) -> int:
    """``value``, checked to be an integer of at least 1 (or 0 with ``zero``)."""
    if type(value) is not int or value < (0 if zero else 1):
        raise InvalidArgument(f"{what} must be an integer of at least {0 if zero else 1}, got {value!r}", value=value)
    return value


def limit_of(limit: object) -> int | None:
    """How many findings to list at most: ``None`` for all of them, else an integer of at least 0."""
    return None if limit is None else positive_int(limit, "limit", zero=True)


def listed(count: int, limit: int | None) -> int:
    """How many of ``count`` findings are listed under ``limit`` (``None``: all of them)."""
    return count if limit is None else min(count, limit)


def currency_of(value: object, what: str) -> Unit:
    """A currency given as a :class:`~aidledger.Unit` or its code, checked."""
    if isinstance(value, Unit):
        unit = value
    elif isinstance(value, str):
        unit = currency(value)
    else:
        raise InvalidArgument(f"{what} must be a currency Unit or code, got {value!r}", value=value)
    if not unit.is_currency:
        raise InvalidArgument(f"{what} must be a currency, got the commodity {unit.code}", value=value)
    return unit


def window_of(window: object, *, zero: bool) -> dt.timedelta:
    """A time window, checked to be a positive (or, with ``zero``, non-negative) timedelta."""
    if not isinstance(window, dt.timedelta) or window < dt.timedelta(0) or (not zero and not window):
        raise InvalidArgument(
            f"window must be a {'non-negative' if zero else 'positive'} timedelta, got {window!r}", value=window
        )
    return window


def micros(delta: dt.timedelta) -> int:
    """``delta`` in whole microseconds (exact)."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
