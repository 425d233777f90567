"""Housing grants, period close with traced corrections, and makers and checkers on tranches."""

from __future__ import annotations

import re

import pytest

from aidledger import (
    Aid,
    ApprovalRequired,
    DuplicateDefinition,
    ExceedsCommitment,
    ExceedsReceived,
    InsufficientBalance,
    InvalidAmount,
    InvalidArgument,
    JournalEntry,
    PeriodClosed,
    Posting,
    PurposeMismatch,
    UnknownRecord,
    Window,
    describe,
    grant_status,
)
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, VILLAGE, commit_village, kzt


@pytest.fixture
def project(aid: Aid) -> Aid:
    """340 million KZT in the housing fund, all committed to one village."""
    return commit_village(aid)


class TestCommitments:
    def test_commitment_is_memo_only(self, project: Aid) -> None:
        """A commitment touches no real money: the fund still holds all of it; the project is remembered."""
        status = grant_status(project.ledger, "DOSTYK")
        assert (status.committed, status.disbursed, status.remaining) == (kzt("340000000"), kzt("0"), kzt("340000000"))
        assert status.project.description == VILLAGE
        assert project.ledger.fund_balance("HOUSING", "KZT") == kzt("400000000")
        assert project.ledger.trial_balance().balanced

    def test_tranches_draw_the_commitment_down(self, project: Aid) -> None:
        """Tranches against milestones spend money and reduce what remains, at every date."""
        project.disburse("DOSTYK", kzt("9000000"), milestone="foundations", on=APRIL.add(months=1), actor="t")
        project.disburse("DOSTYK", kzt("8000000"), milestone="walls", on=APRIL.add(months=3), actor="t")
        assert grant_status(project.ledger, "DOSTYK", window=Window(as_of=APRIL.add(months=2))).remaining == kzt(
            "331000000"
        )
        status = grant_status(project.ledger, "DOSTYK")
        assert (status.disbursed, status.remaining) == (kzt("17000000"), kzt("323000000"))
        assert project.ledger.balance("Expenses:HOUSING:KZT", "HOUSING") == kzt("17000000")

    def test_tranche_beyond_the_commitment_is_refused(self, aid: Aid) -> None:
        """A tranche larger than what remains raises ExceedsCommitment and writes nothing."""
        aid.donate("HOUSING", kzt("9000000"), donor="D", on=APRIL, actor="c")
        aid.commit_grant("SMALL", fund="HOUSING", amount=kzt("5000000"), purpose="housing", grantee="G", on=APRIL,
                         actor="d")  # fmt: skip
        aid.disburse("SMALL", kzt("4000000"), milestone="roof", on=APRIL, actor="t")
        before = snapshot(aid.ledger)
        with pytest.raises(
            ExceedsCommitment, match=re.escape("project SMALL has less than 1,000,000.01 KZT committed")
        ):
            aid.disburse("SMALL", kzt("1000000.01"), milestone="rest", on=APRIL, actor="t")
        assert snapshot(aid.ledger) == before
        assert grant_status(aid.ledger, "SMALL").remaining == kzt("1000000")

    def test_tranche_needs_the_cash_too(self, aid: Aid) -> None:
        """A commitment larger than the fund's cash does not let a tranche overdraw the bank."""
        aid.donate("HOUSING", kzt("100"), donor="D", on=APRIL, actor="c")
        aid.commit_grant("P", fund="HOUSING", amount=kzt("1000"), purpose="housing", grantee="G", on=APRIL, actor="d")
        with pytest.raises(InsufficientBalance, match="Assets:Bank:KZT"):
            aid.disburse("P", kzt("101"), milestone="m", on=APRIL, actor="t")

    def test_clawback_restores_the_commitment(self, project: Aid) -> None:
        """Unspent money comes back to the fund and what remains grows again; more than was paid is refused."""
        project.disburse("DOSTYK", kzt("9000000"), milestone="foundations", on=APRIL, actor="t")
        project.claw_back("DOSTYK", kzt("1500000"), reason="two houses not built", on=APRIL.add(days=9), actor="t")
        status = grant_status(project.ledger, "DOSTYK")
        assert (status.disbursed, status.clawed_back, status.remaining) == (
            kzt("9000000"),
            kzt("1500000"),
            kzt("332500000"),
        )
        assert status.remaining == status.committed - status.disbursed + status.clawed_back
        before = snapshot(project.ledger)
        with pytest.raises(ExceedsReceived, match=re.escape("only 7,500,000.00 KZT was paid out net")):
            project.claw_back("DOSTYK", kzt("7500000.01"), reason="x", on=APRIL.add(days=10), actor="t")
        assert snapshot(project.ledger) == before

    def test_bad_commitments_are_refused(self, aid: Aid) -> None:
        """Wrong purpose, a zero amount, an unknown project and a changed project are refused; nothing is written."""
        before = snapshot(aid.ledger)
        with pytest.raises(PurposeMismatch, match="fund HOUSING is donor-restricted to 'housing'"):
            aid.commit_grant("X", fund="HOUSING", amount=kzt("1"), purpose="food", grantee="G", on=APRIL, actor="d")
        with pytest.raises(InvalidAmount, match="must be positive"):
            aid.commit_grant("X", fund="HOUSING", amount=kzt("0"), purpose="housing", grantee="G", on=APRIL, actor="d")
        with pytest.raises(UnknownRecord, match="no project 'NOPE'"):
            aid.disburse("NOPE", kzt("1"), milestone="m", on=APRIL, actor="t")
        assert snapshot(aid.ledger) == before
        aid.commit_grant("X", fund="HOUSING", amount=kzt("5"), purpose="housing", grantee="G", on=APRIL, actor="d")
        with pytest.raises(DuplicateDefinition, match="project 'X' already exists"):
            aid.commit_grant("X", fund="HOUSING", amount=kzt("6"), purpose="housing", grantee="G", on=APRIL, actor="d")


class TestMakerChecker:
    def test_large_tranche_needs_a_second_person(self, project: Aid) -> None:
        """Above the threshold, disburse() is refused; a submitted tranche posts on another person's approval."""
        before = snapshot(project.ledger)
        with pytest.raises(ApprovalRequired, match="above the approval threshold"):
            project.disburse("DOSTYK", kzt("85000000"), milestone="roofs", on=APRIL, actor="maker")
        assert snapshot(project.ledger) == before
        project.submit_tranche("DOSTYK", kzt("85000000"), milestone="roofs", on=APRIL, actor="maker", code="DOSTYK-T2")
        assert grant_status(project.ledger, "DOSTYK").disbursed == kzt("0")
        with pytest.raises(InvalidArgument, match="cannot also approve"):
            project.approve("DOSTYK-T2", checker="maker")
        posted = project.approve("DOSTYK-T2", checker="controller").posted
        assert (posted[0].entry.actor, posted[0].entry.approved_by) == ("maker", "controller")
        assert grant_status(project.ledger, "DOSTYK").disbursed == kzt("85000000")

    def test_approved_tranche_still_respects_the_commitment(self, project: Aid) -> None:
        """Approval does not bypass the ledger's rules: a tranche beyond what remains stays refused."""
        project.submit_tranche("DOSTYK", kzt("340000000.01"), milestone="all", on=APRIL, actor="m", code="T-ALL")
        with pytest.raises(InsufficientBalance, match="Memo:Grants:DOSTYK:KZT"):
            project.approve("T-ALL", checker="c")


class TestPeriods:
    def test_closed_period_refuses_operations(self, project: Aid) -> None:
        """After closing April, no operation can be effective in April; May is open."""
        project.close_period(APRIL.end_of("month"), actor="chief-accountant")
        before = snapshot(project.ledger)
        with pytest.raises(PeriodClosed):
            project.donate("GENERAL", kzt("1"), donor="D", on=APRIL.add(days=3), actor="c")
        with pytest.raises(PeriodClosed):
            project.disburse("DOSTYK", kzt("1"), milestone="m", on=APRIL.add(days=3), actor="t")
        assert snapshot(project.ledger) == before
        project.donate("GENERAL", kzt("1"), donor="D", on=APRIL.add(months=1), actor="c")

    def test_correction_goes_into_the_open_period_and_points_at_the_original(self, project: Aid) -> None:
        """A wrong tranche in a closed month is reversed and replaced in May; both entries point at it."""
        wrong = project.disburse("DOSTYK", kzt("9000000"), milestone="foundations", on=APRIL.add(days=5), actor="t")
        project.close_period(APRIL.end_of("month"), actor="chief-accountant")
        amount = kzt("900000")
        right = JournalEntry(
            kind="grant-tranche",
            effective_at=APRIL.add(months=1),
            postings=[
                Posting.debit(p.account, p.fund, amount)
                if p.amount.value > 0
                else Posting.credit(p.account, p.fund, amount)
                for p in wrong.entry.postings
            ],
            actor="t",
            memo="foundations (900,000 not 9,000,000)",
            tags=wrong.entry.tags,
        )
        reversal, replacement = project.correct(
            wrong.id, right, actor="t", on=APRIL.add(months=1), reason="typed one zero too many"
        )
        assert reversal.entry.reverses == wrong.id
        assert replacement.entry.tags["corrects"] == wrong.id
        assert grant_status(project.ledger, "DOSTYK").disbursed == kzt("900000")
        assert grant_status(project.ledger, "DOSTYK", window=Window(as_of=APRIL.end_of("month"))).disbursed == kzt(
            "9000000"
        )
        with pytest.raises(PeriodClosed):
            project.correct(wrong.id, actor="t", on=APRIL.add(days=20), reason="into the closed month")


class TestTrancheNumbers:
    def test_a_numbered_tranche_says_which_of_how_many(self, aid: Aid) -> None:
        """The agreement's count of tranches is kept in the project's record and copied, with the tranche's number,
        into the entry's tags; the narration every export writes reads "tranche 2 of 3" from the entry alone."""
        aid.donate("HOUSING", kzt("9000000"), donor="D", on=APRIL, actor="c")
        project = aid.commit_grant("DOSTYK", fund="HOUSING", amount=kzt("6000000"), purpose="housing",
                                   grantee="Dostyk LLP", on=APRIL, actor="d", tranches=3)  # fmt: skip
        assert project.tranches == 3 and aid.project_of("DOSTYK").tranches == 3
        posted = aid.disburse("DOSTYK", kzt("2000000"), milestone="walls", on=APRIL, actor="t", tranche=2)
        assert (posted.entry.tags["tranche"], posted.entry.tags["tranches"]) == ("2", "3")
        assert describe(posted.entry).narration == "Housing grant tranche 2 of 3, project DOSTYK, walls"
        (commitment,) = [p for p in aid.ledger.entries() if p.entry.kind == "grant-commitment"]
        assert describe(commitment.entry).narration == "Housing grant committed in 3 tranches, project DOSTYK"

    def test_without_a_count_a_tranche_has_its_number_only(self, project: Aid) -> None:
        """A project committed without a count of tranches: "tranche 1"; without a number, no number at all."""
        assert project.project_of("DOSTYK").tranches is None
        first = project.disburse("DOSTYK", kzt("1000"), milestone="foundations", on=APRIL, actor="t", tranche=1)
        assert describe(first.entry).narration == "Housing grant tranche 1, project DOSTYK, foundations"
        assert "tranches" not in first.entry.tags
        plain = project.disburse("DOSTYK", kzt("1000"), milestone="walls", on=APRIL, actor="t")
        assert "tranche" not in plain.entry.tags
        assert describe(plain.entry).narration == "Housing grant tranche, project DOSTYK, walls"

    @pytest.mark.parametrize(
        ("tranches", "tranche", "message"),
        [
            (0, None, "tranches must be a whole number from 1, got 0"),
            ("3", None, "tranches must be a whole number from 1, got '3'"),
            (3, 4, "tranche of project P must be a whole number from 1 to 3, got 4"),
            (3, 0, "tranche of project P must be a whole number from 1 to 3, got 0"),
            (None, True, "tranche of project P must be a whole number from 1, got True"),
        ],
    )
    def test_impossible_numbers_are_refused(self, aid: Aid, tranches: object, tranche: object, message: str) -> None:
        """A count below one, or a tranche number outside 1..count, is InvalidArgument and writes nothing."""
        aid.donate("HOUSING", kzt("9000000"), donor="D", on=APRIL, actor="c")
        commit = {"fund": "HOUSING", "amount": kzt("5000000"), "purpose": "housing", "grantee": "G", "on": APRIL,
                  "actor": "d"}  # fmt: skip
        if tranche is None:
            before = snapshot(aid.ledger)
            with pytest.raises(InvalidArgument, match=re.escape(message)):
                aid.commit_grant("P", **commit, tranches=tranches)  # type: ignore[arg-type]
            assert snapshot(aid.ledger) == before
            return
        aid.commit_grant("P", **commit, tranches=tranches)  # type: ignore[arg-type]
        before = snapshot(aid.ledger)
        with pytest.raises(InvalidArgument, match=re.escape(message)):
            aid.disburse("P", kzt("1000"), milestone="m", on=APRIL, actor="t", tranche=tranche)  # type: ignore[arg-type]
        assert snapshot(aid.ledger) == before
