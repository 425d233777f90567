"""``audit_report``: what ``aidledger report`` prints, as one typed value from one window.

The command combines four queries (audit totals, the aid summary, fund
statements and, if asked, the journal-entry tests); this is that combination
for Python, so a script gets exactly the figures the command shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from aidledger.core.amounts import Money
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import require_ledger
from aidledger.queries.audit import AuditTotals, Dimension, Flow, audit_totals
from aidledger.queries.entry_testing import JournalTestReport, journal_tests
from aidledger.queries.planning import BudgetReport, ExclusionFinding, budget_vs_actual, exclusion_conflicts
from aidledger.queries.receipts import ReceiptSummary, receipt_summary
from aidledger.queries.statements import FundStatement, fund_statement
from aidledger.queries.summary import AidSummary, aid_summary


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
    """

    window: Window
    totals: AuditTotals
    summary: AidSummary
    statements: tuple[FundStatement, ...]
    journal_tests: JournalTestReport | None
    exclusions: tuple[ExclusionFinding, ...] = ()
    budget: BudgetReport | None = None
    receipts: tuple[ReceiptSummary, ...] = ()


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
    """
    ledger = require_ledger(ledger)
    seen = Window.of(window)
    totals = audit_totals(ledger, flow=flow, by=by, where=where, window=seen, tz=tz)
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
        exclusions=exclusion_conflicts(ledger),
        budget=budget_vs_actual(ledger, window=seen) if budget else None,
        receipts=receipt_summary(ledger, window=seen),
    )


__all__ = ["AuditReport", "JournalTestOptions", "audit_report"]
