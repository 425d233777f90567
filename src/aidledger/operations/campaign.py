"""The motivating campaign of DESIGN.md, at any scale: every aid operation, in the order a fund would post them.

A year (2020) of a public fund: donations in tenge, dollars and euros, pledges
fulfilled and written off, a refund; 50,000 KZT to each of 360,000 families
through a payment provider, with failed and returned payments paid again;
per-person payments to 2,100 medical workers in two cities, approved by a
second person; 240,000 food packages, donated and bought, delivered to
households; 1,000 tonnes of donated relief goods shipped to flooded
settlements; a 340,000,000 KZT housing commitment paid in tranches with a
clawback; a half-year close and a correction after it.

Counts scale with :meth:`CampaignPlan.scaled`; the housing grant does not.
Every figure the campaign should produce is computed here from the plan alone
(:class:`CampaignExpectations`), so a test can compare it with what the
ledger reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import ROUND_FLOOR, Decimal

import attrs
import pendulum

from aidledger.core.accounts import Restriction
from aidledger.core.amounts import Money, Quantity, commodity
from aidledger.core.beneficiaries import Beneficiary, Pseudonymizer
from aidledger.core.errors import InvalidArgument
from aidledger.operations.aid import Aid
from aidledger.operations.payments import PaymentLine, PaymentStatus, ProviderLine, Scope
from aidledger.operations.stock import Delivery, LossReason, ValuationBasis

ZONE = "Asia/Almaty"
FOOD_PACKAGE = commodity("FOOD-PACKAGE", "package")
RELIEF_GOODS = commodity("RELIEF-GOODS", "t", exponent=3)
REGIONS = (
    "Akmola", "Aktobe", "Almaty region", "Atyrau", "East Kazakhstan", "Zhambyl", "West Kazakhstan",
    "Karaganda", "Kostanay", "Kyzylorda", "Mangystau", "Pavlodar", "North Kazakhstan", "Turkistan",
    "Almaty", "Nur-Sultan", "Shymkent",
)  # fmt: skip
SETTLEMENTS = ("Myrzakent", "Kokterek", "Zhana-Zhol", "Aksu", "Kyzyl-Kum")
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


@attrs.frozen
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
        factor = Decimal(scale) if isinstance(scale, str | int) else scale
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


@attrs.frozen
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


@attrs.frozen
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


def _spread(start: pendulum.DateTime, end: pendulum.DateTime, index: int, count: int) -> pendulum.DateTime:
    """The ``index``-th of ``count`` times spread evenly from ``start`` to ``end``."""
    span = (end - start).total_seconds()
    return start.add(seconds=int(span * index / max(1, count)))


def _chunks(numbers: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(numbers), size):
        yield numbers[start : start + size]


class _Campaign:
    def __init__(self, aid: Aid, plan: CampaignPlan, keys: Pseudonymizer, progress: Progress | None) -> None:
        self.aid, self.plan, self.keys = aid, plan, keys
        self.progress = progress or (lambda stage, done, total: None)
        self.lists = 0

    def household(self, n: int) -> Beneficiary:
        return self.keys.pseudonym(f"KZ-HH-{n:07d}")

    # -- funds and money in ------------------------------------------------------------------

    def setup(self) -> None:
        aid = self.aid
        # The plan is recorded, so finishing a campaign with another plan is refused up front.
        aid.ledger.put_record("campaign", "2020", attrs.asdict(self.plan), actor="campaign")
        aid.create_fund("GENERAL", name="Unrestricted")
        aid.create_fund("CASH-AID", name="One-off aid to families", purpose="cash-aid")
        aid.create_fund("MEDICS", name="Medical workers", purpose="medical-workers")
        aid.create_fund("FOOD", name="Food packages", purpose="food")
        aid.create_fund("FLOOD", name="Relief goods for flooded settlements", purpose="flood-relief")
        aid.create_fund("HOUSING", name="Housing for the flooded village", purpose="housing")
        aid.create_fund("RESERVE", name="Board reserve", purpose="emergencies", restriction=Restriction.BOARD)

    def donations(self) -> None:
        aid, plan, cashier = self.aid, self.plan, ACTORS["cashier"]
        expected = plan.expectations()
        usd = expected.usd_received.value
        aid.donate_foreign(
            "CASH-AID", Money(usd, "USD"), rate=USD_RATE, rate_date=dt.date(2020, 3, 31), donor="Diaspora fund",
            on=day(4, 1, 9), actor=cashier, source="SWIFT 2020-0401", key="campaign:usd",
        )  # fmt: skip
        local = HOUSEHOLD_PAYMENT * plan.households + Decimal("5000000") - (usd * USD_RATE).quantize(Decimal("0.01"))
        share = (local / len(CASH_DONORS)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        for i, donor in enumerate(CASH_DONORS):
            amount = share if i else local - share * (len(CASH_DONORS) - 1)
            aid.donate("CASH-AID", kzt(amount), donor=donor, on=day(4, 1, 10 + i), actor=cashier,
                       source=f"bank statement 2020-04-01 line {i + 1}", key=f"campaign:cash:{i}")  # fmt: skip
        medic_total = expected.medic_payments.value
        aid.donate("MEDICS", kzt(medic_total + Decimal("1000000")), donor="Halyk Bank", on=day(4, 20),
                   actor=cashier, key="campaign:medics")  # fmt: skip
        aid.donate("FOOD", kzt(PACKAGE_PRICE * plan.packages_bought()), donor="Magnum", on=day(4, 2),
                   actor=cashier, key="campaign:food-cash")  # fmt: skip
        aid.donate("GENERAL", kzt("20000000"), donor="Private donors", on=day(4, 3), actor=cashier,
                   key="campaign:general")  # fmt: skip
        aid.donate_foreign("GENERAL", Money(EUR_GIFT, "EUR"), rate="460.10", rate_date=dt.date(2020, 4, 2),
                           converted=False, donor="EU citizens", on=day(4, 3, 12), actor=cashier,
                           key="campaign:eur")  # fmt: skip
        # A donation recorded twice in May, reversed after the half-year close.
        aid.donate("GENERAL", kzt("750000"), donor="Private donors", on=day(5, 14), actor=cashier,
                   source="bank statement 2020-05-14 line 3", key="campaign:may-donation")  # fmt: skip
        aid.donate("GENERAL", kzt("750000"), donor="Private donors", on=day(5, 14), actor=cashier,
                   source="bank statement 2020-05-14 line 3", key="campaign:may-donation-again")  # fmt: skip
        aid.refund("GENERAL", kzt(REFUND), donor="Private donors", on=day(5, 20), actor=cashier,
                   reason="the donor's company paid twice", key="campaign:refund")  # fmt: skip
        self.progress("donations", 1, 1)

    # -- one-off payments to families ----------------------------------------------------------------

    def households(self) -> None:
        aid, plan = self.aid, self.plan
        aid.create_programme("FAMILIES-50K", fund="CASH-AID", purpose="cash-aid", amount=kzt(HOUSEHOLD_PAYMENT),
                             actor=ACTORS["maker"], name="50,000 KZT once per family",
                             key_version=self.keys.current)  # fmt: skip
        failed, returned = set(plan.failed()), set(plan.returned())
        numbers = list(range(plan.households))
        count = (len(numbers) + plan.list_size - 1) // plan.list_size
        for index, chunk in enumerate(_chunks(numbers, plan.list_size)):
            when = _spread(day(4, 6), day(6, 20), index, count)
            code = f"FAM-{index + 1:05d}"
            if self._list_done(chunk, failed, returned):
                continue  # a restart: this list was paid, sent and settled before
            lines = [PaymentLine(self.household(n), f"F{n:07d}", region=REGIONS[n % len(REGIONS)]) for n in chunk]
            aid.pay("FAMILIES-50K", lines, actor=ACTORS["maker"], on=when, list_code=code)
            aid.send(code, provider="Kazpost", actor=ACTORS["cashier"], on=when.add(hours=2))
            report = [
                ProviderLine(
                    line.reference,
                    PaymentStatus.FAILED if n in failed else PaymentStatus.PAID,
                    kzt(HOUSEHOLD_PAYMENT),
                    line=i + 2,
                )
                for i, (n, line) in enumerate(zip(chunk, lines, strict=True))
            ]
            aid.settle(code, report, actor=ACTORS["cashier"], on=when.add(days=2))
            back = [
                ProviderLine(f"F{n:07d}", PaymentStatus.RETURNED, kzt(HOUSEHOLD_PAYMENT), line=j + 2)
                for j, n in enumerate(n for n in chunk if n in returned)
            ]
            if back:
                aid.settle(code, back, actor=ACTORS["cashier"], on=when.add(days=5))
            self.lists += 1
            self.progress("families", min(len(numbers), (index + 1) * plan.list_size), len(numbers))
        # Failed and returned families are paid again, once, in a last list.
        again = sorted(failed | returned)
        if again:
            code = "FAM-RETRY"
            lines = [PaymentLine(self.household(n), f"F{n:07d}-2", region=REGIONS[n % len(REGIONS)]) for n in again]
            aid.pay("FAMILIES-50K", lines, actor=ACTORS["maker"], on=day(6, 25), list_code=code)
            aid.send(code, provider="Kazpost", actor=ACTORS["cashier"], on=day(6, 25, 14))
            report = [ProviderLine(line.reference, PaymentStatus.PAID, kzt(HOUSEHOLD_PAYMENT)) for line in lines]
            aid.settle(code, report, actor=ACTORS["cashier"], on=day(6, 27))
            self.lists += 1

    def _list_done(self, chunk: Sequence[int], failed: set[int], returned: set[int]) -> bool:
        """Whether the last step of a household list (its last settlement) is in the ledger."""
        back = [n for n in chunk if n in returned]
        last = chunk[-1]
        if back:
            key = f"returned:FAMILIES-50K:F{back[-1]:07d}"
        else:
            key = f"{'failed' if last in failed else 'paid'}:FAMILIES-50K:F{last:07d}"
        return self.aid.ledger.entry_by_key(key) is not None

    def medics(self) -> None:
        aid, plan = self.aid, self.plan
        aid.create_programme("MEDICS-2020", fund="MEDICS", purpose="medical-workers", max_amount=kzt("850000"),
                             scope=Scope.INDIVIDUAL, actor=ACTORS["maker"], key_version=self.keys.current,
                             name="One-off payment to medical workers in Almaty and Nur-Sultan")  # fmt: skip
        lines = [
            PaymentLine(
                self.keys.pseudonym(f"KZ-MED-{n:05d}"),
                f"M{n:05d}",
                amount=kzt(plan.medic_amount(n)),
                region="Almaty" if n % 2 else "Nur-Sultan",
            )
            for n in range(plan.medical_workers)
        ]
        total = sum((line.amount.value for line in lines if line.amount is not None), Decimal(0))
        if total > APPROVAL_THRESHOLD:
            pending = aid.submit_payments("MEDICS-2020", lines, actor=ACTORS["maker"], on=day(5, 8), list_code="MED-1")
            if pending.status == "pending":
                aid.approve_payments("MED-1", checker=ACTORS["checker"])
        else:
            aid.pay("MEDICS-2020", lines, actor=ACTORS["maker"], on=day(5, 8), list_code="MED-1")
        aid.send("MED-1", provider="Halyk Bank payroll", actor=ACTORS["cashier"], on=day(5, 9))
        report = [ProviderLine(line.reference, PaymentStatus.PAID, line.amount or kzt(0)) for line in lines]
        aid.settle("MED-1", report, actor=ACTORS["cashier"], on=day(5, 11))
        self.lists += 1
        self.progress("medical workers", plan.medical_workers, plan.medical_workers)

    # -- goods ------------------------------------------------------------------------------------

    def food(self) -> None:
        aid, plan, store = self.aid, self.plan, ACTORS["store"]
        aid.receive_goods("FOOD", Quantity(plan.packages_donated(), FOOD_PACKAGE),
                          value=kzt(PACKAGE_VALUE * plan.packages_donated()), basis=ValuationBasis.MARKET_PRICE,
                          donor="Magnum", on=day(4, 3), actor=store, source="waybill 2020-117",
                          key="campaign:packages-donated")  # fmt: skip
        aid.receive_goods("FOOD", Quantity(plan.packages_bought(), FOOD_PACKAGE),
                          value=kzt(PACKAGE_PRICE * plan.packages_bought()), basis=ValuationBasis.PURCHASE_COST,
                          on=day(4, 4), actor=store, source="invoice 2020-88",
                          key="campaign:packages-bought")  # fmt: skip
        aid.write_off("FOOD", Quantity(plan.packages_lost(), FOOD_PACKAGE), reason=LossReason.SPOILAGE,
                      on=day(4, 5), actor=store, memo="water damage in the warehouse",
                      key="campaign:packages-lost")  # fmt: skip
        numbers = list(range(plan.food_families))
        count = (len(numbers) + plan.list_size - 1) // plan.list_size
        for index, chunk in enumerate(_chunks(numbers, plan.list_size)):
            when = _spread(day(4, 10), day(6, 25), index, count)
            if self.aid.ledger.entry_by_key(f"campaign:food:{chunk[-1]}") is not None:
                continue  # a restart: this batch was delivered before
            batch = [
                Delivery(
                    Quantity(1, FOOD_PACKAGE),
                    to=self.household(n),
                    region=REGIONS[n % len(REGIONS)],
                    key=f"campaign:food:{n}",
                )
                for n in chunk
            ]
            aid.deliver_many("FOOD", batch, purpose="food", programme="food-2020", on=when, actor=store)
            self.progress("food deliveries", min(len(numbers), (index + 1) * plan.list_size), len(numbers))

    def relief(self) -> None:
        aid, plan, store = self.aid, self.plan, ACTORS["store"]
        tonnes = Decimal(plan.relief_tonnes)
        parts = 4
        for i in range(parts):
            share = (tonnes / parts).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)
            amount = share if i < parts - 1 else tonnes - share * (parts - 1)
            aid.receive_goods("FLOOD", Quantity(amount, RELIEF_GOODS), value=kzt(TONNE_VALUE * amount),
                              basis=ValuationBasis.APPRAISAL, donor=f"Relief donor {i + 1}", on=day(5, 2 + i),
                              actor=store, key=f"campaign:relief-in:{i}")  # fmt: skip
        lost = plan.relief_lost()
        shipments = max(1, plan.relief_tonnes // 20)
        load = (tonnes / shipments).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)
        for i in range(shipments):
            amount = load if i < shipments - 1 else tonnes - load * (shipments - 1)
            settlement = SETTLEMENTS[i % len(SETTLEMENTS)]
            when = _spread(day(5, 10), day(6, 20), i, shipments)
            aid.dispatch("FLOOD", Quantity(amount, RELIEF_GOODS), to=settlement, on=when, actor=store,
                         key=f"campaign:relief-out:{i}")  # fmt: skip
            if i == 0 and lost > 0:
                aid.write_off("FLOOD", Quantity(lost, RELIEF_GOODS), reason=LossReason.DAMAGE, from_transit=True,
                              on=when.add(hours=6), actor=store, memo="truck overturned",
                              key="campaign:relief-lost")  # fmt: skip
                amount -= lost
            if amount > 0:
                aid.deliver("FLOOD", Quantity(amount, RELIEF_GOODS), purpose="flood-relief", settlement=settlement,
                            from_transit=True, region="Turkistan", on=when.add(days=1), actor=store,
                            key=f"campaign:relief-delivered:{i}")  # fmt: skip
        self.progress("relief goods", plan.relief_tonnes, plan.relief_tonnes)

    # -- housing, close, year end ---------------------------------------------------------------------

    def housing(self) -> None:
        aid, cashier = self.aid, ACTORS["cashier"]
        aid.pledge("HOUSING", kzt(HOUSING_PLEDGE), code="KAZAKHMYS-2020", donor="Kazakhmys", on=day(7, 1),
                   actor=cashier, due=dt.date(2020, 12, 31))  # fmt: skip
        aid.donate("HOUSING", kzt(HOUSING_CASH), donor="Samruk-Kazyna", on=day(7, 2), actor=cashier,
                   key="campaign:housing-cash")  # fmt: skip
        aid.fulfil_pledge("KAZAKHMYS-2020", kzt(HOUSING_PLEDGE_PAID[0]), on=day(7, 15), actor=cashier,
                          key="campaign:pledge-1")  # fmt: skip
        aid.commit_grant("KOKTEREK", fund="HOUSING", amount=kzt(HOUSING_COMMITMENT), purpose="housing",
                         grantee="Kokterek builders LLP", description="Rebuild 120 houses in Kokterek after the flood",
                         on=day(7, 20), actor=ACTORS["checker"])  # fmt: skip
        for i, (milestone, amount) in enumerate(TRANCHES):
            when = day(8 + i, 10)
            if i == 2:
                aid.fulfil_pledge("KAZAKHMYS-2020", kzt(HOUSING_PLEDGE_PAID[1]), on=when.subtract(days=3),
                                  actor=cashier, key="campaign:pledge-2")  # fmt: skip
            if amount > APPROVAL_THRESHOLD:
                code = f"KOKTEREK-{milestone}"
                pending = aid.submit_tranche("KOKTEREK", kzt(amount), milestone=milestone, on=when,
                                             actor=ACTORS["maker"], code=code, key=f"campaign:tranche:{i}")  # fmt: skip
                if pending.status == "pending":
                    aid.approve(code, checker=ACTORS["checker"])
            else:
                aid.disburse("KOKTEREK", kzt(amount), milestone=milestone, on=when, actor=ACTORS["maker"],
                             key=f"campaign:tranche:{i}")  # fmt: skip
        aid.claw_back("KOKTEREK", kzt(CLAWBACK), reason="four houses finished under budget", on=day(12, 15),
                      actor=ACTORS["checker"], key="campaign:clawback")  # fmt: skip
        if aid.ledger.entry_by_key("campaign:pledge-write-off") is None:
            aid.write_off_pledge("KAZAKHMYS-2020", on=day(12, 30), actor=ACTORS["checker"],
                                 reason="the donor cannot pay the rest", key="campaign:pledge-write-off")  # fmt: skip
        self.progress("housing", 1, 1)

    def close_and_correct(self) -> pendulum.DateTime:
        end = day(6, 30).end_of("day")
        closed = self.aid.ledger.closed_through()
        if closed is None or closed < end:
            closed = self.aid.close_period(end, actor="chief-accountant")
        twice = self.aid.ledger.entry_by_key("campaign:may-donation-again")
        assert twice is not None
        self.aid.correct(twice.id, actor="chief-accountant", on=day(7, 3), key="campaign:correction",
                         reason="bank statement line 3 was recorded twice")  # fmt: skip
        return closed

    def year_end(self) -> None:
        aid = self.aid
        aid.release("CASH-AID", kzt("5000000"), to="GENERAL", on=day(12, 28), actor=ACTORS["checker"],
                    reason="programme complete; donors agreed to release the rest", key="campaign:release")  # fmt: skip
        aid.designate("GENERAL", kzt("10000000"), to="RESERVE", on=day(12, 29), actor=ACTORS["checker"],
                      reason="board reserve for next year's floods", key="campaign:designation")  # fmt: skip


def run_campaign(
    aid: Aid, plan: CampaignPlan | None = None, *, keys: Pseudonymizer, progress: Progress | None = None
) -> CampaignResult:
    """Post the whole campaign of ``plan`` (the full motivating case by default) through ``aid``.

    ``aid`` must be on an empty ledger with ``approval_threshold`` at 100,000,000
    KZT or none; ``keys`` turns registry ids (``KZ-HH-0000001``) into pseudonyms.
    ``progress(stage, done, total)`` is called as the work goes.
    """
    if not isinstance(aid, Aid):
        raise InvalidArgument(f"expected an Aid, got {aid!r}")
    if not isinstance(keys, Pseudonymizer):
        raise InvalidArgument(f"keys must be a Pseudonymizer, got {keys!r}")
    plan = plan or CampaignPlan()
    if not isinstance(plan, CampaignPlan):
        raise InvalidArgument(f"plan must be a CampaignPlan, got {plan!r}")
    campaign = _Campaign(aid, plan, keys, progress)
    campaign.setup()
    if aid.ledger.entry_by_key("campaign:designation") is not None:  # the last step: all is done
        return CampaignResult(
            plan=plan, entries=aid.ledger.head().seq, payment_lists=len(aid.ledger.records("payment-list")),
            closed_through=aid.ledger.closed_through() or day(6, 30).end_of("day"),
        )  # fmt: skip
    campaign.donations()
    campaign.food()
    campaign.households()
    campaign.medics()
    campaign.relief()
    closed = campaign.close_and_correct()
    campaign.housing()
    campaign.year_end()
    return CampaignResult(plan=plan, entries=aid.ledger.head().seq, payment_lists=campaign.lists, closed_through=closed)
