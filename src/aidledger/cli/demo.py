"""A small demonstration ledger: a fund takes donations and pays households once each.

Every entry has an idempotency key and every payment a once-only claim, so
running the demo twice on the same database posts nothing new.
"""

from __future__ import annotations

import pendulum

from aidledger.core.accounts import Account, AccountType, Fund
from aidledger.core.amounts import Money, currency
from aidledger.core.entries import Claim, JournalEntry, Posting
from aidledger.ledger.ledger import Ledger

KZT = currency("KZT")
BANK = Account("Assets:Bank:KZT", AccountType.ASSET, KZT, name="Fund bank account")
DONATIONS = Account("Revenue:Donations", AccountType.REVENUE, KZT, name="Donations received")
CASH_AID = Account("Expenses:CashAid", AccountType.EXPENSE, KZT, name="One-off cash aid")
FUND = Fund("CASH-AID", name="One-off cash aid to families", purpose="cash-aid")
START = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")
HOUSEHOLDS = 20
PAYMENT = Money("50000", KZT)


def run(ledger: Ledger) -> str:
    """Post the demo's entries (again, harmlessly) and say what the ledger holds."""
    for account in (BANK, DONATIONS, CASH_AID):
        ledger.add_account(account)
    ledger.add_fund(FUND)
    gifts = [("donor-001", "600000"), ("donor-002", "400000.50"), ("donor-003", "25000")]
    ledger.post_many(
        JournalEntry(
            kind="donation",
            effective_at=START.add(hours=number),
            postings=[
                Posting.debit(BANK, FUND, Money(amount, KZT)),
                Posting.credit(DONATIONS, FUND, Money(amount, KZT)),
            ],
            actor="demo",
            memo=f"donation from {donor}",
            idempotency_key=f"demo-donation-{donor}",
            tags={"donor": donor},
        )
        for number, (donor, amount) in enumerate(gifts)
    )
    ledger.post_many(
        JournalEntry(
            kind="payment",
            effective_at=START.add(days=1, minutes=number),
            postings=[Posting.debit(CASH_AID, FUND, PAYMENT), Posting.credit(BANK, FUND, PAYMENT)],
            actor="demo",
            memo="one-off aid, 50,000 KZT per family",
            idempotency_key=f"demo-payment-hh-{number:04d}",
            tags={"region": "Abai" if number % 2 else "Zhetysu"},
            claims=[Claim("demo-programme", f"hh-{number:04d}")],
        )
        for number in range(HOUSEHOLDS)
    )
    return f"{HOUSEHOLDS} households paid {PAYMENT} each from donations of {-ledger.balance(DONATIONS, FUND)}"
