"""Journal-entry testing for auditors: the classic tests of a journal, run on the stored rows.

Each test is a function that returns attrs results (never rows or tuples):

- :func:`entries_after_close`: entries the ledger learned of after the period
  they fall in (or next to) was closed;
- :func:`unusual_actors`: people who made very few entries, and entries made
  outside working hours;
- :func:`entries_without_description`: entries with an empty or blank memo;
- :func:`round_amounts`: entries whose amount is an exact multiple of a round figure;
- :func:`split_under_threshold`: amounts kept at or under an approval
  threshold by splitting them;
- :func:`same_beneficiary_several_programmes`: one pseudonym holding live
  payments from several programmes for the same purpose;
- :func:`sample_entries`: a reproducible random or monetary-unit sample;
- :func:`journal_tests`: all of the above in one :class:`JournalTestReport`.

Common rules:

- **Which entries.** Every function takes ``known_at`` (only entries the ledger
  had recorded at or before that time, so a test re-run later gives the same
  answer), ``start`` and ``end`` (effective times: from ``start`` inclusive to
  ``end`` exclusive, as in :func:`aidledger.audit_totals`, so one period's
  bounds serve every audit query), and ``kinds`` / ``exclude_kinds``.  A call
  also pins the journal at its newest entry when it starts (``through_seq``),
  so entries posted while it runs never mix into its answer.
- **The amount of an entry** in a currency is the sum of its positive postings
  (its debits) in that currency, memo accounts (commitments, pledges) left out,
  as in :attr:`aidledger.PendingBatch.total`.  An entry with no such posting
  has no amount in that currency.  Arithmetic is on integer minor units only.
- Every argument is checked; a wrong one raises :class:`~aidledger.InvalidArgument`
  (or its subclasses :class:`~aidledger.InvalidAmount` and :class:`~aidledger.InvalidTime`).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import pendulum
from sqlalchemy import ColumnElement, and_, case, func, literal, not_, or_, select
from sqlalchemy.engine import Connection

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Amount, Money, Unit, UnitKind, currency
from aidledger.core.errors import InvalidAmount, InvalidArgument
from aidledger.core.times import from_micros, time_zone, to_micros
from aidledger.ledger.ledger import Ledger
from aidledger.operations.aid import Aid
from aidledger.operations.payments import CLAIM_PREFIX
from aidledger.store import schema as t

_CHUNK: Final = 500
#: Bucket width for off-hours counting: every time-zone offset in use today is a
#: multiple of 15 minutes, so a UTC quarter-hour is (almost always) one local hour.
_BUCKET: Final = 15 * 60 * 1_000_000
#: Added before integer division so that every stored time (year 1 onwards) is positive.
_OFFSET: Final = _BUCKET * 100_000_000
#: Characters Python's ``str.strip()`` removes: a memo of only these is blank.
#: (All of them are at or below U+3000, the ideographic space.)
_WHITESPACE: Final = tuple(chr(c) for c in range(0x3001) if chr(c).isspace())
#: Tags that name an entry's counterparty, in the order they are looked for.
COUNTERPARTY_TAGS: Final = ("beneficiary", "grantee", "donor", "programme", "project", "pledge")


# -- results ----------------------------------------------------------------------------


@attrs.frozen
class EntryRef:
    """Which entry a finding is about.

    Attributes:
        id: the entry's id.
        seq: its place in the hash chain.
        kind: its kind.
        actor: who made it.
        effective_at: when it happened, in the time zone it was posted with.
        recorded_at: when the ledger recorded it (UTC).
    """

    id: str
    seq: int
    kind: str
    actor: str
    effective_at: pendulum.DateTime
    recorded_at: pendulum.DateTime


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


class TimeBasis(enum.Enum):
    """Which of an entry's two times a test looks at."""

    RECORDED = "recorded"
    EFFECTIVE = "effective"


@attrs.frozen
class RareActor:
    """An actor who made few entries.

    Attributes:
        actor: the actor.
        count: how many entries they made (among those tested).
        entries: those entries, in chain order.
    """

    actor: str
    count: int
    entries: tuple[EntryRef, ...]


@attrs.frozen
class OffHoursEntry:
    """An entry made outside working hours.

    Attributes:
        entry: the entry.
        local_time: the tested time (recorded or effective) in the tested time zone.
        weekend: whether that day is a weekend day.
    """

    entry: EntryRef
    local_time: pendulum.DateTime
    weekend: bool


@attrs.frozen
class UnusualActors:
    """What :func:`unusual_actors` found.

    Attributes:
        population: how many entries were tested.
        actors: how many different actors made them.
        rare: actors with few entries, fewest first.
        off_hours_count: how many entries were made outside working hours (all of them).
        off_hours: those entries in chain order (at most ``limit`` of them).
        tz: the time zone working hours were read in.
        hours: working hours, ``(first hour, end hour)``: 8 to 19 means 08:00 to 18:59.
        basis: whether the recorded or the effective time was tested.
    """

    population: int
    actors: int
    rare: tuple[RareActor, ...]
    off_hours_count: int
    off_hours: tuple[OffHoursEntry, ...]
    tz: str
    hours: tuple[int, int]
    basis: TimeBasis


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


@attrs.frozen
class RoundAmount:
    """An entry whose amount is an exact multiple of a round figure.

    Attributes:
        entry: the entry.
        amount: its amount (sum of its debits in the currency).
        multiple: the round figure it is a multiple of.
    """

    entry: EntryRef
    amount: Money
    multiple: Money


class SplitReason(enum.Enum):
    """Why :func:`split_under_threshold` reports a group."""

    #: Items each at or under the threshold that, within the window, add up to more than it.
    SUM_ABOVE = "sum-above-threshold"
    #: Two or more items at or just under the threshold (within the margin), not already in a split.
    NEAR_THRESHOLD = "near-threshold"


@attrs.frozen
class SplitItem:
    """One amount that stayed at or under the threshold: an entry, or a whole payment list.

    Attributes:
        entry: the entry (for a list, its first entry).
        list_code: the payment list, when the item is a list (the threshold applies to a list's total).
        entries: how many entries make up the item.
        amount: the item's amount.
        near_threshold: whether it is within the margin under the threshold.
    """

    entry: EntryRef
    list_code: str | None
    entries: int
    amount: Money
    near_threshold: bool


@attrs.frozen
class SplitGroup:
    """Items of one kind, actor and counterparty that look like a split to avoid approval.

    Attributes:
        kind: their entry kind.
        actor: who made them.
        counterparty: ``tag=value`` (beneficiary, grantee, donor, programme, project or pledge),
            or ``accounts=<debited> -> <credited>`` when no such tag is set.
        reason: sum above the threshold within the window, or repeatedly near it.
        items: the items, in effective order.
        total: their sum.
        threshold: the threshold tested.
    """

    kind: str
    actor: str
    counterparty: str
    reason: SplitReason
    items: tuple[SplitItem, ...]
    total: Money
    threshold: Money


@attrs.frozen
class SeveralProgrammes:
    """A beneficiary holding live payments from two or more programmes for one purpose.

    Attributes:
        beneficiary: the pseudonym.
        purpose: the programmes' common purpose.
        programmes: the programme codes.
        entries: the live payment entries (not failed or returned), in chain order.
    """

    beneficiary: str
    purpose: str
    programmes: tuple[str, ...]
    entries: tuple[EntryRef, ...]


class SampleMethod(enum.Enum):
    """How :func:`sample_entries` draws its sample."""

    #: Simple random sampling without replacement: every entry equally likely.
    RANDOM = "random"
    #: Systematic monetary-unit sampling: each entry with probability proportional to its amount.
    MONETARY_UNIT = "monetary-unit"


@attrs.frozen
class SampledEntry:
    """One entry of a sample.

    Attributes:
        id: the entry's id.
        seq: its place in the hash chain.
        kind: its kind.
        amount: its amount in the sample's currency, or ``None`` when the sample has no currency.
        hits: how many monetary-unit selection points fell in it (1 for a random sample).
    """

    id: str
    seq: int
    kind: str
    amount: Money | None
    hits: int


@attrs.frozen
class Sample:
    """A reproducible sample of entries.

    Attributes:
        method: random or monetary-unit.
        seed: the seed it was drawn with.
        requested: the sample size asked for.
        population: how many entries it was drawn from.
        total: the population's total amount (``None`` without a currency).
        interval: the monetary-unit sampling interval (total / requested), rounded down to the
            minor unit for display; the selection uses the exact fraction.  ``None`` for a random sample.
        entries: the sampled entries in chain order.  A monetary-unit sample may hold fewer
            entries than requested: an entry larger than the interval can take several points.
        through_seq: the newest entry the journal held when the sample was drawn.
    """

    method: SampleMethod
    seed: int
    requested: int
    population: int
    total: Money | None
    interval: Money | None
    entries: tuple[SampledEntry, ...]
    through_seq: int


@attrs.frozen
class JournalTestReport:
    """Every journal-entry test, run on one pinned state of the journal.

    Attributes:
        through_seq: the newest entry the journal held when the tests ran.
        known_at: the recorded-time cut-off, if one was given.
        after_close: see :func:`entries_after_close`.
        actors: see :func:`unusual_actors`.
        without_description: see :func:`entries_without_description`.
        round_amounts: see :func:`round_amounts`.
        splits: see :func:`split_under_threshold` (empty when no threshold was given).
        several_programmes: see :func:`same_beneficiary_several_programmes`.
        sample: see :func:`sample_entries`.
        findings: how many findings each test made, by test name, in the order the tests ran.
    """

    through_seq: int
    known_at: pendulum.DateTime | None
    after_close: tuple[AfterClose, ...]
    actors: UnusualActors
    without_description: EntriesWithoutDescription
    round_amounts: tuple[RoundAmount, ...]
    splits: tuple[SplitGroup, ...]
    several_programmes: tuple[SeveralProgrammes, ...]
    sample: Sample
    findings: Mapping[str, int]


# -- the scope of a test ---------------------------------------------------------------------


@attrs.frozen
class _Scope:
    """The entries a test looks at, checked once."""

    through_seq: int
    known_at: int | None
    start: int | None
    end: int | None
    kinds: tuple[str, ...] | None
    exclude_kinds: tuple[str, ...]

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


def _ledger(ledger: object) -> Ledger:
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    return ledger


def _kinds(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidArgument(f"{what} must be a collection of entry kinds, got {value!r}", value=value)
    found = set(value)
    for kind in found:
        if not isinstance(kind, str) or not kind:
            raise InvalidArgument(f"{what} must hold entry kinds (text), got {kind!r}", value=kind)
    return tuple(sorted(found))


def _scope(
    connection: Connection,
    known_at: dt.datetime | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    kinds: Collection[str] | None,
    exclude_kinds: Collection[str],
) -> _Scope:
    known = None if known_at is None else to_micros(known_at, "known_at")
    first = None if start is None else to_micros(start, "start")
    last = None if end is None else to_micros(end, "end")
    if first is not None and last is not None and last <= first:
        raise InvalidArgument(f"end {end} is not after start {start}", start=start, end=end)
    newest = select(func.coalesce(func.max(t.entries.c.seq), 0))
    if known is not None:  # the newest entry recorded by then: a report re-run at known_at names the same one
        newest = newest.where(t.entries.c.recorded_at <= known)
    head = connection.execute(newest).scalar_one()
    return _Scope(
        through_seq=int(head),
        known_at=known,
        start=first,
        end=last,
        kinds=None if kinds is None else _kinds(kinds, "kinds"),
        exclude_kinds=_kinds(exclude_kinds, "exclude_kinds"),
    )


def _entry_columns() -> tuple[Any, ...]:
    e = t.entries.c
    return (e.seq, e.id, e.kind, e.actor, e.effective_at, e.effective_tz, e.recorded_at)


def _ref(row: Any) -> EntryRef:
    return EntryRef(
        id=str(row.id),
        seq=int(row.seq),
        kind=str(row.kind),
        actor=str(row.actor),
        effective_at=from_micros(int(row.effective_at), str(row.effective_tz)),
        recorded_at=from_micros(int(row.recorded_at)),
    )


def _refs(connection: Connection, seqs: Iterable[int]) -> dict[int, EntryRef]:
    """The entries with these sequence numbers, by sequence number."""
    wanted = sorted(set(seqs))
    found: dict[int, EntryRef] = {}
    for index in range(0, len(wanted), _CHUNK):
        chunk = wanted[index : index + _CHUNK]
        for row in connection.execute(select(*_entry_columns()).where(t.entries.c.seq.in_(chunk))):
            found[int(row.seq)] = _ref(row)
    return found


def _units(connection: Connection) -> dict[str, Unit]:
    return {
        row.code: Unit(code=row.code, kind=UnitKind(row.kind), exponent=row.exponent, measure=row.measure)
        for row in connection.execute(select(t.units))
    }


def _amounts(connection: Connection, scope: _Scope, unit: Unit) -> Any:
    """A subquery: the scope's entries with an amount in ``unit``, their columns and ``amount``.

    The amount is the sum of the entry's debits in ``unit``, memo accounts left
    out.  Entries are joined to their postings and grouped by entry (rather than
    joined to an aggregate of all postings), so the plan stays one pass even on
    tables the database has no statistics for yet.
    """
    a, e, p = t.accounts.c, t.entries.c, t.postings.c
    ids = [
        int(i)
        for i in connection.execute(
            select(a.id).where(a.unit_code == unit.code, a.type != AccountType.MEMO.value)
        ).scalars()
    ]
    columns = (*_entry_columns(), e.approved_by, e.reverses)
    # The posting conditions sit inside the sum, not in WHERE: an index on the
    # accounts would tempt PostgreSQL into one index scan per entry.
    debit = case((and_(p.amount > 0, p.account_id.in_(ids or [-1])), p.amount))
    grouped = (
        select(*columns, func.sum(debit).label("amount"))
        .select_from(t.entries.join(t.postings, p.entry_seq == e.seq))
        .where(*scope.where())
        .group_by(*columns)
        .subquery()
    )
    return select(grouped).where(grouped.c.amount.is_not(None)).subquery()


def _currency(value: object, what: str) -> Unit:
    if isinstance(value, Unit):
        unit = value
    elif isinstance(value, str):
        unit = currency(value)
    else:
        raise InvalidArgument(f"{what} must be a currency Unit or code, got {value!r}", value=value)
    if not unit.is_currency:
        raise InvalidArgument(f"{what} must be a currency, got the commodity {unit.code}", value=value)
    return unit


def _positive_int(value: object, what: str, *, zero: bool = False) -> int:
    if type(value) is not int or value < (0 if zero else 1):
        raise InvalidArgument(f"{what} must be an integer of at least {0 if zero else 1}, got {value!r}", value=value)
    return value


def _read(ledger: Ledger) -> Connection:
    return ledger.snapshot()


# -- 1. entries after a close ----------------------------------------------------------------


def entries_after_close(
    ledger: Ledger,
    *,
    window: dt.timedelta = dt.timedelta(days=7),
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
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
    - ``JUST_AFTER_CLOSE``: recorded after a close, effective within ``window``
      after its ``closed_through`` and yet before the close was made: an entry
      back-dated across the close into the first days of the open period, where
      it escaped the closed books.  Reversals (they point at their original)
      and ``Aid.correct`` replacements (tagged ``corrects``) are corrections in
      an open period and are not reported.  Measured against the latest such
      close.  A zero ``window`` turns this finding off.

    Args:
        ledger: the ledger.
        window: how far after ``closed_through`` an entry's effective time counts as just after.
        known_at: only entries and closes recorded at or before this time.
        start: only entries effective at or after this time.
        end: only entries effective before this time.
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        One finding per entry, in chain order.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = _ledger(ledger)
    _window(window, zero=True)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, kinds, exclude_kinds)
        return _after_close(connection, scope, window)


def _window(window: object, *, zero: bool) -> dt.timedelta:
    if not isinstance(window, dt.timedelta) or window < dt.timedelta(0) or (not zero and not window):
        raise InvalidArgument(
            f"window must be a {'non-negative' if zero else 'positive'} timedelta, got {window!r}", value=window
        )
    return window


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _after_close(connection: Connection, scope: _Scope, window: dt.timedelta) -> tuple[AfterClose, ...]:
    c, e, g = t.period_closes.c, t.entries.c, t.entry_tags.c
    closes = connection.execute(select(t.period_closes).where(*scope.known(c.recorded_at)).order_by(c.seq)).all()
    found: dict[int, AfterClose] = {}
    span = _micros(window)
    corrects = select(g.entry_seq).where(g.entry_seq == e.seq, g.name == "corrects").exists()
    for close in closes:
        through, recorded = int(close.closed_through), int(close.recorded_at)

        def finding(row: Any, reason: AfterCloseReason, close: Any = close) -> AfterClose:
            return AfterClose(
                entry=_ref(row),
                reason=reason,
                close_seq=int(close.seq),
                closed_through=from_micros(int(close.closed_through)),
                close_recorded_at=from_micros(int(close.recorded_at)),
            )

        inside = select(*_entry_columns()).where(*scope.where(), e.recorded_at > recorded, e.effective_at <= through)
        for row in connection.execute(inside):
            earlier = found.get(int(row.seq))
            if earlier is None or earlier.reason is not AfterCloseReason.IN_CLOSED_PERIOD:
                found[int(row.seq)] = finding(row, AfterCloseReason.IN_CLOSED_PERIOD)
        if not span:
            continue
        after = select(*_entry_columns()).where(
            *scope.where(),
            e.recorded_at > recorded,
            e.effective_at > through,
            e.effective_at <= through + span,
            e.effective_at < recorded,
            e.reverses.is_(None),
            not_(corrects),
        )
        for row in connection.execute(after):
            earlier = found.get(int(row.seq))
            if earlier is None or earlier.reason is AfterCloseReason.JUST_AFTER_CLOSE:
                found[int(row.seq)] = finding(row, AfterCloseReason.JUST_AFTER_CLOSE)
    return tuple(found[seq] for seq in sorted(found))


# -- 2. unusual actors and off-hours entries ---------------------------------------------------


def unusual_actors(
    ledger: Ledger,
    *,
    max_entries: int | None = 5,
    max_share: Decimal | None = None,
    tz: str | dt.tzinfo = "UTC",
    hours: tuple[int, int] = (8, 19),
    weekend: Collection[int] = (5, 6),
    basis: TimeBasis = TimeBasis.RECORDED,
    limit: int | None = None,
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> UnusualActors:
    """Actors who made few entries, and entries made outside working hours.

    An actor is *rare* when they made at most ``max_entries`` of the tested
    entries, or at most the share ``max_share`` of them (``Decimal("0.001")``
    is one in a thousand; compared exactly).  Either rule may be ``None``, not both.

    An entry is *off hours* when its time (by default the recorded time, when
    the actor made it; ``basis=TimeBasis.EFFECTIVE`` for when it happened), read
    in ``tz``, falls on a ``weekend`` day (Monday is 0) or outside
    ``hours = (first, end)``: ``(8, 19)`` is working time from 08:00 up to 18:59.
    Counting is done in SQL per UTC quarter hour; a quarter hour that is not one
    local hour (a time zone with an odd offset) is read entry by entry.

    Args:
        ledger: the ledger.
        max_entries: an actor with at most this many entries is rare.
        max_share: an actor with at most this share of the entries is rare.
        tz: the time zone of working hours (an IANA name or a ``tzinfo``).
        hours: the first working hour and the hour working time ends (0 to 24).
        weekend: the weekdays that are not working days (Monday is 0, Sunday 6).
        basis: test the recorded (default) or the effective time.
        limit: list at most this many off-hours entries (the count is always complete).
        known_at: only entries recorded at or before this time.
        start: only entries effective at or after this time.
        end: only entries effective before this time.
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The rare actors (fewest entries first) and the off-hours entries.

    Raises:
        InvalidArgument: an argument has the wrong type or value (an unknown time zone, say).
    """
    ledger = _ledger(ledger)
    rule = _ActorRule.of(max_entries, max_share, tz, hours, weekend, basis, limit)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, kinds, exclude_kinds)
        return _unusual_actors(connection, scope, rule)


@attrs.frozen
class _ActorRule:
    max_entries: int | None
    share: tuple[int, int] | None
    zone: dt.tzinfo
    zone_name: str
    hours: tuple[int, int]
    weekend: frozenset[int]
    basis: TimeBasis
    limit: int | None

    @classmethod
    def of(
        cls,
        max_entries: object,
        max_share: object,
        tz: object,
        hours: object,
        weekend: object,
        basis: object,
        limit: object,
    ) -> _ActorRule:
        if max_entries is None and max_share is None:
            raise InvalidArgument("give max_entries, max_share or both")
        entries = None if max_entries is None else _positive_int(max_entries, "max_entries", zero=True)
        share = None
        if max_share is not None:
            if not isinstance(max_share, Decimal) or not max_share.is_finite() or not 0 < max_share <= 1:
                raise InvalidArgument(f"max_share must be a Decimal above 0 and at most 1, got {max_share!r}")
            share = max_share.as_integer_ratio()
        zone, name = _zone(tz)
        if (
            not isinstance(hours, tuple)
            or len(hours) != 2
            or any(type(h) is not int for h in hours)
            or not 0 <= hours[0] < hours[1] <= 24
        ):
            raise InvalidArgument(f"hours must be (first, end) whole hours with 0 <= first < end <= 24, got {hours!r}")
        if isinstance(weekend, str) or not isinstance(weekend, Iterable):
            raise InvalidArgument(f"weekend must be a collection of weekdays 0-6, got {weekend!r}")
        days = frozenset(weekend)
        if any(type(d) is not int or not 0 <= d <= 6 for d in days):
            raise InvalidArgument(f"weekend must hold weekdays 0 (Monday) to 6 (Sunday), got {weekend!r}")
        if not isinstance(basis, TimeBasis):
            raise InvalidArgument(f"basis must be a TimeBasis, got {basis!r}", value=basis)
        shown = None if limit is None else _positive_int(limit, "limit", zero=True)
        return cls(entries, share, zone, name, (hours[0], hours[1]), days, basis, shown)

    def rare(self, count: int, population: int) -> bool:
        if self.max_entries is not None and count <= self.max_entries:
            return True
        return self.share is not None and count * self.share[1] <= self.share[0] * population

    def off(self, local: dt.datetime) -> bool:
        return local.weekday() in self.weekend or not self.hours[0] <= local.hour < self.hours[1]


def _zone(tz: object) -> tuple[dt.tzinfo, str]:
    if isinstance(tz, str):
        return time_zone(tz), tz
    if isinstance(tz, dt.tzinfo):
        return tz, str(getattr(tz, "key", None) or getattr(tz, "name", None) or tz)
    raise InvalidArgument(f"tz must be a time-zone name or a tzinfo, got {tz!r}", value=tz)


def _local(micros: int, zone: dt.tzinfo) -> dt.datetime:
    """The aware time ``micros`` after the epoch, in ``zone`` (exact, DST included)."""
    utc = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
    return utc.astimezone(zone)


def _unusual_actors(
    connection: Connection, scope: _Scope, rule: _ActorRule, off_scope: _Scope | None = None
) -> UnusualActors:
    e = t.entries.c
    counts = {
        str(actor): int(n)
        for actor, n in connection.execute(select(e.actor, func.count()).where(*scope.where()).group_by(e.actor))
    }
    population = sum(counts.values())
    rare_names = sorted((a for a, n in counts.items() if rule.rare(n, population)), key=lambda a: (counts[a], a))
    by_actor: dict[str, list[EntryRef]] = defaultdict(list)
    for index in range(0, len(rare_names), _CHUNK):
        chunk = rare_names[index : index + _CHUNK]
        query = select(*_entry_columns()).where(*scope.where(), e.actor.in_(chunk)).order_by(e.seq)
        for row in connection.execute(query):
            by_actor[str(row.actor)].append(_ref(row))
    rare = tuple(RareActor(a, counts[a], tuple(by_actor[a])) for a in rare_names)
    off_count, off_entries = _off_hours(connection, scope if off_scope is None else off_scope, rule)
    return UnusualActors(
        population=population,
        actors=len(counts),
        rare=rare,
        off_hours_count=off_count,
        off_hours=off_entries,
        tz=rule.zone_name,
        hours=rule.hours,
        basis=rule.basis,
    )


def _off_hours(connection: Connection, scope: _Scope, rule: _ActorRule) -> tuple[int, tuple[OffHoursEntry, ...]]:
    e = t.entries.c
    column = e.recorded_at if rule.basis is TimeBasis.RECORDED else e.effective_at
    # The bucket is computed in a subquery: PostgreSQL would not match the bound
    # parameters of the same expression written in SELECT and in GROUP BY.
    buckets = select(((column + _OFFSET) // _BUCKET).label("bucket")).where(*scope.where()).subquery()
    counts = select(buckets.c.bucket, func.count()).group_by(buckets.c.bucket).order_by(buckets.c.bucket)
    total = 0
    ranges: list[tuple[int, int]] = []  # off-hours time ranges, merged across quarter hours without entries
    mixed: list[tuple[int, int]] = []
    extend = False
    for number, n in connection.execute(counts):
        lo = int(number) * _BUCKET - _OFFSET
        hi = lo + _BUCKET - 1
        first, last = _local(lo, rule.zone), _local(hi, rule.zone)
        same_hour = first.utcoffset() == last.utcoffset() and (first.date(), first.hour) == (last.date(), last.hour)
        if not same_hour:
            mixed.append((lo, hi))
            extend = False
        elif rule.off(first):
            total += int(n)
            if extend:
                ranges[-1] = (ranges[-1][0], hi)
            else:
                ranges.append((lo, hi))
            extend = True
        else:
            extend = False
    # Mixed quarter hours: read their entries one by one.
    exact: list[int] = []
    for index in range(0, len(mixed), _CHUNK):
        chunk = mixed[index : index + _CHUNK]
        query = select(e.seq, column.label("at")).where(*scope.where(), or_(*(column.between(a, b) for a, b in chunk)))
        for seq, at in connection.execute(query):
            if rule.off(_local(int(at), rule.zone)):
                exact.append(int(seq))
    total += len(exact)
    wanted = total if rule.limit is None else min(total, rule.limit)
    seqs: list[int] = sorted(exact)[:wanted]
    for index in range(0, len(ranges), _CHUNK):
        if not wanted:
            break
        chunk = ranges[index : index + _CHUNK]
        query = (
            select(e.seq)
            .where(*scope.where(), or_(*(column.between(a, b) for a, b in chunk)))
            .order_by(e.seq)
            .limit(wanted)
        )
        seqs = sorted(seqs + [int(s) for s in connection.execute(query).scalars()])[:wanted]
    refs = _refs(connection, seqs)
    listed = []
    for seq in seqs:
        ref = refs[seq]
        when = ref.recorded_at if rule.basis is TimeBasis.RECORDED else ref.effective_at
        moment = pendulum.instance(when.astimezone(rule.zone))
        listed.append(OffHoursEntry(entry=ref, local_time=moment, weekend=moment.weekday() in rule.weekend))
    return total, tuple(listed)


# -- 3. entries without a description -------------------------------------------------------------


def entries_without_description(
    ledger: Ledger,
    *,
    limit: int | None = None,
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
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
        known_at: only entries recorded at or before this time.
        start: only entries effective at or after this time.
        end: only entries effective before this time.
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The count, the count per kind, and the entries.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = _ledger(ledger)
    shown = None if limit is None else _positive_int(limit, "limit", zero=True)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, kinds, exclude_kinds)
        return _without_description(connection, scope, shown)


def _without_description(connection: Connection, scope: _Scope, limit: int | None) -> EntriesWithoutDescription:
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
    wanted = count if limit is None else min(count, limit)
    seqs = [int(s) for s in connection.execute(select(e.seq).where(*empty).order_by(e.seq).limit(wanted)).scalars()]
    seqs = sorted(seqs + blank)[:wanted]
    refs = _refs(connection, seqs)
    return EntriesWithoutDescription(
        count=count, by_kind=dict(sorted(by_kind.items())), entries=tuple(refs[s] for s in seqs)
    )


# -- 4. round amounts ---------------------------------------------------------------------------


def round_amounts(
    ledger: Ledger,
    *,
    multiple: Decimal | Money = Decimal("1000000"),
    min_amount: Decimal | Money | None = None,
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> tuple[RoundAmount, ...]:
    """Entries whose amount is an exact multiple of a round figure.

    ``multiple`` as a ``Decimal`` is tested in every currency of the ledger,
    scaled to each currency's minor unit (one million KZT is 100,000,000 tiyn);
    as ``Money``, in its currency only.  ``min_amount`` likewise (``Money`` in
    the same currency as a ``Money`` multiple).  The test is exact: the sum of
    the entry's debits in minor units, modulo the multiple in minor units, is zero.

    Args:
        ledger: the ledger.
        multiple: the round figure (positive).
        min_amount: report only amounts at least this large.
        known_at: only entries recorded at or before this time.
        start: only entries effective at or after this time.
        end: only entries effective before this time.
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The entries, by currency code and then in chain order.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
        InvalidAmount: the multiple has more decimals than a currency allows, or is not positive.
    """
    ledger = _ledger(ledger)
    only = _round_unit(multiple, min_amount)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, kinds, exclude_kinds)
        return _round_amounts(connection, scope, multiple, min_amount, only)


def _round_unit(multiple: object, min_amount: object) -> Unit | None:
    only: Unit | None = None
    for value, what in ((multiple, "multiple"), (min_amount, "min_amount")):
        if value is None and what == "min_amount":
            continue
        if isinstance(value, Money):
            if only is not None and value.unit != only:
                raise InvalidArgument(f"multiple and min_amount are in different currencies ({only} and {value.unit})")
            only = value.unit
        elif not isinstance(value, Decimal) or not value.is_finite():
            raise InvalidAmount(f"{what} must be a Decimal or Money, got {value!r}", value=value)
        amount = value.value if isinstance(value, Money) else value
        if what == "multiple" and amount <= 0:
            raise InvalidAmount(f"multiple must be positive, got {value}", value=value)
        if amount < 0:
            raise InvalidAmount(f"min_amount must not be negative, got {value}", value=value)
    return only


def _round_amounts(
    connection: Connection,
    scope: _Scope,
    multiple: Decimal | Money,
    min_amount: Decimal | Money | None,
    only: Unit | None,
) -> tuple[RoundAmount, ...]:
    found: list[RoundAmount] = []
    units = sorted(
        (u for u in _units(connection).values() if u.is_currency and (only is None or u == only)),
        key=lambda u: u.code,
    )
    if only is not None and not units:
        return ()
    for unit in units:
        step = Amount(multiple.value if isinstance(multiple, Money) else multiple, unit).minor
        least = 0 if min_amount is None else Amount(getattr(min_amount, "value", min_amount), unit).minor
        amounts = _amounts(connection, scope, unit)
        query = (
            select(amounts)
            .where(amounts.c.amount % step == 0, amounts.c.amount >= max(least, 1))
            .order_by(amounts.c.seq)
        )
        round_figure = Money.from_minor(step, unit)
        for row in connection.execute(query):
            found.append(
                RoundAmount(entry=_ref(row), amount=Money.from_minor(int(row.amount), unit), multiple=round_figure)
            )
    return tuple(found)


# -- 5. splits under an approval threshold -----------------------------------------------------------


def split_under_threshold(
    ledger: Ledger,
    threshold: Money,
    *,
    window: dt.timedelta = dt.timedelta(days=7),
    margin: Decimal = Decimal("0.1"),
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> tuple[SplitGroup, ...]:
    """Amounts kept at or under an approval threshold by splitting them: the classic split.

    An *item* is an amount the threshold applies to: an entry, or for entries
    tagged with a payment ``list``, the whole list of one kind (the approval
    rule applies to a list's total).  Only items at or under ``threshold``
    (those that needed no approval: the rule is "above the threshold needs a
    checker"), made without a checker (``approved_by``) and not reversals, are
    tested.  Items are grouped by kind, actor and counterparty: the first of
    the tags :data:`COUNTERPARTY_TAGS` the entry carries (``programme`` for a
    list), or else the accounts it debits and credits.

    In each group:

    - ``SUM_ABOVE``: two or more items effective within ``window`` of the first
      of them that add up to more than the threshold; overlapping windows are
      reported as one group.
    - ``NEAR_THRESHOLD``: two or more items at or just under the threshold
      (at least ``threshold × (1 − margin)``) anywhere in the tested period,
      leaving out items already reported in a ``SUM_ABOVE`` group.

    Args:
        ledger: the ledger.
        threshold: the approval threshold (positive Money; its currency is the one tested).
        window: how close in effective time the parts of a split are.
        margin: how far under the threshold counts as near it (0 to below 1).
        known_at: only entries recorded at or before this time.
        start: only entries effective at or after this time.
        end: only entries effective before this time.
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The groups, by kind, actor, counterparty and first effective time.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = _ledger(ledger)
    _threshold(threshold)
    _window(window, zero=False)
    near = _margin(margin)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, kinds, exclude_kinds)
        return _splits(connection, scope, threshold, window, near)


def _threshold(threshold: object) -> Money:
    if not isinstance(threshold, Money) or threshold.value <= 0:
        raise InvalidAmount(f"threshold must be positive Money, got {threshold!r}", value=threshold)
    return threshold


def _margin(margin: object) -> tuple[int, int]:
    if not isinstance(margin, Decimal) or not margin.is_finite() or not 0 <= margin < 1:
        raise InvalidArgument(f"margin must be a Decimal from 0 to below 1, got {margin!r}", value=margin)
    return margin.as_integer_ratio()


@attrs.frozen
class _Item:
    effective_at: int
    seq: int
    amount: int
    list_code: str | None
    entries: int


def _tag(name: str, seq: Any) -> Any:
    g = t.entry_tags.c
    return select(g.value).where(g.entry_seq == seq, g.name == name).scalar_subquery()


def _splits(
    connection: Connection, scope: _Scope, threshold: Money, window: dt.timedelta, margin: tuple[int, int]
) -> tuple[SplitGroup, ...]:
    unit = threshold.unit
    limit = threshold.minor
    amounts = _amounts(connection, scope, unit)
    base = (
        select(
            amounts.c.seq,
            amounts.c.kind,
            amounts.c.actor,
            amounts.c.effective_at,
            amounts.c.amount,
            _tag("list", amounts.c.seq).label("list_code"),
        )
        .where(amounts.c.approved_by.is_(None), amounts.c.reverses.is_(None))
        .subquery()
    )
    groups: dict[tuple[str, str, str], list[_Item]] = defaultdict(list)
    unnamed: dict[int, tuple[str, str, int, int]] = {}
    counterparty = func.coalesce(*(literal(f"{name}=") + _tag(name, base.c.seq) for name in COUNTERPARTY_TAGS))
    singles = select(base.c.seq, base.c.kind, base.c.actor, base.c.effective_at, base.c.amount, counterparty).where(
        base.c.list_code.is_(None), base.c.amount <= limit
    )
    for seq, kind, actor, effective, amount, party in connection.execute(singles):
        if party is None:
            unnamed[int(seq)] = (str(kind), str(actor), int(effective), int(amount))
            continue
        groups[(str(kind), str(actor), str(party))].append(_Item(int(effective), int(seq), int(amount), None, 1))
    for seq, party in _account_pairs(connection, list(unnamed)).items():
        kind, actor, effective, amount = unnamed[seq]
        groups[(kind, actor, party)].append(_Item(effective, seq, amount, None, 1))
    programme = func.max(_tag("programme", base.c.seq))
    lists = (
        select(
            base.c.kind,
            base.c.actor,
            base.c.list_code,
            func.min(base.c.seq),
            func.min(base.c.effective_at),
            func.sum(base.c.amount),
            func.count(),
            programme,
        )
        .where(base.c.list_code.is_not(None))
        .group_by(base.c.kind, base.c.actor, base.c.list_code)
    )
    for kind, actor, code, seq, effective, amount, n, prog in connection.execute(lists):
        if int(amount) <= limit:
            party = f"programme={prog}" if prog is not None else f"list={code}"
            groups[(str(kind), str(actor), party)].append(
                _Item(int(effective), int(seq), int(amount), str(code), int(n))
            )
    found: list[tuple[tuple[str, str, str], SplitReason, list[_Item]]] = []
    span = _micros(window)
    p, q = margin

    def is_near(item: _Item) -> bool:
        return item.amount * q >= limit * (q - p)

    for key in sorted(groups):
        items = sorted(groups[key], key=lambda i: (i.effective_at, i.seq))
        in_split: set[int] = set()
        for first, last in _sum_windows(items, span, limit):
            found.append((key, SplitReason.SUM_ABOVE, items[first:last]))
            in_split.update(range(first, last))
        near = [item for index, item in enumerate(items) if index not in in_split and is_near(item)]
        if len(near) >= 2:
            found.append((key, SplitReason.NEAR_THRESHOLD, near))
    refs = _refs(connection, (item.seq for _, _, items in found for item in items))
    return tuple(
        SplitGroup(
            kind=kind,
            actor=actor,
            counterparty=party,
            reason=reason,
            items=tuple(
                SplitItem(
                    entry=refs[item.seq],
                    list_code=item.list_code,
                    entries=item.entries,
                    amount=Money.from_minor(item.amount, unit),
                    near_threshold=is_near(item),
                )
                for item in items
            ),
            total=Money.from_minor(sum(item.amount for item in items), unit),
            threshold=threshold,
        )
        for (kind, actor, party), reason, items in found
    )


def _sum_windows(items: Sequence[_Item], span: int, limit: int) -> Iterator[tuple[int, int]]:
    """Index ranges of items whose windows (items within ``span`` of a first one) sum above ``limit``, merged."""
    current: tuple[int, int] | None = None
    last = 0
    running = 0
    for first, item in enumerate(items):
        if last < first:
            last, running = first, 0
        while last < len(items) and items[last].effective_at - item.effective_at <= span:
            running += items[last].amount
            last += 1
        if last - first >= 2 and running > limit:
            if current is not None and first < current[1]:
                current = (current[0], max(current[1], last))
            else:
                if current is not None:
                    yield current
                current = (first, last)
        running -= item.amount
    if current is not None:
        yield current


def _account_pairs(connection: Connection, seqs: list[int]) -> dict[int, str]:
    """``accounts=<debited> -> <credited>`` for each entry, from its postings."""
    p, a = t.postings.c, t.accounts.c
    codes = {int(i): str(c) for i, c in connection.execute(select(a.id, a.code))}
    debits: dict[int, set[str]] = defaultdict(set)
    credits: dict[int, set[str]] = defaultdict(set)
    for index in range(0, len(seqs), _CHUNK):
        chunk = seqs[index : index + _CHUNK]
        for seq, account, amount in connection.execute(
            select(p.entry_seq, p.account_id, p.amount).where(p.entry_seq.in_(chunk))
        ):
            (debits if amount > 0 else credits)[int(seq)].add(codes[int(account)])
    return {
        seq: f"accounts={','.join(sorted(debits[seq]))} -> {','.join(sorted(credits[seq]))}" for seq in sorted(seqs)
    }


# -- 6. one beneficiary, several programmes ---------------------------------------------------------


def same_beneficiary_several_programmes(
    aid_or_ledger: Aid | Ledger,
    purpose: str | None = None,
    *,
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> tuple[SeveralProgrammes, ...]:
    """Beneficiaries holding live payments from two or more programmes for the same purpose.

    A payment is live while its programme claim on the beneficiary is held: a
    failed or returned payment releases it (as in :meth:`aidledger.Aid.double_payments`,
    which this reproduces at any ``known_at``).  Programmes and purposes come
    from the programme records.

    Args:
        aid_or_ledger: the ledger, or an ``Aid`` on it.
        purpose: only programmes with this purpose.
        known_at: only payments and releases recorded at or before this time.
        start: only payments effective at or after this time.
        end: only payments effective before this time.

    Returns:
        One finding per beneficiary and purpose, by purpose and pseudonym.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = aid_or_ledger.ledger if isinstance(aid_or_ledger, Aid) else _ledger(aid_or_ledger)
    if purpose is not None and (not isinstance(purpose, str) or not purpose):
        raise InvalidArgument(f"purpose must be text, got {purpose!r}", value=purpose)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, None, ())
        return _several_programmes(connection, scope, purpose)


def _several_programmes(connection: Connection, scope: _Scope, purpose: str | None) -> tuple[SeveralProgrammes, ...]:
    r = t.records.c
    purposes: dict[str, str] = {}
    for code, body in connection.execute(
        select(r.code, r.body).where(r.kind == "programme", *scope.known(r.recorded_at))
    ):
        stated = str(json.loads(body)["purpose"])
        if purpose is None or stated == purpose:
            purposes[f"{CLAIM_PREFIX}{code}"] = stated
    if len(purposes) < 2:
        return ()
    c, e = t.claims.c, t.entries.c
    releases, released_by = t.claim_releases.alias(), t.entries.alias()
    released = (
        select(releases.c.entry_seq)
        .join(released_by, released_by.c.seq == releases.c.entry_seq)
        .where(
            releases.c.scope == c.scope,
            releases.c.key == c.key,
            releases.c.generation == c.generation,
            released_by.c.seq <= scope.through_seq,
            *scope.known(released_by.c.recorded_at),
        )
        .exists()
    )
    live = [c.scope.in_(sorted(purposes)), *scope.where(), not_(released)]
    what = case(purposes, value=c.scope).label("purpose")
    held = select(what, c.key, c.scope).join(t.entries, e.seq == c.entry_seq).where(*live).subquery()
    flagged = {
        (str(p), str(k))
        for p, k in connection.execute(
            select(held.c.purpose, held.c.key)
            .group_by(held.c.purpose, held.c.key)
            .having(func.count(func.distinct(held.c.scope)) > 1)
        )
    }
    keys = sorted({k for _, k in flagged})
    payments: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for index in range(0, len(keys), _CHUNK):
        chunk = keys[index : index + _CHUNK]
        query = select(c.scope, c.key, c.entry_seq).join(t.entries, e.seq == c.entry_seq).where(*live, c.key.in_(chunk))
        for scope_name, key, seq in connection.execute(query):
            pair = (purposes[str(scope_name)], str(key))
            if pair in flagged:
                payments[pair].append((str(scope_name)[len(CLAIM_PREFIX) :], int(seq)))
    refs = _refs(connection, (seq for held_ in payments.values() for _, seq in held_))
    return tuple(
        SeveralProgrammes(
            beneficiary=key,
            purpose=what_for,
            programmes=tuple(sorted({programme for programme, _ in payments[(what_for, key)]})),
            entries=tuple(refs[seq] for seq in sorted(seq for _, seq in payments[(what_for, key)])),
        )
        for what_for, key in sorted(payments)
    )


# -- 7. samples ----------------------------------------------------------------------------------


def sample_entries(
    ledger: Ledger,
    n: int,
    *,
    seed: int,
    method: SampleMethod = SampleMethod.RANDOM,
    unit: Unit | str | None = None,
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> Sample:
    """A reproducible sample of ``n`` entries: the same seed on the same journal gives the same sample.

    The population is the tested entries in chain order (by ``seq``), so the
    sample is the same on SQLite and PostgreSQL.  With ``unit`` (a currency),
    only entries with an amount in it make up the population.

    - ``RANDOM``: ``random.Random(seed).sample`` of the population's positions:
      every entry equally likely, none twice.  A population of ``n`` or fewer
      entries is taken whole.
    - ``MONETARY_UNIT`` (needs ``unit``): systematic monetary-unit sampling.
      The population's amounts are laid end to end (total ``T`` minor units)
      and cut into ``n`` intervals of ``T / n``; a random start ``s`` in the
      first interval is drawn from the seed, and the entries holding the points
      ``s, s + T/n, …, s + (n − 1)·T/n`` are selected.  Each entry is selected
      with probability proportional to its amount, and an entry at least as
      large as the interval is always selected (``hits`` says how many points
      fell in it).  Arithmetic is exact: the start is ``randrange(T) / n`` minor units.

    Args:
        ledger: the ledger.
        n: the sample size (at least 1).
        seed: the seed (an integer); keep it with the working papers.
        method: random or monetary-unit.
        unit: the currency of the amounts (required for monetary-unit sampling).
        known_at: only entries recorded at or before this time.
        start: only entries effective at or after this time.
        end: only entries effective before this time.
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The sample, with its seed, method, population size and total.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = _ledger(ledger)
    size, rule = _sample_rule(n, seed, method, unit)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, kinds, exclude_kinds)
        return _sample(connection, scope, size, seed, rule, None if unit is None else _currency(unit, "unit"))


def _sample_rule(n: object, seed: object, method: object, unit: object) -> tuple[int, SampleMethod]:
    size = _positive_int(n, "sample size n")
    if type(seed) is not int:
        raise InvalidArgument(f"seed must be an integer, got {seed!r}", value=seed)
    if not isinstance(method, SampleMethod):
        raise InvalidArgument(f"method must be a SampleMethod, got {method!r}", value=method)
    if unit is not None:
        _currency(unit, "unit")
    elif method is SampleMethod.MONETARY_UNIT:
        raise InvalidArgument("monetary-unit sampling needs the currency of the amounts: pass unit")
    return size, method


def _sample(
    connection: Connection, scope: _Scope, n: int, seed: int, method: SampleMethod, unit: Unit | None
) -> Sample:
    e = t.entries.c
    rng = random.Random(seed)  # noqa: S311 - a reproducible audit sample, not a secret
    if unit is None:
        population = select(e.seq, e.id, e.kind, literal(0).label("amount")).where(*scope.where())
    else:
        amounts = _amounts(connection, scope, unit)
        population = select(amounts.c.seq, amounts.c.id, amounts.c.kind, amounts.c.amount)
    sub = population.subquery()
    size, total = connection.execute(select(func.count(), func.coalesce(func.sum(sub.c.amount), 0))).one()
    size, total = int(size), int(total)
    ordered = select(sub).order_by(sub.c.seq).execution_options(yield_per=5000)
    rows: Iterable[Any] = connection.execute(ordered) if size else ()
    picked: list[SampledEntry] = []
    interval: Money | None = None

    def entry(row: Any, hits: int) -> SampledEntry:
        amount = None if unit is None else Money.from_minor(int(row.amount), unit)
        return SampledEntry(id=str(row.id), seq=int(row.seq), kind=str(row.kind), amount=amount, hits=hits)

    if method is SampleMethod.RANDOM:
        chosen = set(rng.sample(range(size), min(n, size)))
        for position, row in enumerate(rows):
            if position in chosen:
                picked.append(entry(row, 1))
    else:
        assert unit is not None
        interval = Money.from_minor(total // n, unit)
        if total > 0:
            origin = rng.randrange(total)  # the start, in 1/n of a minor unit

            def points_below(x: int) -> int:
                return 0 if x <= origin else min(n, (x - origin - 1) // total + 1)

            reached = 0
            for row in rows:
                before, reached = reached, reached + int(row.amount)
                hits = points_below(n * reached) - points_below(n * before)
                if hits:
                    picked.append(entry(row, hits))
    return Sample(
        method=method,
        seed=seed,
        requested=n,
        population=size,
        total=None if unit is None else Money.from_minor(total, unit),
        interval=interval,
        entries=tuple(picked),
        through_seq=scope.through_seq,
    )


# -- all of them ------------------------------------------------------------------------------


def journal_tests(
    ledger: Ledger,
    *,
    threshold: Money | None = None,
    seed: int = 0,
    sample_size: int = 25,
    sample_method: SampleMethod = SampleMethod.RANDOM,
    sample_unit: Unit | str | None = None,
    multiple: Decimal | Money = Decimal("1000000"),
    max_entries: int | None = 5,
    max_share: Decimal | None = None,
    tz: str | dt.tzinfo = "UTC",
    hours: tuple[int, int] = (8, 19),
    window: dt.timedelta = dt.timedelta(days=7),
    margin: Decimal = Decimal("0.1"),
    bulk_kinds: Collection[str] = (),
    limit: int | None = 100,
    known_at: dt.datetime | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> JournalTestReport:
    """Run every journal-entry test on one pinned state of the journal.

    Each test gets the arguments of the same name (see its function); the split
    test runs only with a ``threshold``.  ``bulk_kinds`` are entry kinds posted
    in bulk by programs, left out of the off-hours and no-description tests
    (their counts would drown the hand-made entries).  ``window`` is the split
    window and the after-close window.

    Args:
        ledger: the ledger.
        threshold: the approval threshold for :func:`split_under_threshold`, or ``None`` to skip it.
        seed: the sample's seed.
        sample_size: the sample's size.
        sample_method: random or monetary-unit.
        sample_unit: the sample's currency (required for monetary-unit sampling).
        multiple: the round figure for :func:`round_amounts`.
        max_entries: the rare-actor count for :func:`unusual_actors`.
        max_share: the rare-actor share for :func:`unusual_actors`.
        tz: the time zone of working hours.
        hours: working hours.
        window: the window of :func:`split_under_threshold` and :func:`entries_after_close`.
        margin: the near-threshold margin of :func:`split_under_threshold`.
        bulk_kinds: kinds left out of the off-hours and no-description tests.
        limit: list at most this many off-hours and undescribed entries.
        known_at: only entries recorded at or before this time.
        start: only entries effective at or after this time.
        end: only entries effective before this time.

    Returns:
        The report, with a findings count per test.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = _ledger(ledger)
    if threshold is not None:
        _threshold(threshold)
    near = _margin(margin)
    _window(window, zero=False)
    size, method = _sample_rule(sample_size, seed, sample_method, sample_unit)
    only = _round_unit(multiple, None)
    bulk = _kinds(bulk_kinds, "bulk_kinds")
    rule = _ActorRule.of(max_entries, max_share, tz, hours, (5, 6), TimeBasis.RECORDED, limit)
    shown = None if limit is None else _positive_int(limit, "limit", zero=True)
    with _read(ledger) as connection:
        scope = _scope(connection, known_at, start, end, None, ())
        hand_made = attrs.evolve(scope, exclude_kinds=bulk)
        after_close = _after_close(connection, scope, window)
        actors = _unusual_actors(connection, scope, rule, hand_made)
        undescribed = _without_description(connection, hand_made, shown)
        rounds = _round_amounts(connection, scope, multiple, None, only)
        splits = () if threshold is None else _splits(connection, scope, threshold, window, near)
        several = _several_programmes(connection, scope, None)
        sample = _sample(
            connection,
            scope,
            size,
            seed,
            method,
            None if sample_unit is None else _currency(sample_unit, "sample_unit"),
        )
    findings = {
        "entries after close": len(after_close),
        "rare actors": len(actors.rare),
        "off-hours entries": actors.off_hours_count,
        "entries without description": undescribed.count,
        "round amounts": len(rounds),
        **({} if threshold is None else {"splits under threshold": len(splits)}),
        "one beneficiary, several programmes": len(several),
        "sampled entries": len(sample.entries),
    }
    return JournalTestReport(
        through_seq=scope.through_seq,
        known_at=None if known_at is None else pendulum.instance(known_at),
        after_close=after_close,
        actors=actors,
        without_description=undescribed,
        round_amounts=rounds,
        splits=splits,
        several_programmes=several,
        sample=sample,
        findings=findings,
    )


__all__ = [
    "COUNTERPARTY_TAGS",
    "AfterClose",
    "AfterCloseReason",
    "EntriesWithoutDescription",
    "EntryRef",
    "JournalTestReport",
    "OffHoursEntry",
    "RareActor",
    "RoundAmount",
    "Sample",
    "SampleMethod",
    "SampledEntry",
    "SeveralProgrammes",
    "SplitGroup",
    "SplitItem",
    "SplitReason",
    "TimeBasis",
    "UnusualActors",
    "entries_after_close",
    "entries_without_description",
    "journal_tests",
    "round_amounts",
    "same_beneficiary_several_programmes",
    "sample_entries",
    "split_under_threshold",
]
