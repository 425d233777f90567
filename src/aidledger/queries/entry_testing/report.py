"""Every journal-entry test at once, on one pinned state of the journal: :func:`journal_tests`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from decimal import Decimal

import attrs
from sqlalchemy.engine import Connection

from aidledger.core.amounts import Money, Unit
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.actors import ActorRule, UnusualActors, find_unusual_actors
from aidledger.queries.entry_testing.after_close import AfterClose, find_after_close
from aidledger.queries.entry_testing.arguments import window_of
from aidledger.queries.entry_testing.descriptions import EntriesWithoutDescription, find_without_description
from aidledger.queries.entry_testing.entries import TimeBasis
from aidledger.queries.entry_testing.programmes import SeveralProgrammes, find_several_programmes
from aidledger.queries.entry_testing.round_figures import RoundAmount, find_round_amounts, round_unit
from aidledger.queries.entry_testing.samples import Sample, SampleMethod, SampleRule, draw_sample
from aidledger.queries.entry_testing.scope import Scope, kinds_of, ledger_of, reading
from aidledger.queries.entry_testing.splits import SplitGroup, find_splits, margin_of, threshold_of


@attrs.frozen
class JournalTestReport:
    """Every journal-entry test, run on one pinned state of the journal.

    Attributes:
        through_seq: the newest entry the journal held when the tests ran.
        window: the entries the tests looked at.
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
    window: Window
    after_close: tuple[AfterClose, ...]
    actors: UnusualActors
    without_description: EntriesWithoutDescription
    round_amounts: tuple[RoundAmount, ...]
    splits: tuple[SplitGroup, ...]
    several_programmes: tuple[SeveralProgrammes, ...]
    sample: Sample
    findings: Mapping[str, int]


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
    within: dt.timedelta = dt.timedelta(days=7),
    margin: Decimal = Decimal("0.1"),
    bulk_kinds: Collection[str] = (),
    limit: int | None = 100,
    window: Window | None = None,
) -> JournalTestReport:
    """Run every journal-entry test on one pinned state of the journal.

    Each test gets the arguments of the same name (see its function); the split
    test runs only with a ``threshold``.  ``bulk_kinds`` are entry kinds posted
    in bulk by programs, left out of the off-hours and no-description tests
    (their counts would drown the hand-made entries).  ``within`` is the split
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
        within: the window of :func:`split_under_threshold` and :func:`entries_after_close`.
        margin: the near-threshold margin of :func:`split_under_threshold`.
        bulk_kinds: kinds left out of the off-hours and no-description tests.
        limit: list at most this many off-hours and undescribed entries.
        window: only the entries in this :class:`~aidledger.Window` (all by default).

    Returns:
        The report, with a findings count per test.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = ledger_of(ledger)
    plan = _Plan(  # the arguments are checked in this order, before the journal is read
        threshold=None if threshold is None else threshold_of(threshold),
        margin=margin_of(margin),
        within=window_of(within, zero=False),
        sample=SampleRule.of(sample_size, seed, sample_method, sample_unit),
        multiple=multiple,
        only=round_unit(multiple, None),
        bulk=kinds_of(bulk_kinds, "bulk_kinds"),
        actors=ActorRule.of(max_entries, max_share, tz, hours, (5, 6), TimeBasis.RECORDED, limit),
    )
    with reading(ledger, window) as (connection, scope):
        return _run(connection, scope, plan)


@attrs.frozen(kw_only=True)
class _Plan:
    """The checked arguments of every test :func:`journal_tests` runs."""

    threshold: Money | None
    margin: tuple[int, int]
    within: dt.timedelta
    sample: SampleRule
    multiple: Decimal | Money
    only: Unit | None
    bulk: tuple[str, ...]
    actors: ActorRule


def _run(connection: Connection, scope: Scope, plan: _Plan) -> JournalTestReport:
    hand_made = attrs.evolve(scope, exclude_kinds=plan.bulk)
    after_close = find_after_close(connection, scope, plan.within)
    actors = find_unusual_actors(connection, scope, plan.actors, hand_made)
    undescribed = find_without_description(connection, hand_made, plan.actors.limit)
    rounds = find_round_amounts(connection, scope, plan.multiple, None, plan.only)
    splits = () if plan.threshold is None else find_splits(connection, scope, plan.threshold, plan.within, plan.margin)
    several = find_several_programmes(connection, scope, None)
    sample = draw_sample(connection, scope, plan.sample)
    findings = {
        "entries after close": len(after_close),
        "rare actors": len(actors.rare),
        "off-hours entries": actors.off_hours_count,
        "entries without description": undescribed.count,
        "round amounts": len(rounds),
        **({} if plan.threshold is None else {"splits under threshold": len(splits)}),
        "one beneficiary, several programmes": len(several),
        "sampled entries": len(sample.entries),
    }
    return JournalTestReport(
        through_seq=scope.through_seq,
        window=scope.window,
        after_close=after_close,
        actors=actors,
        without_description=undescribed,
        round_amounts=rounds,
        splits=splits,
        several_programmes=several,
        sample=sample,
        findings=findings,
    )
