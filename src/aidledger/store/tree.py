"""The log's Merkle tree as rows: the perfect subtrees over its items, appended with them.

Leaf ``i`` of the tree is log item ``i + 1``: RFC 9162's leaf hash of the
item's canonical text (:func:`aidledger.core.hashing.log_text`), the very text
whose SHA-256 is the item's chained hash.  The ``log_tree`` table holds every
*perfect* subtree, ``(level, idx) -> hash`` over the items
``[idx * 2**level, (idx + 1) * 2**level)``; any root or proof is folded from
at most ``log2(n) + 1`` of them (:mod:`aidledger.core.merkle`).

The nodes are derived state, written in the same transaction as the items
(:func:`extend`, O(1) amortised per item: one look-up of the tree's right
edge, then each new node once), rebuilt from the log by :func:`build`, and
compared with it by :func:`differences`.  Nothing in them is trusted: a proof
made from them is checked against the leaf recomputed from the log and against
the digest it claims.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import attrs
from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidledger.core import hashing, merkle
from aidledger.core.errors import StorageError
from aidledger.store import schema as t

COLUMNS: Final = ("level", "idx", "hash")


def leaf(text: str) -> bytes:
    """RFC 9162 leaf hash of a log item's canonical text: ``SHA-256(0x00 || UTF-8 text)``."""
    return hashlib.sha256(b"\x00" + text.encode("utf-8")).digest()


def item_text(row: Any) -> str:
    """The canonical text of a stored log row (as :func:`aidledger.core.hashing.log_text` makes it)."""
    return hashing.log_text(
        seq=row.seq, kind=row.kind, ref=row.ref, item=row.item, entries=row.entries, prev_hash=row.prev_hash
    )


def edge(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, idx)`` that make the tree of ``size`` leaves, left to right."""
    found, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            found.append((level, start >> level))
            start += 1 << level
    return found


def keys(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, idx)`` that the leaf ranges ``[start, end)`` fold from, largest first each
    (as :func:`aidledger.core.merkle.subtree_root` folds them)."""
    found = []
    for start, end in ranges:
        size = end - start
        while size:
            level = size.bit_length() - 1
            found.append((level, start >> level))
            start, size = start + (1 << level), size - (1 << level)
    return found


def nodes(connection: Connection, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the nodes ``(level, idx)`` asked for (those stored; one query)."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    quote = connection.dialect.identifier_preparer.quote
    where = " OR ".join(f"({quote('level')} = {int(level)} AND idx = {int(idx)})" for level, idx in keys)
    rows = connection.exec_driver_sql(f"SELECT {quote('level')}, idx, hash FROM log_tree WHERE {where}")
    return {(level, idx): _unhex(value, level, idx) for level, idx, value in rows}


def extend(connection: Connection, size: int, leaves: Sequence[bytes]) -> None:
    """Append the nodes that ``leaves`` (leaf hashes ``size``, ``size + 1``, ...) complete, inside the write.

    Raises StorageError if a node of the tree's right edge is missing (removed
    behind the library): nothing is written, and ``reconcile`` names it.
    """
    if not leaves:
        return
    wanted = edge(size)
    stored = nodes(connection, wanted)
    if len(stored) != len(wanted):
        missing = ", ".join(f"({level}, {idx})" for level, idx in wanted if (level, idx) not in stored)
        raise StorageError(
            f"the log's tree has no node {missing}: it was changed behind the library; nothing was written, "
            "run reconcile",
            size=size,
        )
    stack = [(level, idx, stored[(level, idx)]) for level, idx in wanted]
    rows = list(_grow(stack, size, leaves))
    quote = connection.dialect.identifier_preparer.quote
    marker = "%s" if connection.dialect.name == "postgresql" else "?"
    connection.exec_driver_sql(
        f"INSERT INTO log_tree ({quote('level')}, idx, hash) VALUES ({marker}, {marker}, {marker})", rows
    )


def _grow(stack: list[tuple[int, int, bytes]], size: int, leaves: Iterable[bytes]) -> Iterator[tuple[int, int, str]]:
    """The nodes that each new leaf completes, given the tree's right edge ``stack`` (changed in place)."""
    sha256 = hashlib.sha256
    for index, found in enumerate(leaves, start=size):
        level, idx, value = 0, index, found
        yield level, idx, value.hex()
        while stack and stack[-1][0] == level:
            left = stack.pop()[2]
            level, idx, value = level + 1, idx >> 1, sha256(b"\x01" + left + value).digest()
            yield level, idx, value.hex()
        stack.append((level, idx, value))


def build(connection: Connection, items: Iterable[Any]) -> int:
    """Write the nodes of the whole log from its rows (``items`` in sequence order) into an empty tree; its size."""
    stack: list[tuple[int, int, bytes]] = []
    size = 0
    batch: list[bytes] = []
    for row in items:
        batch.append(leaf(item_text(row)))
        if len(batch) == 10_000:
            _insert(connection, list(_grow(stack, size, batch)))
            size, batch = size + len(batch), []
    _insert(connection, list(_grow(stack, size, batch)))
    return size + len(batch)


def _insert(connection: Connection, rows: list[tuple[int, int, str]]) -> None:
    if rows:
        connection.execute(t.log_tree.insert(), [dict(zip(COLUMNS, row, strict=True)) for row in rows])


@attrs.frozen
class Difference:
    """A node of the stored tree that is not what the log gives.

    Attributes:
        level: the node's level (0: a leaf).
        idx: its index on that level.
        expected: the hash the log gives (hex), or ``""`` for a node that should not be there.
        found: the stored hash, or ``""`` if the node is missing.
    """

    level: int
    idx: int
    expected: str
    found: str


def leaves(connection: Connection) -> list[bytes]:
    """The leaf hashes of the log's tree, recomputed from the log's items (O(n))."""
    return [leaf(item_text(row)) for row in connection.execute(select(t.log).order_by(t.log.c.seq))]


def differences(connection: Connection, limit: int = 20) -> tuple[list[Difference], int, bytes]:
    """The stored nodes that differ from the tree recomputed from the log (at most ``limit``), its size and root."""
    hashes = leaves(connection)
    size, root = len(hashes), merkle.root(hashes)
    found: list[Difference] = []
    g = t.log_tree.c
    level, sha256 = 0, hashlib.sha256
    while hashes:
        if len(found) < limit:
            stored = connection.execute(select(g.idx, g.hash).where(g.level == level).order_by(g.idx))
            found.extend(itertools.islice(_level_differences(level, hashes, stored), limit - len(found)))
        hashes = [sha256(b"\x01" + hashes[i] + hashes[i + 1]).digest() for i in range(0, len(hashes) - 1, 2)]
        level += 1
    extra = connection.execute(select(g.level, g.idx, g.hash).where(g.level >= level).order_by(g.level, g.idx))
    found.extend(Difference(row.level, row.idx, "", row.hash) for row in itertools.islice(extra, limit))
    return found[:limit], size, root


def _level_differences(level: int, hashes: list[bytes], stored: Iterable[Any]) -> Iterator[Difference]:
    """The stored nodes of one level (rows of idx and hash, by idx) that differ from ``hashes``, in idx order.

    The rows are read as they come, never all at once: a campaign's log has a million leaves.  A row whose idx
    is not a whole number (a changed row) is a node that should not be there.
    """
    rows = iter(stored)
    row = next(rows, None)
    for idx, value in enumerate(hashes):
        while row is not None and (type(row.idx) is not int or row.idx < idx):
            yield Difference(level, row.idx, "", str(row.hash))
            row = next(rows, None)
        have = ""
        if row is not None and row.idx == idx:
            have, row = str(row.hash), next(rows, None)
        if have != value.hex():
            yield Difference(level, idx, value.hex(), have)
    while row is not None:
        yield Difference(level, row.idx, "", str(row.hash))
        row = next(rows, None)


def _unhex(value: object, level: int, idx: int) -> bytes:
    try:
        found = bytes.fromhex(str(value))
    except ValueError:
        found = b""
    if len(found) != 32:
        raise StorageError(
            f"the log's tree node ({level}, {idx}) holds {value!r}, not a hash: it was changed behind the library; "
            "run reconcile",
            level=level,
            idx=idx,
        )
    return found


__all__ = ["Difference", "build", "differences", "edge", "extend", "item_text", "keys", "leaf", "leaves", "nodes"]
