"""Money is exact: amounts up to 10^15 minor units survive both databases, and SQL sums equal Python's.

Each hypothesis example posts its amounts into a fund of its own, in a currency
with 0 (JPY), 2 (KZT) or 3 (KWD) decimals, reads every posting back (through
the library and as the stored integer), and compares every sum the databases
make (maintained balances, balances from the postings, balances from the daily
deltas, the trial balance, the audit totals) with the ``Decimal`` sum in Python.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pendulum
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from aidledger import (
    MAX_MINOR,
    Account,
    AccountType,
    Fund,
    InvalidAmount,
    Ledger,
    Money,
    audit_totals,
    currency,
    verify,
)
from aidledger.store import schema as t
from tests.helpers import transfer

#: The largest amount the issue asks for, in minor units.
LARGEST = 10**15
CURRENCIES = ("JPY", "KZT", "KWD")
T0 = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")


class Exact:
    """A ledger with a bank, donations and aid account in each currency, and a new fund per example."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.accounts: dict[str, tuple[Account, Account, Account]] = {}
        for code in CURRENCIES:
            unit = currency(code)
            self.accounts[code] = (
                ledger.add_account(Account(f"Assets:Bank:{code}", AccountType.ASSET, unit)),
                ledger.add_account(Account(f"Revenue:Donations:{code}", AccountType.REVENUE, unit)),
                ledger.add_account(Account(f"Expenses:Aid:{code}", AccountType.EXPENSE, unit)),
            )
        self._numbers = itertools.count(1)

    def new_fund(self) -> Fund:
        return self.ledger.add_fund(Fund(f"F{next(self._numbers)}"))


@pytest.fixture
def exact(ledger: Ledger) -> Exact:
    return Exact(ledger)


def stored(ledger: Ledger, seqs: list[int]) -> list[int]:
    """The stored integers of the first posting line of each entry, read without the library."""
    p = t.postings.c
    with ledger.engine.connect() as connection:
        query = sa.select(p.entry_seq, p.amount).where(p.entry_seq.in_(seqs), p.line == 1)
        rows = {seq: amount for seq, amount in connection.execute(query)}  # noqa: C416 - rows, not pairs
    return [rows[seq] for seq in seqs]


def decimal_of(minor: int, code: str) -> Decimal:
    return Decimal(minor).scaleb(-currency(code).exponent)


amounts = st.lists(st.integers(min_value=1, max_value=LARGEST), min_size=1, max_size=20)


@given(code=st.sampled_from(CURRENCIES), received=amounts, data=st.data())
def test_amounts_round_trip_and_sql_sums_equal_python_sums(
    exact: Exact, code: str, received: list[int], data: st.DataObject
) -> None:
    """Donations and payments up to 10^15 minor units read back equal, and every SQL sum is the Decimal sum."""
    ledger = exact.ledger
    unit = currency(code)
    bank, donations, aid = exact.accounts[code]
    fund = exact.new_fund()
    # Written as text with every decimal, as a user would type it.
    texts = [f"{decimal_of(minor, code):f}" for minor in received]
    donated = ledger.post_many(
        transfer(bank, donations, fund, text, T0.add(minutes=i), kind="donation", tags={"batch": fund.code})
        for i, text in enumerate(texts)
    )
    # Some of the same amounts go out a day later: never more than came in.
    chosen = data.draw(st.lists(st.booleans(), min_size=len(received), max_size=len(received)), label="spent")
    spent = [minor for minor, out in zip(received, chosen, strict=True) if out]
    paid = ledger.post_many(
        transfer(aid, bank, fund, f"{decimal_of(minor, code):f}", T0.add(days=1, minutes=i), kind="payment")
        for i, minor in enumerate(spent)
    )
    # Read back through the library, and as the stored integers.
    for posted, minor in zip(donated, received, strict=True):
        amount = ledger.entry(posted.id).entry.postings[0].amount
        assert amount == Money.from_minor(minor, unit)
        assert amount.minor == minor and amount.value == decimal_of(minor, code)
    assert stored(ledger, [p.seq for p in donated]) == received
    assert stored(ledger, [p.seq for p in paid]) == spent
    # Every way the databases add up equals Python's Decimal sum.
    total_in = sum((decimal_of(m, code) for m in received), Decimal(0))
    total_out = sum((decimal_of(m, code) for m in spent), Decimal(0))
    assert ledger.balance(bank, fund).value == total_in - total_out  # maintained balances
    assert ledger.balance(bank, fund, tags={"batch": fund.code}).value == total_in  # SUM over the postings
    assert ledger.balance(bank, fund, as_of=T0.add(hours=12)).value == total_in  # daily deltas and postings
    assert ledger.balance(aid, fund, as_of=T0.add(days=3)).value == total_out
    assert ledger.fund_balance(fund, unit).value == total_in - total_out
    lines = {line.account.code: line.balance.value for line in ledger.trial_balance().lines if line.fund == fund}
    assert lines.get(donations.code) == -total_in
    assert lines.get(aid.code, Decimal(0)) == total_out
    received_totals = audit_totals(ledger, flow="received", where={"fund": fund.code})
    assert received_totals.totals[code].value == total_in
    assert received_totals.entries == len(received)
    spent_totals = audit_totals(ledger, flow="spent", by=["fund", "month"], where={"fund": fund.code})
    assert sum((row.amount.value for row in spent_totals.rows), Decimal(0)) == total_out


@pytest.mark.parametrize("code", CURRENCIES)
def test_the_largest_amounts_round_trip(ledger: Ledger, code: str) -> None:
    """10^15 and MAX_MINOR minor units post and read back exactly; one minor unit more is refused."""
    unit = currency(code)
    bank = ledger.add_account(Account(f"Assets:Bank:{code}", AccountType.ASSET, unit))
    donations = ledger.add_account(Account(f"Revenue:Donations:{code}", AccountType.REVENUE, unit))
    for number, minor in enumerate((LARGEST, MAX_MINOR - LARGEST)):
        fund = ledger.add_fund(Fund(f"BIG{number}"))
        text = f"{decimal_of(minor, code):f}"
        posted = ledger.post(transfer(bank, donations, fund, text, T0, kind="donation"))
        assert ledger.entry(posted.id).entry.postings[0].amount.minor == minor
        assert stored(ledger, [posted.seq]) == [minor]
        assert ledger.balance(bank, fund).minor == minor
    # MAX_MINOR in one account: the two funds together.
    assert ledger.balance(bank).minor == MAX_MINOR
    assert str(ledger.balance(bank)) == f"{decimal_of(MAX_MINOR, code):f} {code}"
    assert ledger.trial_balance().balanced
    with pytest.raises(InvalidAmount, match="beyond the largest amount"):
        Money.from_minor(MAX_MINOR + 1, unit)
    assert verify(ledger).ok


@given(minor=st.integers(min_value=-LARGEST, max_value=LARGEST), code=st.sampled_from(CURRENCIES))
def test_text_decimal_and_minor_units_agree(minor: int, code: str) -> None:
    """The same amount made from text, from a Decimal and from minor units is one value, printed exactly."""
    unit = currency(code)
    value = decimal_of(minor, code)
    made = {Money(f"{value:f}", unit), Money(value, unit), Money.from_minor(minor, unit)}
    assert len(made) == 1
    (money,) = made
    assert money.minor == minor
    assert str(money) == f"{value:f} {code}"
    assert Decimal(str(money).split()[0]) == value
