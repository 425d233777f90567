"""The motivating campaign of DESIGN.md, at any scale: every aid operation, in the order a fund would post them.

A year (2020) of a public fund: donations in tenge, dollars and euros, pledges
fulfilled and written off, a refund; 50,000 KZT to each of 360,000 families
through a payment provider, with failed and returned payments paid again;
per-person payments to 2,100 medical workers in two cities, approved by a
second person; 240,000 food packages, donated and bought, delivered to
households; 1,000 tonnes of donated relief goods shipped to flooded
settlements; 340,000,000 KZT of housing for the residents of Dostyk village,
Maktaaral district: a budget line, a grant commitment paid in tranches, a
clawback; a half-year close and a correction after it.

Counts scale with :meth:`CampaignPlan.scaled`; the housing grant does not.
Every figure the campaign should produce is computed here from the plan alone
(:class:`CampaignExpectations`), so a test can compare it with what the
ledger reports.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal

import attrs
import pendulum

from aidledger.core.amounts import Money, Quantity, commodity
from aidledger.core.errors import InvalidArgument

ZONE = "Asia/Almaty"
FOOD_PACKAGE = commodity("FOOD-PACKAGE", "package")
RELIEF_GOODS = commodity("RELIEF-GOODS", "t", exponent=3)
REGIONS = (
    "Akmola", "Aktobe", "Almaty region", "Atyrau", "East Kazakhstan", "Zhambyl", "West Kazakhstan",
    "Karaganda", "Kostanay", "Kyzylorda", "Mangystau", "Pavlodar", "North Kazakhstan", "Turkistan",
    "Almaty", "Nur-Sultan", "Shymkent",
)  # fmt: skip
SETTLEMENTS = ("Myrzakent", "Dostyk", "Zhana-Zhol", "Aksu", "Kyzyl-Kum")
CASH_DONORS = ("Samruk-Kazyna", "Halyk Bank", "Kaspi", "KazMunayGas", "Kazatomprom", "Private donors")
HOUSEHOLD_PAYMENT = Decimal("50000")
MEDIC_PAYMENTS = (Decimal("850000"), Decimal("500000"), Decimal("300000"))  # doctors, nurses, other staff
PACKAGE_VALUE = Decimal("15000")  # market price of a donated package, and what a bought one costs
PACKAGE_PRICE = PACKAGE_VALUE
TONNE_VALUE = Decimal("120000")  # appraised value of a tonne of relief goods
USD_PER_HOUSEHOLD = Decimal("10")
USD_RATE = Decimal("425.50")
EUR_GIFT = Decimal("50000.00")
HOUSING_COMMITMENT = Decimal("340000000")
HOUSING_PROJECT = "DOSTYK"
VILLAGE = "Dostyk village, Maktaaral district"  # whose residents the housing grant is for
TRANCHES = (("foundations", Decimal("102000000")), ("walls", Decimal("68000000")),
            ("roofs", Decimal("85000000")), ("finishing", Decimal("68000000")))  # fmt: skip
CLAWBACK = Decimal("3400000")
HOUSING_PLEDGE = Decimal("200000000")
HOUSING_PLEDGE_PAID = (Decimal("120000000"), Decimal("60000000"))
HOUSING_CASH = Decimal("200000000")
REFUND = Decimal("1000000")
APPROVAL_THRESHOLD = Decimal("100000000")
ACTORS = {"cashier": "cashier", "maker": "programme-officer", "checker": "finance-director", "store": "storekeeper"}

Progress = Callable[[str, int, int], None]


@attrs.frozen(kw_only=True)
class CampaignPlan:
    """How big the campaign is.

    Attributes:
        households: families paid 50,000 KZT each.
        food_families: families delivered one food package each.
        medical_workers: people paid in the medical workers' programme.
        relief_tonnes: tonnes of donated relief goods received and shipped.
        list_size: lines per payment list (and households per delivery batch).
        fail_every: one household payment in this many fails at the provider.
        return_every: one paid household payment in this many comes back.
    """

    households: int = 360_000
    food_families: int = 240_000
    medical_workers: int = 2_100
    relief_tonnes: int = 1_000
    list_size: int = 1_000
    fail_every: int = 500
    return_every: int = 997

    def __attrs_post_init__(self) -> None:
        for name in ("households", "food_families", "medical_workers", "relief_tonnes", "list_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidArgument(f"campaign {name} must be a positive whole number, got {value!r}", value=value)
        for name in ("fail_every", "return_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 2:
                raise InvalidArgument(f"campaign {name} must be a whole number of at least 2, got {value!r}")

    @classmethod
    def scaled(cls, scale: Decimal | str | int, *, list_size: int | None = None) -> CampaignPlan:
        """The motivating case times ``scale`` (``"0.001"`` gives 360 families), at least one of everything."""
        try:
            factor = (
                Decimal(scale.strip() if isinstance(scale, str) else scale) if isinstance(scale, str | int) else scale
            )
        except decimal.InvalidOperation:
            factor = None
        if not isinstance(factor, Decimal) or not factor.is_finite() or factor <= 0:
            raise InvalidArgument(f"scale must be a positive number, got {scale!r}", value=scale)
        full = cls()

        def part(n: int) -> int:
            return max(1, int((n * factor).to_integral_value(ROUND_FLOOR)))

        households = part(full.households)
        size = list_size if list_size is not None else max(10, min(full.list_size, households // 10))
        return cls(
            households=households,
            # At least one failed and one returned payment at any scale.
            fail_every=max(2, min(full.fail_every, households // 2)),
            return_every=max(3, min(full.return_every, households // 2 + 1)),
            food_families=part(full.food_families),
            medical_workers=part(full.medical_workers),
            relief_tonnes=part(full.relief_tonnes),
            list_size=size,
        )

    # -- derived figures, from the plan alone ------------------------------------------------------

    def failed(self) -> list[int]:
        """Household numbers whose first payment fails."""
        return [n for n in range(self.households) if n % self.fail_every == self.fail_every - 1]

    def returned(self) -> list[int]:
        """Household numbers whose first payment is paid, then comes back."""
        return [
            n
            for n in range(self.households)
            if n % self.return_every == self.return_every - 1 and n % self.fail_every != self.fail_every - 1
        ]

    def medic_amount(self, n: int) -> Decimal:
        return MEDIC_PAYMENTS[n % len(MEDIC_PAYMENTS)]

    def packages_donated(self) -> int:
        return max(1, self.food_families * 5 // 6)

    def packages_lost(self) -> int:
        return max(1, self.food_families // 240)

    def packages_left(self) -> int:
        return max(1, self.food_families // 60)

    def packages_bought(self) -> int:
        return self.food_families + self.packages_lost() + self.packages_left() - self.packages_donated()

    def relief_lost(self) -> Decimal:
        """Half a percent of the relief goods is damaged on the road."""
        return (Decimal(self.relief_tonnes) * Decimal("0.005")).quantize(Decimal("0.001"))

    def expectations(self) -> CampaignExpectations:
        """What the ledger must show after the campaign, computed without reading it."""
        household_total = HOUSEHOLD_PAYMENT * self.households
        usd = USD_PER_HOUSEHOLD * self.households
        surplus = Decimal("5000000")
        medic_total = sum((self.medic_amount(n) for n in range(self.medical_workers)), Decimal(0))
        # Donated and bought packages are worth the same, so the average cost is that figure exactly.
        left_value = PACKAGE_VALUE * self.packages_left()
        relief_value = TONNE_VALUE * self.relief_tonnes
        housing_paid = sum((amount for _, amount in TRANCHES), Decimal(0))
        housing_received = HOUSING_CASH + sum(HOUSING_PLEDGE_PAID, Decimal(0))
        general_cash = Decimal("20000000") + Decimal("750000")  # the May donation counted once
        designated = Decimal("10000000")
        return CampaignExpectations(
            fund_balances={
                "CASH-AID": kzt(surplus - surplus),  # the surplus is released to GENERAL at year end
                "MEDICS": kzt(Decimal("1000000")),
                "FOOD": kzt(left_value),
                "FLOOD": kzt(relief_value - relief_value),
                "HOUSING": kzt(housing_received - housing_paid + CLAWBACK),
                "GENERAL": kzt(general_cash - REFUND + surplus - designated),
                "RESERVE": kzt(designated),
            },
            euro_in_general=Money(EUR_GIFT, "EUR"),
            household_payments=kzt(household_total),
            medic_payments=kzt(medic_total),
            households=self.households,
            medical_workers=self.medical_workers,
            food_delivered=Quantity(self.food_families, FOOD_PACKAGE),
            food_on_hand=Quantity(self.packages_left(), FOOD_PACKAGE),
            food_on_hand_value=kzt(left_value),
            relief_delivered=Quantity(Decimal(self.relief_tonnes) - self.relief_lost(), RELIEF_GOODS),
            relief_lost=Quantity(self.relief_lost(), RELIEF_GOODS),
            housing_remaining=kzt(HOUSING_COMMITMENT - housing_paid + CLAWBACK),
            usd_received=Money(usd, "USD"),
        )


def kzt(value: Decimal | str | int) -> Money:
    return Money(value, "KZT")


@attrs.frozen(kw_only=True)
class CampaignExpectations:
    """The figures a campaign must leave in the ledger (see :meth:`CampaignPlan.expectations`)."""

    fund_balances: dict[str, Money]
    euro_in_general: Money
    household_payments: Money
    medic_payments: Money
    households: int
    medical_workers: int
    food_delivered: Quantity
    food_on_hand: Quantity
    food_on_hand_value: Money
    relief_delivered: Quantity
    relief_lost: Quantity
    housing_remaining: Money
    usd_received: Money


@attrs.frozen(kw_only=True)
class CampaignResult:
    """What :func:`run_campaign` did.

    Attributes:
        plan: the plan it followed.
        entries: journal entries posted.
        payment_lists: payment lists posted (households, retries and medical workers).
        closed_through: the end of the closed half-year.
    """

    plan: CampaignPlan
    entries: int
    payment_lists: int
    closed_through: pendulum.DateTime


def day(month: int, day_: int, hour: int = 10) -> pendulum.DateTime:
    return pendulum.datetime(2020, month, day_, hour, tz=ZONE)
