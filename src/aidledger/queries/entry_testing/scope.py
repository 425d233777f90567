"""Which entries a journal-entry test looks at: the selection every test shares, read in one place."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection

from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.store import schema as t
from aidledger.store import window as store_window


@attrs.frozen
class Scope:
    """The entries a test looks at, checked once.

    Attributes:
        through_seq: the newest entry the journal held inside the window (by its ``known_at`` and
            digest) when the test started.
        window: the :class:`~aidledger.Window` of entries.
        kinds: only entries of these kinds, if given.
        exclude_kinds: no entries of these kinds.
    """

    through_seq: int
    window: Window
    kinds: tuple[str, ...] | None
    exclude_kinds: tuple[str, ...]

    @classmethod
    def read(
        cls, connection: Connection, window: Window, kinds: Collection[str] | None, exclude_kinds: Collection[str]
    ) -> Scope:
        """Check the selection arguments and pin the journal at its newest entry the window knows."""
        window = store_window.check_through(connection, window)
        # The newest entry recorded by then: a report re-run with the same window names the same one.
        newest = select(func.coalesce(func.max(t.entries.c.seq), 0)).where(
            *store_window.conditions(window.recorded(), t.entries)
        )
        return cls(
            through_seq=int(connection.execute(newest).scalar_one()),
            window=window,
            kinds=None if kinds is None else kinds_of(kinds, "kinds"),
            exclude_kinds=kinds_of(exclude_kinds, "exclude_kinds"),
        )

    def where(self) -> list[ColumnElement[bool]]:
        """The conditions on ``entries`` that select the scope."""
        e = t.entries.c
        found: list[ColumnElement[bool]] = [e.seq <= self.through_seq, *store_window.conditions(self.window, t.entries)]
        if self.kinds is not None:
            found.append(e.kind.in_(self.kinds))
        if self.exclude_kinds:
            found.append(e.kind.not_in(self.exclude_kinds))
        return found

    def known(self, recorded: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        """The conditions on a recorded time (of a close or a releasing entry) that it was known."""
        known_at = self.window.bounds().recorded_through
        return [] if known_at is None else [recorded <= known_at]


@contextmanager
def reading(
    ledger: Ledger,
    window: Window | None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> Iterator[tuple[Connection, Scope]]:
    """A snapshot of the ledger and the scope read in it: every test runs on one such state."""
    seen = Window.of(window)
    with ledger.snapshot() as connection:
        yield connection, Scope.read(connection, seen, kinds, exclude_kinds)


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
