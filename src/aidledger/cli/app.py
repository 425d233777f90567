"""Command definitions.  Every command takes a database URL (or a SQLite path).

Errors never show a traceback: a refused or failed operation prints one line
naming the offending value on stderr and exits with status 2; a ledger that
does not verify exits with status 1.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
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
out = Console(soft_wrap=True, emoji=False, highlight=False)

UrlArgument = Annotated[
    str, typer.Argument(help="Database URL (sqlite:///file.db, postgresql://...) or a SQLite path.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command()
def demo(
    url: Annotated[str, typer.Argument(help="Where to build the demo ledger.")] = "aidledger-demo.db",
    as_json: JsonOption = False,
) -> None:
    """Build a small aid ledger (donations, payments to households) and print its balances."""
    from aidledger.cli.demo import run

    with Ledger.open(url) as ledger:
        summary = run(ledger)
        verification = ledger.verify()
        trial = ledger.trial_balance()
    if as_json:
        _emit_json(
            {
                "url": ledger.url,
                "entries": verification.entries,
                "verified": verification.ok,
                "balanced": trial.balanced,
                "balances": [
                    {
                        "account": line.account.code,
                        "fund": line.fund.code,
                        "balance": str(line.balance.value),
                        "unit": line.balance.unit.code,
                    }
                    for line in trial.lines
                ],
            }
        )
        return
    out.print(Text.assemble("Ledger ", (ledger.url, "bold"), f": {summary}"))
    table = Table(title="Trial balance (debits positive)")
    for column in ("account", "fund", "balance"):
        table.add_column(column, justify="right" if column == "balance" else "left")
    for line in trial.lines:
        table.add_row(Text(line.account.code), Text(line.fund.code), Text(str(line.balance)))
    out.print(table)
    totals = ", ".join(f"{code}: {amount}" for code, amount in trial.totals.items())
    out.print(Text(f"Totals per unit: {totals} — {'balanced' if trial.balanced else 'NOT BALANCED'}"))
    out.print(
        Text(
            f"Hash chain: {verification.entries} entries, {'intact' if verification.ok else 'BROKEN'}; "
            f"head {verification.head_seq}:{verification.head_hash[:16]}"
        )
    )


@app.command()
def verify(url: UrlArgument, as_json: JsonOption = False) -> None:
    """Recompute the hash chain; exit 1 and name the first broken link if anything was changed."""
    with Ledger.open(url) as ledger:
        result = ledger.verify()
    if as_json:
        brk = result.first_break
        _emit_json(
            {
                "ok": result.ok,
                "entries": result.entries,
                "head_seq": result.head_seq,
                "head_hash": result.head_hash,
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
        out.print(Text(f"OK: {result.entries} entries, chain intact; head {result.head_seq}:{result.head_hash}"))
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
