"""The Ledger facade: open a database, define accounts and funds, post, reverse, read.

Every write runs in one database transaction that first takes the ledger's
write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the ``ledger_head`` row,
``FOR UPDATE``), then checks every invariant against what is stored, then
writes.  A refused operation raises before anything is written; an accepted
batch is written whole or not at all.

The facade owns the transactions; the work inside them is done by the rooms
of this package: :mod:`.chart` (accounts, funds, units), :mod:`.posting`
(checks and rows of a batch), :mod:`.balances`, :mod:`.records` (records and
maker-checker batches), :mod:`.reader` (entries and records read back) and
:mod:`.view` (what a :meth:`Ledger.transact` build function reads).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import attrs
import pendulum
from sqlalchemy import select
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from aidledger.core import hashing
from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount, Unit
from aidledger.core.approvals import POLICY_RECORD, ApprovalPolicy, required_checkers
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting, check_text
from aidledger.core.errors import AidLedgerError, ApprovalRequired, InvalidArgument, StorageError
from aidledger.core.times import from_micros, now, to_micros
from aidledger.core.window import Window
from aidledger.ledger import approvals, posting, records
from aidledger.ledger import chart as charting
from aidledger.ledger.balances import Balances, trial_balance
from aidledger.ledger.chart import Charts
from aidledger.ledger.group import GroupCommit
from aidledger.ledger.reader import Reader
from aidledger.ledger.results import BatchResult, EntryFacts, Head, PendingBatch, Record, TrialBalance, Unapproved
from aidledger.ledger.rows import first_line
from aidledger.ledger.view import LedgerView
from aidledger.store import engine as store_engine
from aidledger.store import schema as t
from aidledger.store import triggers
from aidledger.store import window as store_window

T = TypeVar("T")
_RETRIES: Final = 8
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})
_READ_ONLY_SQLSTATE: Final = "25006"  # read_only_sql_transaction: a hot standby, or a read-only session


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
        self._charts = Charts(self.snapshot)
        self._group: GroupCommit[posting.Prepared, PostedEntry] = GroupCommit(self._post_together)
        self._postgres = engine.dialect.name == "postgresql"
        self._read_only = False

    # -- opening -----------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | URL = "aidledger.db",
        *,
        clock: Callable[[], dt.datetime] | None = None,
        create: bool = True,
        read_only: bool = False,
    ) -> Ledger:
        """Open the ledger at ``url``, creating or migrating its schema.

        ``url`` is a SQLAlchemy URL (``sqlite:///aidledger.db``, ``sqlite://`` for
        memory, ``postgresql+psycopg://user@host/db``) or a plain path to a SQLite
        file.  ``clock`` returns the current aware time (for tests); entries are
        recorded at the later of its time and the previous entry's.

        ``create=False`` refuses a database that holds no aidledger ledger yet
        (:class:`NotALedger`: a missing file, an empty or foreign database) instead
        of creating one.  ``read_only=True`` is for auditors: it creates and
        migrates nothing, refuses anything but a ledger of this library's schema
        (:class:`SchemaMismatch` names an older or newer revision), and opens the
        database so that it refuses every write itself; a write through the
        ledger raises :class:`StorageError`.
        """
        for name, value in (("create", create), ("read_only", read_only)):
            if not isinstance(value, bool):
                raise InvalidArgument(f"{name} must be True or False, got {value!r}", value=value)
        parsed = store_engine.parse_url(url)
        engine = store_engine.create(parsed, read_only=read_only, create_file=create)
        try:
            if read_only or not create:
                store_engine.check_schema(engine, store_engine.shown(parsed), allow_older=not read_only)
            if not read_only:
                store_engine.migrate(engine)
        except AidLedgerError:
            engine.dispose()
            raise
        except DBAPIError as error:
            engine.dispose()
            raise StorageError(
                f"cannot open ledger at {store_engine.shown(parsed)}: {type(error.orig).__name__}: "
                f"{first_line(error.orig)}",
                url=store_engine.shown(parsed),
            ) from None
        ledger = cls(engine, parsed, clock or now)
        ledger._read_only = read_only
        with engine.connect() as connection:
            ledger._charts.reload(connection)
        return ledger

    @property
    def read_only(self) -> bool:
        """Whether the ledger was opened read-only (for auditors): every write is refused."""
        return self._read_only

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
        if self._read_only:
            raise StorageError(f"the ledger at {self.url} was opened read-only: nothing can be written", url=self.url)
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
                    _refuse_changed_head(connection, row.seq, row.hash)
                    return work(connection, row.seq, row.hash, row.recorded_at)
            except (OperationalError, DBAPIError) as error:
                if isinstance(error, IntegrityError) or not _retryable(error) or attempt == _RETRIES - 1:
                    if isinstance(error, IntegrityError):
                        raise _refused(error) from None
                    if getattr(error.orig, "sqlstate", None) == _READ_ONLY_SQLSTATE:
                        raise StorageError(
                            f"the database at {self.url} is read-only ({first_line(error.orig)}): a hot standby "
                            "replica, or a server set to default_transaction_read_only, serves reads only; "
                            "nothing was written, write through the primary",
                            url=self.url,
                        ) from None
                    raise StorageError(
                        f"the database failed: {type(error.orig).__name__}: {first_line(error.orig)}"
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

    @contextmanager
    def _reader(self) -> Iterator[Reader]:
        with self.snapshot() as connection:
            yield Reader(connection, self._charts)

    def _post(self, prepared: list[posting.Prepared], *, skip_claimed: bool) -> BatchResult:
        """Post prepared entries in a write transaction of their own."""
        return self._write(
            lambda c, seq, hash_, rec: posting.Poster(c, self._charts, self._clock).post(
                prepared, seq, hash_, rec, skip_claimed=skip_claimed
            )
        )

    # -- chart of accounts --------------------------------------------------

    def add_account(self, account: Account) -> Account:
        """Add ``account`` to the chart; adding the same definition again does nothing.

        Raises DuplicateDefinition if the code exists with another definition.
        """
        if not isinstance(account, Account):
            raise InvalidArgument(f"expected an Account, got {account!r}", value=account)
        result = self._write(lambda connection, *_: charting.add_account(connection, account))
        self._charts.refresh()
        return result

    def add_fund(self, fund: Fund) -> Fund:
        """Add ``fund``; adding the same definition again does nothing."""
        if not isinstance(fund, Fund):
            raise InvalidArgument(f"expected a Fund, got {fund!r}", value=fund)
        result = self._write(lambda connection, *_: charting.add_fund(connection, fund))
        self._charts.refresh()
        return result

    def account(self, code: str) -> Account:
        """The account with this code, or UnknownAccount."""
        return self._charts.account(code)

    def fund(self, code: str) -> Fund:
        """The fund with this code, or UnknownFund."""
        return self._charts.fund(code)

    def accounts(self) -> tuple[Account, ...]:
        """Every account, by code."""
        chart = self._charts.refresh()
        return tuple(a for _, (_, a) in sorted(chart.accounts.items()))

    def units(self) -> dict[str, Unit]:
        """Every unit (currency or commodity) the ledger knows, by code."""
        return dict(sorted(self._charts.refresh().units.items()))

    def funds(self) -> tuple[Fund, ...]:
        """Every fund, by code."""
        chart = self._charts.refresh()
        return tuple(f for _, (_, f) in sorted(chart.funds.items()))

    # -- posting -------------------------------------------------------------

    def post(self, entry: JournalEntry) -> PostedEntry:
        """Post one entry, or return the first result if its idempotency key was posted.

        Posts from threads sharing this Ledger that arrive while another is being
        written share one transaction and one durable commit (see
        :mod:`aidledger.ledger.group`); each is still checked, refused and made
        idempotent on its own.
        """
        (prepared,) = self._prepare([entry])
        if getattr(self._local, "writing", False):  # inside a write of this thread: refused as such
            return self._post([prepared], skip_claimed=False).posted[0]
        return self._group.submit(prepared)

    def _post_together(self, batch: list[posting.Prepared]) -> list[PostedEntry | BaseException]:
        """Post ``batch`` in one transaction: its posted entries, or, if one is refused, each in a savepoint of its
        own, so that what refuses one (returned in its place) refuses it alone."""
        if len(batch) == 1:
            return [self._post(batch, skip_claimed=False).posted[0]]

        def work(connection: Connection, seq: int, hash_: str, recorded: int) -> list[PostedEntry | BaseException]:
            poster = posting.Poster(connection, self._charts, self._clock)
            savepoint = connection.begin_nested()
            try:  # all of them together, as post_many would: one statement per table
                together = poster.post(batch, seq, hash_, recorded).results
            except (AidLedgerError, IntegrityError):
                together = (None,)
            if None not in together:
                savepoint.commit()
                return [posted for posted in together if posted is not None]
            savepoint.rollback()
            outcomes: list[PostedEntry | BaseException] = []
            for prepared in batch:
                savepoint = connection.begin_nested()
                try:
                    posted = poster.post([prepared], seq, hash_, recorded)
                except (AidLedgerError, IntegrityError) as error:
                    savepoint.rollback()
                    outcomes.append(_refused(error) if isinstance(error, IntegrityError) else error)
                    continue
                savepoint.commit()
                entry = posted.posted[0]
                if entry.seq > seq:
                    seq, hash_, recorded = entry.seq, entry.hash, max(recorded, to_micros(entry.recorded_at))
                outcomes.append(entry)
            return outcomes

        return self._write(work)

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
        prepared = self._prepare(entries)
        if not prepared:
            return BatchResult(posted=(), skipped=(), results=())
        return self._post(prepared, skip_claimed=skip_claimed)

    def _prepare(self, entries: Iterable[JournalEntry]) -> list[posting.Prepared]:
        """``entries`` checked (entries, none naming its own checker) and prepared for posting."""
        batch = list(entries)
        for entry in batch:
            if not isinstance(entry, JournalEntry):
                raise InvalidArgument(f"expected a JournalEntry, got {entry!r}", value=entry)
            _not_approved_by_hand(entry)
        return [posting.prepare(entry, self._charts) for entry in batch]

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
                _not_approved_by_hand(entry)
            if not entries:
                return BatchResult(posted=(), skipped=(), results=())
            prepared = [posting.prepare(entry, self._charts) for entry in entries]
            poster = posting.Poster(connection, self._charts, self._clock)
            return poster.post(prepared, seq, hash_, recorded, skip_claimed=skip_claimed)

        return self._write(work)

    def active_claims(self, scope_prefix: str = "") -> Iterator[Claim]:
        """Claims taken and not released, whose scope starts with ``scope_prefix``."""
        with self._reader() as reader:
            yield from reader.active_claims(scope_prefix)

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
        return self._write(
            lambda connection, _seq, _hash, recorded: posting.close_period(
                connection, self._clock, through, actor, recorded
            )
        )

    def closed_through(self) -> pendulum.DateTime | None:
        """The end of the last closed period, or ``None`` if no period is closed."""
        with self._reader() as reader:
            closed = reader.closed_through()
        return None if closed is None else from_micros(closed)

    # -- records, and maker-checker ----------------------------------------------

    def put_record(
        self, kind: str, code: str, body: Mapping[str, Any], *, actor: str, subject: str | None = None
    ) -> Record:
        """Store a hash-chained record; the same record again is a no-op, a different one is refused."""
        text = records.record_body(kind, code, body, subject)
        check_text("actor", actor, allow_empty=False, limit=200)
        return self._write(
            lambda connection, *_: records.insert_record(connection, self._clock, kind, code, subject, actor, text)
        )

    def record(self, kind: str, code: str) -> Record | None:
        """The record of this kind and code, or ``None``."""
        with self._reader() as reader:
            return reader.record(kind, code)

    def records(self, kind: str, *, subject: str | None = None) -> tuple[Record, ...]:
        """Every record of a kind (about ``subject``, if given), in the order they were made."""
        with self._reader() as reader:
            return reader.records(kind, subject=subject)

    def submit(
        self, entries: Iterable[JournalEntry], *, actor: str, code: str | None = None, note: str = ""
    ) -> PendingBatch:
        """Store entries for a checker's approval instead of posting them.

        Every entry must be made by ``actor`` (the maker) and not yet approved.
        Nothing reaches the journal until :meth:`approve`; :meth:`reject` drops it.
        :meth:`LedgerView.submit` does the same inside a :meth:`transact` build function.
        """
        batch = list(entries)
        return self._write(
            lambda connection, *_: LedgerView(self, connection).submit(batch, actor=actor, code=code, note=note)
        )

    def pending(self, code: str) -> PendingBatch:
        """A submitted batch, its status and the checkers who approved it so far."""
        with self._reader() as reader:
            return records.read_pending(reader, self._charts, code)

    def approve(
        self,
        code: str,
        *,
        checker: str,
        skip_claimed: bool = False,
        check: Callable[[LedgerView, PendingBatch], None] | None = None,
    ) -> BatchResult:
        """Approve a pending batch as ``checker`` (never its maker) and post it, in one transaction.

        When an approval policy asks for more distinct checkers than have approved
        so far, the approval is recorded and nothing is posted yet (the result is
        empty and the batch stays ``pending``); the checker who completes the
        count posts it.  A checker approves a batch once, under any spelling.
        ``check(view, batch)``, if given, runs under the write lock just before the
        batch is posted (a rule that reads balances, say); whatever it raises refuses
        the approval and nothing is written.
        """
        check_text("checker", checker, allow_empty=False, limit=200)
        records.check_undecided(self.pending(code), checker, "approve", checker=checker)
        body = records.record_body("decision", code, {"decision": "approved"}, code)

        def work(connection: Connection, seq: int, hash_: str, recorded: int) -> BatchResult:
            batch = records.read_pending(Reader(connection, self._charts), self._charts, code)
            records.check_undecided(batch, checker, "approve", checker=checker)
            entries = [attrs.evolve(entry, approved_by=checker) for entry in batch.entries]
            needed = max(
                (required_checkers(approvals.current_policies(connection, self._charts).values(), e) for e in entries),
                default=0,
            )
            if len(batch.approvals) + 1 < needed:
                number = f"{code}#{len(batch.approvals) + 1}"
                records.insert_record(connection, self._clock, approvals.APPROVAL_RECORD, number, code, checker, body)
                return BatchResult(posted=(), skipped=(), results=())
            if check is not None:
                check(LedgerView(self, connection), batch)
            records.insert_record(connection, self._clock, approvals.DECISION_RECORD, code, code, checker, body)
            prepared = [posting.prepare(entry, self._charts) for entry in entries]
            poster = posting.Poster(connection, self._charts, self._clock)
            return poster.post(prepared, seq, hash_, recorded, skip_claimed=skip_claimed, batch_code=code)

        return self._write(work)

    # -- approval policies ------------------------------------------------------------

    def set_approval_policy(self, policy: ApprovalPolicy, *, actor: str) -> Record:
        """Record ``policy`` as the one in force for its scope, for every entry posted after it.

        The policy is a record of kind ``approval-policy`` (an item of the log),
        coded ``<scope>#<n>``; an earlier policy of the same scope stays in the log
        and keeps applying to the entries posted before this one.
        """
        if not isinstance(policy, ApprovalPolicy):
            raise InvalidArgument(f"expected an ApprovalPolicy, got {policy!r}", value=policy)
        check_text("actor", actor, allow_empty=False, limit=200)
        text = records.record_body(POLICY_RECORD, "policy", policy.body(), policy.scope)

        def work(connection: Connection, *_: object) -> Record:
            code = approvals.policy_code(connection, policy)
            return records.insert_record(connection, self._clock, POLICY_RECORD, code, policy.scope, actor, text)

        return self._write(work)

    def approval_policies(self) -> dict[str, ApprovalPolicy]:
        """The approval policies in force now, by scope."""
        with self.snapshot() as connection:
            return approvals.current_policies(connection, self._charts)

    def unapproved(self) -> tuple[Unapproved, ...]:
        """Every entry that lacked the distinct checkers the policies logged before it asked for."""
        with self.snapshot() as connection:
            return tuple(records.unapproved(connection, self._charts))

    def reject(self, code: str, *, checker: str, reason: str) -> PendingBatch:
        """Reject a pending batch: nothing of it is ever posted."""
        check_text("reason", reason, allow_empty=False)
        records.check_undecided(self.pending(code), checker, "reject")
        self.put_record("decision", code, {"decision": "rejected", "reason": reason}, actor=checker, subject=code)
        return self.pending(code)

    # -- reading entries ------------------------------------------------------

    def resolve(self, window: Window) -> Window:
        """``window`` with its digest checked against this ledger and resolved to the entries it covers.

        Reads resolve their window themselves; this is for code that builds its
        own SQL from a window.  Raises DigestMismatch if the ledger does not hold
        the digest.
        """
        if not isinstance(window, Window):
            raise InvalidArgument(f"window must be a Window, got {window!r}", value=window)
        if window.through is None:
            return window
        with self.snapshot() as connection:
            return store_window.check_through(connection, window)

    def head(self) -> Head:
        """The newest entry's sequence number and hash, read from the journal itself."""
        with self._reader() as reader:
            return reader.head()

    def entry_by_key(self, idempotency_key: str) -> PostedEntry | None:
        """The entry posted with this idempotency key, or ``None``."""
        check_text("idempotency key", idempotency_key, allow_empty=False, limit=500)
        with self._reader() as reader:
            return reader.entry_by_key(idempotency_key)

    def entry(self, entry_id: str) -> PostedEntry:
        """The posted entry with this id, or UnknownEntry."""
        if not isinstance(entry_id, str):
            raise InvalidArgument(f"entry id must be text, got {entry_id!r}", value=entry_id)
        with self._reader() as reader:
            return reader.entry(entry_id)

    def entries(
        self,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
        window: Window | None = None,
    ) -> Iterator[PostedEntry]:
        """Posted entries in chain order, starting after ``after_seq``, inside a :class:`Window`.

        ``as_of`` keeps entries effective at or before that time, ``known_at``
        those recorded by then (shorthands for ``window=Window(as_of=...,
        known_at=...)``; pass one or the other).  Entries are read a page at a
        time (postings, tags and claims of a page in one query each), so a
        million entries stream in constant memory.
        """
        seen = Window.of(window, as_of=as_of, known_at=known_at)
        with self._reader() as reader:
            seen = store_window.check_through(reader.connection, seen)
            yield from reader.entries(after_seq, limit, seen)

    # -- balances -----------------------------------------------------------------

    def balance(
        self,
        account: Account | str,
        fund: Fund | str | None = None,
        *,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
        tags: Mapping[str, str] | None = None,
        window: Window | None = None,
    ) -> Amount:
        """The signed balance of ``account`` (debits positive), in one fund or all.

        ``as_of`` limits it to entries effective at or before that time;
        ``known_at`` to entries the ledger had recorded by then (shorthands for
        ``window``, a :class:`Window`); ``tags`` to entries carrying all of the
        given tag values.
        """
        seen = Window.of(window, as_of=as_of, known_at=known_at)
        account_id, found, fund_id = self._charts.resolve(account, fund)
        if tags is not None and not isinstance(tags, Mapping):
            raise InvalidArgument(f"tags must be a mapping of names to values, got {tags!r}")
        with self.snapshot() as connection:
            seen = store_window.check_through(connection, seen)
            minor = Balances(connection).of_account(account_id, fund_id, window=seen, tags=tags)
        return Amount.from_minor(minor, found.unit)

    def fund_balance(
        self,
        fund: Fund | str,
        unit: Unit | str,
        *,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
        window: Window | None = None,
    ) -> Amount:
        """The net assets of ``fund`` in ``unit``: its assets minus its liabilities (over ``window``)."""
        seen = Window.of(window, as_of=as_of, known_at=known_at)
        fund_id = self._charts.current.funds[self._charts.known_fund(fund)][0]
        stored = self._charts.known_unit(unit)
        ids = self._charts.current.net_asset_ids(stored.code)
        with self.snapshot() as connection:
            seen = store_window.check_through(connection, seen)
            totals = Balances(connection).sums(seen, account_ids=ids, fund_id=fund_id)
        return Amount.from_minor(sum(totals.values()), stored)

    def trial_balance(
        self,
        *,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
        window: Window | None = None,
    ) -> TrialBalance:
        """Every account's balance per fund over ``window`` (or ``as_of``/``known_at``), with totals that are zero
        in a balanced ledger."""
        seen = Window.of(window, as_of=as_of, known_at=known_at)
        with self.snapshot() as connection:  # the chart and the balances of one moment
            seen = store_window.check_through(connection, seen)
            chart = self._charts.reload(connection)
            totals = Balances(connection).sums(seen)
        return trial_balance(chart, totals)

    def count_tagged(self, name: str, *, kind: str | None = None, standing: bool = False) -> dict[str, int]:
        """How many entries (of one kind, if given) carry each value of tag ``name``.

        With ``standing``, reversals and the entries they reverse are left out:
        what is counted is what still stands.
        """
        if standing:
            with self._reader() as reader:
                return reader.count_standing_tagged(name, kind=kind)
        with self.snapshot() as connection:
            return Balances(connection).count_tagged(name, kind=kind)


def _refused(error: IntegrityError) -> AidLedgerError:
    """The typed error for a write the database's own rules refused."""
    reason = first_line(error.orig)
    if triggers.APPROVAL_MESSAGE in str(error.orig):
        return ApprovalRequired(
            f"the database refused the entry: {reason}; submit it (Ledger.submit) and let the checkers approve "
            "it (Ledger.approve); nothing was posted"
        )
    return StorageError(f"the database refused the write: {reason}")


def _not_approved_by_hand(entry: JournalEntry) -> None:
    """Refuse an entry that names a checker: only :meth:`Ledger.approve` records a checker's decision."""
    if entry.approved_by is not None:
        raise InvalidArgument(
            f"entry {entry.kind!r} by {entry.actor!r} names {entry.approved_by!r} as its checker, but no checker "
            f"decided: submit it (Ledger.submit) and let the checker approve it (Ledger.approve)",
            approved_by=entry.approved_by,
        )


def _refuse_changed_head(connection: Connection, seq: int, hash_: str) -> None:
    """Refuse to write on a head that is not the newest entry, or a newest entry that is not in the log.

    The head is a cache the writers keep; a head or journal changed behind the
    library must not become the base of new entries.
    """
    e, g = t.entries.c, t.log.c

    def newest(column: Any) -> Any:
        return select(column).order_by(e.seq.desc()).limit(1).scalar_subquery()

    # One statement: the newest entry, and the newest entry the log covers (each an index seek).
    seq_found, hash_found, logged = connection.execute(
        select(newest(e.seq), newest(e.hash), select(g.entries).order_by(g.seq.desc()).limit(1).scalar_subquery())
    ).one()
    found = (0, hashing.GENESIS) if seq_found is None else (seq_found, hash_found)
    logged = logged or 0
    if (seq, hash_) != found or logged != seq:
        raise StorageError(
            f"the ledger head {seq}:{hash_} does not match the newest entry {found[0]}:{found[1]} "
            f"(the log covers entries through {logged}): the ledger was changed behind the library; "
            "nothing was written, run verify"
        )


def _retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None)
    if code in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error.orig)


__all__ = ["EntryFacts", "Ledger", "LedgerView"]
