"""What the report, reconcile and demo commands print: their tables for people and their JSON for scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from aidledger.cli.output import count_text, money_table, money_text, out, plain_attrs
from aidledger.queries.audit import Flow

if TYPE_CHECKING:
    from aidledger.ledger.results import Reconciliation
    from aidledger.queries.audit import AuditTotals
    from aidledger.queries.entry_testing import JournalTestReport
    from aidledger.queries.planning import BudgetReport
    from aidledger.queries.report import AuditReport
    from aidledger.queries.statements import FundStatement


def reconciliation_dict(result: Reconciliation) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "checks": [
            {
                "name": check.name,
                "ok": check.ok,
                "compared": check.compared,
                "difference": check.difference,
                "details": list(check.details),
            }
            for check in result.checks
        ],
    }


def print_reconciliation(result: Reconciliation) -> None:
    table = Table(title="Reconciliation")
    for column in ("check", "result", "compared", "difference"):
        table.add_column(column)
    for check in result.checks:
        table.add_row(
            Text(check.name),
            Text("ok" if check.ok else "FAILS", style="" if check.ok else "bold red"),
            Text(check.compared),
            Text("\n".join([check.difference, *check.details]).strip()),
        )
    out.print(table)
    out.print(Text("OK: everything reconciles" if result.ok else f"NOT OK: {len(result.failed)} check(s) fail"))


def totals_rows(totals: AuditTotals, *, people: bool) -> list[list[object]]:
    """The rows of a totals table; a group without a value says what its entries are (``goods-loss (no purpose)``)."""
    return [
        [*(v if v is not None else f"{', '.join(row.kinds)} (no {d})" for d, v in row.group.items()),
         row.amount.unit.code, row.amount.value, row.entries, *([row.beneficiaries] if people else [])]
        for row in totals.rows
    ]  # fmt: skip


def print_totals(totals: AuditTotals) -> None:
    """Audit totals as a table and a Totals line; what is received has no beneficiaries, so no column for them."""
    title = f"{totals.flow.value.capitalize()}, by {', '.join(d.value for d in totals.by)}"
    if not totals.rows:
        out.print(Text(f"{title}: no entries"))
        return
    people = totals.flow is not Flow.RECEIVED
    money_table(
        title,
        [*(d.value for d in totals.by), "unit", "amount", "entries", *(["beneficiaries"] if people else [])],
        totals_rows(totals, people=people),
    )
    out.print(
        Text(
            "Totals: " + ", ".join(money_text(amount) for amount in totals.totals.values())
            + f"; {count_text(totals.entries)} entries"
            + (f", {count_text(totals.beneficiaries)} distinct beneficiaries" if people else "")
        )
    )  # fmt: skip


def report_dict(report: AuditReport) -> dict[str, Any]:
    summary, tests = report.summary, report.journal_tests
    return {
        "totals": report.totals.as_dict(),
        "programmes": [plain_attrs(p) | {"net_paid": plain_attrs(p.net_paid)} for p in summary.programmes],
        "stock": [{"fund": s.fund, **plain_attrs(s.position)} for s in summary.stock],
        "grants": [plain_attrs(g) for g in summary.grants],
        "pledges": [plain_attrs(p) for p in summary.pledges],
        "fund_statements": [statement_dict(x) for x in report.statements],
        "journal_tests": None if tests is None else plain_attrs(tests),
        "exclusion_conflicts": [plain_attrs(x) for x in report.exclusions],
        "budget": None if report.budget is None else budget_dict(report.budget),
        "verified_receipt": [plain_attrs(x) for x in report.receipts],
        "warnings": list(report.warnings),
    }


def budget_dict(budget: BudgetReport) -> dict[str, Any]:
    return {
        "lines": [{"line": x.line.code, "owner": x.line.owner_code, **plain_attrs(x.figures)} for x in budget.lines],
        "totals": {code: plain_attrs(figures) for code, figures in budget.totals.items()},
    }


def print_report(report: AuditReport) -> None:
    summary = report.summary
    print_totals(report.totals)
    money_table(
        "One-off programmes",
        ["programme", "approved", "paid", "failed", "returned", "outstanding", "net paid", "beneficiaries paid"],
        [
            [p.programme.code, p.approved.value, p.paid.value, p.failed.value, p.returned.value, p.outstanding.value,
             p.net_paid.value, p.beneficiaries_paid]
            for p in summary.programmes
        ],
        if_any=True,
    )  # fmt: skip
    money_table(
        "Stock",
        ["fund", "commodity", "received", "delivered", "lost", "in transit", "on hand", "on hand value", "reconciles"],
        [
            [s.fund, s.position.commodity, s.position.received.value, s.position.delivered.value,
             s.position.lost.value, s.position.in_transit.value, s.position.on_hand.value,
             s.position.on_hand_value.value, s.position.reconciles]
            for s in summary.stock
        ],
        if_any=True,
    )  # fmt: skip
    money_table(
        "Grants",
        ["project", "committed", "disbursed", "clawed back", "remaining"],
        [[g.project.code, g.committed.value, g.disbursed.value, g.clawed_back.value, g.remaining.value]
         for g in summary.grants],
        if_any=True,
    )  # fmt: skip
    money_table(
        "Pledges",
        ["pledge", "donor", "promised", "fulfilled", "written off", "outstanding"],
        [[p.pledge.code, p.pledge.donor, p.pledge.amount.value, p.fulfilled.value, p.written_off.value,
          p.outstanding.value] for p in summary.pledges],
        if_any=True,
    )  # fmt: skip
    if report.exclusions:
        money_table(
            "Exclusion conflicts (one beneficiary in two programmes of a group)",
            ["group", "severity", "beneficiary", "programmes"],
            [[x.group, x.severity.value, x.beneficiary, ", ".join(x.programmes)] for x in report.exclusions],
        )
    if report.budget is not None:
        print_budget(report.budget)
    if report.receipts:
        money_table(
            "Verified receipt (95% Wilson interval of the discrepancy rate)",
            ["programme", "verified", "received", "partly", "not received", "unreachable", "rate", "low", "high"],
            [[x.programme, x.verified, x.received, x.partly, x.not_received, x.unreachable,
              "" if x.rate is None else str(x.rate), "" if x.low is None else str(x.low),
              "" if x.high is None else str(x.high)] for x in report.receipts],
        )  # fmt: skip
    for statement in report.statements:
        print_statement(statement)
    if report.journal_tests is not None:
        print_journal_tests(report.journal_tests)


def print_budget(budget: BudgetReport) -> None:
    rows = [
        [x.line.code, x.line.owner_code, x.figures.budgeted.value, x.figures.committed.value,
         x.figures.disbursed.value, x.figures.returned.value, x.figures.remaining.value]
        for x in budget.lines
    ]  # fmt: skip
    rows += [
        [f"total {code}", "", f.budgeted.value, f.committed.value, f.disbursed.value, f.returned.value,
         f.remaining.value]
        for code, f in budget.totals.items()
    ]  # fmt: skip
    money_table(
        "Budget against actuals",
        ["line", "of", "budgeted", "committed", "disbursed", "returned", "remaining"],
        rows,
    )


def print_statement(statement: FundStatement) -> None:
    money_table(
        f"Fund {statement.fund.code} ({statement.currency.code})",
        ["line", "amount", "entries"],
        [
            ["opening balance", statement.opening.value, 0],
            *(["received: " + x.label, x.amount.value, x.entries] for x in statement.receipts),
            *(["transferred: " + x.label, x.amount.value, x.entries] for x in statement.transfers),
            *(["other: " + x.label, x.amount.value, x.entries] for x in statement.other),
            *(["spent: " + x.label, -x.amount.value, x.entries] for x in statement.spending),
            ["closing balance", statement.closing.value, 0],
        ],
    )
    out.print(Text("Statement reconciles" if statement.reconciles else "Statement does NOT reconcile"))


def print_journal_tests(tests: JournalTestReport) -> None:
    money_table("Journal-entry tests", ["test", "findings"], [[name, n] for name, n in tests.findings.items()])
    money_table(
        f"Sample ({tests.sample.method.value}, seed {tests.sample.seed}): the entries to vouch",
        ["seq", "date", "kind", "actor", "amount", "memo", "source"],
        [
            [x.seq, x.effective_at.to_date_string(), x.kind, x.actor, "\n".join(map(money_text, x.amounts)), x.memo,
             x.source or ""]
            for x in tests.sample.entries
        ],
    )  # fmt: skip


def statement_dict(statement: FundStatement) -> dict[str, Any]:
    data: dict[str, Any] = plain_attrs(statement)
    return data | {"reconciles": statement.reconciles, "fund": statement.fund.code}
