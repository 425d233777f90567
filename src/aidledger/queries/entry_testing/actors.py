"""Check 2: people who made very few entries, and entries made outside working hours."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Final

import attrs
import pendulum
from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from aidledger.core.errors import InvalidArgument
from aidledger.core.times import time_zone
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.arguments import limit_of, listed, positive_int
from aidledger.queries.entry_testing.entries import (
    EntryRef,
    TimeBasis,
    basis_column,
    basis_time,
    chunks,
    entry_columns,
    entry_ref,
    entry_refs,
)
from aidledger.queries.entry_testing.scope import Scope, ledger_of, reading
from aidledger.store import schema as t

#: Bucket width for off-hours counting: every time-zone offset in use today is a
#: multiple of 15 minutes, so a UTC quarter-hour is (almost always) one local hour.
_BUCKET: Final = 15 * 60 * 1_000_000
#: Added before integer division so that every stored time (year 1 onwards) is positive.
_OFFSET: Final = _BUCKET * 100_000_000


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
    window: Window | None = None,
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
        window: only the entries in this :class:`~aidledger.Window` (all by default).
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The rare actors (fewest entries first) and the off-hours entries.

    Raises:
        InvalidArgument: an argument has the wrong type or value (an unknown time zone, say).
    """
    ledger = ledger_of(ledger)
    rule = ActorRule.of(max_entries, max_share, tz, hours, weekend, basis, limit)
    with reading(ledger, window, kinds, exclude_kinds) as (connection, scope):
        return find_unusual_actors(connection, scope, rule)


@attrs.frozen
class ActorRule:
    """The checked arguments of :func:`unusual_actors`: who is rare, and which times are off hours."""

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
    ) -> ActorRule:
        """Check the arguments of :func:`unusual_actors` (see there)."""
        if max_entries is None and max_share is None:
            raise InvalidArgument("give max_entries, max_share or both")
        entries = None if max_entries is None else positive_int(max_entries, "max_entries", zero=True)
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
        return cls(entries, share, zone, name, (hours[0], hours[1]), days, basis, limit_of(limit))

    def rare(self, count: int, population: int) -> bool:
        """Whether an actor with ``count`` of ``population`` entries is rare."""
        if self.max_entries is not None and count <= self.max_entries:
            return True
        return self.share is not None and count * self.share[1] <= self.share[0] * population

    def off(self, local: dt.datetime) -> bool:
        """Whether a local time is outside working hours."""
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


def find_unusual_actors(
    connection: Connection, scope: Scope, rule: ActorRule, off_scope: Scope | None = None
) -> UnusualActors:
    """:func:`unusual_actors` on a scope read in ``connection`` (off hours on ``off_scope``, if given)."""
    e = t.entries.c
    counts = {
        str(actor): int(n)
        for actor, n in connection.execute(select(e.actor, func.count()).where(*scope.where()).group_by(e.actor))
    }
    population = sum(counts.values())
    rare_names = sorted((a for a, n in counts.items() if rule.rare(n, population)), key=lambda a: (counts[a], a))
    by_actor: dict[str, list[EntryRef]] = defaultdict(list)
    for chunk in chunks(rare_names):
        query = select(*entry_columns()).where(*scope.where(), e.actor.in_(chunk)).order_by(e.seq)
        for row in connection.execute(query):
            by_actor[str(row.actor)].append(entry_ref(row))
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


@attrs.frozen
class _Buckets:
    """The tested quarter hours, read from their counts.

    Attributes:
        count: how many entries fall in quarter hours wholly off hours.
        off: those quarter hours as time ranges, merged across quarter hours without entries.
        mixed: quarter hours that are not one local hour, whose entries are read one by one.
    """

    count: int
    off: tuple[tuple[int, int], ...]
    mixed: tuple[tuple[int, int], ...]


def _buckets(connection: Connection, scope: Scope, rule: ActorRule) -> _Buckets:
    column = basis_column(rule.basis)
    # The bucket is computed in a subquery: PostgreSQL would not match the bound
    # parameters of the same expression written in SELECT and in GROUP BY.
    buckets = select(((column + _OFFSET) // _BUCKET).label("bucket")).where(*scope.where()).subquery()
    counts = select(buckets.c.bucket, func.count()).group_by(buckets.c.bucket).order_by(buckets.c.bucket)
    total = 0
    ranges: list[tuple[int, int]] = []
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
    return _Buckets(count=total, off=tuple(ranges), mixed=tuple(mixed))


def _off_hours(connection: Connection, scope: Scope, rule: ActorRule) -> tuple[int, tuple[OffHoursEntry, ...]]:
    e = t.entries.c
    column = basis_column(rule.basis)
    buckets = _buckets(connection, scope, rule)
    exact: list[int] = []
    for chunk in chunks(buckets.mixed):
        query = select(e.seq, column.label("at")).where(*scope.where(), or_(*(column.between(a, b) for a, b in chunk)))
        for seq, at in connection.execute(query):
            if rule.off(_local(int(at), rule.zone)):
                exact.append(int(seq))
    total = buckets.count + len(exact)
    wanted = listed(total, rule.limit)
    seqs: list[int] = sorted(exact)[:wanted]
    for chunk in chunks(buckets.off) if wanted else ():
        query = (
            select(e.seq)
            .where(*scope.where(), or_(*(column.between(a, b) for a, b in chunk)))
            .order_by(e.seq)
            .limit(wanted)
        )
        seqs = sorted(seqs + [int(s) for s in connection.execute(query).scalars()])[:wanted]
    refs = entry_refs(connection, seqs)
    found = []
    for seq in seqs:
        moment = pendulum.instance(basis_time(refs[seq], rule.basis).astimezone(rule.zone))
        found.append(OffHoursEntry(entry=refs[seq], local_time=moment, weekend=moment.weekday() in rule.weekend))
    return total, tuple(found)
