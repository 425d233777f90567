"""``reconcile(ledger)``: every invariant of the design, checked on the stored data.

The checks are one registered, ordered list, :data:`CHECKS`: named pure
functions, each ``check_x(ledger)`` returning what it compared and how far
apart the two sides are, run in that order by :func:`reconcile` (Beancount's
``ops/validation.py`` is the model).  First come the ledger's own checks (hash
chain, maintained balances, trial balance, no negative balance at any time,
the nodes of the log's Merkle tree),
then the aid equations: stock in quantity and money, grants, pledges, and
payment lists that were settled, budget lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Money, UnitKind
from aidledger.core.approvals import POLICY_RECORD
from aidledger.core.errors import InvalidArgument
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Check, Reconciliation
from aidledger.queries.books import check_books
from aidledger.queries.planning import check_budgets
from aidledger.queries.positions import grant_status, pledge_status, stock_position, unclaimed_payments
from aidledger.queries.proofs import check_log_tree
from aidledger.queries.verification import verify
from aidledger.vocabulary import Kind, RecordKind, Tag

#: A reconciliation check: the ledger in, its verdict out.
Checker = Callable[[Ledger], Check | Iterable[Check]]


def check_stock(ledger: Ledger) -> Check:
    """Each commodity stock: received − delivered − lost = on hand + in transit, in quantity and money."""
    held = {
        (line.account.unit, line.fund.code)
        for line in ledger.trial_balance().lines
        if line.account.unit.kind is UnitKind.COMMODITY and line.account.type is AccountType.REVENUE
    }
    wrong = []
    for commodity, fund in sorted(held, key=lambda pair: (pair[0].code, pair[1])):
        position = stock_position(ledger, fund, commodity)
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


def check_grants(ledger: Ledger) -> Check:
    """Each project: remaining = committed − disbursed + clawed back, and never below zero."""
    projects = ledger.records(RecordKind.PROJECT)
    wrong = []
    for record in projects:
        status = grant_status(ledger, record.code)
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


def check_pledges(ledger: Ledger) -> Check:
    """Each pledge: pledged = fulfilled + written off + outstanding, and nothing outstanding below zero.

    What is pledged is the record's amount, or zero once the pledge entry is reversed.
    """
    pledges = ledger.records(RecordKind.PLEDGE)
    entries = ledger.count_tagged(Tag.PLEDGE, kind=Kind.PLEDGE.value)
    standing = ledger.count_tagged(Tag.PLEDGE, kind=Kind.PLEDGE.value, standing=True)
    wrong = []
    for record in pledges:
        status = pledge_status(ledger, record.code)
        reversed_ = entries.get(record.code, 0) > standing.get(record.code, 0)
        promised = Money.from_minor(0, status.pledge.amount.unit) if reversed_ else status.pledge.amount
        if status.pledged != promised:
            what = f"its entry reversed, so {promised}" if reversed_ else f"{promised}"
            wrong.append(f"pledge {record.code}: the record pledges {what}, but the ledger holds {status.pledged}")
            continue
        total = status.fulfilled + status.written_off + status.outstanding
        if total != status.pledged or status.outstanding.value < 0:
            wrong.append(
                f"pledge {record.code}: pledged {status.pledged}, but fulfilled {status.fulfilled} + written "
                f"off {status.written_off} + outstanding {status.outstanding} = {total}"
            )
    return Check.of(
        "pledges",
        f"each pledge with fulfilled + written off + outstanding, for {len(pledges)} pledge(s)",
        wrong,
        "{n} pledge(s) do not reconcile",
    )


def check_payment_lists(ledger: Ledger) -> Check:
    """Each approved payment list: sent to a provider, and every payment in it settled as paid or failed.

    Only entries that stand are counted: a reversed payment is no longer open,
    and a reversed settlement no longer settles.
    """
    lists = ledger.records(RecordKind.PAYMENT_LIST)
    approved, sent, settled, failed = (
        ledger.count_tagged(Tag.LIST, kind=kind.value, standing=True)
        for kind in (Kind.PAYMENT, Kind.PAYMENT_TRANSFER, Kind.PAYMENT_PAID, Kind.PAYMENT_FAILED)
    )
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


def check_approvals(ledger: Ledger) -> Check:
    """Each entry an approval policy covers: approved by the distinct checkers the policy in force asked for.

    The policy in force for an entry is the newest of its scope recorded before
    the entry in the log; each approval counts only if it was recorded before
    the entry too, and the maker, or one checker spelt two ways, counts once or not at all.
    """
    policies = ledger.records(POLICY_RECORD)
    wrong = [
        f"entry #{found.entry.seq} {found.entry.id} ({found.entry.entry.kind!r} by {found.entry.entry.actor!r}) "
        f"needed {found.needed} distinct checker(s) under the approval policy for {found.scope}, and had "
        f"{found.approvals}"
        for found in ledger.unapproved()
    ]
    return Check.of(
        "approvals",
        f"each entry above a threshold with the approvals the policy in force asked for ({len(policies)} policy "
        "record(s))",
        wrong,
        "{n} entries lack their approvals",
    )


def check_payment_claims(ledger: Ledger) -> Check:
    """Each standing payment: it holds its programme's claim on its beneficiary (once per beneficiary).

    A payment built by hand and posted through :meth:`Ledger.post` without the
    claim can pay a household a second time; it is reported here, with the
    beneficiary's other payments from the same programme.
    """
    wrong = [
        f"payment entry #{found.seq} {found.entry_id} pays beneficiary {found.beneficiary} in programme "
        f"{found.programme} without the programme's claim"
        + (f"; the beneficiary holds {found.also_paid} other payment(s) of it" if found.also_paid else "")
        for found in unclaimed_payments(ledger)
    ]
    return Check.of(
        "payment claims",
        "each standing payment with its programme's once-per-beneficiary claim",
        wrong,
        "{n} payment(s) without their claim",
    )


#: Every reconciliation check, in the order :func:`reconcile` runs them.
CHECKS: tuple[Checker, ...] = (
    check_books,
    check_log_tree,
    check_approvals,
    check_stock,
    check_grants,
    check_pledges,
    check_payment_lists,
    check_budgets,
    check_payment_claims,
)


def reconcile(ledger: Ledger) -> Reconciliation:
    """Run every check of :data:`CHECKS` on what is stored, in order; ``ok`` only if all hold.

    Each :class:`Check` says what it compared and, when it fails, the
    difference with the offending accounts, funds, lists or projects.
    """
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    verification = verify(ledger)  # once: the books are checked against it, and the result carries it
    checks: list[Check] = []
    for checker in CHECKS:
        verdict = check_books(ledger, verification) if checker is check_books else checker(ledger)
        checks.extend([verdict] if isinstance(verdict, Check) else verdict)
    return Reconciliation(checks=tuple(checks), verification=verification)
