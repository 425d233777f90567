"""The balances room: sums of postings, from the maintained tables where possible.

:class:`Balances` reads on a connection it is given: one account's balance,
balances grouped per account and fund (as of an effective time, as known at
a recorded time, or for a slice of tagged entries), and the aggregates the
book checks compare (posting totals, maintained balances, daily deltas,
running extremes).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import and_, distinct, func, select
from sqlalchemy.engine import Connection

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Amount
from aidledger.core.times import MICROS_PER_DAY, to_micros
from aidledger.core.window import Window
from aidledger.ledger.chart import Chart
from aidledger.ledger.results import TrialBalance, TrialBalanceLine
from aidledger.ledger.rows import chunks, mark
from aidledger.store import schema as t
from aidledger.store import window as store_window

#: An account id and a fund id.
Pair = tuple[int, int]


@attrs.frozen
class PairTotal:
    """The postings of one account in one fund, summed.

    Attributes:
        total: their sum in minor units (debits positive).
        postings: how many there are.
        last_effective: the latest effective time among them, in microseconds.
    """

    total: int
    postings: int
    last_effective: int


#: An account id, a fund id and a UTC day (days since 1970-01-01).
Day = tuple[int, int, int]


@attrs.frozen
class DayTotals:
    """One account's postings in one fund on one UTC day, summed, and the maintained delta of that day.

    Attributes:
        posted: the postings summed, in minor units.
        kept: the maintained daily delta, in minor units.
    """

    posted: int
    kept: int


@attrs.frozen
class Extremes:
    """The lowest and highest running balance of a series, in minor units.

    Attributes:
        lowest: the lowest running balance.
        highest: the highest running balance.
    """

    lowest: int
    highest: int


@attrs.frozen(kw_only=True)
class PostingGroup:
    """Postings of one entry kind, effective time, account and fund (and tag values, and entry), summed.

    Attributes:
        kind: the entries' kind.
        effective_at: their effective time in UTC microseconds.
        effective_tz: the time zone of that effective time.
        account: the account's code.
        fund: the fund's code.
        tags: the values of the tags asked for, in that order (``None`` where an entry has none).
        minor: the postings' sum in minor units (debits positive).
        entries: how many entries they belong to.
        recorded: the latest recorded time among those entries, in UTC microseconds.
        seq: the entry's sequence number, when grouped per entry (else ``None``).
        entry_id: the entry's id, when grouped per entry.
        memo: the entry's memo, when grouped per entry.
    """

    kind: str
    effective_at: int
    effective_tz: str
    account: str
    fund: str
    tags: tuple[str | None, ...]
    minor: int
    entries: int
    recorded: int
    seq: int | None = None
    entry_id: str | None = None
    memo: str | None = None


class Balances:
    """Balance reads on one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def of_account(
        self,
        account_id: int,
        fund_id: int | None,
        *,
        window: Window,
        tags: Mapping[str, str] | None = None,
        maintained: bool = True,
    ) -> int:
        """One account's balance in minor units, in one fund or all, over the entries in ``window``.

        With ``maintained``, one fund's balance as known now is read from the
        maintained total (two short queries) rather than summed.
        """
        if maintained and fund_id is not None and _as_of_only(window) and not tags:
            return self.one(account_id, fund_id, window.as_of)
        return sum(self.sums(window, account_ids=[account_id], fund_id=fund_id, tags=tags).values())

    def one(self, account_id: int, fund_id: int, as_of: dt.datetime | None) -> int:
        """One account's balance in one fund: the maintained total, or the sum up to ``as_of`` (two short queries)."""
        marker = mark(self._connection)
        row = self._connection.exec_driver_sql(
            f"SELECT total, last_effective FROM balances WHERE account_id = {marker} AND fund_id = {marker}",
            (account_id, fund_id),
        ).first()
        if row is None:
            return 0
        if as_of is None:
            return int(row[0])
        cutoff = to_micros(as_of, "as_of")
        if row[1] <= cutoff:
            return int(row[0])
        return self.sum_before([account_id], fund_id, cutoff + 1)

    def sum_before(self, account_ids: list[int], fund_id: int | None, before: int) -> int:
        """The sum of postings with effective time strictly before ``before``: whole days, then that day's part.

        Driver SQL in one statement (building it with SQLAlchemy cost more than
        running it), by the maintained days' key and the postings' (account,
        fund, effective time) index.
        """
        marker = mark(self._connection)
        accounts = f"account_id IN ({', '.join([marker] * len(account_ids))})"
        fund = "" if fund_id is None else f" AND fund_id = {marker}"
        funds = () if fund_id is None else (fund_id,)
        day = before // MICROS_PER_DAY
        total = self._connection.exec_driver_sql(
            f"SELECT (SELECT coalesce(sum(delta), 0) FROM balance_days WHERE {accounts}{fund} AND day < {marker})"
            f" + (SELECT coalesce(sum(amount), 0) FROM postings"
            f" WHERE {accounts}{fund} AND effective_at >= {marker} AND effective_at < {marker})",
            (*account_ids, *funds, day, *account_ids, *funds, day * MICROS_PER_DAY, before),
        ).scalar_one()
        return int(total)

    def sums(
        self,
        window: Window,
        *,
        account_ids: list[int] | None = None,
        fund_id: int | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[Pair, int]:
        """Balances per (account id, fund id) over the entries in ``window``, from the maintained tables where possible.

        The maintained tables answer a window bounded by ``as_of`` alone; any
        other bound (a period start, ``known_at``, a digest) or a tag filter is
        summed from the postings themselves.
        """
        if not _as_of_only(window) or tags:
            return self._from_postings(window, account_ids, fund_id, tags)
        as_of = window.as_of
        b = t.balances.c
        current = select(b.account_id, b.fund_id, b.total, b.last_effective)
        if account_ids is not None:
            current = current.where(b.account_id.in_(account_ids))
        if fund_id is not None:
            current = current.where(b.fund_id == fund_id)
        rows = self._connection.execute(current).all()
        if as_of is None:
            return {(r.account_id, r.fund_id): int(r.total) for r in rows}
        cutoff = to_micros(as_of, "as_of")
        result = {(r.account_id, r.fund_id): int(r.total) for r in rows if r.last_effective <= cutoff}
        stale = [(r.account_id, r.fund_id) for r in rows if r.last_effective > cutoff]
        if stale:
            self._add_up_to(result, stale, cutoff)
        return result

    def _from_postings(
        self,
        window: Window,
        account_ids: list[int] | None,
        fund_id: int | None,
        tags: Mapping[str, str] | None,
    ) -> dict[Pair, int]:
        """Reproducing an earlier report, or one slice of the journal: from the postings themselves."""
        p = t.postings.c
        query = (
            select(p.account_id, p.fund_id, func.sum(p.amount))
            .join(t.entries, t.entries.c.seq == p.entry_seq)
            .where(*store_window.conditions(window, t.entries, effective=p.effective_at))
            .group_by(p.account_id, p.fund_id)
        )
        for name, value in (tags or {}).items():
            tag = t.entry_tags.alias()
            query = query.where(
                select(tag.c.entry_seq)
                .where(tag.c.entry_seq == p.entry_seq, tag.c.name == name, tag.c.value == value)
                .exists()
            )
        if account_ids is not None:
            query = query.where(p.account_id.in_(account_ids))
        if fund_id is not None:
            query = query.where(p.fund_id == fund_id)
        return {(a, f): int(m) for a, f, m in self._connection.execute(query)}

    def _add_up_to(self, result: dict[Pair, int], stale: list[Pair], cutoff: int) -> None:
        """Add to ``result`` the balances of ``stale`` pairs up to ``cutoff``: whole days, then that day's part."""
        p = t.postings.c
        day = cutoff // MICROS_PER_DAY
        d = t.balance_days.c
        for chunk in chunks(stale):
            # Accounts in the chunk's accounts and funds in its funds, pairs outside it left out below: SQLite
            # finds these by the index, where a row-value IN of the pairs would scan the whole table.
            accounts, funds = sorted({a for a, _ in chunk}), sorted({f for _, f in chunk})
            days = (
                select(d.account_id, d.fund_id, func.sum(d.delta))
                .where(d.account_id.in_(accounts), d.fund_id.in_(funds), d.day < day)
                .group_by(d.account_id, d.fund_id)
            )
            partial = (
                select(p.account_id, p.fund_id, func.sum(p.amount))
                .where(
                    p.account_id.in_(accounts),
                    p.fund_id.in_(funds),
                    p.effective_at >= day * MICROS_PER_DAY,
                    p.effective_at <= cutoff,
                )
                .group_by(p.account_id, p.fund_id)
            )
            wanted = set(chunk)
            for query in (days, partial):
                for account_id, fund, minor in self._connection.execute(query):
                    if (account_id, fund) in wanted:
                        result[(account_id, fund)] = result.get((account_id, fund), 0) + int(minor)

    def grouped(
        self,
        window: Window,
        *,
        kinds: Collection[str],
        account_types: Collection[AccountType],
        tags: Sequence[str] = (),
        per_entry: bool = False,
    ) -> list[PostingGroup]:
        """Postings in ``window`` of entries of these kinds to accounts of these types, summed per
        effective time, kind, account, fund and the values of ``tags`` (and per entry, with ``per_entry``).

        One grouped query: 360,000 payments of a few programmes are a few rows.
        Ordered by effective time, kind, fund and account (by entry first with ``per_entry``).
        """
        e, p, a, f = t.entries.c, t.postings.c, t.accounts.c, t.funds.c
        joined = t.postings.join(t.entries, e.seq == p.entry_seq)
        joined = joined.join(t.accounts, a.id == p.account_id).join(t.funds, f.id == p.fund_id)
        values: list[Any] = []
        for name in tags:
            alias = t.entry_tags.alias(f"tag_{len(values)}")
            joined = joined.outerjoin(alias, and_(alias.c.entry_seq == e.seq, alias.c.name == name))
            values.append(alias.c.value)
        entry = (e.seq, e.id, e.memo) if per_entry else ()
        keys = (*entry, e.kind, e.effective_at, e.effective_tz, a.code, f.code, *values)
        query = (
            select(*keys, func.sum(p.amount), func.count(distinct(e.seq)), func.max(e.recorded_at))
            .select_from(joined)
            .where(e.kind.in_(list(kinds)), a.type.in_([x.value for x in account_types]))
            .where(*store_window.conditions(window, t.entries, effective=p.effective_at))
            .group_by(*keys)
            .order_by(*entry[:1], e.effective_at, e.kind, f.code, a.code)
        )
        found = []
        for row in self._connection.execute(query):
            head, rest = (row[:3], row[3:]) if per_entry else ((None, None, None), row)
            kind, effective_at, effective_tz, account, fund = rest[:5]
            minor, entries, recorded = rest[-3:]
            found.append(
                PostingGroup(
                    kind=kind,
                    effective_at=int(effective_at),
                    effective_tz=effective_tz,
                    account=account,
                    fund=fund,
                    tags=tuple(rest[5:-3]),
                    minor=int(minor),
                    entries=int(entries),
                    recorded=int(recorded),
                    seq=head[0],
                    entry_id=head[1],
                    memo=head[2],
                )
            )
        return found

    def count_tagged(self, name: str, *, kind: str | None = None) -> dict[str, int]:
        """How many entries (of one kind, if given) carry each value of tag ``name``."""
        e, g = t.entries.c, t.entry_tags.c
        query = select(g.value, func.count()).where(g.name == name).group_by(g.value)
        if kind is not None:
            query = query.join(t.entries, e.seq == g.entry_seq).where(e.kind == kind)
        return {str(value): int(count) for value, count in self._connection.execute(query)}

    # -- what the book checks compare ------------------------------------------------

    def posting_totals(self) -> dict[Pair, PairTotal]:
        """The postings of every account-fund pair, summed from the postings themselves."""
        p = t.postings.c
        query = select(p.account_id, p.fund_id, func.sum(p.amount), func.count(), func.max(p.effective_at)).group_by(
            p.account_id, p.fund_id
        )
        return {
            (a, f): PairTotal(int(total), int(n), int(last)) for a, f, total, n, last in self._connection.execute(query)
        }

    def maintained_totals(self) -> dict[Pair, PairTotal]:
        """The maintained balance of every account-fund pair, as the balances table keeps it."""
        b = t.balances.c
        query = select(b.account_id, b.fund_id, b.total, b.postings, b.last_effective)
        return {
            (a, f): PairTotal(int(total), int(n), int(last)) for a, f, total, n, last in self._connection.execute(query)
        }

    def daily_differences(self) -> dict[Day, DayTotals]:
        """Every (account, fund, UTC day) whose maintained delta differs from its postings summed that day.

        One grouped statement over the postings and the maintained days
        together, so only the differences leave the database; a day is
        ``effective_at // MICROS_PER_DAY`` (floored, as the writer computes it).
        """
        m = MICROS_PER_DAY
        day = f"CASE WHEN effective_at >= 0 THEN effective_at / {m} ELSE -((-effective_at - 1) / {m}) - 1 END"
        rows = self._connection.exec_driver_sql(
            "SELECT account_id, fund_id, day, sum(posted), sum(kept) FROM ("
            f"SELECT account_id, fund_id, {day} AS day, amount AS posted, 0 AS kept FROM postings"
            " UNION ALL SELECT account_id, fund_id, day, 0 AS posted, delta AS kept FROM balance_days"
            ") AS both_sides GROUP BY account_id, fund_id, day HAVING sum(posted) <> sum(kept)"
            " ORDER BY account_id, fund_id, day"
        )
        return {(int(a), int(f), int(d)): DayTotals(int(posted), int(kept)) for a, f, d, posted, kept in rows}

    def account_extremes(self, account_ids: list[int]) -> dict[Pair, Extremes]:
        """The lowest and highest running balance of each of these accounts per fund, each entry netted first."""
        rows = self._running_extremes(account_ids, by_account=True)
        return {(int(row[0]), int(row[1])): Extremes(lowest=int(row[2]), highest=int(row[3])) for row in rows}

    def fund_extremes(self, account_ids: list[int]) -> dict[int, Extremes]:
        """The lowest and highest running sum of these accounts per fund, each entry netted first."""
        rows = self._running_extremes(account_ids, by_account=False)
        return {int(row[0]): Extremes(lowest=int(row[1]), highest=int(row[2])) for row in rows}

    def _running_extremes(self, account_ids: list[int], *, by_account: bool) -> Any:
        p = t.postings.c
        keys = (p.account_id, p.fund_id) if by_account else (p.fund_id,)
        netted = (
            select(*keys, p.effective_at, p.entry_seq, func.sum(p.amount).label("amount"))
            .where(p.account_id.in_(account_ids))
            .group_by(*keys, p.effective_at, p.entry_seq)
            .subquery()
        )
        parts = [netted.c.account_id, netted.c.fund_id] if by_account else [netted.c.fund_id]
        running = select(
            *parts,
            func.sum(netted.c.amount)
            .over(partition_by=parts, order_by=(netted.c.effective_at, netted.c.entry_seq))
            .label("running"),
        ).subquery()
        outer = [running.c.account_id, running.c.fund_id] if by_account else [running.c.fund_id]
        return self._connection.execute(
            select(*outer, func.min(running.c.running), func.max(running.c.running)).group_by(*outer)
        )


def _as_of_only(window: Window) -> bool:
    """Whether the maintained tables can answer ``window``: bounded, if at all, by ``as_of`` alone."""
    return window.start is None and window.end is None and window.known_at is None and window.through is None


def trial_balance(chart: Chart, totals: Mapping[Pair, int]) -> TrialBalance:
    """The trial balance of ``totals`` (balances per account and fund id), named by ``chart``."""
    lines = []
    per_unit: dict[str, int] = defaultdict(int)
    per_fund: dict[tuple[str, str], int] = defaultdict(int)
    unknown: dict[str, int] = {}
    for (account_id, fund_id), minor in totals.items():
        account = chart.account_by_id.get(account_id)
        fund = chart.fund_by_id.get(fund_id)
        if account is None or fund is None:
            unknown[chart.describe(account_id, fund_id)] = minor  # a chart changed behind the library
            continue
        per_unit[account.unit.code] += minor
        per_fund[(fund.code, account.unit.code)] += minor
        if minor:
            lines.append(TrialBalanceLine(account, fund, Amount.from_minor(minor, account.unit)))
    lines.sort(key=lambda line: (line.account.code, line.fund.code))
    units = chart.units
    return TrialBalance(
        lines=tuple(lines),
        totals={u: Amount.from_minor(v, units[u]) for u, v in sorted(per_unit.items())},
        fund_totals={k: Amount.from_minor(v, units[k[1]]) for k, v in sorted(per_fund.items())},
        unknown=dict(sorted(unknown.items())),
    )
