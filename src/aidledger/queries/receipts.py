"""Verified receipt: a reproducible sample of paid households, and what their answers say.

:func:`receipt_sample` draws the households to ask; the answers are recorded
with ``Aid.record_verification``; :func:`receipt_summary` gives, per
programme, the discrepancy rate (households reached that received the money
partly or not at all) with its Wilson score interval.

**Why Wilson.**  A verification sample is small and the rate is often near
zero, where the textbook interval ``p ± z·√(p(1−p)/n)`` collapses to a point
(or goes below zero).  The Wilson score interval (Wilson 1927; recommended by
Brown, Cai and DasGupta, *Interval Estimation for a Binomial Proportion*, 2001)
stays inside [0, 1] and keeps its coverage for small samples.  It is computed
in :class:`~decimal.Decimal` arithmetic and rounded half-even to four places.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import attrs

from aidledger.core.amounts import Money
from aidledger.core.entries import check_text
from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import known_record, known_records, require_ledger
from aidledger.vocabulary import Kind, Outcome, ReceiptVerification, RecordKind, Tag

#: z for a two-sided 95% interval (the normal distribution's 0.975 quantile).
Z_95 = Decimal("1.959963984540054")
#: The places a rate and its interval are rounded to (half-even).
PLACES = Decimal("0.0001")


@attrs.frozen(kw_only=True)
class PaidPayment:
    """One payment reported paid and still standing (not reversed, not returned).

    Attributes:
        programme: its programme.
        reference: its reference in the programme.
        beneficiary: the pseudonym paid (never a name or registry id).
        amount: the amount paid.
        list_code: its payment list.
        seq: the place of the entry that settled it as paid, in the chain.
    """

    programme: str
    reference: str
    beneficiary: str
    amount: Money
    list_code: str
    seq: int


@attrs.frozen(kw_only=True)
class ReceiptSample:
    """A reproducible sample of paid payments to verify.

    Attributes:
        programme: the programme.
        seed: the seed it was drawn with (keep it with the working papers).
        requested: the size asked for.
        population: how many paid payments it was drawn from.
        payments: the sampled payments, in chain order.
    """

    programme: str
    seed: int
    requested: int
    population: int
    payments: tuple[PaidPayment, ...]


@attrs.frozen(kw_only=True)
class ReceiptSummary:
    """What the verification of one programme found.

    Attributes:
        programme: the programme.
        verified: outcomes recorded.
        received, partly, not_received, unreachable: outcomes of each kind.
        reached: households that answered (verified − unreachable).
        discrepancies: partly + not received.
        rate: discrepancies / reached, or ``None`` when no one was reached.
        low, high: the 95% Wilson score interval of the rate (``None`` when no one was reached).
    """

    programme: str
    verified: int
    received: int
    partly: int
    not_received: int
    unreachable: int
    reached: int
    discrepancies: int
    rate: Decimal | None
    low: Decimal | None
    high: Decimal | None


def paid_payments(ledger: Ledger, programme: str, *, window: Window | None = None) -> tuple[PaidPayment, ...]:
    """The programme's payments settled as paid and still standing, as of the end of ``window``, in chain order."""
    seen = Window.of(window).at_end()
    code = known_record(require_ledger(ledger), RecordKind.PROGRAMME, programme, seen).code
    paid: dict[str, PaidPayment] = {}
    gone: set[str] = set()
    reversed_ids: set[str] = set()
    by_id: dict[str, str] = {}
    for posted in ledger.entries(window=seen):
        entry = posted.entry
        if entry.reverses is not None:
            reversed_ids.add(entry.reverses)
        if entry.tags.get(Tag.PROGRAMME) != code:
            continue
        reference = entry.tags.get(Tag.REFERENCE, "")
        if entry.kind == Kind.PAYMENT_PAID and entry.reverses is None:
            amount = entry.postings[0].amount
            paid[reference] = PaidPayment(
                programme=code,
                reference=reference,
                beneficiary=entry.tags[Tag.BENEFICIARY],
                amount=Money.from_minor(amount.minor, amount.unit),
                list_code=entry.tags.get(Tag.LIST, ""),
                seq=posted.seq,
            )
            by_id[posted.id] = reference
        elif entry.kind == Kind.PAYMENT_RETURNED and entry.reverses is None:
            gone.add(reference)
    gone |= {by_id[i] for i in reversed_ids if i in by_id}
    return tuple(p for r, p in sorted(paid.items(), key=lambda item: item[1].seq) if r not in gone)


def receipt_sample(ledger: Ledger, programme: str, n: int, *, seed: int, window: Window | None = None) -> ReceiptSample:
    """A simple random sample of ``n`` paid payments of ``programme``: the same seed on the same ledger (and
    window) draws the same sample, on SQLite and PostgreSQL alike.

    The population is :func:`paid_payments` in chain order; the sample is
    ``random.Random(seed).sample`` of its positions (the method of the
    journal-entry tests' random sample).  A population of ``n`` or fewer is taken whole.
    """
    if type(n) is not int or n < 1:
        raise InvalidArgument(f"sample size n must be a positive whole number, got {n!r}", value=n)
    if type(seed) is not int:
        raise InvalidArgument(f"seed must be an integer, got {seed!r}", value=seed)
    population = paid_payments(ledger, programme, window=window)
    rng = random.Random(seed)  # noqa: S311 - a reproducible audit sample, not a secret
    chosen = sorted(rng.sample(range(len(population)), min(n, len(population))))
    return ReceiptSample(
        programme=programme,
        seed=seed,
        requested=n,
        population=len(population),
        payments=tuple(population[i] for i in chosen),
    )


def wilson_interval(successes: int, trials: int, z: Decimal = Z_95) -> tuple[Decimal, Decimal]:
    """The Wilson score interval of a proportion ``successes / trials``, rounded half-even to four places."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise InvalidArgument(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    with localcontext() as context:
        context.prec = 40
        n, p, z2 = Decimal(trials), Decimal(successes) / Decimal(trials), z * z
        denominator = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denominator
        half = z * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt() / denominator
        low, high = max(Decimal(0), centre - half), min(Decimal(1), centre + half)
        return low.quantize(PLACES, ROUND_HALF_EVEN), high.quantize(PLACES, ROUND_HALF_EVEN)


def receipt_summary(
    ledger: Ledger,
    programme: str | None = None,
    *,
    window: Window | None = None,
    known_at: dt.datetime | None = None,
) -> tuple[ReceiptSummary, ...]:
    """Per programme (or one), the verification outcomes recorded by then and the discrepancy rate with its 95%
    Wilson interval (see the module documentation)."""
    seen = Window.of(window, known_at=known_at)
    if programme is not None:
        check_text("programme", programme, allow_empty=False, limit=500)
    records = known_records(require_ledger(ledger), RecordKind.VERIFICATION, seen)
    outcomes: dict[str, Counter[Outcome]] = {}
    for record in records:
        found = ReceiptVerification.from_record(record)
        if programme is None or found.programme == programme:
            outcomes.setdefault(found.programme, Counter())[found.outcome] += 1
    return tuple(_summary(code, counts) for code, counts in sorted(outcomes.items()))


def _summary(programme: str, counts: Counter[Outcome]) -> ReceiptSummary:
    reached = counts.total() - counts[Outcome.UNREACHABLE]
    discrepancies = counts[Outcome.PARTLY] + counts[Outcome.NOT_RECEIVED]
    rate = low = high = None
    if reached:
        rate = (Decimal(discrepancies) / Decimal(reached)).quantize(PLACES, ROUND_HALF_EVEN)
        low, high = wilson_interval(discrepancies, reached)
    return ReceiptSummary(
        programme=programme,
        verified=counts.total(),
        received=counts[Outcome.RECEIVED],
        partly=counts[Outcome.PARTLY],
        not_received=counts[Outcome.NOT_RECEIVED],
        unreachable=counts[Outcome.UNREACHABLE],
        reached=reached,
        discrepancies=discrepancies,
        rate=rate,
        low=low,
        high=high,
    )


__all__ = [
    "PaidPayment",
    "ReceiptSample",
    "ReceiptSummary",
    "paid_payments",
    "receipt_sample",
    "receipt_summary",
    "wilson_interval",
]
