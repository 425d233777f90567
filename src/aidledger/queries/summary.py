"""Programme summaries and the state of every stock, grant and pledge, for the audit report."""

from __future__ import annotations

import datetime as dt

import attrs
from sqlalchemy import case, distinct, func, select
from sqlalchemy.sql.elements import ColumnElement

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Money, UnitKind
from aidledger.core.errors import InvalidArgument
from aidledger.core.times import to_micros
from aidledger.operations.aid import Aid
from aidledger.operations.base import LookupChart, known_record, known_records
from aidledger.operations.donations import PledgeStatus
from aidledger.operations.grants import GrantStatus
from aidledger.operations.payments import Programme
from aidledger.operations.stock import StockPosition
from aidledger.store import schema as t


@attrs.frozen
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


_EVENTS = {"payment": "approved", "payment-paid": "paid", "payment-failed": "failed", "payment-returned": "returned"}


def programme_summary(
    aid: Aid, programme: str | Programme, *, as_of: dt.datetime | None = None, known_at: dt.datetime | None = None
) -> ProgrammeSummary:
    """Where one programme's payments stand, from its entries effective by ``as_of`` and recorded by ``known_at``.

    A programme the ledger recorded after ``known_at`` is unknown (UnknownRecord).  Reading writes nothing.
    """
    if not isinstance(aid, Aid):
        raise InvalidArgument(f"expected an Aid, got {aid!r}", value=aid)
    code = programme.code if isinstance(programme, Programme) else programme
    if not isinstance(code, str):
        raise InvalidArgument(f"programme must be a Programme or its code, got {programme!r}", value=programme)
    known_record(aid.ledger, "programme", code, known_at)
    found = aid.programme_of(programme)
    rule = found.amount or found.max_amount
    assert rule is not None
    chart = LookupChart(aid.ledger)
    due = chart.payments_due(rule.unit).code
    expense = chart.expenses(found.purpose, rule.unit).code
    e, p, a, g = t.entries.c, t.postings.c, t.accounts.c, t.entry_tags.alias("g")
    tagged = t.entries.join(g, (g.c.entry_seq == e.seq) & (g.c.name == "programme") & (g.c.value == found.code))
    conditions: list[ColumnElement[bool]] = [e.kind.in_(list(_EVENTS))]
    if as_of is not None:
        conditions.append(e.effective_at <= to_micros(as_of, "as_of"))
    if known_at is not None:
        conditions.append(e.recorded_at <= to_micros(known_at, "known_at"))
    # Approved, paid and failed move the amount due; returned gives back an expense.
    amounts = (
        select(e.kind, func.count(distinct(e.seq)), func.sum(func.abs(p.amount)))
        .select_from(tagged.join(t.postings, p.entry_seq == e.seq).join(t.accounts, a.id == p.account_id))
        .where(*conditions, a.code == case((e.kind == "payment-returned", expense), else_=due))
        .group_by(e.kind)
    )
    who = t.entry_tags.alias("who")
    people = (
        select(who.c.value)
        .select_from(tagged.join(who, (who.c.entry_seq == e.seq) & (who.c.name == "beneficiary")))
        .where(*conditions, e.kind.in_(["payment-paid", "payment-returned"]))
        .group_by(who.c.value)
        .having(func.sum(case((e.kind == "payment-paid", 1), else_=-1)) > 0)
        .subquery()
    )
    with aid.ledger.engine.connect() as connection:
        totals = {_EVENTS[kind]: (int(count), int(minor)) for kind, count, minor in connection.execute(amounts)}
        beneficiaries = int(connection.execute(select(func.count()).select_from(people)).scalar_one())

    def get(event: str) -> tuple[int, int]:
        return totals.get(event, (0, 0))

    approved, paid, failed, returned = get("approved"), get("paid"), get("failed"), get("returned")
    return ProgrammeSummary(
        programme=found,
        approved=Money.from_minor(approved[1], rule.unit),
        approved_count=approved[0],
        paid=Money.from_minor(paid[1], rule.unit),
        paid_count=paid[0],
        failed=Money.from_minor(failed[1], rule.unit),
        failed_count=failed[0],
        returned=Money.from_minor(returned[1], rule.unit),
        returned_count=returned[0],
        outstanding=Money.from_minor(approved[1] - paid[1] - failed[1], rule.unit),
        outstanding_count=approved[0] - paid[0] - failed[0],
        beneficiaries_paid=beneficiaries,
    )


def aid_summary(aid: Aid, *, as_of: dt.datetime | None = None, known_at: dt.datetime | None = None) -> AidSummary:
    """Every programme's payments, every stock, grant and pledge of the ledger.

    ``as_of`` counts entries effective by then; ``known_at`` only what the ledger
    had recorded by then (programmes, projects and pledges included), so a
    summary read at time T is read again identically with ``known_at=T`` after
    back-dated entries and reversals.  Reading writes nothing.
    """
    if not isinstance(aid, Aid):
        raise InvalidArgument(f"expected an Aid, got {aid!r}", value=aid)
    if as_of is not None:
        to_micros(as_of, "as_of")
    if known_at is not None:
        to_micros(known_at, "known_at")
    ledger = aid.ledger
    held = sorted(
        {
            (line.fund.code, line.account.unit)
            for line in ledger.trial_balance(known_at=known_at).lines
            if line.account.unit.kind is UnitKind.COMMODITY and line.account.type is AccountType.REVENUE
        },
        key=lambda pair: (pair[0], pair[1].code),
    )
    records = {kind: known_records(ledger, kind, known_at) for kind in ("programme", "project", "pledge")}
    return AidSummary(
        programmes=tuple(programme_summary(aid, r.code, as_of=as_of, known_at=known_at) for r in records["programme"]),
        stock=tuple(
            StockLine(fund, aid.stock_position(fund, unit, as_of=as_of, known_at=known_at)) for fund, unit in held
        ),
        grants=tuple(aid.grant_status(r.code, as_of=as_of, known_at=known_at) for r in records["project"]),
        pledges=tuple(aid.pledge_status(r.code, as_of=as_of, known_at=known_at) for r in records["pledge"]),
    )
