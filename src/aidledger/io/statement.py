"""Reading a bank statement (CSV) into :class:`BankLine` values.

The statement has a header row with at least ``date`` and ``amount``, and
optionally ``reference``, ``description`` and ``currency``.  Amounts are
signed: money into the account positive, money out negative.  Dates are ISO
dates (``2020-04-01``); a time after the date is ignored.  Every problem names
the file's line number and the offending value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import BinaryIO, TextIO

from aidledger.core.amounts import currency
from aidledger.core.errors import MalformedFile
from aidledger.io.csvfile import read_csv
from aidledger.io.provider import parse_money
from aidledger.queries.matching import BankLine

REQUIRED = ("date", "amount")
OPTIONAL = ("reference", "description", "currency")


def read_statement(source: str | Path | TextIO | BinaryIO, *, currency_code: str = "KZT") -> list[BankLine]:
    """The lines of a bank statement, from a file path or an open file.

    Raises MalformedFile naming the line for an unreadable encoding, a missing
    column, a date that is not an ISO date, an amount that is not an exact
    number or has more decimals than the currency allows, and an over-long line.
    """
    default = currency(currency_code).code

    def parse(name: str, number: int, cells: dict[str, str]) -> BankLine:
        text = cells["date"]
        try:
            date = dt.date.fromisoformat(text[:10])
        except ValueError:
            raise MalformedFile(
                f"{name} line {number}: date {text!r} is not an ISO date like 2020-04-01", line=number, value=text
            ) from None
        amount = parse_money(name, number, cells["amount"], cells.get("currency", "").upper() or default)
        if amount.value == 0:
            raise MalformedFile(f"{name} line {number}: the amount is zero", line=number, value=cells["amount"])
        return BankLine(
            date=date,
            amount=amount,
            reference=cells.get("reference", ""),
            description=cells.get("description", ""),
            line=number,
        )

    return read_csv(source, "statement", REQUIRED, OPTIONAL, parse)
