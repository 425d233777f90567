"""A small ledger with every kind of aid operation, for the auditor's queries and the exports."""

from __future__ import annotations

import pendulum

from aidledger import Aid, PaymentLine, PaymentStatus, ProviderLine, Quantity, ValuationBasis, commodity
from tests.operations.conftest import APRIL, KEYS, kzt

PACKAGE = commodity("FOOD-PACKAGE", "package")
MAY = APRIL.add(months=1)


def household(n: int, region: str) -> PaymentLine:
    return PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"R-{n}", region=region)


def build_books(aid: Aid) -> Aid:
    """April: donations, a list of three (paid, failed, paid then returned); May: the failed one paid again,
    a housing tranche, food delivered; all in the Asia/Almaty time zone."""
    aid.donate("CASH-AID", kzt("9000000"), donor="D-1", on=APRIL, actor="cashier", region="Abai")
    aid.donate("CASH-AID", kzt("1000000"), donor="D-2", on=MAY, actor="cashier")
    aid.donate("HOUSING", kzt("20000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
    aid.pay(
        "ONE-OFF",
        [household(1, "Abai"), household(2, "Abai"), household(3, "Zhetisu")],
        actor="maker",
        on=APRIL.add(days=1),
        list_code="L1",
    )
    aid.send("L1", provider="Kazpost", actor="treasurer", on=APRIL.add(days=1))
    report = [
        ProviderLine("R-1", PaymentStatus.PAID, kzt("50000")),
        ProviderLine("R-2", PaymentStatus.FAILED, kzt("50000")),
        ProviderLine("R-3", PaymentStatus.PAID, kzt("50000")),
    ]
    aid.settle("L1", report, actor="treasurer", on=APRIL.add(days=3))
    aid.settle("L1", [ProviderLine("R-3", PaymentStatus.RETURNED, kzt("50000"))], actor="treasurer", on=MAY)
    aid.pay(
        "ONE-OFF", [PaymentLine(KEYS.pseudonym("hh-2"), "R-2b", region="Abai")], actor="maker", on=MAY, list_code="L2"
    )
    aid.send("L2", provider="Kazpost", actor="treasurer", on=MAY)
    aid.settle("L2", [ProviderLine("R-2b", PaymentStatus.PAID, kzt("50000"))], actor="treasurer", on=MAY.add(days=1))
    aid.commit_grant(
        "DOSTYK", fund="HOUSING", amount=kzt("15000000"), purpose="housing", grantee="Akimat", on=APRIL, actor="d"
    )
    aid.disburse("DOSTYK", kzt("6000000"), milestone="foundations", on=MAY, actor="treasurer")
    aid.receive_goods(
        "FOOD",
        Quantity("100", PACKAGE),
        value=kzt("1500000"),
        basis=ValuationBasis.MARKET_PRICE,
        donor="Magnum",
        on=APRIL,
        actor="storekeeper",
    )
    aid.deliver(
        "FOOD",
        Quantity("2", PACKAGE),
        purpose="food",
        to=KEYS.pseudonym("hh-1"),
        region="Abai",
        programme="FOOD-2020",
        on=MAY,
        actor="volunteer",
    )
    return aid


def almaty(year: int, month: int, day: int, hour: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(year, month, day, hour, tz="Asia/Almaty")
