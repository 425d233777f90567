"""Where stock, grants, pledges and payments stand: the aid status reads.

Each read takes the ledger and one :class:`~aidledger.Window` (entries effective
by its ``as_of``, recorded by its ``known_at``: a position read at time T is read
again identically with ``Window(known_at=T)``), and writes nothing: an account the ledger does not hold yet
counts as zero.
"""

from __future__ import annotations

from collections import defaultdict

import attrs
from sqlalchemy import and_, literal, select

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount, Money, Quantity, Unit, currency
from aidledger.core.entries import check_text
from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import balance_or_zero, known_record, require_ledger
from aidledger.store import schema as t
from aidledger.vocabulary import CLAIM_PREFIX, Chart, Event, Kind, Pledge, Programme, Project, RecordKind, Tag


@attrs.frozen(kw_only=True)
class StockPosition:
    """Stock of one commodity in one fund, in quantity and in money.

    Attributes:
        commodity: the commodity's code.
        received, delivered, lost: quantities in, out to beneficiaries, and written off.
        in_transit: dispatched and not yet delivered.
        on_hand: in the warehouse.
        received_value, delivered_value, lost_value, in_transit_value, on_hand_value: the same in money.
    """

    commodity: str
    received: Quantity
    delivered: Quantity
    lost: Quantity
    in_transit: Quantity
    on_hand: Quantity
    received_value: Money
    delivered_value: Money
    lost_value: Money
    in_transit_value: Money
    on_hand_value: Money

    @property
    def reconciles(self) -> bool:
        """Whether received − delivered − lost = on hand + in transit, in quantity and in value."""
        quantity = self.received - self.delivered - self.lost == self.on_hand + self.in_transit
        value = (
            self.received_value - self.delivered_value - self.lost_value == self.on_hand_value + self.in_transit_value
        )
        return quantity and value


@attrs.frozen(kw_only=True)
class GrantStatus:
    """Where a project stands at a date.

    Attributes:
        project: the project.
        committed: committed so far.
        disbursed: paid out in tranches.
        clawed_back: brought back.
        remaining: committed − disbursed + clawed back.
    """

    project: Project
    committed: Money
    disbursed: Money
    clawed_back: Money
    remaining: Money


@attrs.frozen(kw_only=True)
class PledgeStatus:
    """Where a pledge stands.

    Attributes:
        pledge: the pledge.
        pledged: what the ledger holds as promised: the pledge's amount, or zero once its entry is reversed.
        fulfilled: money received against it.
        written_off: what will not come.
        outstanding: still expected (pledged − fulfilled − written off).
    """

    pledge: Pledge
    pledged: Money
    fulfilled: Money
    written_off: Money
    outstanding: Money


@attrs.frozen(kw_only=True)
class DoublePayment:
    """A beneficiary holding two or more live payments for one purpose.

    Attributes:
        beneficiary: the pseudonym.
        purpose: the programmes' common purpose.
        programmes: the programme of each live payment, sorted: a programme named twice paid twice (one of
            its payments was posted without the programme's claim, through the generic path).
    """

    beneficiary: str
    purpose: str
    programmes: tuple[str, ...]


@attrs.frozen(kw_only=True)
class UnclaimedPayment:
    """A standing payment entry that does not hold its programme's claim on its beneficiary.

    Every payment :meth:`aidledger.Aid.pay` posts takes the claim that makes
    it once per beneficiary; an entry without it was built by hand and posted
    through the generic path (:meth:`aidledger.Ledger.post`), past that rule.

    Attributes:
        seq: the entry's place in the journal.
        entry_id: the entry's id.
        programme: its ``programme`` tag.
        beneficiary: its ``beneficiary`` tag (a pseudonym).
        also_paid: how many other standing payments of the same programme the beneficiary holds.
    """

    seq: int
    entry_id: str
    programme: str
    beneficiary: str
    also_paid: int


def _money(amount: Amount) -> Money:
    return Money.from_minor(amount.minor, amount.unit)


def _quantity(amount: Amount) -> Quantity:
    return Quantity(amount.value, amount.unit)


def stock_position(
    ledger: Ledger,
    fund: Fund | str,
    commodity: Unit,
    *,
    window: Window | None = None,
    currency_code: str = "KZT",
) -> StockPosition:
    """Received, delivered, lost, in transit and on hand, in quantity and in money (in ``currency_code``),
    as of the end of ``window`` (a position is a level: every entry up to the window's end counts)."""
    seen = Window.of(window).at_end()
    target = require_ledger(ledger).fund(fund.code if isinstance(fund, Fund) else fund)
    if not isinstance(commodity, Unit):
        raise InvalidArgument(f"commodity must be a Unit, got {commodity!r}", value=commodity)
    chart, cur = Chart(), currency(currency_code)

    def balance(account: Account, tags: dict[str, str] | None = None) -> Amount:
        return balance_or_zero(ledger, account, target, window=seen, tags=tags)

    code = commodity.code
    value = chart.stock_value(commodity, cur)
    transit_value = chart.stock_value(commodity, cur, in_transit=True)

    def out(event: str) -> Money:
        """Value that left the warehouse or the road for ``event`` (credits are negative)."""
        tags = {Tag.COMMODITY: code, Tag.EVENT: event}
        return _money(-(balance(value, tags) + balance(transit_value, tags)))

    return StockPosition(
        commodity=code,
        received=_quantity(-balance(chart.goods_in(commodity))),
        delivered=_quantity(balance(chart.goods_delivered(commodity))),
        lost=_quantity(balance(chart.goods_lost(commodity))),
        in_transit=_quantity(balance(chart.stock(commodity, in_transit=True))),
        on_hand=_quantity(balance(chart.stock(commodity))),
        received_value=_money(balance(value, {Tag.COMMODITY: code, Tag.EVENT: Event.RECEIVED})),
        delivered_value=out(Event.DELIVERED),
        lost_value=out(Event.LOST),
        in_transit_value=_money(balance(transit_value)),
        on_hand_value=_money(balance(value)),
    )


def grant_status(ledger: Ledger, project: str, *, window: Window | None = None) -> GrantStatus:
    """Committed, disbursed, clawed back and remaining for a project, over ``window`` (a project recorded after
    its ``known_at`` is unknown), as of the end of ``window``."""
    seen = Window.of(window).at_end()
    check_text("project", project, allow_empty=False, limit=500)
    found = Project.from_record(known_record(require_ledger(ledger), RecordKind.PROJECT, project, seen))
    unit = found.committed.unit
    memo_account = Chart().commitment(found.code, unit)

    def balance(tags: dict[str, str] | None = None) -> Money:
        amount = balance_or_zero(ledger, memo_account, found.fund, window=seen, tags=tags)
        return Money(amount.value, unit)

    def memo(event: str) -> Money:
        return Money(abs(balance({Tag.PROJECT: found.code, Tag.EVENT: event}).value), unit)

    return GrantStatus(
        project=found,
        committed=memo(Event.COMMITTED),
        disbursed=memo(Event.DISBURSED),
        clawed_back=memo(Event.CLAWED_BACK),
        remaining=balance(),
    )


def pledge_status(ledger: Ledger, code: str, *, window: Window | None = None) -> PledgeStatus:
    """Promised, fulfilled, written off and outstanding for one pledge, over ``window`` (a pledge recorded after
    its ``known_at`` is unknown), as of the end of ``window``."""
    seen = Window.of(window).at_end()
    check_text("pledge", code, allow_empty=False, limit=500)
    pledge = Pledge.from_record(known_record(require_ledger(ledger), RecordKind.PLEDGE, code, seen))
    memo_account = Chart().pledge(code, pledge.amount.unit)

    def balance(tags: dict[str, str] | None = None) -> Amount:
        return balance_or_zero(ledger, memo_account, pledge.fund, window=seen, tags=tags)

    # The pledge entry (and its reversal) are debits to the pledge's memo account; fulfilments and write-offs credits.
    return PledgeStatus(
        pledge=pledge,
        pledged=_money(balance({Tag.PLEDGE: code, Tag.EVENT: Event.PLEDGED})),
        fulfilled=_money(-balance({Tag.PLEDGE: code, Tag.EVENT: Event.FULFILLED})),
        written_off=_money(-balance({Tag.PLEDGE: code, Tag.EVENT: Event.WRITTEN_OFF})),
        outstanding=_money(balance()),
    )


def double_payments(ledger: Ledger, purpose: str | None = None) -> tuple[DoublePayment, ...]:
    """Beneficiaries holding two or more live payments for the same purpose.

    A live payment is a programme claim held (a failed or returned payment
    releases it), or a standing payment entry posted without its claim (see
    :func:`unclaimed_payments`): so a household paid twice by one programme
    through the generic path is reported as well as one paid by two programmes.
    """
    purposes = {
        record.code: Programme.from_record(record).purpose
        for record in require_ledger(ledger).records(RecordKind.PROGRAMME)
    }
    holders: dict[tuple[str, str], list[str]] = defaultdict(list)
    for claim in ledger.active_claims(CLAIM_PREFIX):
        programme = claim.scope[len(CLAIM_PREFIX) :]
        if programme in purposes and (purpose is None or purposes[programme] == purpose):
            holders[(purposes[programme], claim.key)].append(programme)
    for payment in unclaimed_payments(ledger):
        what = purposes.get(payment.programme)
        if what is not None and (purpose is None or what == purpose):
            holders[(what, payment.beneficiary)].append(payment.programme)
    return tuple(
        DoublePayment(beneficiary=key, purpose=what, programmes=tuple(sorted(progs)))
        for (what, key), progs in sorted(holders.items())
        if len(progs) > 1
    )


def unclaimed_payments(ledger: Ledger) -> tuple[UnclaimedPayment, ...]:
    """Standing payment entries that do not hold their programme's claim on their beneficiary, in chain order."""
    e, c = t.entries.c, t.claims.c
    programme, beneficiary = t.entry_tags.alias("programme"), t.entry_tags.alias("beneficiary")
    reversal = t.entries.alias("reversal")
    standing = (
        select(e.seq, e.id, programme.c.value.label("programme"), beneficiary.c.value.label("beneficiary"))
        .join(programme, and_(programme.c.entry_seq == e.seq, programme.c.name == Tag.PROGRAMME))
        .join(beneficiary, and_(beneficiary.c.entry_seq == e.seq, beneficiary.c.name == Tag.BENEFICIARY))
        .outerjoin(reversal, reversal.c.reverses == e.id)
        .where(e.kind == Kind.PAYMENT.value, e.reverses.is_(None), reversal.c.seq.is_(None))
    )
    claimed = (
        select(c.entry_seq)
        .where(
            c.entry_seq == e.seq,
            c.scope == literal(CLAIM_PREFIX) + programme.c.value,
            c.key == beneficiary.c.value,
        )
        .exists()
    )
    with require_ledger(ledger).snapshot() as connection:
        rows = connection.execute(standing.where(~claimed).order_by(e.seq)).all()
        if not rows:
            return ()
        counts: dict[tuple[str, str], int] = defaultdict(int)
        pairs = {(row.programme, row.beneficiary) for row in rows}
        wanted = standing.where(beneficiary.c.value.in_(sorted({b for _, b in pairs})))
        for row in connection.execute(wanted):
            counts[(row.programme, row.beneficiary)] += 1
    return tuple(
        UnclaimedPayment(
            seq=row.seq,
            entry_id=row.id,
            programme=row.programme,
            beneficiary=row.beneficiary,
            also_paid=counts[(row.programme, row.beneficiary)] - 1,
        )
        for row in rows
    )
