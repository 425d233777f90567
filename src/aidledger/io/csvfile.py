"""Reading CSV files to import, line by line, with every problem named by its line number.

Shared by the provider report and the bank statement readers: the file is a
path or an open text or binary file; it must be UTF-8 (a byte-order mark is
allowed), hold no NUL character and no line longer than ``MAX_LINE``, and have
a header naming the required columns (in any order and case).

A :class:`CsvDialect` says how a bank writes its exports: the delimiter, the
decimal mark, the thousands separator and the order of a date's parts.  The
preset ``kazakh-bank`` (:data:`DIALECTS`) reads ``01.04.2020;765 900,00``.
Anything a dialect leaves ambiguous is refused with its line, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO, TypeVar

import attrs

from aidledger.core.errors import InvalidArgument, MalformedFile

T = TypeVar("T")
MAX_LINE = 10_000  # characters; an import line is a few dozen

#: The spaces a "space" thousands separator also stands for: no-break space and narrow no-break space.
_SPACES = ("\u00a0", "\u202f")
_DAY_FIRST = re.compile(r"(?P<day>[0-9]{2})(?P<sep>[./-])(?P<month>[0-9]{2})(?P=sep)(?P<year>[0-9]{4})", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


@attrs.frozen(kw_only=True)
class CsvDialect:
    """How a bank writes a CSV export.

    Attributes:
        name: the dialect's name.
        delimiter: the field separator (``,`` or ``;``).
        decimal: the decimal mark (``.`` or ``,``); the other of the two is then refused in amounts.
        thousands: the thousands separator, or ``None`` for none; ``" "`` also stands for the no-break spaces.
        day_first: dates are written ``DD.MM.YYYY`` (or with ``/`` or ``-``); ISO dates are still read.
    """

    name: str = "standard"
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    day_first: bool = False

    def __attrs_post_init__(self) -> None:
        for what, value, allowed in (
            ("delimiter", self.delimiter, (",", ";", "\t", "|")),
            ("decimal", self.decimal, (".", ",")),
            ("thousands", self.thousands, (None, " ", ".", ",", "'")),
            ("day_first", self.day_first, (True, False)),
        ):
            if value not in allowed or (type(value) is not type(allowed[-1]) and value is not None):
                raise InvalidArgument(
                    f"dialect {self.name}: {what} must be one of {', '.join(map(repr, allowed))}, got {value!r}",
                    dialect=self.name,
                )
        if self.thousands == self.decimal or self.delimiter == self.decimal:
            raise InvalidArgument(
                f"dialect {self.name}: the decimal mark {self.decimal!r} must differ from the thousands separator "
                f"and the delimiter",
                dialect=self.name,
            )

    def amount(self, name: str, number: int, text: str) -> str:
        """``text`` as a plain amount (``-765900.00``), or MalformedFile naming the line when it is ambiguous."""
        plain = text.strip()
        other = "," if self.decimal == "." else "."
        if other in plain and other != self.thousands:
            raise MalformedFile(
                f"{name} line {number}: amount {text!r} holds {other!r}, but dialect {self.name} writes decimals "
                f"with {self.decimal!r}",
                line=number,
                value=text,
            )
        if self.thousands is not None:
            for space in _SPACES if self.thousands == " " else ():
                plain = plain.replace(space, " ")
            whole = plain.split(self.decimal)[0].lstrip("-")
            groups = whole.split(self.thousands)
            if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
                raise MalformedFile(
                    f"{name} line {number}: amount {text!r} is not grouped in thousands by {self.thousands!r}",
                    line=number,
                    value=text,
                )
            plain = plain.replace(self.thousands, "")
        return plain.replace(self.decimal, ".")

    def date(self, name: str, number: int, text: str) -> dt.date:
        """``text`` as a date: ISO always, ``DD.MM.YYYY`` when ``day_first``; else MalformedFile naming the line."""
        value = text.strip()
        try:
            if _ISO_DATE.match(value[:10]) and (len(value) == 10 or value[10] in "T "):
                return dt.date.fromisoformat(value[:10])
            found = _DAY_FIRST.match(value)
            if self.day_first and found and (len(value) == 10 or value[10] == " "):
                return dt.date(int(found["year"]), int(found["month"]), int(found["day"]))
        except ValueError:
            pass
        shape = "an ISO date like 2020-04-01" + (" or a date like 01.04.2020" if self.day_first else "")
        raise MalformedFile(
            f"{name} line {number}: date {text!r} is not {shape} (dialect {self.name})", line=number, value=text
        )


#: The named dialects: ``standard`` (``,``, ``.``, ISO dates) and ``kazakh-bank``
#: (``;``, ``765 900,00``, ``01.04.2020``).
DIALECTS = {
    "standard": CsvDialect(),
    "kazakh-bank": CsvDialect(name="kazakh-bank", delimiter=";", decimal=",", thousands=" ", day_first=True),
}


def dialect_of(dialect: CsvDialect | str | None) -> CsvDialect:
    """A dialect given as a value or by its name in :data:`DIALECTS` (``standard`` when ``None``)."""
    if dialect is None:
        return DIALECTS["standard"]
    if isinstance(dialect, CsvDialect):
        return dialect
    if dialect in DIALECTS:
        return DIALECTS[dialect]
    raise InvalidArgument(f"unknown CSV dialect {dialect!r}; choose one of {', '.join(DIALECTS)}", value=dialect)


def read_csv(
    source: str | Path | TextIO | BinaryIO,
    what: str,
    required: Sequence[str],
    optional: Sequence[str],
    parse: Callable[[str, int, dict[str, str]], T],
    *,
    delimiter: str = ",",
) -> list[T]:
    """Every data line of ``source`` parsed by ``parse(file name, line number, cells by column)``.

    Blank lines are skipped.  Raises MalformedFile naming the file and line.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            with path.open("rb") as stream:
                return list(_rows(path.name, stream, required, optional, parse, delimiter))
        except OSError as error:
            raise MalformedFile(f"cannot read the {what} {str(path)!r}: {error.strerror}", path=str(path)) from None
    if not hasattr(source, "readline"):
        raise MalformedFile(f"a {what} is a file path or an open file, got {source!r}", value=source)
    return list(_rows(getattr(source, "name", what), source, required, optional, parse, delimiter))


def _rows(
    name: str,
    stream: TextIO | BinaryIO,
    required: Sequence[str],
    optional: Sequence[str],
    parse: Callable[[str, int, dict[str, str]], T],
    delimiter: str,
) -> Iterator[T]:
    reader = csv.reader(_checked(name, stream), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise MalformedFile(f"{name} line 1: {error}", line=1) from None
    if header is None:
        raise MalformedFile(f"{name} is empty: expected a header with {', '.join(required)}", line=1)
    columns = [column.strip().lower() for column in header]
    missing = [column for column in required if column not in columns]
    if missing:
        raise MalformedFile(
            f"{name} line 1: missing column(s) {', '.join(missing)} (found {', '.join(columns) or 'none'})", line=1
        )
    where = {column: columns.index(column) for column in (*required, *optional) if column in columns}
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
        yield parse(name, number, {column: row[index].strip() for column, index in where.items()})


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
