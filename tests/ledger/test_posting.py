"""Posting, idempotency, reversals, closed periods and the balance invariants, on both backends."""

from __future__ import annotations

import pytest

from aidledger import (
    Account,
    AccountType,
    AlreadyReversed,
    Claim,
    DuplicateClaim,
    DuplicateDefinition,
    Fund,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidArgument,
    JournalEntry,
    Ledger,
    Money,
    PeriodClosed,
    Posting,
    UnknownAccount,
    UnknownEntry,
    UnknownFund,
    currency,
)
from tests.conftest import KZT, T0, Chart
from tests.helpers import snapshot, transfer


def donate(
    ledger: Ledger, amount: str = "1000000", *, fund: Fund = Chart.general, days: int = 0, key: str | None = None
):
    return ledger.post(transfer(Chart.bank, Chart.donations, fund, amount, T0.add(days=days), key=key, kind="donation"))


def pay(
    amount: str, *, fund: Fund = Chart.general, days: int = 1, key: str | None = None, **extra: object
) -> JournalEntry:
    return transfer(Chart.cash_aid, Chart.bank, fund, amount, T0.add(days=days), key=key, kind="payment", **extra)


class TestPosting:
    def test_post_returns_a_chained_entry(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Entries get consecutive sequence numbers, each linked to the previous hash."""
        first = donate(ledger)
        second = ledger.post(pay("50000"))
        assert (first.seq, second.seq) == (1, 2)
        assert second.prev_hash == first.hash
        assert ledger.balance(chart.bank) == Money("950000", KZT)
        assert ledger.balance(chart.cash_aid, chart.general) == Money("50000", KZT)

    def test_entry_reads_back_exactly(self, ledger: Ledger, chart: type[Chart]) -> None:
        """An entry read back equals what was posted, time zone and hostile text included."""
        memo = "'; DROP TABLE entries; -- \u202eעברית " + "ж" * 3000
        posted = ledger.post(
            transfer(
                chart.bank,
                chart.donations,
                chart.general,
                "12.34",
                T0,
                key="k1",
                memo=memo,
                source="receipt 7",
                tags={"donor": "D-1", "region": "Abai"},
            )
        )
        again = ledger.entry(posted.id)
        assert again == posted
        assert again.entry.effective_at.timezone_name == "Asia/Almaty"

    def test_batch_is_one_transaction(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A batch whose last entry is refused writes none of its entries."""
        donate(ledger, "100000")
        before = snapshot(ledger)
        with pytest.raises(InsufficientBalance):
            ledger.post_many([pay("50000"), pay("50000"), pay("0.01")])
        assert snapshot(ledger) == before
        assert len(ledger.post_many([pay("50000"), pay("50000")])) == 2
        assert ledger.balance(chart.bank).is_zero()

    def test_unknown_account_and_fund_are_refused(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Accounts and funds must be defined first, exactly as posted."""
        stranger = Account("Assets:Elsewhere", AccountType.ASSET, KZT)
        before = snapshot(ledger)
        with pytest.raises(UnknownAccount, match="Assets:Elsewhere"):
            ledger.post(transfer(stranger, chart.donations, chart.general, "1", T0))
        with pytest.raises(UnknownFund, match="NOWHERE"):
            ledger.post(transfer(chart.bank, chart.donations, Fund("NOWHERE"), "1", T0))
        impostor = Account("Assets:Bank:KZT", AccountType.ASSET, KZT, allow_negative=True)
        with pytest.raises(UnknownAccount, match="defined as"):
            ledger.post(transfer(impostor, chart.donations, chart.general, "1", T0))
        assert snapshot(ledger) == before

    def test_redefinition_is_refused(self, ledger: Ledger, chart: type[Chart]) -> None:
        """The same code cannot be defined twice differently; the same definition is a no-op."""
        assert ledger.add_account(chart.bank) == chart.bank
        with pytest.raises(DuplicateDefinition):
            ledger.add_account(Account("Assets:Bank:KZT", AccountType.LIABILITY, KZT))
        with pytest.raises(DuplicateDefinition):
            ledger.add_fund(Fund("GENERAL", name="other"))
        with pytest.raises(DuplicateDefinition, match="unit KZT"):
            from aidledger import Unit, UnitKind

            ledger.add_account(Account("Assets:Odd", AccountType.ASSET, Unit("KZT", UnitKind.CURRENCY, 3)))
        assert [a.code for a in ledger.accounts()][:2] == ["Assets:Bank:KZT", "Assets:Bank:USD"]


class TestIdempotency:
    def test_retry_returns_the_first_result(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Posting the same key and content twice posts once and returns the original."""
        first = donate(ledger, key="donation-1")
        again = donate(ledger, key="donation-1")
        assert again == first
        assert ledger.balance(chart.bank) == Money("1000000", KZT)

    def test_same_key_different_content_is_refused(self, ledger: Ledger, chart: type[Chart]) -> None:
        """The same key with another amount raises IdempotencyConflict and writes nothing."""
        donate(ledger, key="donation-1")
        before = snapshot(ledger)
        with pytest.raises(IdempotencyConflict, match="'donation-1'"):
            donate(ledger, "999", key="donation-1")
        assert snapshot(ledger) == before

    def test_refused_entry_leaves_its_key_free(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A refused operation does not use up its key: a corrected retry posts."""
        with pytest.raises(InsufficientBalance):
            ledger.post(pay("10", key="p-1"))
        donate(ledger)
        assert ledger.post(pay("10", key="p-1")).seq == 2

    def test_duplicate_keys_in_one_batch(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Within a batch, a repeated key with the same content posts once; with other content, nothing."""
        donate(ledger)
        posted = ledger.post_many([pay("10", key="a"), pay("10", key="a"), pay("20", key="b")])
        assert posted[0] == posted[1] and posted[2].seq == 3
        with pytest.raises(IdempotencyConflict):
            ledger.post_many([pay("10", key="c"), pay("11", key="c")])


class TestInvariants:
    def test_overdraft_is_refused_with_the_shortfall(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Paying more than the bank holds names the account, fund and shortfall."""
        donate(ledger, "100")
        before = snapshot(ledger)
        with pytest.raises(InsufficientBalance, match=r"Assets:Bank:KZT in fund GENERAL would go 0.01 KZT below zero"):
            ledger.post(pay("100.01"))
        assert snapshot(ledger) == before

    def test_funds_are_separate(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Money in one fund does not pay for another fund's spending."""
        donate(ledger, "100", fund=chart.general)
        with pytest.raises(InsufficientBalance, match="HOUSING"):
            ledger.post(pay("1", fund=chart.housing))

    def test_fund_net_assets_cannot_go_negative(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A fund cannot owe more than it holds, even when no asset account goes negative."""
        donate(ledger, "100")
        with pytest.raises(InsufficientBalance, match=r"fund GENERAL \(KZT net assets\)"):
            ledger.post(transfer(chart.cash_aid, chart.payable, chart.general, "150", T0.add(days=1)))
        ledger.post(transfer(chart.cash_aid, chart.payable, chart.general, "100", T0.add(days=1)))

    def test_paying_a_liability_keeps_net_assets(self, ledger: Ledger, chart: type[Chart]) -> None:
        """An entry is netted per fund before the check: paying what the fund owes is no dip in its net assets."""
        donate(ledger, "100")
        ledger.post(transfer(chart.cash_aid, chart.payable, chart.general, "60", T0.add(days=1)))
        ledger.post(transfer(chart.payable, chart.bank, chart.general, "60", T0.add(days=2)))
        # The same, back-dated before a later entry, replays stored entries netted too.
        ledger.post(transfer(chart.cash_aid, chart.payable, chart.general, "40", T0.add(days=3)))
        ledger.post(transfer(chart.payable, chart.bank, chart.general, "40", T0.add(days=5)))
        donate(ledger, "10", days=4)
        assert ledger.fund_balance(chart.general, "KZT") == Money("10", KZT)
        assert ledger.balance(chart.bank) == Money("10", KZT)

    def test_back_dated_withdrawal_cannot_dip_below_zero_in_between(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A withdrawal dated before later spending is refused if the balance would dip at any time."""
        donate(ledger, "100", days=0)
        ledger.post(pay("100", days=5))
        donate(ledger, "100", days=10)
        # Balance now 100, but between day 5 and day 10 it is 0: 50 on day 2 would make it -50 then.
        with pytest.raises(InsufficientBalance, match="because of a back-dated entry"):
            ledger.post(pay("50", days=2))
        ledger.post(pay("50", days=11))
        assert ledger.balance(chart.bank) == Money("50", KZT)

    def test_back_dated_deposit_is_fine(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Back-dated entries that only add are accepted, and balances as of earlier dates see them."""
        donate(ledger, "100", days=10)
        donate(ledger, "5", days=1)
        assert ledger.balance(chart.bank, as_of=T0.add(days=2)) == Money("5", KZT)
        assert ledger.balance(chart.bank, as_of=T0.add(days=10)) == Money("105", KZT)

    def test_allow_negative_accounts(self, ledger: Ledger, chart: type[Chart]) -> None:
        """An account explicitly allowed to go negative may (a clearing account, say)."""
        clearing = ledger.add_account(Account("Assets:Clearing", AccountType.ASSET, KZT, allow_negative=True))
        ledger.add_fund(Fund("LOOSE", allow_negative=True))
        ledger.post(transfer(chart.cash_aid, clearing, Fund("LOOSE", allow_negative=True), "10", T0))
        assert ledger.balance(clearing) == Money("-10", KZT)

    def test_claims_are_once_only(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A claim taken by one entry refuses any later entry with the same claim."""
        donate(ledger)
        ledger.post(pay("10", claims=[Claim("programme-1", "hh-1")]))
        before = snapshot(ledger)
        with pytest.raises(DuplicateClaim, match=r"'hh-1' in 'programme-1' is already taken by entry #2"):
            ledger.post(pay("10", claims=[Claim("programme-1", "hh-1")]))
        with pytest.raises(DuplicateClaim, match="an earlier entry of this batch"):
            ledger.post_many([pay("10", claims=[Claim("programme-1", "hh-2")])] * 2)
        assert snapshot(ledger) == before
        ledger.post(pay("10", claims=[Claim("programme-2", "hh-1")]))


class TestReversals:
    def test_reversal_mirrors_and_points_at_the_original(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A reversal negates every line, links to the original, and restores the balances."""
        donate(ledger)
        payment = ledger.post(pay("50000", tags={"region": "north"}))
        reversal = ledger.reverse(payment.id, actor="checker", effective_at=T0.add(days=2))
        assert reversal.entry.reverses == payment.id
        assert [p.amount for p in reversal.entry.postings] == [-p.amount for p in payment.entry.postings]
        assert reversal.entry.tags == {"region": "north"}
        assert ledger.balance(chart.bank) == Money("1000000", KZT)
        assert ledger.balance(chart.bank, as_of=T0.add(days=1)) == Money("950000", KZT)

    def test_reversal_happens_once(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A second reversal, or a reversal of a reversal, is refused."""
        donate(ledger)
        payment = ledger.post(pay("1"))
        reversal = ledger.reverse(payment.id, actor="checker")
        with pytest.raises(AlreadyReversed):
            ledger.reverse(payment.id, actor="checker")
        with pytest.raises(InvalidArgument, match="itself a reversal"):
            ledger.reverse(reversal.id, actor="checker")
        with pytest.raises(UnknownEntry):
            ledger.reverse("no-such-entry", actor="checker")

    def test_hand_made_reversal_must_mirror(self, ledger: Ledger, chart: type[Chart]) -> None:
        """An entry claiming to reverse another must be its exact mirror."""
        donate(ledger)
        payment = ledger.post(pay("10"))
        wrong = transfer(chart.bank, chart.cash_aid, chart.general, "9", T0.add(days=1), reverses=payment.id)
        with pytest.raises(InvalidArgument, match="mirror"):
            ledger.post(wrong)

    def test_reversal_cannot_overdraw(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Reversing a donation that was already spent is refused."""
        gift = donate(ledger, "100")
        ledger.post(pay("100"))
        with pytest.raises(InsufficientBalance):
            ledger.reverse(gift.id, actor="checker", effective_at=T0.add(days=3))


class TestPeriods:
    def test_closed_period_refuses_every_path(self, ledger: Ledger, chart: type[Chart]) -> None:
        """After a close, entries, back-dated entries and reversals into it are refused."""
        gift = donate(ledger)
        ledger.close_period(T0.add(days=1), actor="accountant")
        before = snapshot(ledger)
        with pytest.raises(PeriodClosed, match="closed period"):
            ledger.post(pay("1", days=1))
        with pytest.raises(PeriodClosed):
            ledger.reverse(gift.id, actor="checker")
        assert snapshot(ledger) == before
        correction = ledger.reverse(gift.id, actor="checker", effective_at=T0.add(days=2))
        assert correction.entry.reverses == gift.id
        assert ledger.closed_through() == T0.add(days=1)

    def test_periods_cannot_be_reopened(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Closing an earlier date than already closed is refused."""
        ledger.close_period(T0.add(days=5), actor="accountant")
        with pytest.raises(PeriodClosed, match="already closed"):
            ledger.close_period(T0, actor="accountant")


class TestReads:
    def test_trial_balance_is_zero_per_unit_and_fund(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Totals per unit and per fund are zero, and lines are listed per account and fund."""
        donate(ledger)
        ledger.post(transfer(chart.bank_usd, chart.donations_usd, chart.housing, "250.75", T0))
        ledger.post(pay("50000"))
        trial = ledger.trial_balance()
        assert trial.balanced
        assert set(trial.totals) == {"KZT", "USD"}
        assert [(line.account.code, str(line.balance)) for line in trial.lines] == [
            ("Assets:Bank:KZT", "950000.00 KZT"),
            ("Assets:Bank:USD", "250.75 USD"),
            ("Expenses:CashAid", "50000.00 KZT"),
            ("Revenue:Donations", "-1000000.00 KZT"),
            ("Revenue:Donations:USD", "-250.75 USD"),
        ]
        assert ledger.trial_balance(as_of=T0).lines[0].balance == Money("1000000", KZT)

    def test_known_at_reproduces_an_earlier_report(self, backend: str, tmp_path, pg_database) -> None:  # type: ignore[no-untyped-def]
        """A balance asked with known_at ignores entries recorded later, back-dated ones included."""
        import pendulum

        from tests.conftest import new_url

        clock = [pendulum.datetime(2020, 5, 1, tz="UTC")]
        with Ledger.open(new_url(backend, tmp_path, pg_database), clock=lambda: clock[0]) as ledger:
            for value in vars(Chart).values():
                if isinstance(value, Account):
                    ledger.add_account(value)
                elif isinstance(value, Fund):
                    ledger.add_fund(value)
            donate(ledger, "100")
            report_time = clock[0]
            clock[0] = clock[0].add(days=30)
            donate(ledger, "7", days=-1)
            assert ledger.balance(Chart.bank, as_of=T0) == Money("107", KZT)
            assert ledger.balance(Chart.bank, as_of=T0, known_at=report_time) == Money("100", KZT)
            assert ledger.trial_balance(known_at=report_time).lines[0].balance == Money("100", KZT)

    def test_fund_balance_is_net_assets(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A fund's balance is its assets minus its liabilities."""
        donate(ledger, "100")
        ledger.post(transfer(chart.cash_aid, chart.payable, chart.general, "30", T0.add(days=1)))
        assert ledger.fund_balance(chart.general, "KZT") == Money("70", KZT)
        assert ledger.fund_balance("GENERAL", currency("KZT"), as_of=T0) == Money("100", KZT)
        assert ledger.fund_balance(chart.housing, "KZT").is_zero()

    def test_balance_as_of_every_day(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Balances as of each day match a running sum, whichever way they are computed."""
        donate(ledger, "1000", days=0)
        for day in range(1, 20):
            ledger.post(pay(str(day), days=day))
        running = 1000
        for day in range(0, 21):
            running -= day if 1 <= day < 20 else 0
            assert ledger.balance(chart.bank, as_of=T0.add(days=day, hours=1)) == Money(running, KZT), day
        # Just before an entry's time, it is not counted; at its time, it is.
        assert ledger.balance(chart.bank, as_of=T0.add(days=5).subtract(microseconds=1)) == Money(1000 - 10, KZT)
        assert ledger.balance(chart.bank, as_of=T0.add(days=5)) == Money(1000 - 15, KZT)

    def test_entries_iterates_in_chain_order(self, ledger: Ledger, chart: type[Chart]) -> None:
        """entries() yields posted entries by sequence."""
        donate(ledger)
        ledger.post(pay("1"))
        assert [e.seq for e in ledger.entries()] == [1, 2]
        assert [e.seq for e in ledger.entries(after_seq=1)] == [2]


def test_usd_is_a_separate_unit(ledger: Ledger, chart: type[Chart]) -> None:
    """A USD posting to a KZT fund balances only in USD."""
    entry = JournalEntry(
        "donation",
        T0,
        [
            Posting.debit(chart.bank_usd, chart.general, Money("10", "USD")),
            Posting.credit(chart.donations_usd, chart.general, Money("10", "USD")),
        ],
        actor="x",
    )
    ledger.post(entry)
    assert ledger.fund_balance(chart.general, "USD") == Money("10", "USD")


class TestTransact:
    def test_build_reads_inside_the_write_transaction(self, ledger: Ledger, chart: type[Chart]) -> None:
        """``transact`` hands ``build`` the ledger as it stands under the write lock."""
        donate(ledger, "100000", key="gift")
        seen = []

        def build(view):  # type: ignore[no-untyped-def]
            bank = view.balance(chart.bank, chart.general)
            seen.append((bank, view.entry_by_key("gift").seq))
            return [pay(str(bank.value))]

        result = ledger.transact(build)
        assert seen == [(Money("100000", KZT), 1)]
        assert len(result.posted) == 1
        assert ledger.balance(chart.bank).is_zero()

    def test_a_write_inside_build_is_refused_not_deadlocked(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Writing from inside ``build`` would wait for its own lock; it is refused at once and writes nothing."""
        donate(ledger, "100000")
        before = snapshot(ledger)

        def build(view):  # type: ignore[no-untyped-def]
            ledger.post(pay("1"))
            return []

        with pytest.raises(InvalidArgument, match="inside another write transaction"):
            ledger.transact(build)
        assert snapshot(ledger) == before
        assert len(ledger.transact(lambda view: [pay("1")]).posted) == 1

    def test_build_must_return_entries(self, ledger: Ledger, chart: type[Chart]) -> None:
        before = snapshot(ledger)
        with pytest.raises(InvalidArgument, match="JournalEntry"):
            ledger.transact(lambda view: ["not an entry"])  # type: ignore[list-item]
        assert snapshot(ledger) == before


def test_entries_read_in_pages_with_filters(
    ledger: Ledger, chart: type[Chart], monkeypatch: pytest.MonkeyPatch
) -> None:
    """entries() pages through the journal, and filters by effective time, recorded time and count in SQL."""
    import aidledger.ledger.reader as module

    monkeypatch.setattr(module, "_PAGE", 2)
    posted = [ledger.post(transfer(chart.bank, chart.donations, chart.general, "10", T0.add(days=n))) for n in range(5)]
    assert [p.id for p in ledger.entries()] == [p.id for p in posted]
    assert [p.seq for p in ledger.entries(as_of=T0.add(days=2))] == [1, 2, 3]
    assert [p.seq for p in ledger.entries(after_seq=1, limit=3)] == [2, 3, 4]
    cut = posted[1].recorded_at
    assert [p.seq for p in ledger.entries(known_at=cut)] == [p.seq for p in posted if p.recorded_at <= cut]
    assert list(ledger.entries(limit=0)) == []
    with pytest.raises(InvalidArgument, match="limit must be"):
        list(ledger.entries(limit=-1))
