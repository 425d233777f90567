"""A payment list as the ledger holds it now: each standing payment's reference, amount and status.

Shared by the provider-report match, the bank-statement settlement and the
pain.001 file of a list.  A payment or settlement that was reversed (inside
the window) no longer stands and is left out (issue 16): a reversed payment is
no longer in the list, and a reversed settlement leaves its payment approved.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
from sqlalchemy import func, select

from aidledger.core.amounts import Money
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.rows import chunks
from aidledger.queries._reading import known_record, require_ledger, resolved, standing
from aidledger.store import schema as t
from aidledger.vocabulary import PAYMENT_DUE_KINDS, Chart, Event, Kind, Programme, RecordKind, Tag

_SETTLED = {Kind.PAYMENT_PAID: Event.PAID, Kind.PAYMENT_FAILED: Event.FAILED}


@attrs.frozen
class ListedPayment:
    """One standing payment of a list.

    Attributes:
        reference: the line's reference (unique in the programme).
        beneficiary: the beneficiary's pseudonym.
        amount: the amount approved.
        status: ``approved`` (not settled yet), ``paid``, ``failed`` or ``returned``.
    """

    reference: str
    beneficiary: str
    amount: Money
    status: str


@attrs.frozen
class ListedPayments:
    """The standing payments of a list, in reference order.

    Attributes:
        list_code: the list.
        programme: its programme.
        payments: the payments.
    """

    list_code: str
    programme: Programme
    payments: tuple[ListedPayment, ...]

    def by_reference(self) -> dict[str, ListedPayment]:
        return {payment.reference: payment for payment in self.payments}


def listed_payments(ledger: Ledger, list_code: str, *, window: Window | None = None) -> ListedPayments:
    """The standing payments of ``list_code`` (inside ``window``, all entries by default); writes nothing."""
    require_ledger(ledger)
    seen = resolved(ledger, Window.of(window))  # a digest, resolved to the entries it covers
    record = known_record(ledger, RecordKind.PAYMENT_LIST, list_code, seen)
    programme = Programme.from_record(known_record(ledger, RecordKind.PROGRAMME, str(record.body["programme"]), seen))
    unit = programme.unit
    e, p, a = t.entries.c, t.postings.c, t.accounts.c
    in_list, ref, who = t.entry_tags.alias("in_list"), t.entry_tags.alias("ref"), t.entry_tags.alias("who")
    stands = standing(seen)
    listed = (
        t.entries.join(
            in_list, (in_list.c.entry_seq == e.seq) & (in_list.c.name == Tag.LIST) & (in_list.c.value == list_code)
        )
        .join(ref, (ref.c.entry_seq == e.seq) & (ref.c.name == Tag.REFERENCE))
        .join(who, (who.c.entry_seq == e.seq) & (who.c.name == Tag.BENEFICIARY))
    )
    due = (
        select(ref.c.value, who.c.value, e.kind, func.sum(func.abs(p.amount)))
        .select_from(listed.join(t.postings, p.entry_seq == e.seq).join(t.accounts, a.id == p.account_id))
        .where(
            a.code == Chart().payments_due(unit).code,
            e.kind.in_([kind.value for kind in PAYMENT_DUE_KINDS]),
            *stands,
        )
        .group_by(ref.c.value, who.c.value, e.kind)
    )
    returned = select(ref.c.value).select_from(listed).where(e.kind == Kind.PAYMENT_RETURNED.value, *stands)
    amounts: dict[str, tuple[str, Money]] = {}
    status: dict[str, str] = {}
    with ledger.snapshot() as connection:
        for reference, beneficiary, kind, minor in connection.execute(due):
            if kind == Kind.PAYMENT:
                amounts[reference] = (beneficiary, Money.from_minor(int(minor), unit))
                status.setdefault(reference, Event.APPROVED)
            else:
                status[reference] = _SETTLED[Kind(kind)]
        for (reference,) in connection.execute(returned):
            status[reference] = Event.RETURNED
    payments = tuple(
        ListedPayment(reference, beneficiary, amount, status[reference])
        for reference, (beneficiary, amount) in sorted(amounts.items())
    )
    return ListedPayments(list_code, programme, payments)


def payment_references(ledger: Ledger, candidates: Iterable[str]) -> frozenset[str]:
    """Which of ``candidates`` are the reference of a payment in some list (of any programme); writes nothing."""
    require_ledger(ledger)
    wanted = sorted(set(candidates))
    e, g = t.entries.c, t.entry_tags.c
    found: set[str] = set()
    with ledger.snapshot() as connection:
        for part in chunks(wanted):
            query = (
                select(g.value)
                .join(t.entries, e.seq == g.entry_seq)
                .where(g.name == Tag.REFERENCE, g.value.in_(part), e.kind == Kind.PAYMENT.value)
                .distinct()
            )
            found.update(str(value) for value in connection.execute(query).scalars())
    return frozenset(found)
