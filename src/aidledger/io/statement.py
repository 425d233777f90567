"""Reading a bank statement (CSV) into :class:`BankLine` values.

The statement has a header row with at least ``date`` and ``amount``, and
optionally ``reference``, ``description`` and ``currency``.  Amounts are
signed: money into the account positive, money out negative.  Dates are ISO
dates (``2020-04-01``; a time after the date is ignored), or as the file's
:class:`~aidledger.io.csvfile.CsvDialect` writes them.  Every problem names
the file's line number and the offending value.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, TextIO

from aidledger.core.amounts import currency
from aidledger.core.errors import MalformedFile
from aidledger.io.csvfile import CsvDialect, dialect_of, read_csv
from aidledger.io.provider import parse_money
from aidledger.queries.matching import BankLine

REQUIRED = ("date", "amount")
OPTIONAL = ("reference", "description", "currency")


def read_statement(
    source: str | Path | TextIO | BinaryIO, *, currency_code: str = "KZT", dialect: CsvDialect | str | None = None
) -> list[BankLine]:
    """The lines of a bank statement, from a file path or an open file, written in ``dialect``.

    ``dialect`` is a :class:`CsvDialect` or the name of one (``"kazakh-bank"``
    reads ``01.04.2020;765 900,00``); by default commas, decimal points and ISO
    dates.  Raises MalformedFile naming the line for an unreadable encoding, a
    missing column, a date the dialect does not read, an amount that is
    ambiguous in the dialect, not an exact number or has more decimals than the
    currency allows, and an over-long line.
    """
    default = currency(currency_code).code
    rules = dialect_of(dialect)

    def parse(name: str, number: int, cells: dict[str, str]) -> BankLine:
        date = rules.date(name, number, cells["date"])
        text = rules.amount(name, number, cells["amount"])
        amount = parse_money(name, number, text, cells.get("currency", "").upper() or default, shown=cells["amount"])
        if amount.value == 0:
            raise MalformedFile(f"{name} line {number}: the amount is zero", line=number, value=cells["amount"])
        return BankLine(
            date=date,
            amount=amount,
            reference=cells.get("reference", ""),
            description=cells.get("description", ""),
            line=number,
        )

    return read_csv(source, "statement", REQUIRED, OPTIONAL, parse, delimiter=rules.delimiter)
