"""Journal entries checked from their values alone."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from aidledger import (
    Account,
    AccountType,
    Claim,
    Fund,
    InvalidAmount,
    InvalidArgument,
    InvalidTime,
    JournalEntry,
    Money,
    Posting,
    UnbalancedEntry,
    UnitMismatch,
    currency,
)

KZT = currency("KZT")
USD = currency("USD")
BANK = Account("Assets:Bank", AccountType.ASSET, KZT)
BANK_USD = Account("Assets:BankUSD", AccountType.ASSET, USD)
INCOME = Account("Revenue:Donations", AccountType.REVENUE, KZT)
INCOME_USD = Account("Revenue:DonationsUSD", AccountType.REVENUE, USD)
A = Fund("A")
B = Fund("B")
WHEN = pendulum.datetime(2020, 4, 1, tz="Asia/Almaty")


def entry(*postings: Posting, when: dt.datetime = WHEN, **kwargs: object) -> JournalEntry:
    return JournalEntry("general", when, postings, actor="tester", **kwargs)  # type: ignore[arg-type]


class TestBalance:
    def test_balanced_entry_is_accepted(self) -> None:
        """Debits equal credits in one fund and unit."""
        e = entry(Posting.debit(BANK, A, Money("10", KZT)), Posting.credit(INCOME, A, Money("10", KZT)))
        assert len(e.postings) == 2

    def test_one_tiyn_off_is_refused(self) -> None:
        """There is no tolerance: a difference of 0.01 KZT is named in the error."""
        with pytest.raises(UnbalancedEntry, match=r"fund A, unit KZT: debits exceed credits by 0.01 KZT"):
            entry(Posting.debit(BANK, A, Money("10.01", KZT)), Posting.credit(INCOME, A, Money("10", KZT)))

    def test_balance_is_per_fund(self) -> None:
        """Debit in fund A and credit in fund B does not balance."""
        with pytest.raises(UnbalancedEntry, match="fund A"):
            entry(Posting.debit(BANK, A, Money("10", KZT)), Posting.credit(INCOME, B, Money("10", KZT)))

    def test_balance_is_per_unit(self) -> None:
        """Ten KZT against ten USD does not balance; conversions balance in each currency."""
        with pytest.raises(UnbalancedEntry):
            entry(Posting.debit(BANK, A, Money("10", KZT)), Posting.credit(INCOME_USD, A, Money("10", USD)))

    def test_needs_two_postings(self) -> None:
        """An entry with one line is refused."""
        with pytest.raises(UnbalancedEntry, match="at least two"):
            JournalEntry("general", WHEN, [Posting(BANK, A, Money("0.01", KZT))], actor="x")


class TestPostings:
    def test_unit_must_be_the_accounts(self) -> None:
        """A USD amount cannot be posted to a KZT account."""
        with pytest.raises(UnitMismatch, match="Assets:Bank, which is held in KZT"):
            Posting(BANK, A, Money("1", USD))

    def test_zero_and_negative_debits_are_refused(self) -> None:
        """Debit and credit take positive amounts; zero postings are refused."""
        with pytest.raises(InvalidAmount, match="must be positive"):
            Posting.debit(BANK, A, Money("-1", KZT))
        with pytest.raises(InvalidAmount, match="must not be zero"):
            Posting(BANK, A, Money("0", KZT))


class TestFields:
    def test_naive_time_is_refused(self) -> None:
        """An effective time without a time zone raises InvalidTime."""
        with pytest.raises(InvalidTime, match="no time zone"):
            entry(
                Posting.debit(BANK, A, Money("1", KZT)),
                Posting.credit(INCOME, A, Money("1", KZT)),
                when=dt.datetime(2020, 4, 1),
            )

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("actor", ""),
            ("actor", "a\x00b"),
            ("memo", "x" * 10_001),
            ("idempotency_key", ""),
            ("tags", {"Region": "north"}),
            ("tags", {"region": 5}),
            ("claims", [("prog", "hh1")]),
            ("kind", "Donation!"),
        ],
    )
    def test_bad_fields_are_refused(self, field: str, value: object) -> None:
        """Empty actors, NUL bytes, oversized memos, bad tags and claims raise InvalidArgument."""
        fields: dict[str, object] = {
            "kind": "general",
            "effective_at": WHEN,
            "postings": [Posting.debit(BANK, A, Money("1", KZT)), Posting.credit(INCOME, A, Money("1", KZT))],
            "actor": "tester",
        }
        fields[field] = value
        with pytest.raises(InvalidArgument):
            JournalEntry(**fields)  # type: ignore[arg-type]

    def test_hostile_text_is_kept_exactly(self) -> None:
        """SQL, right-to-left marks and long text are plain data."""
        memo = "'; DROP TABLE entries; --\u202e" + "ж" * 5000
        e = entry(Posting.debit(BANK, A, Money("1", KZT)), Posting.credit(INCOME, A, Money("1", KZT)), memo=memo)
        assert e.memo == memo

    def test_claims_are_sorted_and_unique(self) -> None:
        """Claims are kept in a canonical order; the same claim twice is refused."""
        e = entry(
            Posting.debit(BANK, A, Money("1", KZT)),
            Posting.credit(INCOME, A, Money("1", KZT)),
            claims=[Claim("p", "b"), Claim("p", "a")],
        )
        assert [c.key for c in e.claims] == ["a", "b"]
        with pytest.raises(InvalidArgument, match="same claim twice"):
            entry(
                Posting.debit(BANK, A, Money("1", KZT)),
                Posting.credit(INCOME, A, Money("1", KZT)),
                claims=[Claim("p", "a"), Claim("p", "a")],
            )

    def test_entries_are_immutable(self) -> None:
        """A frozen entry cannot be changed after it was built."""
        import attrs

        e = entry(Posting.debit(BANK, A, Money("1", KZT)), Posting.credit(INCOME, A, Money("1", KZT)))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            e.memo = "changed"  # type: ignore[misc]
        with pytest.raises(TypeError):
            e.tags["x"] = "y"  # type: ignore[index]
