"""Which entries a read sees: one :class:`Window` for the two times and the log.

Every audit read of aidledger (totals, statements, summaries, journal-entry
tests, matching, exports) answers a question about a *window* of the journal:

- by **effective** time (when it happened in the world): ``start`` (inclusive),
  ``end`` (exclusive) and ``as_of`` (inclusive);
- by **recorded** time (when the ledger learned it): ``known_at`` (inclusive),
  so a report made at time T comes out the same when made again later with
  ``known_at=T``, after back-dated entries and reversals;
- by **position in the log**: ``through``, a digest ``<seq>:<hash>`` an auditor
  kept, so a report covers exactly the entries that digest covers.

The window is validated once, here, and turned into integer bounds once
(:meth:`Window.bounds`); the ledger layer turns those bounds into SQL in one
place, and :meth:`Window.admits` is the same rule in Python.
"""

from __future__ import annotations

import datetime as dt
import re

import attrs
import pendulum

from aidledger.core.errors import InvalidArgument
from aidledger.core.times import from_micros, to_micros

_DIGEST = re.compile(r"(\d{1,19}):([0-9a-f]{64})")


@attrs.frozen(kw_only=True)
class Digest:
    """An auditor's digest of the log: the number of its last item and that item's hash.

    A digest read from text names an item of the log; a ledger resolves it
    (``aidledger.store.window.check_through``) to the entries it covers, and
    only a resolved digest bounds a read.  The digest of an entry (its number
    and hash, as ledgers before the one log printed) resolves to that entry.

    Attributes:
        seq: the sequence number of the newest item the digest covers.
        hash: that item's chained hash (64 lower-case hex digits).
        entries: the number of the newest entry it covers, once a ledger resolved it.
    """

    seq: int
    hash: str
    entries: int | None = attrs.field(default=None, eq=False)

    @classmethod
    def parse(cls, text: object) -> Digest:
        """Read ``<seq>:<64 hex digits>`` (as ``Verification.digest`` writes it); InvalidArgument otherwise."""
        if isinstance(text, Digest):
            return text
        match = _DIGEST.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidArgument(f"a digest is '<item number>:<64 hex digits>', got {text!r}", value=text)
        return cls(seq=int(match.group(1)), hash=match.group(2))

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@attrs.frozen(kw_only=True)
class Bounds:
    """A window as integer bounds on stored columns; ``None`` where the window is open.

    Attributes:
        effective_from: effective time in UTC microseconds, inclusive.
        effective_before: effective time in UTC microseconds, exclusive (``end`` and ``as_of`` folded together).
        recorded_through: recorded time in UTC microseconds, inclusive.
        seq_through: the newest entry's number, inclusive.
    """

    effective_from: int | None
    effective_before: int | None
    recorded_through: int | None
    seq_through: int | None


def _time(value: object, what: str) -> pendulum.DateTime | None:
    if value is None:
        return None
    to_micros(value, what)  # refuses anything but an aware datetime, naming it
    return pendulum.instance(value) if isinstance(value, dt.datetime) else None


def _start(value: object) -> pendulum.DateTime | None:
    return _time(value, "start")


def _end(value: object) -> pendulum.DateTime | None:
    return _time(value, "end")


def _as_of(value: object) -> pendulum.DateTime | None:
    return _time(value, "as_of")


def _known_at(value: object) -> pendulum.DateTime | None:
    return _time(value, "known_at")


def _covered(digest: Digest) -> int:
    if digest.entries is None:
        raise InvalidArgument(
            f"the digest {digest} was not resolved against a ledger: read through the ledger, which checks it",
            digest=str(digest),
        )
    return digest.entries


def _digest(value: object) -> Digest | None:
    return None if value is None else Digest.parse(value)


@attrs.frozen(kw_only=True)
class Window:
    """Which entries a read sees, by effective time, recorded time and position in the log.

    ``Window()`` sees everything.  Each bound is optional; all given bounds hold
    together.

    Attributes:
        start: only entries effective at or after this time.
        end: only entries effective before this time (must be after ``start``).
        as_of: only entries effective at or before this time.
        known_at: only entries the ledger had recorded at or before this time.
        through: only entries the digest ``<seq>:<hash>`` covers; a read checks
            the ledger's item ``seq`` still has that hash.
    """

    start: pendulum.DateTime | None = attrs.field(default=None, converter=_start)
    end: pendulum.DateTime | None = attrs.field(default=None, converter=_end)
    as_of: pendulum.DateTime | None = attrs.field(default=None, converter=_as_of)
    known_at: pendulum.DateTime | None = attrs.field(default=None, converter=_known_at)
    through: Digest | None = attrs.field(default=None, converter=_digest)

    def __attrs_post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidArgument(f"end {self.end} is not after start {self.start}", start=self.start, end=self.end)

    @classmethod
    def of(
        cls,
        window: object = None,
        *,
        start: object = None,
        end: object = None,
        as_of: object = None,
        known_at: object = None,
        through: object = None,
    ) -> Window:
        """The window of a read that takes either a ``window`` or the separate keywords, not both."""
        separate = {"start": start, "end": end, "as_of": as_of, "known_at": known_at, "through": through}
        given = sorted(name for name, value in separate.items() if value is not None)
        if window is None:
            return cls(start=start, end=end, as_of=as_of, known_at=known_at, through=through)
        if not isinstance(window, Window):
            raise InvalidArgument(f"window must be a Window, got {window!r}", value=window)
        if given:
            raise InvalidArgument(f"pass either window or {', '.join(given)}, not both", value=given)
        return window

    @property
    def is_open(self) -> bool:
        """True if the window sees every entry."""
        return self == Window()

    def bounds(self) -> Bounds:
        """The window as integer bounds on the stored columns (UTC microseconds, log sequence)."""
        return Bounds(
            effective_from=None if self.start is None else to_micros(self.start),
            effective_before=self._effective_before(),
            recorded_through=None if self.known_at is None else to_micros(self.known_at),
            seq_through=None if self.through is None else _covered(self.through),
        )

    def _effective_before(self) -> int | None:
        before = [to_micros(self.end)] if self.end is not None else []
        if self.as_of is not None:
            before.append(to_micros(self.as_of) + 1)
        return min(before) if before else None

    def admits(self, *, effective_at: int, recorded_at: int, seq: int | None = None) -> bool:
        """The same rule as the SQL, in Python: does an item with these stored values fall in the window?"""
        b = self.bounds()
        return (
            (b.effective_from is None or effective_at >= b.effective_from)
            and (b.effective_before is None or effective_at < b.effective_before)
            and (b.recorded_through is None or recorded_at <= b.recorded_through)
            and (b.seq_through is None or seq is None or seq <= b.seq_through)
        )

    def recorded(self) -> Window:
        """Only the recorded-time and log bounds: what the ledger knew, at any effective time."""
        return Window(known_at=self.known_at, through=self.through)

    def at_end(self) -> Window:
        """Everything up to the window's last effective instant, as the window knew it.

        A position (a balance, a stock, what remains of a grant) is a level, not
        a flow: it is read as of the end of a period, from every entry before it.
        """
        before = self._effective_before()
        return Window(
            as_of=None if before is None else from_micros(before - 1), known_at=self.known_at, through=self.through
        )


__all__ = ["Bounds", "Digest", "Window"]
