"""The log reader: the stored rows of the one log and of what its items cover, as they are.

Verification (:func:`aidledger.verify`) recomputes the chain from these rows;
this module only reads them, on one snapshot, streaming.  It does not check
anything and does not turn rows into entries: a row that no longer makes a
valid entry must still be seen as it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidledger.core import hashing
from aidledger.ledger.chart import Chart
from aidledger.store import schema as t

if TYPE_CHECKING:
    from aidledger.ledger.ledger import Ledger


def stored_fields(
    chart: Chart, row: Any, lines: Iterable[Any], tags: Iterable[Any], claims: Iterable[Any], releases: Iterable[Any]
) -> tuple[dict[str, Any], dict[tuple[str, str], None]]:
    """The canonical fields of a stored entry as its hash covers them, from its rows as they are (the chart left
    out), and the chart definitions its postings refer to, in order (for ``Chart.text``)."""
    lines = list(lines)
    codes, referenced = posting_codes(chart, [(line.account_id, line.fund_id) for line in lines])
    canonical = [(*code, line.amount) for code, line in zip(codes, lines, strict=True)]
    fields = hashing.draft_fields(
        kind=row.kind,
        effective_at=row.effective_at,
        effective_tz=row.effective_tz,
        actor=row.actor,
        memo=row.memo,
        idempotency_key=row.idempotency_key,
        source=row.source,
        tags={r.name: r.value for r in tags},
        claims=[(r.scope, r.key) for r in claims],
        releases=[(r.scope, r.key) for r in releases],
        reverses=row.reverses,
        approved_by=row.approved_by,
        postings=canonical,
        chart=None,
    )
    return fields, referenced


def posting_codes(
    chart: Chart, lines: Iterable[tuple[int, int]]
) -> tuple[list[tuple[str, str, str]], dict[tuple[str, str], None]]:
    """The (account code, fund code, unit code) of postings to these (account id, fund id), and the chart
    definitions they refer to, in order (for ``Chart.text``); KeyError for an id the chart lacks."""
    codes = []
    referenced: dict[tuple[str, str], None] = {}
    for account_id, fund_id in lines:
        account = chart.account_by_id[account_id]
        fund = chart.fund_by_id[fund_id]
        codes.append((account.code, fund.code, account.unit.code))
        referenced[("account", account.code)] = None
        referenced[("fund", fund.code)] = None
        referenced[("unit", account.unit.code)] = None
    return codes, referenced


#: The columns of each table :class:`LogReader` streams, in the order of its tuples.
COLUMNS: Final = {
    "log": ("seq", "kind", "ref", "item", "entries", "prev_hash", "hash"),
    "entries": tuple(t.entries.c.keys()),  # the table's own order, as the writer inserts them
    "postings": ("entry_seq", "line", "account_id", "fund_id", "amount", "effective_at"),
    "entry_tags": ("entry_seq", "name", "value"),
    "claims": ("entry_seq", "scope", "key", "generation"),
    "claim_releases": ("entry_seq", "scope", "key", "generation"),
}
#: Rows fetched from the driver at a time.
BATCH: Final = 5000
_cursor_names = itertools.count(1)


class LogReader:
    """The rows of the log on one connection, each table ordered by the entry it belongs to."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @classmethod
    @contextmanager
    def streaming(cls, ledger: Ledger) -> Iterator[LogReader]:
        """A reader on a snapshot of ``ledger`` that streams its rows (:data:`BATCH` at a time)."""
        with ledger.snapshot() as connection:
            yield cls(connection)

    @classmethod
    @contextmanager
    def of(cls, ledger: Ledger) -> Iterator[LogReader]:
        """A reader on a snapshot of ``ledger``."""
        with ledger.snapshot() as connection:
            yield cls(connection)

    def chart(self) -> Chart:
        """The chart as stored; a definition changed into one no ledger writes is in its ``unreadable``."""
        return Chart.read(self._connection)

    def items(self) -> Iterator[tuple[Any, ...]]:
        """The log's items, by sequence number, as tuples of ``COLUMNS["log"]``."""
        return self._stream("log", "seq")

    def definitions(self, kind: str) -> list[Any]:
        """The stored rows of the units (``kind="unit"``), accounts or funds, as they are."""
        table = {"unit": t.units, "account": t.accounts, "fund": t.funds}[kind]
        return list(self._connection.execute(select(table)).all())

    def log_link(self, seq: int) -> Any | None:
        """The hash and the newest entry of log item ``seq``, or ``None`` if there is none."""
        g = t.log.c
        return self._connection.execute(select(g.hash, g.entries).where(g.seq == seq)).first()

    def record_positions(self) -> dict[int, int]:
        """The place in the log of every record, by the record's own number."""
        g = t.log.c
        rows = self._connection.execute(select(g.ref, g.seq).where(g.kind == "record"))
        return {int(ref): int(seq) for ref, seq in rows}

    def entries(self) -> Iterator[tuple[Any, ...]]:
        """The entries table, by sequence number, as tuples of ``COLUMNS["entries"]``."""
        return self._stream("entries", "seq")

    def postings(self) -> Iterator[tuple[Any, ...]]:
        """The postings, by entry and line, as tuples of ``COLUMNS["postings"]``."""
        return self._stream("postings", "entry_seq", "line")

    def tags(self) -> Iterator[tuple[Any, ...]]:
        """The entry tags, by entry and name, as tuples of ``COLUMNS["entry_tags"]``."""
        return self._stream("entry_tags", "entry_seq", "name")

    def claims(self) -> Iterator[tuple[Any, ...]]:
        """The claims taken, by entry, scope and key, as tuples of ``COLUMNS["claims"]``."""
        return self._stream("claims", "entry_seq", "scope", "key")

    def releases(self) -> Iterator[tuple[Any, ...]]:
        """The claims released, by entry, scope and key, as tuples of ``COLUMNS["claim_releases"]``."""
        return self._stream("claim_releases", "entry_seq", "scope", "key")

    def _stream(self, name: str, *order: str) -> Iterator[tuple[Any, ...]]:
        """The rows of table ``name`` ordered by ``order``, as plain tuples of ``COLUMNS[name]``.

        They are read through the driver's own cursor (on PostgreSQL a
        server-side one), :data:`BATCH` rows at a time, inside this reader's
        transaction: building a SQLAlchemy row for each of millions of rows
        doubled the time of reading them.  The statement is SQLAlchemy's,
        compiled for the connection's database.
        """
        connection = self._connection
        table = t.metadata.tables[name]
        statement = select(*(table.c[column] for column in COLUMNS[name])).order_by(*(table.c[c] for c in order))
        sql = str(statement.compile(dialect=connection.dialect))
        if not connection.in_transaction():
            connection.begin()  # the same snapshot as every other statement of this reader
        driver = connection.connection.driver_connection
        if connection.dialect.name == "postgresql":
            cursor = driver.cursor(name=f"aidledger_log_{next(_cursor_names)}")  # type: ignore[union-attr]
        else:
            cursor = driver.cursor()  # type: ignore[union-attr]
        return _fetched(cursor, sql)

    def period_closes(self) -> list[Any]:
        """The period closes, by their own sequence number."""
        return list(self._connection.execute(select(t.period_closes).order_by(t.period_closes.c.seq)).all())

    def records(self) -> list[Any]:
        """The records, by their own sequence number."""
        return list(self._connection.execute(select(t.records).order_by(t.records.c.seq)).all())

    def head(self) -> Any:
        """The ledger head row (the newest entry's number and hash, as the writers keep it)."""
        return self._connection.execute(select(t.ledger_head)).one()

    def link(self, seq: int) -> Any | None:
        """The id and hash of entry ``seq``, or ``None`` if there is none."""
        e = t.entries.c
        return self._connection.execute(select(e.id, e.hash).where(e.seq == seq)).first()


def _fetched(cursor: Any, sql: str) -> Iterator[tuple[Any, ...]]:
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH):
            yield from rows
    finally:
        cursor.close()
