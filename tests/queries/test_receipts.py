"""Verified receipt: the sample of paid households, the recorded outcomes, the discrepancy rate."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from aidledger import (
    Aid,
    DuplicateDefinition,
    InvalidArgument,
    Outcome,
    PaymentLine,
    PaymentStateError,
    PaymentStatus,
    ProviderLine,
    paid_payments,
    receipt_sample,
    receipt_summary,
    wilson_interval,
)
from aidledger.exports.html import export_html
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, KEYS, kzt

DAY = dt.date(2020, 5, 4)


@pytest.fixture
def paid(aid: Aid) -> Aid:
    """Twelve households paid, one failed, one paid and returned."""
    aid.donate("CASH-AID", kzt("1000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
    lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"L-{n}") for n in range(1, 15)]
    aid.pay("ONE-OFF", lines, actor="maker", on=APRIL, list_code="L")
    aid.send("L", provider="Kazpost", actor="cashier", on=APRIL.add(hours=1))
    report = [ProviderLine(f"L-{n}", PaymentStatus.PAID, kzt("50000")) for n in range(1, 14)]
    report.append(ProviderLine("L-14", PaymentStatus.FAILED, kzt("50000")))
    aid.settle("L", report, actor="cashier", on=APRIL.add(hours=2))
    aid.settle("L", [ProviderLine("L-13", PaymentStatus.RETURNED, kzt("50000"))], actor="c", on=APRIL.add(days=1))
    return aid


class TestSample:
    def test_population_is_what_stands_paid(self, paid: Aid) -> None:
        """Failed and returned payments are not in the population; the paid ones are, in chain order."""
        population = paid_payments(paid.ledger, "ONE-OFF")
        assert [p.reference for p in population] == [f"L-{n}" for n in range(1, 13)]
        assert population[0].beneficiary == KEYS.pseudonym("hh-1").pseudonym
        assert population[0].amount == kzt("50000")

    def test_same_seed_same_sample(self, paid: Aid) -> None:
        """A seed draws the same sample every time; another seed draws another; a small population is taken whole."""
        first = receipt_sample(paid.ledger, "ONE-OFF", 4, seed=2020)
        again = receipt_sample(paid.ledger, "ONE-OFF", 4, seed=2020)
        other = receipt_sample(paid.ledger, "ONE-OFF", 4, seed=7)
        assert first == again and first.population == 12 and len(first.payments) == 4
        assert [p.reference for p in first.payments] != [p.reference for p in other.payments]
        assert len(receipt_sample(paid.ledger, "ONE-OFF", 50, seed=1).payments) == 12
        with pytest.raises(InvalidArgument, match="positive whole number"):
            receipt_sample(paid.ledger, "ONE-OFF", 0, seed=1)


class TestOutcomes:
    def test_outcomes_are_records_and_summarised(self, paid: Aid) -> None:
        """Each outcome is a record; the summary gives the rate among those reached and its Wilson interval."""
        sample = receipt_sample(paid.ledger, "ONE-OFF", 10, seed=2020)
        outcomes = [Outcome.RECEIVED] * 7 + [Outcome.PARTLY, Outcome.NOT_RECEIVED, Outcome.UNREACHABLE]
        for payment, outcome in zip(sample.payments, outcomes, strict=True):
            paid.record_verification(
                "ONE-OFF", payment.reference, outcome, verified_on=DAY, sample="S-2020", actor="verifier"
            )
        (summary,) = receipt_summary(paid.ledger)
        assert (summary.verified, summary.reached, summary.discrepancies) == (10, 9, 2)
        assert (summary.rate, summary.low, summary.high) == (Decimal("0.2222"), Decimal("0.0632"), Decimal("0.5474"))
        assert receipt_summary(paid.ledger, "OTHER") == ()

    def test_a_payment_is_verified_once(self, paid: Aid) -> None:
        """The same outcome again is a no-op; another outcome, or an unpaid payment, is refused and writes nothing."""
        paid.record_verification("ONE-OFF", "L-1", Outcome.RECEIVED, verified_on=DAY, sample="S", actor="v")
        paid.record_verification("ONE-OFF", "L-1", Outcome.RECEIVED, verified_on=DAY, sample="S", actor="v")
        before = snapshot(paid.ledger)
        with pytest.raises(DuplicateDefinition):
            paid.record_verification("ONE-OFF", "L-1", Outcome.PARTLY, verified_on=DAY, sample="S", actor="v")
        with pytest.raises(PaymentStateError, match="not reported paid"):
            paid.record_verification("ONE-OFF", "L-14", Outcome.RECEIVED, verified_on=DAY, sample="S", actor="v")
        assert snapshot(paid.ledger) == before

    def test_html_report_shows_the_summary(self, paid: Aid) -> None:
        """The HTML report has a verified-receipt table with the rate and interval."""
        paid.record_verification("ONE-OFF", "L-1", Outcome.NOT_RECEIVED, verified_on=DAY, sample="S", actor="v")
        out = io.StringIO()
        export_html(paid.ledger, out)
        page = out.getvalue()
        assert "<h2>Verified receipt</h2>" in page
        assert "1.0000" in page and "0.2065 – 1.0000" in page


def test_wilson_interval_known_values() -> None:
    """The interval matches published values and stays inside [0, 1]."""
    assert wilson_interval(0, 20) == (Decimal("0.0000"), Decimal("0.1611"))
    assert wilson_interval(1, 10) == (Decimal("0.0179"), Decimal("0.4042"))
    assert wilson_interval(50, 100) == (Decimal("0.4038"), Decimal("0.5962"))
    with pytest.raises(InvalidArgument):
        wilson_interval(3, 2)
