"""Reading a payment provider's report (CSV) into :class:`ProviderLine` values.

The report has a header row with at least ``reference``, ``status`` and
``amount`` (and optionally ``currency``); statuses are ``paid``, ``failed`` or
``returned``. Every problem names the file's line number and the offending
value, and nothing is settled from a report that does not read cleanly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO, TextIO

from aidledger.core.amounts import Money, currency
from aidledger.core.errors import AidLedgerError, MalformedFile
from aidledger.operations.payments import PaymentStatus, ProviderLine

REQUIRED = ("reference", "status", "amount")
MAX_LINE = 10_000  # characters; a provider's line is a few dozen


def read_provider_report(source: str | Path | TextIO, *, currency_code: str = "KZT") -> list[ProviderLine]:
    """The lines of a provider report, from a file path or an open text file (``io.StringIO`` for text).

    Raises MalformedFile naming the line for an unreadable encoding, a missing
    column, an unknown status, an amount that is not an exact number or has
    more decimals than the currency allows, and an over-long line.
    """
    default = currency(currency_code)
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            with path.open("rb") as stream:
                return list(_lines(path.name, stream, default.code))
        except OSError as error:
            raise MalformedFile(f"cannot read the report {str(path)!r}: {error.strerror}", path=str(path)) from None
    if not hasattr(source, "readline"):
        raise MalformedFile(f"a report is a file path or an open text file, got {source!r}", value=source)
    return list(_lines(getattr(source, "name", "report"), source, default.code))


def _lines(name: str, stream: TextIO | BinaryIO, default_currency: str) -> Iterator[ProviderLine]:
    reader = csv.reader(_checked(name, stream))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise MalformedFile(f"{name} line 1: {error}", line=1) from None
    if header is None:
        raise MalformedFile(f"{name} is empty: expected a header with {', '.join(REQUIRED)}", line=1)
    columns = [column.strip().lower() for column in header]
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise MalformedFile(
            f"{name} line 1: missing column(s) {', '.join(missing)} (found {', '.join(columns) or 'none'})", line=1
        )
    where = {column: columns.index(column) for column in (*REQUIRED, "currency") if column in columns}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise MalformedFile(f"{name} line {reader.line_num}: {error}", line=reader.line_num) from None
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise MalformedFile(
                f"{name} line {number}: expected {len(columns)} fields, found {len(row)}", line=number, row=row
            )
        yield _line(name, number, row, where, default_currency)


def _line(name: str, number: int, row: list[str], where: dict[str, int], default_currency: str) -> ProviderLine:
    reference = row[where["reference"]].strip()
    status_text = row[where["status"]].strip().lower()
    amount_text = row[where["amount"]].strip()
    code = row[where["currency"]].strip().upper() if "currency" in where else default_currency
    if not reference:
        raise MalformedFile(f"{name} line {number}: the reference is empty", line=number)
    try:
        status = PaymentStatus(status_text)
    except ValueError:
        raise MalformedFile(
            f"{name} line {number}: status {status_text!r} is not one of paid, failed, returned",
            line=number,
            value=status_text,
        ) from None
    try:
        value = Decimal(amount_text)
    except InvalidOperation:
        raise MalformedFile(
            f"{name} line {number}: amount {amount_text!r} is not a number", line=number, value=amount_text
        ) from None
    try:
        return ProviderLine(reference, status, Money(value, currency(code)), line=number)
    except AidLedgerError as error:
        raise MalformedFile(f"{name} line {number}: {error}", line=number, value=amount_text) from None


def _checked(name: str, stream: TextIO | BinaryIO) -> Iterator[str]:
    """The file's lines as text, refusing undecodable bytes, NULs and over-long lines with their line number.

    A binary stream is decoded line by line (UTF-8, with or without a byte-order
    mark), so an encoding error names the line it is on.
    """
    number = 0
    while True:
        number += 1
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE and raw[-1:] not in ("\n", b"\n"):
            raise MalformedFile(f"{name} line {number}: longer than {MAX_LINE} characters", line=number)
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise MalformedFile(
                    f"{name} line {number}: not UTF-8 text ({error.reason} at byte {error.start})", line=number
                ) from None
        else:
            line = raw
        if "\x00" in line:
            raise MalformedFile(f"{name} line {number}: contains a NUL character", line=number)
        yield line
