"""The reader: the one place that reads entries and records back, on a connection it is given.

:class:`aidledger.Ledger` gives it a snapshot, :class:`aidledger.LedgerView`
the connection of a write transaction; both read through the same code.
Entries are loaded a page at a time (their postings, tags and claims in one
query each), so a million entries stream in constant memory.
"""

from __future__ import annotations

import json
import types
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, Final

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from aidledger.core import hashing
from aidledger.core.amounts import Amount
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting
from aidledger.core.errors import InvalidArgument, UnknownEntry
from aidledger.core.times import from_micros
from aidledger.core.window import Window
from aidledger.ledger.chart import Charts
from aidledger.ledger.results import EntryFacts, Head, Record
from aidledger.ledger.rows import chunks, rows_in
from aidledger.store import schema as t
from aidledger.store import window as store_window

_PAGE: Final = 1000  # entries read per query by entries()


class Reader:
    """Reads entries, records, claims and the closing date on one connection."""

    def __init__(self, connection: Connection, charts: Charts) -> None:
        self._connection = connection
        self._charts = charts

    @property
    def connection(self) -> Connection:
        """The connection it reads on."""
        return self._connection

    # -- entries ---------------------------------------------------------------

    def head(self) -> Head:
        """The newest entry's sequence number and hash, read from the journal itself."""
        e = t.entries.c
        row = self._connection.execute(select(e.seq, e.hash).order_by(e.seq.desc()).limit(1)).first()
        return Head(seq=0, hash=hashing.GENESIS) if row is None else Head(seq=row.seq, hash=row.hash)

    def entry(self, entry_id: str) -> PostedEntry:
        """The posted entry with this id, or UnknownEntry."""
        row = self._connection.execute(select(t.entries).where(t.entries.c.id == entry_id)).first()
        if row is None:
            raise UnknownEntry(f"no entry with id {entry_id!r}", entry_id=entry_id)
        return self.load_page([row])[0]

    def entries(self, after_seq: int, limit: int | None, window: Window) -> Iterator[PostedEntry]:
        """Entries in chain order after ``after_seq`` inside ``window``, as :meth:`aidledger.Ledger.entries`."""
        conditions = store_window.conditions(window, t.entries)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise InvalidArgument(f"limit must be a whole number, 0 or more, got {limit!r}", value=limit)
        return self._pages(after_seq, limit, conditions)

    def _pages(self, cursor: int, left: int | None, conditions: list[Any]) -> Iterator[PostedEntry]:
        e = t.entries.c
        while left is None or left > 0:
            page = _PAGE if left is None else min(_PAGE, left)
            rows = self._connection.execute(
                select(t.entries).where(e.seq > cursor, *conditions).order_by(e.seq).limit(page)
            ).all()
            if not rows:
                return
            yield from self.load_page(rows)
            cursor = rows[-1].seq
            if left is not None:
                left -= len(rows)

    def entry_by_key(self, idempotency_key: str) -> PostedEntry | None:
        """The entry posted with this idempotency key, if any."""
        entry_id = self._connection.execute(
            select(t.entries.c.id).where(t.entries.c.idempotency_key == idempotency_key)
        ).scalar()
        return None if entry_id is None else self.entry(entry_id)

    def entries_by_keys(self, keys: Sequence[str]) -> dict[str, PostedEntry]:
        """The entries posted with any of these idempotency keys, by key (keys never posted are absent)."""
        e = t.entries.c
        found: dict[str, PostedEntry] = {}
        for chunk in chunks(sorted(set(keys))):
            rows = self._connection.execute(select(t.entries).where(e.idempotency_key.in_(chunk)).order_by(e.seq))
            for posted in self.load_page(rows.all()):
                key = posted.entry.idempotency_key
                if key is not None:
                    found[key] = posted
        return found

    def latest_by_keys(self, keys: Sequence[str]) -> PostedEntry | None:
        """Of the entries posted with any of these keys, the one effective last (the first posted among equals)."""
        e = t.entries.c
        latest: Any = None
        for chunk in chunks(sorted(set(keys))):
            row = self._connection.execute(
                select(t.entries).where(e.idempotency_key.in_(chunk)).order_by(e.effective_at.desc(), e.seq).limit(1)
            ).first()
            if row is not None and (
                latest is None or (row.effective_at, -row.seq) > (latest.effective_at, -latest.seq)
            ):
                latest = row
        return None if latest is None else self.load_page([latest])[0]

    def load_page(self, rows: Sequence[Any]) -> list[PostedEntry]:
        """The entries of ``rows`` (entries table rows in seq order), with their postings, tags and claims.

        Their children are read by one range of entry numbers when the rows are consecutive, else by their numbers.
        """
        if not rows:
            return []
        first, last = rows[0].seq, rows[-1].seq
        consecutive = last - first + 1 == len(rows)
        seqs = [row.seq for row in rows]
        connection = self._connection

        def children(table: Any, *order: Any) -> dict[int, list[Any]]:
            found: dict[int, list[Any]] = defaultdict(list)
            column = table.c.entry_seq
            wanted = [column >= first, column <= last] if consecutive else [column.in_(seqs)]
            for child in connection.execute(select(table).where(*wanted).order_by(column, *order)):
                found[child.entry_seq].append(child)
            return found

        lines = children(t.postings, t.postings.c.line)
        tags = children(t.entry_tags)
        claims = children(t.claims)
        releases = children(t.claim_releases)
        known = self._charts.current
        if any(
            p.account_id not in known.account_by_id or p.fund_id not in known.fund_by_id
            for group in lines.values()
            for p in group
        ):
            known = self._charts.reload(connection)
        posted = []
        for row in rows:
            postings = []
            for p in lines[row.seq]:
                account = known.account_by_id[p.account_id]
                amount = Amount.from_minor(p.amount, account.unit)
                postings.append(Posting(account, known.fund_by_id[p.fund_id], amount))
            entry = JournalEntry(
                kind=row.kind,
                effective_at=from_micros(row.effective_at, row.effective_tz),
                postings=postings,
                actor=row.actor,
                memo=row.memo,
                idempotency_key=row.idempotency_key,
                source=row.source,
                tags={r.name: r.value for r in tags[row.seq]},
                claims=[Claim(r.scope, r.key) for r in claims[row.seq]],
                releases=[Claim(r.scope, r.key) for r in releases[row.seq]],
                reverses=row.reverses,
                approved_by=row.approved_by,
            )
            posted.append(
                PostedEntry(
                    entry=entry,
                    seq=row.seq,
                    id=row.id,
                    recorded_at=from_micros(row.recorded_at),
                    prev_hash=row.prev_hash,
                    hash=row.hash,
                )
            )
        return posted

    # -- facts and tags ----------------------------------------------------------

    def keys_tagged(self, name: str, value: str, *, kind: str | None = None) -> list[str]:
        """Idempotency keys of the entries carrying tag ``name=value`` (of one kind, if given)."""
        e, g = t.entries.c, t.entry_tags.c
        query = (
            select(e.idempotency_key)
            .join(t.entry_tags, g.entry_seq == e.seq)
            .where(g.name == name, g.value == value, e.idempotency_key.is_not(None))
            .order_by(e.seq)
        )
        if kind is not None:
            query = query.where(e.kind == kind)
        return [str(key) for key in self._connection.execute(query).scalars()]

    def facts(self, keys: Sequence[str]) -> dict[str, EntryFacts]:
        """For each posted idempotency key: the entry's id, its total debit per unit, its tags, and whether it
        was reversed."""
        found: dict[str, EntryFacts] = {}
        chart = self._charts.current
        connection = self._connection
        for chunk in chunks(list(keys)):
            # Driver SQL, one query per table for the chunk: settling reads the facts of every line of a report.
            by_seq = {
                seq: (entry_id, key)
                for seq, entry_id, key in rows_in(
                    connection, t.entries, ("seq", "id", "idempotency_key"), ("idempotency_key",), [(k,) for k in chunk]
                )
            }
            if not by_seq:
                continue
            seqs = [(seq,) for seq in by_seq]
            debits: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for seq, account_id, amount in rows_in(
                connection, t.postings, ("entry_seq", "account_id", "amount"), ("entry_seq",), seqs
            ):
                if amount > 0:
                    debits[seq][chart.account_by_id[account_id].unit.code] += amount
            tags: dict[int, dict[str, str]] = defaultdict(dict)
            for seq, name, value in rows_in(
                connection, t.entry_tags, ("entry_seq", "name", "value"), ("entry_seq",), seqs
            ):
                tags[seq][name] = value
            ids = [(entry_id,) for entry_id, _ in by_seq.values()]
            reversed_ids = {row[0] for row in rows_in(connection, t.entries, ("reverses",), ("reverses",), ids)}
            for seq, (entry_id, key) in by_seq.items():
                found[key] = EntryFacts(
                    id=entry_id,
                    debits=dict(debits[seq]),
                    tags=types.MappingProxyType(tags[seq]),
                    reversed=entry_id in reversed_ids,
                )
        return found

    def count_standing_tagged(self, name: str, *, kind: str | None = None) -> dict[str, int]:
        """How many entries (of one kind, if given) carry each value of tag ``name``, leaving out reversals and
        the entries they reverse."""
        e, g = t.entries.c, t.entry_tags.c
        reversal = t.entries.alias("reversal")
        query = (
            select(g.value, func.count())
            .join(t.entries, e.seq == g.entry_seq)
            .outerjoin(reversal, reversal.c.reverses == e.id)
            .where(g.name == name, e.reverses.is_(None), reversal.c.seq.is_(None))
            .group_by(g.value)
        )
        if kind is not None:
            query = query.where(e.kind == kind)
        return {str(value): int(count) for value, count in self._connection.execute(query)}

    # -- records, claims, periods ----------------------------------------------------

    def record(self, kind: str, code: str) -> Record | None:
        """The record of this kind and code, or ``None``."""
        row = self._connection.execute(
            select(t.records).where(t.records.c.kind == kind, t.records.c.code == code)
        ).first()
        return None if row is None else record_of(row)

    def records(self, kind: str, *, subject: str | None = None) -> tuple[Record, ...]:
        """Every record of a kind (about ``subject``, if given), in the order they were made."""
        query = select(t.records).where(t.records.c.kind == kind).order_by(t.records.c.seq)
        if subject is not None:
            query = query.where(t.records.c.subject == subject)
        return tuple(record_of(row) for row in self._connection.execute(query))

    def active_claims(self, scope_prefix: str) -> Iterator[Claim]:
        """Claims taken and not released, whose scope starts with ``scope_prefix``."""
        c, r = t.claims.c, t.claim_releases.c
        query = (
            select(c.scope, c.key)
            .outerjoin(t.claim_releases, and_(r.scope == c.scope, r.key == c.key, r.generation == c.generation))
            .where(r.scope.is_(None), c.scope.startswith(scope_prefix, autoescape=True))
            .order_by(c.scope, c.key)
        )
        for scope, key in self._connection.execute(query):
            yield Claim(scope, key)

    def closed_through(self) -> int | None:
        """The end of the last closed period in microseconds, or ``None``."""
        closed = self._connection.execute(select(func.max(t.period_closes.c.closed_through))).scalar()
        return None if closed is None else int(closed)


def newest_seq(connection: Connection, window: Window) -> int:
    """The sequence number of the newest entry inside ``window`` (0 if none): where a read through it ends.

    A window through a digest this ledger does not hold is refused (DigestMismatch).
    """
    window = store_window.check_through(connection, window)
    found = connection.execute(
        select(func.max(t.entries.c.seq)).where(*store_window.conditions(window, t.entries))
    ).scalar()
    return 0 if found is None else int(found)


def record_of(row: Any) -> Record:
    """A record from its stored row."""
    return Record(
        kind=row.kind,
        code=row.code,
        subject=row.subject,
        actor=row.actor,
        body=json.loads(row.body),
        seq=row.seq,
        recorded_at=from_micros(row.recorded_at),
    )
