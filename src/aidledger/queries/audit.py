"""Audit totals and fund statements: what came in, what went out, for whom, where and when.

Every figure is summed by the database from the postings themselves, in
integer minor units, so the totals are exact and agree with the trial balance
to the minor unit.  Each query takes two times (see the design, "Two times on
every entry"): ``start``/``end``/``as_of`` select entries by their **effective**
time, and ``known_at`` keeps only what the ledger had **recorded** by then, so a
report run at time T comes out the same when re-run later with ``known_at=T``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import attrs
import pendulum
from sqlalchemy import case, distinct, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from aidledger.core.accounts import AccountType, Fund
from aidledger.core.amounts import Amount, Money, Unit, UnitKind
from aidledger.core.errors import InvalidArgument
from aidledger.core.times import from_micros, time_zone, to_micros
from aidledger.ledger.ledger import Ledger
from aidledger.store import schema as t
from aidledger.vocabulary import TRANSFERS_PREFIX, Tag


class Flow(enum.Enum):
    """Which side of the books audit totals add up.

    ``RECEIVED``: credits to revenue accounts (donations, donated goods at value
    and in quantity), net of refunds.  ``SPENT``: debits to expense accounts
    (payments, deliveries, grant tranches, losses), net of failed and returned
    payments and claw-backs.
    """

    RECEIVED = "received"
    SPENT = "spent"


class Dimension(enum.Enum):
    """What audit totals can be grouped (and filtered) by."""

    FUND = "fund"
    ACCOUNT = "account"
    KIND = "kind"
    PROGRAMME = Tag.PROGRAMME
    PROJECT = Tag.PROJECT
    PURPOSE = Tag.PURPOSE
    REGION = Tag.REGION
    DONOR = Tag.DONOR
    COMMODITY = Tag.COMMODITY
    LIST = Tag.LIST
    CURRENCY = "currency"
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    DAY = "day"


#: Dimensions read from an entry's tags (the tag has the dimension's name).
TAG_DIMENSIONS = frozenset(
    {
        Dimension.PROGRAMME,
        Dimension.PROJECT,
        Dimension.PURPOSE,
        Dimension.REGION,
        Dimension.DONOR,
        Dimension.COMMODITY,
        Dimension.LIST,
    }
)
_PERIODS = (Dimension.YEAR, Dimension.QUARTER, Dimension.MONTH, Dimension.DAY)
_FLOW_TYPES = {Flow.RECEIVED: (AccountType.REVENUE, -1), Flow.SPENT: (AccountType.EXPENSE, 1)}


@attrs.frozen
class TotalsRow:
    """One group of audit totals.

    Attributes:
        group: the group's value for each dimension asked for, by dimension name
            (``None`` where entries lack it, e.g. a payment without a region).
        amount: the net amount, in one unit (a group spanning units has a row per unit).
        entries: how many entries contributed.
        beneficiaries: distinct beneficiaries (pseudonyms) with a positive net amount in the group.
    """

    group: Mapping[str, str | None]
    amount: Amount
    entries: int
    beneficiaries: int

    def __getitem__(self, dimension: str) -> str | None:
        return self.group[dimension]


@attrs.frozen
class AuditTotals:
    """Audit totals: one row per group and unit, and the grand totals.

    Attributes:
        flow: received or spent.
        by: the dimensions grouped by, in order.
        rows: the groups, sorted by their values.
        totals: the sum of all rows per unit code.
        entries: entries that contributed, in all.
        beneficiaries: distinct beneficiaries with a positive net amount, in all.
        start, end, as_of, known_at: the selection the totals were made for.
    """

    flow: Flow
    by: tuple[Dimension, ...]
    rows: tuple[TotalsRow, ...]
    totals: Mapping[str, Amount]
    entries: int
    beneficiaries: int
    start: pendulum.DateTime | None = None
    end: pendulum.DateTime | None = None
    as_of: pendulum.DateTime | None = None
    known_at: pendulum.DateTime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The totals as plain JSON-ready values (amounts as decimal strings)."""
        return {
            "flow": self.flow.value,
            "by": [d.value for d in self.by],
            "selection": {
                name: None if value is None else value.isoformat()
                for name, value in (
                    ("start", self.start),
                    ("end", self.end),
                    ("as_of", self.as_of),
                    ("known_at", self.known_at),
                )
            },
            "rows": [
                {
                    **dict(row.group),
                    "unit": row.amount.unit.code,
                    "amount": f"{row.amount.value:f}",
                    "entries": row.entries,
                    "beneficiaries": row.beneficiaries,
                }
                for row in self.rows
            ],
            "totals": {code: f"{amount.value:f}" for code, amount in self.totals.items()},
            "entries": self.entries,
            "beneficiaries": self.beneficiaries,
        }


def _dimensions(by: object) -> tuple[Dimension, ...]:
    items = [by] if isinstance(by, str | Dimension) else by
    if not isinstance(items, Iterable):
        raise InvalidArgument(f"by must be a dimension or a sequence of dimensions, got {by!r}", value=by)
    found: list[Dimension] = []
    for item in items:
        try:
            dimension = item if isinstance(item, Dimension) else Dimension(item)
        except ValueError:
            names = ", ".join(d.value for d in Dimension)
            raise InvalidArgument(f"unknown dimension {item!r}; choose from {names}", value=item) from None
        if dimension in found:
            raise InvalidArgument(f"dimension {dimension.value!r} is named twice", value=item)
        found.append(dimension)
    if sum(d in _PERIODS for d in found) > 1:
        raise InvalidArgument("group by at most one of year, quarter, month and day", value=by)
    return tuple(found)


def _time(value: object, what: str) -> int | None:
    return None if value is None else to_micros(value, what)


def _label(period: Dimension, when: pendulum.DateTime) -> str:
    if period is Dimension.YEAR:
        return f"{when.year:04d}"
    if period is Dimension.QUARTER:
        return f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"
    if period is Dimension.MONTH:
        return f"{when.year:04d}-{when.month:02d}"
    return when.to_date_string()


_STEPS: dict[Dimension, dict[str, int]] = {
    Dimension.YEAR: {"years": 1},
    Dimension.QUARTER: {"months": 3},
    Dimension.MONTH: {"months": 1},
    Dimension.DAY: {"days": 1},
}


def _period_starts(period: Dimension, first: int, last: int, tz: str) -> list[tuple[int, str]]:
    """(start in micros, label) of every period from the one holding ``first`` to the one holding ``last``."""
    when = from_micros(first, tz)
    if period is Dimension.DAY:
        start = when.start_of("day")
    else:
        month = (
            1
            if period is Dimension.YEAR
            else (when.month - 1) // 3 * 3 + 1
            if period is Dimension.QUARTER
            else when.month
        )
        start = when.start_of("month").set(month=month)
    starts = []
    while (micros := to_micros(start)) <= last:
        starts.append((micros, _label(period, start)))
        start = start.add(**_STEPS[period])
    return starts


class _Selection:
    """The postings an audit query adds up: accounts, time window and filters, as SQL."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        types: Sequence[AccountType],
        start: object,
        end: object,
        as_of: object,
        known_at: object,
        where: Mapping[Dimension | str, str] | None,
        fund: str | None = None,
    ) -> None:
        if not isinstance(ledger, Ledger):
            raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
        self.ledger = ledger
        self.start, self.end = _time(start, "start"), _time(end, "end")
        self.as_of, self.known_at = _time(as_of, "as_of"), _time(known_at, "known_at")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidArgument(f"end {end} is not after start {start}", start=start, end=end)
        self.p, self.e, self.a, self.f = (
            t.postings.alias("p"),
            t.entries.alias("e"),
            t.accounts.alias("a"),
            t.funds.alias("f"),
        )
        self.conditions: list[ColumnElement[bool]] = [self.a.c.type.in_([ty.value for ty in types])]
        if self.start is not None:
            self.conditions.append(self.p.c.effective_at >= self.start)
        if self.end is not None:
            self.conditions.append(self.p.c.effective_at < self.end)
        if self.as_of is not None:
            self.conditions.append(self.p.c.effective_at <= self.as_of)
        if self.known_at is not None:
            self.conditions.append(self.e.c.recorded_at <= self.known_at)
        if fund is not None:
            self.conditions.append(self.f.c.code == fund)
        self.tags: dict[str, Any] = {}
        if where is not None and not isinstance(where, Mapping):
            raise InvalidArgument(f"where must map dimensions to values, got {where!r}", value=where)
        for key, value in (where or {}).items():
            (dimension,) = _dimensions([key])
            if not isinstance(value, str):
                raise InvalidArgument(f"filter value for {dimension.value} must be text, got {value!r}", value=value)
            if dimension in _PERIODS:
                raise InvalidArgument("filter periods with start and end, not where", value=key)
            self.conditions.append(self.column(dimension) == value)

    def column(self, dimension: Dimension, periods: Sequence[tuple[int, str]] = ()) -> ColumnElement[Any]:
        if dimension is Dimension.FUND:
            return self.f.c.code
        if dimension is Dimension.ACCOUNT:
            return self.a.c.code
        if dimension is Dimension.KIND:
            return self.e.c.kind
        if dimension is Dimension.CURRENCY:
            return self.a.c.unit_code
        if dimension in _PERIODS:
            if not periods:
                return literal(None)
            branches = [(self.p.c.effective_at < start, label) for (_, label), (start, _) in pairwise(periods)]
            return case(*branches, else_=periods[-1][1]) if branches else literal(periods[-1][1])
        return self.tag(dimension.value)

    def tag(self, name: str) -> ColumnElement[Any]:
        if name not in self.tags:
            self.tags[name] = t.entry_tags.alias(f"tag_{name}")
        return self.tags[name].c.value  # type: ignore[no-any-return]

    def joined(self, query: Any) -> Any:
        source = self.p.join(self.e, self.e.c.seq == self.p.c.entry_seq)
        source = source.join(self.a, self.a.c.id == self.p.c.account_id).join(self.f, self.f.c.id == self.p.c.fund_id)
        for name, alias in self.tags.items():
            source = source.outerjoin(alias, (alias.c.entry_seq == self.p.c.entry_seq) & (alias.c.name == name))
        return query.select_from(source).where(*self.conditions)

    def span(self) -> tuple[int, int] | None:
        """The first and last effective time of the selected postings."""
        query = self.joined(select(func.min(self.p.c.effective_at), func.max(self.p.c.effective_at)))
        with self.ledger.snapshot() as connection:
            first, last = connection.execute(query).one()
        return None if first is None else (int(first), int(last))


def audit_totals(
    ledger: Ledger,
    *,
    flow: Flow | str = Flow.SPENT,
    by: Sequence[Dimension | str] | Dimension | str = (Dimension.FUND,),
    where: Mapping[Dimension | str, str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    as_of: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
    tz: str = "UTC",
) -> AuditTotals:
    """Amounts received or spent, grouped by any of the :class:`Dimension` values.

    Args:
        ledger: the ledger.
        flow: :attr:`Flow.SPENT` (expense accounts) or :attr:`Flow.RECEIVED` (revenue accounts).
        by: the dimensions to group by, e.g. ``["fund", "purpose", "month"]``; rows are also
            split by unit, so amounts in different currencies or goods never add up.
        where: only entries with these values, e.g. ``{"programme": "FLOOD-2020"}``.
        start: only entries effective at or after this time.
        end: only entries effective before this time.
        as_of: only entries effective at or before this time.
        known_at: only entries recorded at or before this time.
        tz: the time zone that months, quarters, years and days are counted in.

    Returns:
        :class:`AuditTotals`, with counts of entries and of distinct beneficiaries
        with a positive net amount (a beneficiary whose payment failed is not counted).
    """
    try:
        flow = flow if isinstance(flow, Flow) else Flow(flow)
    except ValueError:
        raise InvalidArgument(f"flow must be 'received' or 'spent', got {flow!r}", value=flow) from None
    dimensions = _dimensions(by)
    time_zone(tz)
    account_type, sign = _FLOW_TYPES[flow]
    sel = _Selection(ledger, types=[account_type], start=start, end=end, as_of=as_of, known_at=known_at, where=where)
    periods: list[tuple[int, str]] = []
    if any(d in _PERIODS for d in dimensions):
        span = sel.span()
        period = next(d for d in dimensions if d in _PERIODS)
        periods = [] if span is None else _period_starts(period, span[0], span[1], tz)
    columns = [sel.column(d, periods).label(f"d{i}") for i, d in enumerate(dimensions)]
    unit = sel.a.c.unit_code.label("unit")
    beneficiary = sel.tag(Tag.BENEFICIARY).label("beneficiary")
    keys = [*columns, unit]
    totals_query = sel.joined(
        select(*keys, func.sum(sel.p.c.amount), func.count(distinct(sel.p.c.entry_seq))).group_by(*keys)
    )
    # Beneficiaries: those whose net amount in the group is positive.
    per_person = (
        sel.joined(select(*keys, beneficiary, func.sum(sel.p.c.amount).label("net")))
        .where(beneficiary.isnot(None))
        .group_by(*keys, beneficiary)
        .subquery()
    )
    outer_keys = [per_person.c[f"d{i}"] for i in range(len(dimensions))] + [per_person.c.unit]
    people_query = select(*outer_keys, func.count()).where(per_person.c.net * sign > 0).group_by(*outer_keys)
    overall_people = (
        sel.joined(select(beneficiary, func.sum(sel.p.c.amount).label("net")))
        .where(beneficiary.isnot(None))
        .group_by(beneficiary)
        .subquery()
    )
    units = ledger.units()
    with ledger.snapshot() as connection:
        people = {tuple(row[:-1]): int(row[-1]) for row in connection.execute(people_query)}
        rows = []
        per_unit: dict[str, int] = {}
        entries = 0
        for row in connection.execute(totals_query):
            *values, unit_code, minor, count = row
            amount = Amount.from_minor(sign * int(minor), units[unit_code])
            rows.append(
                TotalsRow(
                    group={d.value: v for d, v in zip(dimensions, values, strict=True)},
                    amount=amount,
                    entries=int(count),
                    beneficiaries=people.get((*values, unit_code), 0),
                )
            )
            per_unit[unit_code] = per_unit.get(unit_code, 0) + sign * int(minor)
        entries = int(connection.execute(sel.joined(select(func.count(distinct(sel.p.c.entry_seq))))).scalar_one())
        everyone = int(
            connection.execute(
                select(func.count()).select_from(overall_people).where(overall_people.c.net * sign > 0)
            ).scalar_one()
        )
    rows.sort(key=lambda r: (tuple("" if v is None else v for v in r.group.values()), r.amount.unit.code))
    return AuditTotals(
        flow=flow,
        by=dimensions,
        rows=tuple(rows),
        totals={code: Amount.from_minor(minor, units[code]) for code, minor in sorted(per_unit.items())},
        entries=entries,
        beneficiaries=everyone,
        start=_shown(start),
        end=_shown(end),
        as_of=_shown(as_of),
        known_at=_shown(known_at),
    )


def _shown(when: dt.datetime | None) -> pendulum.DateTime | None:
    return None if when is None else pendulum.instance(when)


# -- fund statement -------------------------------------------------------------------


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
        start, end: the period (``start`` inclusive, ``end`` exclusive; ``None`` for open-ended).
        opening: net assets before ``start``.
        receipts: revenue by entry kind (donations, donated goods at value, refunds negative).
        transfers: releases, designations and undesignations in (positive) and out (negative).
        other: other changes of net assets (currency conversions), by account.
        spending: expenses by purpose (or account name where an entry names no purpose).
        closing: net assets at the end of the period.
    """

    fund: Fund
    currency: Unit
    start: pendulum.DateTime | None
    end: pendulum.DateTime | None
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
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
) -> tuple[FundStatement, ...]:
    """The fund's statement for the period, one per currency it holds (or the one asked for).

    Args:
        ledger: the ledger.
        fund: the fund or its code.
        currency: only this currency.
        start: the period's first instant (``None``: from the beginning).
        end: the instant after the period (``None``: up to now).
        known_at: only entries recorded at or before this time.
    """
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    found = ledger.fund(fund.code if isinstance(fund, Fund) else fund)
    types = [AccountType.REVENUE, AccountType.EXPENSE, AccountType.NET_ASSETS]
    sel = _Selection(
        ledger, types=types, start=start, end=end, as_of=None, known_at=known_at, where=None, fund=found.code
    )
    purpose = sel.tag("purpose")
    query = sel.joined(
        select(
            sel.a.c.unit_code,
            sel.a.c.type,
            sel.a.c.code,
            sel.a.c.name,
            sel.e.c.kind,
            purpose,
            func.sum(sel.p.c.amount),
            func.count(distinct(sel.p.c.entry_seq)),
        ).group_by(sel.a.c.unit_code, sel.a.c.type, sel.a.c.code, sel.a.c.name, sel.e.c.kind, purpose)
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
        for line in ledger.trial_balance(known_at=known_at).lines
        if line.fund.code == found.code and line.account.unit.kind is UnitKind.CURRENCY
    }
    codes = sorted({wanted} if wanted else held | {r[0] for r in rows if units[r[0]].kind is UnitKind.CURRENCY})
    before = None if start is None else pendulum.instance(start).subtract(microseconds=1)
    after = None if end is None else pendulum.instance(end).subtract(microseconds=1)
    statements = []
    for code in codes:
        unit = units[code]
        groups: dict[str, dict[str, list[int]]] = {"receipts": {}, "transfers": {}, "other": {}, "spending": {}}
        for unit_code, type_, account, name, kind, why, minor, count in rows:
            if unit_code != code:
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
        statements.append(
            FundStatement(
                fund=found,
                currency=unit,
                start=_shown(start),
                end=_shown(end),
                opening=_net_assets(ledger, found, unit, before, known_at) if before else Money.from_minor(0, unit),
                receipts=_lines(groups["receipts"], unit),
                transfers=_lines(groups["transfers"], unit),
                other=_lines(groups["other"], unit),
                spending=_lines(groups["spending"], unit),
                closing=_net_assets(ledger, found, unit, after, known_at),
            )
        )
    return tuple(statements)


def _net_assets(
    ledger: Ledger, fund: Fund, unit: Unit, as_of: dt.datetime | None, known_at: dt.datetime | None
) -> Money:
    return Money.from_minor(ledger.fund_balance(fund, unit, as_of=as_of, known_at=known_at).minor, unit)


def _lines(groups: Mapping[str, list[int]], unit: Unit) -> tuple[StatementLine, ...]:
    return tuple(
        StatementLine(label=label, amount=Money.from_minor(minor, unit), entries=count)
        for label, (minor, count) in sorted(groups.items())
        if minor or count
    )
