"""Reading a payment provider's report (CSV) into :class:`ProviderLine` values.

The report has a header row with at least ``reference``, ``status`` and
``amount`` (and optionally ``currency``); statuses are ``paid``, ``failed`` or
``returned``. Every problem names the file's line number and the offending
value, and nothing is settled from a report that does not read cleanly.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, TextIO

from aidledger.core.amounts import Money, currency, to_decimal
from aidledger.core.errors import AidLedgerError, InvalidAmount, MalformedFile
from aidledger.io.csvfile import CsvDialect, dialect_of, read_csv
from aidledger.vocabulary import PaymentStatus, ProviderLine

REQUIRED = ("reference", "status", "amount")


def read_provider_report(
    source: str | Path | TextIO | BinaryIO, *, currency_code: str = "KZT", dialect: CsvDialect | str | None = None
) -> list[ProviderLine]:
    """The lines of a provider report, from a file path or an open text file (``io.StringIO`` for text).

    ``dialect`` is how the file writes its fields and amounts (see :class:`CsvDialect`).

    Raises MalformedFile naming the line for an unreadable encoding, a missing
    column, an unknown status, an amount that is not an exact number or has
    more decimals than the currency allows, and an over-long line.
    """
    default = currency(currency_code).code
    rules = dialect_of(dialect)

    def parse(name: str, number: int, cells: dict[str, str]) -> ProviderLine:
        reference, status_text = cells["reference"], cells["status"].lower()
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
        text = rules.amount(name, number, cells["amount"])
        amount = parse_money(name, number, text, cells.get("currency", "").upper() or default, shown=cells["amount"])
        if amount.value <= 0:
            raise MalformedFile(
                f"{name} line {number}: amount {cells['amount']!r} is not positive (a provider reports what it paid, "
                f"failed or returned, each as a positive amount)",
                line=number,
                value=cells["amount"],
            )
        return ProviderLine(reference, status, amount, line=number)

    return read_csv(source, "report", REQUIRED, ("currency",), parse, delimiter=rules.delimiter)


def parse_money(name: str, number: int, text: str, code: str, *, shown: str | None = None) -> Money:
    """``text`` as exact Money in currency ``code``, or MalformedFile naming the line and value.

    The text is read by the one rule for amounts (:func:`aidledger.core.amounts.to_decimal`):
    plain ASCII digits with an optional '-' and decimal point.  ``shown`` is the
    amount as the file wrote it (before a dialect made it plain), for the message.
    """
    written = text if shown is None else shown
    try:
        value = to_decimal(text)
    except InvalidAmount:
        raise MalformedFile(
            f"{name} line {number}: amount {written!r} is not a number (write digits with an optional '-' and '.', "
            f"such as 50000.00)",
            line=number,
            value=written,
        ) from None
    try:
        return Money(value, currency(code))
    except AidLedgerError as error:
        raise MalformedFile(f"{name} line {number}: {error}", line=number, value=written) from None
