"""Check 6: one beneficiary holding live payments from several programmes for the same purpose."""

from __future__ import annotations

import json
from collections import defaultdict

import attrs
from sqlalchemy import case, func, not_, select
from sqlalchemy.engine import Connection

from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.entries import EntryRef, chunks, entry_refs
from aidledger.queries.entry_testing.scope import Scope, ledger_of, reading
from aidledger.store import schema as t
from aidledger.vocabulary import CLAIM_PREFIX, RecordKind


@attrs.frozen
class SeveralProgrammes:
    """A beneficiary holding live payments from two or more programmes for one purpose.

    Attributes:
        beneficiary: the pseudonym.
        purpose: the programmes' common purpose.
        programmes: the programme codes.
        entries: the live payment entries (not failed or returned), in chain order.
    """

    beneficiary: str
    purpose: str
    programmes: tuple[str, ...]
    entries: tuple[EntryRef, ...]


def same_beneficiary_several_programmes(
    ledger: Ledger,
    purpose: str | None = None,
    *,
    window: Window | None = None,
) -> tuple[SeveralProgrammes, ...]:
    """Beneficiaries holding live payments from two or more programmes for the same purpose.

    A payment is live while its programme claim on the beneficiary is held: a
    failed or returned payment releases it (as in :func:`aidledger.double_payments`,
    which this reproduces at any ``known_at``).  Programmes and purposes come
    from the programme records.

    Args:
        ledger: the ledger.
        purpose: only programmes with this purpose.
        window: only the entries in this :class:`~aidledger.Window` (all by default); its ``known_at``
            also limits the closes and releases taken into account.

    Returns:
        One finding per beneficiary and purpose, by purpose and pseudonym.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = ledger_of(ledger)
    if purpose is not None and (not isinstance(purpose, str) or not purpose):
        raise InvalidArgument(f"purpose must be text, got {purpose!r}", value=purpose)
    with reading(ledger, window) as (connection, scope):
        return find_several_programmes(connection, scope, purpose)


def _purposes(connection: Connection, scope: Scope, purpose: str | None) -> dict[str, str]:
    """The purpose of each programme known in the scope, by the scope of its claims."""
    r = t.records.c
    purposes: dict[str, str] = {}
    for code, body in connection.execute(
        select(r.code, r.body).where(r.kind == RecordKind.PROGRAMME, *scope.known(r.recorded_at))
    ):
        stated = str(json.loads(body)["purpose"])
        if purpose is None or stated == purpose:
            purposes[f"{CLAIM_PREFIX}{code}"] = stated
    return purposes


def find_several_programmes(connection: Connection, scope: Scope, purpose: str | None) -> tuple[SeveralProgrammes, ...]:
    """:func:`same_beneficiary_several_programmes` on a scope read in ``connection``."""
    purposes = _purposes(connection, scope, purpose)
    if len(purposes) < 2:
        return ()
    c, e = t.claims.c, t.entries.c
    releases, released_by = t.claim_releases.alias(), t.entries.alias()
    released = (
        select(releases.c.entry_seq)
        .join(released_by, released_by.c.seq == releases.c.entry_seq)
        .where(
            releases.c.scope == c.scope,
            releases.c.key == c.key,
            releases.c.generation == c.generation,
            released_by.c.seq <= scope.through_seq,
            *scope.known(released_by.c.recorded_at),
        )
        .exists()
    )
    live = [c.scope.in_(sorted(purposes)), *scope.where(), not_(released)]
    what = case(purposes, value=c.scope).label("purpose")
    held = select(what, c.key, c.scope).join(t.entries, e.seq == c.entry_seq).where(*live).subquery()
    flagged = {
        (str(p), str(k))
        for p, k in connection.execute(
            select(held.c.purpose, held.c.key)
            .group_by(held.c.purpose, held.c.key)
            .having(func.count(func.distinct(held.c.scope)) > 1)
        )
    }
    payments: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for chunk in chunks(sorted({k for _, k in flagged})):
        query = select(c.scope, c.key, c.entry_seq).join(t.entries, e.seq == c.entry_seq).where(*live, c.key.in_(chunk))
        for scope_name, key, seq in connection.execute(query):
            pair = (purposes[str(scope_name)], str(key))
            if pair in flagged:
                payments[pair].append((str(scope_name)[len(CLAIM_PREFIX) :], int(seq)))
    refs = entry_refs(connection, (seq for held_ in payments.values() for _, seq in held_))
    return tuple(
        SeveralProgrammes(
            beneficiary=key,
            purpose=what_for,
            programmes=tuple(sorted({programme for programme, _ in payments[(what_for, key)]})),
            entries=tuple(refs[seq] for seq in sorted(seq for _, seq in payments[(what_for, key)])),
        )
        for what_for, key in sorted(payments)
    )
