"""Programme summaries and the state of every stock, grant and pledge, for the audit report."""

from __future__ import annotations

import attrs
from sqlalchemy import case, distinct, func, select
from sqlalchemy.sql.elements import ColumnElement

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Money, UnitKind
from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import known_record, known_records, require_ledger, resolved, standing
from aidledger.queries.positions import (
    GrantStatus,
    PledgeStatus,
    StockPosition,
    grant_status,
    pledge_status,
    stock_position,
)
from aidledger.store import schema as t
from aidledger.vocabulary import PAYMENT_KINDS, Chart, Event, Kind, Programme, RecordKind, Tag


@attrs.frozen(kw_only=True)
class ProgrammeSummary:
    """What a one-off programme approved, paid, failed, got back and still owes.

    ``approved = paid + failed + outstanding``: every approved payment is paid,
    failed, or still with the provider.  Returned payments were paid first and
    came back, so the money that reached beneficiaries is ``paid − returned``.

    Attributes:
        programme: the programme.
        approved, approved_count: payments approved (the expense recognised).
        paid, paid_count: payments the provider reported paid.
        failed, failed_count: payments the provider could not make (money back in the fund).
        returned, returned_count: paid payments that came back.
        outstanding, outstanding_count: approved payments neither paid nor failed yet.
        beneficiaries_paid: distinct beneficiaries holding a paid payment not returned.
    """

    programme: Programme
    approved: Money
    approved_count: int
    paid: Money
    paid_count: int
    failed: Money
    failed_count: int
    returned: Money
    returned_count: int
    outstanding: Money
    outstanding_count: int
    beneficiaries_paid: int

    @property
    def net_paid(self) -> Money:
        """What reached beneficiaries and stayed there: paid − returned."""
        return Money.from_minor(self.paid.minor - self.returned.minor, self.paid.unit)


@attrs.frozen
class StockLine:
    """The position of one commodity in one fund."""

    fund: str
    position: StockPosition


@attrs.frozen
class AidSummary:
    """Every programme, stock, grant and pledge of a ledger, as of a time.

    Attributes:
        programmes: one summary per one-off programme, by code.
        stock: one position per (fund, commodity) ever received.
        grants: one status per housing or other grant project.
        pledges: one status per pledge.
    """

    programmes: tuple[ProgrammeSummary, ...]
    stock: tuple[StockLine, ...]
    grants: tuple[GrantStatus, ...]
    pledges: tuple[PledgeStatus, ...]


_EVENTS = {
    Kind.PAYMENT: Event.APPROVED,
    Kind.PAYMENT_PAID: Event.PAID,
    Kind.PAYMENT_FAILED: Event.FAILED,
    Kind.PAYMENT_RETURNED: Event.RETURNED,
}
_KINDS = [kind.value for kind in PAYMENT_KINDS]


def programme_summary(
    ledger: Ledger,
    programme: str | Programme,
    *,
    window: Window | None = None,
) -> ProgrammeSummary:
    """Where one programme's payments stand, from its entries in ``window`` (all by default).

    A programme the ledger recorded after the window's ``known_at`` is unknown (UnknownRecord).  Reading writes
    nothing.
    """
    require_ledger(ledger)
    seen = resolved(ledger, Window.of(window))
    code = programme.code if isinstance(programme, Programme) else programme
    if not isinstance(code, str):
        raise InvalidArgument(f"programme must be a Programme or its code, got {programme!r}", value=programme)
    found = Programme.from_record(known_record(ledger, RecordKind.PROGRAMME, code, seen))
    unit = found.unit
    due = Chart().payments_due(unit).code
    expense = Chart().expenses(found.purpose, unit).code
    e, p, a, g = t.entries.c, t.postings.c, t.accounts.c, t.entry_tags.alias("g")
    tagged = t.entries.join(g, (g.c.entry_seq == e.seq) & (g.c.name == Tag.PROGRAMME) & (g.c.value == found.code))
    # A reversed entry and its reversal cancel out: neither counts (issue 16).
    conditions: list[ColumnElement[bool]] = [e.kind.in_(_KINDS), *standing(seen)]
    # Approved, paid and failed move the amount due; returned gives back an expense.
    amounts = (
        select(e.kind, func.count(distinct(e.seq)), func.sum(func.abs(p.amount)))
        .select_from(tagged.join(t.postings, p.entry_seq == e.seq).join(t.accounts, a.id == p.account_id))
        .where(*conditions, a.code == case((e.kind == Kind.PAYMENT_RETURNED.value, expense), else_=due))
        .group_by(e.kind)
    )
    who = t.entry_tags.alias("who")
    people = (
        select(who.c.value)
        .select_from(tagged.join(who, (who.c.entry_seq == e.seq) & (who.c.name == Tag.BENEFICIARY)))
        .where(*conditions, e.kind.in_([Kind.PAYMENT_PAID.value, Kind.PAYMENT_RETURNED.value]))
        .group_by(who.c.value)
        .having(func.sum(case((e.kind == Kind.PAYMENT_PAID.value, 1), else_=-1)) > 0)
        .subquery()
    )
    with ledger.snapshot() as connection:
        totals = {_EVENTS[Kind(kind)]: (int(count), int(minor)) for kind, count, minor in connection.execute(amounts)}
        beneficiaries = int(connection.execute(select(func.count()).select_from(people)).scalar_one())

    def get(event: str) -> tuple[int, int]:
        return totals.get(event, (0, 0))

    approved, paid, failed = get(Event.APPROVED), get(Event.PAID), get(Event.FAILED)
    returned = get(Event.RETURNED)
    return ProgrammeSummary(
        programme=found,
        approved=Money.from_minor(approved[1], unit),
        approved_count=approved[0],
        paid=Money.from_minor(paid[1], unit),
        paid_count=paid[0],
        failed=Money.from_minor(failed[1], unit),
        failed_count=failed[0],
        returned=Money.from_minor(returned[1], unit),
        returned_count=returned[0],
        outstanding=Money.from_minor(approved[1] - paid[1] - failed[1], unit),
        outstanding_count=approved[0] - paid[0] - failed[0],
        beneficiaries_paid=beneficiaries,
    )


def aid_summary(
    ledger: Ledger,
    *,
    window: Window | None = None,
    currency_code: str = "KZT",
) -> AidSummary:
    """Every programme's payments, every stock (valued in ``currency_code``), grant and pledge of the ledger.

    Programmes count their payments inside ``window``; stocks, grants and
    pledges are positions as of the window's end.  Its ``known_at`` keeps only
    what the ledger had recorded by then (programmes, projects and pledges
    included), so a summary read at time T is read again identically with
    ``Window(known_at=T)`` after back-dated entries and reversals.  Reading
    writes nothing.
    """
    require_ledger(ledger)
    seen = Window.of(window)
    held = sorted(
        {
            (line.fund.code, line.account.unit)
            for line in ledger.trial_balance(window=seen.recorded()).lines
            if line.account.unit.kind is UnitKind.COMMODITY and line.account.type is AccountType.REVENUE
        },
        key=lambda pair: (pair[0], pair[1].code),
    )
    kinds = (RecordKind.PROGRAMME, RecordKind.PROJECT, RecordKind.PLEDGE)
    records = {kind: known_records(ledger, kind, seen) for kind in kinds}
    return AidSummary(
        programmes=tuple(programme_summary(ledger, r.code, window=seen) for r in records[RecordKind.PROGRAMME]),
        stock=tuple(
            StockLine(fund, stock_position(ledger, fund, unit, window=seen, currency_code=currency_code))
            for fund, unit in held
        ),
        grants=tuple(grant_status(ledger, r.code, window=seen) for r in records[RecordKind.PROJECT]),
        pledges=tuple(pledge_status(ledger, r.code, window=seen) for r in records[RecordKind.PLEDGE]),
    )
