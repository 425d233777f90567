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
from aidledger.core.amounts import Amount, Money, Quantity, Rounding, Unit
from aidledger.core.beneficiaries import Beneficiary
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting, check_text
from aidledger.core.errors import IdempotencyConflict, InsufficientStock, InvalidArgument
from aidledger.ledger.ledger import LedgerView
from aidledger.ledger.results import BatchResult
from aidledger.operations.base import LookupChart, Operations, balance_or_zero, component


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
    quantity: Quantity
    tags: dict[str, str]
    claims: list[Claim]
    key: str | None


def _quantity(amount: Amount) -> Quantity:
    return Quantity(amount.value, amount.unit)


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
        tags = {"commodity": goods.unit.code, "basis": basis.value, "event": "received"}
        if donor is not None:
            tags["donor"] = self._text(donor, "donor")
        if location is not None:
            tags["location"] = self._text(location, "location")
        entry = JournalEntry(
            kind="goods-purchase" if bought else "goods-donation",
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
            [_Move(goods, {"commodity": goods.unit.code, "settlement": settlement, "event": "dispatched"}, [], key)],
            on=on,
            actor=actor,
            kind="goods-dispatch",
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
        scope = None if programme is None else f"delivery:{component(programme).lower()}"
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
            tags = {"commodity": delivery.quantity.unit.code, "purpose": purpose, "event": "delivered"}
            claims: list[Claim] = []
            if delivery.to is not None:
                tags["beneficiary"] = delivery.to.pseudonym
                if scope is not None:
                    tags["programme"] = scope.split(":", 1)[1]
                    claims.append(Claim(scope, delivery.to.pseudonym))
            else:
                assert delivery.settlement is not None
                tags["settlement"] = delivery.settlement
            if delivery.region is not None:
                tags["region"] = delivery.region
            moves.append(_Move(delivery.quantity, tags, claims, delivery.key))
        goods = batch[0].quantity.unit
        return self._move(
            target,
            moves,
            on=on,
            actor=actor,
            kind="goods-delivery",
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
            [_Move(goods, {"commodity": goods.unit.code, "reason": reason.value, "event": "lost"}, [], key)],
            on=on,
            actor=actor,
            kind="goods-loss",
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
        kind: str,
        from_transit: bool,
        to_quantity: Account,
        to_value: Account,
        memo: str = "",
        skip_claimed: bool = False,
    ) -> BatchResult:
        """Goods out of the warehouse (or off the road), each move at the average cost before it."""
        when = self._when(on)
        unit = moves[0].quantity.unit
        source_quantity = self.chart.stock(unit, in_transit=from_transit)
        source_value = self.chart.stock_value(unit, self.currency, in_transit=from_transit)
        found: dict[int, PostedEntry] = {}
        todo: list[int] = []

        def build(view: LedgerView) -> list[JournalEntry]:
            # A retried move (its key already posted) is not valued again: it returns its first entry.
            found.clear()
            todo.clear()
            known = view.entries_by_keys([move.key for move in moves if move.key is not None])
            for index, move in enumerate(moves):
                posted = None if move.key is None else known.get(move.key)
                if posted is None:
                    todo.append(index)
                    continue
                first = posted.entry
                same = (
                    first.kind == kind
                    and first.postings[0].amount == move.quantity
                    and first.postings[0].fund == fund
                    and first.postings[0].account == to_quantity
                    and first.effective_at == when
                    and (first.actor, first.memo) == (actor, memo)
                    and set(first.claims) == set(move.claims)
                    and {k: v for k, v in first.tags.items() if k != "value"} == dict(move.tags)
                )
                if not same:  # the value is the average cost when it was first posted; the rest must match
                    raise IdempotencyConflict(
                        f"idempotency key {move.key!r} was already used for entry {posted.id} with different content",
                        key=move.key,
                    )
                found[index] = posted
            if not todo:
                return []
            asked = sum((moves[i].quantity.value for i in todo), Decimal(0))
            on_hand = view.balance(source_quantity, fund, as_of=when)
            held_value = view.balance(source_value, fund, as_of=when)
            if on_hand.value < asked:
                raise InsufficientStock(
                    f"{source_quantity.code} in fund {fund.code} holds {on_hand} at {when.isoformat()}, "
                    f"less than the {Quantity(asked, unit)} asked for; nothing was posted",
                    what=source_quantity.code,
                    on_hand=on_hand,
                    asked=Quantity(asked, unit),
                )
            entries = []
            for move in (moves[i] for i in todo):
                value = average_cost(move.quantity, on_hand, held_value)
                on_hand, held_value = on_hand - move.quantity, held_value - value
                postings = [
                    Posting.debit(to_quantity, fund, move.quantity),
                    Posting.credit(source_quantity, fund, move.quantity),
                ]
                if value.value > 0:
                    postings += [Posting.debit(to_value, fund, value), Posting.credit(source_value, fund, value)]
                entries.append(
                    JournalEntry(
                        kind=kind,
                        effective_at=when,
                        postings=postings,
                        actor=actor,
                        memo=memo,
                        idempotency_key=move.key,
                        tags={**move.tags, "value": f"{value.value:f}"},
                        claims=move.claims,
                    )
                )
            return entries

        with self._translate(source_quantity, InsufficientStock, f"not enough {unit.code} in stock"):
            result = self._transact(build, skip=skip_claimed)
        if not found:
            return result
        results: list[PostedEntry | None] = [None] * len(moves)
        for index, posted in found.items():
            results[index] = posted
        for index, posted_or_none in zip(todo, result.results, strict=True):
            results[index] = posted_or_none
        skipped = tuple(attrs.evolve(s, index=todo[s.index]) for s in result.skipped)
        return BatchResult(posted=tuple(r for r in results if r is not None), skipped=skipped, results=tuple(results))

    def stock_position(
        self,
        fund: Fund | str,
        commodity: Unit,
        *,
        as_of: dt.datetime | None = None,
        known_at: dt.datetime | None = None,
    ) -> StockPosition:
        """Received, delivered, lost, in transit and on hand, in quantity and in money.

        ``as_of`` counts entries effective by then; ``known_at`` those the ledger
        had recorded by then, so a position read at time T is read again
        identically with ``known_at=T``.  Reading writes nothing: a stock account
        the ledger does not hold yet counts as zero.
        """
        target = self._fund(fund)
        if not isinstance(commodity, Unit):
            raise InvalidArgument(f"commodity must be a Unit, got {commodity!r}", value=commodity)
        chart, cur = LookupChart(self.ledger), self.currency

        def balance(account: Account, tags: dict[str, str] | None = None) -> Amount:
            return balance_or_zero(self.ledger, account, target, as_of=as_of, known_at=known_at, tags=tags)

        code = commodity.code
        value = chart.stock_value(commodity, cur)
        transit_value = chart.stock_value(commodity, cur, in_transit=True)

        def out(event: str) -> Money:
            """Value that left the warehouse or the road for ``event`` (credits are negative)."""
            tags = {"commodity": code, "event": event}
            return _money(-(balance(value, tags) + balance(transit_value, tags)))

        return StockPosition(
            commodity=code,
            received=_quantity(-balance(chart.goods_in(commodity))),
            delivered=_quantity(balance(chart.goods_delivered(commodity))),
            lost=_quantity(balance(chart.goods_lost(commodity))),
            in_transit=_quantity(balance(chart.stock(commodity, in_transit=True))),
            on_hand=_quantity(balance(chart.stock(commodity))),
            received_value=_money(balance(value, {"commodity": code, "event": "received"})),
            delivered_value=out("delivered"),
            lost_value=out("lost"),
            in_transit_value=_money(balance(transit_value)),
            on_hand_value=_money(balance(value)),
        )


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
