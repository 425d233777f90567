"""The posting room: an entry checked against the chart, then against what is stored, then written.

:func:`prepare` checks an entry against the chart and computes its canonical
fields and fingerprint, before any transaction.  :class:`Poster` does the
rest on the connection of one write transaction, in this order: idempotency
keys, closed periods, reversals, once-only claims, the approvals the policies
in force ask for, balances that may not go below zero, and last the rows
(entries, postings, tags, claims, maintained balances and the ledger head).
A refusal raises before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import pendulum
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from aidledger.core import hashing
from aidledger.core.amounts import MAX_MINOR, Amount, Unit
from aidledger.core.entries import JournalEntry, PostedEntry, check_text
from aidledger.core.errors import (
    AlreadyReversed,
    DuplicateClaim,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidAmount,
    InvalidArgument,
    PeriodClosed,
    UnknownAccount,
    UnknownFund,
)
from aidledger.core.formatting import format_time
from aidledger.core.times import MICROS_PER_DAY, day_date, from_micros, to_micros, zone_name
from aidledger.ledger import approvals
from aidledger.ledger.balances import Balances
from aidledger.ledger.chart import NET_ASSET_TYPES, Charts
from aidledger.ledger.reader import Reader
from aidledger.ledger.results import BatchResult, SkippedEntry
from aidledger.ledger.rows import insert_rows, rows_in
from aidledger.store import log as store_log
from aidledger.store import schema as t

_ENTRY_COLUMNS: Final = (
    "seq",
    "id",
    "idempotency_key",
    "kind",
    "effective_at",
    "effective_tz",
    "recorded_at",
    "actor",
    "memo",
    "source",
    "reverses",
    "approved_by",
    "prev_hash",
    "hash",
)
_POSTING_COLUMNS: Final = ("entry_seq", "line", "account_id", "fund_id", "amount", "effective_at")
_CLAIM_COLUMNS: Final = ("scope", "key", "generation", "entry_seq")

#: ``entry_hash`` is given the fields' fingerprint already made.
_NO_FIELDS: Final[Mapping[str, Any]] = {}
#: A change to one balance: effective time, position in the batch, minor units.
_Delta = tuple[int, int, int]
#: Claim and release generations by (batch index, scope, key).
_Generations = dict[tuple[int, str, str], int]


@attrs.frozen
class Prepared:
    """An entry checked against the chart, with its canonical fields' fingerprint, ready to store."""

    entry: JournalEntry
    effective_at: int
    tz: str
    postings: tuple[tuple[str, str, str, int], ...]  # account code, fund code, unit code, minor
    fingerprint: str
    lines: tuple[tuple[int, int, int], ...]  # account id, fund id, minor

    def fields(self) -> dict[str, Any]:
        """The entry's canonical fields without the chart (:func:`aidledger.core.hashing.draft_fields`)."""
        return hashing.draft_fields(**_canonical(self.entry, self.effective_at, self.tz, self.postings), chart=None)


def _canonical(
    entry: JournalEntry, effective_at: int, tz: str, postings: Sequence[tuple[str, str, str, int]]
) -> dict[str, Any]:
    """What an entry's canonical fields are made of: the arguments of ``draft_fields`` and ``stored_fields_text``
    but the chart."""
    return {
        "kind": entry.kind, "effective_at": effective_at, "effective_tz": tz, "actor": entry.actor,
        "memo": entry.memo, "idempotency_key": entry.idempotency_key, "source": entry.source, "tags": entry.tags,
        "claims": [(c.scope, c.key) for c in entry.claims], "releases": [(c.scope, c.key) for c in entry.releases],
        "reverses": entry.reverses, "approved_by": entry.approved_by, "postings": postings,
    }  # fmt: skip


def prepare(entry: JournalEntry, charts: Charts) -> Prepared:
    """Check ``entry``'s accounts and funds against the chart; compute its canonical fields and fingerprint."""
    for posting in entry.postings:  # may read a newer chart first
        charts.known_account(posting.account.code)
        charts.known_fund(posting.fund.code)
    chart = charts.current
    lines: list[tuple[int, int, int]] = []
    canonical: list[tuple[str, str, str, int]] = []
    referenced: dict[tuple[str, str], None] = {}
    for posting in entry.postings:
        code = posting.account.code
        account_id, stored = chart.accounts[code]
        if stored is not posting.account and stored != posting.account:
            raise UnknownAccount(
                f"account {code} is defined as {stored}, not as the {posting.account} in this entry",
                code=code,
            )
        fund_code = posting.fund.code
        fund_id, stored_fund = chart.funds[fund_code]
        if stored_fund is not posting.fund and stored_fund != posting.fund:
            raise UnknownFund(
                f"fund {fund_code} is defined as {stored_fund}, not as the {posting.fund} in this entry",
                code=fund_code,
            )
        minor = posting.minor
        lines.append((account_id, fund_id, minor))
        canonical.append((code, fund_code, posting.amount.unit.code, minor))
        referenced[("account", code)] = None
        referenced[("fund", fund_code)] = None
        referenced[("unit", posting.amount.unit.code)] = None
    effective = to_micros(entry.effective_at)
    tz = zone_name(entry.effective_at)
    # The fingerprint hashes draft_fields' JSON with the chart's text, written without json.dumps (same bytes).
    text = hashing.stored_fields_text(**_canonical(entry, effective, tz, canonical), chart=chart.text(referenced))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Prepared(entry, effective, tz, tuple(canonical), digest, tuple(lines))


def close_period(
    connection: Connection, clock: Callable[[], dt.datetime], through: dt.datetime, actor: str, head_recorded: int
) -> pendulum.DateTime:
    """Store a period close through ``through`` in its own chain; refuse one earlier than the last."""
    closing = to_micros(through, "closing time")
    check_text("actor", actor, allow_empty=False, limit=200)
    c = t.period_closes.c
    last = connection.execute(select(c.seq, c.closed_through, c.hash).order_by(c.seq.desc()).limit(1)).first()
    if last is not None and closing < last.closed_through:
        raise PeriodClosed(
            f"the ledger is already closed through "
            f"{format_time(from_micros(last.closed_through), zone_name(through))}, after {format_time(through)}",
            closed_through=from_micros(last.closed_through),
        )
    seq = 1 if last is None else last.seq + 1
    prev = hashing.GENESIS if last is None else last.hash
    # Never earlier than the newest entry: a close must not look older than entries it covers.
    recorded = max(to_micros(clock(), "clock time"), head_recorded)
    digest = hashing.close_hash(seq=seq, closed_through=closing, actor=actor, recorded_at=recorded, prev_hash=prev)
    connection.execute(
        insert(t.period_closes).values(
            seq=seq, closed_through=closing, actor=actor, recorded_at=recorded, prev_hash=prev, hash=digest
        )
    )
    store_log.append(connection, [store_log.Item("close", str(seq), digest)])
    return from_micros(closing, zone_name(through))


class Poster:
    """Posts prepared entries on the connection of one write transaction."""

    def __init__(self, connection: Connection, charts: Charts, clock: Callable[[], dt.datetime]) -> None:
        self._connection = connection
        self._charts = charts
        self._clock = clock

    def post(
        self,
        batch: list[Prepared],
        head_seq: int,
        head_hash: str,
        head_recorded: int,
        *,
        skip_claimed: bool = False,
        batch_code: str | None = None,
    ) -> BatchResult:
        """Check ``batch`` against what is stored and write it after the head ``head_seq:head_hash``.

        ``batch_code`` names the pending batch whose approvals the entries carry
        (see :meth:`aidledger.Ledger.approve`); without one they have none.
        """
        results: list[PostedEntry | None] = [None] * len(batch)
        fresh = self._resolve_idempotency(batch, results)
        skipped: list[SkippedEntry] = []
        if fresh:
            # Periods and reversals before claims: a second reversal is AlreadyReversed, not a free claim released.
            self._check_closed_periods([batch[i] for i in fresh])
            self._check_reversals([batch[i] for i in fresh])
            generations, refused = self._check_claims(batch, fresh, skip=skip_claimed)
            if refused:
                skipped = [SkippedEntry(index, batch[index].entry, error) for index, error in refused.items()]
                fresh = [i for i in fresh if i not in refused]
        todo = [batch[i] for i in fresh]
        if todo:
            approvals.check_post(self._connection, self._charts, [p.entry for p in todo], batch_code)
            balances = self._check_balances(todo)
            written = self._store(todo, fresh, generations, head_seq, head_hash, head_recorded, balances)
            for index, posted in zip(fresh, written, strict=True):
                results[index] = posted
        # Duplicates of a key inside this batch share the first one's result.
        first: dict[str, PostedEntry] = {}
        skipped_indexes = {s.index for s in skipped}
        for index, prepared in enumerate(batch):
            key = prepared.entry.idempotency_key
            found = results[index]
            if found is not None and key is not None:
                first.setdefault(key, found)
            elif found is None and key is not None and index not in skipped_indexes and key in first:
                results[index] = first[key]
        return BatchResult(
            posted=tuple(r for r in results if r is not None),
            skipped=tuple(skipped),
            results=tuple(results),
        )

    # -- idempotency, periods, reversals, claims ------------------------------------

    def _resolve_idempotency(self, batch: list[Prepared], results: list[PostedEntry | None]) -> list[int]:
        """Fill in results for keys already posted; return the indexes still to post."""
        seen: dict[str, Prepared] = {}
        fresh: list[int] = []
        for index, prepared in enumerate(batch):
            key = prepared.entry.idempotency_key
            if key is None:
                fresh.append(index)
                continue
            earlier = seen.get(key)
            if earlier is not None:
                if earlier.fingerprint != prepared.fingerprint:
                    raise IdempotencyConflict(
                        f"idempotency key {key!r} is used twice in this batch for different entries", key=key
                    )
                continue
            seen[key] = prepared
            fresh.append(index)
        if not seen:
            return fresh
        stored: dict[str, str] = dict(
            rows_in(self._connection, t.entries, ("idempotency_key", "id"), ("idempotency_key",), [(k,) for k in seen])
        )
        if not stored:
            return fresh
        still: list[int] = []
        for index in fresh:
            prepared = batch[index]
            key = prepared.entry.idempotency_key
            if key is None or key not in stored:
                still.append(index)
                continue
            original = Reader(self._connection, self._charts).entry(stored[key])
            if prepare(original.entry, self._charts).fingerprint != prepared.fingerprint:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was already used for entry {original.id} "
                    f"with different content; nothing was posted",
                    key=key,
                    entry_id=original.id,
                )
            results[index] = original
        return still

    def _check_closed_periods(self, batch: list[Prepared]) -> None:
        closed = Reader(self._connection, self._charts).closed_through()
        if closed is None:
            return
        for prepared in batch:
            if prepared.effective_at <= closed:
                raise PeriodClosed(
                    f"entry effective {format_time(prepared.entry.effective_at)} falls in a closed period (closed "
                    f"through {format_time(from_micros(closed), zone_name(prepared.entry.effective_at))}); "
                    f"post the correction in an open period",
                    effective_at=prepared.entry.effective_at,
                    closed_through=from_micros(closed),
                )

    def _check_reversals(self, batch: list[Prepared]) -> None:
        targets: dict[str, Prepared] = {}
        for prepared in batch:
            target = prepared.entry.reverses
            if target is None:
                continue
            if target in targets:
                raise AlreadyReversed(f"entry {target} is reversed twice in this batch", entry_id=target)
            targets[target] = prepared
        for target, prepared in targets.items():
            if self._connection.execute(select(t.entries.c.id).where(t.entries.c.reverses == target)).first():
                raise AlreadyReversed(f"entry {target} was already reversed", entry_id=target)
            original = Reader(self._connection, self._charts).entry(target)
            if original.entry.reverses is not None:
                raise InvalidArgument(f"entry {target} is itself a reversal; post a new entry instead", entry_id=target)
            mirror = [(p.account, p.fund, -p.amount) for p in original.entry.postings]
            actual = [(p.account, p.fund, p.amount) for p in prepared.entry.postings]
            if mirror != actual:
                raise InvalidArgument(
                    f"a reversal must mirror entry {target} exactly (same lines, opposite signs)",
                    entry_id=target,
                )

    def _check_claims(
        self, batch: list[Prepared], indexes: list[int], *, skip: bool
    ) -> tuple[_Generations, dict[int, DuplicateClaim]]:
        """Assign each claim and release its generation; refuse (or, with ``skip``, set aside) taken claims.

        A claim is free when it was released as often as it was taken; taking it
        makes generation ``n`` (the number of earlier takings), releasing it
        releases the newest generation.  Returns the generations by (batch index,
        scope, key) and the entries set aside.
        """
        pairs = {(c.scope, c.key) for i in indexes for c in (*batch[i].entry.claims, *batch[i].entry.releases)}
        taken, released, holder = self._claim_counts(pairs)
        generations: _Generations = {}
        refused: dict[int, DuplicateClaim] = {}
        for index in indexes:
            entry = batch[index].entry
            problem: DuplicateClaim | None = None
            for claim in entry.claims:
                pair = (claim.scope, claim.key)
                if taken[pair] > released[pair]:
                    where = f"entry #{holder[pair]}" if pair in holder else "an earlier entry of this batch"
                    problem = DuplicateClaim(
                        f"claim {claim.key!r} in {claim.scope!r} is already taken by {where}",
                        scope=claim.scope,
                        key=claim.key,
                    )
                    break
            for claim in entry.releases:
                pair = (claim.scope, claim.key)
                if taken[pair] == released[pair]:
                    raise InvalidArgument(
                        f"claim {claim.key!r} in {claim.scope!r} is not taken, so it cannot be released",
                        scope=claim.scope,
                        key=claim.key,
                    )
            if problem is not None:
                if not skip:
                    raise problem
                refused[index] = problem
                continue
            for claim in entry.claims:
                pair = (claim.scope, claim.key)
                generations[(index, *pair)] = taken[pair]
                taken[pair] += 1
                holder.pop(pair, None)
            for claim in entry.releases:
                pair = (claim.scope, claim.key)
                generations[(index, *pair)] = released[pair]
                released[pair] += 1
        return generations, refused

    def _claim_counts(
        self, pairs: set[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int], dict[tuple[str, str], str]]:
        """How often each claim was taken and released, and the newest entry that took it."""
        taken: dict[tuple[str, str], int] = defaultdict(int)
        released: dict[tuple[str, str], int] = defaultdict(int)
        holder: dict[tuple[str, str], str] = {}
        for table, counts in ((t.claims, taken), (t.claim_releases, released)):
            for scope, key, count, last_seq in rows_in(
                self._connection,
                table,
                ("scope", "key", "count(*)", "max(entry_seq)"),
                ("scope", "key"),
                sorted(pairs),
                group=True,
            ):
                counts[(scope, key)] = int(count)
                if table is t.claims:
                    holder[(scope, key)] = str(last_seq)
        return taken, released, holder

    # -- balance invariants -----------------------------------------------------------

    def _check_balances(self, batch: list[Prepared]) -> dict[tuple[int, int], tuple[int, int]]:
        """Refuse the batch if any account or fund would go below zero at any effective time.

        Returns the maintained balances of every account and fund the batch
        posts to, as read for the check (``_store`` updates them: one read).
        """
        chart = self._charts.current
        by_account: dict[tuple[int, int], list[_Delta]] = defaultdict(list)
        by_fund: dict[tuple[int, str], list[_Delta]] = defaultdict(list)
        pairs: dict[tuple[int, int], None] = {}
        for order, prepared in enumerate(batch):
            eff = prepared.effective_at
            for account_id, fund_id, minor in prepared.lines:
                pairs[(account_id, fund_id)] = None
                account = chart.account_by_id[account_id]
                if not account.allow_negative and minor * account.normal_side.value < 0:
                    by_account[(account_id, fund_id)].append((eff, order, minor))
                if account.type in NET_ASSET_TYPES:
                    by_fund[(fund_id, account.unit.code)].append((eff, order, minor))
        balances = self._balance_rows(list(pairs))
        if by_account:
            self._check_accounts(batch, by_account, balances)
        # Funds: only those that may not go negative and lose net assets somewhere in the batch.
        for (fund_id, unit_code), deltas in by_fund.items():
            if chart.fund_by_id[fund_id].allow_negative or not any(d[2] < 0 for d in deltas):
                continue
            account_ids = chart.net_asset_ids(unit_code)
            total, last = self._fund_row(fund_id, account_ids)
            fund = chart.fund_by_id[fund_id]
            what = f"fund {fund.code} ({unit_code} net assets)"
            self._check_running(account_ids, fund_id, total, last, deltas, 1, batch, what)
        return balances

    def _check_accounts(
        self,
        batch: list[Prepared],
        by_account: dict[tuple[int, int], list[_Delta]],
        balances: dict[tuple[int, int], tuple[int, int]],
    ) -> None:
        """Refuse the batch if an account that may not go negative would, in a fund."""
        chart = self._charts.current
        # The account's check must see every line of the batch on it, not only the decreases.
        full: dict[tuple[int, int], list[_Delta]] = defaultdict(list)
        for order, prepared in enumerate(batch):
            for account_id, fund_id, minor in prepared.lines:
                if (account_id, fund_id) in by_account:
                    full[(account_id, fund_id)].append((prepared.effective_at, order, minor))
        for key, deltas in full.items():
            account = chart.account_by_id[key[0]]
            total, last = balances.get(key, (0, None))
            what = f"account {account.code} in fund {chart.fund_by_id[key[1]].code}"
            self._check_running([key[0]], key[1], total, last, deltas, account.normal_side.value, batch, what)

    def _balance_rows(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int]]:
        columns = ("account_id", "fund_id", "total", "last_effective")
        rows = rows_in(self._connection, t.balances, columns, ("account_id", "fund_id"), keys)
        return {(account_id, fund_id): (total, last) for account_id, fund_id, total, last in rows}

    def _fund_row(self, fund_id: int, account_ids: list[int]) -> tuple[int, int | None]:
        row = self._connection.execute(
            select(func.coalesce(func.sum(t.balances.c.total), 0), func.max(t.balances.c.last_effective)).where(
                t.balances.c.fund_id == fund_id, t.balances.c.account_id.in_(account_ids)
            )
        ).one()
        return int(row[0]), row[1]

    def _check_running(
        self,
        account_ids: list[int],
        fund_id: int,
        total: int,
        last_effective: int | None,
        deltas: list[_Delta],
        sign: int,
        batch: list[Prepared],
        what: str,
    ) -> None:
        """Walk the balance forward in effective order and refuse if it dips below zero.

        An entry is one step: its lines on the same balance are netted first, so
        paying a liability from the bank does not look like a dip in net assets.
        """
        netted: dict[tuple[int, int], int] = defaultdict(int)
        for effective, order, minor in deltas:
            netted[(effective, order)] += minor
        deltas = sorted((effective, order, minor) for (effective, order), minor in netted.items())
        earliest = deltas[0][0]
        if last_effective is None or earliest >= last_effective:
            # The usual case: everything lands after what is stored.
            running = total
            events: Iterable[tuple[int, int, int, bool]] = ((e, o, m, True) for e, o, m in deltas)
        else:
            running, events = self._replayed(account_ids, fund_id, earliest, deltas)
        unit = self._charts.current.account_by_id[account_ids[0]].unit
        for effective, order, minor, new in events:
            running += minor
            if running * sign >= 0:
                continue
            short = Amount.from_minor(-running * sign, unit)
            if new:
                entry = batch[order].entry
                message = (
                    f"{what} would go {short:,} below zero at "
                    f"{format_time(from_micros(effective), zone_name(entry.effective_at))} (entry {entry.kind!r}, "
                    f"memo {entry.memo!r}); nothing was posted"
                )
            else:
                # A stored posting after a back-dated withdrawal now dips below zero.
                entry = batch[deltas[0][1]].entry
                message = (
                    f"{what} would go {short:,} below zero at "
                    f"{format_time(from_micros(effective), zone_name(entry.effective_at))} "
                    f"because of a back-dated entry {entry.kind!r} effective "
                    f"{format_time(entry.effective_at)}; nothing was posted"
                )
            raise InsufficientBalance(message, what=what, shortfall=short, effective_at=from_micros(effective))

    def _replayed(
        self, account_ids: list[int], fund_id: int, earliest: int, deltas: list[_Delta]
    ) -> tuple[int, Iterable[tuple[int, int, int, bool]]]:
        """Back-dated: the balance before ``earliest``, and stored postings from then on merged with the new ones."""
        running = Balances(self._connection).sum_before(account_ids, fund_id, earliest)
        stored = self._connection.execute(
            select(t.postings.c.effective_at, t.postings.c.entry_seq, t.postings.c.amount)
            .where(
                t.postings.c.account_id.in_(account_ids),
                t.postings.c.fund_id == fund_id,
                t.postings.c.effective_at >= earliest,
            )
            .order_by(t.postings.c.effective_at, t.postings.c.entry_seq)
        ).all()
        stored_netted: dict[tuple[int, int], int] = defaultdict(int)
        for effective, seq, minor in stored:
            stored_netted[(effective, seq)] += minor
        # Stored postings come before new ones at the same effective time.
        merged = [(e, 0, s, m, False) for (e, s), m in stored_netted.items()]
        merged += [(e, 1, o, m, True) for e, o, m in deltas]
        merged.sort()
        return running, ((e, o, m, new) for e, _, o, m, new in merged)

    # -- storing ------------------------------------------------------------------------

    def _store(
        self,
        batch: list[Prepared],
        indexes: list[int],
        generations: _Generations,
        head_seq: int,
        head_hash: str,
        head_recorded: int,
        balances: dict[tuple[int, int], tuple[int, int]],
    ) -> list[PostedEntry]:
        """Write the rows of ``batch``; ``balances`` are the stored balances of every pair it posts to."""
        recorded = max(to_micros(self._clock(), "clock time"), head_recorded)
        recorded_at = from_micros(recorded)
        rows = _Rows()
        posted: list[PostedEntry] = []
        seq, prev = head_seq, head_hash
        for index, prepared in zip(indexes, batch, strict=True):
            seq += 1
            entry_id = str(uuid.uuid4())
            digest = hashing.entry_hash(
                _NO_FIELDS,
                seq=seq,
                entry_id=entry_id,
                recorded_at=recorded,
                prev_hash=prev,
                fields_hash=prepared.fingerprint,
            )
            rows.add(prepared, index, generations, seq, entry_id, recorded, prev, digest)
            posted.append(
                PostedEntry(
                    entry=prepared.entry, seq=seq, id=entry_id, recorded_at=recorded_at, prev_hash=prev, hash=digest
                )
            )
            prev = digest
        connection = self._connection
        days = self._day_rows(list(rows.day_delta))
        self._check_limits(rows, balances, days)  # before anything is written
        insert_rows(connection, t.entries, _ENTRY_COLUMNS, rows.entries)
        insert_rows(connection, t.postings, _POSTING_COLUMNS, rows.postings)
        insert_rows(connection, t.entry_tags, ("entry_seq", "name", "value"), rows.tags)
        insert_rows(connection, t.claims, _CLAIM_COLUMNS, rows.claims)
        insert_rows(connection, t.claim_releases, _CLAIM_COLUMNS, rows.releases)
        store_log.append(connection, (store_log.Item("entry", str(p.seq), p.hash, p.seq) for p in posted))
        self._update_balances(rows.balance_delta, balances)
        self._update_days(rows.day_delta, days)
        connection.execute(
            update(t.ledger_head).where(t.ledger_head.c.id == 1).values(seq=seq, hash=prev, recorded_at=recorded)
        )
        return posted

    def _day_rows(self, keys: list[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
        columns = ("account_id", "fund_id", "day", "delta")
        rows = rows_in(self._connection, t.balance_days, columns, ("account_id", "fund_id", "day"), keys)
        return {(account_id, fund_id, day): delta for account_id, fund_id, day, delta in rows}

    def _check_limits(
        self,
        rows: _Rows,
        balances: dict[tuple[int, int], tuple[int, int]],
        days: dict[tuple[int, int, int], int],
    ) -> None:
        """Refuse the batch if a maintained balance or daily delta would go beyond MAX_MINOR."""
        for (account_id, fund_id), (delta, _, _) in rows.balance_delta.items():
            stored = balances.get((account_id, fund_id), (0, 0))[0]
            if abs(stored + delta) > MAX_MINOR:
                raise self._beyond(account_id, fund_id, stored, delta, "balance")
        for (account_id, fund_id, day), delta in rows.day_delta.items():
            stored = days.get((account_id, fund_id, day), 0)
            if abs(stored + delta) > MAX_MINOR:
                when = f"{day_date(day).isoformat()} (UTC)"
                raise self._beyond(account_id, fund_id, stored, delta, f"daily change on {when}")

    def _beyond(self, account_id: int, fund_id: int, stored: int, delta: int, what: str) -> InvalidAmount:
        chart = self._charts.current
        account, fund = chart.account_by_id[account_id], chart.fund_by_id[fund_id]
        unit = account.unit
        return InvalidAmount(
            f"account {account.code} in fund {fund.code}: its {what} of {_minor_text(stored, unit)} plus "
            f"{_minor_text(delta, unit)} would be {_minor_text(stored + delta, unit)}, beyond the largest amount "
            f"the ledger holds ({MAX_MINOR} minor units); nothing was posted",
            account=account.code,
            fund=fund.code,
            amount=Decimal(delta).scaleb(-unit.exponent),
            total=Decimal(stored + delta).scaleb(-unit.exponent),
        )

    def _update_balances(
        self, balance_delta: dict[tuple[int, int], list[int]], existing: dict[tuple[int, int], tuple[int, int]]
    ) -> None:
        b = t.balances.c
        updates = []
        inserts = []
        for (account_id, fund_id), (delta, last, count) in balance_delta.items():
            if (account_id, fund_id) in existing:
                total, stored_last = existing[(account_id, fund_id)]
                updates.append(
                    {"a": account_id, "f": fund_id, "total": total + delta, "last": max(last, stored_last), "n": count}
                )
            else:
                inserts.append(
                    {
                        "account_id": account_id,
                        "fund_id": fund_id,
                        "total": delta,
                        "last_effective": last,
                        "postings": count,
                    }
                )
        if inserts:
            self._connection.execute(insert(t.balances), inserts)
        if updates:
            self._connection.execute(
                update(t.balances)
                .where(b.account_id == bindparam("a"), b.fund_id == bindparam("f"))
                .values(
                    total=bindparam("total"), last_effective=bindparam("last"), postings=b.postings + bindparam("n")
                ),
                updates,
            )

    def _update_days(self, day_delta: dict[tuple[int, int, int], int], found: dict[tuple[int, int, int], int]) -> None:
        d = t.balance_days.c
        day_updates = [
            {"a": k[0], "f": k[1], "dd": k[2], "delta": found[k] + v} for k, v in day_delta.items() if k in found
        ]
        day_inserts = [
            {"account_id": k[0], "fund_id": k[1], "day": k[2], "delta": v}
            for k, v in day_delta.items()
            if k not in found
        ]
        if day_inserts:
            self._connection.execute(insert(t.balance_days), day_inserts)
        if day_updates:
            self._connection.execute(
                update(t.balance_days)
                .where(d.account_id == bindparam("a"), d.fund_id == bindparam("f"), d.day == bindparam("dd"))
                .values(delta=bindparam("delta")),
                day_updates,
            )


def _minor_text(minor: int, unit: Unit) -> str:
    """``minor`` units of ``unit`` as text, even beyond what an Amount may hold."""
    return f"{Decimal(minor).scaleb(-unit.exponent):f} {unit.code}"


class _Rows:
    """The rows a batch writes, as plain tuples, and its changes to the maintained balances."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, ...]] = []
        self.postings: list[tuple[Any, ...]] = []
        self.tags: list[tuple[Any, ...]] = []
        self.claims: list[tuple[Any, ...]] = []
        self.releases: list[tuple[Any, ...]] = []
        self.balance_delta: dict[tuple[int, int], list[int]] = {}  # total, last effective, postings
        self.day_delta: dict[tuple[int, int, int], int] = defaultdict(int)

    def add(
        self,
        prepared: Prepared,
        index: int,
        generations: _Generations,
        seq: int,
        entry_id: str,
        recorded: int,
        prev: str,
        digest: str,
    ) -> None:
        """Add the rows of one entry, stored as ``seq`` with this id, recorded time and hashes."""
        entry = prepared.entry
        eff = prepared.effective_at
        self.entries.append(
            (
                seq,
                entry_id,
                entry.idempotency_key,
                entry.kind,
                eff,
                prepared.tz,
                recorded,
                entry.actor,
                entry.memo,
                entry.source,
                entry.reverses,
                entry.approved_by,
                prev,
                digest,
            )
        )
        day = eff // MICROS_PER_DAY
        for line, (account_id, fund_id, minor) in enumerate(prepared.lines, start=1):
            self.postings.append((seq, line, account_id, fund_id, minor, eff))
            acc = self.balance_delta.get((account_id, fund_id))
            if acc is None:
                self.balance_delta[(account_id, fund_id)] = [minor, eff, 1]
            else:
                acc[0] += minor
                acc[1] = max(acc[1], eff)
                acc[2] += 1
            self.day_delta[(account_id, fund_id, day)] += minor
        self.tags.extend((seq, k, v) for k, v in entry.tags.items())
        self.claims.extend((c.scope, c.key, generations[(index, c.scope, c.key)], seq) for c in entry.claims)
        self.releases.extend((c.scope, c.key, generations[(index, c.scope, c.key)], seq) for c in entry.releases)
