"""Approval policies as records: every write path needs the distinct checkers the policy in force asks for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import pytest

from aidledger import (
    Aid,
    ApprovalPolicy,
    ApprovalRequired,
    InvalidArgument,
    JournalEntry,
    Ledger,
    LedgerView,
    Posting,
    reconcile,
    verify,
)
from aidledger.ledger import approvals
from aidledger.store import triggers
from tests.conftest import T0, Chart
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, commit_village, kzt


@pytest.fixture
def project(aid: Aid) -> Aid:
    """340 million KZT committed to one village, and an Aid configured with no approval threshold at all."""
    return Aid(commit_village(aid).ledger)


@contextmanager
def without_the_database_rule(ledger: Ledger) -> Iterator[None]:
    """The database's approval rule dropped (by its owner, say), so that only reconcile can find what slips past."""
    with ledger.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        connection.exec_driver_sql("DROP TRIGGER log_entry_approved" + (" ON log" if postgres else ""))
    yield
    with ledger.engine.begin() as connection:
        triggers.create(connection, (), checker=False, frozen=False)


def tranches(*tiers: tuple[str, int]) -> ApprovalPolicy:
    return ApprovalPolicy(kind="grant-tranche", tiers=[(kzt(above), checkers) for above, checkers in tiers])


def tranche(project: Aid, amount: str, code: str, actor: str = "maker") -> JournalEntry:
    """The entry of a tranche, as a maker would submit it (submitted under ``code``)."""
    return project.submit_tranche("DOSTYK", kzt(amount), milestone=code, on=APRIL, actor=actor, code=code).entries[0]


class TestEveryPath:
    def test_a_tranche_above_the_policy_is_refused_without_approval(self, project: Aid) -> None:
        """Aid(ledger) with no threshold, Ledger.post, post_many and transact all refuse 2,000,000 KZT unapproved."""
        project.ledger.set_approval_policy(tranches(("1000000", 1)), actor="board")
        before = snapshot(project.ledger)
        with pytest.raises(ApprovalRequired, match="needs the approval of 1 distinct checker") as refused:
            project.disburse("DOSTYK", kzt("2000000"), milestone="roofs", on=APRIL, actor="maker")
        assert refused.value.details["scope"] == "kind=grant-tranche"
        assert snapshot(project.ledger) == before
        entry = tranche(project, "2000000", "T-1")
        before = snapshot(project.ledger)
        for post in (
            project.ledger.post,
            lambda e: project.ledger.post_many([e]),
            lambda e: project.ledger.transact(lambda _view: [e]),
        ):
            with pytest.raises(ApprovalRequired):
                post(entry)
        assert snapshot(project.ledger) == before
        posted = project.approve("T-1", checker="controller").posted
        assert [(p.entry.actor, p.entry.approved_by) for p in posted] == [("maker", "controller")]
        assert reconcile(project.ledger).ok

    def test_below_the_tier_and_outside_the_scope_nothing_is_needed(self, project: Aid) -> None:
        """A tranche at the tier's amount (not above it) and a clawback (another kind) post directly."""
        project.ledger.set_approval_policy(tranches(("1000000", 1)), actor="board")
        project.disburse("DOSTYK", kzt("1000000"), milestone="walls", on=APRIL, actor="maker")
        project.claw_back("DOSTYK", kzt("1000000"), on=APRIL, actor="maker", reason="unspent")
        assert reconcile(project.ledger).ok

    def test_a_fund_and_tag_scope_on_the_generic_ledger(self, ledger: Ledger, chart: type[Chart]) -> None:
        """The generic ledger knows funds and tags: a policy on a fund, or on a tag value, covers Ledger.post."""
        ledger.set_approval_policy(ApprovalPolicy(fund="HOUSING", tiers=[(kzt("100"), 1)]), actor="board")
        ledger.set_approval_policy(ApprovalPolicy(tag=("project", "P-1"), tiers=[(kzt("100"), 2)]), actor="board")
        assert sorted(ledger.approval_policies()) == ["fund=HOUSING", "tag=project=P-1"]

        def gift(fund: str, amount: str, **tags: str) -> JournalEntry:
            money = kzt(amount)
            return JournalEntry(
                kind="donation",
                effective_at=T0,
                postings=[
                    Posting.debit(chart.bank, ledger.fund(fund), money),
                    Posting.credit(chart.donations, ledger.fund(fund), money),
                ],
                actor="clerk",
                tags=tags,
            )

        ledger.post(gift("GENERAL", "500"))  # neither scope
        ledger.post(gift("HOUSING", "100"))  # not above the tier
        with pytest.raises(ApprovalRequired, match="fund=HOUSING"):
            ledger.post(gift("HOUSING", "100.01"))
        with pytest.raises(ApprovalRequired, match="2 distinct checker"):
            ledger.post(gift("GENERAL", "500", project="P-1"))
        with pytest.raises(ApprovalRequired, match="2 distinct checker"):  # the strictest policy wins
            ledger.post(gift("HOUSING", "500", project="P-1"))

        def build(view: LedgerView) -> list[JournalEntry]:
            view.submit([gift("HOUSING", "500")], actor="clerk", code="G-1")
            return []

        ledger.transact(build)
        assert ledger.approve("G-1", checker="treasurer").posted
        assert reconcile(ledger).ok
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(approvals, "current_policies", lambda *_: {})  # a library that knows no policy
            before = snapshot(ledger)
            for refused in (gift("HOUSING", "200"), gift("GENERAL", "200", project="P-1")):
                with pytest.raises(ApprovalRequired, match="the database refused the entry"):
                    ledger.post(refused)
            assert snapshot(ledger) == before
            with without_the_database_rule(ledger):
                slipped = [ledger.post(gift("HOUSING", "200")), ledger.post(gift("GENERAL", "200", project="P-1"))]
            ledger.post(gift("GENERAL", "200", project="P-2"))  # in no scope
        found = [(u.entry.seq, u.needed, u.scope) for u in ledger.unapproved()]
        assert found == [(slipped[0].seq, 1, "fund=HOUSING"), (slipped[1].seq, 2, "tag=project=P-1")]

    def test_a_reversal_is_an_entry_too(self, project: Aid) -> None:
        """Reversing a tranche above a tier needs the same approvals: submit the reversal, a checker approves it."""
        ledger = project.ledger
        ledger.set_approval_policy(tranches(("1000000", 1)), actor="board")
        tranche(project, "2000000", "T-8")
        original = project.approve("T-8", checker="alice").posted[0]
        with pytest.raises(ApprovalRequired):
            ledger.reverse(original.id, actor="maker")
        ledger.submit([Ledger.reversal_of(original, actor="maker")], actor="maker", code="T-8-REVERSAL")
        assert ledger.approve("T-8-REVERSAL", checker="bob").posted[0].entry.reverses == original.id
        assert reconcile(ledger).ok


class TestDistinctCheckers:
    def test_a_two_checker_tier_needs_two_distinct_people(self, project: Aid) -> None:
        """The maker, the same checker twice, and a spelling variant do not count; a second person posts it."""
        project.ledger.set_approval_policy(tranches(("1000000", 1), ("5000000", 2)), actor="board")
        tranche(project, "6000000", "T-2", actor="officer")
        with pytest.raises(InvalidArgument, match="cannot also approve"):
            project.approve("T-2", checker="Officer ")
        assert project.approve("T-2", checker="alice").posted == ()
        found = project.ledger.pending("T-2")
        assert (found.status, found.approvals) == ("pending", ("alice",))
        for again in ("alice", "ALICE", " Аlice"):  # the last with a Cyrillic А
            with pytest.raises(InvalidArgument, match="already approved"):
                project.approve("T-2", checker=again)
        with pytest.raises(ApprovalRequired, match="has 0"):  # a batch's approvals are not a posted copy's
            project.ledger.post(found.entries[0])
        posted = project.approve("T-2", checker="bob").posted
        assert [(p.entry.actor, p.entry.approved_by) for p in posted] == [("officer", "bob")]
        found = project.ledger.pending("T-2")
        assert (found.status, found.checker, found.approvals) == ("approved", "bob", ("alice", "bob"))
        assert reconcile(project.ledger).ok
        assert verify(project.ledger).ok

    def test_a_one_checker_tier_posts_on_the_first_approval(self, project: Aid) -> None:
        """Below the two-checker tier, one approval posts the tranche."""
        project.ledger.set_approval_policy(tranches(("1000000", 1), ("5000000", 2)), actor="board")
        tranche(project, "4000000", "T-3")
        assert len(project.approve("T-3", checker="alice").posted) == 1

    def test_a_rejection_after_one_approval_drops_the_batch(self, project: Aid) -> None:
        """A second checker may reject what the first approved: nothing is posted, ever."""
        project.ledger.set_approval_policy(tranches(("5000000", 2)), actor="board")
        tranche(project, "6000000", "T-4")
        project.approve("T-4", checker="alice")
        assert project.ledger.reject("T-4", checker="bob", reason="no invoice").status == "rejected"
        with pytest.raises(InvalidArgument, match="already rejected"):
            project.approve("T-4", checker="carol")


class TestPolicyInTime:
    def test_a_policy_change_applies_only_to_later_entries(self, project: Aid) -> None:
        """Entries posted under the old policy stay valid; the new one refuses what the old let through."""
        ledger = project.ledger
        ledger.set_approval_policy(tranches(("1000000", 1)), actor="board")
        project.disburse("DOSTYK", kzt("800000"), milestone="m1", on=APRIL, actor="maker")
        tranche(project, "2000000", "T-5")
        project.approve("T-5", checker="alice")
        changed = ledger.set_approval_policy(tranches(("500000", 1), ("1500000", 2)), actor="board")
        assert (changed.code, changed.subject) == ("kind=grant-tranche#2", "kind=grant-tranche")
        with pytest.raises(ApprovalRequired):
            project.disburse("DOSTYK", kzt("800000"), milestone="m2", on=APRIL, actor="maker")
        assert ledger.unapproved() == ()
        assert reconcile(ledger).ok  # the 800,000 and the one-checker 2,000,000 were right when posted
        ledger.set_approval_policy(tranches(), actor="board")  # withdrawn: nothing needed from now on
        project.disburse("DOSTYK", kzt("800000"), milestone="m3", on=APRIL, actor="maker")
        assert reconcile(ledger).ok

    def test_reconcile_reports_an_entry_that_slipped_past(self, project: Aid, monkeypatch: pytest.MonkeyPatch) -> None:
        """A tranche written past the check (a library without it) is reported, with what it needed."""
        ledger = project.ledger
        ledger.set_approval_policy(tranches(("1000000", 1), ("5000000", 2)), actor="board")
        tranche(project, "6000000", "T-6")
        with monkeypatch.context() as patched, without_the_database_rule(ledger):
            patched.setattr(approvals, "current_policies", lambda *_: {})  # a library that knows no policy
            slipped = project.disburse("DOSTYK", kzt("2000000"), milestone="late", on=APRIL, actor="maker")
            short = project.approve("T-6", checker="alice").posted[0]  # one checker where two were needed
        assert verify(ledger).ok  # the chain is intact: only reconcile can tell
        result = reconcile(ledger)
        check = next(c for c in result.checks if c.name == "approvals")
        assert not result.ok and not check.ok
        assert check.difference == "2 entries lack their approvals"
        assert f"entry #{slipped.seq} {slipped.id} ('grant-tranche' by 'maker') needed 1" in check.details[0]
        assert f"#{short.seq}" in check.details[1] and "needed 2" in check.details[1]
        assert [(u.entry.seq, u.needed, u.approvals) for u in ledger.unapproved()] == [
            (slipped.seq, 1, 0),
            (short.seq, 2, 1),
        ]

    def test_an_approval_recorded_after_the_entry_does_not_count(
        self, project: Aid, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Approvals count only if the log holds them before the entry."""
        ledger = project.ledger
        ledger.set_approval_policy(tranches(("1000000", 1)), actor="board")
        entry = tranche(project, "2000000", "T-7")
        with monkeypatch.context() as patched:
            patched.setattr(approvals, "check_post", lambda *_: None)
            patched.setattr("aidledger.ledger.ledger._not_approved_by_hand", lambda _: None)
            with pytest.raises(ApprovalRequired, match="the database refused"):  # no decision by alice before it
                ledger.post(attrs.evolve(entry, approved_by="alice"))
            with without_the_database_rule(ledger):
                early = ledger.post(attrs.evolve(entry, approved_by="alice"))
        project.approve("T-7", checker="alice")  # its decision comes after the first copy was logged
        assert [u.entry.seq for u in ledger.unapproved()] == [early.seq]


class TestTheDatabaseRefuses:
    """The database itself refuses an entry that lacks the approvals the policy in force asks for, whatever the
    code that writes it checks (here: a library whose own check is switched off)."""

    @pytest.fixture
    def unchecked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(approvals, "check_post", lambda *_: None)
        monkeypatch.setattr(approvals, "current_policies", lambda *_: {})

    @pytest.mark.usefixtures("unchecked")
    def test_a_tranche_posted_without_approval(self, project: Aid) -> None:
        """Aid(ledger) with no threshold and a library that skips the check: 2,000,000 KZT is refused."""
        project.ledger.set_approval_policy(tranches(("1000000", 1)), actor="board")
        before = snapshot(project.ledger)
        with pytest.raises(ApprovalRequired, match="the database refused the entry: aidledger: the approval policy"):
            project.disburse("DOSTYK", kzt("2000000"), milestone="roofs", on=APRIL, actor="maker")
        assert snapshot(project.ledger) == before
        project.disburse("DOSTYK", kzt("1000000"), milestone="walls", on=APRIL, actor="maker")  # at the tier: free
        assert reconcile(project.ledger).ok

    @pytest.mark.usefixtures("unchecked")
    def test_one_checker_where_two_are_needed(self, project: Aid) -> None:
        """Approved by one checker under a two-checker tier: the decision and the entry are refused together."""
        project.ledger.set_approval_policy(tranches(("5000000", 2)), actor="board")
        tranche(project, "6000000", "T-9")
        before = snapshot(project.ledger)
        with pytest.raises(ApprovalRequired, match="the database refused"):
            project.approve("T-9", checker="alice")
        assert snapshot(project.ledger) == before
        assert project.ledger.pending("T-9").status == "pending"

    def test_two_checkers_pass_the_database(self, project: Aid, monkeypatch: pytest.MonkeyPatch) -> None:
        """Two distinct checkers, the first recorded as an approval, the second as the decision: posted."""
        project.ledger.set_approval_policy(tranches(("5000000", 2)), actor="board")
        tranche(project, "6000000", "T-10")
        assert project.approve("T-10", checker="alice").posted == ()
        monkeypatch.setattr(approvals, "check_post", lambda *_: None)  # only the database counts now
        assert len(project.approve("T-10", checker="bob").posted) == 1
        assert reconcile(project.ledger).ok

    @pytest.mark.usefixtures("unchecked")
    def test_a_checker_counts_once_and_the_maker_never(self, project: Aid) -> None:
        """The maker's approval record and a second record of the same checker add nothing."""
        ledger = project.ledger
        ledger.set_approval_policy(tranches(("5000000", 3)), actor="board")
        tranche(project, "6000000", "T-11")
        body = {"decision": "approved"}
        for number, actor in enumerate(("maker", "alice", "alice"), start=1):  # written past the library's rules
            ledger.put_record("approval", f"T-11#{number}", body, actor=actor, subject="T-11")
        with pytest.raises(ApprovalRequired, match="the database refused"):
            ledger.approve("T-11", checker="bob")  # alice and bob: two distinct checkers of the three needed
        ledger.put_record("approval", "T-11#4", body, actor="carol", subject="T-11")
        assert len(ledger.approve("T-11", checker="bob").posted) == 1
