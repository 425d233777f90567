"""Refusals name the true cause (issue 18): a list's whole shortfall, the repeated lines, a date too early."""

from __future__ import annotations

import pytest

from aidledger import (
    Aid,
    DuplicateClaim,
    InsufficientFunds,
    OutOfOrder,
    PaymentLine,
    PaymentStatus,
    ProviderLine,
    RepeatedBeneficiary,
)
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, KEYS, kzt


def lines(*numbers: int) -> list[PaymentLine]:
    return [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"R-{n}") for n in numbers]


@pytest.fixture
def programme(aid: Aid) -> Aid:
    aid.donate("CASH-AID", kzt("1000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
    return aid


def test_a_short_list_names_its_total_what_is_available_and_the_whole_shortfall(programme: Aid) -> None:
    before = snapshot(programme.ledger)
    with pytest.raises(InsufficientFunds) as caught:
        programme.pay("ONE-OFF", lines(*range(1, 31)), actor="maker", on=APRIL, list_code="L1")
    error = caught.value
    assert (error.fund, error.total, error.available, error.shortfall) == (
        "CASH-AID",
        kzt("1500000"),
        kzt("1000000"),
        kzt("500000"),
    )
    assert "L1 totals 1,500,000.00 KZT" in str(error)
    assert "500,000.00 KZT short" in str(error)
    assert "+06:00" in str(error)  # the time zone the caller gave
    assert snapshot(programme.ledger) == before


def test_a_beneficiary_on_two_lines_is_named_by_both_lines_and_references(programme: Aid) -> None:
    given = [*lines(1, 2, 3), PaymentLine(KEYS.pseudonym("hh-2"), "X-2")]
    before = snapshot(programme.ledger)
    with pytest.raises(RepeatedBeneficiary) as caught:
        programme.pay("ONE-OFF", given, actor="maker", on=APRIL, list_code="L2")
    assert (caught.value.lines, caught.value.references) == ((2, 4), ("R-2", "X-2"))
    assert "lines 2 and 4 (references R-2 and X-2)" in str(caught.value)
    assert KEYS.pseudonym("hh-2").pseudonym not in str(caught.value)  # not 64 characters of hash
    assert snapshot(programme.ledger) == before


def test_with_skip_the_repeated_line_is_set_aside_with_its_lines_named(programme: Aid) -> None:
    from aidledger import OnConflict

    given = [*lines(1, 2), PaymentLine(KEYS.pseudonym("hh-2"), "X-2")]
    result = programme.pay("ONE-OFF", given, actor="maker", on=APRIL, list_code="L3", on_conflict=OnConflict.SKIP)
    assert [c.line.reference for c in result.conflicts] == ["X-2"]
    assert "lines 2 and 3 (references R-2 and X-2)" in result.conflicts[0].reason


def test_an_already_paid_beneficiary_is_named_by_its_line(programme: Aid) -> None:
    programme.pay("ONE-OFF", lines(1, 2), actor="maker", on=APRIL, list_code="L1")
    again = [*lines(3), PaymentLine(KEYS.pseudonym("hh-2"), "B-2")]
    with pytest.raises(DuplicateClaim, match=r"payment list L2: line 2 \(B-2\): beneficiary v1-"):
        programme.pay("ONE-OFF", again, actor="maker", on=APRIL, list_code="L2")


def test_a_settlement_before_its_approval_says_so(programme: Aid) -> None:
    programme.pay("ONE-OFF", lines(1), actor="maker", on=APRIL, list_code="L1")
    programme.send("L1", provider="kazpost", actor="maker", on=APRIL)
    before = snapshot(programme.ledger)
    early = APRIL.subtract(days=2)
    with pytest.raises(OutOfOrder) as caught:
        programme.settle("L1", [ProviderLine("R-1", PaymentStatus.PAID, kzt("50000"))], actor="maker", on=early)
    assert (caught.value.event, caught.value.effective_at, caught.value.event_at) == ("approval", early, APRIL)
    assert "before its approval on 2020-04-01T09:00:00+06:00" in str(caught.value)
    assert snapshot(programme.ledger) == before


def test_a_settlement_before_the_list_was_sent_says_so(programme: Aid) -> None:
    programme.pay("ONE-OFF", lines(1), actor="maker", on=APRIL, list_code="L1")
    programme.send("L1", provider="kazpost", actor="maker", on=APRIL.add(days=3))
    with pytest.raises(OutOfOrder, match="before its sending to the provider"):
        programme.settle(
            "L1", [ProviderLine("R-1", PaymentStatus.PAID, kzt("50000"))], actor="maker", on=APRIL.add(days=1)
        )
