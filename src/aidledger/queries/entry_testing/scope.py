"""Which entries a journal-entry test looks at: the selection every test shares, read in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection

from aidledger.core.errors import InvalidArgument
from aidledger.core.times import to_micros
from aidledger.ledger.ledger import Ledger
from aidledger.store import schema as t


@attrs.frozen
class Scope:
    """The entries a test looks at, checked once.

    Attributes:
        through_seq: the newest entry the journal held (by ``known_at``) when the test started.
        known_at: only entries recorded at or before this time (microseconds), if given.
        start: only entries effective at or after this time (microseconds), if given.
        end: only entries effective before this time (microseconds), if given.
        kinds: only entries of these kinds, if given.
        exclude_kinds: no entries of these kinds.
    """

    through_seq: int
    known_at: int | None
    start: int | None
    end: int | None
    kinds: tuple[str, ...] | None
    exclude_kinds: tuple[str, ...]

    @classmethod
    def read(
        cls,
        connection: Connection,
        known_at: dt.datetime | None,
        start: dt.datetime | None,
        end: dt.datetime | None,
        kinds: Collection[str] | None,
        exclude_kinds: Collection[str],
    ) -> Scope:
        """Check the selection arguments and pin the journal at its newest entry known by ``known_at``."""
        known = None if known_at is None else to_micros(known_at, "known_at")
        first = None if start is None else to_micros(start, "start")
        last = None if end is None else to_micros(end, "end")
        if first is not None and last is not None and last <= first:
            raise InvalidArgument(f"end {end} is not after start {start}", start=start, end=end)
        newest = select(func.coalesce(func.max(t.entries.c.seq), 0))
        if known is not None:  # the newest entry recorded by then: a report re-run at known_at names the same one
            newest = newest.where(t.entries.c.recorded_at <= known)
        head = connection.execute(newest).scalar_one()
        return cls(
            through_seq=int(head),
            known_at=known,
            start=first,
            end=last,
            kinds=None if kinds is None else kinds_of(kinds, "kinds"),
            exclude_kinds=kinds_of(exclude_kinds, "exclude_kinds"),
        )

    def where(self) -> list[ColumnElement[bool]]:
        """The conditions on ``entries`` that select the scope."""
        e = t.entries.c
        found: list[ColumnElement[bool]] = [e.seq <= self.through_seq]
        if self.known_at is not None:
            found.append(e.recorded_at <= self.known_at)
        if self.start is not None:
            found.append(e.effective_at >= self.start)
        if self.end is not None:
            found.append(e.effective_at < self.end)
        if self.kinds is not None:
            found.append(e.kind.in_(self.kinds))
        if self.exclude_kinds:
            found.append(e.kind.not_in(self.exclude_kinds))
        return found

    def known(self, recorded: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        """The conditions on a recorded time (of a close or a releasing entry) that it was known."""
        return [] if self.known_at is None else [recorded <= self.known_at]


@contextmanager
def reading(
    ledger: Ledger,
    known_at: dt.datetime | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> Iterator[tuple[Connection, Scope]]:
    """A snapshot of the ledger and the scope read in it: every test runs on one such state."""
    with ledger.snapshot() as connection:
        yield connection, Scope.read(connection, known_at, start, end, kinds, exclude_kinds)


def ledger_of(ledger: object) -> Ledger:
    """``ledger``, checked to be a :class:`~aidledger.Ledger`."""
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    return ledger


def kinds_of(value: object, what: str) -> tuple[str, ...]:
    """A collection of entry kinds, checked, without repeats and sorted."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidArgument(f"{what} must be a collection of entry kinds, got {value!r}", value=value)
    found = set(value)
    for kind in found:
        if not isinstance(kind, str) or not kind:
            raise InvalidArgument(f"{what} must hold entry kinds (text), got {kind!r}", value=kind)
    return tuple(sorted(found))
