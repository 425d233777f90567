"""Budgets against actuals, the budget reconciliation, and exclusion-group conflicts.

A budget line's money sits in three memo accounts of its own (free,
committed, disbursed: see ``aidledger.operations.budgets``), moved by the
same entries that move real money.  :func:`budget_vs_actual` reads them;
:func:`check_budgets` compares them with the real money the line's entries
moved, so a memo posting that went astray (or was left out) is found.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import attrs
from sqlalchemy import select

from aidledger.core.accounts import Account
from aidledger.core.amounts import Amount, Money, Unit
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Check
from aidledger.queries._reading import balance_or_zero, known_records, require_ledger
from aidledger.store import schema as t
from aidledger.store import window as store_window
from aidledger.vocabulary import (
    CLAIM_PREFIX,
    BudgetLine,
    Chart,
    Event,
    ExclusionGroup,
    Owner,
    RecordKind,
    Severity,
    Tag,
)


@attrs.frozen(kw_only=True)
class BudgetFigures:
    """Budget against actuals, in one currency.

    Attributes:
        budgeted: the amount budgeted.
        committed: approved and not yet paid (nor released).
        disbursed: paid out (before returns).
        returned: paid out and come back (returns, clawbacks): free again.
        remaining: budgeted − committed − disbursed + returned: what can still be committed.
    """

    budgeted: Money
    committed: Money
    disbursed: Money
    returned: Money
    remaining: Money

    @classmethod
    def zero(cls, unit: Unit) -> BudgetFigures:
        nothing = Money.from_minor(0, unit)
        return cls(budgeted=nothing, committed=nothing, disbursed=nothing, returned=nothing, remaining=nothing)

    def __add__(self, other: BudgetFigures) -> BudgetFigures:
        def add(name: str) -> Money:
            mine, theirs = getattr(self, name), getattr(other, name)
            return Money.from_minor(mine.minor + theirs.minor, mine.unit)

        return BudgetFigures(**{name: add(name) for name in attrs.fields_dict(BudgetFigures)})


@attrs.frozen(kw_only=True)
class BudgetLineStatus:
    """One budget line against its actuals.

    Attributes:
        line: the budget line.
        figures: budgeted, committed, disbursed, returned and remaining.
    """

    line: BudgetLine
    figures: BudgetFigures


@attrs.frozen(kw_only=True)
class BudgetReport:
    """Budget against actuals for a set of lines.

    Attributes:
        window: what the report covers (a position: every entry up to its end).
        lines: each line, in the order they were made.
        totals: the lines' figures added up, one per currency (by its code).
    """

    window: Window
    lines: tuple[BudgetLineStatus, ...]
    totals: dict[str, BudgetFigures]


def _money(amount: Amount, sign: int = 1) -> Money:
    return Money.from_minor(sign * amount.minor, amount.unit)


def line_figures(ledger: Ledger, line: BudgetLine, window: Window) -> BudgetFigures:
    """The figures of one line, as of the end of ``window``."""
    chart, unit = Chart(), line.amount.unit

    def memo(account: str, *events: str) -> Money:
        which = {"free": chart.budget_free, "committed": chart.budget_committed, "disbursed": chart.budget_disbursed}
        target = which[account](line.code, unit)
        if not events:
            return _money(balance_or_zero(ledger, target, line.fund, window=window))
        tagged = (
            balance_or_zero(ledger, target, line.fund, window=window, tags={Tag.BUDGET_LINE: line.code, Tag.EVENT: e})
            for e in events
        )
        return Money.from_minor(sum(x.minor for x in tagged), unit)

    return BudgetFigures(
        budgeted=memo("free", Event.BUDGETED),
        committed=memo("committed"),
        disbursed=memo("disbursed", Event.PAID, Event.DISBURSED),
        returned=_money(memo("disbursed", Event.RETURNED, Event.CLAWED_BACK), -1),
        remaining=memo("free"),
    )


def budget_vs_actual(
    ledger: Ledger,
    *,
    programme: str | None = None,
    project: str | None = None,
    window: Window | None = None,
    as_of: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
) -> BudgetReport:
    """Budgeted, committed, disbursed, returned and remaining per budget line and in total.

    Every line (or those of one ``programme`` or ``project``) the window knows,
    as of the end of ``window`` (or ``as_of``, ``known_at``): a report made at
    T is made again identically with ``known_at=T``.
    """
    seen = Window.of(window, as_of=as_of, known_at=known_at).at_end()
    lines = [BudgetLine.from_record(r) for r in known_records(require_ledger(ledger), RecordKind.BUDGET_LINE, seen)]
    if programme is not None:
        lines = [x for x in lines if (x.owner, x.owner_code) == (Owner.PROGRAMME, programme)]
    if project is not None:
        lines = [x for x in lines if (x.owner, x.owner_code) == (Owner.PROJECT, project)]
    statuses = tuple(BudgetLineStatus(line=x, figures=line_figures(ledger, x, seen)) for x in lines)
    totals: dict[str, BudgetFigures] = {}
    for status in statuses:
        unit = status.line.amount.unit
        totals[unit.code] = totals.get(unit.code, BudgetFigures.zero(unit)) + status.figures
    return BudgetReport(window=seen, lines=statuses, totals=totals)


def _actuals(ledger: Ledger, line: BudgetLine) -> tuple[Money, Money, Money, Money]:
    """What the line's entries did to real money: approved, paid, released before payment, returned after it."""
    chart, unit = Chart(), line.amount.unit
    expense = chart.expenses(line.purpose, unit)

    def tagged(account: Account, event: str) -> Money:
        tags = {Tag.BUDGET_LINE: line.code, Tag.EVENT: event}
        return _money(balance_or_zero(ledger, account, line.fund, window=Window(), tags=tags))

    if line.owner is Owner.PROJECT:  # a tranche is approved and paid in one entry; nothing is released unpaid
        approved = tagged(expense, Event.DISBURSED)
        paid = _money(tagged(chart.bank(unit), Event.DISBURSED), -1)
        return approved, paid, Money.from_minor(0, unit), _money(tagged(expense, Event.CLAWED_BACK), -1)
    due = chart.payments_due(unit)
    return (
        tagged(expense, Event.APPROVED),
        tagged(due, Event.PAID),
        tagged(due, Event.FAILED),
        _money(tagged(expense, Event.RETURNED), -1),
    )


def check_budgets(ledger: Ledger) -> Check:
    """Each budget line: committed = approved − paid − released, disbursed − returned = paid − returned, none negative.

    The left sides are the line's memo accounts, the right sides the real money
    (expenses, amounts due, the bank) its entries moved.
    """
    lines = [BudgetLine.from_record(r) for r in ledger.records(RecordKind.BUDGET_LINE)]
    wrong = []
    for line in lines:
        figures = line_figures(ledger, line, Window())
        approved, paid, released, returned = _actuals(ledger, line)
        expected = approved - paid - released
        if figures.committed != expected:
            wrong.append(
                f"budget line {line.code}: committed {figures.committed}, but approved {approved} − paid {paid} − "
                f"released {released} = {expected}"
            )
        if (figures.disbursed, figures.returned) != (paid, returned):
            wrong.append(
                f"budget line {line.code}: disbursed {figures.disbursed} and returned {figures.returned} on the "
                f"line, but {paid} paid and {returned} returned"
            )
        negative = [name for name in ("committed", "remaining") if getattr(figures, name).value < 0]
        if negative:
            wrong.append(f"budget line {line.code}: negative {', '.join(negative)}")
    return Check.of(
        "budgets",
        f"each budget line's committed with approved − paid − released, and its disbursed with what was paid, for "
        f"{len(lines)} line(s)",
        wrong,
        "{n} budget line finding(s)",
    )


@attrs.frozen(kw_only=True)
class ExclusionFinding:
    """A beneficiary with live payments from two or more programmes of one exclusion group.

    Attributes:
        group: the group's code.
        severity: hard (this should not happen: paid before the group was declared) or soft (allowed, reported).
        beneficiary: the pseudonym (never a name or registry id).
        programmes: the programmes that pay them, sorted.
    """

    group: str
    severity: Severity
    beneficiary: str
    programmes: tuple[str, ...]


def exclusion_conflicts(
    ledger: Ledger,
    *,
    severity: Severity | None = None,
    window: Window | None = None,
    as_of: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
) -> tuple[ExclusionFinding, ...]:
    """Beneficiaries that two or more programmes of an exclusion group pay (soft conflicts, and hard ones made
    before their group was declared), by group and pseudonym.

    As of the end of ``window`` (or ``as_of``, ``known_at``; by default now): the
    groups the window knows, and the payments that stand at its end (taken in
    it, and not failed, returned or reversed in it), so a report made at T is
    made again identically with ``known_at=T``.
    """
    seen = Window.of(window, as_of=as_of, known_at=known_at).at_end()
    groups = [
        ExclusionGroup.from_record(r) for r in known_records(require_ledger(ledger), RecordKind.EXCLUSION_GROUP, seen)
    ]
    groups = [g for g in groups if severity is None or g.severity is severity]
    if not groups:
        return ()
    holders: dict[str, set[str]] = defaultdict(set)
    for scope, key in _standing_claims(ledger, seen):
        holders[key].add(scope.removeprefix(CLAIM_PREFIX))
    findings = []
    for group in groups:
        for key, programmes in sorted(holders.items()):
            both = programmes.intersection(group.programmes)
            if len(both) > 1:
                findings.append(
                    ExclusionFinding(
                        group=group.code, severity=group.severity, beneficiary=key, programmes=tuple(sorted(both))
                    )
                )
    return tuple(findings)


def _standing_claims(ledger: Ledger, window: Window) -> list[tuple[str, str]]:
    """The programmes' once-per-beneficiary claims (scope, key) taken by an entry in ``window`` and not released by
    one in it."""
    c, r = t.claims, t.claim_releases
    taking, releasing = t.entries.alias("taking"), t.entries.alias("releasing")
    with ledger.snapshot() as connection:
        seen = store_window.check_through(connection, window)
        released = (
            select(r.c.entry_seq)
            .join(releasing, releasing.c.seq == r.c.entry_seq)
            .where(
                r.c.scope == c.c.scope,
                r.c.key == c.c.key,
                r.c.generation == c.c.generation,
                *store_window.conditions(seen, releasing),
            )
        )
        query = (
            select(c.c.scope, c.c.key)
            .join(taking, taking.c.seq == c.c.entry_seq)
            .where(
                c.c.scope.startswith(CLAIM_PREFIX, autoescape=True),
                *store_window.conditions(seen, taking),
                ~released.exists(),
            )
            .order_by(c.c.scope, c.c.key)
        )
        return [(str(scope), str(key)) for scope, key in connection.execute(query)]


__all__ = [
    "BudgetFigures",
    "BudgetLineStatus",
    "BudgetReport",
    "ExclusionFinding",
    "budget_vs_actual",
    "check_budgets",
    "exclusion_conflicts",
]
