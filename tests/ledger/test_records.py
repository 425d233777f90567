"""The records room: hash-chained records beside the journal, and maker-checker batches kept as records."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
import sqlalchemy as sa

from aidledger import (
    DuplicateDefinition,
    InvalidArgument,
    JournalEntry,
    Ledger,
    LedgerView,
    Money,
    UnknownEntry,
    verify,
)
from aidledger.store import schema as t
from tests.conftest import KZT, Chart
from tests.helpers import snapshot
from tests.ledger import pay_household
from tests.ledger.test_tamper import behind_the_library


class TestMakerChecker:
    def test_submit_then_approve_posts_with_the_checker(self, funded: Ledger) -> None:
        """A submitted batch posts nothing until a different person approves it."""
        before = snapshot(funded, records=False)
        pending = funded.submit(
            [pay_household("100"), pay_household("200", household="hh-2")], actor="maker", note="list 7"
        )
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
        pending = funded.submit([pay_household()], actor="maker")
        with pytest.raises(InvalidArgument, match="cannot also approve"):
            funded.approve(pending.code, checker="maker")
        funded.reject(pending.code, checker="checker", reason="wrong list")
        with pytest.raises(InvalidArgument, match="already rejected"):
            funded.approve(pending.code, checker="other")
        assert funded.balance(Chart.bank) == Money("1000", KZT)

    def test_submit_checks_the_maker(self, funded: Ledger) -> None:
        """Entries of someone else, or already approved, cannot be submitted; unknown batches are unknown."""
        with pytest.raises(InvalidArgument, match="made by the maker"):
            funded.submit([pay_household(actor="someone")], actor="maker")
        with pytest.raises(InvalidArgument):
            funded.submit([pay_household(approved_by="checker")], actor="maker")
        with pytest.raises(UnknownEntry):
            funded.pending("nope")

    def test_submit_inside_a_transaction_stands_or_falls_with_it(self, funded: Ledger) -> None:
        """A batch submitted from a build function goes with a failure after it; the retry stores it, and its record, once."""

        def submit_with_a_record(fail: bool) -> Callable[[LedgerView], list[JournalEntry]]:
            def build(view: LedgerView) -> list[JournalEntry]:
                pending = view.submit([pay_household("100")], actor="maker", code="b-1", note="list 7")
                assert (pending.status, pending.maker, pending.total) == (
                    "pending",
                    "maker",
                    {"KZT": Money("100", KZT)},
                )
                assert view.record("pending", "b-1") is not None
                if fail:
                    raise RuntimeError("the process died here")
                view.put_record("list", "7", {"batch": "b-1"}, actor="maker")
                return []

            return build

        before = snapshot(funded)
        with pytest.raises(RuntimeError, match="died"):
            funded.transact(submit_with_a_record(fail=True))
        assert snapshot(funded) == before
        with pytest.raises(UnknownEntry):
            funded.pending("b-1")
        assert funded.transact(submit_with_a_record(fail=False)).posted == ()
        assert [r.code for r in funded.records("pending")] == ["b-1"]
        assert [r.code for r in funded.records("list")] == ["7"]
        assert funded.pending("b-1").note == "list 7"
        assert [p.entry.approved_by for p in funded.approve("b-1", checker="checker").posted] == ["checker"]
        assert verify(funded).ok

    def test_database_refuses_checker_equal_to_maker(self, funded: Ledger) -> None:
        """Even SQL written behind the library cannot store an entry or decision approved by its maker."""
        funded.submit([pay_household()], actor="maker", code="b-1")
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
        pending = funded.submit([pay_household("5000")], actor="maker")
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

    def test_a_refused_record_leaves_the_transaction_usable(self, ledger: Ledger) -> None:
        """A record the database refuses is rolled back alone: the build function may go on, and the rest commits."""
        ledger.put_record("pending", "b-1", {"entries": [], "note": ""}, actor="maker")

        def build(view: LedgerView) -> list[JournalEntry]:
            with pytest.raises(InvalidArgument, match="the database refused the decision record"):
                view.put_record("decision", "b-1", {"decision": "approved"}, actor="maker", subject="b-1")
            view.put_record("programme", "p-1", {}, actor="admin")
            return []

        ledger.transact(build)
        assert ledger.record("decision", "b-1") is None
        assert ledger.record("programme", "p-1") is not None
        assert verify(ledger).ok

    def test_bad_bodies_are_refused(self, ledger: Ledger) -> None:
        """Bodies must be JSON mappings; kinds identifiers."""
        from decimal import Decimal

        with pytest.raises(InvalidArgument):
            ledger.put_record("programme", "p", {"x": Decimal(1)}, actor="a")
        with pytest.raises(InvalidArgument):
            ledger.put_record("Bad Kind", "p", {}, actor="a")


class TestOnePersonSpeltTwoWays:
    @pytest.mark.parametrize("spelling", ["maker ", "MAKER", "mаker", "ma\u200bker", "ｍａｋｅｒ"])
    def test_the_maker_cannot_approve_under_another_spelling(self, funded: Ledger, spelling: str) -> None:
        """Case, spaces, a Cyrillic look-alike, a zero-width space or full-width letters do not make a second person."""
        funded.submit([pay_household("100")], actor="maker", code="b-1")
        with pytest.raises(InvalidArgument, match="one person, spelt two ways"):
            funded.approve("b-1", checker=spelling)
        assert funded.pending("b-1").status == "pending"

    def test_an_entry_cannot_carry_its_maker_as_checker_under_another_spelling(self) -> None:
        """JournalEntry(approved_by=...) refuses the maker's own name in any spelling."""
        entry = pay_household("100")
        with pytest.raises(InvalidArgument, match="cannot approve their own entry"):
            attrs.evolve(entry, approved_by=" " + entry.actor.upper())


class TestApprovalsAreDecided:
    def test_an_entry_naming_a_checker_is_not_posted_by_hand(self, funded: Ledger) -> None:
        """post, post_many and transact refuse an entry whose approved_by no checker decided; nothing is written."""
        entry = attrs.evolve(pay_household("100"), approved_by="director")
        before = snapshot(funded)
        for attempt in (
            lambda: funded.post(entry),
            lambda: funded.post_many([pay_household("1", household="hh-9"), entry]),
            lambda: funded.transact(lambda view: [entry]),
        ):
            with pytest.raises(InvalidArgument, match="no checker decided"):
                attempt()
        assert snapshot(funded) == before

    def test_an_approved_entry_names_the_checker_who_decided(self, funded: Ledger) -> None:
        """Submitted and approved, the same entry posts with its checker."""
        pending = funded.submit([pay_household("100")], actor="maker")
        (posted,) = funded.approve(pending.code, checker="director").posted
        assert (posted.entry.actor, posted.entry.approved_by) == ("maker", "director")
