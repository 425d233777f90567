"""Driver SQL for the hot paths: rows by a list of keys, and plain inserts.

SQLAlchemy's expanding ``IN`` and its per-row insert work cost more than the
queries themselves on a large batch; these helpers write the SQL text once per
chunk and hand plain tuples to the driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")
CHUNK: Final = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def first_line(error: object) -> str:
    """The first line of a database error's text, or its type's name."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def mark(connection: Connection) -> str:
    """The driver's parameter marker, for driver SQL."""
    return "%s" if connection.dialect.name == "postgresql" else "?"


def rows_in(
    connection: Connection,
    table: Any,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    values: Sequence[tuple[Any, ...]],
    *,
    group: bool = False,
) -> Iterator[Any]:
    """Rows of ``table`` whose ``key`` columns equal one of ``values``, a chunk per query.

    Plain driver SQL with a ``VALUES`` list: SQLAlchemy's expanding ``IN``
    compiles each chunk again, which cost more than the query itself.
    ``columns`` are column names or aggregates (quoted by the caller's choice);
    with ``group`` the rows are grouped by ``key``.  A key of several columns
    is joined to the ``VALUES`` list rather than tested with a row-value
    ``IN``: SQLite scans the whole table for the latter (as many rows as the
    table holds, for every chunk) and looks each key up in the index for the
    former.
    """
    quote = connection.dialect.identifier_preparer.quote
    marker = mark(connection)
    name = quote(table.name)
    names = ", ".join(f"{name}.{quote(k)}" for k in key)
    picked = ", ".join(c if "(" in c else f"{name}.{quote(c)}" for c in columns)
    one = f"({', '.join([marker] * len(key))})"
    wanted = ", ".join(f"_k{i}" for i in range(len(key)))
    joined = " AND ".join(f"{name}.{quote(k)} = _wanted._k{i}" for i, k in enumerate(key))
    for chunk in chunks(values):
        listed = ", ".join([one] * len(chunk))
        if len(key) == 1:
            sql = f"SELECT {picked} FROM {name} WHERE {names} IN (VALUES {listed})"
        else:
            sql = f"WITH _wanted ({wanted}) AS (VALUES {listed}) SELECT {picked} FROM _wanted JOIN {name} ON {joined}"
        if group:
            sql += f" GROUP BY {names}"
        flat = tuple(v for row in chunk for v in row)
        yield from connection.exec_driver_sql(sql, flat)


def insert_rows(connection: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert plain tuples through the driver's executemany: no per-row work in SQLAlchemy."""
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    marker = mark(connection)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    connection.exec_driver_sql(sql, rows)
