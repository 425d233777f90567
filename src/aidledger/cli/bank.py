"""The command's bank-file parts: ``export -f pain001`` and ``import --kind camt053|camt054|mt940``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from rich.text import Text

from aidledger.cli.output import emit_json, money_option, money_table, out, progress_bar, when
from aidledger.core.amounts import Money
from aidledger.core.errors import InvalidArgument
from aidledger.io.banking import (
    PAIN001_VERSIONS,
    export_pain001,
    post_credits,
    read_bank_file,
    read_payee_accounts,
    settle_statement,
    statement_lines,
    write_files,
)
from aidledger.ledger.ledger import Ledger
from aidledger.operations.aid import Aid
from aidledger.queries.matching import match_statement


@attrs.frozen
class Pain001Options:
    """The options of ``export -f pain001``."""

    list_code: str | None
    accounts: str | None
    debtor: str | None
    execution_date: str | None
    version: str
    max_lines: int | None
    max_amount: str | None
    actor: str | None
    message_id: str | None = None


def export_pain001_files(url: str, output: str, options: Pain001Options, *, tz: str, as_json: bool) -> None:
    """Write a list's pain.001 file(s), recording each file's SHA-256 in the ledger first.

    The files' creation time is the one recorded when the message id was exported before (so the same list
    exported again under the same ``--message-id`` gives the same bytes), else now.  Progress goes to a
    terminal's stderr, never with ``--json``.
    """
    missing = [name for name, value in (("--list", options.list_code), ("--accounts", options.accounts),
               ("--debtor", options.debtor), ("--execution-date", options.execution_date), ("--actor", options.actor),
               ("--output", None if output == "-" else output)) if not value]  # fmt: skip
    if missing:
        raise InvalidArgument(f"-f pain001 needs {', '.join(missing)}", missing=missing)
    if options.version not in PAIN001_VERSIONS:
        raise InvalidArgument(f"--version must be 09 or 03, got {options.version!r}", value=options.version)
    iban, sep, name = str(options.debtor).partition("=")
    if not sep:
        raise InvalidArgument(f"--debtor takes IBAN=NAME, got {options.debtor!r}", value=options.debtor)
    execution = when(options.execution_date, tz, "--execution-date")
    limit = money_option(options.max_amount, "--max-amount")
    accounts = read_payee_accounts(str(options.accounts))
    with Ledger.open(url, create=False) as ledger, progress_bar(quiet=as_json) as progress:
        files = export_pain001(
            ledger, str(options.list_code), actor=str(options.actor), version=PAIN001_VERSIONS[options.version],
            max_lines=options.max_lines, max_amount=limit, accounts=accounts, debtor_iban=iban.strip(),
            debtor_name=name.strip(), execution_date=None if execution is None else execution.date(),
            message_id=options.message_id, progress=progress,
        )  # fmt: skip
    paths = write_files(files, output)
    rows = [
        {"file": str(path), "message_id": f.message_id, "transactions": f.number_of_transactions,
         "control_sum": f"{f.control_sum:f}", "sha256": f.sha256}
        for path, f in zip(paths, files.files, strict=True)
    ]  # fmt: skip
    if as_json:
        emit_json({"list": files.list_code, "files": rows})
    else:
        money_table(f"pain.001 files of list {files.list_code}", list(rows[0]), [list(row.values()) for row in rows])
        out.print(Text("Each file's SHA-256 is recorded in the ledger (record kind payment-file)."))


def import_bank_file(
    url: str,
    path: str,
    kind: str,
    account: str,
    settle_list: str | None,
    fund: str | None,
    actor: str | None,
    *,
    tz: str,
    days: int,
    tolerance: Money | None,
    progress: Callable[[str, int, int], None],
) -> tuple[dict[str, Any], bool]:
    """Read a bank file; settle a list from it and post its credits if asked; match it with the account."""
    statements = read_bank_file(path, kind)
    writes = settle_list is not None or fund is not None
    steps = 1 + (settle_list is not None) + (fund is not None) + (not writes)
    progress(f"{kind} {path}", 1, steps)
    if writes and not actor:
        raise InvalidArgument("--settle and --donations need --actor, the person who posts")
    data: dict[str, Any] = {}
    ok = True
    with Ledger.open(url, create=False, read_only=not writes) as ledger:
        if settle_list is not None:
            settled = settle_statement(Aid(ledger), settle_list, statements, actor=str(actor), tz=tz)
            data |= {"list": settle_list, "posted": len(settled.entries), "paid": len(settled.paid),
                     "failed": len(settled.failed), "returned": len(settled.returned),
                     "mismatched": [x.line.line for x in settled.mismatched],
                     "duplicates": len(settled.duplicates), "outstanding": len(settled.outstanding)}  # fmt: skip
            ok = not settled.mismatched
            progress(f"{kind} {path}", 2, steps)
        if fund is not None:
            data["donations"] = len(post_credits(Aid(ledger), statements, fund=fund, actor=str(actor), tz=tz))
        if not writes:
            match = match_statement(
                ledger, statement_lines(statements), account=account, tz=tz, days=days, tolerance=tolerance
            )
            data, ok = match.as_dict(), match.ok
    progress(f"{kind} {path}", steps, steps)
    return data, ok
