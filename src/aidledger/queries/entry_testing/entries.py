"""What the journal-entry tests read of an entry: its reference, its times, its amount in a currency."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, TypeVar

import attrs
import pendulum
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Amount, Unit, UnitKind
from aidledger.core.times import from_micros
from aidledger.queries.entry_testing.scope import Scope
from aidledger.store import schema as t

#: How many values one ``IN (...)`` list holds at most.
CHUNK: Final = 500

_T = TypeVar("_T")


@attrs.frozen
class EntryRef:
    """Which entry a finding is about.

    Attributes:
        id: the entry's id.
        seq: its place in the hash chain.
        kind: its kind.
        actor: who made it.
        effective_at: when it happened, in the time zone it was posted with.
        recorded_at: when the ledger recorded it (UTC).
    """

    id: str
    seq: int
    kind: str
    actor: str
    effective_at: pendulum.DateTime
    recorded_at: pendulum.DateTime


class TimeBasis(enum.Enum):
    """Which of an entry's two times a test looks at."""

    RECORDED = "recorded"
    EFFECTIVE = "effective"


def basis_column(basis: TimeBasis) -> Any:
    """The column of ``entries`` that holds the time ``basis`` names."""
    return t.entries.c.recorded_at if basis is TimeBasis.RECORDED else t.entries.c.effective_at


def basis_time(ref: EntryRef, basis: TimeBasis) -> pendulum.DateTime:
    """The time of ``ref`` that ``basis`` names."""
    return ref.recorded_at if basis is TimeBasis.RECORDED else ref.effective_at


def chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``values`` in slices of at most :data:`CHUNK`, for ``IN (...)`` lists."""
    for index in range(0, len(values), CHUNK):
        yield values[index : index + CHUNK]


def entry_columns() -> tuple[Any, ...]:
    """The columns of ``entries`` that :func:`entry_ref` reads."""
    e = t.entries.c
    return (e.seq, e.id, e.kind, e.actor, e.effective_at, e.effective_tz, e.recorded_at)


def entry_ref(row: Any) -> EntryRef:
    """The reference of the entry in ``row`` (which holds :func:`entry_columns`)."""
    return EntryRef(
        id=str(row.id),
        seq=int(row.seq),
        kind=str(row.kind),
        actor=str(row.actor),
        effective_at=from_micros(int(row.effective_at), str(row.effective_tz)),
        recorded_at=from_micros(int(row.recorded_at)),
    )


def entry_refs(connection: Connection, seqs: Iterable[int]) -> dict[int, EntryRef]:
    """The entries with these sequence numbers, by sequence number."""
    found: dict[int, EntryRef] = {}
    for chunk in chunks(sorted(set(seqs))):
        for row in connection.execute(select(*entry_columns()).where(t.entries.c.seq.in_(chunk))):
            found[int(row.seq)] = entry_ref(row)
    return found


def amounts(connection: Connection, scope: Scope, unit: Unit) -> Any:
    """A subquery: the scope's entries with an amount in ``unit``, their columns and ``amount``.

    The amount is the sum of the entry's debits in ``unit``, memo accounts left
    out.  Entries are joined to their postings and grouped by entry (rather than
    joined to an aggregate of all postings), so the plan stays one pass even on
    tables the database has no statistics for yet.
    """
    a, e, p = t.accounts.c, t.entries.c, t.postings.c
    ids = [
        int(i)
        for i in connection.execute(
            select(a.id).where(a.unit_code == unit.code, a.type != AccountType.MEMO.value)
        ).scalars()
    ]
    columns = (*entry_columns(), e.approved_by, e.reverses)
    # The posting conditions sit inside the sum, not in WHERE: an index on the
    # accounts would tempt PostgreSQL into one index scan per entry.
    debit = case((and_(p.amount > 0, p.account_id.in_(ids or [-1])), p.amount))
    grouped = (
        select(*columns, func.sum(debit).label("amount"))
        .select_from(t.entries.join(t.postings, p.entry_seq == e.seq))
        .where(*scope.where())
        .group_by(*columns)
        .subquery()
    )
    return select(grouped).where(grouped.c.amount.is_not(None)).subquery()


def stored_units(connection: Connection) -> dict[str, Unit]:
    """Every unit the ledger knows, by code, as stored."""
    return {
        row.code: Unit(code=row.code, kind=UnitKind(row.kind), exponent=row.exponent, measure=row.measure)
        for row in connection.execute(select(t.units))
    }


def debits_by_unit(connection: Connection, seqs: Iterable[int]) -> dict[int, tuple[Amount, ...]]:
    """The amount of each of these entries in every unit it has one in, by sequence number.

    An entry's amount in a unit is the sum of its debits in that unit, memo
    accounts left out (see the package's common rules); the amounts of one entry
    are currencies first, then goods, each in the order of their codes.  An
    entry with no such debit is left out.
    """
    a, p = t.accounts.c, t.postings.c
    units = stored_units(connection)
    found: dict[int, list[Amount]] = {}
    for chunk in chunks(sorted(set(seqs))):
        query = (
            select(p.entry_seq, a.unit_code, func.sum(p.amount))
            .select_from(t.postings.join(t.accounts, a.id == p.account_id))
            .where(p.entry_seq.in_(chunk), p.amount > 0, a.type != AccountType.MEMO.value)
            .group_by(p.entry_seq, a.unit_code)
        )
        for seq, code, minor in connection.execute(query):
            found.setdefault(int(seq), []).append(Amount.from_minor(int(minor), units[code]))
    return {
        seq: tuple(sorted(amounts, key=lambda x: (not x.unit.is_currency, x.unit.code)))
        for seq, amounts in found.items()
    }
