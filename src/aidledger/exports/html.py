"""A self-contained HTML audit report: one file, charts as inline SVG, no script, no network.

The page carries a Content-Security-Policy that forbids every fetch
(``default-src 'none'``), draws its charts as inline SVG (no JavaScript at all),
and is rendered with Jinja2's autoescaping, so every stored text (account and
fund names, donors, regions, memos) shows as text, never as markup.  It holds
amounts and counts only: no beneficiary pseudonym, no personal data (exclusion conflicts are counted per group,
journal-entry findings name entries, never a beneficiary).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Mapping
from importlib import resources
from typing import TextIO

import attrs
import jinja2
import pendulum

from aidledger.core.amounts import Amount, Unit
from aidledger.core.errors import InvalidArgument
from aidledger.core.formatting import check_locale, format_amount
from aidledger.core.times import time_zone
from aidledger.core.window import Window
from aidledger.exports._charts import Chart, horizontal, vertical
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Reconciliation, Verification
from aidledger.queries.audit import Dimension, Flow, audit_totals
from aidledger.queries.entry_testing.entries import EntryRef
from aidledger.queries.entry_testing.report import JournalTestReport
from aidledger.queries.reconcile import reconcile
from aidledger.queries.report import JournalTestOptions, audit_report
from aidledger.queries.verification import verify
from aidledger.vocabulary import Tag


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


@attrs.frozen
class Flag:
    """One entry a journal-entry test flagged, as the report lists it (never a beneficiary's pseudonym)."""

    test: str
    entry: EntryRef
    when: str
    detail: str


#: How the page writes an amount: ``fmt(amount)``, or ``fmt(amount, unit=False)`` in a column of one unit.
Fmt = Callable[..., str]

#: A time zone as :func:`~aidledger.core.times.time_zone` returns it.
Zone = pendulum.Timezone | pendulum.FixedTimezone

_JOURNAL = JournalTestOptions()

#: The most entries the report lists for one journal-entry test (the findings table counts them all).
_FLAGS_PER_TEST = 25

#: The most months the spending chart draws (a window of years still makes a readable chart).
_MAX_MONTHS = 240

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
    journal: JournalTestOptions | None = _JOURNAL,
) -> ReportSummary:
    """Write the audit report of ``ledger`` as one self-contained HTML page to ``out``.

    The page is what :func:`~aidledger.audit_report` returns for the window (spending by
    fund and purpose, the aid summary, every fund's statements, the journal-entry tests,
    budget against actuals, verified receipt), with the period it covers, the
    verification and reconciliation of the whole ledger, charts and a print style sheet.

    Args:
        ledger: the ledger.
        out: an open text file.
        title: the report's title (shown as text).
        tz: the time zone every time on the page is shown in, and months are counted in.
        locale: write amounts as this locale does (``kk_KZ``: ``1 234 567,50 ₸``); by default
            ``1,234,567.50 KZT`` (see :func:`~aidledger.format_amount`).
        window: which entries the totals, summaries and balances cover (a :class:`~aidledger.Window`;
            a digest included); by default all of them.
        generated_at: the time printed as the report's date (default: now).
        verification: a verification already computed, to save running it again.
        reconciliation: a reconciliation already computed, to save running it again.
        journal: the journal-entry tests' options (seed, sample size, split threshold), or ``None``
            to leave the tests out.
    """
    _check(ledger, out, title, window, journal)
    zone = time_zone(tz)
    fmt: Fmt = functools.partial(format_amount, locale=check_locale(locale))
    verification = verification if verification is not None else verify(ledger)
    reconciliation = reconciliation if reconciliation is not None else reconcile(ledger)
    report = audit_report(
        ledger,
        window=window,
        by=(Dimension.FUND, Dimension.PURPOSE),
        fund=[fund.code for fund in ledger.funds()],
        journal=journal,
        tz=tz,
        budget=True,
    )
    covered = report.window
    units = ledger.units()
    charts = _charts(ledger, covered, tz, units, fmt)
    funds = _fund_balances(ledger, covered, units, fmt)
    for code, points in sorted(funds.points.items()):
        charts.append(horizontal(f"Fund balances ({code})", units[code], points, fmt))
    ok = verification.ok and reconciliation.ok
    page = _ENVIRONMENT.from_string(_TEMPLATE).render(
        title=title,
        tz=tz,
        generated=_time(generated_at or pendulum.now("UTC"), zone),
        period=_period(covered, zone),
        url=ledger.url,
        entries=verification.entries,
        digest=verification.digest,
        ok=ok,
        checks=reconciliation.checks,
        charts=charts,
        funds=funds.rows,
        received=audit_totals(ledger, flow=Flow.RECEIVED, by=["donor"], window=covered),
        report=report,
        tests=report.journal_tests,
        flags=_flags(report.journal_tests, zone, fmt),
        flags_per_test=_FLAGS_PER_TEST,
        exclusions=sorted(
            Counter((x.group, x.severity.value, ", ".join(x.programmes)) for x in report.exclusions).items()
        ),
        fmt=fmt,
    )
    out.write(page)
    return ReportSummary(charts=len(charts), ok=ok, window=covered)


def _check(ledger: object, out: object, title: object, window: object, journal: object) -> None:
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    if not hasattr(out, "write"):
        raise InvalidArgument(f"out must be an open text file, got {out!r}", value=out)
    if not isinstance(title, str):
        raise InvalidArgument(f"title must be text, got {title!r}", value=title)
    if window is not None and not isinstance(window, Window):
        raise InvalidArgument(f"window must be a Window, got {window!r}", value=window)
    if journal is not None and not isinstance(journal, JournalTestOptions):
        raise InvalidArgument(f"journal must be JournalTestOptions or None, got {journal!r}", value=journal)


def _time(when: dt.datetime, zone: Zone) -> str:
    """A time as the report prints it: in the reader's zone, to the second, with its UTC offset."""
    return pendulum.instance(when).in_timezone(zone).format("YYYY-MM-DD HH:mm:ss Z")


def _period(window: Window, zone: Zone) -> str:
    """The entries the report covers, in words."""
    parts = [f"from {_time(window.start, zone)}" if window.start is not None else "from the first entry"]
    if window.end is not None:
        parts.append(f"to {_time(window.end, zone)} (not included)")
    if window.as_of is not None:
        parts.append(f"up to and including {_time(window.as_of, zone)}")
    if window.end is None and window.as_of is None:
        parts.append("to the last entry")
    if window.known_at is not None:
        parts.append(f"as recorded by {_time(window.known_at, zone)}")
    if window.through is not None:
        parts.append(f"as of digest {window.through}")
    return ", ".join(parts)


def _charts(ledger: Ledger, window: Window, tz: str, units: Mapping[str, Unit], fmt: Fmt) -> list[Chart]:
    """Spending by month (every month of the period, zero where nothing was spent) and by region, per currency."""
    by_month = audit_totals(ledger, flow=Flow.SPENT, by=["month"], window=window, tz=tz)
    by_region = audit_totals(ledger, flow=Flow.SPENT, by=["region"], window=window)
    charts = []
    for code in sorted(code for code in by_month.totals if units[code].is_currency):
        spent = {str(row.group["month"]): row.amount for row in by_month.rows if row.amount.unit.code == code}
        zero = Amount.from_minor(0, units[code])
        months = [(month, spent.get(month, zero)) for month in _months(spent, window, time_zone(tz))]
        charts.append(vertical(f"Spending by month ({code}, {tz})", units[code], months, fmt))
        regions = [(str(r.group["region"] or "(none)"), r.amount) for r in by_region.rows if r.amount.unit.code == code]
        charts.append(horizontal(f"Spending by region ({code})", units[code], regions, fmt))
    return charts


def _months(spent: Mapping[str, object], window: Window, zone: Zone) -> list[str]:
    """Every month (``YYYY-MM``) from the first to the last one with spending or inside the window's bounds."""
    bounds = [*spent]
    if window.start is not None:
        bounds.append(pendulum.instance(window.start).in_timezone(zone).format("YYYY-MM"))
    last = window.end.subtract(microseconds=1) if window.end is not None else window.as_of
    if last is not None and (window.end is not None or bounds):
        bounds.append(pendulum.instance(last).in_timezone(zone).format("YYYY-MM"))
    if not bounds:
        return []
    year, month = map(int, min(bounds).split("-"))
    months: list[str] = []
    while (label := f"{year:04d}-{month:02d}") <= max(bounds) and len(months) < _MAX_MONTHS:
        months.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _flags(tests: JournalTestReport | None, zone: Zone, fmt: Fmt) -> list[Flag]:
    """Every entry the journal-entry tests flagged, test by test (the pseudonyms they name are left out)."""
    if tests is None:
        return []
    found: list[tuple[str, EntryRef, str]] = [
        *(("entries after close", x.entry, x.reason.value) for x in tests.after_close),
        *(("rare actors", e, f"{x.actor}: {x.count} entries") for x in tests.actors.rare for e in x.entries),
        *(
            ("off-hours entries", x.entry, f"recorded {_time(x.local_time, zone)}{', a weekend' if x.weekend else ''}")
            for x in tests.actors.off_hours
        ),
        *(("entries without description", e, "") for e in tests.without_description.entries),
        *(("round amounts", x.entry, fmt(x.amount)) for x in tests.round_amounts),
        *(
            ("splits under threshold", i.entry, f"{_counterparty(x.counterparty)}: {fmt(i.amount)}")
            for x in tests.splits
            for i in x.items
        ),
        *(
            ("one beneficiary, several programmes", e, ", ".join(x.programmes))
            for x in tests.several_programmes
            for e in x.entries
        ),
    ]
    listed: Counter[str] = Counter()
    flags = []
    for test, entry, detail in found:
        listed[test] += 1
        if listed[test] <= _FLAGS_PER_TEST:
            flags.append(Flag(test, entry, _time(entry.effective_at, zone), detail))
    return flags


def _counterparty(tag: str) -> str:
    """A split's counterparty as the report names it: a beneficiary's pseudonym is not printed."""
    return "one beneficiary" if tag.startswith(f"{Tag.BENEFICIARY}=") else tag


@attrs.frozen
class _Funds:
    rows: list[tuple[str, str, str, str, str]]
    points: dict[str, list[tuple[str, Amount]]]


def _fund_balances(ledger: Ledger, window: Window, units: Mapping[str, Unit], fmt: Fmt) -> _Funds:
    """The table rows and the chart points of every fund's balance in each currency it holds, at the window's end."""
    funds = _Funds([], {})
    held = ledger.trial_balance(window=window).fund_totals
    for fund in ledger.funds():
        for code in sorted({unit for (f, unit) in held if f == fund.code}):
            if not units[code].is_currency:
                continue
            balance = ledger.fund_balance(fund, code, window=window)
            funds.rows.append((fund.code, fund.name, fund.restriction.value, code, fmt(balance)))
            funds.points.setdefault(code, []).append((fund.code, balance))
    return funds
