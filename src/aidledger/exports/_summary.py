"""A summarised book: the entries of a period, fund and chosen dimensions added up into one transaction.

A campaign of a million entries is too much for Fava or hledger to open at once; its summary is a few thousand
transactions with the same balances.  Every entry balances per fund and unit, so the net of a group of entries
per account balances too: each group is one transaction, dated on its last entry's day (so that the balances on
that day are the detailed book's), with the number of entries it stands for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Final, TextIO

import attrs

from aidledger.core.entries import PostedEntry
from aidledger.core.errors import InvalidArgument
from aidledger.exports._common import _Pair, _Tally
from aidledger.exports.narration import DIMENSIONS

__all__ = ["PERIODS", "SUMMARY_DIMENSIONS", "Group", "check_summary", "summarise", "what", "write_transactions"]

#: The periods a summary can add entries up by.
PERIODS: Final = ("day", "week", "month")
#: The dimensions a summary can keep apart (the fund always is).
SUMMARY_DIMENSIONS: Final = tuple(name for name in DIMENSIONS if name != "fund")


@attrs.define
class Group:
    """Entries of one period, fund and set of dimension values, added up per account.

    Attributes:
        period: the period's label (``2020-04-01``, ``2020-W14``, ``2020-04``).
        fund: the fund's code.
        values: the chosen dimensions' values, in the order asked (``None`` where the entries have none).
        day: the day of the group's last entry, the transaction's date.
        entries: how many entries the group stands for.
        sums: the net per account/fund pair, in minor units, by (account code, fund code).
        last: the sequence number of the last entry counted.
    """

    period: str
    fund: str
    values: tuple[str | None, ...]
    day: dt.date
    entries: int = 0
    sums: dict[tuple[str, str], tuple[_Pair, int]] = attrs.Factory(dict)
    last: int = 0

    def tags(self, by: Sequence[str]) -> list[tuple[str, str]]:
        """The group's dimensions as (name, value) pairs, those it has."""
        return [(name, value) for name, value in zip(by, self.values, strict=True) if value is not None]

    def narration(self, by: Sequence[str]) -> str:
        """``12 entries, 2020-04, programme FAM-50K, region Abai``."""
        words = [f"{self.entries} {'entry' if self.entries == 1 else 'entries'}", self.period]
        words.extend(f"{name} {value}" for name, value in self.tags(by))
        return ", ".join(words)


def check_summary(summary: object, by: object) -> tuple[str | None, tuple[str, ...]]:
    """The period and dimensions of a summary, or InvalidArgument naming the bad value."""
    if summary is not None and summary not in PERIODS:
        raise InvalidArgument(f"summary must be one of {', '.join(PERIODS)}, got {summary!r}", value=summary)
    names = (by,) if isinstance(by, str) else tuple(by) if isinstance(by, Iterable) else None
    if names is None or any(name not in SUMMARY_DIMENSIONS for name in names) or len(set(names)) != len(names):
        raise InvalidArgument(
            f"by must name distinct dimensions among {', '.join(SUMMARY_DIMENSIONS)}, got {by!r}", value=by
        )
    if names and summary is None:
        raise InvalidArgument("by groups a summary: give summary='day', 'week' or 'month' too", value=by)
    return summary, names


def write_transactions(
    out: TextIO,
    entries: Iterable[PostedEntry],
    tally: _Tally,
    summary: tuple[str | None, Sequence[str]],
    detailed: Callable[[PostedEntry, _Tally], str],
    summarised: Callable[[Group, Sequence[str]], str],
) -> None:
    """Write each entry with ``detailed`` or, for a ``summary`` (period, dimensions), each group with ``summarised``."""
    period, by = summary
    if period is None:
        for posted in entries:
            out.write(detailed(posted, tally))
    else:
        groups = summarise(entries, tally, period, by)
        tally.postings = sum(1 for group in groups for _, minor in group.sums.values() if minor)
        for group in groups:
            out.write(summarised(group, by))


def what(period: str | None, by: Sequence[str]) -> str:
    """What the export holds, for its header: the detailed book or a summary by ``period`` and ``by``."""
    if period is None:
        return "one transaction per journal entry and fund"
    return f"a summary, one transaction per {period}, fund{''.join(', ' + name for name in by)}"


def _period(day: dt.date, period: str) -> str:
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def summarise(entries: Iterable[PostedEntry], tally: _Tally, period: str, by: Sequence[str]) -> list[Group]:
    """The entries added up by period, fund and the dimensions ``by``, in date order; ``tally`` counts them."""
    groups: dict[tuple[str, str, tuple[str | None, ...]], Group] = {}
    for posted in entries:
        entry = posted.entry
        day = entry.effective_at.date()
        tally.entries += 1
        values = tuple(entry.tags.get(name) for name in by)
        label = _period(day, period)
        for posting in entry.postings:
            key = (label, posting.fund.code, values)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(label, posting.fund.code, values, day)
            if group.last != posted.seq:
                group.entries += 1
                group.last = posted.seq
            group.day = max(group.day, day)
            pair = tally.add(posting)
            _, total = group.sums.get((posting.account.code, posting.fund.code), (pair, 0))
            group.sums[(posting.account.code, posting.fund.code)] = (pair, total + posting.minor)
    ordered = sorted(groups.values(), key=lambda g: (g.day, g.fund, tuple(v or "" for v in g.values)))
    for group in ordered:
        tally.dated(group.day)
        tally.transactions += 1
    return ordered
