"""In-kind goods: stock kept in units of measure and in money at the same time.

Every stock entry moves a quantity (``Assets:Stock:<commodity>``, counted in
the commodity's unit) and its value (``Assets:StockValue:<commodity>:<currency>``)
together. Goods leave at their average cost at the effective time, computed
inside the write transaction; the last unit out takes whatever value is left,
so quantity and value reach zero together and received − delivered − lost =
on hand holds in both.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Iterable
from decimal import Decimal

import attrs

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount, Money, Quantity, Rounding
from aidledger.core.beneficiaries import Beneficiary
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting, check_text
from aidledger.core.errors import IdempotencyConflict, InsufficientStock, InvalidArgument
from aidledger.core.formatting import format_time
from aidledger.ledger.ledger import LedgerView
from aidledger.ledger.results import BatchResult
from aidledger.operations.base import Operations
from aidledger.vocabulary import DELIVERY_CLAIM_PREFIX, Event, Kind, Tag, component


class ValuationBasis(enum.Enum):
    """How the value of goods received was established."""

    MARKET_PRICE = "market-price"  # fair value from current market prices
    DONOR_INVOICE = "donor-invoice"  # the donor's documented cost
    APPRAISAL = "appraisal"  # an independent appraisal
    PURCHASE_COST = "purchase-cost"  # bought from the fund: what was paid


class LossReason(enum.Enum):
    """Why goods were written off."""

    SPOILAGE = "spoilage"
    DAMAGE = "damage"
    THEFT = "theft"
    EXPIRY = "expiry"
    COUNT_DIFFERENCE = "count-difference"


@attrs.frozen
class Delivery:
    """One delivery of a batch: goods to a household (by pseudonym) or to a settlement.

    Attributes:
        quantity: how much of the commodity.
        to: the household's pseudonym, or ``None`` for a settlement.
        settlement: the settlement's name, or ``None`` for a household.
        region: where, for audit totals.
        key: an idempotency key for the delivery's entry.
    """

    quantity: Quantity = attrs.field()
    to: Beneficiary | None = None
    settlement: str | None = None
    region: str | None = None
    key: str | None = None

    @quantity.validator
    def _check_quantity(self, _: object, value: object) -> None:
        if not isinstance(value, Quantity) or value.value <= 0:
            raise InvalidArgument(f"a delivery needs a positive Quantity of a commodity, got {value!r}", value=value)

    def __attrs_post_init__(self) -> None:
        if (self.to is None) == (self.settlement is None):
            raise InvalidArgument("a delivery goes either to a household (to=...) or to a settlement (settlement=...)")
        if self.to is not None and not isinstance(self.to, Beneficiary):
            raise InvalidArgument(f"to must be a Beneficiary pseudonym, got {self.to!r}", value=self.to)
        if self.settlement is not None:
            check_text("settlement", self.settlement, allow_empty=False, limit=500)
        if self.region is not None:
            check_text("region", self.region, allow_empty=False, limit=500)


@attrs.frozen
class _Move:
    """One quantity of goods to move, with its entry's tags, claims and idempotency key."""

    quantity: Quantity
    tags: dict[str, str]
    claims: list[Claim]
    key: str | None


@attrs.frozen(kw_only=True)
class _Route:
    """Where a batch of moves takes goods from and to, with what every entry of it shares."""

    kind: str
    fund: Fund
    when: dt.datetime
    actor: str
    memo: str
    source_quantity: Account
    source_value: Account
    to_quantity: Account
    to_value: Account


def _money(amount: Amount) -> Money:
    return Money(amount.value, amount.unit)


class StockOperations(Operations):
    """Goods received, dispatched, delivered and written off."""

    def _goods(self, quantity: object, what: str) -> Quantity:
        if not isinstance(quantity, Quantity) or quantity.value <= 0:
            raise InvalidArgument(
                f"{what} must be a positive Quantity of a commodity, got {quantity!r}", value=quantity
            )
        return quantity

    def receive_goods(
        self,
        fund: Fund | str,
        quantity: Quantity,
        *,
        value: Money,
        basis: ValuationBasis,
        on: dt.datetime,
        actor: str,
        donor: str | None = None,
        source: str | None = None,
        memo: str = "",
        key: str | None = None,
        location: str | None = None,
    ) -> PostedEntry:
        """Goods into stock: donated at fair value (with its basis), or bought from the fund's cash."""
        target = self._fund(fund)
        goods = self._goods(quantity, "quantity received")
        money = self._money(value, "value of the goods")
        if not isinstance(basis, ValuationBasis):
            raise InvalidArgument(f"basis must be a ValuationBasis, got {basis!r}", value=basis)
        bought = basis is ValuationBasis.PURCHASE_COST
        if bought == (donor is not None):
            raise InvalidArgument("donated goods name their donor; goods bought at purchase cost have none")
        counter: Account = self.chart.bank(money.unit) if bought else self.chart.in_kind_donations(money.unit)
        tags = {Tag.COMMODITY: goods.unit.code, Tag.BASIS: basis.value, Tag.EVENT: Event.RECEIVED}
        if donor is not None:
            tags[Tag.DONOR] = self._text(donor, "donor")
        if location is not None:
            tags[Tag.LOCATION] = self._text(location, "location")
        entry = JournalEntry(
            kind=(Kind.GOODS_PURCHASE if bought else Kind.GOODS_DONATION).value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.stock(goods.unit), target, goods),
                Posting.credit(self.chart.goods_in(goods.unit), target, goods),
                Posting.debit(self.chart.stock_value(goods.unit, money.unit), target, money),
                Posting.credit(counter, target, money),
            ],
            actor=actor,
            memo=memo,
            source=source,
            idempotency_key=key,
            tags=tags,
        )
        return self._post([entry])[0]

    def dispatch(
        self,
        fund: Fund | str,
        quantity: Quantity,
        *,
        to: str,
        on: dt.datetime,
        actor: str,
        key: str | None = None,
    ) -> PostedEntry:
        """Goods leave the warehouse for a settlement, at average cost."""
        target = self._fund(fund)
        goods = self._goods(quantity, "quantity dispatched")
        settlement = self._text(to, "destination")
        return self._move(
            target,
            [
                _Move(
                    goods,
                    {Tag.COMMODITY: goods.unit.code, Tag.SETTLEMENT: settlement, Tag.EVENT: Event.DISPATCHED},
                    [],
                    key,
                )
            ],
            on=on,
            actor=actor,
            kind=Kind.GOODS_DISPATCH,
            from_transit=False,
            to_quantity=self.chart.stock(goods.unit, in_transit=True),
            to_value=self.chart.stock_value(goods.unit, self.currency, in_transit=True),
        ).posted[0]

    def deliver(
        self,
        fund: Fund | str,
        quantity: Quantity,
        *,
        purpose: str,
        on: dt.datetime,
        actor: str,
        to: Beneficiary | None = None,
        settlement: str | None = None,
        from_transit: bool = False,
        programme: str | None = None,
        region: str | None = None,
        key: str | None = None,
    ) -> PostedEntry:
        """Goods delivered to a household (by pseudonym) or a settlement, at average cost.

        With ``programme``, a household is delivered to at most once in that
        programme (like a one-off payment).  Delivery beyond the stock on hand at
        the effective time is refused with InsufficientStock.
        """
        delivery = Delivery(quantity, to=to, settlement=settlement, region=region, key=key)
        return self.deliver_many(
            fund, [delivery], purpose=purpose, on=on, actor=actor, from_transit=from_transit, programme=programme
        ).posted[0]

    def deliver_many(
        self,
        fund: Fund | str,
        deliveries: Iterable[Delivery],
        *,
        purpose: str,
        on: dt.datetime,
        actor: str,
        from_transit: bool = False,
        programme: str | None = None,
        skip_claimed: bool = False,
    ) -> BatchResult:
        """Deliveries of one commodity posted together, in one transaction, each at average cost.

        The whole batch is refused if the stock on hand at ``on`` cannot cover
        it; with ``programme``, a household already delivered to refuses the
        batch, or with ``skip_claimed=True`` is set aside and reported.
        """
        target = self._fund(fund)
        batch = list(deliveries)
        if not batch:
            raise InvalidArgument("no deliveries to post")
        self._check_purpose(target, purpose, f"delivery of {batch[0].quantity.unit.code}")
        scope = None if programme is None else f"{DELIVERY_CLAIM_PREFIX}{component(programme).lower()}"
        moves: list[_Move] = []
        for number, delivery in enumerate(batch, start=1):
            if not isinstance(delivery, Delivery):
                raise InvalidArgument(f"delivery {number}: expected a Delivery, got {delivery!r}", line=number)
            if delivery.quantity.unit != batch[0].quantity.unit:
                raise InvalidArgument(
                    f"delivery {number}: all deliveries of a batch are of one commodity "
                    f"({batch[0].quantity.unit.code}), got {delivery.quantity.unit.code}",
                    line=number,
                )
            tags = {Tag.COMMODITY: delivery.quantity.unit.code, Tag.PURPOSE: purpose, Tag.EVENT: Event.DELIVERED}
            claims: list[Claim] = []
            if delivery.to is not None:
                tags[Tag.BENEFICIARY] = delivery.to.pseudonym
                if scope is not None:
                    tags[Tag.PROGRAMME] = scope.split(":", 1)[1]
                    claims.append(Claim(scope, delivery.to.pseudonym))
            elif delivery.settlement is not None:  # a Delivery goes to a household or to a settlement
                tags[Tag.SETTLEMENT] = delivery.settlement
            if delivery.region is not None:
                tags[Tag.REGION] = delivery.region
            moves.append(_Move(delivery.quantity, tags, claims, delivery.key))
        goods = batch[0].quantity.unit
        return self._move(
            target,
            moves,
            on=on,
            actor=actor,
            kind=Kind.GOODS_DELIVERY,
            from_transit=from_transit,
            to_quantity=self.chart.goods_delivered(goods),
            to_value=self.chart.expenses(purpose, self.currency),
            skip_claimed=skip_claimed,
        )

    def write_off(
        self,
        fund: Fund | str,
        quantity: Quantity,
        *,
        reason: LossReason,
        on: dt.datetime,
        actor: str,
        from_transit: bool = False,
        memo: str = "",
        key: str | None = None,
    ) -> PostedEntry:
        """Goods lost or written off, with a typed reason, at average cost."""
        target = self._fund(fund)
        goods = self._goods(quantity, "quantity written off")
        if not isinstance(reason, LossReason):
            raise InvalidArgument(f"reason must be a LossReason, got {reason!r}", value=reason)
        return self._move(
            target,
            [_Move(goods, {Tag.COMMODITY: goods.unit.code, Tag.REASON: reason.value, Tag.EVENT: Event.LOST}, [], key)],
            on=on,
            actor=actor,
            kind=Kind.GOODS_LOSS,
            from_transit=from_transit,
            to_quantity=self.chart.goods_lost(goods.unit),
            to_value=self.chart.stock_losses(self.currency),
            memo=memo,
        ).posted[0]

    def _move(
        self,
        fund: Fund,
        moves: list[_Move],
        *,
        on: dt.datetime,
        actor: str,
        kind: Kind,
        from_transit: bool,
        to_quantity: Account,
        to_value: Account,
        memo: str = "",
        skip_claimed: bool = False,
    ) -> BatchResult:
        """Goods out of the warehouse (or off the road), each move at the average cost before it."""
        unit = moves[0].quantity.unit
        route = _Route(
            kind=kind.value,
            fund=fund,
            when=self._when(on),
            actor=actor,
            memo=memo,
            source_quantity=self.chart.stock(unit, in_transit=from_transit),
            source_value=self.chart.stock_value(unit, self.currency, in_transit=from_transit),
            to_quantity=to_quantity,
            to_value=to_value,
        )
        found: dict[int, PostedEntry] = {}
        todo: list[int] = []

        def build(view: LedgerView) -> list[JournalEntry]:
            # A retried move (its key already posted) is not valued again: it returns its first entry.
            found.clear()
            todo.clear()
            for index, posted in _retried(view, route, moves).items():
                if posted is None:
                    todo.append(index)
                else:
                    found[index] = posted
            return _valued(view, route, [moves[i] for i in todo]) if todo else []

        with self._translate(route.source_quantity, InsufficientStock, f"not enough {unit.code} in stock"):
            result = self._transact(build, skip=skip_claimed)
        return _merged(len(moves), found, todo, result)


def _retried(view: LedgerView, route: _Route, moves: list[_Move]) -> dict[int, PostedEntry | None]:
    """Each move's first entry if its key was posted before (``None`` for a new move); other content is refused."""
    known = view.entries_by_keys([move.key for move in moves if move.key is not None])
    firsts: dict[int, PostedEntry | None] = {}
    for index, move in enumerate(moves):
        posted = None if move.key is None else known.get(move.key)
        if posted is not None and not _same(posted.entry, route, move):
            # the value is the average cost when it was first posted; the rest must match
            raise IdempotencyConflict(
                f"idempotency key {move.key!r} was already used for entry {posted.id} with different content",
                key=move.key,
            )
        firsts[index] = posted
    return firsts


def _same(first: JournalEntry, route: _Route, move: _Move) -> bool:
    """Whether ``first`` is the entry ``move`` along ``route`` would make, its value aside."""
    return (
        first.kind == route.kind
        and first.postings[0].amount == move.quantity
        and first.postings[0].fund == route.fund
        and first.postings[0].account == route.to_quantity
        and first.effective_at == route.when
        and (first.actor, first.memo) == (route.actor, route.memo)
        and set(first.claims) == set(move.claims)
        and {k: v for k, v in first.tags.items() if k != Tag.VALUE} == dict(move.tags)
    )


def _valued(view: LedgerView, route: _Route, moves: list[_Move]) -> list[JournalEntry]:
    """The entries of ``moves``, each at the average cost of what is on hand before it; refused beyond stock."""
    unit = moves[0].quantity.unit
    asked = sum((move.quantity.value for move in moves), Decimal(0))
    on_hand = view.balance(route.source_quantity, route.fund, as_of=route.when)
    held_value = view.balance(route.source_value, route.fund, as_of=route.when)
    if on_hand.value < asked:
        raise InsufficientStock(
            f"{route.source_quantity.code} in fund {route.fund.code} holds {on_hand:,} at {format_time(route.when)}, "
            f"less than the {Quantity(asked, unit):,} asked for; nothing was posted",
            what=route.source_quantity.code,
            on_hand=on_hand,
            asked=Quantity(asked, unit),
        )
    entries = []
    for move in moves:
        value = average_cost(move.quantity, on_hand, held_value)
        on_hand, held_value = on_hand - move.quantity, held_value - value
        postings = [
            Posting.debit(route.to_quantity, route.fund, move.quantity),
            Posting.credit(route.source_quantity, route.fund, move.quantity),
        ]
        if value.value > 0:
            postings += [
                Posting.debit(route.to_value, route.fund, value),
                Posting.credit(route.source_value, route.fund, value),
            ]
        entries.append(
            JournalEntry(
                kind=route.kind,
                effective_at=route.when,
                postings=postings,
                actor=route.actor,
                memo=route.memo,
                idempotency_key=move.key,
                tags={**move.tags, Tag.VALUE: f"{value.value:f}"},
                claims=move.claims,
            )
        )
    return entries


def _merged(count: int, found: dict[int, PostedEntry], todo: list[int], result: BatchResult) -> BatchResult:
    """The batch's result in the order of its moves: retried ones (``found``) and those just posted (``todo``)."""
    if not found:
        return result
    results: list[PostedEntry | None] = [None] * count
    for index, posted in found.items():
        results[index] = posted
    for index, posted_or_none in zip(todo, result.results, strict=True):
        results[index] = posted_or_none
    skipped = tuple(attrs.evolve(s, index=todo[s.index]) for s in result.skipped)
    return BatchResult(posted=tuple(r for r in results if r is not None), skipped=skipped, results=tuple(results))


def average_cost(quantity: Quantity, on_hand: Amount, value: Amount) -> Money:
    """The value of ``quantity`` out of ``on_hand`` goods worth ``value``, at average cost.

    Rounded half up to the currency's minor unit; taking all that is on hand
    takes all the value, so nothing is left behind by rounding.
    """
    if quantity == on_hand:
        return _money(value)
    with decimal.localcontext(decimal.Context(prec=80)):
        share = value.value * quantity.value / on_hand.value
    return _money(Amount.rounded(share, value.unit, Rounding.HALF_UP))
