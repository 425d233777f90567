"""In-kind goods: received at value, bought, dispatched, delivered and written off, in quantity and money."""

from __future__ import annotations

import re

import pytest

from aidledger import (
    Aid,
    Delivery,
    DuplicateClaim,
    InsufficientBalance,
    InsufficientStock,
    InvalidAmount,
    InvalidArgument,
    LossReason,
    PurposeMismatch,
    Quantity,
    ValuationBasis,
    commodity,
    stock_position,
)
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, KEYS, kzt

PACKAGE = commodity("FOOD-PACKAGE", "package")
FLOUR = commodity("FLOUR", "t", exponent=3)


def packages(n: str) -> Quantity:
    return Quantity(n, PACKAGE)


@pytest.fixture
def stocked(aid: Aid) -> Aid:
    """1,000 donated food packages worth 15,000 KZT each, in the FOOD fund."""
    aid.receive_goods(
        "FOOD",
        packages("1000"),
        value=kzt("15000000"),
        basis=ValuationBasis.MARKET_PRICE,
        donor="Magnum",
        on=APRIL,
        actor="storekeeper",
        source="waybill 12",
    )
    return aid


class TestReceiving:
    def test_donated_goods_are_counted_and_valued(self, stocked: Aid) -> None:
        """Goods in are counted in packages and valued in KZT; the basis and donor stay on the entry."""
        position = stock_position(stocked.ledger, "FOOD", PACKAGE)
        assert (position.received, position.on_hand) == (packages("1000"), packages("1000"))
        assert (position.received_value, position.on_hand_value) == (kzt("15000000"), kzt("15000000"))
        assert position.reconciles
        entry = next(e for e in stocked.ledger.entries() if e.entry.kind == "goods-donation").entry
        assert (entry.tags["basis"], entry.tags["donor"]) == ("market-price", "Magnum")
        assert stocked.ledger.balance("Revenue:InKind:KZT", "FOOD") == kzt("-15000000")
        assert stocked.ledger.fund_balance("FOOD", "KZT") == kzt("15000000")

    def test_goods_bought_from_the_fund_turn_cash_into_stock(self, aid: Aid) -> None:
        """A purchase moves cash into stock: the fund's net assets do not change."""
        aid.donate("FOOD", kzt("1000000"), donor="D", on=APRIL, actor="c")
        aid.receive_goods(
            "FOOD", Quantity("20.5", FLOUR), value=kzt("820000"), basis=ValuationBasis.PURCHASE_COST, on=APRIL,
            actor="buyer", source="invoice 88",
        )  # fmt: skip
        assert aid.ledger.balance("Assets:Bank:KZT", "FOOD") == kzt("180000")
        assert aid.ledger.fund_balance("FOOD", "KZT") == kzt("1000000")
        assert stock_position(aid.ledger, "FOOD", FLOUR).on_hand == Quantity("20.500", FLOUR)

    def test_a_purchase_beyond_the_cash_is_refused(self, aid: Aid) -> None:
        """Buying with money the fund does not have raises InsufficientBalance on the bank."""
        aid.donate("FOOD", kzt("100"), donor="D", on=APRIL, actor="c")
        before = snapshot(aid.ledger)
        with pytest.raises(InsufficientBalance, match="Assets:Bank:KZT"):
            aid.receive_goods(
                "FOOD", packages("1"), value=kzt("100.01"), basis=ValuationBasis.PURCHASE_COST, on=APRIL, actor="b"
            )
        assert snapshot(aid.ledger) == before

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"quantity": kzt("5")}, "must be a positive Quantity"),
            ({"quantity": packages("0")}, "must be a positive Quantity"),
            ({"basis": "market"}, "basis must be a ValuationBasis"),
            ({"donor": None}, "donated goods name their donor"),
            ({"value": Quantity("1", PACKAGE)}, "must be Money"),
        ],
    )
    def test_bad_receipts_are_refused(self, aid: Aid, arguments: dict[str, object], message: str) -> None:
        """Money for goods, a string basis, a missing donor and goods for value are refused; nothing is written."""
        call: dict[str, object] = {
            "quantity": packages("1"),
            "value": kzt("1"),
            "basis": ValuationBasis.APPRAISAL,
            "donor": "D",
        } | arguments
        before = snapshot(aid.ledger)
        with pytest.raises(InvalidArgument, match=message):
            aid.receive_goods("FOOD", on=APRIL, actor="s", **call)  # type: ignore[arg-type]
        assert snapshot(aid.ledger) == before


class TestDelivering:
    def test_dispatch_then_deliver_reconciles_in_packages_and_money(self, stocked: Aid) -> None:
        """Goods dispatched to a settlement and delivered from transit leave at 15,000 KZT each."""
        stocked.dispatch("FOOD", packages("300"), to="Kokpekty", on=APRIL.add(days=1), actor="driver")
        for n in range(1, 4):
            stocked.deliver(
                "FOOD", packages("1"), purpose="food", to=KEYS.pseudonym(f"hh-{n}"), from_transit=True,
                programme="food-2020", region="Abai", on=APRIL.add(days=2), actor="volunteer",
            )  # fmt: skip
        stocked.deliver(
            "FOOD", packages("100"), purpose="food", settlement="Kokpekty school", on=APRIL.add(days=2), actor="v"
        )
        position = stock_position(stocked.ledger, "FOOD", PACKAGE)
        assert (position.on_hand, position.in_transit, position.delivered) == (
            packages("600"),
            packages("297"),
            packages("103"),
        )
        assert (position.on_hand_value, position.in_transit_value, position.delivered_value) == (
            kzt("9000000"),
            kzt("4455000"),
            kzt("1545000"),
        )
        assert position.reconciles
        assert stocked.ledger.balance("Expenses:FOOD:KZT", "FOOD") == kzt("1545000")
        assert stocked.ledger.fund_balance("FOOD", "KZT") == kzt("15000000") - kzt("1545000")
        assert stocked.ledger.trial_balance().balanced

    def test_delivery_beyond_stock_is_refused(self, stocked: Aid) -> None:
        """Asking for more than is on hand raises InsufficientStock naming both quantities; nothing is written."""
        before = snapshot(stocked.ledger)
        with pytest.raises(
            InsufficientStock,
            match=re.escape(
                "holds 1,000 FOOD-PACKAGE at 2020-04-01T09:00:00+06:00 (Asia/Almaty), less than the 1,001 FOOD-PACKAGE"
            ),
        ):
            stocked.deliver("FOOD", packages("1001"), purpose="food", settlement="Ayagoz", on=APRIL, actor="v")
        assert snapshot(stocked.ledger) == before

    def test_delivery_before_the_goods_arrived_is_refused(self, stocked: Aid) -> None:
        """Stock is judged at the effective time: a back-dated delivery cannot use goods that came later."""
        before = snapshot(stocked.ledger)
        with pytest.raises(InsufficientStock, match="holds 0 FOOD-PACKAGE"):
            stocked.deliver(
                "FOOD", packages("1"), purpose="food", settlement="Ayagoz", on=APRIL.subtract(days=1), actor="v"
            )
        assert snapshot(stocked.ledger) == before

    def test_delivering_from_transit_needs_goods_on_the_road(self, stocked: Aid) -> None:
        """Goods in the warehouse are not in transit."""
        with pytest.raises(InsufficientStock, match="Assets:StockInTransit:FOOD-PACKAGE"):
            stocked.deliver(
                "FOOD", packages("1"), purpose="food", settlement="S", from_transit=True, on=APRIL, actor="v"
            )

    def test_a_household_gets_one_delivery_per_programme(self, stocked: Aid) -> None:
        """With a programme, a second delivery to the same household raises DuplicateClaim."""
        household = KEYS.pseudonym("hh-1")
        stocked.deliver("FOOD", packages("1"), purpose="food", to=household, programme="food-2020", on=APRIL,
                        actor="v")  # fmt: skip
        before = snapshot(stocked.ledger)
        with pytest.raises(DuplicateClaim, match="already taken"):
            stocked.deliver("FOOD", packages("1"), purpose="food", to=household, programme="food-2020", on=APRIL,
                            actor="v")  # fmt: skip
        assert snapshot(stocked.ledger) == before

    def test_delivery_for_another_purpose_is_refused(self, stocked: Aid) -> None:
        """Food from the food fund cannot be booked as housing."""
        before = snapshot(stocked.ledger)
        with pytest.raises(PurposeMismatch, match="fund FOOD is donor-restricted to 'food'"):
            stocked.deliver("FOOD", packages("1"), purpose="housing", settlement="S", on=APRIL, actor="v")
        assert snapshot(stocked.ledger) == before

    def test_a_delivery_goes_to_a_household_or_a_settlement(self, stocked: Aid) -> None:
        """Neither, both, or a raw name instead of a pseudonym are refused."""
        for extra in ({}, {"to": KEYS.pseudonym("x"), "settlement": "S"}):
            with pytest.raises(InvalidArgument, match="either to a household"):
                stocked.deliver("FOOD", packages("1"), purpose="food", on=APRIL, actor="v", **extra)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="Beneficiary pseudonym"):
            stocked.deliver("FOOD", packages("1"), purpose="food", to="Aigerim", on=APRIL, actor="v")  # type: ignore[arg-type]


class TestBatches:
    def test_many_households_in_one_transaction(self, stocked: Aid) -> None:
        """A batch of deliveries posts together; each household once per programme, the rest reported with skip."""
        batch = [Delivery(packages("1"), to=KEYS.pseudonym(f"hh-{n}"), region="Abai") for n in range(5)]
        assert (
            len(stocked.deliver_many("FOOD", batch, purpose="food", programme="food-2020", on=APRIL, actor="v").posted)
            == 5
        )
        again = [Delivery(packages("1"), to=KEYS.pseudonym(f"hh-{n}")) for n in range(3, 8)]
        before = snapshot(stocked.ledger)
        with pytest.raises(DuplicateClaim):
            stocked.deliver_many("FOOD", again, purpose="food", programme="food-2020", on=APRIL, actor="v")
        assert snapshot(stocked.ledger) == before
        result = stocked.deliver_many(
            "FOOD", again, purpose="food", programme="food-2020", on=APRIL, actor="v", skip_claimed=True
        )
        assert (len(result.posted), [s.index for s in result.skipped]) == (3, [0, 1])
        assert stock_position(stocked.ledger, "FOOD", PACKAGE).delivered == packages("8")

    def test_a_retried_batch_returns_its_first_entries(self, stocked: Aid) -> None:
        """Keyed deliveries sent again are not valued or posted again, even mixed with new ones."""
        batch = [Delivery(packages("1"), settlement="Aksu", key=f"d-{n}") for n in range(3)]
        first = stocked.deliver_many("FOOD", batch, purpose="food", on=APRIL, actor="v")
        more = [*batch, Delivery(packages("2"), settlement="Aksu", key="d-3")]
        second = stocked.deliver_many("FOOD", more, purpose="food", on=APRIL, actor="v")
        assert second.posted[:3] == first.posted
        assert stock_position(stocked.ledger, "FOOD", PACKAGE).delivered == packages("5")

    def test_a_batch_beyond_stock_is_refused_whole(self, stocked: Aid) -> None:
        """Stock is checked for the batch's total, not per line; nothing is written."""
        batch = [Delivery(packages("400"), settlement=f"S-{n}") for n in range(3)]
        before = snapshot(stocked.ledger)
        with pytest.raises(InsufficientStock, match=re.escape("less than the 1,200 FOOD-PACKAGE asked for")):
            stocked.deliver_many("FOOD", batch, purpose="food", on=APRIL, actor="v")
        assert snapshot(stocked.ledger) == before

    def test_bad_deliveries(self) -> None:
        """A delivery needs goods, and one destination."""
        with pytest.raises(InvalidArgument, match="positive Quantity"):
            Delivery(kzt("1"), settlement="S")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="either to a household"):
            Delivery(packages("1"))


class TestAverageCost:
    def test_rounding_leaves_nothing_behind(self, aid: Aid) -> None:
        """Three packages worth 100 KZT leave at 33.33, 33.34 and 33.33: value and quantity reach zero together."""
        aid.receive_goods("FOOD", packages("3"), value=kzt("100"), basis=ValuationBasis.APPRAISAL, donor="D",
                          on=APRIL, actor="s")  # fmt: skip
        values = [
            aid.deliver("FOOD", packages("1"), purpose="food", settlement="S", on=APRIL, actor="v").entry.tags["value"]
            for _ in range(3)
        ]
        assert values == ["33.33", "33.34", "33.33"]
        position = stock_position(aid.ledger, "FOOD", PACKAGE)
        assert (position.on_hand, position.on_hand_value) == (packages("0"), kzt("0"))
        assert position.delivered_value == kzt("100")

    def test_tonnes_to_the_kilogram(self, aid: Aid) -> None:
        """Flour counted in tonnes with three decimals; a finer quantity is refused by Quantity itself."""
        aid.receive_goods("FOOD", Quantity("1000", FLOUR), value=kzt("150000000"), basis=ValuationBasis.DONOR_INVOICE,
                          donor="Mill", on=APRIL, actor="s")  # fmt: skip
        posted = aid.deliver("FOOD", Quantity("0.025", FLOUR), purpose="food", settlement="S", on=APRIL, actor="v")
        assert posted.entry.tags["value"] == "3750.00"
        with pytest.raises(InvalidAmount, match=re.escape("0.0005 has more decimals than FLOUR allows (3)")):
            Quantity("0.0005", FLOUR)


class TestLosses:
    def test_write_off_with_a_typed_reason(self, stocked: Aid) -> None:
        """Spoiled goods leave stock at average cost into losses; the reason is on the entry."""
        stocked.dispatch("FOOD", packages("10"), to="Urdzhar", on=APRIL, actor="d")
        posted = stocked.write_off(
            "FOOD", packages("2"), reason=LossReason.DAMAGE, from_transit=True, on=APRIL, actor="d", memo="truck"
        )
        assert posted.entry.tags["reason"] == "damage"
        position = stock_position(stocked.ledger, "FOOD", PACKAGE)
        assert (position.lost, position.lost_value) == (packages("2"), kzt("30000"))
        assert position.reconciles
        assert stocked.ledger.balance("Expenses:StockLosses:KZT", "FOOD") == kzt("30000")

    def test_write_off_needs_a_reason_and_the_goods(self, stocked: Aid) -> None:
        """A free-text reason and a loss beyond stock are refused."""
        before = snapshot(stocked.ledger)
        with pytest.raises(InvalidArgument, match="reason must be a LossReason"):
            stocked.write_off("FOOD", packages("1"), reason="rats", on=APRIL, actor="s")  # type: ignore[arg-type]
        with pytest.raises(InsufficientStock):
            stocked.write_off("FOOD", packages("1001"), reason=LossReason.THEFT, on=APRIL, actor="s")
        assert snapshot(stocked.ledger) == before
