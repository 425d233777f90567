"""A self-contained HTML audit report: one file, charts as inline SVG, no script, no network.

The page carries a Content-Security-Policy that forbids every fetch
(``default-src 'none'``), draws its charts as inline SVG (no JavaScript at all),
and is rendered with Jinja2's autoescaping, so every stored text (account and
fund names, donors, regions, memos) shows as text, never as markup.  It holds
amounts and counts only: no beneficiary pseudonym, no personal data (exclusion conflicts are counted per group).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import TextIO

import attrs
import jinja2
import pendulum

from aidledger.core.amounts import Amount, Unit
from aidledger.core.errors import InvalidArgument
from aidledger.core.formatting import check_locale, format_amount, format_time
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Reconciliation, Verification
from aidledger.queries.audit import AuditTotals, Flow, audit_totals
from aidledger.queries.planning import budget_vs_actual, exclusion_conflicts
from aidledger.queries.receipts import receipt_summary
from aidledger.queries.reconcile import reconcile
from aidledger.queries.summary import AidSummary, aid_summary
from aidledger.queries.verification import verify


@attrs.frozen
class Bar:
    """One bar of a chart, laid out (pixel geometry is not money; floats are fine here)."""

    label: str
    text: str
    x: float
    y: float
    width: float
    height: float
    negative: bool


@attrs.frozen
class Chart:
    """An SVG bar chart: vertical bars over time, or horizontal bars by category."""

    title: str
    unit: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    horizontal: bool


@attrs.frozen
class ReportSummary:
    """What :func:`export_html` wrote.

    Attributes:
        charts: how many charts the page draws.
        ok: whether the ledger verified and reconciled.
        window: the window its totals, summaries and balances cover (a window through a digest
            is read as known at that digest's entry's recorded time); verification and
            reconciliation always cover the whole ledger.
    """

    charts: int
    ok: bool
    window: Window = attrs.field(factory=Window)


def _chart(title: str, unit: str, points: Sequence[tuple[str, Decimal, str]], *, horizontal: bool) -> Chart:
    biggest = max((abs(value) for _, value, _ in points), default=Decimal(0)) or Decimal(1)
    bars = []
    if horizontal:
        width, row = 880, 26
        for i, (label, value, text) in enumerate(points):
            length = float(abs(value) / biggest) * 420
            bars.append(Bar(label, text, 220.0, 10.0 + i * row, max(length, 1.0), row - 8.0, value < 0))
        return Chart(title, unit, tuple(bars), width, 20 + row * max(len(points), 1), True)
    height, step = 260, max(24, min(64, 720 // max(len(points), 1)))
    for i, (label, value, text) in enumerate(points):
        length = float(abs(value) / biggest) * (height - 70)
        bars.append(Bar(label, text, 50.0 + i * step, height - 40 - length, step - 8.0, max(length, 1.0), value < 0))
    return Chart(title, unit, tuple(bars), 60 + step * max(len(points), 1), height, False)


def _series(
    totals: AuditTotals, dimension: str, unit: str, fmt: Callable[[Amount], str]
) -> list[tuple[str, Decimal, str]]:
    return [
        (str(row.group[dimension] or "(none)"), row.amount.value, fmt(row.amount))
        for row in totals.rows
        if row.amount.unit.code == unit
    ]


_TEMPLATE = resources.files("aidledger.exports").joinpath("report.html").read_text(encoding="utf-8")

_ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def export_html(
    ledger: Ledger,
    out: TextIO,
    *,
    title: str = "aidledger",
    tz: str = "UTC",
    locale: str | None = None,
    window: Window | None = None,
    generated_at: dt.datetime | None = None,
    verification: Verification | None = None,
    reconciliation: Reconciliation | None = None,
) -> ReportSummary:
    """Write the audit report of ``ledger`` as one self-contained HTML page to ``out``.

    Args:
        ledger: the ledger.
        out: an open text file.
        title: the report's title (shown as text).
        tz: the time zone months are counted in for the spending chart, and the report's time is shown in.
        locale: write amounts as this locale does (``kk_KZ``: ``1 234 567,50 ₸``); by default
            ``1,234,567.50 KZT`` (see :func:`~aidledger.format_amount`).
        window: which entries the totals, summaries and balances cover (a :class:`~aidledger.Window`;
            a digest included); by default all of them.
        generated_at: the time printed as the report's date (default: now).
        verification: a verification already computed, to save running it again.
        reconciliation: a reconciliation already computed, to save running it again.
    """
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    if not hasattr(out, "write"):
        raise InvalidArgument(f"out must be an open text file, got {out!r}", value=out)
    if window is not None and not isinstance(window, Window):
        raise InvalidArgument(f"window must be a Window, got {window!r}", value=window)
    check_locale(locale)

    def fmt(amount: Amount) -> str:
        return format_amount(amount, locale=locale)

    given = Window() if window is None else window
    covered = given
    verification = verification if verification is not None else verify(ledger)
    reconciliation = reconciliation if reconciliation is not None else reconcile(ledger)

    def totals(flow: Flow, by: list[str], zone: str = "UTC") -> AuditTotals:
        return audit_totals(ledger, flow=flow, by=by, window=covered, tz=zone)

    summary: AidSummary = aid_summary(ledger, window=covered)
    spent = totals(Flow.SPENT, ["fund", "purpose"])
    received = totals(Flow.RECEIVED, ["donor"])
    by_month = totals(Flow.SPENT, ["month"], tz)
    by_region = totals(Flow.SPENT, ["region"])
    units = ledger.units()
    currencies = sorted(code for code in by_month.totals if units[code].is_currency)
    charts = []
    for code in currencies:
        charts.append(
            _chart(f"Spending by month ({code}, {tz})", code, _series(by_month, "month", code, fmt), horizontal=False)
        )
        charts.append(
            _chart(f"Spending by region ({code})", code, _series(by_region, "region", code, fmt), horizontal=True)
        )
    funds, fund_points = _fund_balances(ledger, covered, units, fmt)
    for code, points in sorted(fund_points.items()):
        charts.append(_chart(f"Fund balances ({code})", code, points, horizontal=True))
    if not charts:
        charts.append(_chart("Spending by month", "", [], horizontal=False))
    page = _ENVIRONMENT.from_string(_TEMPLATE).render(
        title=title,
        generated=format_time((generated_at or pendulum.now("UTC")).replace(microsecond=0), tz),
        url=ledger.url,
        entries=verification.entries,
        digest=verification.digest,
        ok=verification.ok and reconciliation.ok,
        checks=reconciliation.checks,
        charts=charts,
        funds=funds,
        received=received,
        spent=spent,
        summary=summary,
        budget=budget_vs_actual(ledger, window=covered),
        exclusions=sorted(
            Counter((x.group, x.severity.value, ", ".join(x.programmes)) for x in exclusion_conflicts(ledger)).items()
        ),
        receipts=receipt_summary(ledger, window=covered),
        fmt=fmt,
    )
    out.write(page)
    return ReportSummary(charts=len(charts), ok=verification.ok and reconciliation.ok, window=covered)


def _fund_balances(
    ledger: Ledger, window: Window, units: Mapping[str, Unit], fmt: Callable[[Amount], str]
) -> tuple[list[tuple[str, str, str, str, str]], dict[str, list[tuple[str, Decimal, str]]]]:
    """The table rows and the chart points of every fund's balance in each currency it holds, over ``window``."""
    funds = []
    points: dict[str, list[tuple[str, Decimal, str]]] = {}
    held = ledger.trial_balance(window=window).fund_totals
    for fund in ledger.funds():
        for code in sorted({unit for (f, unit) in held if f == fund.code}):
            if not units[code].is_currency:
                continue
            balance = ledger.fund_balance(fund, code, window=window)
            funds.append((fund.code, fund.name, fund.restriction.value, code, fmt(balance)))
            points.setdefault(code, []).append((fund.code, balance.value, fmt(balance)))
    return funds, points
