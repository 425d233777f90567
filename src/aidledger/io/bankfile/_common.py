"""What the bank file readers share: getting the bytes of a file, and turning amount text into exact Money."""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

from aidledger.core.amounts import Money, currency
from aidledger.core.errors import AidLedgerError, MalformedFile

#: Largest bank file read (bytes): a day's statement for 360,000 payments is well under this.
MAX_FILE_BYTES = 256 * 1024 * 1024

#: ISO 20022 amounts have at most 18 digits in all; the ledger holds at most 18 digits of minor units.
MAX_DIGITS = 18

_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)

Source = str | Path | bytes | BinaryIO


def load(source: Source, what: str) -> tuple[str, bytes]:
    """The name and the bytes of ``source``: a path, the file's bytes, or an open binary file."""
    if isinstance(source, bytes):
        return what, source
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            with path.open("rb") as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise MalformedFile(f"cannot read the {what} {str(path)!r}: {error.strerror}", path=str(path)) from None
        name = path.name
    elif hasattr(source, "read"):
        data = source.read(MAX_FILE_BYTES + 1)
        name = Path(str(getattr(source, "name", what))).name
        if not isinstance(data, bytes):
            raise MalformedFile(f"the {what} must be opened in binary mode ('rb')", value=name)
    else:
        raise MalformedFile(f"a {what} is a file path, bytes or an open binary file, got {source!r}", value=source)
    if len(data) > MAX_FILE_BYTES:
        raise MalformedFile(f"{name} is larger than {MAX_FILE_BYTES} bytes", path=name)
    return name, data


def parse_amount(name: str, line: int, text: str, code: str | None, *, what: str = "amount") -> Money:
    """``text`` (plain digits with an optional '.') as exact Money in currency ``code``, or MalformedFile.

    Refused, each naming the file, line and value: a sign or other characters,
    more than :data:`MAX_DIGITS` digits, more decimals than the currency has,
    and a missing or unknown currency.
    """
    where = f"{name} line {line}"
    if not _AMOUNT.fullmatch(text):
        raise MalformedFile(f"{where}: {what} {text!r} is not a plain positive decimal number", line=line, value=text)
    digits = len(text.replace(".", "").lstrip("0"))
    if digits > MAX_DIGITS:
        raise MalformedFile(
            f"{where}: {what} {text!r} has {digits} digits, more than the {MAX_DIGITS} allowed", line=line, value=text
        )
    if not code:
        raise MalformedFile(f"{where}: {what} {text!r} has no currency", line=line, value=text)
    try:
        return Money(text, currency(code))
    except AidLedgerError as error:
        raise MalformedFile(f"{where}: {what} {text!r} {code}: {error}", line=line, value=text) from None
