"""Fund statements: a fund's opening balance, what came in and went out by kind and purpose, and its closing.

Summed by the database from the postings, over one :class:`~aidledger.Window`
(the period is its ``start`` and ``end``, or up to ``as_of``; ``known_at`` and a
digest reproduce a statement made earlier).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from sqlalchemy import distinct, func, select

from aidledger.core.accounts import AccountType, Fund
from aidledger.core.amounts import Money, Unit, UnitKind
from aidledger.core.errors import InvalidArgument
from aidledger.core.times import from_micros
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import require_ledger
from aidledger.queries.audit import Selection
from aidledger.store import window as store_window
from aidledger.vocabulary import TRANSFERS_PREFIX, Tag


@attrs.frozen
class StatementLine:
    """One line of a fund statement.

    Attributes:
        label: what the line is: an entry kind for receipts and transfers, a purpose for spending.
        amount: the amount (receipts and spending positive; transfers signed, in positive).
        entries: how many entries contributed.
    """

    label: str
    amount: Money
    entries: int


@attrs.frozen
class FundStatement:
    """A fund's statement for one currency and period.

    ``opening + received + transferred + other − spent = closing``; :attr:`reconciles`
    checks it, where ``closing`` is the fund's net assets (assets minus liabilities)
    computed on its own, not from the lines.

    Attributes:
        fund: the fund.
        currency: the currency.
        window: the entries the statement covers; its period runs from the window's
            ``start`` (inclusive) to its ``end`` or ``as_of``.
        opening: net assets before the period.
        receipts: revenue by entry kind (donations, donated goods at value, refunds negative).
        transfers: releases, designations and undesignations in (positive) and out (negative).
        other: other changes of net assets (currency conversions), by account.
        spending: expenses by purpose (or account name where an entry names no purpose).
        closing: net assets at the end of the period.
    """

    fund: Fund
    currency: Unit
    window: Window
    opening: Money
    receipts: tuple[StatementLine, ...]
    transfers: tuple[StatementLine, ...]
    other: tuple[StatementLine, ...]
    spending: tuple[StatementLine, ...]
    closing: Money

    @property
    def received(self) -> Money:
        return _sum(self.receipts, self.currency)

    @property
    def transferred(self) -> Money:
        return _sum(self.transfers, self.currency)

    @property
    def spent(self) -> Money:
        return _sum(self.spending, self.currency)

    @property
    def expected_closing(self) -> Money:
        """Opening balance plus the statement's lines."""
        return Money.from_minor(
            self.opening.minor
            + self.received.minor
            + self.transferred.minor
            + _sum(self.other, self.currency).minor
            - self.spent.minor,
            self.currency,
        )

    @property
    def reconciles(self) -> bool:
        return self.expected_closing == self.closing


def _sum(lines: Iterable[StatementLine], unit: Unit) -> Money:
    return Money.from_minor(sum(line.amount.minor for line in lines), unit)


def fund_statement(
    ledger: Ledger,
    fund: Fund | str,
    *,
    currency: Unit | str | None = None,
    window: Window | None = None,
) -> tuple[FundStatement, ...]:
    """The fund's statement for a period, one per currency it holds (or the one asked for).

    Args:
        ledger: the ledger.
        fund: the fund or its code.
        currency: only this currency.
        window: the period (``start`` inclusive, ``end`` exclusive, or up to ``as_of``) and,
            to reproduce an earlier statement, ``known_at`` or a digest; all entries by default.
    """
    ledger = require_ledger(ledger)
    found = ledger.fund(fund.code if isinstance(fund, Fund) else fund)
    with ledger.snapshot() as connection:
        seen = store_window.check_through(connection, Window.of(window))
    types = [AccountType.REVENUE, AccountType.EXPENSE, AccountType.NET_ASSETS]
    sel = Selection(ledger, types=types, window=seen, where=None, fund=found.code)
    purpose = sel.tag(Tag.PURPOSE)
    columns = (sel.a.c.unit_code, sel.a.c.type, sel.a.c.code, sel.a.c.name, sel.e.c.kind, purpose)
    query = sel.joined(
        select(*columns, func.sum(sel.p.c.amount), func.count(distinct(sel.p.c.entry_seq))).group_by(*columns)
    )
    with ledger.snapshot() as connection:
        rows = connection.execute(query).all()
    units = ledger.units()
    wanted: str | None = None
    if currency is not None:
        wanted = currency.code if isinstance(currency, Unit) else currency
        if wanted not in units or units[wanted].kind is not UnitKind.CURRENCY:
            raise InvalidArgument(f"unknown currency {wanted!r}", value=currency)
    held = {
        line.account.unit.code
        for line in ledger.trial_balance(window=seen.recorded()).lines
        if line.fund.code == found.code and line.account.unit.kind is UnitKind.CURRENCY
    }
    codes = sorted({wanted} if wanted else held | {r[0] for r in rows if units[r[0]].kind is UnitKind.CURRENCY})
    return tuple(_statement(ledger, found, units[code], seen, rows) for code in codes)


def _statement(ledger: Ledger, fund: Fund, unit: Unit, window: Window, rows: Iterable[Any]) -> FundStatement:
    """One currency's statement from the grouped rows of the fund's postings."""
    groups: dict[str, dict[str, list[int]]] = {"receipts": {}, "transfers": {}, "other": {}, "spending": {}}
    for unit_code, type_, account, name, kind, why, minor, count in rows:
        if unit_code != unit.code:
            continue
        if type_ == AccountType.REVENUE.value:
            section, label, value = "receipts", kind, -int(minor)
        elif type_ == AccountType.EXPENSE.value:
            section, label, value = "spending", why or name or account, int(minor)
        elif account.startswith(TRANSFERS_PREFIX):
            section, label, value = "transfers", kind, -int(minor)
        else:
            section, label, value = "other", account, -int(minor)
        slot = groups[section].setdefault(label, [0, 0])
        slot[0] += value
        slot[1] += int(count)
    bounds = window.bounds()
    before = None if bounds.effective_from is None else from_micros(bounds.effective_from - 1)
    last = None if bounds.effective_before is None else from_micros(bounds.effective_before - 1)
    return FundStatement(
        fund=fund,
        currency=unit,
        window=window,
        opening=_net_assets(ledger, fund, unit, window, before) if before else Money.from_minor(0, unit),
        receipts=_lines(groups["receipts"], unit),
        transfers=_lines(groups["transfers"], unit),
        other=_lines(groups["other"], unit),
        spending=_lines(groups["spending"], unit),
        closing=_net_assets(ledger, fund, unit, window, last),
    )


def _net_assets(ledger: Ledger, fund: Fund, unit: Unit, window: Window, as_of: dt.datetime | None) -> Money:
    """The fund's net assets as of a time, as known in ``window`` (its ``known_at`` and digest)."""
    known = attrs.evolve(window.recorded(), as_of=as_of)
    return Money.from_minor(ledger.fund_balance(fund, unit, window=known).minor, unit)


def _lines(groups: Mapping[str, list[int]], unit: Unit) -> tuple[StatementLine, ...]:
    return tuple(
        StatementLine(label=label, amount=Money.from_minor(minor, unit), entries=count)
        for label, (minor, count) in sorted(groups.items())
        if minor or count
    )


__all__ = ["FundStatement", "StatementLine", "fund_statement"]
