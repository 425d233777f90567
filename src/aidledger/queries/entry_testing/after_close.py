"""Check 1: entries the ledger learned of after the period they fall in (or next to) was closed."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from typing import Any

import attrs
import pendulum
from sqlalchemy import not_, select
from sqlalchemy.engine import Connection

from aidledger.core.times import from_micros
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.arguments import micros, window_of
from aidledger.queries.entry_testing.entries import EntryRef, entry_columns, entry_ref
from aidledger.queries.entry_testing.scope import Scope, ledger_of, reading
from aidledger.store import schema as t


class AfterCloseReason(enum.Enum):
    """Why :func:`entries_after_close` reports an entry."""

    #: Effective in a period that was closed before the entry was recorded.
    IN_CLOSED_PERIOD = "in-closed-period"
    #: Recorded after a close, effective just after the closed period but before the close was made.
    JUST_AFTER_CLOSE = "just-after-close"


@attrs.frozen
class AfterClose:
    """An entry recorded after a period close, in or next to the closed period.

    Attributes:
        entry: the entry.
        reason: in the closed period, or just after it.
        close_seq: the number of the period close it is measured against.
        closed_through: the end of that closed period.
        close_recorded_at: when the close was made.
    """

    entry: EntryRef
    reason: AfterCloseReason
    close_seq: int
    closed_through: pendulum.DateTime
    close_recorded_at: pendulum.DateTime


def entries_after_close(
    ledger: Ledger,
    *,
    within: dt.timedelta = dt.timedelta(days=7),
    window: Window | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> tuple[AfterClose, ...]:
    """Entries recorded after a period close, inside or just after the closed period.

    Two findings, each measured against the period closes (``close_period``) the
    ledger had recorded by ``known_at``:

    - ``IN_CLOSED_PERIOD``: recorded after a close, and effective at or before
      its ``closed_through``.  The ledger refuses to post into a closed period,
      so any such entry was written around the library, or a close was recorded
      with a clock behind the entries' (a close records its writer's clock as
      it is, while entries never record a time before the previous entry's).
      Measured against the earliest such close.
    - ``JUST_AFTER_CLOSE``: recorded after a close, effective within ``within``
      after its ``closed_through`` and yet before the close was made: an entry
      back-dated across the close into the first days of the open period, where
      it escaped the closed books.  Reversals (they point at their original)
      and ``Aid.correct`` replacements (tagged ``corrects``) are corrections in
      an open period and are not reported.  Measured against the latest such
      close.  A zero ``within`` turns this finding off.

    Args:
        ledger: the ledger.
        within: how far after ``closed_through`` an entry's effective time counts as just after.
        window: only the entries in this :class:`~aidledger.Window` (all by default); its ``known_at``
            also limits the closes and releases taken into account.
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        One finding per entry, in chain order.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = ledger_of(ledger)
    window_of(within, zero=True)
    with reading(ledger, window, kinds, exclude_kinds) as (connection, scope):
        return find_after_close(connection, scope, within)


def find_after_close(connection: Connection, scope: Scope, within: dt.timedelta) -> tuple[AfterClose, ...]:
    """:func:`entries_after_close` on a scope read in ``connection``."""
    c, e, g = t.period_closes.c, t.entries.c, t.entry_tags.c
    closes = connection.execute(select(t.period_closes).where(*scope.known(c.recorded_at)).order_by(c.seq)).all()
    found: dict[int, AfterClose] = {}
    span = micros(within)
    corrects = select(g.entry_seq).where(g.entry_seq == e.seq, g.name == "corrects").exists()
    for close in closes:
        through, recorded = int(close.closed_through), int(close.recorded_at)
        queries = [
            (
                AfterCloseReason.IN_CLOSED_PERIOD,
                select(*entry_columns()).where(*scope.where(), e.recorded_at > recorded, e.effective_at <= through),
            )
        ]
        if span:
            after = select(*entry_columns()).where(
                *scope.where(),
                e.recorded_at > recorded,
                e.effective_at > through,
                e.effective_at <= through + span,
                e.effective_at < recorded,
                e.reverses.is_(None),
                not_(corrects),
            )
            queries.append((AfterCloseReason.JUST_AFTER_CLOSE, after))
        for reason, query in queries:
            for row in connection.execute(query):
                # An entry in a closed period keeps the earliest such close; one just after, the latest.
                earlier = found.get(int(row.seq))
                if earlier is None or earlier.reason is not AfterCloseReason.IN_CLOSED_PERIOD:
                    found[int(row.seq)] = _finding(row, reason, close)
    return tuple(found[seq] for seq in sorted(found))


def _finding(row: Any, reason: AfterCloseReason, close: Any) -> AfterClose:
    return AfterClose(
        entry=entry_ref(row),
        reason=reason,
        close_seq=int(close.seq),
        closed_through=from_micros(int(close.closed_through)),
        close_recorded_at=from_micros(int(close.recorded_at)),
    )
