"""One beneficiary paid from several programmes of one purpose, on both backends."""

from __future__ import annotations

import pytest

from aidledger import (
    Aid,
    InvalidArgument,
    Ledger,
    Money,
    PaymentLine,
    PaymentStatus,
    ProviderLine,
    Window,
    double_payments,
    same_beneficiary_several_programmes,
)
from tests.conftest import KZT
from tests.queries.entry_testing.journal import KEYS, START, Clock


def test_same_beneficiary_several_programmes(url: str) -> None:
    """Live payments in two programmes of one purpose are flagged; a failed one no longer counts, unless known before."""
    clock = Clock(START)
    with Ledger.open(url, clock=clock) as ledger:
        aid = Aid(ledger)
        aid.create_fund("CASH-AID", name="Cash aid", purpose="cash-aid")
        aid.create_fund("FOOD", name="Food", purpose="food")
        aid.donate("CASH-AID", Money("9000000", KZT), donor="D-1", on=START, actor="cashier")
        aid.donate("FOOD", Money("9000000", KZT), donor="D-1", on=START, actor="cashier")
        kzt = Money("50000", KZT)
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt, actor="admin")
        aid.create_programme("TOP-UP", fund="CASH-AID", purpose="cash-aid", amount=kzt, actor="admin")
        aid.create_programme("FOOD-CASH", fund="FOOD", purpose="food", amount=kzt, actor="admin")

        def line(n: int, prefix: str) -> PaymentLine:
            return PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"{prefix}-{n}")

        aid.pay("ONE-OFF", [line(1, "O"), line(2, "O"), line(3, "O")], actor="m", on=START, list_code="O1")
        aid.pay("TOP-UP", [line(2, "T"), line(3, "T")], actor="m", on=START, list_code="T1")
        aid.pay("FOOD-CASH", [line(1, "F")], actor="m", on=START, list_code="F1")  # another purpose
        before_failure = clock.now
        clock.set(START.add(days=2))
        aid.send("O1", provider="bank", actor="m", on=START.add(days=1))
        aid.settle("O1", [ProviderLine("O-3", PaymentStatus.FAILED, kzt)], actor="m", on=START.add(days=2))

        found = same_beneficiary_several_programmes(aid.ledger)
        hh2 = KEYS.pseudonym("hh-2").pseudonym
        assert [(f.beneficiary, f.purpose, f.programmes) for f in found] == [(hh2, "cash-aid", ("ONE-OFF", "TOP-UP"))]
        assert [e.kind for e in found[0].entries] == ["payment", "payment"]
        assert [(d.beneficiary, d.programmes) for d in double_payments(aid.ledger)] == [
            (f.beneficiary, f.programmes) for f in found
        ]
        assert same_beneficiary_several_programmes(ledger, "food") == ()
        earlier = same_beneficiary_several_programmes(ledger, "cash-aid", window=Window(known_at=before_failure))
        assert [f.beneficiary for f in earlier] == sorted([hh2, KEYS.pseudonym("hh-3").pseudonym])
        assert same_beneficiary_several_programmes(ledger, window=Window(start=START.add(days=1))) == ()
        with pytest.raises(InvalidArgument):
            same_beneficiary_several_programmes(ledger, purpose=5)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            same_beneficiary_several_programmes("ledger")  # type: ignore[arg-type]
