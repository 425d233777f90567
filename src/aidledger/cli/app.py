"""Command definitions.  Every command takes a database URL (or a SQLite path).

Errors never show a traceback: a refused or failed operation prints one line
naming the offending value on stderr and exits with status 2; a ledger that
does not verify exits with status 1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, TextIO

import attrs
import pendulum
import typer
from rich.text import Text

from aidledger.cli import log as log_commands
from aidledger.cli import printed
from aidledger.cli.flags import FlagGroup, FlagTyper
from aidledger.cli.output import (
    JsonOption,
    LocaleOption,
    TzOption,
    UrlArgument,
    emit_json,
    flat,
    money_option,
    money_table,
    numbers_in,
    out,
    progress_bar,
    rows_table,
    when,
)
from aidledger.cli.roles import roles as roles_command
from aidledger.core.beneficiaries import Pseudonymizer
from aidledger.core.errors import AidLedgerError, InvalidArgument
from aidledger.core.formatting import check_locale
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.audit import Dimension, Flow
from aidledger.registry.registry import Registry

if TYPE_CHECKING:
    from aidledger.cli.demo import DemoReport
    from aidledger.demo import CampaignPlan
    from aidledger.ledger.results import Reconciliation, Verification
    from aidledger.queries.audit import AuditTotals

DIMENSIONS = [d.value for d in Dimension]

app = FlagTyper(
    name="aidledger",
    cls=FlagGroup,
    help="An append-only, double-entry ledger for aid funds.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(Text(f"aidledger {version('aidledger')}"))
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """An append-only, double-entry ledger for aid funds."""


@app.command()
def demo(
    url: Annotated[str, typer.Argument(help="Where to build the demo ledger.")] = "aidledger-demo.db",
    scale: Annotated[
        str, typer.Option(help="Size of the campaign: 1 is the full motivating case (360,000 families).")
    ] = "1",
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build the motivating aid campaign (donations, payments, food, relief goods, housing) and report on it."""
    from aidledger.cli.demo import run
    from aidledger.demo import CampaignPlan
    from aidledger.queries.audit import audit_totals
    from aidledger.queries.reconcile import reconcile as run_checks

    check_locale(locale)  # an unknown locale is refused before the campaign is built
    plan = CampaignPlan.scaled(scale)
    with Ledger.open(url) as ledger, progress_bar(quiet=as_json) as progress:
        report = run(ledger, plan, progress)
        checks = run_checks(ledger)
        verification = checks.verification
        spent = audit_totals(ledger, flow=Flow.SPENT, by=["fund", "purpose"])
        received = audit_totals(ledger, flow=Flow.RECEIVED, by=["fund", "kind"])
    if as_json:
        emit_json(
            {
                "url": ledger.url,
                "plan": attrs.asdict(plan),
                "entries": verification.entries,
                "verified": verification.ok,
                "digest": verification.digest,
                "reconciliation": printed.reconciliation_dict(checks),
                "spent": spent.as_dict(),
                "received": received.as_dict(),
                "funds": report.funds,
                "foreign_currency": report.foreign,
                "programmes": report.programmes,
                "stock": report.stock,
                "grants": report.grants,
                "budgets": report.budgets,
            }
        )
        if not checks.ok:
            raise typer.Exit(1)
        return
    with numbers_in(locale):
        _print_demo(ledger.url, scale, plan, report, (received, spent), checks, verification)
    if not checks.ok:
        raise typer.Exit(1)


def _print_demo(
    url: str,
    scale: str,
    plan: CampaignPlan,
    report: DemoReport,
    totals: tuple[AuditTotals, AuditTotals],
    checks: Reconciliation,
    verification: Verification,
) -> None:
    """The demo's tables for people: funds, programmes, stock, grants, budgets, totals, checks, the chain."""
    out.print(
        Text.assemble(
            "Ledger ",
            (url, "bold"),
            f": the 2020 campaign at scale {scale} ({plan.households} families, {plan.food_families} food "
            f"deliveries, {plan.medical_workers} medical workers, {plan.relief_tonnes} t of relief goods)",
        )
    )
    rows_table("Funds (net assets, KZT)", report.funds)
    if report.foreign:
        rows_table("Held in other currencies (net assets)", report.foreign)
    rows_table("One-off programmes", report.programmes)
    rows_table("Stock", report.stock)
    rows_table("Housing grants", report.grants)
    if report.budgets:
        rows_table("Budget lines", report.budgets)
    for each in totals:
        printed.print_totals(each)
    printed.print_reconciliation(checks)
    out.print(
        Text(
            f"Hash chain: {verification.entries:,} entries, {'intact' if verification.ok else 'BROKEN'}; "
            f"digest {verification.digest}"
        )
    )


app.command()(log_commands.verify)
app.command()(log_commands.prove)
app.command(name="check-proof")(log_commands.check_proof)


@app.command()
def reconcile(url: UrlArgument, as_json: JsonOption = False) -> None:
    """Check every invariant on the stored data; exit 1 and name each difference if any check fails."""
    from aidledger.queries.reconcile import reconcile as run_checks

    with Ledger.open(url, read_only=True) as ledger:
        result = run_checks(ledger)
    if as_json:
        emit_json(printed.reconciliation_dict(result))
    else:
        printed.print_reconciliation(result)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def report(
    url: UrlArgument,
    by: Annotated[
        str, typer.Option(help="Group totals by these dimensions, comma-separated: " + ", ".join(DIMENSIONS))
    ] = "fund,purpose",
    flow: Annotated[str, typer.Option(help="spent (expenses) or received (revenue).")] = "spent",
    start: Annotated[str | None, typer.Option("--from", help="First day (or time) of the period.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="The day (or time) after the period.")] = None,
    known_at: Annotated[
        str | None, typer.Option("--known-at", help="Only what the ledger had recorded by then (reproduce a report).")
    ] = None,
    through: Annotated[
        str | None, typer.Option("--through", help="Only the entries a digest SEQ:HASH covers (reproduce a report).")
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option(help="Only entries with DIMENSION=VALUE (repeatable), e.g. programme=P1.")
    ] = None,
    fund: Annotated[str | None, typer.Option(help="Print this fund's statement for the period too.")] = None,
    journal: Annotated[
        bool, typer.Option("--journal-tests", help="Run the journal-entry tests too (after close, rare actors, ...).")
    ] = False,
    threshold: Annotated[
        str | None, typer.Option(help="Journal tests: the approval threshold splits hide under, e.g. '100000000 KZT'.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Journal tests: the sample's seed (same seed, same sample).")] = 0,
    sample: Annotated[int, typer.Option(help="Journal tests: how many entries to sample.")] = 25,
    budget: Annotated[bool, typer.Option("--budget", help="Budget against actuals for every budget line too.")] = False,
    tz: TzOption = "UTC",
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """Audit totals, programmes, stock, grants, pledges and exclusion conflicts, from one reading of the ledger.

    With --fund, the fund's statement; with --journal-tests, the journal-entry
    tests and a sample of entries to vouch; with --budget, budget against
    actuals.  A --where filter that matches nothing is named on stderr: a value
    no entry has ever carried is refused (exit 2, with the values that come
    close); a value the ledger knows but that has nothing in the period is
    warned about, and the report is printed (exit 0).
    """
    from aidledger.queries.report import JournalTestOptions, audit_report

    check_locale(locale)  # an unknown locale is refused before anything is read
    window = Window(
        start=when(start, tz, "--from"), end=when(end, tz, "--to"), known_at=when(known_at, tz, "--known-at"),
        through=through,
    )  # fmt: skip
    options = JournalTestOptions(threshold=money_option(threshold), seed=seed, sample_size=sample) if journal else None
    dimensions = [d.strip() for d in by.split(",") if d.strip()]
    with Ledger.open(url, read_only=True) as ledger:
        result = audit_report(
            ledger, window=window, flow=flow, by=dimensions, where=_filters(where), fund=fund, journal=options, tz=tz,
            budget=budget,
        )  # fmt: skip
    for warning in result.warnings:
        sys.stderr.write(f"aidledger: warning: {warning}\n")
    if as_json:
        emit_json(printed.report_dict(result))
    else:
        with numbers_in(locale):
            printed.print_report(result)


def _filters(where: list[str] | None) -> dict[Dimension | str, str]:
    """``--where DIMENSION=VALUE`` options as a filter mapping."""
    filters: dict[Dimension | str, str] = {}
    for item in where or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"--where takes DIMENSION=VALUE, got {item!r}", value=item)
        filters[name.strip()] = value
    return filters


FORMATS = ("beancount", "hledger", "csv", "iati", "html", "pain001")


@app.command()
def export(
    url: UrlArgument,
    format_: Annotated[str, typer.Option("--format", "-f", help="One of: " + ", ".join(FORMATS) + ".")],
    output: Annotated[str, typer.Option("--output", "-o", help="File to write; '-' for standard output.")] = "-",
    tz: TzOption = "UTC",
    reporting_org: Annotated[
        str | None,
        typer.Option(help="IATI: the reporting organisation as REF=NAME, e.g. 'KZ-BIN-123456789012=Kazakhstan Fund'."),
    ] = None,
    org_type: Annotated[str, typer.Option(help="IATI: its OrganisationType code (60 foundation, 22 NGO).")] = "60",
    country: Annotated[str | None, typer.Option(help="IATI: recipient country code, e.g. KZ.")] = None,
    personal_data: Annotated[
        bool,
        typer.Option(
            "--personal-data",
            help="CSV only: add each beneficiary's registry id, name, national id, phone and address from "
            "--registry. The output then holds personal data.",
        ),
    ] = False,
    registry_url: Annotated[
        str | None,
        typer.Option(
            "--registry",
            help="With --personal-data: the registry's database URL. The pseudonym key is read from "
            "AIDLEDGER_PSEUDONYM_KEY or AIDLEDGER_PSEUDONYM_KEY_FILE.",
        ),
    ] = None,
    key_version: Annotated[int, typer.Option(help="With --personal-data: the version of that key.")] = 1,
    summary: Annotated[
        str | None,
        typer.Option(help="Beancount/hledger: a summarised book, one transaction per day, week or month and fund."),
    ] = None,
    by: Annotated[
        str, typer.Option(help="With --summary: dimensions kept apart, comma-separated, e.g. programme,region.")
    ] = "",
    start: Annotated[
        str | None, typer.Option("--from", help="Beancount/hledger/CSV/HTML: first day (or time) of the entries.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Beancount/hledger/CSV/HTML: the day (or time) after them.")
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Beancount: the books' title (Fava shows it); HTML: the report's title.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Beancount/hledger: only entries with DIMENSION=VALUE (repeatable), e.g. programme=P1."),
    ] = None,
    list_code: Annotated[str | None, typer.Option("--list", help="pain001: the approved payment list to pay.")] = None,
    accounts: Annotated[
        str | None, typer.Option(help="pain001: CSV of the payees' accounts, columns reference,iban.")
    ] = None,
    debtor: Annotated[str | None, typer.Option(help="pain001: the paying account as IBAN=NAME.")] = None,
    execution_date: Annotated[str | None, typer.Option(help="pain001: the requested execution date.")] = None,
    pain_version: Annotated[str, typer.Option("--version", help="pain001: 09 (001.001.09) or 03.")] = "09",
    max_lines: Annotated[int | None, typer.Option(help="pain001: at most this many transfers per file.")] = None,
    max_amount: Annotated[
        str | None, typer.Option(help="pain001: at most this much per file, e.g. '100000000 KZT'.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="pain001: who records the file's hash in the ledger.")] = None,
    message_id: Annotated[
        str | None, typer.Option(help="pain001: the file's message id (default: the list's code).")
    ] = None,
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the ledger for another tool: Beancount, hledger, CSV (spreadsheet-safe), IATI 2.03 XML or HTML;
    or a payment list as an ISO 20022 pain.001 file for the bank (-f pain001 --list LIST).

    Beneficiaries appear by pseudonym only, unless --personal-data asks for the registry's data (CSV).
    """
    if locale is not None and format_ != "html":
        raise InvalidArgument(f"--locale is an option of --format html, not {format_}", value=locale)
    check_locale(locale)
    if format_ == "pain001":
        from aidledger.cli.bank import Pain001Options, export_pain001_files

        pain = Pain001Options(
            list_code, accounts, debtor, execution_date, pain_version, max_lines, max_amount, actor, message_id
        )
        export_pain001_files(url, output, pain, tz=tz, as_json=as_json)
        return
    if format_ not in FORMATS:
        raise InvalidArgument(f"unknown format {format_!r}; choose one of {', '.join(FORMATS)}", value=format_)
    keys = _personal_data_keys(format_, personal_data, registry_url, key_version)
    options: dict[str, object] = {
        "tz": tz, "reporting_org": reporting_org, "org_type": org_type, "country": country, "format_": format_,
        "locale": locale,
        "journal": _journal_options(
            format_, summary, by, title, span=start is not None or end is not None, where=_filters(where)
        ),
        "window": Window(start=when(start, tz, "--from"), end=when(end, tz, "--to")),
    }  # fmt: skip
    with (
        Ledger.open(url, read_only=True) as ledger,
        _registry(registry_url, keys) as registry,
        _output(output, binary=format_ == "iati", private=personal_data) as stream,
        progress_bar(quiet=output == "-") as progress,
    ):
        if registry is not None:
            sys.stderr.write(
                f"aidledger: warning: this export holds personal data (registry ids, names, national ids, phone "
                f"numbers, addresses) from the registry {registry.url}; keep it as safe as the registry, and "
                f"delete it when it is no longer needed\n"
            )
        _EXPORTERS[format_](ledger, stream, progress=progress, registry=registry, **options)
    if output != "-":
        sys.stderr.write(f"wrote {format_} to {output}\n")


def _personal_data_keys(
    format_: str, personal_data: bool, registry_url: str | None, key_version: int
) -> Pseudonymizer | None:
    """The pseudonym keys, if (and only if) personal data was asked for properly; else None or InvalidArgument."""
    if not personal_data:
        if registry_url is not None:
            raise InvalidArgument("--registry is read only with --personal-data, which puts personal data in the file")
        return None
    if format_ != "csv":
        raise InvalidArgument(f"--personal-data is for --format csv only, not {format_}", value=format_)
    if registry_url is None:
        raise InvalidArgument("--personal-data needs --registry URL, the registry that holds the personal data")
    return Pseudonymizer.from_environment(key_version)


@contextmanager
def _registry(url: str | None, keys: Pseudonymizer | None) -> Iterator[Registry | None]:
    """The registry (which must exist) when personal data was asked for, else None."""
    if url is None or keys is None:
        yield None
        return
    with Registry.open(url, keys=keys, create=False) as registry:
        yield registry


@contextmanager
def _output(path: str, *, binary: bool, private: bool = False) -> Iterator[Any]:
    """Standard output or a new file, as text (UTF-8, newlines as written) or bytes.

    A ``private`` file (one holding personal data) is readable by its owner only
    (mode 0600, like the ledger), whether it is new or replaces another.
    """
    if path == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
        if private:
            os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode through O_TRUNC: narrow it
        stream = os.fdopen(descriptor, "wb") if binary else os.fdopen(descriptor, "w", encoding="utf-8", newline="")
    except OSError as error:
        raise InvalidArgument(f"cannot write {path!r}: {error.strerror}", path=path) from None
    with stream:
        yield stream


def _export_html(
    ledger: Ledger, out: TextIO, *, tz: str, locale: str | None, journal: dict[str, Any], window: Window, **_: object
) -> object:
    from aidledger.exports.html import export_html

    return export_html(ledger, out, tz=tz, locale=locale, window=window, **journal)


def _export_iati(
    ledger: Ledger, out: BinaryIO, *, reporting_org: str | None, org_type: str, country: str | None, **_: object
) -> object:
    from aidledger.exports.iati import ReportingOrg, export_iati

    ref, sep, name = (reporting_org or "").partition("=")
    if not sep:
        raise InvalidArgument(
            f"IATI needs --reporting-org REF=NAME (e.g. 'KZ-BIN-123456789012=Kazakhstan Fund'), got {reporting_org!r}",
            value=reporting_org,
        )
    summary = export_iati(ledger, out, reporting_org=ReportingOrg(ref.strip(), name.strip(), org_type), country=country)
    if summary.activities == 0:
        sys.stderr.write("aidledger: warning: no programme, project or delivery to report; IATI needs one activity\n")
    return summary


def _journal_options(
    format_: str, summary: str | None, by: str, title: str | None, span: bool, where: dict[Dimension | str, str]
) -> dict[str, Any]:
    """The Beancount/hledger/HTML-only options given, or InvalidArgument if one is given for a format without it
    (``span``: --from or --to was given)."""
    options: dict[str, Any] = {"where": where} if where else {}
    if summary is not None or by:
        options.update(summary=summary, by=[d.strip() for d in by.split(",") if d.strip()])
    if title is not None:
        options["title"] = title
    allowed = {
        "beancount": ("summary", "by", "title", "where"),
        "hledger": ("summary", "by", "where"),
        "html": ("title",),
    }
    for name in [*options, *(["from/--to"] if span and format_ not in ("beancount", "hledger", "csv", "html") else [])]:
        if name not in allowed.get(format_, ()):
            raise InvalidArgument(f"--{name} is not an option of --format {format_}", value=name)
    return options


def _export_journal(
    ledger: Ledger,
    out: TextIO,
    *,
    format_: str,
    progress: Callable[[str, int, int], None],
    registry: Registry | None,
    journal: dict[str, Any],
    window: Window,
    **_: object,
) -> object:
    from aidledger.exports.beancount import export_beancount
    from aidledger.exports.csv import export_csv
    from aidledger.exports.hledger import export_hledger

    if format_ == "csv":
        return export_csv(ledger, out, progress=progress, registry=registry, window=window)
    exporter = {"beancount": export_beancount, "hledger": export_hledger}[format_]
    return exporter(ledger, out, progress=progress, window=window, **journal)


_EXPORTERS: dict[str, Callable[..., object]] = {
    "html": _export_html,
    "iati": _export_iati,
    "beancount": _export_journal,
    "hledger": _export_journal,
    "csv": _export_journal,
}


KINDS = ("statement", "provider-report", "camt053", "camt054", "mt940")


@app.command(name="import")
def import_(
    url: UrlArgument,
    path: Annotated[str, typer.Argument(help="The file to import (CSV, camt XML or MT940).")],
    kind: Annotated[
        str,
        typer.Option("--kind", help="statement (a bank statement CSV), provider-report, camt053, camt054 or mt940."),
    ],
    account: Annotated[str, typer.Option(help="Bank statements: the ledger account they are of.")] = "Assets:Bank:KZT",
    list_code: Annotated[
        str | None, typer.Option("--list", help="provider-report, or a bank file with --settle: the payment list.")
    ] = None,
    days: Annotated[int, typer.Option(help="Bank statements: how many days apart an amount-only match may be.")] = 0,
    currency_code: Annotated[str, typer.Option("--currency", help="Currency of lines that name none.")] = "KZT",
    settle: Annotated[
        bool, typer.Option(help="provider-report or bank file: post the list's settlement (needs --actor and --list).")
    ] = False,
    actor: Annotated[str | None, typer.Option(help="Who settles (with --settle).")] = None,
    donations: Annotated[
        str | None, typer.Option(help="camt053/camt054/mt940: post the statement's credits as donations to FUND.")
    ] = None,
    dialect: Annotated[
        str, typer.Option(help="CSV files: how they are written, 'standard' or 'kazakh-bank' (01.04.2020;765 900,00).")
    ] = "standard",
    tolerance: Annotated[
        str | None, typer.Option(help="Bank statements: how far apart matched amounts may be, e.g. '0.01 KZT'.")
    ] = None,
    tz: TzOption = "UTC",
    as_json: JsonOption = False,
) -> None:
    """Match a bank statement (CSV, camt.053, camt.054 or MT940) or a provider's report (CSV) with the ledger;
    exit 1 on any difference.

    Matching writes nothing.  With --settle, a provider's report (or a bank's
    camt/MT940 file, with --list) is posted as the list's settlement (paid,
    failed, returned), exactly once however often it is run; with --donations
    FUND, a bank file's credits are posted as donations, each exactly once.
    """
    from aidledger.io.provider import read_provider_report
    from aidledger.io.statement import read_statement
    from aidledger.operations.aid import Aid
    from aidledger.queries.matching import match_provider_report, match_statement

    if kind not in KINDS:
        raise InvalidArgument(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}", value=kind)
    if kind in ("camt053", "camt054", "mt940"):
        if settle and list_code is None:
            raise InvalidArgument("--settle needs --list, the payment list the bank file settles")
        from aidledger.cli.bank import import_bank_file

        with progress_bar(quiet=as_json) as progress:
            data, ok = import_bank_file(url, path, kind, account, list_code if settle else None, donations, actor,
                                         tz=tz, days=days, tolerance=money_option(tolerance, "--tolerance"),
                                         progress=progress)  # fmt: skip
    elif kind == "statement":
        lines = read_statement(path, currency_code=currency_code, dialect=dialect)
        with Ledger.open(url, read_only=True) as ledger:
            result = match_statement(ledger, lines, account=account, tz=tz, days=days,
                                     tolerance=money_option(tolerance, "--tolerance"))  # fmt: skip
        data = result.as_dict()
        ok = result.ok
    else:
        if list_code is None:
            raise InvalidArgument("a provider report needs --list, the payment list it reports on")
        report_lines = read_provider_report(path, currency_code=currency_code, dialect=dialect)
        with Ledger.open(url, create=False, read_only=not settle) as ledger:
            aid = Aid(ledger)
            if settle:
                if not actor:
                    raise InvalidArgument("--settle needs --actor, the person who settles the list")
                settled = aid.settle(list_code, report_lines, actor=actor, on=pendulum.now("UTC"))
                data = {
                    "list": list_code,
                    "posted": len(settled.entries),
                    "paid": len(settled.paid),
                    "failed": len(settled.failed),
                    "returned": len(settled.returned),
                    "unmatched": [x.line for x in settled.unmatched],
                    "mismatched": [x.line.line for x in settled.mismatched],
                    "duplicates": [x.line for x in settled.duplicates],
                    "outstanding": len(settled.outstanding),
                }
                ok = not (settled.unmatched or settled.mismatched)
            else:
                match = match_provider_report(ledger, list_code, report_lines)
                data, ok = match.as_dict(), match.ok
    if as_json:
        emit_json(data)
    else:
        _print_match(data)
        out.print(Text("OK: everything matches" if ok else "NOT OK: differences above"))
    if not ok:
        raise typer.Exit(1)


def _print_match(data: dict[str, Any]) -> None:
    for name, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            money_table(name.replace("_", " "), list(value[0]), [[flat(v) for v in row.values()] for row in value])
        elif isinstance(value, list):
            out.print(Text(f"{name.replace('_', ' ')}: {', '.join(map(str, value)) or 'none'}"))
        else:
            out.print(Text(f"{name.replace('_', ' ')}: {value}"))


app.command()(log_commands.migrate)
app.command(name="roles")(roles_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``aidledger`` command."""
    try:
        # Without standalone mode the parser returns an Exit's status instead of exiting.
        status = app(args=argv, standalone_mode=False, prog_name="aidledger")
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except AidLedgerError as error:
        sys.stderr.write(f"aidledger: {type(error).__name__}: {error}\n")
        sys.exit(2)
    except Exception as error:  # noqa: BLE001 - the command never shows a traceback
        show = getattr(error, "show", None)
        if callable(show):  # a usage error from the command-line parser
            show()
            sys.exit(int(getattr(error, "exit_code", 2)))
        sys.stderr.write(f"aidledger: unexpected {type(error).__name__}: {error}\n")
        sys.exit(3)
    sys.exit(status if isinstance(status, int) else 0)
