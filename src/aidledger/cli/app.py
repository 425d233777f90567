"""Command definitions.  Every command takes a database URL (or a SQLite path).

Errors never show a traceback: a refused or failed operation prints one line
naming the offending value on stderr and exits with status 2; a ledger that
does not verify exits with status 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any

import attrs
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from aidledger.core.errors import AidLedgerError
from aidledger.ledger.ledger import Ledger

app = typer.Typer(
    name="aidledger",
    help="An append-only, double-entry ledger for aid funds.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Stored text is data: no emoji codes (":bank:" is part of account names), no markup, no guessing.
# Piped output is not cut to 80 columns.
out = Console(soft_wrap=True, emoji=False, highlight=False, width=None if sys.stdout.isatty() else 160)

UrlArgument = Annotated[
    str, typer.Argument(help="Database URL (sqlite:///file.db, postgresql://...) or a SQLite path.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]


def _emit_json(data: Any) -> None:
    """JSON on stdout; exact amounts (Decimal) are written as strings, never as floats."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_plain) + "\n")


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@app.command()
def demo(
    url: Annotated[str, typer.Argument(help="Where to build the demo ledger.")] = "aidledger-demo.db",
    scale: Annotated[
        str, typer.Option(help="Size of the campaign: 1 is the full motivating case (360,000 families).")
    ] = "1",
    as_json: JsonOption = False,
) -> None:
    """Build the motivating aid campaign (donations, payments, food, relief goods, housing) and report on it."""
    from aidledger.cli.demo import run
    from aidledger.operations.campaign import CampaignPlan

    plan = CampaignPlan.scaled(scale)
    with Ledger.open(url) as ledger, _progress(quiet=as_json) as progress:
        report = run(ledger, plan, progress)
        verification = ledger.verify()
        trial = ledger.trial_balance()
    if as_json:
        _emit_json(
            {
                "url": ledger.url,
                "plan": attrs.asdict(plan),
                "entries": verification.entries,
                "verified": verification.ok,
                "balanced": trial.balanced,
                "funds": report.funds,
                "programmes": report.programmes,
                "stock": report.stock,
                "grants": report.grants,
            }
        )
        return
    out.print(
        Text.assemble(
            "Ledger ",
            (ledger.url, "bold"),
            f": the 2020 campaign at scale {scale} ({plan.households} families, {plan.food_families} food "
            f"deliveries, {plan.medical_workers} medical workers, {plan.relief_tonnes} t of relief goods)",
        )
    )
    _table("Funds (net assets, KZT)", report.funds)
    _table("One-off programmes", report.programmes)
    _table("Stock", report.stock)
    _table("Housing grants", report.grants)
    totals = ", ".join(f"{code}: {amount}" for code, amount in trial.totals.items())
    out.print(Text(f"Trial balance per unit: {totals} — {'balanced' if trial.balanced else 'NOT BALANCED'}"))
    out.print(
        Text(
            f"Hash chain: {verification.entries} entries, {'intact' if verification.ok else 'BROKEN'}; "
            f"head {verification.head_seq}:{verification.head_hash[:16]}"
        )
    )


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    """Rows as a table: text left, numbers right with thousands separators, booleans as yes/NO."""
    table = Table(title=title)
    for column, value in rows[0].items():
        numeric = isinstance(value, Decimal | int) and not isinstance(value, bool)
        table.add_column(column.replace("_kzt", " (KZT)").replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(Text(_cell(value)) for value in row.values()))
    out.print(table)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, Decimal | int):
        return f"{value:,}"
    return str(value)


@contextmanager
def _progress(*, quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr (so that --json output stays clean), or nothing."""
    if quiet or not sys.stderr.isatty():
        yield lambda stage, done, total: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:  # fmt: skip
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield update


@app.command()
def verify(
    url: UrlArgument,
    digest: Annotated[
        str | None,
        typer.Option(help="A digest printed by an earlier verify: prove nothing up to that entry changed since."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain; exit 1 and name the first broken link if anything was changed."""
    with Ledger.open(url) as ledger:
        result = ledger.verify(digest)
    if as_json:
        brk = result.first_break
        _emit_json(
            {
                "ok": result.ok,
                "entries": result.entries,
                "head_seq": result.head_seq,
                "head_hash": result.head_hash,
                "digest": result.digest,
                "first_break": None
                if brk is None
                else {
                    "seq": brk.seq,
                    "entry_id": brk.entry_id,
                    "problem": brk.problem,
                    "expected": brk.expected,
                    "found": brk.found,
                },
            }
        )
    elif result.ok:
        checked = f"; matches digest {digest.strip()[:24]}…" if digest else ""
        out.print(Text(f"OK: {result.entries} entries, chain intact{checked}"))
        out.print(Text(f"Digest (keep it outside the database): {result.digest}"))
    else:
        assert result.first_break is not None
        brk = result.first_break
        out.print(
            Text.assemble(("BROKEN", "bold red"), f" at entry {brk.seq} ({brk.entry_id or 'no id'}): {brk.problem}")
        )
        if brk.expected or brk.found:
            out.print(Text(f"  expected {brk.expected}\n  found    {brk.found}"))
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def reconcile(url: UrlArgument, as_json: JsonOption = False) -> None:
    """Check every invariant on the stored data; exit 1 and name each difference if any check fails."""
    from aidledger.queries.reconcile import reconcile as run_checks

    with Ledger.open(url) as ledger:
        result = run_checks(ledger)
    if as_json:
        _emit_json(
            {
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
        )
    else:
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
    if not result.ok:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``aidledger`` command."""
    try:
        # Without standalone mode the parser returns an Exit's status instead of exiting.
        status = app(args=argv, standalone_mode=False)
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
