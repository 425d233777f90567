"""A filtered book: only the entries with given dimension values, and the totals the ledger holds for them.

``where={"programme": "FOOD-2020"}`` keeps the entries tagged so, as :func:`~aidledger.audit_totals` with the
same ``where`` does: a tag dimension or ``kind`` selects whole entries; ``fund`` and ``currency`` select the
postings of that fund or unit (every entry balances per fund and unit, so those postings balance on their own).
``account`` would leave unbalanced transactions and the periods are a window's bounds, so both are refused.
The balance assertions of a filtered book are the totals of the selected postings, read from the ledger by the
same query as the audit totals, not from the entries written: ``bean-check`` and ``hledger check`` still prove
that the book adds up to what the ledger says.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Final

import attrs
from sqlalchemy import distinct, func, select

from aidledger.core.accounts import AccountType
from aidledger.core.entries import PostedEntry
from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.audit import Dimension, Selection
from aidledger.store import window as store_window

__all__ = ["Where", "check_where"]

#: Dimensions that select postings rather than entries.
_POSTING_LEVEL: Final = (Dimension.FUND, Dimension.CURRENCY)
_REFUSED: Final = {
    Dimension.ACCOUNT: "an account's postings alone do not balance; filter by fund, currency or a tag",
    Dimension.YEAR: "filter periods with --from/--to (a window's start and end)",
    Dimension.QUARTER: "filter periods with --from/--to (a window's start and end)",
    Dimension.MONTH: "filter periods with --from/--to (a window's start and end)",
    Dimension.DAY: "filter periods with --from/--to (a window's start and end)",
}


@attrs.frozen
class Where:
    """The dimension values an export keeps (none: every entry).

    Attributes:
        values: (dimension, value) pairs, in the order given.
    """

    values: tuple[tuple[Dimension, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self) -> str:
        """``programme=FOOD-2020, region=Abai``."""
        return ", ".join(f"{dimension.value}={value}" for dimension, value in self.values)

    def mapping(self) -> dict[Dimension | str, str]:
        return dict(self.values)

    def kept(self, entries: Iterable[PostedEntry]) -> Iterator[PostedEntry]:
        """The entries that match, each with only the postings that match (fund, currency)."""
        entry_level = [(d, v) for d, v in self.values if d not in _POSTING_LEVEL]
        fund = next((v for d, v in self.values if d is Dimension.FUND), None)
        currency = next((v for d, v in self.values if d is Dimension.CURRENCY), None)
        for posted in entries:
            entry = posted.entry
            if any((entry.kind if d is Dimension.KIND else entry.tags.get(d.value)) != v for d, v in entry_level):
                continue
            if fund is None and currency is None:
                yield posted
                continue
            postings = tuple(
                p
                for p in entry.postings
                if (fund is None or p.fund.code == fund) and (currency is None or p.account.unit.code == currency)
            )
            if postings:
                yield attrs.evolve(posted, entry=attrs.evolve(entry, postings=postings))

    def balances(self, ledger: Ledger, window: Window) -> tuple[int, dict[tuple[str, str], int]]:
        """How many entries match in ``window``, and their postings' totals by (account code, fund code)."""
        with ledger.snapshot() as connection:
            seen = store_window.check_through(connection, window)
            sel = Selection(ledger, types=list(AccountType), window=seen, where=self.mapping())
            keys = (sel.a.c.code, sel.f.c.code)
            totals = sel.joined(select(*keys, func.sum(sel.p.c.amount)).group_by(*keys))
            count = sel.joined(select(func.count(distinct(sel.p.c.entry_seq))))
            entries = int(connection.execute(count).scalar_one())
            sums = {(code, fund): int(minor) for code, fund, minor in connection.execute(totals)}
        return entries, {key: minor for key, minor in sums.items() if minor}


def check_where(where: object) -> Where:
    """``where`` (a mapping of dimension names to values) as a :class:`Where`, or InvalidArgument naming the bad
    name or value."""
    if where is None:
        return Where()
    if not isinstance(where, Mapping):
        raise InvalidArgument(f"where must map dimensions to values, got {where!r}", value=where)
    values: list[tuple[Dimension, str]] = []
    for key, value in where.items():
        try:
            dimension = key if isinstance(key, Dimension) else Dimension(key)
        except ValueError:
            names = ", ".join(d.value for d in Dimension if d not in _REFUSED)
            raise InvalidArgument(f"unknown dimension {key!r}; choose from {names}", value=key) from None
        if dimension in _REFUSED:
            raise InvalidArgument(f"cannot filter the books by {dimension.value}: {_REFUSED[dimension]}", value=key)
        if not isinstance(value, str) or not value:
            raise InvalidArgument(
                f"filter value for {dimension.value} must be non-empty text, got {value!r}", value=value
            )
        values.append((dimension, value))
    return Where(tuple(values))
