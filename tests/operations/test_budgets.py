"""Budget lines and commitments, and exclusion groups between programmes."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pendulum
import pytest

from aidledger import (
    Aid,
    DuplicateDefinition,
    ExceedsBudget,
    ExclusionConflict,
    InvalidArgument,
    Ledger,
    Money,
    OnConflict,
    PaymentLine,
    PaymentStatus,
    ProviderLine,
    Severity,
    Window,
    audit_report,
    budget_vs_actual,
    exclusion_conflicts,
    reconcile,
)
from aidledger.queries.planning import check_budgets
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, KEYS, kzt

START, END = dt.date(2020, 4, 1), dt.date(2020, 6, 30)


def lines(*numbers: int, region: str = "Abai", prefix: str = "L") -> list[PaymentLine]:
    return [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"{prefix}-{n}", region=region) for n in numbers]


@pytest.fixture
def budgeted(aid: Aid) -> Aid:
    """1,000,000 KZT in the cash-aid fund; a programme of 50,000 per family with a 150,000 line for Abai."""
    aid.donate("CASH-AID", kzt("1000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
    aid.add_budget_line(
        "ONE-OFF-ABAI", programme="ONE-OFF", amount=kzt("150000"), start=START, end=END, region="Abai",
        on=APRIL, actor="planner", name="Abai, second quarter",
    )  # fmt: skip
    return aid


def housing_line(aid: Aid, amount: Money, end: dt.date) -> None:
    """400 million KZT in the housing fund, 340 million of it committed to project DOSTYK, with one budget line."""
    aid.donate("HOUSING", kzt("400000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.commit_grant(
        "DOSTYK", fund="HOUSING", amount=kzt("340000000"), purpose="housing", grantee="Builders LLP",
        on=APRIL, actor="director",
    )  # fmt: skip
    aid.add_budget_line(
        "DOSTYK-HOUSING", project="DOSTYK", amount=amount, start=START, end=end, on=APRIL, actor="planner"
    )


def figures(aid: Aid, **window: object) -> tuple[str, ...]:
    report = budget_vs_actual(aid.ledger, **window)  # type: ignore[arg-type]
    f = report.totals["KZT"]
    return tuple(str(x.value) for x in (f.budgeted, f.committed, f.disbursed, f.returned, f.remaining))


class TestBudgetLines:
    def test_line_is_read_back(self, budgeted: Aid) -> None:
        """A line keeps its owner, fund, purpose, region, period and amount; nothing is committed yet."""
        line = budgeted.budget_line_of("ONE-OFF-ABAI")
        assert (line.owner_code, line.fund, line.purpose, line.region, line.amount) == (
            "ONE-OFF", "CASH-AID", "cash-aid", "Abai", kzt("150000"),
        )  # fmt: skip
        assert figures(budgeted) == ("150000.00", "0.00", "0.00", "0.00", "150000.00")
        assert reconcile(budgeted.ledger).ok
        again = budgeted.add_budget_line(
            "ONE-OFF-ABAI", programme="ONE-OFF", amount=kzt("150000"), start=START, end=END, region="Abai",
            on=APRIL, actor="planner", name="Abai, second quarter",
        )  # fmt: skip
        assert again == line and figures(budgeted)[0] == "150000.00"
        with pytest.raises(DuplicateDefinition):
            budgeted.add_budget_line(
                "ONE-OFF-ABAI", programme="ONE-OFF", amount=kzt("1"), start=START, end=END, on=APRIL, actor="p"
            )

    def test_line_beyond_the_fund_is_refused(self, budgeted: Aid) -> None:
        """A line reserves the fund's money: one beyond what other lines left free is refused, nothing written."""
        before = snapshot(budgeted.ledger)
        with pytest.raises(ExceedsBudget, match=r"850000\.00 KZT short") as refused:
            budgeted.add_budget_line(
                "ONE-OFF-2", programme="ONE-OFF", amount=kzt("1700000"), start=START, end=END, on=APRIL, actor="p"
            )
        assert refused.value.details["shortfall"] == kzt("850000")
        assert snapshot(budgeted.ledger) == before

    def test_outstanding_pledges_count_for_a_line(self, budgeted: Aid) -> None:
        """A line may be planned on what donors pledged and have not yet paid; a commitment needs money in hand."""
        budgeted.pledge("CASH-AID", kzt("500000"), code="P-1", donor="D-2", on=APRIL, actor="cashier")
        budgeted.add_budget_line(
            "ONE-OFF-2", programme="ONE-OFF", amount=kzt("1350000"), start=START, end=END, on=APRIL, actor="p"
        )
        with pytest.raises(ExceedsBudget, match=r"money and outstanding pledges .* 1\.00 KZT short"):
            budgeted.add_budget_line(
                "ONE-OFF-3", programme="ONE-OFF", amount=kzt("1"), start=START, end=END, on=APRIL, actor="p"
            )

    def test_bad_lines_are_refused(self, budgeted: Aid) -> None:
        """A line needs one owner, dates in order, and its owner's currency."""
        with pytest.raises(InvalidArgument, match="exactly one"):
            budgeted.add_budget_line("X", amount=kzt("1"), start=START, end=END, on=APRIL, actor="p")
        with pytest.raises(InvalidArgument, match="before it starts"):
            budgeted.add_budget_line(
                "X", programme="ONE-OFF", amount=kzt("1"), start=END, end=START, on=APRIL, actor="p"
            )


class TestCommitments:
    def test_stages_of_a_list(self, budgeted: Aid) -> None:
        """Approving commits, paying disburses, failing and returning release; reconcile agrees at every step."""
        budgeted.pay("ONE-OFF", lines(1, 2, 3), actor="maker", on=APRIL, list_code="L-1")
        assert figures(budgeted) == ("150000.00", "150000.00", "0.00", "0.00", "0.00")
        budgeted.send("L-1", provider="Kazpost", actor="cashier", on=APRIL.add(hours=1))
        report = [
            ProviderLine("L-1", PaymentStatus.PAID, kzt("50000")),
            ProviderLine("L-2", PaymentStatus.PAID, kzt("50000")),
            ProviderLine("L-3", PaymentStatus.FAILED, kzt("50000")),
        ]
        budgeted.settle("L-1", report, actor="cashier", on=APRIL.add(hours=2))
        assert figures(budgeted) == ("150000.00", "0.00", "100000.00", "0.00", "50000.00")
        budgeted.settle(
            "L-1", [ProviderLine("L-2", PaymentStatus.RETURNED, kzt("50000"))], actor="cashier", on=APRIL.add(days=1)
        )
        assert figures(budgeted) == ("150000.00", "0.00", "100000.00", "50000.00", "100000.00")
        assert reconcile(budgeted.ledger).ok
        # as it stood an hour in, before the report
        assert figures(budgeted, as_of=APRIL.add(hours=1)) == ("150000.00", "150000.00", "0.00", "0.00", "0.00")

    def test_over_commitment_of_a_line_writes_nothing(self, budgeted: Aid) -> None:
        """A list beyond what the line has left is refused, naming the line and what is short; nothing is written."""
        budgeted.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L-1")
        before = snapshot(budgeted.ledger)
        with pytest.raises(ExceedsBudget, match=r"budget line ONE-OFF-ABAI has left: 50,000\.00 KZT short") as refused:
            budgeted.pay("ONE-OFF", lines(3, 4), actor="maker", on=APRIL, list_code="L-2")
        assert refused.value.details["line"] == "ONE-OFF-ABAI"
        assert snapshot(budgeted.ledger) == before
        # the corrected list, with the same code, goes through
        budgeted.pay("ONE-OFF", lines(3), actor="maker", on=APRIL, list_code="L-2")
        assert figures(budgeted)[4] == "0.00"

    def test_approval_commits_and_is_refused_beyond_the_line(self, budgeted: Aid) -> None:
        """A submitted list commits nothing until approved; an approval beyond the line writes nothing."""
        budgeted.submit_payments("ONE-OFF", lines(1, 2, 3, 4), actor="maker", on=APRIL, list_code="BIG")
        assert figures(budgeted)[1] == "0.00"
        before = snapshot(budgeted.ledger)
        with pytest.raises(ExceedsBudget, match=r"50,000\.00 KZT short"):
            budgeted.approve_payments("BIG", checker="checker")
        assert snapshot(budgeted.ledger) == before
        budgeted.submit_payments("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="SMALL")
        budgeted.approve_payments("SMALL", checker="checker")
        assert figures(budgeted)[1:] == ("100000.00", "0.00", "0.00", "50000.00")
        assert check_budgets(budgeted.ledger).ok

    def test_fund_free_balance_is_checked(self, budgeted: Aid) -> None:
        """A list is refused when the fund, less what its other lines reserve, cannot cover it."""
        budgeted.add_budget_line(
            "ONE-OFF-TURKISTAN", programme="ONE-OFF", amount=kzt("800000"), start=START, end=END,
            region="Turkistan", on=APRIL, actor="planner",
        )  # fmt: skip
        budgeted.refund("CASH-AID", kzt("900000"), donor="D-1", on=APRIL, actor="cashier", reason="returned")
        before = snapshot(budgeted.ledger)
        with pytest.raises(ExceedsBudget, match="not reserved by other budget lines"):
            budgeted.pay("ONE-OFF", lines(1), actor="maker", on=APRIL, list_code="L-1", budget_line="ONE-OFF-ABAI")
        assert snapshot(budgeted.ledger) == before

    def test_approval_beyond_the_fund_is_refused(self, budgeted: Aid) -> None:
        """A submitted list whose line has room but whose fund does not: its approval is refused with what is short,
        nothing is written, and the list can be approved once the fund has the money."""
        budgeted.add_budget_line(
            "ONE-OFF-TURKISTAN", programme="ONE-OFF", amount=kzt("800000"), start=START, end=END,
            region="Turkistan", on=APRIL, actor="planner",
        )  # fmt: skip
        budgeted.submit_payments(
            "ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L-1", budget_line="ONE-OFF-ABAI"
        )
        budgeted.refund("CASH-AID", kzt("150000"), donor="D-1", on=APRIL, actor="cashier", reason="returned")
        before = snapshot(budgeted.ledger)
        with pytest.raises(ExceedsBudget, match=r"come to 50000\.00 KZT: 50000\.00 KZT short") as refused:
            budgeted.approve_payments("L-1", checker="checker")
        assert refused.value.details["fund"] == "CASH-AID"
        assert refused.value.details["shortfall"] == kzt("50000")
        assert snapshot(budgeted.ledger) == before
        assert budgeted.ledger.pending("list:L-1").status == "pending"
        budgeted.donate("CASH-AID", kzt("50000"), donor="D-2", on=APRIL, actor="cashier")
        budgeted.approve_payments("L-1", checker="checker")
        assert figures(budgeted)[1] == "100000.00"
        assert check_budgets(budgeted.ledger).ok

    def test_fund_is_checked_under_the_write_lock(self, budgeted: Aid, monkeypatch: pytest.MonkeyPatch) -> None:
        """Money leaving the fund between the approval's reads and its write is seen: the check is made in the
        transaction that writes, so the list is refused and nothing of it is written."""
        budgeted.submit_payments("ONE-OFF", lines(1, 2, 3), actor="maker", on=APRIL, list_code="L-1")
        approve = budgeted.ledger.approve

        def another_writer_first(code: str, **options: object) -> object:
            budgeted.refund("CASH-AID", kzt("900000"), donor="D-1", on=APRIL, actor="cashier", reason="returned")
            monkeypatch.setattr(budgeted.ledger, "approve", approve)
            return approve(code, **options)  # type: ignore[arg-type]

        monkeypatch.setattr(budgeted.ledger, "approve", another_writer_first)
        with pytest.raises(ExceedsBudget, match=r"needs 150000\.00 KZT from fund CASH-AID.*50000\.00 KZT short"):
            budgeted.approve_payments("L-1", checker="checker")
        assert figures(budgeted)[1] == "0.00"
        assert budgeted.ledger.pending("list:L-1").status == "pending"
        assert check_budgets(budgeted.ledger).ok

    def test_tranche_approval_beyond_the_fund_is_refused(self, aid: Aid) -> None:
        """A submitted tranche commits against its line on approval: refused when the fund cannot cover it."""
        housing_line(aid, kzt("340000000"), END)
        aid.submit_tranche("DOSTYK", kzt("100000000"), milestone="walls", on=APRIL, actor="officer", code="T-1")
        aid.refund("HOUSING", kzt("330000000"), donor="D-1", on=APRIL, actor="cashier", reason="returned")
        before = snapshot(aid.ledger)
        with pytest.raises(ExceedsBudget, match=r"batch T-1 needs 100000000\.00 KZT .* 30000000\.00 KZT short"):
            aid.approve("T-1", checker="director")
        assert snapshot(aid.ledger) == before
        aid.donate("HOUSING", kzt("30000000"), donor="D-2", on=APRIL, actor="cashier")
        assert aid.approve("T-1", checker="director").posted
        assert figures(aid, project="DOSTYK")[2] == "100000000.00"

    def test_a_programme_with_two_lines_names_one(self, budgeted: Aid) -> None:
        """With two lines a list names its line; the line's region and period must fit the list."""
        budgeted.add_budget_line(
            "ONE-OFF-Q3", programme="ONE-OFF", amount=kzt("100000"), start=dt.date(2020, 7, 1),
            end=dt.date(2020, 9, 30), on=APRIL, actor="planner",
        )  # fmt: skip
        with pytest.raises(InvalidArgument, match="name the one"):
            budgeted.pay("ONE-OFF", lines(1), actor="maker", on=APRIL, list_code="L-1")
        with pytest.raises(InvalidArgument, match="outside it"):
            budgeted.pay("ONE-OFF", lines(1), actor="maker", on=APRIL, list_code="L-1", budget_line="ONE-OFF-Q3")
        with pytest.raises(InvalidArgument, match="line 1: budget line ONE-OFF-ABAI is for region 'Abai'"):
            budgeted.pay(
                "ONE-OFF",
                lines(1, region="Turkistan"),
                actor="m",
                on=APRIL,
                list_code="L-1",
                budget_line="ONE-OFF-ABAI",
            )
        budgeted.pay("ONE-OFF", lines(1), actor="m", on=APRIL.add(months=3), list_code="L-1", budget_line="ONE-OFF-Q3")
        by_line = {s.line.code: s.figures.committed for s in budget_vs_actual(budgeted.ledger).lines}
        assert by_line == {"ONE-OFF-ABAI": kzt("0"), "ONE-OFF-Q3": kzt("50000")}


class TestGrantLines:
    def test_tranches_disburse_and_clawbacks_release(self, aid: Aid) -> None:
        """A tranche commits and disburses at once; a clawback frees the money; reconcile agrees."""
        housing_line(aid, kzt("300000000"), dt.date(2020, 12, 31))
        aid.disburse("DOSTYK", kzt("9000000"), milestone="foundations", on=APRIL.add(days=1), actor="t")
        aid.claw_back("DOSTYK", kzt("1000000"), on=APRIL.add(days=2), actor="t", reason="unspent")
        assert figures(aid, project="DOSTYK") == ("300000000.00", "0.00", "9000000.00", "1000000.00", "292000000.00")
        assert reconcile(aid.ledger).ok
        aid.submit_tranche("DOSTYK", kzt("293000000"), milestone="roofs", on=APRIL.add(days=3), actor="t", code="T")
        before = snapshot(aid.ledger)
        with pytest.raises(ExceedsBudget, match=r"1,000,000\.00 KZT short"):
            aid.approve("T", checker="director")
        assert snapshot(aid.ledger) == before
        # money coming back after the line's period still goes back to the line it was paid from
        aid.claw_back("DOSTYK", kzt("500000"), on=APRIL.add(years=1), actor="t", reason="found unspent")
        assert figures(aid, project="DOSTYK")[3:] == ("1500000.00", "292500000.00")
        with pytest.raises(InvalidArgument, match="outside it"):
            aid.disburse("DOSTYK", kzt("1"), milestone="late", on=APRIL.add(years=1), actor="t")


def pay_medics_in_child(url: str) -> str:
    with Ledger.open(url) as ledger:
        try:
            Aid(ledger).pay("MEDICS", lines(7, prefix="M"), actor="other-process", on=APRIL, list_code="M-1")
        except ExclusionConflict as error:
            return f"ExclusionConflict: {str(error).split(':')[0]}"
    return "paid by both programmes"


class TestExclusionGroups:
    @pytest.fixture
    def two(self, aid: Aid) -> Aid:
        aid.donate("CASH-AID", kzt("1000000"), donor="D-1", on=APRIL, actor="cashier")
        for code in ("FAMILIES", "MEDICS"):
            aid.create_programme(code, fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
        return aid

    def test_hard_group_refuses_naming_programme_and_line(self, two: Aid) -> None:
        """A beneficiary the other programme pays is refused, naming it and the list line; nothing is written."""
        two.declare_exclusion("ONE-BENEFIT", ["FAMILIES", "MEDICS"], severity=Severity.HARD, reason="r", actor="a")
        two.pay("FAMILIES", lines(1, 2), actor="maker", on=APRIL, list_code="F-1")
        before = snapshot(two.ledger)
        with pytest.raises(ExclusionConflict, match=r"line 2 \(M-2\): .* already paid by programme FAMILIES"):
            two.pay("MEDICS", lines(3, 2, prefix="M"), actor="maker", on=APRIL, list_code="M-1")
        assert snapshot(two.ledger) == before
        skipped = two.pay(
            "MEDICS", lines(3, 2, prefix="M"), actor="maker", on=APRIL, list_code="M-1", on_conflict=OnConflict.SKIP
        )
        assert [c.line.reference for c in skipped.conflicts] == ["M-2"]
        assert exclusion_conflicts(two.ledger) == ()

    def test_another_process_is_refused(self, two: Aid, url: str) -> None:
        """A hard group holds across processes: a second process paying the other programme is refused."""
        two.declare_exclusion("ONE-BENEFIT", ["FAMILIES", "MEDICS"], severity=Severity.HARD, reason="r", actor="a")
        two.pay("FAMILIES", lines(7), actor="maker", on=APRIL, list_code="F-1")
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            assert pool.apply(pay_medics_in_child, (url,)) == "ExclusionConflict: line 1 (M-7)"

    def test_failed_payment_frees_the_beneficiary(self, two: Aid) -> None:
        """A failed payment releases the group's claim as well, so the other programme may pay."""
        two.declare_exclusion("ONE-BENEFIT", ["FAMILIES", "MEDICS"], severity=Severity.HARD, reason="r", actor="a")
        two.pay("FAMILIES", lines(1), actor="maker", on=APRIL, list_code="F-1")
        two.send("F-1", provider="Kazpost", actor="cashier", on=APRIL.add(hours=1))
        two.settle("F-1", [ProviderLine("L-1", PaymentStatus.FAILED, kzt("50000"))], actor="c", on=APRIL.add(hours=2))
        paid = two.pay("MEDICS", lines(1, prefix="M"), actor="maker", on=APRIL.add(hours=3), list_code="M-1")
        assert len(paid.posted) == 1
        assert exclusion_conflicts(two.ledger) == ()

    def test_soft_conflict_is_reported_to_the_auditor(self, two: Aid) -> None:
        """A soft group accepts the second payment and the auditor's report names the beneficiary and programmes."""
        two.declare_exclusion("ONE-BENEFIT", ["FAMILIES", "MEDICS"], severity=Severity.SOFT, reason="r", actor="a")
        two.pay("FAMILIES", lines(1, 2), actor="maker", on=APRIL, list_code="F-1")
        two.pay("MEDICS", lines(2, 3, prefix="M"), actor="maker", on=APRIL, list_code="M-1")
        found = audit_report(two.ledger).exclusions
        assert [(x.group, x.severity, x.beneficiary, x.programmes) for x in found] == [
            ("ONE-BENEFIT", Severity.SOFT, KEYS.pseudonym("hh-2").pseudonym, ("FAMILIES", "MEDICS"))
        ]

    def test_conflicts_as_of_and_known_at(self, two: Aid) -> None:
        """Like every query, the conflicts as they stood at an effective time, or as the ledger knew them then."""
        two.declare_exclusion("ONE-BENEFIT", ["FAMILIES", "MEDICS"], severity=Severity.SOFT, reason="r", actor="a")
        two.pay("FAMILIES", lines(1, 2), actor="maker", on=APRIL, list_code="F-1")
        before_medics = pendulum.now("UTC")
        two.pay("MEDICS", lines(2, prefix="M"), actor="maker", on=APRIL.add(days=1), list_code="M-1")
        two.send("F-1", provider="Kazpost", actor="cashier", on=APRIL.add(days=2))
        failed = [ProviderLine("L-2", PaymentStatus.FAILED, kzt("50000"))]
        before_failure = pendulum.now("UTC")
        two.settle("F-1", failed, actor="cashier", on=APRIL.add(days=3))
        both = [("ONE-BENEFIT", KEYS.pseudonym("hh-2").pseudonym, ("FAMILIES", "MEDICS"))]

        def found(**window: object) -> list[tuple[str, str, tuple[str, ...]]]:
            conflicts = exclusion_conflicts(two.ledger, **window)  # type: ignore[arg-type]
            return [(x.group, x.beneficiary, x.programmes) for x in conflicts]

        assert found() == []  # the failed payment freed household 2
        assert found(as_of=APRIL.add(days=2)) == both  # before the failure took effect
        assert found(as_of=APRIL.add(hours=1)) == []  # before the medics' payment took effect
        assert found(known_at=before_failure) == both
        assert found(known_at=before_medics) == []
        assert found(window=Window(as_of=APRIL.add(days=2))) == both
        # the auditor's report over a window reads the same
        assert [x.beneficiary for x in audit_report(two.ledger, window=Window(known_at=before_failure)).exclusions] == [
            both[0][1]
        ]

    def test_group_declared_later_is_not_known_earlier(self, two: Aid) -> None:
        two.pay("FAMILIES", lines(1), actor="maker", on=APRIL, list_code="F-1")
        two.pay("MEDICS", lines(1, prefix="M"), actor="maker", on=APRIL, list_code="M-1")
        before_group = pendulum.now("UTC")
        two.declare_exclusion("ONE-BENEFIT", ["FAMILIES", "MEDICS"], severity=Severity.SOFT, reason="r", actor="a")
        assert len(exclusion_conflicts(two.ledger)) == 1
        assert exclusion_conflicts(two.ledger, known_at=before_group) == ()
        assert len(exclusion_conflicts(two.ledger, known_at=pendulum.now("UTC"), severity=Severity.SOFT)) == 1
        assert exclusion_conflicts(two.ledger, severity=Severity.HARD) == ()

    def test_group_needs_two_programmes_of_one_key(self, two: Aid) -> None:
        """A group of one programme, or of programmes under two key versions, is refused."""
        with pytest.raises(InvalidArgument, match="two or more"):
            two.declare_exclusion("G", ["FAMILIES"], severity=Severity.HARD, reason="r", actor="a")
        two.create_programme("NEW", fund="CASH-AID", purpose="cash-aid", amount=kzt("1"), actor="a", key_version=2)
        with pytest.raises(InvalidArgument, match="key versions"):
            two.declare_exclusion("G", ["FAMILIES", "NEW"], severity=Severity.HARD, reason="r", actor="a")


class TestExclusionSurvivesErasure:
    def test_erased_person_is_still_excluded(self, aid: Aid, tmp_path: object) -> None:
        """Erasing a person from the registry leaves the journal's claims: the other programme is still refused."""
        from pathlib import Path

        from aidledger import Pseudonymizer, Registry

        aid.donate("CASH-AID", kzt("1000000"), donor="D-1", on=APRIL, actor="cashier")
        for code in ("FAMILIES", "MEDICS"):
            aid.create_programme(code, fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
        aid.declare_exclusion("ONE-BENEFIT", ["FAMILIES", "MEDICS"], severity=Severity.HARD, reason="r", actor="a")
        with Registry.open(f"sqlite:///{Path(str(tmp_path)) / 'registry.db'}", keys=Pseudonymizer(KEYS.keys)) as reg:
            person = reg.register("KZ-HH-77", name="Household 77")
            aid.pay("FAMILIES", [PaymentLine(person, "F-77")], actor="maker", on=APRIL, list_code="F-1")
            assert reg.erase("KZ-HH-77")
            again = reg.keys.pseudonym("KZ-HH-77")  # the organisation still knows the id, not the person's data
        with pytest.raises(ExclusionConflict, match="already paid by programme FAMILIES"):
            aid.pay("MEDICS", [PaymentLine(again, "M-77")], actor="maker", on=APRIL, list_code="M-1")
