"""``audit_report``: what ``aidledger report`` prints, as one typed value from one window.

The command combines four queries (audit totals, the aid summary, fund
statements and, if asked, the journal-entry tests); this is that combination
for Python, so a script gets exactly the figures the command shows.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import attrs
from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidledger.core.amounts import Money
from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import require_ledger
from aidledger.queries.audit import AuditTotals, Dimension, Flow, audit_totals
from aidledger.queries.entry_testing import JournalTestReport, journal_tests
from aidledger.queries.planning import BudgetReport, ExclusionFinding, budget_vs_actual, exclusion_conflicts
from aidledger.queries.receipts import ReceiptSummary, receipt_summary
from aidledger.queries.statements import FundStatement, fund_statement
from aidledger.queries.summary import AidSummary, aid_summary
from aidledger.store import schema as t


@attrs.frozen(kw_only=True)
class JournalTestOptions:
    """What :func:`audit_report` passes to :func:`~aidledger.journal_tests` when it runs them.

    Attributes:
        threshold: the approval threshold splits hide under, or ``None`` to skip the split test.
        seed: the sample's seed (the same seed draws the same sample).
        sample_size: how many entries to sample.
    """

    threshold: Money | None = None
    seed: int = 0
    sample_size: int = 25


@attrs.frozen(kw_only=True)
class AuditReport:
    """Everything ``aidledger report`` prints, for one window.

    Attributes:
        window: the entries the report covers.
        totals: audit totals grouped as asked.
        summary: every programme, stock, grant and pledge.
        statements: the fund statements asked for (one per currency of the fund), or none.
        journal_tests: the journal-entry tests, if they were asked for.
        exclusions: beneficiaries two programmes of an exclusion group pay now (soft conflicts, for the auditor;
            live payments have no window, so this part is as the ledger stands).
        budget: budget against actuals per budget line, if it was asked for.
        receipts: the verified-receipt summary of each programme with recorded outcomes.
        warnings: what the reader must know to read the report right: a ``where`` filter whose
            values the ledger knows but that matches nothing in the window (the totals are zero).
    """

    window: Window
    totals: AuditTotals
    summary: AidSummary
    statements: tuple[FundStatement, ...]
    journal_tests: JournalTestReport | None
    exclusions: tuple[ExclusionFinding, ...] = ()
    budget: BudgetReport | None = None
    receipts: tuple[ReceiptSummary, ...] = ()
    warnings: tuple[str, ...] = ()


def audit_report(
    ledger: Ledger,
    *,
    window: Window | None = None,
    flow: Flow | str = Flow.SPENT,
    by: Sequence[Dimension | str] | Dimension | str = (Dimension.FUND, Dimension.PURPOSE),
    where: Mapping[Dimension | str, str] | None = None,
    fund: str | Sequence[str] | None = None,
    journal: JournalTestOptions | None = None,
    tz: str = "UTC",
    budget: bool = False,
) -> AuditReport:
    """Audit totals, the aid summary, a fund's statements and the journal-entry tests over one window.

    Args:
        ledger: the ledger.
        window: the entries to report on (all by default); ``Window(known_at=T)``
            reproduces a report made at T.
        flow, by, where, tz: as for :func:`~aidledger.audit_totals`.
        fund: a fund whose statements to include, or several funds' codes.
        journal: run the journal-entry tests with these options (``None``: do not run them).
        budget: include :func:`~aidledger.budget_vs_actual` for the window.

    Returns:
        :class:`AuditReport`; each part is what its own query returns for the same window.

    Raises:
        InvalidArgument: an argument is wrong, or a ``where`` value was never carried by any
            entry (a mistyped code: the message names it and the values that come close).
    """
    ledger = require_ledger(ledger)
    seen = Window.of(window)
    totals = audit_totals(ledger, flow=flow, by=by, where=where, window=seen, tz=tz)
    warnings = _unmatched(ledger, totals, where or {})
    funds = () if fund is None else (fund,) if isinstance(fund, str) else tuple(fund)
    statements = tuple(statement for code in funds for statement in fund_statement(ledger, code, window=seen))
    tests = None
    if journal is not None:
        tests = journal_tests(
            ledger,
            threshold=journal.threshold,
            seed=journal.seed,
            sample_size=journal.sample_size,
            tz=tz,
            window=seen,
        )
    return AuditReport(
        window=seen,
        totals=totals,
        summary=aid_summary(ledger, window=seen),
        statements=statements,
        journal_tests=tests,
        exclusions=exclusion_conflicts(ledger, window=seen),
        budget=budget_vs_actual(ledger, window=seen) if budget else None,
        receipts=receipt_summary(ledger, window=seen),
        warnings=warnings,
    )


def _unmatched(ledger: Ledger, totals: AuditTotals, where: Mapping[Dimension | str, str]) -> tuple[str, ...]:
    """A warning if the filters match nothing; :class:`InvalidArgument` if one names a value no entry has."""
    if totals.rows or not where:
        return ()
    filters = {Dimension(key) if isinstance(key, str) else key: value for key, value in where.items()}
    with ledger.snapshot() as connection:
        for dimension, value in filters.items():
            known = _known_values(connection, dimension)
            if value not in known:
                raise InvalidArgument(
                    f"filter {dimension.value}={value!r} matches nothing: no entry has ever had that "
                    f"{dimension.value}; {_suggestion(value, known, dimension)}",
                    value=value,
                )
    shown = ", ".join(f"{d.value}={v}" for d, v in filters.items())
    return (
        f"no {totals.flow.value} entries match {shown} in this window: the totals are zero "
        f"(the ledger knows each value, so the filter is not mistyped)",
    )


def _known_values(connection: Connection, dimension: Dimension) -> list[str]:
    """Every value of ``dimension`` that the ledger holds, sorted."""
    columns = {
        Dimension.FUND: t.funds.c.code,
        Dimension.ACCOUNT: t.accounts.c.code,
        Dimension.KIND: t.entries.c.kind,
        Dimension.CURRENCY: t.units.c.code,
    }
    column = columns.get(dimension)
    if column is None:
        tags = t.entry_tags.c
        query = select(tags.value).where(tags.name == dimension.value).distinct()
    else:
        query = select(column).distinct()
    return sorted(str(value) for value in connection.execute(query).scalars())


def _suggestion(value: str, known: Sequence[str], dimension: Dimension) -> str:
    """The known values that come close to ``value`` (same letters in another case first), or what there is."""
    same = [k for k in known if k.casefold() == value.casefold()]
    close = same + [k for k in difflib.get_close_matches(value, known, n=3, cutoff=0.6) if k not in same]
    if close:
        return "did you mean " + " or ".join(repr(k) for k in close) + "?"
    if not known:
        return f"no entry has a {dimension.value}"
    listed = ", ".join(known[:_LISTED])
    more = f" and {len(known) - _LISTED} more" if len(known) > _LISTED else ""
    return f"the ledger has {listed}{more}"


#: How many known values a refused filter lists when none comes close.
_LISTED = 10


__all__ = ["AuditReport", "JournalTestOptions", "audit_report"]
