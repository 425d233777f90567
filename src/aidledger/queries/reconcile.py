"""``reconcile(ledger)``: every invariant of the design, checked on the stored data.

The ledger's own checks (hash chain, maintained balances, trial balance, no
negative balance at any time) come from :meth:`Ledger.check_books`; this
module adds the aid equations: stock in quantity and money, grants, pledges,
and payment lists that were settled.
"""

from __future__ import annotations

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import UnitKind
from aidledger.core.errors import InvalidArgument
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Check, Reconciliation
from aidledger.operations.aid import Aid
from aidledger.queries.books import check_books


def reconcile(ledger: Ledger) -> Reconciliation:
    """Check every invariant on what is stored; ``ok`` only if all hold.

    Each :class:`Check` says what it compared and, when it fails, the
    difference with the offending accounts, funds, lists or projects.
    """
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    aid = Aid(ledger)
    checks = list(check_books(ledger))
    checks.append(_stock(aid))
    checks.append(_grants(aid))
    checks.append(_pledges(aid))
    checks.append(_payment_lists(aid))
    return Reconciliation(checks=tuple(checks))


def _stock(aid: Aid) -> Check:
    ledger = aid.ledger
    held = {
        (line.account.unit, line.fund.code)
        for line in ledger.trial_balance().lines
        if line.account.unit.kind is UnitKind.COMMODITY and line.account.type is AccountType.REVENUE
    }
    wrong = []
    for commodity, fund in sorted(held, key=lambda pair: (pair[0].code, pair[1])):
        position = aid.stock_position(fund, commodity)
        negative = [
            name
            for name in ("on_hand", "in_transit", "on_hand_value", "in_transit_value")
            if getattr(position, name).value < 0
        ]
        if not position.reconciles or negative:
            wrong.append(
                f"{commodity.code} in {fund}: received {position.received} ({position.received_value}), delivered "
                f"{position.delivered} ({position.delivered_value}), lost {position.lost} ({position.lost_value}), "
                f"on hand {position.on_hand} ({position.on_hand_value}), in transit {position.in_transit} "
                f"({position.in_transit_value})" + (f"; negative: {', '.join(negative)}" if negative else "")
            )
    return Check.of(
        "stock",
        f"received − delivered − lost with on hand + in transit, in quantity and in money, for {len(held)} "
        "commodity stocks",
        wrong,
        "{n} stock(s) do not reconcile",
    )


def _grants(aid: Aid) -> Check:
    projects = aid.ledger.records("project")
    wrong = []
    for record in projects:
        status = aid.grant_status(record.code)
        expected = status.committed - status.disbursed + status.clawed_back
        if status.remaining != expected or status.remaining.value < 0:
            wrong.append(
                f"project {record.code}: remaining {status.remaining}, but committed {status.committed} − disbursed "
                f"{status.disbursed} + clawed back {status.clawed_back} = {expected}"
            )
    return Check.of(
        "grants",
        f"remaining commitment with committed − disbursed + clawed back, for {len(projects)} project(s)",
        wrong,
        "{n} project(s) do not reconcile",
    )


def _pledges(aid: Aid) -> Check:
    pledges = aid.ledger.records("pledge")
    wrong = []
    for record in pledges:
        status = aid.pledge_status(record.code)
        total = status.fulfilled + status.written_off + status.outstanding
        if total != status.pledge.amount or status.outstanding.value < 0:
            wrong.append(
                f"pledge {record.code}: pledged {status.pledge.amount}, but fulfilled {status.fulfilled} + written "
                f"off {status.written_off} + outstanding {status.outstanding} = {total}"
            )
    return Check.of(
        "pledges",
        f"each pledge with fulfilled + written off + outstanding, for {len(pledges)} pledge(s)",
        wrong,
        "{n} pledge(s) do not reconcile",
    )


def _payment_lists(aid: Aid) -> Check:
    ledger = aid.ledger
    lists = ledger.records("payment-list")
    approved = ledger.count_tagged("list", kind="payment")
    sent = ledger.count_tagged("list", kind="payment-transfer")
    settled = ledger.count_tagged("list", kind="payment-paid")
    failed = ledger.count_tagged("list", kind="payment-failed")
    wrong = []
    for record in lists:
        code = record.code
        payments = approved.get(code, 0)
        if not payments:
            continue  # submitted and not yet approved: nothing was posted
        if not sent.get(code):
            wrong.append(f"payment list {code}: {payments} payment(s) approved and not sent to a provider")
            continue
        open_ = payments - settled.get(code, 0) - failed.get(code, 0)
        if open_:
            wrong.append(f"payment list {code}: {open_} of {payments} payment(s) sent and not settled")
    return Check.of(
        "payment lists settled",
        f"approved payments with those the provider settled as paid or failed, for {len(lists)} list(s)",
        wrong,
        "{n} list(s) have payments neither paid nor failed",
    )
