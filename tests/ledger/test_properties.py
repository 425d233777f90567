"""Property-based tests: valid batches keep every balance at zero; invalid input changes nothing."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import (
    Account,
    AccountType,
    AidLedgerError,
    Fund,
    InsufficientBalance,
    InvalidAmount,
    InvalidTime,
    JournalEntry,
    Ledger,
    Money,
    PeriodClosed,
    Posting,
    UnbalancedEntry,
    UnitMismatch,
    currency,
    verify,
)
from aidledger.core import hashing
from aidledger.ledger import posting
from tests.conftest import new_url
from tests.helpers import snapshot

KZT = currency("KZT")
USD = currency("USD")
# The balance invariants have their own tests; here every fund and account may go negative.
FUNDS = [Fund("F1", allow_negative=True), Fund("F2", allow_negative=True), Fund("F3", allow_negative=True)]
ACCOUNTS = [
    Account("Assets:Cash", AccountType.ASSET, KZT, allow_negative=True),
    Account("Assets:Bank", AccountType.ASSET, KZT, allow_negative=True),
    Account("Assets:USD", AccountType.ASSET, USD, allow_negative=True),
    Account("Revenue:Gifts", AccountType.REVENUE, KZT, allow_negative=True),
    Account("Revenue:GiftsUSD", AccountType.REVENUE, USD, allow_negative=True),
    Account("Expenses:Aid", AccountType.EXPENSE, KZT, allow_negative=True),
]
START = pendulum.datetime(2020, 1, 1, tz="Asia/Almaty")
ZONES = ["Asia/Almaty", "UTC", "Asia/Aqtobe", "America/New_York"]

minor_amounts = st.integers(min_value=1, max_value=10**15)


@st.composite
def balanced_entry(draw: st.DrawFn) -> JournalEntry:
    """An entry of 1-3 balanced pairs, each in a random fund and unit, at a random aware time."""
    postings = []
    for _ in range(draw(st.integers(1, 3))):
        fund = draw(st.sampled_from(FUNDS))
        unit = draw(st.sampled_from([KZT, USD]))
        candidates = [a for a in ACCOUNTS if a.unit == unit]
        debit, credit = draw(st.lists(st.sampled_from(candidates), min_size=2, max_size=2, unique=True))
        amount = Money(Decimal(draw(minor_amounts)).scaleb(-2), unit)
        postings += [Posting.debit(debit, fund, amount), Posting.credit(credit, fund, amount)]
    when = START.add(minutes=draw(st.integers(0, 60 * 24 * 400))).in_timezone(draw(st.sampled_from(ZONES)))
    return JournalEntry("general", when, postings, actor=draw(st.sampled_from(["alice", "bob"])))


def open_ledger(url: str) -> Ledger:
    ledger = Ledger.open(url)
    for fund in FUNDS:
        ledger.add_fund(fund)
    for account in ACCOUNTS:
        ledger.add_account(account)
    return ledger


@pytest.fixture
def fresh(backend: str, tmp_path: Path, pg_database: str | None):  # type: ignore[no-untyped-def]
    """A factory of empty ledgers with the property tests' chart (one per example)."""
    opened: list[Ledger] = []

    def make() -> Ledger:
        ledger = open_ledger(new_url(backend, tmp_path, pg_database))
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@given(batches=st.lists(st.lists(balanced_entry(), min_size=1, max_size=5), min_size=1, max_size=4))
def test_valid_batches_keep_every_total_at_zero(fresh, batches: list[list[JournalEntry]]) -> None:  # type: ignore[no-untyped-def]
    """After any batches of balanced entries, totals are zero per unit and fund, and as of any time."""
    ledger = fresh()
    for batch in batches:
        ledger.post_many(batch)
    trial = ledger.trial_balance()
    assert trial.balanced
    # The maintained balances equal sums over the raw postings, as of every entry's time.
    everything = [e for batch in batches for e in batch]
    for entry in everything[:5]:
        expected: dict[str, int] = {}
        for other in everything:
            if other.effective_at <= entry.effective_at:
                for p in other.postings:
                    if p.account.code == "Assets:Cash":
                        expected[p.fund.code] = expected.get(p.fund.code, 0) + p.minor
        as_of = ledger.trial_balance(as_of=entry.effective_at)
        assert as_of.balanced
        for fund in FUNDS:
            assert ledger.balance(ACCOUNTS[0], fund, as_of=entry.effective_at).minor == expected.get(fund.code, 0)
    assert verify(ledger).ok


def bad_inputs() -> st.SearchStrategy[object]:
    return st.sampled_from(["float", "nan", "inf", "unbalanced", "wrong-unit", "naive", "closed", "overdraft", "fine"])


def build_bad(kind: str, when: dt.datetime) -> JournalEntry:
    cash, gifts = ACCOUNTS[0], ACCOUNTS[3]
    fund = FUNDS[0]
    good = Money("10", KZT)
    if kind == "float":
        return JournalEntry(
            "general", when, [Posting.debit(cash, fund, Money(10.0, KZT)), Posting.credit(gifts, fund, good)], actor="x"
        )
    if kind == "nan":
        return JournalEntry(
            "general",
            when,
            [Posting.debit(cash, fund, Money("NaN", KZT)), Posting.credit(gifts, fund, good)],
            actor="x",
        )
    if kind == "inf":
        return JournalEntry(
            "general",
            when,
            [Posting.debit(cash, fund, Money(Decimal("Infinity"), KZT)), Posting.credit(gifts, fund, good)],
            actor="x",
        )
    if kind == "fine":
        return JournalEntry(
            "general",
            when,
            [Posting.debit(cash, fund, Money("10.001", KZT)), Posting.credit(gifts, fund, good)],
            actor="x",
        )
    if kind == "unbalanced":
        return JournalEntry(
            "general",
            when,
            [Posting.debit(cash, fund, Money("10.01", KZT)), Posting.credit(gifts, fund, good)],
            actor="x",
        )
    if kind == "wrong-unit":
        return JournalEntry(
            "general", when, [Posting.debit(cash, fund, Money("10", USD)), Posting.credit(gifts, fund, good)], actor="x"
        )
    if kind == "naive":
        return JournalEntry(
            "general",
            dt.datetime(2020, 1, 1),
            [Posting.debit(cash, fund, good), Posting.credit(gifts, fund, good)],
            actor="x",
        )
    if kind == "closed":
        return JournalEntry(
            "general",
            START.subtract(days=1),
            [Posting.debit(cash, fund, good), Posting.credit(gifts, fund, good)],
            actor="x",
        )
    assert kind == "overdraft"
    bank = Account("Assets:Strict", AccountType.ASSET, KZT)
    return JournalEntry(
        "general", when, [Posting.debit(gifts, fund, good), Posting.credit(bank, fund, good)], actor="x"
    )


EXPECTED = {
    "float": InvalidAmount,
    "nan": InvalidAmount,
    "inf": InvalidAmount,
    "fine": InvalidAmount,
    "unbalanced": UnbalancedEntry,
    "wrong-unit": UnitMismatch,
    "naive": InvalidTime,
    "closed": PeriodClosed,
    "overdraft": InsufficientBalance,
}


@given(valid=st.lists(balanced_entry(), min_size=0, max_size=3), bad=bad_inputs(), position=st.integers(0, 3))
def test_bad_input_raises_its_typed_error_and_changes_nothing(
    fresh, valid: list[JournalEntry], bad: str, position: int
) -> None:  # type: ignore[no-untyped-def]
    """Floats, NaN, unbalanced, wrong-unit, naive, closed-period and overdrawing input: typed error, nothing written."""
    ledger = fresh()
    ledger.add_account(Account("Assets:Strict", AccountType.ASSET, KZT))
    ledger.close_period(START.subtract(hours=1), actor="closer")
    if valid:
        ledger.post_many(valid)
    before = snapshot(ledger)
    with pytest.raises(EXPECTED[bad]) as raised:
        batch = list(valid)
        batch.insert(min(position, len(batch)), build_bad(bad, START.add(days=500)))
        ledger.post_many(batch)
    assert isinstance(raised.value, AidLedgerError)
    assert str(raised.value)
    assert snapshot(ledger) == before


#: Text with whatever JSON must escape (quotes, backslashes, control characters) and characters beyond ASCII.
any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@functools.cache
def chart_ledger() -> Ledger:
    """One in-memory ledger with the property tests' chart, for the tests that only prepare entries."""
    return open_ledger("sqlite://")


@given(
    entry=balanced_entry(),
    actor=any_text.filter(str.strip),
    memo=any_text,
    source=st.none() | any_text.filter(str.strip),
    tags=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), any_text, max_size=3),
)
def test_the_fingerprint_a_post_writes_is_the_plain_paths(
    entry: JournalEntry, actor: str, memo: str, source: str | None, tags: dict[str, str]
) -> None:
    """A post fingerprints its text written without json.dumps; it is json.dumps's text of the canonical fields."""
    entry = attrs.evolve(entry, actor=actor, memo=memo, source=source, tags=tags)
    charts = chart_ledger()._charts
    prepared = posting.prepare(entry, charts)
    referenced = {
        key: None
        for p in entry.postings
        for key in (("account", p.account.code), ("fund", p.fund.code), ("unit", p.amount.unit.code))
    }
    plain = hashing.fingerprint(prepared.fields(), chart=charts.current.text(referenced))
    assert prepared.fingerprint == plain
