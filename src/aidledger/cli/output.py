"""What the ``aidledger`` command's subcommands share: the console, JSON, tables, progress, and their options.

Stored text is printed as data: no emoji codes, no markup, no guessing.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Annotated, Any

import attrs
import pendulum
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from aidledger.core.amounts import Amount, Money
from aidledger.core.errors import AidLedgerError, InvalidArgument
from aidledger.core.formatting import check_locale, format_amount, format_number

#: How wide tables are when standard output is not a terminal and ``COLUMNS`` is not set.
PIPED_WIDTH = 160


def output_width() -> int | None:
    """The width of printed tables: ``COLUMNS`` if it is set, else the terminal's, else :data:`PIPED_WIDTH`.

    ``None`` lets the console take ``COLUMNS`` or the terminal's width itself.
    """
    columns = os.environ.get("COLUMNS", "").strip()
    if (columns.isdigit() and int(columns) > 0) or sys.stdout.isatty():
        return None
    return PIPED_WIDTH


# Stored text is data: no emoji codes (":bank:" is part of account names), no markup, no guessing.
# Piped output is not cut to 80 columns unless COLUMNS asks for it.
out = Console(soft_wrap=True, emoji=False, highlight=False, width=output_width())

UrlArgument = Annotated[
    str, typer.Argument(help="Database URL (sqlite:///file.db, postgresql://...) or a SQLite path.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]


def emit_json(data: Any) -> None:
    """JSON on stdout; exact amounts (Decimal) are written as strings, never as floats."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=plain) + "\n")


def plain(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def rows_table(title: str, rows: list[dict[str, Any]]) -> None:
    """Rows as a table: text left, numbers right with thousands separators, booleans as yes/NO."""
    table = Table(title=title)
    for column, value in rows[0].items():
        numeric = isinstance(value, Decimal | int) and not isinstance(value, bool)
        table.add_column(column.replace("_kzt", " (KZT)").replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(Text(cell(value)) for value in row.values()))
    out.print(table)


def cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, Decimal | int):
        return format_number(value, locale=_LOCALE.get())
    if isinstance(value, Amount):
        return money_text(value)
    return str(value)


# The locale the running command writes numbers in (its --locale option); None: 1,234,567.50 KZT.
_LOCALE: ContextVar[str | None] = ContextVar("aidledger_cli_locale", default=None)

LocaleOption = Annotated[
    str | None,
    typer.Option(
        "--locale",
        help="Write amounts as this locale does, e.g. kk_KZ or ru_KZ (1 234 567,50 ₸), en_US, de_DE; "
        "by default 1,234,567.50 KZT.",
    ),
]


@contextmanager
def numbers_in(locale: str | None) -> Iterator[None]:
    """Tables and totals printed inside are written in ``locale`` (InvalidArgument if Babel does not know it)."""
    token = _LOCALE.set(check_locale(locale))
    try:
        yield
    finally:
        _LOCALE.reset(token)


def money_text(amount: Amount) -> str:
    """An amount as the running command writes amounts: ``1,234,567.50 KZT``, or in its --locale."""
    return format_amount(amount, locale=_LOCALE.get())


def count_text(number: int) -> str:
    """A count as the running command writes numbers: ``1,234``, or in its --locale."""
    return format_number(number, locale=_LOCALE.get())


@contextmanager
def progress_bar(*, quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
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


def when(text: str | None, tz: str, what: str) -> pendulum.DateTime | None:
    """An ISO date or time from the command line; a date or a time without offset is read in ``tz``."""
    if text is None:
        return None
    try:
        parsed = pendulum.parse(text, tz=tz, exact=False)
    except Exception:  # noqa: BLE001 - any parse failure is the user's value
        parsed = None
    if not isinstance(parsed, pendulum.DateTime):
        raise InvalidArgument(
            f"{what} {text!r} is not an ISO date or time like 2020-04-01 or 2020-04-01T09:00+06:00", value=text
        )
    return parsed


def money_table(title: str, columns: list[str], rows: list[list[object]], *, if_any: bool = False) -> None:
    """Rows as a table: numbers right, text left; ``if_any``: nothing at all when there are no rows."""
    if if_any and not rows:
        return
    table = Table(title=title)
    numeric = [bool(rows) and isinstance(rows[0][i], Decimal | int) for i in range(len(columns))]
    for column, right in zip(columns, numeric, strict=True):
        table.add_column(column, justify="right" if right else "left")
    for row in rows:
        table.add_row(*(Text(cell(value)) for value in row))
    out.print(table)


TzOption = Annotated[str, typer.Option("--tz", help="Time zone for dates and months (e.g. Asia/Almaty).")]


def plain_attrs(value: object) -> Any:
    """An attrs value as JSON-ready data: amounts as exact decimal strings with their unit."""
    if isinstance(value, Amount):
        return f"{value.value:f} {value.unit.code}"
    if attrs.has(type(value)):
        return {name: plain_attrs(getattr(value, name)) for name in attrs.fields_dict(type(value))}  # type: ignore[arg-type]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain_attrs(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_attrs(v) for v in value]
    return value


def flat(value: object) -> object:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "" if value is None else value


def money_option(text: str | None, what: str = "--threshold") -> Money | None:
    """A command-line amount like '100000000 KZT' (option ``what``)."""
    if text is None:
        return None
    value, _, code = text.strip().partition(" ")
    try:
        return Money(value.replace(",", ""), code.strip() or "KZT")
    except AidLedgerError as error:
        raise InvalidArgument(f"{what} {text!r}: {error}", value=text) from None


__all__ = [
    "JsonOption",
    "LocaleOption",
    "TzOption",
    "UrlArgument",
    "cell",
    "count_text",
    "emit_json",
    "flat",
    "money_option",
    "money_table",
    "money_text",
    "numbers_in",
    "out",
    "plain_attrs",
    "progress_bar",
    "rows_table",
    "when",
]
