"""The posting room: idempotency, the balance invariants, reversals, closed periods and claims, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aidledger import (
    Account,
    AccountType,
    AlreadyReversed,
    Claim,
    DuplicateClaim,
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
    verify,
)
from aidledger.store import schema as t
from tests.conftest import KZT, T0, Chart
from tests.helpers import snapshot, transfer
from tests.ledger import donate, pay, pay_household


class TestPosting:
    def test_post_returns_a_chained_entry(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Entries get consecutive sequence numbers, each linked to the previous hash."""
        first = donate(ledger)
        second = ledger.post(pay("50000"))
        assert (first.seq, second.seq) == (1, 2)
        assert second.prev_hash == first.hash
        assert ledger.balance(chart.bank) == Money("950000", KZT)
        assert ledger.balance(chart.cash_aid, chart.general) == Money("50000", KZT)

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


class TestReleases:
    def test_released_claim_can_be_taken_again(self, funded: Ledger) -> None:
        """A failed payment releases its household, which a later payment may claim once more."""
        first = funded.post(pay_household())
        undo = transfer(
            Chart.bank, Chart.cash_aid, Chart.general, "10", T0.add(days=2), releases=[Claim("programme", "hh-1")]
        )
        funded.post(undo)
        again = funded.post(pay_household())
        assert again.entry.claims == first.entry.claims
        with pytest.raises(DuplicateClaim):
            funded.post(pay_household())
        with funded.engine.connect() as connection:
            generations = (
                connection.execute(sa.select(t.claims.c.generation).order_by(t.claims.c.generation)).scalars().all()
            )
        assert generations == [0, 1]

    def test_cannot_release_what_is_not_taken(self, funded: Ledger) -> None:
        """Releasing a free claim is refused and writes nothing."""
        before = snapshot(funded)
        with pytest.raises(InvalidArgument, match="not taken"):
            funded.post(
                transfer(Chart.bank, Chart.cash_aid, Chart.general, "1", T0, releases=[Claim("programme", "x")])
            )
        assert snapshot(funded) == before

    def test_reversal_gives_claims_back(self, funded: Ledger) -> None:
        """Reversing a payment releases its claim; the reversal's entry lists the release."""
        payment = funded.post(pay_household())
        reversal = funded.reverse(payment.id, actor="checker")
        assert reversal.entry.releases == (Claim("programme", "hh-1"),)
        funded.post(pay_household())
        assert verify(funded).ok

    def test_skip_claimed_posts_the_rest(self, funded: Ledger) -> None:
        """With skip_claimed, entries whose claim is taken are reported and the others posted."""
        funded.post(pay_household(household="hh-1"))
        result = funded.post_batch(
            [pay_household(household="hh-1"), pay_household(household="hh-2"), pay_household(household="hh-2")],
            skip_claimed=True,
        )
        assert [s.index for s in result.skipped] == [0, 2]
        assert isinstance(result.skipped[0].reason, DuplicateClaim)
        assert len(result.posted) == 1
        assert result.results[1] is not None
        assert result.results[0] is None
