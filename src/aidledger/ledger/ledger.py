"""The Ledger facade: open a database, define accounts and funds, post, reverse, read.

Every write runs in one database transaction that first takes the ledger's
write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the ``ledger_head`` row,
``FOR UPDATE``), then checks every invariant against what is stored, then
writes.  A refused operation raises before anything is written; an accepted
batch is written whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import threading
import time
import types
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeVar

import attrs
import pendulum
from sqlalchemy import and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from aidledger.core import hashing
from aidledger.core.accounts import Account, AccountType, Fund, Restriction, Side
from aidledger.core.amounts import Amount, Unit, UnitKind
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting, check_text
from aidledger.core.errors import (
    AidLedgerError,
    AlreadyReversed,
    DuplicateClaim,
    DuplicateDefinition,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidArgument,
    PeriodClosed,
    StorageError,
    UnknownAccount,
    UnknownEntry,
    UnknownFund,
)
from aidledger.core.times import MICROS_PER_DAY, from_micros, now, to_micros, zone_name
from aidledger.ledger.results import (
    BatchResult,
    ChainBreak,
    Check,
    Head,
    PendingBatch,
    Record,
    SkippedEntry,
    TrialBalance,
    TrialBalanceLine,
    Verification,
)
from aidledger.store import engine as store_engine
from aidledger.store import schema as t

T = TypeVar("T")
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

_CHUNK: Final = 500
_PAGE: Final = 1000  # entries read per query by entries()
_RECORD_KIND: Final = re.compile(r"^[a-z][a-z0-9_.-]{0,63}\Z")
_RETRIES: Final = 8
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})
#: Account types whose balances make up a fund's net assets (assets minus liabilities).
_NET_ASSET_TYPES: Final = (AccountType.ASSET, AccountType.LIABILITY)


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@attrs.frozen
class _Prepared:
    """An entry checked against the chart, with its canonical fields, ready to store."""

    entry: JournalEntry
    effective_at: int
    fields: dict[str, Any]
    fingerprint: str
    lines: tuple[tuple[int, int, int], ...]  # account id, fund id, minor


class _Chart:
    """The accounts, funds and units the ledger knows, by code and by id.

    A chart is never changed once read: the ledger swaps in a new one (a
    superset, since definitions are append-only), so threads sharing a ledger
    never see one half-loaded.
    """

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.accounts: dict[str, tuple[int, Account]] = {}
        self.funds: dict[str, tuple[int, Fund]] = {}
        self.account_by_id: dict[int, Account] = {}
        self.fund_by_id: dict[int, Fund] = {}
        self.definitions: dict[tuple[str, str], list[object]] = {}
        self.texts: dict[tuple[tuple[str, str], ...], str] = {}

    @classmethod
    def read(cls, connection: Connection) -> _Chart:
        """The chart as stored."""
        chart = cls()
        chart.load(connection)
        return chart

    def load(self, connection: Connection) -> None:
        for row in connection.execute(select(t.units)):
            self.units[row.code] = Unit(
                code=row.code, kind=UnitKind(row.kind), exponent=row.exponent, measure=row.measure
            )
        for row in connection.execute(select(t.accounts)):
            account = Account(
                code=row.code,
                type=AccountType(row.type),
                unit=self.units[row.unit_code],
                name=row.name,
                normal_side=Side(row.normal_side),
                allow_negative=bool(row.allow_negative),
            )
            self.accounts[row.code] = (row.id, account)
            self.account_by_id[row.id] = account
        for row in connection.execute(select(t.funds)):
            fund = Fund(
                code=row.code,
                name=row.name,
                purpose=row.purpose,
                restriction=Restriction(row.restriction),
                allow_negative=bool(row.allow_negative),
            )
            self.funds[row.code] = (row.id, fund)
            self.fund_by_id[row.id] = fund

    def definition(self, kind: str, code: str) -> list[object]:
        """The canonical definition of an account, fund or unit, as hashed into entries."""
        key = (kind, code)
        found = self.definitions.get(key)
        if found is None:
            if kind == "account":
                a = self.accounts[code][1]
                found = ["account", a.code, a.type.value, a.unit.code, a.normal_side.value, a.allow_negative, a.name]
            elif kind == "fund":
                f = self.funds[code][1]
                found = ["fund", f.code, f.purpose, f.restriction.value, f.allow_negative, f.name]
            else:
                u = self.units[code]
                found = ["unit", u.code, u.kind.value, u.exponent, u.measure]
            self.definitions[key] = found
        return found

    def text(self, referenced: Iterable[tuple[str, str]]) -> str:
        """The canonical JSON of the definitions an entry refers to (see ``hashing.chart_text``), cached."""
        key = tuple(referenced)
        found = self.texts.get(key)
        if found is None:
            found = self.texts[key] = hashing.chart_text([self.definition(kind, code) for kind, code in key])
        return found


class Ledger:
    """An append-only, double-entry ledger in a SQLite or PostgreSQL database.

    Open one with :meth:`Ledger.open`; close it with :meth:`close` or use it as a
    context manager.  A Ledger may be shared by the threads of one process;
    several processes may open the same database at once.
    """

    def __init__(self, engine: Engine, url: URL, clock: Callable[[], dt.datetime]) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{store_engine.WRITE: True})
        self._local = threading.local()
        self._url = url
        self._clock = clock
        self._chart = _Chart()
        self._postgres = engine.dialect.name == "postgresql"
        self._mark = "%s" if self._postgres else "?"  # the driver's parameter marker, for driver SQL

    # -- opening -----------------------------------------------------------

    @classmethod
    def open(cls, url: str | URL = "aidledger.db", *, clock: Callable[[], dt.datetime] | None = None) -> Ledger:
        """Open the ledger at ``url``, creating or migrating its schema.

        ``url`` is a SQLAlchemy URL (``sqlite:///aidledger.db``, ``sqlite://`` for
        memory, ``postgresql+psycopg://user@host/db``) or a plain path to a SQLite
        file.  ``clock`` returns the current aware time (for tests); entries are
        recorded at the later of its time and the previous entry's.
        """
        parsed = store_engine.parse_url(url)
        engine = store_engine.create(parsed)
        try:
            store_engine.migrate(engine)
        except AidLedgerError:
            engine.dispose()
            raise
        except DBAPIError as error:
            engine.dispose()
            raise StorageError(
                f"cannot open ledger at {store_engine.shown(parsed)}: {type(error.orig).__name__}: "
                f"{_first_line(error.orig)}",
                url=store_engine.shown(parsed),
            ) from None
        ledger = cls(engine, parsed, clock or now)
        with engine.connect() as connection:
            ledger._chart = _Chart.read(connection)
        return ledger

    @property
    def url(self) -> str:
        """The database URL, with its password hidden."""
        return store_engine.shown(self._url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for the layers above; not for writing journal rows)."""
        return self._engine

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.url!r})"

    # -- transactions ------------------------------------------------------

    def _write(self, work: Callable[[Connection, int, str, int], T]) -> T:
        """Run ``work(connection, head_seq, head_hash, head_recorded)`` in a write transaction.

        The whole transaction is retried on serialization failures and deadlocks.
        A write started from inside another one (for example from the ``build``
        callable of :meth:`transact`) would wait for itself; it is refused.
        """
        if getattr(self._local, "writing", False):
            raise InvalidArgument(
                "a ledger write was started inside another write transaction of the same ledger "
                "(do not call Ledger methods that write from inside a transact() build function)"
            )
        self._local.writing = True
        try:
            return self._write_once_retried(work)
        finally:
            self._local.writing = False

    def _write_once_retried(self, work: Callable[[Connection, int, str, int], T]) -> T:
        for attempt in range(_RETRIES):
            try:
                with self._writer.begin() as connection:
                    head = select(t.ledger_head.c.seq, t.ledger_head.c.hash, t.ledger_head.c.recorded_at).where(
                        t.ledger_head.c.id == 1
                    )
                    if self._postgres:
                        head = head.with_for_update()
                    row = connection.execute(head).one()
                    return work(connection, row.seq, row.hash, row.recorded_at)
            except (OperationalError, DBAPIError) as error:
                if isinstance(error, IntegrityError) or not _retryable(error) or attempt == _RETRIES - 1:
                    if isinstance(error, IntegrityError):
                        raise StorageError(f"the database refused the write: {_first_line(error.orig)}") from None
                    raise StorageError(
                        f"the database failed: {type(error.orig).__name__}: {_first_line(error.orig)}"
                    ) from None
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security
        raise AssertionError("unreachable")  # pragma: no cover

    def snapshot(self) -> Connection:
        """A connection for reading, on which every statement sees the same committed state.

        Use it as a context manager.  On PostgreSQL it reads in a REPEATABLE
        READ, read-only transaction (at the default READ COMMITTED each statement
        would see a newer state, and a check comparing two queries could report a
        difference that is only another process's entry arriving in between); on
        SQLite a read transaction already sees one state.
        """
        connection = self._engine.connect()
        if self._postgres:
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        return connection

    def _read(self) -> Any:
        return self.snapshot()

    # -- chart of accounts --------------------------------------------------

    def add_account(self, account: Account) -> Account:
        """Add ``account`` to the chart; adding the same definition again does nothing.

        Raises DuplicateDefinition if the code exists with another definition.
        """
        if not isinstance(account, Account):
            raise InvalidArgument(f"expected an Account, got {account!r}", value=account)

        def work(connection: Connection, *_: object) -> Account:
            chart = _Chart.read(connection)
            existing = chart.accounts.get(account.code)
            if existing is not None:
                if existing[1] != account:
                    raise DuplicateDefinition(
                        f"account {account.code} already exists as {existing[1]}, not {account}",
                        code=account.code,
                    )
                return account
            self._add_unit(connection, account.unit, chart)
            new_id = (connection.execute(select(func.max(t.accounts.c.id))).scalar() or 0) + 1
            connection.execute(
                insert(t.accounts).values(
                    id=new_id,
                    code=account.code,
                    name=account.name,
                    type=account.type.value,
                    unit_code=account.unit.code,
                    normal_side=account.normal_side.value,
                    allow_negative=account.allow_negative,
                )
            )
            return account

        result = self._write(work)
        self._refresh_chart()
        return result

    def _add_unit(self, connection: Connection, unit: Unit, chart: _Chart) -> None:
        existing = chart.units.get(unit.code)
        if existing is not None:
            if existing != unit:
                raise DuplicateDefinition(f"unit {unit.code} already exists as {existing}, not {unit}", code=unit.code)
            return
        connection.execute(
            insert(t.units).values(code=unit.code, kind=unit.kind.value, exponent=unit.exponent, measure=unit.measure)
        )

    def add_fund(self, fund: Fund) -> Fund:
        """Add ``fund``; adding the same definition again does nothing."""
        if not isinstance(fund, Fund):
            raise InvalidArgument(f"expected a Fund, got {fund!r}", value=fund)

        def work(connection: Connection, *_: object) -> Fund:
            existing = _Chart.read(connection).funds.get(fund.code)
            if existing is not None:
                if existing[1] != fund:
                    raise DuplicateDefinition(
                        f"fund {fund.code} already exists as {existing[1]}, not {fund}", code=fund.code
                    )
                return fund
            new_id = (connection.execute(select(func.max(t.funds.c.id))).scalar() or 0) + 1
            connection.execute(
                insert(t.funds).values(
                    id=new_id,
                    code=fund.code,
                    name=fund.name,
                    purpose=fund.purpose,
                    restriction=fund.restriction.value,
                    allow_negative=fund.allow_negative,
                )
            )
            return fund

        result = self._write(work)
        self._refresh_chart()
        return result

    def account(self, code: str) -> Account:
        """The account with this code, or UnknownAccount."""
        return self._chart.accounts[self._known_account(code)][1]

    def fund(self, code: str) -> Fund:
        """The fund with this code, or UnknownFund."""
        return self._chart.funds[self._known_fund(code)][1]

    def accounts(self) -> tuple[Account, ...]:
        """Every account, by code."""
        self._refresh_chart()
        return tuple(a for _, (_, a) in sorted(self._chart.accounts.items()))

    def units(self) -> dict[str, Unit]:
        """Every unit (currency or commodity) the ledger knows, by code."""
        self._refresh_chart()
        return dict(sorted(self._chart.units.items()))

    def funds(self) -> tuple[Fund, ...]:
        """Every fund, by code."""
        self._refresh_chart()
        return tuple(f for _, (_, f) in sorted(self._chart.funds.items()))

    def _refresh_chart(self) -> None:
        with self._read() as connection:
            self._chart = _Chart.read(connection)

    def _known_account(self, code: object) -> str:
        if isinstance(code, Account):
            code = code.code
        if not isinstance(code, str):
            raise InvalidArgument(f"account must be an Account or its code, got {code!r}", value=code)
        if code not in self._chart.accounts:
            self._refresh_chart()
            if code not in self._chart.accounts:
                raise UnknownAccount(f"unknown account {code!r}", code=code)
        return code

    def _known_fund(self, code: object) -> str:
        if isinstance(code, Fund):
            code = code.code
        if not isinstance(code, str):
            raise InvalidArgument(f"fund must be a Fund or its code, got {code!r}", value=code)
        if code not in self._chart.funds:
            self._refresh_chart()
            if code not in self._chart.funds:
                raise UnknownFund(f"unknown fund {code!r}", code=code)
        return code

    # -- posting -------------------------------------------------------------

    def post(self, entry: JournalEntry) -> PostedEntry:
        """Post one entry, or return the first result if its idempotency key was posted."""
        posted = self.post_batch([entry]).results[0]
        assert posted is not None
        return posted

    def post_many(self, entries: Iterable[JournalEntry]) -> list[PostedEntry]:
        """Post a batch of entries in one transaction: all of them, or (on any error) none.

        Entries whose idempotency key is already posted with the same content are
        not posted again: their first result is returned in their place.
        """
        return list(self.post_batch(entries).posted)

    def post_batch(self, entries: Iterable[JournalEntry], *, skip_claimed: bool = False) -> BatchResult:
        """Post a batch in one transaction; with ``skip_claimed``, set aside entries whose claims are taken.

        Set-aside entries are reported in ``BatchResult.skipped`` with the reason;
        every other refusal still refuses the whole batch.
        """
        batch = list(entries)
        for entry in batch:
            if not isinstance(entry, JournalEntry):
                raise InvalidArgument(f"expected a JournalEntry, got {entry!r}", value=entry)
        if not batch:
            return BatchResult(posted=(), skipped=(), results=())
        prepared = [self._prepare(entry) for entry in batch]
        return self._write(
            lambda c, seq, hash_, rec: self._post_prepared(c, prepared, seq, hash_, rec, skip_claimed=skip_claimed)
        )

    def _prepare(self, entry: JournalEntry) -> _Prepared:
        for posting in entry.postings:  # may read a newer chart first
            self._known_account(posting.account.code)
            self._known_fund(posting.fund.code)
        chart = self._chart
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
        fields = hashing.draft_fields(
            kind=entry.kind,
            effective_at=effective,
            effective_tz=zone_name(entry.effective_at),
            actor=entry.actor,
            memo=entry.memo,
            idempotency_key=entry.idempotency_key,
            source=entry.source,
            tags=entry.tags,
            claims=[(c.scope, c.key) for c in entry.claims],
            releases=[(c.scope, c.key) for c in entry.releases],
            reverses=entry.reverses,
            approved_by=entry.approved_by,
            postings=canonical,
            chart=None,
        )
        digest = hashing.fingerprint(fields, chart=chart.text(referenced))
        return _Prepared(entry, effective, fields, digest, tuple(lines))

    def _post_prepared(
        self,
        connection: Connection,
        batch: list[_Prepared],
        head_seq: int,
        head_hash: str,
        head_recorded: int,
        *,
        skip_claimed: bool = False,
    ) -> BatchResult:
        results: list[PostedEntry | None] = [None] * len(batch)
        fresh = self._resolve_idempotency(connection, batch, results)
        skipped: list[SkippedEntry] = []
        if fresh:
            generations, refused = self._check_claims(connection, batch, fresh, skip=skip_claimed)
            if refused:
                skipped = [SkippedEntry(index, batch[index].entry, error) for index, error in refused.items()]
                fresh = [i for i in fresh if i not in refused]
        todo = [batch[i] for i in fresh]
        if todo:
            self._check_closed_periods(connection, todo)
            self._check_reversals(connection, todo)
            self._check_balances(connection, todo)
            written = self._store(connection, todo, fresh, generations, head_seq, head_hash, head_recorded)
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

    def _resolve_idempotency(
        self, connection: Connection, batch: list[_Prepared], results: list[PostedEntry | None]
    ) -> list[int]:
        """Fill in results for keys already posted; return the indexes still to post."""
        seen: dict[str, _Prepared] = {}
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
            self._rows_in(connection, t.entries, ("idempotency_key", "id"), ("idempotency_key",), [(k,) for k in seen])
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
            original = self._load_entry(connection, stored[key])
            if self._prepare(original.entry).fingerprint != prepared.fingerprint:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was already used for entry {original.id} "
                    f"with different content; nothing was posted",
                    key=key,
                    entry_id=original.id,
                )
            results[index] = original
        return still

    def _check_closed_periods(self, connection: Connection, batch: list[_Prepared]) -> None:
        closed = connection.execute(select(func.max(t.period_closes.c.closed_through))).scalar()
        if closed is None:
            return
        for prepared in batch:
            if prepared.effective_at <= closed:
                raise PeriodClosed(
                    f"entry effective {prepared.entry.effective_at.isoformat()} falls in a closed period "
                    f"(closed through {from_micros(closed).isoformat()}); post the correction in an open period",
                    effective_at=prepared.entry.effective_at,
                    closed_through=from_micros(closed),
                )

    def _check_reversals(self, connection: Connection, batch: list[_Prepared]) -> None:
        targets: dict[str, _Prepared] = {}
        for prepared in batch:
            target = prepared.entry.reverses
            if target is None:
                continue
            if target in targets:
                raise AlreadyReversed(f"entry {target} is reversed twice in this batch", entry_id=target)
            targets[target] = prepared
        for target, prepared in targets.items():
            if connection.execute(select(t.entries.c.id).where(t.entries.c.reverses == target)).first():
                raise AlreadyReversed(f"entry {target} was already reversed", entry_id=target)
            original = self._load_entry(connection, target)
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
        self, connection: Connection, batch: list[_Prepared], indexes: list[int], *, skip: bool
    ) -> tuple[dict[tuple[int, str, str], int], dict[int, DuplicateClaim]]:
        """Assign each claim and release its generation; refuse (or, with ``skip``, set aside) taken claims.

        A claim is free when it was released as often as it was taken; taking it
        makes generation ``n`` (the number of earlier takings), releasing it
        releases the newest generation.  Returns the generations by (batch index,
        scope, key) and the entries set aside.
        """
        pairs = {(c.scope, c.key) for i in indexes for c in (*batch[i].entry.claims, *batch[i].entry.releases)}
        taken: dict[tuple[str, str], int] = defaultdict(int)
        released: dict[tuple[str, str], int] = defaultdict(int)
        holder: dict[tuple[str, str], str] = {}
        for table, counts in ((t.claims, taken), (t.claim_releases, released)):
            for scope, key, count, last_seq in self._rows_in(
                connection,
                table,
                ("scope", "key", "count(*)", "max(entry_seq)"),
                ("scope", "key"),
                sorted(pairs),
                group=True,
            ):
                counts[(scope, key)] = int(count)
                if table is t.claims:
                    holder[(scope, key)] = str(last_seq)
        generations: dict[tuple[int, str, str], int] = {}
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

    # -- balance invariants ---------------------------------------------------

    def _check_balances(self, connection: Connection, batch: list[_Prepared]) -> None:
        """Refuse the batch if any account or fund would go below zero at any effective time."""
        chart = self._chart
        by_account: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
        by_fund: dict[tuple[int, str], list[tuple[int, int, int]]] = defaultdict(list)
        for order, prepared in enumerate(batch):
            eff = prepared.effective_at
            for account_id, fund_id, minor in prepared.lines:
                account = chart.account_by_id[account_id]
                if not account.allow_negative and minor * account.normal_side.value < 0:
                    by_account[(account_id, fund_id)].append((eff, order, minor))
                if account.type in _NET_ASSET_TYPES:
                    by_fund[(fund_id, account.unit.code)].append((eff, order, minor))
        # Funds: only those that may not go negative and lose net assets somewhere in the batch.
        fund_checks: dict[tuple[int, str], list[tuple[int, int, int]]] = {}
        for (fund_id, unit_code), deltas in by_fund.items():
            if not chart.fund_by_id[fund_id].allow_negative and any(d[2] < 0 for d in deltas):
                fund_checks[(fund_id, unit_code)] = deltas
        if by_account:
            # The account's check must see every line of the batch on it, not only the decreases.
            full: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
            for order, prepared in enumerate(batch):
                for account_id, fund_id, minor in prepared.lines:
                    if (account_id, fund_id) in by_account:
                        full[(account_id, fund_id)].append((prepared.effective_at, order, minor))
            rows = self._balance_rows(connection, list(full))
            for key, deltas in full.items():
                account = chart.account_by_id[key[0]]
                total, last = rows.get(key, (0, None))
                self._check_running(
                    connection,
                    [key[0]],
                    key[1],
                    total,
                    last,
                    deltas,
                    account.normal_side.value,
                    batch,
                    f"account {account.code} in fund {chart.fund_by_id[key[1]].code}",
                )
        for (fund_id, unit_code), deltas in fund_checks.items():
            account_ids = [
                i for i, a in chart.account_by_id.items() if a.unit.code == unit_code and a.type in _NET_ASSET_TYPES
            ]
            total, last = self._fund_row(connection, fund_id, account_ids)
            fund = chart.fund_by_id[fund_id]
            self._check_running(
                connection,
                account_ids,
                fund_id,
                total,
                last,
                deltas,
                1,
                batch,
                f"fund {fund.code} ({unit_code} net assets)",
            )

    def _balance_rows(
        self, connection: Connection, keys: list[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[int, int]]:
        columns = ("account_id", "fund_id", "total", "last_effective")
        rows = self._rows_in(connection, t.balances, columns, ("account_id", "fund_id"), keys)
        return {(account_id, fund_id): (total, last) for account_id, fund_id, total, last in rows}

    def _fund_row(self, connection: Connection, fund_id: int, account_ids: list[int]) -> tuple[int, int | None]:
        row = connection.execute(
            select(func.coalesce(func.sum(t.balances.c.total), 0), func.max(t.balances.c.last_effective)).where(
                t.balances.c.fund_id == fund_id, t.balances.c.account_id.in_(account_ids)
            )
        ).one()
        return int(row[0]), row[1]

    def _check_running(
        self,
        connection: Connection,
        account_ids: list[int],
        fund_id: int,
        total: int,
        last_effective: int | None,
        deltas: list[tuple[int, int, int]],
        sign: int,
        batch: list[_Prepared],
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
            # Back-dated: replay stored postings from the earliest new effective time on.
            running = self._sum_before(connection, account_ids, fund_id, earliest)
            stored = connection.execute(
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
            events = ((e, o, m, new) for e, _, o, m, new in merged)
        for effective, order, minor, new in events:
            running += minor
            if running * sign < 0 and new:
                prepared = batch[order]
                account_id = account_ids[0]
                unit = self._chart.account_by_id[account_id].unit
                short = Amount.from_minor(-running * sign, unit)
                raise InsufficientBalance(
                    f"{what} would go {short} below zero at "
                    f"{from_micros(effective).isoformat()} (entry {prepared.entry.kind!r}, "
                    f"memo {prepared.entry.memo!r}); nothing was posted",
                    what=what,
                    shortfall=short,
                    effective_at=from_micros(effective),
                )
            if running * sign < 0 and not new:
                # A stored posting after a back-dated withdrawal now dips below zero.
                prepared = batch[deltas[0][1]]
                unit = self._chart.account_by_id[account_ids[0]].unit
                short = Amount.from_minor(-running * sign, unit)
                raise InsufficientBalance(
                    f"{what} would go {short} below zero at {from_micros(effective).isoformat()} "
                    f"because of a back-dated entry {prepared.entry.kind!r} effective "
                    f"{prepared.entry.effective_at.isoformat()}; nothing was posted",
                    what=what,
                    shortfall=short,
                    effective_at=from_micros(effective),
                )

    def _sum_before(self, connection: Connection, account_ids: list[int], fund_id: int | None, before: int) -> int:
        """The sum of postings with effective time strictly before ``before``: whole days, then that day's part.

        Driver SQL in one statement (building it with SQLAlchemy cost more than
        running it), by the maintained days' key and the postings' (account,
        fund, effective time) index.
        """
        mark = self._mark
        accounts = f"account_id IN ({', '.join([mark] * len(account_ids))})"
        fund = "" if fund_id is None else f" AND fund_id = {mark}"
        funds = () if fund_id is None else (fund_id,)
        day = before // MICROS_PER_DAY
        total = connection.exec_driver_sql(
            f"SELECT (SELECT coalesce(sum(delta), 0) FROM balance_days WHERE {accounts}{fund} AND day < {mark})"
            f" + (SELECT coalesce(sum(amount), 0) FROM postings"
            f" WHERE {accounts}{fund} AND effective_at >= {mark} AND effective_at < {mark})",
            (*account_ids, *funds, day, *account_ids, *funds, day * MICROS_PER_DAY, before),
        ).scalar_one()
        return int(total)

    # -- storing ----------------------------------------------------------------

    def _store(
        self,
        connection: Connection,
        batch: list[_Prepared],
        indexes: list[int],
        generations: dict[tuple[int, str, str], int],
        head_seq: int,
        head_hash: str,
        head_recorded: int,
    ) -> list[PostedEntry]:
        recorded = max(to_micros(self._clock(), "clock time"), head_recorded)
        recorded_at = from_micros(recorded)
        entry_rows: list[tuple[Any, ...]] = []
        posting_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[Any, ...]] = []
        claim_rows: list[tuple[Any, ...]] = []
        release_rows: list[tuple[Any, ...]] = []
        balance_delta: dict[tuple[int, int], list[int]] = {}
        day_delta: dict[tuple[int, int, int], int] = defaultdict(int)
        posted: list[PostedEntry] = []
        seq, prev = head_seq, head_hash
        for index, prepared in zip(indexes, batch, strict=True):
            seq += 1
            entry = prepared.entry
            entry_id = str(uuid.uuid4())
            digest = hashing.entry_hash(
                prepared.fields,
                seq=seq,
                entry_id=entry_id,
                recorded_at=recorded,
                prev_hash=prev,
                fields_hash=prepared.fingerprint,
            )
            eff = prepared.effective_at
            entry_rows.append(
                (
                    seq,
                    entry_id,
                    entry.idempotency_key,
                    entry.kind,
                    eff,
                    prepared.fields["tz"],
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
                posting_rows.append((seq, line, account_id, fund_id, minor, eff))
                acc = balance_delta.get((account_id, fund_id))
                if acc is None:
                    balance_delta[(account_id, fund_id)] = [minor, eff, 1]
                else:
                    acc[0] += minor
                    acc[1] = max(acc[1], eff)
                    acc[2] += 1
                day_delta[(account_id, fund_id, day)] += minor
            tag_rows.extend((seq, k, v) for k, v in entry.tags.items())
            claim_rows.extend((c.scope, c.key, generations[(index, c.scope, c.key)], seq) for c in entry.claims)
            release_rows.extend((c.scope, c.key, generations[(index, c.scope, c.key)], seq) for c in entry.releases)
            posted.append(
                PostedEntry(entry=entry, seq=seq, id=entry_id, recorded_at=recorded_at, prev_hash=prev, hash=digest)
            )
            prev = digest
        self._insert_rows(connection, t.entries, _ENTRY_COLUMNS, entry_rows)
        self._insert_rows(connection, t.postings, _POSTING_COLUMNS, posting_rows)
        self._insert_rows(connection, t.entry_tags, ("entry_seq", "name", "value"), tag_rows)
        self._insert_rows(connection, t.claims, ("scope", "key", "generation", "entry_seq"), claim_rows)
        self._insert_rows(connection, t.claim_releases, ("scope", "key", "generation", "entry_seq"), release_rows)
        self._update_balances(connection, balance_delta, day_delta)
        connection.execute(
            update(t.ledger_head).where(t.ledger_head.c.id == 1).values(seq=seq, hash=prev, recorded_at=recorded)
        )
        return posted

    def _rows_in(
        self,
        connection: Connection,
        table: Any,
        columns: tuple[str, ...],
        key: tuple[str, ...],
        values: Sequence[tuple[Any, ...]],
        *,
        group: bool = False,
    ) -> Iterator[Any]:
        """Rows of ``table`` whose ``key`` columns equal one of ``values``, a chunk per query.

        Plain driver SQL with a ``VALUES`` list: SQLAlchemy's expanding ``IN``
        compiles each chunk again, which cost more than the query itself.
        ``columns`` are column names or aggregates (quoted by the caller's choice);
        with ``group`` the rows are grouped by ``key``.
        """
        quote = connection.dialect.identifier_preparer.quote
        mark = self._mark
        names = ", ".join(quote(k) for k in key)
        picked = ", ".join(c if "(" in c else quote(c) for c in columns)
        one = f"({', '.join([mark] * len(key))})"
        for chunk in _chunks(values):
            sql = (
                f"SELECT {picked} FROM {quote(table.name)} WHERE ({names}) IN (VALUES {', '.join([one] * len(chunk))})"
            )
            if group:
                sql += f" GROUP BY {names}"
            flat = tuple(v for row in chunk for v in row)
            yield from connection.exec_driver_sql(sql, flat)

    def _insert_rows(
        self, connection: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        """Insert plain tuples through the driver's executemany: no per-row work in SQLAlchemy."""
        if not rows:
            return
        quote = connection.dialect.identifier_preparer.quote
        mark = self._mark
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        connection.exec_driver_sql(sql, rows)

    def _update_balances(
        self,
        connection: Connection,
        balance_delta: dict[tuple[int, int], list[int]],
        day_delta: dict[tuple[int, int, int], int],
    ) -> None:
        existing = self._balance_rows(connection, list(balance_delta))
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
            connection.execute(insert(t.balances), inserts)
        if updates:
            connection.execute(
                update(t.balances)
                .where(b.account_id == bindparam("a"), b.fund_id == bindparam("f"))
                .values(
                    total=bindparam("total"), last_effective=bindparam("last"), postings=b.postings + bindparam("n")
                ),
                updates,
            )
        d = t.balance_days.c
        found = {
            (account_id, fund_id, day): delta
            for account_id, fund_id, day, delta in self._rows_in(
                connection,
                t.balance_days,
                ("account_id", "fund_id", "day", "delta"),
                ("account_id", "fund_id", "day"),
                list(day_delta),
            )
        }
        day_updates = [
            {"a": k[0], "f": k[1], "dd": k[2], "delta": found[k] + v} for k, v in day_delta.items() if k in found
        ]
        day_inserts = [
            {"account_id": k[0], "fund_id": k[1], "day": k[2], "delta": v}
            for k, v in day_delta.items()
            if k not in found
        ]
        if day_inserts:
            connection.execute(insert(t.balance_days), day_inserts)
        if day_updates:
            connection.execute(
                update(t.balance_days)
                .where(d.account_id == bindparam("a"), d.fund_id == bindparam("f"), d.day == bindparam("dd"))
                .values(delta=bindparam("delta")),
                day_updates,
            )

    def transact(
        self, build: Callable[[LedgerView], Sequence[JournalEntry]], *, skip_claimed: bool = False
    ) -> BatchResult:
        """Post the entries ``build`` makes from what it reads, all in one write transaction.

        ``build`` gets a :class:`LedgerView` of the ledger as it stands after the
        write lock is taken, so an amount computed from a balance (an average stock
        cost, what a donor gave, what a list still owes) cannot be overtaken by
        another writer.  It may run more than once if the transaction is retried.
        """

        def work(connection: Connection, seq: int, hash_: str, recorded: int) -> BatchResult:
            entries = list(build(LedgerView(self, connection)))
            for entry in entries:
                if not isinstance(entry, JournalEntry):
                    raise InvalidArgument(f"build must return JournalEntry values, got {entry!r}", value=entry)
            if not entries:
                return BatchResult(posted=(), skipped=(), results=())
            prepared = [self._prepare(entry) for entry in entries]
            return self._post_prepared(connection, prepared, seq, hash_, recorded, skip_claimed=skip_claimed)

        return self._write(work)

    def active_claims(self, scope_prefix: str = "") -> Iterator[Claim]:
        """Claims taken and not released, whose scope starts with ``scope_prefix``."""
        c, r = t.claims.c, t.claim_releases.c
        query = (
            select(c.scope, c.key)
            .outerjoin(t.claim_releases, and_(r.scope == c.scope, r.key == c.key, r.generation == c.generation))
            .where(r.scope.is_(None), c.scope.startswith(scope_prefix, autoescape=True))
            .order_by(c.scope, c.key)
        )
        with self._read() as connection:
            for scope, key in connection.execute(query):
                yield Claim(scope, key)

    # -- reversals and periods ------------------------------------------------

    def reverse(
        self,
        entry_id: str,
        *,
        actor: str,
        effective_at: dt.datetime | None = None,
        memo: str | None = None,
        idempotency_key: str | None = None,
    ) -> PostedEntry:
        """Post the mirror image of entry ``entry_id``, pointing at it.

        The reversal is effective at ``effective_at`` (by default the original's
        effective time, which must then still be in an open period).  It gives
        back the claims the original took (and takes back those it released).
        An entry can be reversed once; a reversal cannot itself be reversed.
        """
        return self.post(
            self.reversal_of(
                self.entry(entry_id), actor=actor, effective_at=effective_at, memo=memo, idempotency_key=idempotency_key
            )
        )

    @staticmethod
    def reversal_of(
        original: PostedEntry,
        *,
        actor: str,
        effective_at: dt.datetime | None = None,
        memo: str | None = None,
        idempotency_key: str | None = None,
    ) -> JournalEntry:
        """The entry that reverses ``original`` exactly (not yet posted)."""
        entry = original.entry
        return JournalEntry(
            kind=entry.kind,
            effective_at=entry.effective_at if effective_at is None else effective_at,
            postings=[Posting(p.account, p.fund, -p.amount) for p in entry.postings],
            actor=actor,
            memo=f"reversal of {original.id}" if memo is None else memo,
            idempotency_key=idempotency_key,
            source=entry.source,
            tags=entry.tags,
            claims=entry.releases,
            releases=entry.claims,
            reverses=original.id,
        )

    def close_period(self, through: dt.datetime, *, actor: str) -> pendulum.DateTime:
        """Close every effective time up to and including ``through``; return the closing time.

        Nothing can be posted into a closed period afterwards, reversals and
        back-dated entries included.  Closing an earlier time than is already
        closed is refused.
        """
        closing = to_micros(through, "closing time")
        check_text("actor", actor, allow_empty=False, limit=200)

        def work(connection: Connection, _seq: int, _hash: str, head_recorded: int) -> pendulum.DateTime:
            c = t.period_closes.c
            last = connection.execute(select(c.seq, c.closed_through, c.hash).order_by(c.seq.desc()).limit(1)).first()
            if last is not None and closing < last.closed_through:
                raise PeriodClosed(
                    f"the ledger is already closed through {from_micros(last.closed_through).isoformat()}, "
                    f"after {through.isoformat()}",
                    closed_through=from_micros(last.closed_through),
                )
            seq = 1 if last is None else last.seq + 1
            prev = hashing.GENESIS if last is None else last.hash
            # Never earlier than the newest entry: a close must not look older than entries it covers.
            recorded = max(to_micros(self._clock(), "clock time"), head_recorded)
            digest = hashing.close_hash(
                seq=seq, closed_through=closing, actor=actor, recorded_at=recorded, prev_hash=prev
            )
            connection.execute(
                insert(t.period_closes).values(
                    seq=seq, closed_through=closing, actor=actor, recorded_at=recorded, prev_hash=prev, hash=digest
                )
            )
            return from_micros(closing, zone_name(through))

        return self._write(work)

    def closed_through(self) -> pendulum.DateTime | None:
        """The end of the last closed period, or ``None`` if no period is closed."""
        with self._read() as connection:
            closed = connection.execute(select(func.max(t.period_closes.c.closed_through))).scalar()
        return None if closed is None else from_micros(closed)

    # -- records, and maker-checker ----------------------------------------------

    def put_record(
        self, kind: str, code: str, body: Mapping[str, Any], *, actor: str, subject: str | None = None
    ) -> Record:
        """Store a hash-chained record; the same record again is a no-op, a different one is refused."""
        text = _record_body(kind, code, body, subject)
        check_text("actor", actor, allow_empty=False, limit=200)
        return self._write(lambda connection, *_: self._insert_record(connection, kind, code, subject, actor, text))

    def _insert_record(
        self, connection: Connection, kind: str, code: str, subject: str | None, actor: str, text: str
    ) -> Record:
        existing = connection.execute(
            select(t.records).where(t.records.c.kind == kind, t.records.c.code == code)
        ).first()
        if existing is not None:
            if existing.body != text or existing.subject != subject:
                raise DuplicateDefinition(
                    f"{kind} {code!r} already exists with different content", kind=kind, code=code
                )
            return _record_of(existing)
        r = t.records.c
        last = connection.execute(select(r.seq, r.hash).order_by(r.seq.desc()).limit(1)).first()
        seq = 1 if last is None else last.seq + 1
        prev = hashing.GENESIS if last is None else last.hash
        recorded = to_micros(self._clock(), "clock time")
        digest = hashing.record_hash(
            seq=seq, kind=kind, code=code, subject=subject, actor=actor, body=text, recorded_at=recorded, prev_hash=prev
        )
        row = {
            "seq": seq,
            "kind": kind,
            "code": code,
            "subject": subject,
            "actor": actor,
            "body": text,
            "recorded_at": recorded,
            "prev_hash": prev,
            "hash": digest,
        }
        try:
            with connection.begin_nested():
                connection.execute(insert(t.records).values(row))
        except IntegrityError as error:
            raise InvalidArgument(f"the database refused the {kind} record: {_first_line(error.orig)}") from None
        return _record_of(connection.execute(select(t.records).where(r.seq == seq)).one())

    def record(self, kind: str, code: str) -> Record | None:
        """The record of this kind and code, or ``None``."""
        with self._read() as connection:
            row = connection.execute(
                select(t.records).where(t.records.c.kind == kind, t.records.c.code == code)
            ).first()
        return None if row is None else _record_of(row)

    def records(self, kind: str, *, subject: str | None = None) -> tuple[Record, ...]:
        """Every record of a kind (about ``subject``, if given), in the order they were made."""
        query = select(t.records).where(t.records.c.kind == kind).order_by(t.records.c.seq)
        if subject is not None:
            query = query.where(t.records.c.subject == subject)
        with self._read() as connection:
            return tuple(_record_of(row) for row in connection.execute(query))

    def submit(
        self, entries: Iterable[JournalEntry], *, actor: str, code: str | None = None, note: str = ""
    ) -> PendingBatch:
        """Store entries for a checker's approval instead of posting them.

        Every entry must be made by ``actor`` (the maker) and not yet approved.
        Nothing reaches the journal until :meth:`approve`; :meth:`reject` drops it.
        """
        batch = list(entries)
        if not batch:
            raise InvalidArgument("nothing to submit: the batch is empty")
        for entry in batch:
            if not isinstance(entry, JournalEntry):
                raise InvalidArgument(f"expected a JournalEntry, got {entry!r}", value=entry)
            if entry.actor != actor or entry.approved_by is not None:
                raise InvalidArgument(
                    f"a submitted entry must be made by the maker {actor!r} and carry no checker",
                    actor=entry.actor,
                )
        check_text("note", note)
        drafts = [self._prepare(entry).fields for entry in batch]
        code = code or f"pending-{uuid.uuid4()}"
        self.put_record("pending", code, {"entries": drafts, "note": note}, actor=actor)
        return self.pending(code)

    def pending(self, code: str) -> PendingBatch:
        """A submitted batch and its status."""
        record = self.record("pending", code)
        if record is None:
            raise UnknownEntry(f"no pending batch {code!r}", code=code)
        decision = self.record("decision", code)
        entries = tuple(self._entry_from_fields(fields) for fields in record.body["entries"])
        totals: dict[str, int] = defaultdict(int)
        for entry in entries:
            for posting in entry.postings:
                if posting.minor > 0 and posting.account.type is not AccountType.MEMO:
                    totals[posting.amount.unit.code] += posting.minor
        return PendingBatch(
            code=code,
            maker=record.actor,
            entries=entries,
            total={u: Amount.from_minor(m, self._chart.units[u]) for u, m in sorted(totals.items())},
            status="pending" if decision is None else str(decision.body["decision"]),
            checker=None if decision is None else decision.actor,
            note=str(record.body.get("note", "")),
        )

    def approve(self, code: str, *, checker: str, skip_claimed: bool = False) -> BatchResult:
        """Approve a pending batch as ``checker`` (never its maker) and post it, in one transaction."""
        check_text("checker", checker, allow_empty=False, limit=200)
        batch = self.pending(code)
        if batch.status != "pending":
            raise InvalidArgument(f"batch {code!r} was already {batch.status} by {batch.checker}", code=code)
        if checker == batch.maker:
            raise InvalidArgument(
                f"{checker!r} made batch {code!r} and cannot also approve it", code=code, checker=checker
            )
        prepared = [self._prepare(attrs.evolve(entry, approved_by=checker)) for entry in batch.entries]
        body = _record_body("decision", code, {"decision": "approved"}, code)

        def work(connection: Connection, seq: int, hash_: str, recorded: int) -> BatchResult:
            self._insert_record(connection, "decision", code, code, checker, body)
            return self._post_prepared(connection, prepared, seq, hash_, recorded, skip_claimed=skip_claimed)

        return self._write(work)

    def reject(self, code: str, *, checker: str, reason: str) -> PendingBatch:
        """Reject a pending batch: nothing of it is ever posted."""
        check_text("reason", reason, allow_empty=False)
        batch = self.pending(code)
        if batch.status != "pending":
            raise InvalidArgument(f"batch {code!r} was already {batch.status} by {batch.checker}", code=code)
        if checker == batch.maker:
            raise InvalidArgument(f"{checker!r} made batch {code!r} and cannot also reject it", code=code)
        self.put_record("decision", code, {"decision": "rejected", "reason": reason}, actor=checker, subject=code)
        return self.pending(code)

    def _entry_from_fields(self, fields: Mapping[str, Any]) -> JournalEntry:
        """Rebuild an entry from its canonical fields (as stored in a pending batch)."""
        postings = []
        for account_code, fund_code, _, minor in fields["postings"]:
            account = self.account(account_code)
            postings.append(Posting(account, self.fund(fund_code), Amount.from_minor(minor, account.unit)))
        return JournalEntry(
            kind=fields["kind"],
            effective_at=from_micros(fields["eff"], fields["tz"]),
            postings=postings,
            actor=fields["actor"],
            memo=fields["memo"],
            idempotency_key=fields["key"],
            source=fields["source"],
            tags=dict(fields["tags"]),
            claims=[Claim(scope, key) for scope, key in fields["claims"]],
            releases=[Claim(scope, key) for scope, key in fields["releases"]],
            reverses=fields["reverses"],
            approved_by=fields["checker"],
        )

    # -- reading entries ------------------------------------------------------

    def head(self) -> Head:
        """The newest entry's sequence number and hash, read from the journal itself."""
        e = t.entries.c
        with self._read() as connection:
            row = connection.execute(select(e.seq, e.hash).order_by(e.seq.desc()).limit(1)).first()
        return Head(seq=0, hash=hashing.GENESIS) if row is None else Head(seq=row.seq, hash=row.hash)

    def entry_by_key(self, idempotency_key: str) -> PostedEntry | None:
        """The entry posted with this idempotency key, or ``None``."""
        check_text("idempotency key", idempotency_key, allow_empty=False, limit=500)
        with self._read() as connection:
            return LedgerView(self, connection).entry_by_key(idempotency_key)

    def entry(self, entry_id: str) -> PostedEntry:
        """The posted entry with this id, or UnknownEntry."""
        if not isinstance(entry_id, str):
            raise InvalidArgument(f"entry id must be text, got {entry_id!r}", value=entry_id)
        with self._read() as connection:
            return self._load_entry(connection, entry_id)

    def entries(
        self,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
    ) -> Iterator[PostedEntry]:
        """Posted entries in chain order, starting after ``after_seq``.

        ``as_of`` keeps entries effective at or before that time, ``known_at``
        those recorded by then.  Entries are read a page at a time (postings,
        tags and claims of a page in one query each), so a million entries
        stream in constant memory.
        """
        e = t.entries.c
        conditions = []
        if as_of is not None:
            conditions.append(e.effective_at <= to_micros(as_of, "as_of"))
        if known_at is not None:
            conditions.append(e.recorded_at <= to_micros(known_at, "known_at"))
        if limit is not None and (type(limit) is not int or limit < 0):
            raise InvalidArgument(f"limit must be a whole number, 0 or more, got {limit!r}", value=limit)
        left = limit
        cursor = after_seq
        with self._read() as connection:
            while left is None or left > 0:
                page = _PAGE if left is None else min(_PAGE, left)
                rows = connection.execute(
                    select(t.entries).where(e.seq > cursor, *conditions).order_by(e.seq).limit(page)
                ).all()
                if not rows:
                    return
                yield from self._load_page(connection, rows)
                cursor = rows[-1].seq
                if left is not None:
                    left -= len(rows)

    def _load_entry(self, connection: Connection, entry_id: str) -> PostedEntry:
        row = connection.execute(select(t.entries).where(t.entries.c.id == entry_id)).first()
        if row is None:
            raise UnknownEntry(f"no entry with id {entry_id!r}", entry_id=entry_id)
        return self._load_page(connection, [row])[0]

    def _load_page(self, connection: Connection, rows: Sequence[Any]) -> list[PostedEntry]:
        """The entries of ``rows`` (entries table rows in seq order), with their postings, tags and claims."""
        first, last = rows[0].seq, rows[-1].seq

        def children(table: Any, *order: Any) -> dict[int, list[Any]]:
            found: dict[int, list[Any]] = defaultdict(list)
            query = select(table).where(table.c.entry_seq >= first, table.c.entry_seq <= last)
            for child in connection.execute(query.order_by(table.c.entry_seq, *order)):
                found[child.entry_seq].append(child)
            return found

        lines = children(t.postings, t.postings.c.line)
        tags = children(t.entry_tags)
        claims = children(t.claims)
        releases = children(t.claim_releases)
        known = self._chart
        if any(
            p.account_id not in known.account_by_id or p.fund_id not in known.fund_by_id
            for group in lines.values()
            for p in group
        ):
            known = self._chart = _Chart.read(connection)
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

    # -- balances -----------------------------------------------------------------

    def balance(
        self,
        account: Account | str,
        fund: Fund | str | None = None,
        *,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Amount:
        """The signed balance of ``account`` (debits positive), in one fund or all.

        ``as_of`` limits it to entries effective at or before that time;
        ``known_at`` to entries the ledger had recorded by then; ``tags`` to
        entries carrying all of the given tag values.
        """
        code = self._known_account(account)
        account_id, found = self._chart.accounts[code]
        fund_id = None if fund is None else self._chart.funds[self._known_fund(fund)][0]
        if tags is not None and not isinstance(tags, Mapping):
            raise InvalidArgument(f"tags must be a mapping of names to values, got {tags!r}")
        with self._read() as connection:
            if fund_id is not None and known_at is None and not tags:
                return Amount.from_minor(self._one_balance(connection, account_id, fund_id, as_of), found.unit)
            totals = self._balances(connection, as_of, known_at, account_ids=[account_id], fund_id=fund_id, tags=tags)
        return Amount.from_minor(sum(totals.values()), found.unit)

    def _one_balance(self, connection: Connection, account_id: int, fund_id: int, as_of: dt.datetime | None) -> int:
        """One account's balance in one fund: the maintained total, or the sum up to ``as_of`` (two short queries)."""
        mark = self._mark
        row = connection.exec_driver_sql(
            f"SELECT total, last_effective FROM balances WHERE account_id = {mark} AND fund_id = {mark}",
            (account_id, fund_id),
        ).first()
        if row is None:
            return 0
        if as_of is None:
            return int(row[0])
        cutoff = to_micros(as_of, "as_of")
        if row[1] <= cutoff:
            return int(row[0])
        return self._sum_before(connection, [account_id], fund_id, cutoff + 1)

    def fund_balance(
        self,
        fund: Fund | str,
        unit: Unit | str,
        *,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
    ) -> Amount:
        """The net assets of ``fund`` in ``unit``: its assets minus its liabilities."""
        fund_id = self._chart.funds[self._known_fund(fund)][0]
        unit_code = unit.code if isinstance(unit, Unit) else unit
        if unit_code not in self._chart.units:
            self._refresh_chart()
        if unit_code not in self._chart.units:
            raise InvalidArgument(f"unknown unit {unit_code!r}", unit=unit_code)
        ids = [
            i for i, a in self._chart.account_by_id.items() if a.unit.code == unit_code and a.type in _NET_ASSET_TYPES
        ]
        with self._read() as connection:
            totals = self._balances(connection, as_of, known_at, account_ids=ids, fund_id=fund_id)
        return Amount.from_minor(sum(totals.values()), self._chart.units[unit_code])

    def trial_balance(self, *, as_of: dt.datetime | None = None, known_at: dt.datetime | None = None) -> TrialBalance:
        """Every account's balance per fund, with totals that are zero in a balanced ledger."""
        with self._read() as connection:  # the chart and the balances of one moment
            chart = self._chart = _Chart.read(connection)
            totals = self._balances(connection, as_of, known_at)
        lines = []
        per_unit: dict[str, int] = defaultdict(int)
        per_fund: dict[tuple[str, str], int] = defaultdict(int)
        for (account_id, fund_id), minor in totals.items():
            account = chart.account_by_id[account_id]
            fund = chart.fund_by_id[fund_id]
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
        )

    def _balances(
        self,
        connection: Connection,
        as_of: dt.datetime | None,
        known_at: dt.datetime | None,
        *,
        account_ids: list[int] | None = None,
        fund_id: int | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[tuple[int, int], int]:
        """Balances per (account id, fund id), from the maintained tables where possible."""
        p = t.postings.c
        if known_at is not None or tags:
            # Reproducing an earlier report, or one slice of the journal: from the postings themselves.
            query = select(p.account_id, p.fund_id, func.sum(p.amount)).group_by(p.account_id, p.fund_id)
            if known_at is not None:
                query = query.join(t.entries, t.entries.c.seq == p.entry_seq).where(
                    t.entries.c.recorded_at <= to_micros(known_at, "known_at")
                )
            for name, value in (tags or {}).items():
                tag = t.entry_tags.alias()
                query = query.where(
                    select(tag.c.entry_seq)
                    .where(tag.c.entry_seq == p.entry_seq, tag.c.name == name, tag.c.value == value)
                    .exists()
                )
            if as_of is not None:
                query = query.where(p.effective_at <= to_micros(as_of, "as_of"))
            return self._grouped(connection, query, p.account_id, p.fund_id, account_ids, fund_id)
        b = t.balances.c
        current = select(b.account_id, b.fund_id, b.total, b.last_effective)
        if account_ids is not None:
            current = current.where(b.account_id.in_(account_ids))
        if fund_id is not None:
            current = current.where(b.fund_id == fund_id)
        rows = connection.execute(current).all()
        if as_of is None:
            return {(r.account_id, r.fund_id): int(r.total) for r in rows}
        cutoff = to_micros(as_of, "as_of")
        result = {(r.account_id, r.fund_id): int(r.total) for r in rows if r.last_effective <= cutoff}
        stale = [(r.account_id, r.fund_id) for r in rows if r.last_effective > cutoff]
        if not stale:
            return result
        day = cutoff // MICROS_PER_DAY
        d = t.balance_days.c
        for chunk in _chunks(stale):
            days = (
                select(d.account_id, d.fund_id, func.sum(d.delta))
                .where(tuple_(d.account_id, d.fund_id).in_(chunk), d.day < day)
                .group_by(d.account_id, d.fund_id)
            )
            partial = (
                select(p.account_id, p.fund_id, func.sum(p.amount))
                .where(
                    tuple_(p.account_id, p.fund_id).in_(chunk),
                    p.effective_at >= day * MICROS_PER_DAY,
                    p.effective_at <= cutoff,
                )
                .group_by(p.account_id, p.fund_id)
            )
            for query in (days, partial):
                for account_id, fund, minor in connection.execute(query):
                    result[(account_id, fund)] = result.get((account_id, fund), 0) + int(minor)
        return result

    @staticmethod
    def _grouped(
        connection: Connection,
        query: Any,
        account_col: Any,
        fund_col: Any,
        account_ids: list[int] | None,
        fund_id: int | None,
    ) -> dict[tuple[int, int], int]:
        if account_ids is not None:
            query = query.where(account_col.in_(account_ids))
        if fund_id is not None:
            query = query.where(fund_col == fund_id)
        return {(a, f): int(m) for a, f, m in connection.execute(query)}

    # -- verification ----------------------------------------------------------------

    def count_tagged(self, name: str, *, kind: str | None = None) -> dict[str, int]:
        """How many entries (of one kind, if given) carry each value of tag ``name``."""
        e, g = t.entries.c, t.entry_tags.c
        query = select(g.value, func.count()).where(g.name == name).group_by(g.value)
        if kind is not None:
            query = query.join(t.entries, e.seq == g.entry_seq).where(e.kind == kind)
        with self._read() as connection:
            return {str(value): int(count) for value, count in connection.execute(query)}

    # -- reconciliation ----------------------------------------------------------

    def check_books(self) -> tuple[Check, ...]:
        """The ledger's own reconciliation checks, recomputed from the stored journal rows.

        Hash chain intact; maintained balances (and their daily deltas) equal to
        the sum of the postings; trial balance zero per unit and per fund; no
        account that may not go negative, and no fund's net assets, below zero
        at any effective time.  Each check says what it compared and the
        difference.  :func:`aidledger.reconcile` adds the aid checks on top.
        """
        self._refresh_chart()
        verification = self.verify()
        brk = verification.first_break
        checks = [
            Check(
                "hash chain",
                verification.ok,
                f"the stored hash of each of {verification.entries} entries, period closes and records with its "
                "recomputed value and its predecessor",
                ""
                if brk is None
                else f"entry {brk.seq} ({brk.entry_id or 'no id'}): {brk.problem}; expected {brk.expected}, "
                f"found {brk.found}",
            )
        ]
        with self._read() as connection:
            self._chart = _Chart.read(connection)  # it knows every account the postings below name
            stored = self._posting_totals(connection)  # one pass over the postings serves three checks
            checks.append(self._check_cache(connection, stored))
            checks.append(self._check_days(connection, stored))
            checks.append(self._check_trial(stored))
            checks.extend(self._check_never_negative(connection))
        return tuple(checks)

    def _describe(self, account_id: int, fund_id: int) -> str:
        account, fund = self._chart.account_by_id.get(account_id), self._chart.fund_by_id.get(fund_id)
        return f"{account.code if account else f'account #{account_id}'} in {fund.code if fund else f'fund #{fund_id}'}"

    def _minor_text(self, account_id: int, total: tuple[int, ...] | None) -> str:
        if total is None:
            return "nothing"
        account = self._chart.account_by_id.get(account_id)
        return f"{total[0]} minor units" if account is None else str(Amount.from_minor(total[0], account.unit))

    def _posting_totals(self, connection: Connection) -> dict[tuple[int, int], tuple[int, int, int]]:
        p = t.postings.c
        query = select(p.account_id, p.fund_id, func.sum(p.amount), func.count(), func.max(p.effective_at)).group_by(
            p.account_id, p.fund_id
        )
        return {(a, f): (int(total), int(n), int(last)) for a, f, total, n, last in connection.execute(query)}

    def _check_cache(self, connection: Connection, stored: dict[tuple[int, int], tuple[int, int, int]]) -> Check:
        b = t.balances.c
        cache = {
            (a, f): (int(total), int(n), int(last))
            for a, f, total, n, last in connection.execute(
                select(b.account_id, b.fund_id, b.total, b.postings, b.last_effective)
            )
        }
        wrong = []
        for key in sorted(stored.keys() | cache.keys()):
            truth, kept = stored.get(key), cache.get(key)
            if truth != kept:
                wrong.append(
                    f"{self._describe(*key)}: postings sum to {self._minor_text(key[0], truth)} "
                    f"({truth[1] if truth else 0} postings), the maintained balance says "
                    f"{self._minor_text(key[0], kept)} ({kept[1] if kept else 0} postings)"
                )
        return Check.of(
            "maintained balances",
            f"the maintained balance of each of {len(stored)} account-fund pairs with the sum of its postings",
            wrong,
            "{n} maintained balance(s) differ from their postings",
        )

    def _check_days(self, connection: Connection, totals: dict[tuple[int, int], tuple[int, int, int]]) -> Check:
        stored = {key: total for key, (total, _, _) in totals.items()}
        d = t.balance_days.c
        days: dict[tuple[int, int], int] = defaultdict(int)
        for a, f, delta in connection.execute(
            select(d.account_id, d.fund_id, func.sum(d.delta)).group_by(d.account_id, d.fund_id)
        ):
            days[(a, f)] = int(delta)
        wrong = [
            f"{self._describe(*key)}: postings sum to {stored.get(key, 0)} minor units, "
            f"daily deltas to {days.get(key, 0)}"
            for key in sorted(stored.keys() | days.keys())
            if stored.get(key, 0) != days.get(key, 0)
        ]
        return Check.of(
            "daily balances",
            "the sum of the maintained daily deltas of each account-fund pair with the sum of its postings",
            wrong,
            "{n} daily series differ from their postings",
        )

    def _check_trial(self, stored: dict[tuple[int, int], tuple[int, int, int]]) -> Check:
        per_unit: dict[str, int] = defaultdict(int)
        per_fund: dict[tuple[str, str], int] = defaultdict(int)
        for (account_id, fund_id), (total, _, _) in stored.items():
            unit = self._chart.account_by_id[account_id].unit.code
            per_unit[unit] += total
            per_fund[(self._chart.fund_by_id[fund_id].code, unit)] += total
        units = self._chart.units
        wrong = [
            f"unit {u}: postings sum to {Amount.from_minor(v, units[u])}" for u, v in sorted(per_unit.items()) if v
        ]
        wrong += [
            f"fund {f}, unit {u}: postings sum to {Amount.from_minor(v, units[u])}"
            for (f, u), v in sorted(per_fund.items())
            if v
        ]
        return Check.of(
            "trial balance",
            f"debits with credits of every posting, per unit ({len(per_unit)}) and per fund and unit ({len(per_fund)})",
            wrong,
            "the journal does not balance: {n} total(s) are not zero",
        )

    def _running_extremes(
        self, connection: Connection, account_ids: list[int], by_account: bool
    ) -> list[tuple[int | None, int, int, int]]:
        """(account id or None, fund id, lowest, highest) running balance, each entry's lines netted first."""
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
        rows = connection.execute(
            select(*outer, func.min(running.c.running), func.max(running.c.running)).group_by(*outer)
        )
        if by_account:
            return [(int(row[0]), int(row[1]), int(row[2]), int(row[3])) for row in rows]
        return [(None, int(row[0]), int(row[1]), int(row[2])) for row in rows]

    def _check_never_negative(self, connection: Connection) -> list[Check]:
        chart = self._chart
        guarded = [i for i, a in chart.account_by_id.items() if not a.allow_negative]
        wrong = []
        for account_id, fund_id, low, high in self._running_extremes(connection, guarded, by_account=True):
            assert account_id is not None
            account = chart.account_by_id[account_id]
            worst = low if account.normal_side is Side.DEBIT else -high
            if worst < 0:
                wrong.append(
                    f"{self._describe(account_id, fund_id)} went {Amount.from_minor(-worst, account.unit)} below zero"
                )
        accounts = Check.of(
            "no negative balances",
            f"the running balance of every account that may not go negative ({len(guarded)}), per fund, "
            "entry by entry in effective order, with zero",
            wrong,
            "{n} balance(s) went below zero",
        )
        wrong = []
        for unit in sorted(chart.units):
            ids = [i for i, a in chart.account_by_id.items() if a.unit.code == unit and a.type in _NET_ASSET_TYPES]
            if not ids:
                continue
            for _, fund_id, low, _ in self._running_extremes(connection, ids, by_account=False):
                fund = chart.fund_by_id[fund_id]
                if low < 0 and not fund.allow_negative:
                    wrong.append(
                        f"fund {fund.code} ({unit} net assets) went {Amount.from_minor(-low, chart.units[unit])} "
                        "below zero"
                    )
        funds = Check.of(
            "fund net assets",
            "the running net assets (assets minus liabilities) of every fund, per unit, entry by entry, with zero",
            wrong,
            "{n} fund(s) went below zero",
        )
        return [accounts, funds]

    def verify(self, digest: str | None = None) -> Verification:
        """Recompute the hash chain from the stored rows and report the first broken link.

        Detects edited, deleted, inserted and reordered entries, postings, tags and
        claims, and edited account or fund definitions.  With ``digest`` (the
        :attr:`Verification.digest` an auditor kept from an earlier run), it also
        proves that nothing up to that point changed: newest entries cut off, or a
        whole chain forged and re-hashed, break at the digest's entry.
        """
        wanted = None if digest is None else _parse_digest(digest)
        result = self._verify_chain()
        if wanted is None or not result.ok:
            return result
        seq, expected = wanted
        if seq > result.head_seq:
            problem = (
                f"the digest was taken at entry {seq}, but the ledger ends at entry {result.head_seq}: "
                "entries were cut off"
            )
            return attrs.evolve(result, first_break=ChainBreak(seq, None, problem, expected, "missing"))
        e = t.entries.c
        with self._read() as connection:
            row = connection.execute(select(e.id, e.hash).where(e.seq == seq)).first()
        found = hashing.GENESIS if seq == 0 else ("missing" if row is None else str(row.hash))
        if found != expected:
            problem = f"entry {seq} is not the entry the digest was taken on: the chain up to it was rewritten"
            return attrs.evolve(
                result, first_break=ChainBreak(seq, None if row is None else str(row.id), problem, expected, found)
            )
        return result

    def _verify_chain(self) -> Verification:
        try:
            self._refresh_chart()
        except AidLedgerError as error:
            # A definition changed behind the library into something no ledger would write.
            return Verification(
                entries=0,
                head_seq=0,
                head_hash=hashing.GENESIS,
                first_break=ChainBreak(0, None, f"the chart of accounts was changed: {error}", "", ""),
            )
        with self.snapshot().execution_options(stream_results=True, yield_per=2000) as connection:
            return _Verifier(self, connection).run()


@attrs.frozen
class EntryFacts:
    """What :meth:`LedgerView.facts` tells of one entry.

    Attributes:
        id: the entry's id.
        debits: its total debits in minor units, per unit code.
        tags: its tags.
    """

    id: str
    debits: Mapping[str, int]
    tags: Mapping[str, str]


class LedgerView:
    """Reads inside a write transaction (see :meth:`Ledger.transact`)."""

    def __init__(self, ledger: Ledger, connection: Connection) -> None:
        self._ledger = ledger
        self._connection = connection

    def balance(
        self,
        account: Account | str,
        fund: Fund | str | None = None,
        *,
        as_of: dt.datetime | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Amount:
        """The signed balance of an account, as :meth:`Ledger.balance`."""
        ledger = self._ledger
        account_id, found = ledger._chart.accounts[ledger._known_account(account)]
        fund_id = None if fund is None else ledger._chart.funds[ledger._known_fund(fund)][0]
        totals = ledger._balances(self._connection, as_of, None, account_ids=[account_id], fund_id=fund_id, tags=tags)
        return Amount.from_minor(sum(totals.values()), found.unit)

    def entry_by_key(self, idempotency_key: str) -> PostedEntry | None:
        """The entry posted with this idempotency key, if any."""
        entry_id = self._connection.execute(
            select(t.entries.c.id).where(t.entries.c.idempotency_key == idempotency_key)
        ).scalar()
        return None if entry_id is None else self._ledger._load_entry(self._connection, entry_id)

    def entries_by_keys(self, keys: Sequence[str]) -> dict[str, PostedEntry]:
        """The entries posted with any of these idempotency keys, by key (keys never posted are absent)."""
        e = t.entries.c
        found: dict[str, PostedEntry] = {}
        for chunk in _chunks(list(keys)):
            for key, entry_id in self._connection.execute(
                select(e.idempotency_key, e.id).where(e.idempotency_key.in_(chunk))
            ):
                found[key] = self._ledger._load_entry(self._connection, entry_id)
        return found

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
        """For each posted idempotency key: the entry's id, its total debit per unit, and its tags."""
        e, p, g = t.entries.c, t.postings.c, t.entry_tags.c
        found: dict[str, EntryFacts] = {}
        chart = self._ledger._chart
        for chunk in _chunks(list(keys)):
            rows = self._connection.execute(select(e.seq, e.id, e.idempotency_key).where(e.idempotency_key.in_(chunk)))
            by_seq = {row.seq: row for row in rows}
            if not by_seq:
                continue
            debits: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for seq, account_id, amount in self._connection.execute(
                select(p.entry_seq, p.account_id, p.amount).where(p.entry_seq.in_(list(by_seq)), p.amount > 0)
            ):
                debits[seq][chart.account_by_id[account_id].unit.code] += amount
            tags: dict[int, dict[str, str]] = defaultdict(dict)
            for seq, name, value in self._connection.execute(
                select(g.entry_seq, g.name, g.value).where(g.entry_seq.in_(list(by_seq)))
            ):
                tags[seq][name] = value
            for seq, row in by_seq.items():
                found[row.idempotency_key] = EntryFacts(
                    id=row.id, debits=dict(debits[seq]), tags=types.MappingProxyType(tags[seq])
                )
        return found

    def put_record(
        self, kind: str, code: str, body: Mapping[str, Any], *, actor: str, subject: str | None = None
    ) -> Record:
        """Store a record in this transaction, as :meth:`Ledger.put_record`: it stands or falls with the entries."""
        text = _record_body(kind, code, body, subject)
        check_text("actor", actor, allow_empty=False, limit=200)
        return self._ledger._insert_record(self._connection, kind, code, subject, actor, text)

    def record(self, kind: str, code: str) -> Record | None:
        """The record of this kind and code, or ``None``."""
        row = self._connection.execute(
            select(t.records).where(t.records.c.kind == kind, t.records.c.code == code)
        ).first()
        return None if row is None else _record_of(row)


class _Verifier:
    """Walks entries, postings, tags and claims in chain order, side by side."""

    def __init__(self, ledger: Ledger, connection: Connection) -> None:
        self.ledger = ledger
        self.connection = connection

    def run(self) -> Verification:
        c = self.connection
        chart = self.ledger._chart
        postings = _Grouped(c.execute(select(t.postings).order_by(t.postings.c.entry_seq, t.postings.c.line)))
        tags = _Grouped(c.execute(select(t.entry_tags).order_by(t.entry_tags.c.entry_seq, t.entry_tags.c.name)))
        claims = _Grouped(c.execute(select(t.claims).order_by(t.claims.c.entry_seq, t.claims.c.scope, t.claims.c.key)))
        r = t.claim_releases.c
        releases = _Grouped(c.execute(select(t.claim_releases).order_by(r.entry_seq, r.scope, r.key)))
        prev = hashing.GENESIS
        expected_seq = 0
        count = 0
        first_break: ChainBreak | None = None
        last_recorded = 0
        for row in c.execute(select(t.entries).order_by(t.entries.c.seq)):
            expected_seq += 1
            count += 1
            lines = postings.take(row.seq)
            row_tags = tags.take(row.seq)
            row_claims = claims.take(row.seq)
            row_releases = releases.take(row.seq)
            if first_break is not None:
                continue
            if row.seq != expected_seq:
                first_break = ChainBreak(
                    expected_seq, None, "an entry is missing from the sequence", str(expected_seq), str(row.seq)
                )
                continue
            if row.prev_hash != prev:
                first_break = ChainBreak(row.seq, row.id, "link to the previous entry is broken", prev, row.prev_hash)
                continue
            problem = self._line_problem(row, lines)
            if problem:
                first_break = ChainBreak(row.seq, row.id, problem, "", "")
                continue
            canonical = []
            referenced: dict[tuple[str, str], None] = {}
            for line in lines:
                account = chart.account_by_id[line.account_id]
                fund = chart.fund_by_id[line.fund_id]
                canonical.append((account.code, fund.code, account.unit.code, line.amount))
                referenced[("account", account.code)] = None
                referenced[("fund", fund.code)] = None
                referenced[("unit", account.unit.code)] = None
            fields = hashing.draft_fields(
                kind=row.kind,
                effective_at=row.effective_at,
                effective_tz=row.effective_tz,
                actor=row.actor,
                memo=row.memo,
                idempotency_key=row.idempotency_key,
                source=row.source,
                tags={r.name: r.value for r in row_tags},
                claims=[(r.scope, r.key) for r in row_claims],
                releases=[(r.scope, r.key) for r in row_releases],
                reverses=row.reverses,
                approved_by=row.approved_by,
                postings=canonical,
                chart=None,
            )
            digest = hashing.entry_hash(
                fields,
                seq=row.seq,
                entry_id=row.id,
                recorded_at=row.recorded_at,
                prev_hash=row.prev_hash,
                fields_hash=hashing.fingerprint(fields, chart=chart.text(referenced)),
            )
            if digest != row.hash:
                first_break = ChainBreak(row.seq, row.id, "entry content does not match its hash", digest, row.hash)
                continue
            if row.recorded_at < last_recorded:
                first_break = ChainBreak(
                    row.seq, row.id, "recorded time goes backwards", str(last_recorded), str(row.recorded_at)
                )
                continue
            last_recorded = row.recorded_at
            prev = row.hash
        orphans = postings.rest() + tags.rest() + claims.rest() + releases.rest()
        if first_break is None and orphans:
            seq = orphans[0].entry_seq
            first_break = ChainBreak(seq, None, "rows refer to an entry that is not in the chain", "", str(seq))
        if first_break is None:
            first_break = self._check_closes()
        if first_break is None:
            first_break = self._check_records()
        head = c.execute(select(t.ledger_head)).one()
        if first_break is None and (head.seq != expected_seq or head.hash != prev):
            first_break = ChainBreak(
                head.seq,
                None,
                "the ledger head does not match the last entry",
                f"{expected_seq}:{prev}",
                f"{head.seq}:{head.hash}",
            )
        return Verification(entries=count, head_seq=expected_seq, head_hash=prev, first_break=first_break)

    def _check_closes(self) -> ChainBreak | None:
        """Period closes carry a chain of their own; a removed or edited close breaks it."""
        prev = hashing.GENESIS
        closes = self.connection.execute(select(t.period_closes).order_by(t.period_closes.c.seq)).all()
        for number, row in enumerate(closes, 1):
            digest = hashing.close_hash(
                seq=row.seq,
                closed_through=row.closed_through,
                actor=row.actor,
                recorded_at=row.recorded_at,
                prev_hash=prev,
            )
            if row.seq != number or row.prev_hash != prev or row.hash != digest:
                return ChainBreak(row.seq, None, "period close does not match its chain", digest, row.hash)
            prev = row.hash
        return None

    def _check_records(self) -> ChainBreak | None:
        """Records carry a chain of their own; an edited, removed or inserted record breaks it."""
        prev = hashing.GENESIS
        for number, row in enumerate(self.connection.execute(select(t.records).order_by(t.records.c.seq)).all(), 1):
            digest = hashing.record_hash(
                seq=row.seq,
                kind=row.kind,
                code=row.code,
                subject=row.subject,
                actor=row.actor,
                body=row.body,
                recorded_at=row.recorded_at,
                prev_hash=prev,
            )
            if row.seq != number or row.prev_hash != prev or row.hash != digest:
                return ChainBreak(
                    row.seq, None, f"{row.kind} record {row.code!r} does not match its chain", digest, row.hash
                )
            prev = row.hash
        return None

    def _line_problem(self, row: Any, lines: list[Any]) -> str | None:
        chart = self.ledger._chart
        if len(lines) < 2:
            return f"entry has {len(lines)} posting(s)"
        for number, line in enumerate(lines, start=1):
            if line.line != number:
                return f"posting lines are not 1..{len(lines)}"
            if line.account_id not in chart.account_by_id or line.fund_id not in chart.fund_by_id:
                return f"posting line {number} refers to an unknown account or fund"
            if line.effective_at != row.effective_at:
                return f"posting line {number} has effective time {line.effective_at}, its entry {row.effective_at}"
        return None


class _Grouped:
    """Hands out consecutive rows of an ordered result, grouped by ``entry_seq``."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = iter(rows)
        self._next: Any = next(self._rows, None)
        self._skipped: list[Any] = []

    def take(self, seq: int) -> list[Any]:
        taken = []
        while self._next is not None and self._next.entry_seq < seq:
            self._skipped.append(self._next)
            self._next = next(self._rows, None)
        while self._next is not None and self._next.entry_seq == seq:
            taken.append(self._next)
            self._next = next(self._rows, None)
        return taken

    def rest(self) -> list[Any]:
        remaining = list(self._skipped)
        while self._next is not None:
            remaining.append(self._next)
            self._next = next(self._rows, None)
        return remaining


def _record_body(kind: str, code: str, body: Mapping[str, Any], subject: str | None) -> str:
    """The canonical JSON text of a record's body, after checking its kind, code and subject."""
    if not isinstance(kind, str) or not _RECORD_KIND.match(kind):
        raise InvalidArgument(f"record kind must be a lower-case identifier, got {kind!r}", kind=kind)
    check_text(f"{kind} code", code, allow_empty=False, limit=500)
    if subject is not None:
        check_text("subject", subject, allow_empty=False, limit=500)
    if not isinstance(body, Mapping):
        raise InvalidArgument(f"a record's body must be a mapping, got {body!r}")
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"a record's body must be JSON values: {error}") from None
    return check_text(f"the body of {kind} {code}", text, limit=10_000_000)


def _record_of(row: Any) -> Record:
    return Record(
        kind=row.kind,
        code=row.code,
        subject=row.subject,
        actor=row.actor,
        body=json.loads(row.body),
        seq=row.seq,
        recorded_at=from_micros(row.recorded_at),
    )


def _retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None)
    if code in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error.orig)


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


__all__ = ["Ledger"]


def _parse_digest(digest: object) -> tuple[int, str]:
    """``<seq>:<64 hex digits>``, as :attr:`Verification.digest` writes it."""
    match = re.fullmatch(r"(\d{1,19}):([0-9a-f]{64})", digest.strip()) if isinstance(digest, str) else None
    if match is None:
        raise InvalidArgument(f"a digest is '<entry number>:<64 hex digits>', got {digest!r}", value=digest)
    return int(match.group(1)), match.group(2)
