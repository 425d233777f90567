"""Every operation is safe to retry in the same way (issue 18).

A retry with the same key (or, for what is made under a code, the same code)
and the same arguments returns the first result and writes nothing; the same
key with other arguments is refused with a typed error and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from aidledger import (
    Aid,
    Delivery,
    DuplicateDefinition,
    Gift,
    IdempotencyConflict,
    InvalidArgument,
    LossReason,
    Money,
    Outcome,
    PaymentLine,
    PaymentStateError,
    PaymentStatus,
    ProviderLine,
    Quantity,
    Severity,
    ValuationBasis,
    commodity,
)
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, KEYS, commit_village, kzt

PACKAGE = commodity("FOOD-PACKAGE", "package")
LATER = APRIL.add(days=1)


def packages(n: str) -> Quantity:
    return Quantity(n, PACKAGE)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def stocked(aid: Aid) -> None:
    aid.receive_goods(
        "FOOD", packages("100"), value=kzt("1000000"), basis=ValuationBasis.MARKET_PRICE, donor="D", on=APRIL, actor="s"
    )


def pledged(aid: Aid) -> None:
    aid.pledge("GENERAL", kzt("1000000"), code="PL-1", donor="D-9", on=APRIL, actor="d")


def programme(aid: Aid) -> None:
    aid.donate("CASH-AID", kzt("9000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")


def lines(*numbers: int) -> list[PaymentLine]:
    return [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"R-{n}") for n in numbers]


def sent(aid: Aid) -> None:
    programme(aid)
    aid.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
    aid.send("L1", provider="kazpost", actor="maker", on=APRIL)


def paid(aid: Aid) -> None:
    sent(aid)
    aid.settle("L1", [ProviderLine("R-1", PaymentStatus.PAID, kzt("50000"))], actor="maker", on=LATER)


def money_in(aid: Aid) -> None:
    aid.donate("GENERAL", kzt("5000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.donate("GENERAL", kzt("100"), donor="D-3", on=APRIL, actor="cashier", key="small-gift")
    aid.donate("CASH-AID", kzt("5000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.designate("GENERAL", kzt("1000000"), to="RESERVE", on=APRIL, actor="board", reason="reserve")
    aid.donate_foreign(
        "GENERAL", usd("1000"), rate="450", rate_date=APRIL.date(), donor="D-2", on=APRIL, actor="c", converted=False
    )


def two_programmes(aid: Aid) -> None:
    programme(aid)
    aid.create_programme("P-3", fund="CASH-AID", purpose="cash-aid", amount=kzt("1000"), actor="admin")


def submitted(aid: Aid) -> None:
    programme(aid)
    aid.submit_payments("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="S1")


def tranche_submitted(aid: Aid) -> None:
    commit_village(aid)
    aid.submit_tranche("DOSTYK", kzt("30000000"), milestone="m1", on=LATER, actor="d", code="T-1", key="t-1")


def nothing(aid: Aid) -> None:
    """No setup beyond the funds."""


Call = Callable[[Aid, bool], Any]

#: name -> (setup, the call: ``other`` gives the same key other arguments, what that raises)
CASES: dict[str, tuple[Callable[[Aid], None], Call, type[Exception]]] = {
    "donate": (
        nothing,
        lambda a, other: a.donate(
            "GENERAL", kzt("7" if other else "5"), donor="D", on=APRIL, actor="c", source="stmt.csv:4", key="bank-4"
        ),
        IdempotencyConflict,
    ),
    "donate_many": (
        nothing,
        lambda a, other: a.donate_many(
            [Gift(fund="GENERAL", amount=kzt("9" if other else "5"), donor="D", on=APRIL, key="gift-1")], actor="c"
        ),
        IdempotencyConflict,
    ),
    "donate_foreign": (
        nothing,
        lambda a, other: a.donate_foreign(
            "GENERAL",
            usd("100"),
            rate="451" if other else "450",
            rate_date=APRIL.date(),
            donor="D",
            on=APRIL,
            actor="c",
            key="fx-1",
        ),
        IdempotencyConflict,
    ),
    "convert": (
        money_in,
        lambda a, other: a.convert(
            "GENERAL", usd("10"), rate="452" if other else "450", rate_date=APRIL.date(), on=LATER, actor="c", key="cv"
        ),
        IdempotencyConflict,
    ),
    "refund": (
        money_in,
        lambda a, other: a.refund(
            "GENERAL", kzt("2" if other else "1"), donor="D-1", on=LATER, actor="c", reason="asked", key="rf"
        ),
        IdempotencyConflict,
    ),
    "release": (
        money_in,
        lambda a, other: a.release(
            "CASH-AID", kzt("2" if other else "1"), to="GENERAL", on=LATER, actor="b", reason="r", key="rl"
        ),
        IdempotencyConflict,
    ),
    "designate": (
        money_in,
        lambda a, other: a.designate(
            "GENERAL", kzt("2" if other else "1"), to="RESERVE", on=LATER, actor="b", reason="r", key="ds"
        ),
        IdempotencyConflict,
    ),
    "undesignate": (
        money_in,
        lambda a, other: a.undesignate(
            "RESERVE", kzt("2" if other else "1"), to="GENERAL", on=LATER, actor="b", reason="r", key="ud"
        ),
        IdempotencyConflict,
    ),
    "pledge": (
        nothing,
        lambda a, other: a.pledge(
            "GENERAL", kzt("2000" if other else "1000"), code="PL-2", donor="D", on=APRIL, actor="d"
        ),
        DuplicateDefinition,
    ),
    "fulfil_pledge": (
        pledged,
        lambda a, other: a.fulfil_pledge("PL-1", kzt("2" if other else "1"), on=LATER, actor="c", key="ff"),
        IdempotencyConflict,
    ),
    "write_off_pledge": (
        pledged,
        lambda a, other: a.write_off_pledge(
            "PL-1", kzt("2" if other else "1"), on=LATER, actor="c", reason="r", key="wo"
        ),
        IdempotencyConflict,
    ),
    "pay (key)": (
        programme,
        lambda a, other: a.pay("ONE-OFF", lines(1, 2, 3) if other else lines(1, 2), actor="m", on=APRIL, key="k-1"),
        IdempotencyConflict,
    ),
    "pay (list_code)": (
        programme,
        lambda a, other: a.pay("ONE-OFF", lines(1, 2, 3) if other else lines(1, 2), actor="m", on=APRIL, list_code="L"),
        IdempotencyConflict,
    ),
    "submit_payments": (
        programme,
        lambda a, other: a.submit_payments(
            "ONE-OFF", lines(1, 2, 3) if other else lines(1, 2), actor="m", on=APRIL, list_code="S", key="s-1"
        ),
        DuplicateDefinition,
    ),
    "send": (
        sent,
        lambda a, other: a.send("L1", provider="halyk" if other else "kazpost", actor="maker", on=APRIL),
        PaymentStateError,  # sent to another provider
    ),
    "receive_goods": (
        nothing,
        lambda a, other: a.receive_goods(
            "FOOD",
            packages("12" if other else "10"),
            value=kzt("100000"),
            basis=ValuationBasis.MARKET_PRICE,
            donor="D",
            on=APRIL,
            actor="s",
            source="waybill-7",
            key="waybill-7",
        ),
        IdempotencyConflict,
    ),
    "dispatch": (
        stocked,
        lambda a, other: a.dispatch(
            "FOOD", packages("3" if other else "2"), to="Ayagoz", on=LATER, actor="d", key="dp"
        ),
        IdempotencyConflict,
    ),
    "deliver": (
        stocked,
        lambda a, other: a.deliver(
            "FOOD", packages("2" if other else "1"), purpose="food", settlement="Ayagoz", on=LATER, actor="v", key="dl"
        ),
        IdempotencyConflict,
    ),
    "deliver_many": (
        stocked,
        lambda a, other: a.deliver_many(
            "FOOD",
            [Delivery(packages("2" if other else "1"), to=KEYS.pseudonym("hh-1"), key="dm-1")],
            purpose="food",
            on=LATER,
            actor="v",
        ),
        IdempotencyConflict,
    ),
    "write_off (stock)": (
        stocked,
        lambda a, other: a.write_off(
            "FOOD", packages("2" if other else "1"), reason=LossReason.SPOILAGE, on=LATER, actor="w", key="wf"
        ),
        IdempotencyConflict,
    ),
    "commit_grant": (
        lambda a: a.donate("HOUSING", kzt("400000000"), donor="D-1", on=APRIL, actor="c"),
        lambda a, other: a.commit_grant(
            "P-2",
            fund="HOUSING",
            amount=kzt("2000" if other else "1000"),
            purpose="housing",
            grantee="G",
            on=APRIL,
            actor="d",
        ),
        DuplicateDefinition,
    ),
    "disburse": (
        commit_village,
        lambda a, other: a.disburse(
            "DOSTYK", kzt("2000000" if other else "1000000"), milestone="m1", on=LATER, actor="d", key="t1"
        ),
        IdempotencyConflict,
    ),
    "submit_tranche": (
        commit_village,
        lambda a, other: a.submit_tranche(
            "DOSTYK",
            kzt("20000000" if other else "30000000"),
            milestone="m1",
            on=LATER,
            actor="d",
            code="T-1",
            key="t1",
        ),
        DuplicateDefinition,  # the pending batch T-1 was submitted with other entries
    ),
    "add_budget_line": (
        programme,
        lambda a, other: a.add_budget_line(
            "B-1",
            amount=kzt("2000" if other else "1000"),
            start=dt.date(2020, 4, 1),
            end=dt.date(2020, 12, 31),
            on=APRIL,
            actor="p",
            programme="ONE-OFF",
        ),
        DuplicateDefinition,
    ),
    "record_verification": (
        paid,
        lambda a, other: a.record_verification(
            "ONE-OFF",
            "R-1",
            Outcome.NOT_RECEIVED if other else Outcome.RECEIVED,
            verified_on=dt.date(2020, 5, 1),
            sample="S-1",
            actor="auditor",
        ),
        DuplicateDefinition,
    ),
    "create_programme": (
        nothing,
        lambda a, other: a.create_programme(
            "P-2", fund="CASH-AID", purpose="cash-aid", amount=kzt("2" if other else "1"), actor="admin"
        ),
        DuplicateDefinition,
    ),
    "declare_exclusion": (
        two_programmes,
        lambda a, other: a.declare_exclusion(
            "X-1", ["ONE-OFF", "P-3"], severity=Severity.HARD, reason="other" if other else "once", actor="admin"
        ),
        DuplicateDefinition,
    ),
    "approve_payments": (
        submitted,
        lambda a, other: a.approve_payments("S1", checker="checker-2" if other else "checker"),
        InvalidArgument,  # already approved by another checker
    ),
    "approve (tranche)": (
        tranche_submitted,
        lambda a, other: a.approve("T-1", checker="checker-2" if other else "checker"),
        InvalidArgument,  # already approved by another checker
    ),
    "correct": (
        money_in,
        lambda a, other: a.correct(
            a.ledger.entry_by_key("small-gift").id,  # type: ignore[union-attr]
            on=LATER,
            actor="c",
            reason="other" if other else "typo",
            key="fix-1",
        ),
        IdempotencyConflict,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_retry_returns_the_first_result_and_writes_nothing(aid: Aid, name: str) -> None:
    setup, call, _ = CASES[name]
    setup(aid)
    first = call(aid, False)
    before = snapshot(aid.ledger)
    assert call(aid, False) == first
    assert snapshot(aid.ledger) == before


@pytest.mark.parametrize("name", list(CASES))
def test_the_same_key_with_other_arguments_is_refused(aid: Aid, name: str) -> None:
    setup, call, error = CASES[name]
    setup(aid)
    call(aid, False)
    before = snapshot(aid.ledger)
    with pytest.raises(error):
        call(aid, True)
    assert snapshot(aid.ledger) == before


def test_a_settlement_retried_writes_nothing_and_reports_its_lines_as_settled_before(aid: Aid) -> None:
    """A provider report is keyed by its lines' references: settling it again posts nothing."""
    sent(aid)
    report = [ProviderLine("R-1", PaymentStatus.PAID, kzt("50000"))]
    first = aid.settle("L1", report, actor="maker", on=LATER)
    before = snapshot(aid.ledger)
    again = aid.settle("L1", report, actor="maker", on=LATER)
    assert snapshot(aid.ledger) == before
    assert (first.paid, again.paid, again.duplicates, again.entries) == (("R-1",), (), tuple(report), ())
