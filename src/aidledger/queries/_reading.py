"""Reading helpers the aid queries share: records as known at a time, balances of accounts not made yet."""

from __future__ import annotations

from collections.abc import Mapping

import pendulum
from sqlalchemy import ColumnElement, select

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount
from aidledger.core.errors import InvalidArgument, UnknownAccount, UnknownRecord
from aidledger.core.times import to_micros
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Record
from aidledger.store import schema as t
from aidledger.store import window as store_window


def require_ledger(ledger: object) -> Ledger:
    """``ledger`` if it is a Ledger, else InvalidArgument (a query is given the ledger, not an ``Aid``)."""
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    return ledger


def balance_or_zero(
    ledger: Ledger,
    account: Account,
    fund: Fund | str,
    *,
    window: Window,
    tags: Mapping[str, str] | None = None,
) -> Amount:
    """The balance of ``account`` in ``fund`` (as :meth:`Ledger.balance`), zero if the account does not exist yet.

    A query must write nothing (an auditor's role may only read), so the
    standard chart's accounts are named, never created, and one the ledger does
    not hold yet simply has a zero balance.
    """
    try:
        return ledger.balance(account, fund, window=window, tags=tags)
    except UnknownAccount:
        return Amount.from_minor(0, account.unit)


def known_by(ledger: Ledger, window: Window) -> pendulum.DateTime | None:
    """The latest recorded time a record may have to be known in ``window``, or ``None`` for any.

    Its ``known_at``; with a digest, also no later than the digest's entry was
    recorded (records beside the journal are bounded by the time the digest's
    newest entry was recorded, until every write is one item of one log).
    """
    bounds = [window.known_at] if window.known_at is not None else []
    if window.through is not None:
        found = next(iter(ledger.entries(after_seq=window.through.seq - 1, limit=1, window=window.recorded())), None)
        if found is not None:
            bounds.append(found.recorded_at)
    return min(bounds, key=to_micros) if bounds else None


def known_record(ledger: Ledger, kind: str, code: str, window: Window) -> Record:
    """The record of ``kind`` and ``code`` if ``window`` knows it (:func:`known_by`); else UnknownRecord."""
    known_at = known_by(ledger, window)
    found = ledger.record(kind, code)
    if found is None:
        raise UnknownRecord(f"no {kind} {code!r}", kind=kind, code=code)
    if known_at is not None and to_micros(found.recorded_at) > to_micros(known_at, "known_at"):
        raise UnknownRecord(
            f"no {kind} {code!r} known at {known_at.isoformat()} (recorded {found.recorded_at.isoformat()})",
            kind=kind,
            code=code,
        )
    return found


def known_records(ledger: Ledger, kind: str, window: Window) -> tuple[Record, ...]:
    """Every record of ``kind`` recorded by what ``window`` knows (:func:`known_by`; all of them without a bound)."""
    known_at = known_by(ledger, window)
    if known_at is None:
        return ledger.records(kind)
    cutoff = to_micros(known_at, "known_at")
    return tuple(r for r in ledger.records(kind) if to_micros(r.recorded_at) <= cutoff)


def standing(window: Window) -> tuple[ColumnElement[bool], ...]:
    """The predicates that keep the entries that stand in ``window``: inside it, neither a reversal nor reversed in it.

    An entry and its reversal cancel out; where a query counts or sums entries by kind (payments, settlements) it
    must leave both out, or a reversed payment counts twice (issue 16).
    """
    reversal = t.entries.alias("reversal")
    later = select(reversal.c.seq).where(
        reversal.c.reverses == t.entries.c.id, *store_window.conditions(window, reversal)
    )
    return (t.entries.c.reverses.is_(None), ~later.exists(), *store_window.conditions(window, t.entries))
