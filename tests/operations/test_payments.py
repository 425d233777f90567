"""One-off payment programmes: lists, exactly-once, the provider lifecycle and its report."""

from __future__ import annotations

import multiprocessing
import re
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from aidledger import (
    Aid,
    ApprovalRequired,
    DuplicateClaim,
    IdempotencyConflict,
    InvalidAmount,
    InvalidArgument,
    Ledger,
    OnConflict,
    PaymentLine,
    PaymentStateError,
    PaymentStatus,
    ProviderLine,
    Scope,
    UnknownRecord,
    double_payments,
    reconcile,
    verify,
)
from aidledger.vocabulary import RecordKind
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, KEYS, kzt


def lines(*numbers: int, region: str = "Abai", prefix: str = "L") -> list[PaymentLine]:
    return [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"{prefix}-{n}", region=region) for n in numbers]


@pytest.fixture
def programme(aid: Aid) -> Aid:
    aid.donate("CASH-AID", kzt("9000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme(
        "ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin", name="50,000 KZT per family"
    )
    return aid


class TestProgrammes:
    def test_programme_round_trips(self, programme: Aid) -> None:
        """A programme is stored and read back, with its fixed amount and scope."""
        found = programme.programme_of("ONE-OFF")
        assert (found.fund, found.purpose, found.amount, found.scope) == (
            "CASH-AID",
            "cash-aid",
            kzt("50000"),
            Scope.HOUSEHOLD,
        )
        assert [p.code for p in programme.programmes()] == ["ONE-OFF"]

    def test_amount_rule_is_one_or_the_other(self, aid: Aid) -> None:
        """A programme has a fixed amount or a maximum per line, not both, not neither."""
        with pytest.raises(InvalidArgument, match="either a fixed amount"):
            aid.create_programme("X", fund="CASH-AID", purpose="cash-aid", actor="a")
        with pytest.raises(InvalidArgument, match="either a fixed amount"):
            aid.create_programme(
                "X", fund="CASH-AID", purpose="cash-aid", amount=kzt("1"), max_amount=kzt("2"), actor="a"
            )

    def test_paying_changes_no_chart(self, programme: Aid, monkeypatch: pytest.MonkeyPatch) -> None:
        """A programme opens its accounts once; paying, sending and settling a list (from a new Aid) opens none."""
        other = Aid(programme.ledger)

        def refuse(account: object) -> object:
            raise AssertionError(f"add_account({account!r}) while paying")

        monkeypatch.setattr(other.ledger, "add_account", refuse)
        other.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L-1")
        other.send("L-1", provider="Kazpost", actor="cashier", on=APRIL.add(hours=1))
        report = [
            ProviderLine("L-1", PaymentStatus.PAID, kzt("50000")),
            ProviderLine("L-2", PaymentStatus.FAILED, kzt("50000")),
        ]
        assert other.settle("L-1", report, actor="cashier", on=APRIL.add(days=1)).paid == ("L-1",)

    def test_unknown_programme(self, aid: Aid) -> None:
        """Paying under a programme that was never defined raises UnknownRecord."""
        with pytest.raises(UnknownRecord, match="no programme 'NOPE'"):
            aid.pay("NOPE", lines(1), actor="m", on=APRIL)


class TestExactlyOnce:
    def test_list_posts_one_payment_per_household(self, programme: Aid) -> None:
        """A list of three households posts three payments of 50,000 KZT, tagged by pseudonym and region."""
        result = programme.pay("ONE-OFF", lines(1, 2, 3), actor="maker", on=APRIL.add(days=1), list_code="L1")
        assert (len(result.posted), result.total, result.conflicts) == (3, kzt("150000"), ())
        tags = result.posted[0].entry.tags
        assert tags["beneficiary"] == KEYS.pseudonym("hh-1").pseudonym
        assert tags["region"] == "Abai"
        assert programme.ledger.balance("Liabilities:PaymentsDue:KZT") == kzt("-150000")

    def test_second_list_refuses_a_paid_household(self, programme: Aid) -> None:
        """A household paid in one list makes a later list with it fail whole, naming the claim."""
        programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
        before = snapshot(programme.ledger)
        with pytest.raises(DuplicateClaim, match="already taken"):
            programme.pay("ONE-OFF", lines(3, 2, prefix="M"), actor="maker", on=APRIL, list_code="L2")
        assert snapshot(programme.ledger) == before

    def test_skip_reports_conflicts_and_posts_the_rest(self, programme: Aid) -> None:
        """With OnConflict.SKIP, the paid household and a duplicate in the list are reported, others posted."""
        programme.pay("ONE-OFF", lines(1), actor="maker", on=APRIL, list_code="L1")
        doubled = [*lines(1, 2, 3, prefix="M"), PaymentLine(KEYS.pseudonym("hh-3"), "M-3b")]
        result = programme.pay("ONE-OFF", doubled, actor="maker", on=APRIL, list_code="L2", on_conflict=OnConflict.SKIP)
        assert [c.line.reference for c in result.conflicts] == ["M-1", "M-3b"]
        assert len(result.posted) == 2
        assert "already taken" in result.conflicts[0].reason

    def test_retrying_the_same_list_posts_nothing_new(self, programme: Aid) -> None:
        """Posting a list again (same references) returns the first payments and pays nobody twice."""
        first = programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
        again = programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
        assert [p.id for p in again.posted] == [p.id for p in first.posted]
        assert programme.ledger.balance("Expenses:CASH-AID:KZT") == kzt("100000")

    def test_a_list_made_before_takes_no_new_line(self, programme: Aid) -> None:
        """A later call with a list's code and a line the list does not hold is refused (or sets the line aside)."""
        first = programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
        before = snapshot(programme.ledger)
        with pytest.raises(IdempotencyConflict, match=r"payment list L1 was already made without line 3 \(L-3\)"):
            programme.pay("ONE-OFF", lines(1, 2, 3), actor="maker", on=APRIL, list_code="L1")
        assert snapshot(programme.ledger) == before
        again = programme.pay(
            "ONE-OFF", lines(1, 2, 3), actor="maker", on=APRIL, list_code="L1", on_conflict=OnConflict.SKIP
        )
        assert [p.id for p in again.posted] == [p.id for p in first.posted]
        assert [c.line.reference for c in again.conflicts] == ["L-3"]
        assert snapshot(programme.ledger) == before

    def test_other_process_and_restart_are_refused(self, programme: Aid, url: str) -> None:
        """A second process (a restart) cannot pay a household this process already paid."""
        programme.pay("ONE-OFF", lines(7), actor="maker", on=APRIL, list_code="L1")
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            outcome = pool.apply(pay_in_child, (url,))
        assert outcome == "DuplicateClaim"

    def test_line_amount_rules(self, programme: Aid) -> None:
        """Fixed programmes refuse other amounts; per-line programmes need amounts within their maximum."""
        with pytest.raises(InvalidAmount, match=re.escape("pays exactly 50,000.00 KZT")):
            programme.pay("ONE-OFF", [PaymentLine(KEYS.pseudonym("a"), "A", amount=kzt("49999"))], actor="m", on=APRIL)
        programme.create_programme(
            "MEDICS",
            fund="CASH-AID",
            purpose="cash-aid",
            max_amount=kzt("850000"),
            scope=Scope.INDIVIDUAL,
            actor="admin",
        )
        with pytest.raises(InvalidAmount, match="needs an amount per line"):
            programme.pay("MEDICS", [PaymentLine(KEYS.pseudonym("doc-1"), "D1")], actor="m", on=APRIL)
        with pytest.raises(InvalidAmount, match="above the programme's maximum"):
            programme.pay(
                "MEDICS", [PaymentLine(KEYS.pseudonym("doc-1"), "D1", amount=kzt("850000.01"))], actor="m", on=APRIL
            )
        result = programme.pay(
            "MEDICS",
            [
                PaymentLine(KEYS.pseudonym("doc-1"), "D1", amount=kzt("425000")),
                PaymentLine(KEYS.pseudonym("doc-2"), "D2", amount=kzt("850000")),
            ],
            actor="m",
            on=APRIL,
        )
        assert result.total == kzt("1275000")

    def test_bad_lists_are_refused(self, programme: Aid) -> None:
        """Empty lists, repeated references and non-lines are refused before anything is written."""
        with pytest.raises(InvalidArgument, match="has no lines"):
            programme.pay("ONE-OFF", [], actor="m", on=APRIL)
        with pytest.raises(InvalidArgument, match="appears twice"):
            programme.pay("ONE-OFF", [*lines(1), PaymentLine(KEYS.pseudonym("x"), "L-1")], actor="m", on=APRIL)
        with pytest.raises(InvalidArgument, match="expected a PaymentLine"):
            programme.pay("ONE-OFF", ["hh-1"], actor="m", on=APRIL)  # type: ignore[list-item]
        with pytest.raises(InvalidArgument, match="not a beneficiary pseudonym"):
            PaymentLine(KEYS.pseudonym("x").__class__("Aigerim Nurlanovna"), "L-9")

    def test_fund_cannot_pay_more_than_it_holds(self, aid: Aid) -> None:
        """A list larger than the fund's money is refused whole (the fund's net assets would go negative)."""
        from aidledger import InsufficientBalance

        aid.donate("CASH-AID", kzt("100000"), donor="D", on=APRIL, actor="c")
        aid.create_programme("P", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="a")
        with pytest.raises(InsufficientBalance, match="fund CASH-AID"):
            aid.pay("P", lines(1, 2, 3), actor="m", on=APRIL)


def pay_in_child(url: str) -> str:
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        try:
            aid.pay("ONE-OFF", lines(7, prefix="X"), actor="other-process", on=APRIL, list_code="L-other")
        except DuplicateClaim as error:
            return type(error).__name__
    return "paid twice"


class TestLifecycle:
    def test_paid_failed_returned(self, programme: Aid) -> None:
        """Sent lists settle from the report; failed and returned money goes back to the fund."""
        programme.pay("ONE-OFF", lines(1, 2, 3, 4), actor="maker", on=APRIL, list_code="L1")
        programme.send("L1", provider="Kazpost", actor="treasurer", on=APRIL.add(days=1))
        assert programme.ledger.balance("Assets:ProviderClearing:KZT") == kzt("200000")
        report = [
            ProviderLine("L-1", PaymentStatus.PAID, kzt("50000"), line=2),
            ProviderLine("L-2", PaymentStatus.FAILED, kzt("50000"), line=3),
            ProviderLine("L-3", PaymentStatus.PAID, kzt("50000"), line=4),
        ]
        settled = programme.settle("L1", report, actor="treasurer", on=APRIL.add(days=3))
        assert (settled.paid, settled.failed, settled.outstanding) == (("L-1", "L-3"), ("L-2",), ("L-4",))
        returned = programme.settle(
            "L1", [ProviderLine("L-3", PaymentStatus.RETURNED, kzt("50000"))], actor="treasurer", on=APRIL.add(days=10)
        )
        assert returned.returned == ("L-3",)
        ledger = programme.ledger
        assert ledger.balance("Expenses:CASH-AID:KZT") == kzt("100000")  # L-1 paid, L-4 still due
        assert ledger.balance("Liabilities:PaymentsDue:KZT") == kzt("-50000")  # L-4
        assert ledger.balance("Assets:ProviderClearing:KZT") == kzt("50000")  # L-4 at the provider
        assert ledger.fund_balance("CASH-AID", "KZT") == kzt("9000000") - kzt("100000")  # = - expenses
        assert ledger.trial_balance().balanced
        # A failed or returned household may be paid again, once.
        again = programme.pay(
            "ONE-OFF",
            [PaymentLine(KEYS.pseudonym("hh-2"), "L-2-retry"), PaymentLine(KEYS.pseudonym("hh-3"), "L-3-retry")],
            actor="maker",
            on=APRIL.add(days=11),
            list_code="L2",
        )
        assert len(again.posted) == 2
        with pytest.raises(DuplicateClaim):
            programme.pay(
                "ONE-OFF", [PaymentLine(KEYS.pseudonym("hh-2"), "L-2-again")], actor="maker", on=APRIL.add(days=12)
            )

    def test_report_problems_are_reported_not_posted(self, programme: Aid) -> None:
        """Unknown references, wrong amounts and repeated or contradictory lines are reported and change nothing."""
        programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
        programme.send("L1", provider="Kazpost", actor="t", on=APRIL)
        report = [
            ProviderLine("L-1", PaymentStatus.PAID, kzt("50000"), line=2),
            ProviderLine("L-1", PaymentStatus.PAID, kzt("50000"), line=3),  # the provider paid twice
            ProviderLine("L-9", PaymentStatus.PAID, kzt("50000"), line=4),  # not in the ledger
            ProviderLine("L-2", PaymentStatus.PAID, kzt("5000"), line=5),  # wrong amount
            ProviderLine("L-1", PaymentStatus.FAILED, kzt("50000"), line=6),  # contradicts line 2
        ]
        settled = programme.settle("L1", report, actor="t", on=APRIL.add(days=1))
        assert settled.paid == ("L-1",)
        assert [line.line for line in settled.duplicates] == [3, 6]
        assert [line.reference for line in settled.unmatched] == ["L-9"]
        assert settled.mismatched[0].expected == kzt("50000")
        assert settled.outstanding == ("L-2",)
        assert len(settled.entries) == 1
        again = programme.settle("L1", report[:1], actor="t", on=APRIL.add(days=2))
        assert again.duplicates == (report[0],)

    def test_a_payment_reversed_under_its_own_key_leaves_the_list_settleable(self, programme: Aid) -> None:
        """A reversed payment (its reversal under a key of its own) is not in the list: unmatched, not outstanding."""
        result = programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
        programme.ledger.reverse(result.posted[0].id, actor="accountant", idempotency_key="fix-1")
        programme.send("L1", provider="Kazpost", actor="t", on=APRIL.add(hours=1))
        report = [ProviderLine(f"L-{n}", PaymentStatus.PAID, kzt("50000")) for n in (1, 2)]
        settled = programme.settle("L1", report, actor="t", on=APRIL.add(days=1))
        assert (settled.paid, settled.unmatched, settled.outstanding) == (("L-2",), (report[0],), ())
        assert reconcile(programme.ledger).ok

    def test_a_reversed_settlement_is_not_done(self, programme: Aid) -> None:
        """Issue 16: a settlement that was reversed no longer stands: the payment settles again, exactly once."""
        programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
        programme.send("L1", provider="Kazpost", actor="t", on=APRIL.add(hours=1))
        paid = [ProviderLine("L-1", PaymentStatus.PAID, kzt("50000")), ProviderLine("L-2", PaymentStatus.FAILED,
                kzt("50000"))]  # fmt: skip
        first = programme.settle("L1", paid, actor="t", on=APRIL.add(days=1))
        for entry in first.entries:
            programme.ledger.reverse(entry.id, actor="accountant", idempotency_key=f"fix-{entry.id}")
        again = programme.settle("L1", paid, actor="t", on=APRIL.add(days=2))
        assert (again.paid, again.failed, again.duplicates, len(again.entries)) == (("L-1",), ("L-2",), (), 2)
        assert again.outstanding == ()
        retry = programme.settle("L1", paid, actor="t", on=APRIL.add(days=3))
        assert (retry.entries, retry.duplicates) == ((), tuple(paid))
        returned = [ProviderLine("L-1", PaymentStatus.RETURNED, kzt("50000"))]
        assert programme.settle("L1", returned, actor="t", on=APRIL.add(days=3)).returned == ("L-1",)
        assert reconcile(programme.ledger).ok

    def test_lifecycle_order_is_enforced(self, programme: Aid) -> None:
        """A list is settled only after it was sent, and sent once (a retry returns the first); returned needs paid."""
        programme.pay("ONE-OFF", lines(1), actor="maker", on=APRIL, list_code="L1")
        with pytest.raises(PaymentStateError, match="was not sent"):
            programme.settle("L1", [], actor="t", on=APRIL)
        sent = programme.send("L1", provider="Kazpost", actor="t", on=APRIL)
        assert programme.send("L1", provider="Kazpost", actor="t", on=APRIL) == sent  # a retry
        with pytest.raises(PaymentStateError, match="already sent to Kazpost"):
            programme.send("L1", provider="Halyk", actor="t", on=APRIL)
        early = programme.settle("L1", [ProviderLine("L-1", PaymentStatus.RETURNED, kzt("50000"))], actor="t", on=APRIL)
        assert early.duplicates and not early.returned


class TestMakerChecker:
    def test_large_list_needs_a_second_person(self, programme: Aid) -> None:
        """A list above the threshold is refused by pay(); submitted, it posts only on another person's approval."""
        many = lines(*range(1, 202))  # 201 x 50,000 = 10,050,000 KZT > 10,000,000
        programme.donate("CASH-AID", kzt("2000000"), donor="D-2", on=APRIL, actor="c")
        before = snapshot(programme.ledger)
        with pytest.raises(
            ApprovalRequired, match=re.escape("10,050,000.00 KZT is above the approval threshold of 10,000,000.00")
        ):
            programme.pay("ONE-OFF", many, actor="maker", on=APRIL, list_code="BIG")
        assert snapshot(programme.ledger) == before
        pending = programme.submit_payments("ONE-OFF", many, actor="maker", on=APRIL, list_code="BIG")
        assert pending.total == {"KZT": kzt("10050000")}
        with pytest.raises(InvalidArgument, match="cannot also approve"):
            programme.approve_payments("BIG", checker="maker")
        result = programme.approve_payments("BIG", checker="checker")
        assert len(result.posted) == 201
        assert {p.entry.approved_by for p in result.posted} == {"checker"}
        assert {p.entry.actor for p in result.posted} == {"maker"}

    def test_a_failed_submission_leaves_nothing_and_can_be_made_again(self, programme: Aid) -> None:
        """A failure after the pending batch is written, before the list's record, leaves neither; a retry submits once."""
        written: list[str] = []

        def fail_on_the_list(_: Connection, __: Any, statement: str, parameters: Any, *___: Any) -> None:
            if statement.startswith("INSERT INTO records"):
                if RecordKind.PAYMENT_LIST in str(parameters):
                    assert len(written) == 1  # the pending batch is written, in this transaction
                    raise RuntimeError("the process died here")
                written.append(statement)

        before = snapshot(programme.ledger)
        event.listen(programme.ledger.engine, "before_cursor_execute", fail_on_the_list)
        with pytest.raises(RuntimeError, match="died"):
            programme.submit_payments("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L-9")
        event.remove(programme.ledger.engine, "before_cursor_execute", fail_on_the_list)
        assert snapshot(programme.ledger) == before
        assert programme.ledger.record("pending", "list:L-9") is None
        assert programme.ledger.record(RecordKind.PAYMENT_LIST, "L-9") is None

        pending = programme.submit_payments("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L-9")
        assert (pending.code, pending.status, pending.total) == ("list:L-9", "pending", {"KZT": kzt("100000")})
        assert [r.code for r in programme.ledger.records("pending")] == ["list:L-9"]
        assert [r.code for r in programme.ledger.records(RecordKind.PAYMENT_LIST)] == ["L-9"]
        assert len(programme.approve_payments("L-9", checker="checker").posted) == 2
        assert verify(programme.ledger).ok


def test_double_payment_across_programmes_is_flagged(programme: Aid) -> None:
    """A household paid by two live programmes for the same purpose is reported."""
    programme.create_programme("TOP-UP", fund="CASH-AID", purpose="cash-aid", amount=kzt("10000"), actor="a")
    programme.pay("ONE-OFF", lines(1, 2), actor="m", on=APRIL)
    programme.pay("TOP-UP", lines(2, 3, prefix="T"), actor="m", on=APRIL)
    flagged = double_payments(programme.ledger)
    assert [(d.beneficiary, d.programmes) for d in flagged] == [
        (KEYS.pseudonym("hh-2").pseudonym, ("ONE-OFF", "TOP-UP"))
    ]
    assert double_payments(programme.ledger, purpose="food") == ()
