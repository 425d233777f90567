"""Settling a sent payment list from the provider's report: which lines settle, and what the report leaves.

A payment is settled paid or failed once, never both; returned only after
paid, and once.  A settlement that was reversed no longer stands, so the
payment may be settled again (see :func:`standing_settlements`).  A
settlement is dated at or after its payment's approval and the list's
sending (:class:`OutOfOrder` otherwise).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

import attrs

from aidledger.core.amounts import Money
from aidledger.core.entries import PostedEntry
from aidledger.core.errors import PaymentStateError
from aidledger.ledger.ledger import LedgerView
from aidledger.operations.refusals import check_not_before
from aidledger.vocabulary import Kind, PaymentStatus, Programme, ProviderLine, Tag, payment_key, sent_key


@attrs.frozen
class Mismatch:
    """A report line whose amount differs from the ledger's."""

    line: ProviderLine
    expected: Money


@attrs.frozen(kw_only=True)
class Settlement:
    """What a provider report settled, and what it could not.

    Attributes:
        list_code: the list.
        paid: references settled as paid by this report.
        failed: references settled as failed (money back to the fund).
        returned: references settled as returned (money back to the fund).
        unmatched: report lines for payments the ledger does not hold (in the statement, not in the ledger).
        mismatched: report lines whose amount differs from the ledger's.
        duplicates: report lines that repeat, or contradict, a settlement already made.
        outstanding: references in the list that are still neither paid nor failed.
        entries: the settlement entries posted.
    """

    list_code: str
    paid: tuple[str, ...]
    failed: tuple[str, ...]
    returned: tuple[str, ...]
    unmatched: tuple[ProviderLine, ...]
    mismatched: tuple[Mismatch, ...]
    duplicates: tuple[ProviderLine, ...]
    outstanding: tuple[str, ...]
    entries: tuple[PostedEntry, ...]


def check_dates(view: LedgerView, prog: Programme, list_code: str, lines: list[ProviderLine], on: dt.datetime) -> None:
    """A settlement is dated at or after the list was sent and its payment approved (OutOfOrder otherwise)."""
    prefix = payment_key("payment", prog.code, "")
    latest = view.latest_by_keys([prefix + line.reference for line in lines])  # approved last: the one to check
    if latest is not None and latest.entry.idempotency_key is not None:
        reference = latest.entry.idempotency_key.removeprefix(prefix)
        check_not_before(on, "approval", latest, f"the settlement of payment {reference} of list {list_code}")
    sent = view.entry_by_key(sent_key(list_code))
    if sent is not None and lines:
        check_not_before(on, "sending to the provider", sent, f"the settlement of payment list {list_code}")


_FINAL = frozenset({PaymentStatus.PAID.value, PaymentStatus.FAILED.value})


def _may_settle(status: PaymentStatus, done: set[str]) -> bool:
    """Paid or failed once, never both; returned only after paid, and once."""
    if status is PaymentStatus.RETURNED:
        return PaymentStatus.PAID.value in done and PaymentStatus.RETURNED.value not in done
    return not done & _FINAL


def sort_report(
    view: LedgerView, prog: Programme, list_code: str, lines: list[ProviderLine]
) -> tuple[list[tuple[ProviderLine, Mapping[str, str], str]], Settlement]:
    """The report lines to settle (each with its payment's tags), and what the report settles and leaves."""
    if view.entry_by_key(sent_key(list_code)) is None:
        raise PaymentStateError(
            f"payment list {list_code} was not sent to a provider; send it before settling", list_code=list_code
        )
    prefix = payment_key("payment", prog.code, "")  # a reversal made with a key of its own is not a payment
    keys = view.keys_tagged(Tag.LIST, list_code, kind=Kind.PAYMENT.value)
    in_list = {key.removeprefix(prefix) for key in keys if key.startswith(prefix)}
    references = in_list | {line.reference for line in lines}
    facts = view.facts([payment_key("payment", prog.code, r) for r in sorted(references)])
    # A reversed payment is no longer in the list: neither outstanding nor to be settled.
    in_list = {r for r in in_list if not facts[payment_key("payment", prog.code, r)].reversed}
    events = [(r, status.value) for r in sorted(references) for status in PaymentStatus]
    standing, next_key = standing_settlements(view, [payment_key(event, prog.code, r) for r, event in events])
    state: dict[str, set[str]] = defaultdict(set)
    for reference, event in events:
        if payment_key(event, prog.code, reference) in standing:
            state[reference].add(event)
    accepted: list[tuple[ProviderLine, Mapping[str, str], str]] = []
    settled: dict[PaymentStatus, list[str]] = {status: [] for status in PaymentStatus}
    unmatched: list[ProviderLine] = []
    mismatched: list[Mismatch] = []
    duplicates: list[ProviderLine] = []
    for line in lines:
        payment = facts.get(payment_key("payment", prog.code, line.reference))
        if payment is None or line.reference not in in_list:
            unmatched.append(line)
            continue
        debits = payment.debits.get(prog.unit.code, 0)
        # A payment debits its expense; one with a budget line also debits the line's committed memo account as much.
        expected = Money.from_minor(debits // 2 if Tag.BUDGET_LINE in payment.tags else debits, prog.unit)
        if line.amount != expected:
            mismatched.append(Mismatch(line, expected))
            continue
        if not _may_settle(line.status, state[line.reference]):
            duplicates.append(line)
            continue
        state[line.reference].add(line.status.value)
        accepted.append((line, payment.tags, next_key[payment_key(line.status.value, prog.code, line.reference)]))
        settled[line.status].append(line.reference)
    settlement = Settlement(
        list_code=list_code,
        paid=tuple(settled[PaymentStatus.PAID]),
        failed=tuple(settled[PaymentStatus.FAILED]),
        returned=tuple(settled[PaymentStatus.RETURNED]),
        unmatched=tuple(unmatched),
        mismatched=tuple(mismatched),
        duplicates=tuple(duplicates),
        outstanding=tuple(sorted(r for r in in_list if not state[r] & _FINAL)),
        entries=(),
    )
    return accepted, settlement


def standing_settlements(view: LedgerView, keys: list[str]) -> tuple[set[str], dict[str, str]]:
    """Which settlement keys stand (posted, not reversed), and the key each event's next entry is posted under.

    A settlement that was reversed no longer stands (issue 16): the payment may
    be settled again, under the key ``<key>:after:<reversed entry id>``, so that
    a retry of that settlement still finds it and posts nothing twice.
    """
    standing: set[str] = set()
    next_key = {key: key for key in keys}
    looking = dict(next_key)  # the first key -> the key looked up in this round
    while looking:
        found = view.facts(list(looking.values()))
        after: dict[str, str] = {}
        for first, key in looking.items():
            fact = found.get(key)
            if fact is None:
                continue
            if not fact.reversed:
                standing.add(first)
                continue
            next_key[first] = after[first] = f"{first}:after:{fact.id}"
        looking = after
    return standing, next_key
