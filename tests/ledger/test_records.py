"""Claims that can be released, batches that set claimed entries aside, and maker-checker approval."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aidledger import Claim, DuplicateClaim, DuplicateDefinition, InvalidArgument, Ledger, Money, UnknownEntry, verify
from aidledger.store import schema as t
from tests.conftest import KZT, T0, Chart
from tests.helpers import snapshot, transfer
from tests.ledger.test_tamper import behind_the_library


def pay(amount: str = "10", *, household: str = "hh-1", actor: str = "maker", **extra: object):  # type: ignore[no-untyped-def]
    return transfer(
        Chart.cash_aid,
        Chart.bank,
        Chart.general,
        amount,
        T0.add(days=1),
        kind="payment",
        actor=actor,
        claims=[Claim("programme", household)],
        **extra,
    )


@pytest.fixture
def funded(ledger: Ledger, chart: type[Chart]) -> Ledger:
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "1000", T0, kind="donation"))
    return ledger


class TestReleases:
    def test_released_claim_can_be_taken_again(self, funded: Ledger) -> None:
        """A failed payment releases its household, which a later payment may claim once more."""
        first = funded.post(pay())
        undo = transfer(
            Chart.bank, Chart.cash_aid, Chart.general, "10", T0.add(days=2), releases=[Claim("programme", "hh-1")]
        )
        funded.post(undo)
        again = funded.post(pay())
        assert again.entry.claims == first.entry.claims
        with pytest.raises(DuplicateClaim):
            funded.post(pay())
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
        payment = funded.post(pay())
        reversal = funded.reverse(payment.id, actor="checker")
        assert reversal.entry.releases == (Claim("programme", "hh-1"),)
        funded.post(pay())
        assert verify(funded).ok

    def test_skip_claimed_posts_the_rest(self, funded: Ledger) -> None:
        """With skip_claimed, entries whose claim is taken are reported and the others posted."""
        funded.post(pay(household="hh-1"))
        result = funded.post_batch(
            [pay(household="hh-1"), pay(household="hh-2"), pay(household="hh-2")], skip_claimed=True
        )
        assert [s.index for s in result.skipped] == [0, 2]
        assert isinstance(result.skipped[0].reason, DuplicateClaim)
        assert len(result.posted) == 1
        assert result.results[1] is not None
        assert result.results[0] is None


class TestMakerChecker:
    def test_submit_then_approve_posts_with_the_checker(self, funded: Ledger) -> None:
        """A submitted batch posts nothing until a different person approves it."""
        before = snapshot(funded, records=False)
        pending = funded.submit([pay("100"), pay("200", household="hh-2")], actor="maker", note="list 7")
        assert pending.status == "pending"
        assert pending.total == {"KZT": Money("300", KZT)}
        assert snapshot(funded, records=False) == before
        result = funded.approve(pending.code, checker="checker")
        assert [p.entry.approved_by for p in result.posted] == ["checker", "checker"]
        assert funded.pending(pending.code).status == "approved"
        assert funded.balance(Chart.bank) == Money("700", KZT)
        assert verify(funded).ok

    def test_maker_cannot_approve_and_nobody_approves_twice(self, funded: Ledger) -> None:
        """The maker's own approval, a second decision and a decision after rejection are refused."""
        pending = funded.submit([pay()], actor="maker")
        with pytest.raises(InvalidArgument, match="cannot also approve"):
            funded.approve(pending.code, checker="maker")
        funded.reject(pending.code, checker="checker", reason="wrong list")
        with pytest.raises(InvalidArgument, match="already rejected"):
            funded.approve(pending.code, checker="other")
        assert funded.balance(Chart.bank) == Money("1000", KZT)

    def test_submit_checks_the_maker(self, funded: Ledger) -> None:
        """Entries of someone else, or already approved, cannot be submitted; unknown batches are unknown."""
        with pytest.raises(InvalidArgument, match="made by the maker"):
            funded.submit([pay(actor="someone")], actor="maker")
        with pytest.raises(InvalidArgument):
            funded.submit([pay(approved_by="checker")], actor="maker")
        with pytest.raises(UnknownEntry):
            funded.pending("nope")

    def test_database_refuses_checker_equal_to_maker(self, funded: Ledger) -> None:
        """Even SQL written behind the library cannot store an entry or decision approved by its maker."""
        funded.submit([pay()], actor="maker", code="b-1")
        with pytest.raises(sa.exc.DBAPIError, match="checker"), funded.engine.begin() as connection:
            connection.execute(
                sa.insert(t.records).values(
                    seq=99,
                    kind="decision",
                    code="b-1",
                    subject="b-1",
                    actor="maker",
                    body="{}",
                    recorded_at=0,
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )
        with pytest.raises(sa.exc.IntegrityError), funded.engine.begin() as connection:
            connection.execute(
                sa.insert(t.entries).values(
                    seq=99,
                    id="x",
                    kind="payment",
                    effective_at=0,
                    effective_tz="UTC",
                    recorded_at=0,
                    actor="maker",
                    memo="",
                    approved_by="maker",
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )

    def test_failed_approval_writes_nothing(self, funded: Ledger) -> None:
        """If the approved batch is refused (overdraft), neither the decision nor any entry is written."""
        pending = funded.submit([pay("5000")], actor="maker")
        before = snapshot(funded)
        from aidledger import InsufficientBalance

        with pytest.raises(InsufficientBalance):
            funded.approve(pending.code, checker="checker")
        assert snapshot(funded) == before
        assert funded.pending(pending.code).status == "pending"


class TestRecords:
    def test_records_are_idempotent_and_chained(self, ledger: Ledger) -> None:
        """The same record again is a no-op; a different body under the same code is refused; edits are caught."""
        first = ledger.put_record("programme", "p-1", {"amount": "50000.00"}, actor="admin")
        assert ledger.put_record("programme", "p-1", {"amount": "50000.00"}, actor="admin") == first
        with pytest.raises(DuplicateDefinition):
            ledger.put_record("programme", "p-1", {"amount": "1"}, actor="admin")
        assert [r.code for r in ledger.records("programme")] == ["p-1"]
        assert verify(ledger).ok
        behind_the_library(ledger, lambda c: c.exec_driver_sql('UPDATE records SET body = \'{"amount": "1"}\''))
        result = verify(ledger)
        assert result.first_break is not None
        assert "programme record 'p-1'" in result.first_break.problem

    def test_bad_bodies_are_refused(self, ledger: Ledger) -> None:
        """Bodies must be JSON mappings; kinds identifiers."""
        from decimal import Decimal

        with pytest.raises(InvalidArgument):
            ledger.put_record("programme", "p", {"x": Decimal(1)}, actor="a")
        with pytest.raises(InvalidArgument):
            ledger.put_record("Bad Kind", "p", {}, actor="a")


def test_balance_by_tags(funded: Ledger) -> None:
    """A balance can be limited to entries carrying given tag values."""
    funded.post(pay("10", tags={"region": "north"}))
    funded.post(pay("20", household="hh-2", tags={"region": "south"}))
    assert funded.balance(Chart.cash_aid, tags={"region": "south"}) == Money("20", KZT)
    assert funded.balance(Chart.cash_aid, tags={"region": "east"}).is_zero()
