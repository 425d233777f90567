"""A :class:`~aidledger.core.window.Window` as SQL: the one place its bounds become predicates.

Every read that takes a window selects through :func:`conditions` (SQLAlchemy
Core) or :func:`driver_sql` (driver SQL, for the paths that bypass the
compiler), so the rule "effective in [start, end), at or before as_of, recorded
at or before known_at, in the log through the digest" is written once.
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import ColumnElement, Connection, FromClause, select

from aidledger.core.errors import DigestMismatch
from aidledger.core.hashing import GENESIS
from aidledger.core.window import Window
from aidledger.store import schema


def conditions(
    window: Window, entries: FromClause, *, effective: ColumnElement[Any] | None = None
) -> list[ColumnElement[bool]]:
    """The predicates that keep the rows of ``entries`` (a table or alias of it) inside ``window``.

    ``effective`` is the effective-time column to bound (a posting's copy, say);
    by default the entries' own.
    """
    bounds = window.bounds()
    column = entries.c.effective_at if effective is None else effective
    found: list[ColumnElement[bool]] = []
    if bounds.effective_from is not None:
        found.append(column >= bounds.effective_from)
    if bounds.effective_before is not None:
        found.append(column < bounds.effective_before)
    if bounds.recorded_through is not None:
        found.append(entries.c.recorded_at <= bounds.recorded_through)
    if bounds.seq_through is not None:
        found.append(entries.c.seq <= bounds.seq_through)
    return found


def driver_sql(
    window: Window, *, entries: str = "e", effective: str | None = None, marker: str = "?"
) -> tuple[str, list[int]]:
    """The same predicates as text for driver SQL: ``(" AND e.recorded_at <= ?", [params])``.

    ``entries`` is the alias of the entries table in the statement, ``effective``
    the effective-time column (default ``<entries>.effective_at``), ``marker`` the
    driver's parameter marker (``?`` for sqlite3, ``%s`` for psycopg).
    """
    bounds = window.bounds()
    column = effective or f"{entries}.effective_at"
    parts: list[str] = []
    params: list[int] = []
    for sql, value in (
        (f"{column} >= {marker}", bounds.effective_from),
        (f"{column} < {marker}", bounds.effective_before),
        (f"{entries}.recorded_at <= {marker}", bounds.recorded_through),
        (f"{entries}.seq <= {marker}", bounds.seq_through),
    ):
        if value is not None:
            parts.append(sql)
            params.append(value)
    return "".join(f" AND {part}" for part in parts), params


def check_through(connection: Connection, window: Window) -> Window:
    """``window`` with its digest resolved to the entries it covers; DigestMismatch if this ledger does not hold it.

    A digest names an item of the log by number and hash; the digest of an entry
    (as ledgers before the one log printed) names that entry.
    """
    digest = window.through
    if digest is None or digest.entries is not None:
        return window
    if digest.seq == 0 and digest.hash == GENESIS:
        return attrs.evolve(window, through=attrs.evolve(digest, entries=0))
    g, e = schema.log.c, schema.entries.c
    item = connection.execute(select(g.hash, g.entries).where(g.seq == digest.seq)).first()
    if item is not None and item.hash == digest.hash:
        return attrs.evolve(window, through=attrs.evolve(digest, entries=int(item.entries)))
    entry = connection.execute(select(e.hash).where(e.seq == digest.seq)).scalar()
    if entry == digest.hash:
        return attrs.evolve(window, through=attrs.evolve(digest, entries=digest.seq))
    found = "no such item" if item is None else f"item {digest.seq} has hash {item.hash}"
    raise DigestMismatch(f"digest {digest} does not describe this ledger: {found}", digest=str(digest))


__all__ = ["check_through", "conditions", "driver_sql"]
