"""Check 7: a reproducible sample of entries, random or monetary-unit."""

from __future__ import annotations

import enum
import random
from collections.abc import Collection, Iterable
from typing import Any

import attrs
import pendulum
from sqlalchemy import func, literal, select
from sqlalchemy.engine import Connection

from aidledger.core.amounts import Amount, Money, Unit
from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.arguments import currency_of, positive_int
from aidledger.queries.entry_testing.entries import amounts, chunks, debits_by_unit, entry_columns, entry_ref
from aidledger.queries.entry_testing.scope import Scope, ledger_of, reading
from aidledger.store import schema as t


class SampleMethod(enum.Enum):
    """How :func:`sample_entries` draws its sample."""

    #: Simple random sampling without replacement: every entry equally likely.
    RANDOM = "random"
    #: Systematic monetary-unit sampling: each entry with probability proportional to its amount.
    MONETARY_UNIT = "monetary-unit"


@attrs.frozen
class SampledEntry:
    """One entry of a sample, with what it takes to pull its voucher.

    Attributes:
        id: the entry's id.
        seq: its place in the hash chain.
        kind: its kind.
        amount: its amount in the sample's currency, or ``None`` when the sample has no currency.
        hits: how many monetary-unit selection points fell in it (1 for a random sample).
        amounts: its amount in every unit it has one in (the sum of its debits in the unit, memo
            accounts left out), in the order of the unit codes: what the voucher shows, whether or
            not the sample has a currency.
        effective_at: when it happened, in the time zone it was posted with (the voucher's date).
        recorded_at: when the ledger recorded it (UTC).
        actor: who made it.
        memo: its description, as posted (often empty for entries posted in bulk).
        source: the source document it was posted from (a statement line, a report), or ``None``.
    """

    id: str
    seq: int
    kind: str
    amount: Money | None
    hits: int
    amounts: tuple[Amount, ...]
    effective_at: pendulum.DateTime
    recorded_at: pendulum.DateTime
    actor: str
    memo: str
    source: str | None


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


def sample_entries(
    ledger: Ledger,
    n: int,
    *,
    seed: int,
    method: SampleMethod = SampleMethod.RANDOM,
    unit: Unit | str | None = None,
    window: Window | None = None,
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
        window: only the entries in this :class:`~aidledger.Window` (all by default).
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The sample, with its seed, method, population size and total.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = ledger_of(ledger)
    rule = SampleRule.of(n, seed, method, unit)
    with reading(ledger, window, kinds, exclude_kinds) as (connection, scope):
        return draw_sample(connection, scope, rule)


@attrs.frozen
class SampleRule:
    """The checked arguments of :func:`sample_entries`: size, seed, method and currency."""

    size: int
    seed: int
    method: SampleMethod
    unit: Unit | None

    @classmethod
    def of(cls, n: object, seed: object, method: object, unit: object) -> SampleRule:
        """Check the arguments of :func:`sample_entries` (see there)."""
        size = positive_int(n, "sample size n")
        if type(seed) is not int:
            raise InvalidArgument(f"seed must be an integer, got {seed!r}", value=seed)
        if not isinstance(method, SampleMethod):
            raise InvalidArgument(f"method must be a SampleMethod, got {method!r}", value=method)
        checked = None if unit is None else currency_of(unit, "unit")
        if method is SampleMethod.MONETARY_UNIT:
            _monetary_unit(checked)
        return cls(size, seed, method, checked)


def _monetary_unit(unit: Unit | None) -> Unit:
    """The currency a monetary-unit sample is drawn in: there is none without one."""
    if unit is None:
        raise InvalidArgument("monetary-unit sampling needs the currency of the amounts: pass unit")
    return unit


def draw_sample(connection: Connection, scope: Scope, rule: SampleRule) -> Sample:
    """:func:`sample_entries` on a scope read in ``connection``."""
    e = t.entries.c
    rng = random.Random(rule.seed)  # noqa: S311 - a reproducible audit sample, not a secret
    if rule.unit is None:
        population = select(e.seq, e.id, e.kind, literal(0).label("amount")).where(*scope.where())
    else:
        entries = amounts(connection, scope, rule.unit)
        population = select(entries.c.seq, entries.c.id, entries.c.kind, entries.c.amount)
    sub = population.subquery()
    size, total = connection.execute(select(func.count(), func.coalesce(func.sum(sub.c.amount), 0))).one()
    size, total = int(size), int(total)
    ordered = select(sub).order_by(sub.c.seq).execution_options(yield_per=5000)
    rows: Iterable[Any] = connection.execute(ordered) if size else ()
    interval: Money | None = None
    if rule.method is SampleMethod.RANDOM:
        chosen = set(rng.sample(range(size), min(rule.size, size)))
        picked = [_Pick(row, 1) for position, row in enumerate(rows) if position in chosen]
    else:
        unit = _monetary_unit(rule.unit)
        interval = Money.from_minor(total // rule.size, unit)
        picked = _monetary_unit_points(rows, rng, rule.size, total)
    return Sample(
        method=rule.method,
        seed=rule.seed,
        requested=rule.size,
        population=size,
        total=None if rule.unit is None else Money.from_minor(total, rule.unit),
        interval=interval,
        entries=_vouched(connection, picked, rule.unit),
        through_seq=scope.through_seq,
    )


@attrs.frozen
class _Pick:
    """A population row the sample took, and how many selection points fell in it."""

    row: Any
    hits: int


def _monetary_unit_points(rows: Iterable[Any], rng: random.Random, n: int, total: int) -> list[_Pick]:
    """The entries holding the ``n`` selection points, the amounts laid end to end in chain order."""
    if total <= 0:
        return []
    origin = rng.randrange(total)  # the start, in 1/n of a minor unit

    def points_below(x: int) -> int:
        return 0 if x <= origin else min(n, (x - origin - 1) // total + 1)

    picked: list[_Pick] = []
    reached = 0
    for row in rows:
        before, reached = reached, reached + int(row.amount)
        hits = points_below(n * reached) - points_below(n * before)
        if hits:
            picked.append(_Pick(row, hits))
    return picked


def _vouched(connection: Connection, picked: list[_Pick], unit: Unit | None) -> tuple[SampledEntry, ...]:
    """The sampled entries, each with its date, actor, memo, source document and amounts."""
    e = t.entries.c
    seqs = [int(pick.row.seq) for pick in picked]
    details: dict[int, Any] = {}
    for chunk in chunks(seqs):
        query = select(*entry_columns(), e.memo, e.source).where(e.seq.in_(chunk))
        details.update((int(row.seq), row) for row in connection.execute(query))
    debits = debits_by_unit(connection, seqs)
    sampled = []
    for pick in picked:
        row, ref = details[int(pick.row.seq)], entry_ref(details[int(pick.row.seq)])
        sampled.append(
            SampledEntry(
                id=ref.id, seq=ref.seq, kind=ref.kind, hits=pick.hits,
                amount=None if unit is None else Money.from_minor(int(pick.row.amount), unit),
                amounts=debits.get(ref.seq, ()), effective_at=ref.effective_at, recorded_at=ref.recorded_at,
                actor=ref.actor, memo=str(row.memo), source=None if row.source is None else str(row.source),
            )
        )  # fmt: skip
    return tuple(sampled)
