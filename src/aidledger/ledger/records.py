"""The records room: hash-chained records beside the journal, and maker-checker batches.

A record (a definition, a pending batch, a decision, or a layer's own kind)
is stored once per kind and code in a chain of its own.  A pending batch is
a record of the entries' canonical fields; its decision is another record.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

import attrs
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from aidledger.core import hashing
from aidledger.core.accounts import AccountType
from aidledger.core.amounts import Amount
from aidledger.core.approvals import POLICY_RECORD, ApprovalPolicy, required_checkers
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting, check_text
from aidledger.core.errors import AidLedgerError, DuplicateDefinition, InvalidArgument, UnknownEntry
from aidledger.core.identity import identity_key, same_identity
from aidledger.core.times import from_micros, to_micros
from aidledger.ledger import approvals
from aidledger.ledger.chart import Charts
from aidledger.ledger.posting import prepare
from aidledger.ledger.reader import Reader, record_of
from aidledger.ledger.results import PendingBatch, Record, Unapproved
from aidledger.ledger.rows import chunks, first_line
from aidledger.store import log as store_log
from aidledger.store import schema as t

_RECORD_KIND: Final = re.compile(r"^[a-z][a-z0-9_.-]{0,63}\Z")


def record_body(kind: str, code: str, body: Mapping[str, Any], subject: str | None) -> str:
    """The canonical JSON text of a record's body, after checking its kind, code and subject."""
    if not isinstance(kind, str) or not _RECORD_KIND.match(kind):
        raise InvalidArgument(f"record kind must be a lower-case identifier, got {kind!r}", kind=kind)
    check_text(f"{kind} code", code, allow_empty=False, limit=500)
    if subject is not None:
        check_text("subject", subject, allow_empty=False, limit=500)
    if not isinstance(body, Mapping):
        raise InvalidArgument(f"a record's body must be a mapping, got {body!r}")
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"a record's body must be JSON values: {error}") from None
    return check_text(f"the body of {kind} {code}", text, limit=10_000_000)


def insert_record(
    connection: Connection,
    clock: Callable[[], dt.datetime],
    kind: str,
    code: str,
    subject: str | None,
    actor: str,
    text: str,
) -> Record:
    """Store a record with body ``text`` at the end of the record chain; the same one again is a no-op."""
    existing = connection.execute(select(t.records).where(t.records.c.kind == kind, t.records.c.code == code)).first()
    if existing is not None:
        if existing.body != text or existing.subject != subject:
            raise DuplicateDefinition(f"{kind} {code!r} already exists with different content", kind=kind, code=code)
        return record_of(existing)
    r = t.records.c
    last = connection.execute(select(r.seq, r.hash).order_by(r.seq.desc()).limit(1)).first()
    seq = 1 if last is None else last.seq + 1
    prev = hashing.GENESIS if last is None else last.hash
    recorded = to_micros(clock(), "clock time")
    digest = hashing.record_hash(
        seq=seq, kind=kind, code=code, subject=subject, actor=actor, body=text, recorded_at=recorded, prev_hash=prev
    )
    row = {
        "seq": seq,
        "kind": kind,
        "code": code,
        "subject": subject,
        "actor": actor,
        "body": text,
        "recorded_at": recorded,
        "prev_hash": prev,
        "hash": digest,
    }
    # A refusal rolls back to the savepoint, so the transaction stays usable; any other error (a serialization
    # failure, a deadlock) dooms the whole transaction, which the ledger rolls back and retries: rolling back
    # to the savepoint first would send one more statement to an aborted transaction, and an error there
    # (InFailedSqlTransaction) would take the place of the retryable one.
    savepoint = connection.begin_nested()
    try:
        connection.execute(insert(t.records).values(row))
    except IntegrityError as error:
        savepoint.rollback()
        raise InvalidArgument(f"the database refused the {kind} record: {first_line(error.orig)}") from None
    savepoint.commit()
    store_log.append(connection, [store_log.Item("record", str(seq), digest)])
    return record_of(connection.execute(select(t.records).where(r.seq == seq)).one())


def pending_body(entries: Iterable[JournalEntry], actor: str, note: str, charts: Charts) -> dict[str, Any]:
    """The body of a pending batch's record: its entries' canonical fields, each made by the maker ``actor``."""
    batch = list(entries)
    if not batch:
        raise InvalidArgument("nothing to submit: the batch is empty")
    for entry in batch:
        if not isinstance(entry, JournalEntry):
            raise InvalidArgument(f"expected a JournalEntry, got {entry!r}", value=entry)
        if entry.actor != actor or entry.approved_by is not None:
            raise InvalidArgument(
                f"a submitted entry must be made by the maker {actor!r} and carry no checker",
                actor=entry.actor,
            )
    check_text("note", note)
    return {"entries": [prepare(entry, charts).fields() for entry in batch], "note": note}


def read_pending(reader: Reader, charts: Charts, code: str) -> PendingBatch:
    """The pending batch ``code`` with its decision and approvals so far, or UnknownEntry."""
    record = reader.record("pending", code)
    if record is None:
        raise UnknownEntry(f"no pending batch {code!r}", code=code)
    checkers = tuple(r.actor for r in approvals.approvers(reader, code))
    return pending_batch(record, reader.record(approvals.DECISION_RECORD, code), charts, checkers)


def pending_batch(
    record: Record, decision: Record | None, charts: Charts, checkers: tuple[str, ...] = ()
) -> PendingBatch:
    """The pending batch stored in ``record``, with the status its ``decision`` gives it."""
    entries = tuple(entry_from_fields(fields, charts) for fields in record.body["entries"])
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            if posting.minor > 0 and posting.account.type is not AccountType.MEMO:
                totals[posting.amount.unit.code] += posting.minor
    return PendingBatch(
        code=record.code,
        maker=record.actor,
        entries=entries,
        total={u: Amount.from_minor(m, charts.current.units[u]) for u, m in sorted(totals.items())},
        status="pending" if decision is None else str(decision.body["decision"]),
        checker=None if decision is None else decision.actor,
        note=str(record.body.get("note", "")),
        approvals=checkers,
    )


def check_undecided(batch: PendingBatch, decider: str, verb: str, /, **details: object) -> None:
    """Refuse to ``verb`` a batch already decided, or one ``decider`` made (``details`` go into that error)."""
    code = batch.code
    if batch.status != "pending":
        raise InvalidArgument(f"batch {code!r} was already {batch.status} by {batch.checker}", code=code)
    if same_identity(decider, batch.maker):  # "officer ", "Оfficer" (Cyrillic О) and "OFFICER" are one person
        alias = "" if decider == batch.maker else f" (as its maker {batch.maker!r}: one person, spelt two ways)"
        raise InvalidArgument(f"{decider!r} made batch {code!r}{alias} and cannot also {verb} it", code=code, **details)
    for earlier in batch.approvals:
        if same_identity(decider, earlier):
            raise InvalidArgument(
                f"{earlier!r} already approved batch {code!r}; {decider!r} is the same checker and cannot {verb} "
                "it again: a tier that needs more checkers needs other people",
                code=code,
                **details,
            )


def entry_from_fields(fields: Mapping[str, Any], charts: Charts) -> JournalEntry:
    """Rebuild an entry from its canonical fields (as stored in a pending batch)."""
    postings = []
    for account_code, fund_code, _, minor in fields["postings"]:
        account = charts.account(account_code)
        postings.append(Posting(account, charts.fund(fund_code), Amount.from_minor(minor, account.unit)))
    return JournalEntry(
        kind=fields["kind"],
        effective_at=from_micros(fields["eff"], fields["tz"]),
        postings=postings,
        actor=fields["actor"],
        memo=fields["memo"],
        idempotency_key=fields["key"],
        source=fields["source"],
        tags=dict(fields["tags"]),
        claims=[Claim(scope, key) for scope, key in fields["claims"]],
        releases=[Claim(scope, key) for scope, key in fields["releases"]],
        reverses=fields["reverses"],
        approved_by=fields["checker"],
    )


def unapproved(connection: Connection, charts: Charts) -> Iterator[Unapproved]:
    """Every entry whose approvals fall short of the policies recorded before it in the log."""
    reader = Reader(connection, charts)
    records = reader.records(POLICY_RECORD)
    if not records:
        return
    units = charts.current.units
    policies = [(record.seq, ApprovalPolicy.from_body(record.body, units)) for record in records]
    g = t.log.c
    place = {
        ("record", int(ref)): seq for ref, seq in connection.execute(select(g.ref, g.seq).where(g.kind == "record"))
    }
    candidates = _above_a_tier(connection, charts, [policy for _, policy in policies])
    for chunk in chunks(candidates):
        for ref, seq in connection.execute(
            select(g.ref, g.seq).where(g.kind == "entry", g.ref.in_([str(c) for c in chunk]))
        ):
            place[("entry", int(ref))] = seq
    batches = _approved_batches(reader, charts, place)
    force: dict[str, ApprovalPolicy] = {}
    for chunk in chunks(candidates, 500):
        rows = connection.execute(select(t.entries).where(t.entries.c.seq.in_(chunk)).order_by(t.entries.c.seq))
        for posted in reader.load_page(rows.all()):
            logged = place.get(("entry", posted.seq))
            if logged is None:
                continue  # not in the log: verify reports it
            while policies and place.get(("record", policies[0][0]), 0) < logged:
                policy = policies.pop(0)[1]
                force[policy.scope] = policy
            needed = required_checkers(force.values(), posted.entry)
            have = _approvals_before(posted, charts, batches, logged) if needed else 0
            if have < needed:
                strictest = max(force.values(), key=lambda p: p.required(posted.entry))
                yield Unapproved(entry=posted, needed=needed, approvals=have, scope=strictest.scope)


def _above_a_tier(connection: Connection, charts: Charts, policies: list[ApprovalPolicy]) -> list[int]:
    """The entries in the scope of a policy with a total above its lowest tier, in journal order."""
    chart = charts.current
    p, e, g = t.postings.c, t.entries.c, t.entry_tags.c
    found: set[int] = set()
    for policy in policies:
        if not policy.tiers or (policy.fund is not None and policy.fund not in chart.funds):
            continue
        unit = policy.tiers[0].above.unit.code
        paid = [i for i, a in chart.account_by_id.items() if a.unit.code == unit and a.type is not AccountType.MEMO]
        query = (
            select(p.entry_seq)
            .where(p.amount > 0, p.account_id.in_(paid))
            .group_by(p.entry_seq)
            .having(func.sum(p.amount) > policy.tiers[0].above.minor)
        )
        if policy.kind is not None:
            query = query.where(p.entry_seq.in_(select(e.seq).where(e.kind == policy.kind)))
        if policy.fund is not None:
            fund = t.postings.alias("fund")
            query = query.where(
                p.entry_seq.in_(select(fund.c.entry_seq).where(fund.c.fund_id == chart.funds[policy.fund][0]))
            )
        if policy.tag is not None:
            query = query.where(
                p.entry_seq.in_(select(g.entry_seq).where(g.name == policy.tag[0], g.value == policy.tag[1]))
            )
        found.update(int(seq) for (seq,) in connection.execute(query))
    return sorted(found)


#: A batch's entries' fingerprints, its maker, and its checkers with the log place of each decision.
_Batch = tuple[str, list[tuple[str, int]]]


def _approved_batches(reader: Reader, charts: Charts, place: dict[tuple[str, int], int]) -> dict[str, list[_Batch]]:
    """The approved batches' checkers (with where each approval is logged), by the fingerprint of each entry."""
    checkers: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for kind in (approvals.APPROVAL_RECORD, approvals.DECISION_RECORD):
        for record in reader.records(kind):
            if record.body.get("decision") == "approved" and record.subject is not None:
                checkers[record.subject].append((record.actor, place.get(("record", record.seq), 0)))
    found: dict[str, list[_Batch]] = defaultdict(list)
    for record in reader.records("pending"):
        if record.code not in checkers:
            continue
        for fields in record.body["entries"]:
            try:
                fingerprint = prepare(entry_from_fields(fields, charts), charts).fingerprint
            except (AidLedgerError, KeyError, TypeError, ValueError):
                continue  # a batch the chart no longer reads: its entries count as unapproved
            found[fingerprint].append((record.actor, checkers[record.code]))
    return found


def _approvals_before(posted: PostedEntry, charts: Charts, batches: dict[str, list[_Batch]], logged: int) -> int:
    """The most distinct checkers any batch holding ``posted`` had before it was logged."""
    if posted.entry.approved_by is None:
        return 0
    try:
        fingerprint = prepare(attrs.evolve(posted.entry, approved_by=None), charts).fingerprint
    except (AidLedgerError, KeyError, ValueError):
        return 0
    best = 0
    for maker, decided in batches.get(fingerprint, []):
        before = [actor for actor, at in decided if at < logged]
        have = approvals.distinct_checkers(before, maker) - {identity_key(posted.entry.actor)}
        best = max(best, len(have))
    return best
