"""Posting the demo campaign: every aid operation of :class:`CampaignPlan`, in the order a fund would post them.

A restarted campaign skips what is already in the ledger (each step checks
its last entry's idempotency key), so an interrupted run can be finished.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import ROUND_FLOOR, Decimal

import attrs
import pendulum

from aidledger.core.accounts import Restriction
from aidledger.core.amounts import Money, Quantity
from aidledger.core.beneficiaries import Beneficiary, Pseudonymizer
from aidledger.core.errors import InvalidArgument, UnknownEntry
from aidledger.demo.plan import (
    ACTORS,
    APPROVAL_THRESHOLD,
    CASH_DONORS,
    CLAWBACK,
    EUR_GIFT,
    FOOD_PACKAGE,
    HOUSEHOLD_PAYMENT,
    HOUSING_CASH,
    HOUSING_COMMITMENT,
    HOUSING_PLEDGE,
    HOUSING_PLEDGE_PAID,
    HOUSING_PROJECT,
    PACKAGE_PRICE,
    PACKAGE_VALUE,
    REFUND,
    REGIONS,
    RELIEF_GOODS,
    SETTLEMENTS,
    TONNE_VALUE,
    TRANCHES,
    USD_RATE,
    VILLAGE,
    CampaignPlan,
    CampaignResult,
    Progress,
    day,
    kzt,
)
from aidledger.operations.aid import Aid
from aidledger.operations.payments import PaymentLine
from aidledger.operations.stock import Delivery, LossReason, ValuationBasis
from aidledger.vocabulary import PaymentStatus, ProviderLine, Scope, payment_key


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
        aid.create_fund("HOUSING", name="Housing for the flooded village of Dostyk", purpose="housing")
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
            key = payment_key(PaymentStatus.RETURNED.value, "FAMILIES-50K", f"F{back[-1]:07d}")
        else:
            status = PaymentStatus.FAILED if last in failed else PaymentStatus.PAID
            key = payment_key(status.value, "FAMILIES-50K", f"F{last:07d}")
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
        aid.commit_grant(HOUSING_PROJECT, fund="HOUSING", amount=kzt(HOUSING_COMMITMENT), purpose="housing",
                         grantee="Dostyk builders LLP", on=day(7, 20), actor=ACTORS["checker"],
                         description=f"Housing for the residents of {VILLAGE}, after the flood")  # fmt: skip
        # The commitment is also the project's budget line: its tranches disburse against it, the clawback frees it.
        aid.add_budget_line(f"{HOUSING_PROJECT}-HOUSING", project=HOUSING_PROJECT, amount=kzt(HOUSING_COMMITMENT),
                            start=dt.date(2020, 7, 1), end=dt.date(2020, 12, 31), on=day(7, 20),
                            actor=ACTORS["maker"], name=f"Housing for the residents of {VILLAGE}, 2020")  # fmt: skip
        for i, (milestone, amount) in enumerate(TRANCHES):
            when = day(8 + i, 10)
            if i == 2:
                aid.fulfil_pledge("KAZAKHMYS-2020", kzt(HOUSING_PLEDGE_PAID[1]), on=when.subtract(days=3),
                                  actor=cashier, key="campaign:pledge-2")  # fmt: skip
            if amount > APPROVAL_THRESHOLD:
                code = f"{HOUSING_PROJECT}-{milestone}"
                pending = aid.submit_tranche(HOUSING_PROJECT, kzt(amount), milestone=milestone, on=when,
                                             actor=ACTORS["maker"], code=code, key=f"campaign:tranche:{i}")  # fmt: skip
                if pending.status == "pending":
                    aid.approve(code, checker=ACTORS["checker"])
            else:
                aid.disburse(HOUSING_PROJECT, kzt(amount), milestone=milestone, on=when, actor=ACTORS["maker"],
                             key=f"campaign:tranche:{i}")  # fmt: skip
        aid.claw_back(HOUSING_PROJECT, kzt(CLAWBACK), reason="four houses finished under budget", on=day(12, 15),
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
        if twice is None:
            raise UnknownEntry(
                "the May donation recorded twice is not in the ledger: it is not this campaign's",
                key="campaign:may-donation-again",
            )
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
