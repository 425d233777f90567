"""The one log as rows: its tail, the canonical form of a chart definition, and appending items.

Every write that changes what the ledger says appends one item per thing it
wrote (an entry, a period close, a record, a unit, an account, a fund) to the
``log`` table, in the same transaction, under the ledger's write lock.  An
item names what it covers (``kind`` and ``ref``) and that thing's own hash;
its ``hash`` chains it to the item before (:func:`aidledger.core.hashing.log_hash`).
The digest ``<seq>:<hash>`` of the newest item covers everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidledger.core import hashing
from aidledger.core.errors import StorageError
from aidledger.store import schema as t

COLUMNS: Final = ("seq", "kind", "ref", "item", "entries", "prev_hash", "hash")


@attrs.frozen
class Tail:
    """The newest item of the log: its number, its hash, and the newest entry it covers."""

    seq: int = 0
    hash: str = hashing.GENESIS
    entries: int = 0


@attrs.frozen
class Item:
    """One thing written, as the log names it: ``entry`` (with its number in ``entry``) or another kind."""

    kind: str
    ref: str
    item: str
    entry: int | None = None


def tail(connection: Connection) -> Tail:
    """The newest item of the log (an empty log's tail is the genesis)."""
    g = t.log.c
    row = connection.execute(select(g.seq, g.hash, g.entries).order_by(g.seq.desc()).limit(1)).first()
    return Tail() if row is None else Tail(row.seq, row.hash, row.entries)


def chain(after: Tail, items: Iterable[Item]) -> tuple[list[tuple[Any, ...]], Tail]:
    """The rows (in :data:`COLUMNS` order) that append ``items`` after ``after``, and the new tail."""
    seq, prev, entries = after.seq, after.hash, after.entries
    rows: list[tuple[Any, ...]] = []
    for found in items:
        seq += 1
        if found.entry is not None:
            entries = found.entry
        digest = hashing.log_hash(
            seq=seq, kind=found.kind, ref=found.ref, item=found.item, entries=entries, prev_hash=prev
        )
        rows.append((seq, found.kind, found.ref, found.item, entries, prev, digest))
        prev = digest
    return rows, Tail(seq, prev, entries)


def append(connection: Connection, items: Iterable[Item]) -> Tail:
    """Append ``items`` to the log on ``connection`` (inside the write transaction); the new tail.

    Raises StorageError if the log already names a close, record or
    definition with the same number: its row was removed behind the library.
    """
    items = list(items)
    _refuse_relogged(connection, [found for found in items if found.kind != "entry"])
    rows, new = chain(tail(connection), items)
    if rows:
        quote = connection.dialect.identifier_preparer.quote
        marker = "%s" if connection.dialect.name == "postgresql" else "?"
        connection.exec_driver_sql(
            f"INSERT INTO {quote('log')} ({', '.join(quote(c) for c in COLUMNS)}) "
            f"VALUES ({', '.join([marker] * len(COLUMNS))})",
            rows,
        )
    return new


def _refuse_relogged(connection: Connection, items: list[Item]) -> None:
    g = t.log.c
    for found in items:
        seq = connection.execute(select(g.seq).where(g.kind == found.kind, g.ref == found.ref)).scalar()
        if seq is not None:
            raise StorageError(
                f"log item {seq} already names {found.kind} {found.ref}, which is no longer stored: the ledger was "
                "changed behind the library; nothing was written, run verify",
                kind=found.kind,
                ref=found.ref,
            )


def definition(kind: str, row: Mapping[Any, Any]) -> list[object]:
    """The canonical form of a stored unit, account or fund row, as its log item hashes it."""
    if kind == "unit":
        return ["unit", row["code"], row["kind"], row["exponent"], row["measure"]]
    if kind == "account":
        return [
            "account", row["id"], row["code"], row["type"], row["unit_code"], row["normal_side"],
            _flag(row["allow_negative"]), row["name"],
        ]  # fmt: skip
    return [
        "fund", row["id"], row["code"], row["purpose"], row["restriction"], _flag(row["allow_negative"]), row["name"]
    ]  # fmt: skip


def definition_item(kind: str, row: Mapping[Any, Any]) -> Item:
    """The log item of a stored unit (named by its code), account or fund (named by its id)."""
    ref = str(row["code"] if kind == "unit" else row["id"])
    return Item(kind, ref, hashing.definition_hash(definition(kind, row)))


def _flag(value: object) -> object:
    """A stored boolean as JSON's true/false (SQLite hands back 0/1); anything else as stored."""
    return bool(value) if value in (0, 1) else value


__all__ = ["COLUMNS", "Item", "Tail", "append", "chain", "definition", "definition_item", "tail"]
