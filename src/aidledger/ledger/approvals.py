"""The approvals room: approval policies as records, the checkers of a batch, and the rule on every post.

A policy (:class:`aidledger.ApprovalPolicy`) is stored as a record of kind
``approval-policy`` whose subject is its scope; the newest record of a scope
is the one in force, and a policy applies to the entries logged after it.
A batch's checkers are its maker-checker records: one ``approval`` record per
checker who approved while more approvals were needed, then the ``decision``
record of the checker who completed it.  Checkers are compared by
:func:`aidledger.core.identity.identity_key`, so two spellings of one person
count once, and the maker never counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidledger.core.amounts import Amount
from aidledger.core.approvals import POLICY_RECORD, ApprovalPolicy, entry_total, required_checkers
from aidledger.core.entries import JournalEntry
from aidledger.core.errors import ApprovalRequired
from aidledger.core.identity import identity_key
from aidledger.ledger.chart import Charts
from aidledger.ledger.reader import Reader
from aidledger.ledger.results import Record
from aidledger.store import schema as t

#: The record of one checker's approval while the batch needs more.
APPROVAL_RECORD: Final = "approval"
#: The record that decides a batch (the last approval, or a rejection).
DECISION_RECORD: Final = "decision"


def policy_code(connection: Connection, policy: ApprovalPolicy) -> str:
    """The code of the next record of ``policy``'s scope: ``<scope>#<n>``."""
    r = t.records.c
    count = len(connection.execute(select(r.seq).where(r.kind == POLICY_RECORD, r.subject == policy.scope)).all())
    return f"{policy.scope}#{count + 1}"


def in_force(records: Iterable[Record], charts: Charts) -> dict[str, ApprovalPolicy]:
    """The policy in force per scope after ``records`` (policy records, oldest first)."""
    units = charts.current.units
    found: dict[str, ApprovalPolicy] = {}
    for record in records:
        policy = ApprovalPolicy.from_body(record.body, units)
        found[policy.scope] = policy
    return found


def current_policies(connection: Connection, charts: Charts) -> dict[str, ApprovalPolicy]:
    """The policies in force now, by scope."""
    return in_force(Reader(connection, charts).records(POLICY_RECORD), charts)


def approvers(reader: Reader, code: str) -> tuple[Record, ...]:
    """The records of the checkers who approved batch ``code``, in the order they did."""
    found = list(reader.records(APPROVAL_RECORD, subject=code))
    decision = reader.record(DECISION_RECORD, code)
    if decision is not None and decision.body.get("decision") == "approved":
        found.append(decision)
    return tuple(found)


def distinct_checkers(checkers: Iterable[str], maker: str) -> set[str]:
    """The distinct identities among ``checkers``, the maker's left out."""
    made = identity_key(maker)
    return {key for key in (identity_key(c) for c in checkers) if key != made}


def check_post(connection: Connection, charts: Charts, entries: Sequence[JournalEntry], batch_code: str | None) -> None:
    """Refuse ``entries`` if one of them lacks the distinct checkers the policies in force ask for.

    The checkers are read from the records of batch ``batch_code`` (``None``:
    the entries were posted directly, so they have none).
    """
    policies = current_policies(connection, charts)
    if not policies:
        return
    reader = Reader(connection, charts)
    checkers = [] if batch_code is None else [r.actor for r in approvers(reader, batch_code)]
    maker = None if batch_code is None else reader.record("pending", batch_code)
    for entry in entries:
        needed = required_checkers(policies.values(), entry)
        if not needed:
            continue
        makers = {identity_key(entry.actor)} | (set() if maker is None else {identity_key(maker.actor)})
        have = len({identity_key(checker) for checker in checkers} - makers)
        if have < needed:
            raise _refusal(entry, needed, have, policies.values())


def _refusal(entry: JournalEntry, needed: int, have: int, policies: Iterable[ApprovalPolicy]) -> ApprovalRequired:
    strictest = max(policies, key=lambda p: p.required(entry))
    unit = strictest.tiers[0].above.unit
    total = Amount.from_minor(entry_total(entry, unit), unit)
    return ApprovalRequired(
        f"entry {entry.kind!r} by {entry.actor!r} of {total:,} needs the approval of {needed} distinct checker(s), "
        f"none of them its maker, under the approval policy for {strictest.scope}, and has {have}: submit it "
        "(Ledger.submit) and let the checkers approve it (Ledger.approve); nothing was posted",
        kind=entry.kind,
        total=total,
        needed=needed,
        approvals=have,
        scope=strictest.scope,
    )


__all__ = [
    "APPROVAL_RECORD",
    "DECISION_RECORD",
    "approvers",
    "check_post",
    "current_policies",
    "distinct_checkers",
    "in_force",
    "policy_code",
]
