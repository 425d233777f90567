"""Check 4: entries whose amount is an exact multiple of a round figure."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

import attrs
from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidledger.core.amounts import Amount, Money, Unit
from aidledger.core.errors import InvalidAmount, InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.entries import EntryRef, amounts, entry_ref, stored_units
from aidledger.queries.entry_testing.scope import Scope, ledger_of, reading


@attrs.frozen
class RoundAmount:
    """An entry whose amount is an exact multiple of a round figure.

    Attributes:
        entry: the entry.
        amount: its amount (sum of its debits in the currency).
        multiple: the round figure it is a multiple of.
    """

    entry: EntryRef
    amount: Money
    multiple: Money


def round_amounts(
    ledger: Ledger,
    *,
    multiple: Decimal | Money = Decimal("1000000"),
    min_amount: Decimal | Money | None = None,
    window: Window | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> tuple[RoundAmount, ...]:
    """Entries whose amount is an exact multiple of a round figure.

    ``multiple`` as a ``Decimal`` is tested in every currency of the ledger,
    scaled to each currency's minor unit (one million KZT is 100,000,000 tiyn);
    as ``Money``, in its currency only.  ``min_amount`` likewise (``Money`` in
    the same currency as a ``Money`` multiple).  The test is exact: the sum of
    the entry's debits in minor units, modulo the multiple in minor units, is zero.

    Args:
        ledger: the ledger.
        multiple: the round figure (positive).
        min_amount: report only amounts at least this large.
        window: only the entries in this :class:`~aidledger.Window` (all by default).
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The entries, by currency code and then in chain order.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
        InvalidAmount: the multiple has more decimals than a currency allows, or is not positive.
    """
    ledger = ledger_of(ledger)
    only = round_unit(multiple, min_amount)
    with reading(ledger, window, kinds, exclude_kinds) as (connection, scope):
        return find_round_amounts(connection, scope, multiple, min_amount, only)


def round_unit(multiple: object, min_amount: object) -> Unit | None:
    """Check ``multiple`` and ``min_amount``; the one currency they are in, if they are ``Money``."""
    only: Unit | None = None
    for value, what in ((multiple, "multiple"), (min_amount, "min_amount")):
        if value is None and what == "min_amount":
            continue
        if isinstance(value, Money):
            if only is not None and value.unit != only:
                raise InvalidArgument(f"multiple and min_amount are in different currencies ({only} and {value.unit})")
            only = value.unit
        elif not isinstance(value, Decimal) or not value.is_finite():
            raise InvalidAmount(f"{what} must be a Decimal or Money, got {value!r}", value=value)
        amount = value.value if isinstance(value, Money) else value
        if what == "multiple" and amount <= 0:
            raise InvalidAmount(f"multiple must be positive, got {value}", value=value)
        if amount < 0:
            raise InvalidAmount(f"min_amount must not be negative, got {value}", value=value)
    return only


def find_round_amounts(
    connection: Connection,
    scope: Scope,
    multiple: Decimal | Money,
    min_amount: Decimal | Money | None,
    only: Unit | None,
) -> tuple[RoundAmount, ...]:
    """:func:`round_amounts` on a scope read in ``connection`` (``only``: from :func:`round_unit`)."""
    found: list[RoundAmount] = []
    units = sorted(
        (u for u in stored_units(connection).values() if u.is_currency and (only is None or u == only)),
        key=lambda u: u.code,
    )
    if only is not None and not units:
        return ()
    for unit in units:
        step = Amount(multiple.value if isinstance(multiple, Money) else multiple, unit).minor
        least = 0 if min_amount is None else Amount(getattr(min_amount, "value", min_amount), unit).minor
        entries = amounts(connection, scope, unit)
        query = (
            select(entries)
            .where(entries.c.amount % step == 0, entries.c.amount >= max(least, 1))
            .order_by(entries.c.seq)
        )
        round_figure = Money.from_minor(step, unit)
        for row in connection.execute(query):
            found.append(
                RoundAmount(entry=entry_ref(row), amount=Money.from_minor(int(row.amount), unit), multiple=round_figure)
            )
    return tuple(found)
