"""The log reader: the stored rows of the one log and of what its items cover, as they are.

Verification (:func:`aidledger.verify`) recomputes the chain from these rows;
this module only reads them, on one snapshot, streaming.  It does not check
anything and does not turn rows into entries: a row that no longer makes a
valid entry must still be seen as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

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
        tags={r.name: r.value for r in tags},
        claims=[(r.scope, r.key) for r in claims],
        releases=[(r.scope, r.key) for r in releases],
        reverses=row.reverses,
        approved_by=row.approved_by,
        postings=canonical,
        chart=None,
    )
    return fields, referenced


class LogReader:
    """The rows of the log on one connection, each table ordered by the entry it belongs to."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @classmethod
    @contextmanager
    def streaming(cls, ledger: Ledger) -> Iterator[LogReader]:
        """A reader on a snapshot of ``ledger`` that streams its rows (2,000 at a time)."""
        with ledger.snapshot().execution_options(stream_results=True, yield_per=2000) as connection:
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

    def items(self) -> Iterator[Any]:
        """The log's items, by sequence number."""
        return iter(self._connection.execute(select(t.log).order_by(t.log.c.seq)))

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

    def entries(self) -> Iterator[Any]:
        """The entries table, by sequence number."""
        return iter(self._connection.execute(select(t.entries).order_by(t.entries.c.seq)))

    def postings(self) -> Iterator[Any]:
        """The postings, by entry and line."""
        p = t.postings.c
        return iter(self._connection.execute(select(t.postings).order_by(p.entry_seq, p.line)))

    def tags(self) -> Iterator[Any]:
        """The entry tags, by entry and name."""
        g = t.entry_tags.c
        return iter(self._connection.execute(select(t.entry_tags).order_by(g.entry_seq, g.name)))

    def claims(self) -> Iterator[Any]:
        """The claims taken, by entry, scope and key."""
        c = t.claims.c
        return iter(self._connection.execute(select(t.claims).order_by(c.entry_seq, c.scope, c.key)))

    def releases(self) -> Iterator[Any]:
        """The claims released, by entry, scope and key."""
        r = t.claim_releases.c
        return iter(self._connection.execute(select(t.claim_releases).order_by(r.entry_seq, r.scope, r.key)))

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
