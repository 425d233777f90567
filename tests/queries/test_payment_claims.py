"""A payment built by hand and posted through the generic path, without its claim, is reported."""

from __future__ import annotations

import attrs
import pytest

from aidledger import (
    Aid,
    Check,
    PaymentLine,
    PostedEntry,
    double_payments,
    reconcile,
    unclaimed_payments,
    verify,
)
from tests.operations.conftest import APRIL, KEYS, kzt

HOUSEHOLD = KEYS.pseudonym("hh-1")


@pytest.fixture
def paid(aid: Aid) -> tuple[Aid, PostedEntry]:
    """One household paid 50,000 KZT by a one-off programme; the payment entry."""
    aid.donate("CASH-AID", kzt("9000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
    aid.pay("ONE-OFF", [PaymentLine(HOUSEHOLD, "L-1")], actor="officer", on=APRIL, list_code="L")
    payment = next(p for p in aid.ledger.entries() if p.entry.kind == "payment")
    return aid, payment


def names(checks: tuple[Check, ...]) -> list[str]:
    return [check.name for check in checks]


def by_hand(payment: PostedEntry, key: str) -> PostedEntry:
    """The same payment again, built by hand without the programme's claim."""
    return attrs.evolve(payment.entry, claims=(), idempotency_key=key)  # type: ignore[return-value]


def test_a_second_payment_without_its_claim_is_reported(paid: tuple[Aid, PostedEntry]) -> None:
    """Ledger.post pays the household again; reconcile and double_payments both name it, verify stays OK."""
    aid, payment = paid
    assert names(reconcile(aid.ledger).failed) == ["payment lists settled"]  # approved, not yet sent
    assert double_payments(aid.ledger) == ()
    again = aid.ledger.post(by_hand(payment, "hand-1"))  # type: ignore[arg-type]
    assert verify(aid.ledger).ok  # nothing was changed behind the library: the chain is intact
    assert [(u.seq, u.programme, u.beneficiary, u.also_paid) for u in unclaimed_payments(aid.ledger)] == [
        (again.seq, "ONE-OFF", HOUSEHOLD.pseudonym, 1)
    ]
    assert [(d.beneficiary, d.purpose, d.programmes) for d in double_payments(aid.ledger)] == [
        (HOUSEHOLD.pseudonym, "cash-aid", ("ONE-OFF", "ONE-OFF"))
    ]
    assert double_payments(aid.ledger, purpose="food") == ()
    failed = reconcile(aid.ledger).failed
    assert names(failed) == ["payment lists settled", "payment claims"]
    assert failed[1].details == (
        f"payment entry #{again.seq} {again.id} pays beneficiary {HOUSEHOLD.pseudonym} in programme ONE-OFF "
        "without the programme's claim; the beneficiary holds 1 other payment(s) of it",
    )


def test_a_lone_payment_without_its_claim_is_reported_and_a_reversal_clears_it(
    paid: tuple[Aid, PostedEntry],
) -> None:
    """An unclaimed payment to a household never paid is still outside the rule; reversing it settles that."""
    aid, payment = paid
    other = KEYS.pseudonym("hh-2").pseudonym
    lone = attrs.evolve(
        by_hand(payment, "hand-2"),  # type: ignore[arg-type]
        tags={**payment.entry.tags, "beneficiary": other, "reference": "L-2"},
    )
    posted = aid.ledger.post(lone)
    assert [(u.beneficiary, u.also_paid) for u in unclaimed_payments(aid.ledger)] == [(other, 0)]
    assert double_payments(aid.ledger) == ()
    assert reconcile(aid.ledger).failed[-1].details[0].endswith("without the programme's claim")
    aid.ledger.reverse(posted.id, actor="officer")
    assert unclaimed_payments(aid.ledger) == ()
    assert names(reconcile(aid.ledger).failed) == ["payment lists settled"]
