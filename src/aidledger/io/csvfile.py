"""Reading CSV files to import, line by line, with every problem named by its line number.

Shared by the provider report and the bank statement readers: the file is a
path or an open text or binary file; it must be UTF-8 (a byte-order mark is
allowed), hold no NUL character and no line longer than ``MAX_LINE``, and have
a header naming the required columns (in any order and case).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO, TypeVar

from aidledger.core.errors import MalformedFile

T = TypeVar("T")
MAX_LINE = 10_000  # characters; an import line is a few dozen


def read_csv(
    source: str | Path | TextIO | BinaryIO,
    what: str,
    required: Sequence[str],
    optional: Sequence[str],
    parse: Callable[[str, int, dict[str, str]], T],
) -> list[T]:
    """Every data line of ``source`` parsed by ``parse(file name, line number, cells by column)``.

    Blank lines are skipped.  Raises MalformedFile naming the file and line.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            with path.open("rb") as stream:
                return list(_rows(path.name, stream, required, optional, parse))
        except OSError as error:
            raise MalformedFile(f"cannot read the {what} {str(path)!r}: {error.strerror}", path=str(path)) from None
    if not hasattr(source, "readline"):
        raise MalformedFile(f"a {what} is a file path or an open file, got {source!r}", value=source)
    return list(_rows(getattr(source, "name", what), source, required, optional, parse))


def _rows(
    name: str,
    stream: TextIO | BinaryIO,
    required: Sequence[str],
    optional: Sequence[str],
    parse: Callable[[str, int, dict[str, str]], T],
) -> Iterator[T]:
    reader = csv.reader(_checked(name, stream))
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
