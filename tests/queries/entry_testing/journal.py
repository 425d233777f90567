"""A ledger with a settable clock for the journal-entry tests, and short ways to post to it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum

from aidledger import Account, AccountType, Fund, Ledger, Money, Pseudonymizer
from tests.conftest import KZT, Chart
from tests.helpers import transfer

ALMATY = "Asia/Almaty"
START = pendulum.datetime(2020, 4, 1, 10, tz=ALMATY)  # a Wednesday, in working hours
FUNDED_ON = START.subtract(days=30)
KEYS = Pseudonymizer({1: bytes(range(32))})
MEMO = Account("Memo:Commitments:KZT", AccountType.MEMO, KZT)
MEMO_CONTRA = Account("Memo:CommitmentsContra:KZT", AccountType.MEMO, KZT, allow_negative=True)


class Clock:
    """A clock the test sets: the ledger records entries at its time."""

    def __init__(self, start: pendulum.DateTime) -> None:
        self.now = start

    def __call__(self) -> pendulum.DateTime:
        return self.now

    def set(self, when: pendulum.DateTime) -> None:
        self.now = when


class Book:
    """A ledger on one backend, its clock, and short ways to post to it."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.ledger = ledger
        self.clock = clock

    def post(
        self,
        amount: str = "100",
        *,
        on: dt.datetime = START,
        at: pendulum.DateTime | None = None,
        actor: str = "clerk",
        memo: str = "paid from the bank",
        kind: str = "general",
        debit: Account = Chart.cash_aid,
        credit: Account = Chart.bank,
        **extra: Any,
    ) -> Any:
        if at is not None:
            self.clock.set(at)
        checker = extra.pop("approved_by", None)
        entry = transfer(debit, credit, Chart.general, amount, on, kind=kind, actor=actor, memo=memo, **extra)
        if checker is None:
            return self.ledger.post(entry)
        pending = self.ledger.submit([entry], actor=actor)  # a checker's approval is only ever recorded by approve()
        return self.ledger.approve(pending.code, checker=checker).posted[0]

    def fund(
        self,
        amount: str = "100000000",
        *,
        on: dt.datetime = FUNDED_ON,
        at: pendulum.DateTime | None = None,
    ) -> Any:
        return self.post(
            amount,
            on=on,
            at=at,
            kind="donation",
            debit=Chart.bank,
            credit=Chart.donations,
            tags={"donor": "D-0"},
            memo="gift",
        )


def open_book(url: str) -> Book:
    clock = Clock(START)
    ledger = Ledger.open(url, clock=clock)
    for value in (*vars(Chart).values(), MEMO, MEMO_CONTRA):
        if isinstance(value, Account):
            ledger.add_account(value)
        elif isinstance(value, Fund):
            ledger.add_fund(value)
    return Book(ledger, clock)


THRESHOLD = Money("10000000", KZT)
