"""Audit totals and fund statements: what came in, what went out, for whom, where and when.

Every figure is summed by the database from the postings themselves, in
integer minor units, so the totals are exact and agree with the trial balance
to the minor unit.  Each query takes one :class:`~aidledger.Window` (see the
design, "Two times on every entry"): its ``start``/``end``/``as_of`` select
entries by their **effective** time, its ``known_at`` keeps only what the ledger
had **recorded** by then (so a report run at time T comes out the same when
re-run later with ``Window(known_at=T)``), and its ``through`` digest keeps the
entries that digest covers.  Fund statements are in :mod:`.statements`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import attrs
import pendulum
from sqlalchemy import case, distinct, func, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Amount, Unit
from aidledger.core.errors import InvalidArgument
from aidledger.core.times import from_micros, time_zone, to_micros
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import require_ledger
from aidledger.store import schema as t
from aidledger.store import window as store_window
from aidledger.vocabulary import Tag


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
        kinds: the kinds of the entries in the group, sorted: what a group without a value
            is (losses of goods carry no purpose: their group's kinds say ``goods-loss``).
    """

    group: Mapping[str, str | None]
    amount: Amount
    entries: int
    beneficiaries: int
    kinds: tuple[str, ...] = ()

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
        window: the entries the totals were made for.
    """

    flow: Flow
    by: tuple[Dimension, ...]
    rows: tuple[TotalsRow, ...]
    totals: Mapping[str, Amount]
    entries: int
    beneficiaries: int
    window: Window

    def as_dict(self) -> dict[str, Any]:
        """The totals as plain JSON-ready values (amounts as decimal strings)."""
        return {
            "flow": self.flow.value,
            "by": [d.value for d in self.by],
            "selection": window_dict(self.window),
            "rows": [
                {
                    **dict(row.group),
                    "unit": row.amount.unit.code,
                    "amount": f"{row.amount.value:f}",
                    "entries": row.entries,
                    "beneficiaries": row.beneficiaries,
                    "kinds": list(row.kinds),
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


class Selection:
    """The postings an audit query adds up: accounts, window and filters, as SQL."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        types: Sequence[AccountType],
        window: Window,
        where: Mapping[Dimension | str, str] | None,
        fund: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.window = window
        self.p, self.e, self.a, self.f = (
            t.postings.alias("p"),
            t.entries.alias("e"),
            t.accounts.alias("a"),
            t.funds.alias("f"),
        )
        self.conditions: list[ColumnElement[bool]] = [
            self.a.c.type.in_([ty.value for ty in types]),
            *store_window.conditions(window, self.e, effective=self.p.c.effective_at),
        ]
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
                raise InvalidArgument("filter periods with a window's start and end, not where", value=key)
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

    def span(self, connection: Connection) -> tuple[int, int] | None:
        """The first and last effective time of the selected postings."""
        query = self.joined(select(func.min(self.p.c.effective_at), func.max(self.p.c.effective_at)))
        first, last = connection.execute(query).one()
        return None if first is None else (int(first), int(last))


def window_dict(window: Window) -> dict[str, str | None]:
    """A window as JSON-ready values: each bound's ISO time (the digest as text), ``None`` where open."""
    times = {name: getattr(window, name) for name in ("start", "end", "as_of", "known_at")}
    shown: dict[str, str | None] = {name: None if value is None else value.isoformat() for name, value in times.items()}
    return shown | {"through": None if window.through is None else str(window.through)}


def audit_totals(
    ledger: Ledger,
    *,
    flow: Flow | str = Flow.SPENT,
    by: Sequence[Dimension | str] | Dimension | str = (Dimension.FUND,),
    where: Mapping[Dimension | str, str] | None = None,
    window: Window | None = None,
    tz: str = "UTC",
) -> AuditTotals:
    """Amounts received or spent, grouped by any of the :class:`Dimension` values.

    Args:
        ledger: the ledger.
        flow: :attr:`Flow.SPENT` (expense accounts) or :attr:`Flow.RECEIVED` (revenue accounts).
        by: the dimensions to group by, e.g. ``["fund", "purpose", "month"]``; rows are also
            split by unit, so amounts in different currencies or goods never add up.
        where: only entries with these values, e.g. ``{"programme": "FLOOD-2020"}``.
        window: only the entries in this :class:`~aidledger.Window` (a period, ``as_of``,
            ``known_at``, a digest); all entries by default.
        tz: the time zone that months, quarters, years and days are counted in.

    Returns:
        :class:`AuditTotals`, with counts of entries and of distinct beneficiaries
        with a positive net amount (a beneficiary whose payment failed is not counted).
    """
    ledger = require_ledger(ledger)
    try:
        flow = flow if isinstance(flow, Flow) else Flow(flow)
    except ValueError:
        raise InvalidArgument(f"flow must be 'received' or 'spent', got {flow!r}", value=flow) from None
    dimensions = _dimensions(by)
    time_zone(tz)
    account_type, sign = _FLOW_TYPES[flow]
    units = ledger.units()
    with ledger.snapshot() as connection:
        seen = store_window.check_through(connection, Window.of(window))
        sel = Selection(ledger, types=[account_type], window=seen, where=where)
        periods: list[tuple[int, str]] = []
        if any(d in _PERIODS for d in dimensions):
            span = sel.span(connection)
            period = next(d for d in dimensions if d in _PERIODS)
            periods = [] if span is None else _period_starts(period, span[0], span[1], tz)
        rows, per_unit = _grouped_rows(connection, sel, dimensions, periods, sign, units)
        entries = int(connection.execute(sel.joined(select(func.count(distinct(sel.p.c.entry_seq))))).scalar_one())
        everyone = _beneficiaries(connection, sel, sign)
    return AuditTotals(
        flow=flow,
        by=dimensions,
        rows=tuple(rows),
        totals={code: Amount.from_minor(minor, units[code]) for code, minor in sorted(per_unit.items())},
        entries=entries,
        beneficiaries=everyone,
        window=sel.window,
    )


def _grouped_rows(
    connection: Connection,
    sel: Selection,
    dimensions: Sequence[Dimension],
    periods: Sequence[tuple[int, str]],
    sign: int,
    units: Mapping[str, Unit],
) -> tuple[list[TotalsRow], dict[str, int]]:
    """One row per group and unit (with its beneficiaries), sorted, and the sum per unit code."""
    columns = [sel.column(d, periods).label(f"d{i}") for i, d in enumerate(dimensions)]
    keys = [*columns, sel.a.c.unit_code.label("unit")]
    beneficiary = sel.tag(Tag.BENEFICIARY).label("beneficiary")
    # Grouped by kind too (an entry has one kind, so the counts add up across kinds).
    kind = sel.e.c.kind.label("kind")
    totals_query = sel.joined(
        select(*keys, kind, func.sum(sel.p.c.amount), func.count(distinct(sel.p.c.entry_seq))).group_by(*keys, kind)
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
    people = {tuple(row[:-1]): int(row[-1]) for row in connection.execute(people_query)}
    groups: dict[tuple[Any, ...], tuple[int, int, list[str]]] = {}
    for row in connection.execute(totals_query):
        *key, entry_kind, minor, count = row
        before, counted, kinds = groups.get(tuple(key), (0, 0, []))
        groups[tuple(key)] = (before + int(minor), counted + int(count), [*kinds, str(entry_kind)])
    rows = []
    per_unit: dict[str, int] = {}
    for (*values, unit_code), (minor, count, kinds) in groups.items():
        rows.append(
            TotalsRow(
                group={d.value: v for d, v in zip(dimensions, values, strict=True)},
                amount=Amount.from_minor(sign * minor, units[unit_code]),
                entries=count,
                beneficiaries=people.get((*values, unit_code), 0),
                kinds=tuple(sorted(kinds)),
            )
        )
        per_unit[unit_code] = per_unit.get(unit_code, 0) + sign * minor
    rows.sort(key=lambda r: (tuple("" if v is None else v for v in r.group.values()), r.amount.unit.code))
    return rows, per_unit


def _beneficiaries(connection: Connection, sel: Selection, sign: int) -> int:
    """Distinct beneficiaries with a positive net amount over the whole selection."""
    beneficiary = sel.tag(Tag.BENEFICIARY).label("beneficiary")
    overall = (
        sel.joined(select(beneficiary, func.sum(sel.p.c.amount).label("net")))
        .where(beneficiary.isnot(None))
        .group_by(beneficiary)
        .subquery()
    )
    return int(
        connection.execute(select(func.count()).select_from(overall).where(overall.c.net * sign > 0)).scalar_one()
    )


__all__ = ["AuditTotals", "Dimension", "Flow", "Selection", "TotalsRow", "audit_totals", "window_dict"]
