"""Check 3: entries with an empty or blank memo."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Final

import attrs
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.arguments import limit_of, listed
from aidledger.queries.entry_testing.entries import EntryRef, entry_refs
from aidledger.queries.entry_testing.scope import Scope, ledger_of, reading
from aidledger.store import schema as t

#: Characters Python's ``str.strip()`` removes: a memo of only these is blank.
#: (All of them are at or below U+3000, the ideographic space.)
_WHITESPACE: Final = tuple(chr(c) for c in range(0x3001) if chr(c).isspace())


@attrs.frozen
class EntriesWithoutDescription:
    """Entries whose memo is empty or only white space.

    Attributes:
        count: how many (all of them).
        by_kind: how many, per entry kind.
        entries: those entries in chain order (at most ``limit`` of them).
    """

    count: int
    by_kind: Mapping[str, int]
    entries: tuple[EntryRef, ...]


def entries_without_description(
    ledger: Ledger,
    *,
    limit: int | None = None,
    window: Window | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> EntriesWithoutDescription:
    """Entries whose memo is empty or only white space (as Python's ``str.strip`` sees it).

    Operations that post in bulk (payment lists, deliveries) leave the memo empty
    on purpose: pass their kinds in ``exclude_kinds`` to look at hand-made
    entries only.  Empty memos are counted in SQL; memos that start with white
    space are read and checked one by one.

    Args:
        ledger: the ledger.
        limit: list at most this many entries (the counts are always complete).
        window: only the entries in this :class:`~aidledger.Window` (all by default).
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The count, the count per kind, and the entries.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = ledger_of(ledger)
    shown = limit_of(limit)
    with reading(ledger, window, kinds, exclude_kinds) as (connection, scope):
        return find_without_description(connection, scope, shown)


def find_without_description(connection: Connection, scope: Scope, limit: int | None) -> EntriesWithoutDescription:
    """:func:`entries_without_description` on a scope read in ``connection``."""
    e = t.entries.c
    by_kind: dict[str, int] = defaultdict(int)
    empty = [*scope.where(), e.memo == ""]
    for kind, n in connection.execute(select(e.kind, func.count()).where(*empty).group_by(e.kind)):
        by_kind[str(kind)] += int(n)
    blank: list[int] = []
    spaced = select(e.seq, e.kind, e.memo).where(*scope.where(), func.substr(e.memo, 1, 1).in_(_WHITESPACE))
    for seq, kind, memo in connection.execute(spaced):
        if not str(memo).strip():
            blank.append(int(seq))
            by_kind[str(kind)] += 1
    count = sum(by_kind.values())
    wanted = listed(count, limit)
    seqs = [int(s) for s in connection.execute(select(e.seq).where(*empty).order_by(e.seq).limit(wanted)).scalars()]
    seqs = sorted(seqs + blank)[:wanted]
    refs = entry_refs(connection, seqs)
    return EntriesWithoutDescription(
        count=count, by_kind=dict(sorted(by_kind.items())), entries=tuple(refs[s] for s in seqs)
    )
