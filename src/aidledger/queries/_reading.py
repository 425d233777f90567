"""Reading helpers the aid queries share: records as known at a time, balances of accounts not made yet."""

from __future__ import annotations

from collections.abc import Mapping

import pendulum
from sqlalchemy import ColumnElement, select

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount
from aidledger.core.errors import InvalidArgument, UnknownAccount, UnknownRecord
from aidledger.core.formatting import format_time
from aidledger.core.times import to_micros, zone_name
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.log import LogReader
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


def resolved(ledger: Ledger, window: Window) -> Window:
    """``window`` with its digest resolved against ``ledger`` (DigestMismatch if the ledger does not hold it)."""
    return ledger.resolve(window)


def known_by(ledger: Ledger, window: Window) -> pendulum.DateTime | None:
    """The latest recorded time a record may have to be known in ``window``, or ``None`` for any.

    Its ``known_at``; with the digest of an entry, also no later than that entry
    was recorded.  (A digest of the log bounds records by their place in the log:
    :func:`known_records`.)
    """
    bounds = [window.known_at] if window.known_at is not None else []
    if window.through is not None:
        through = resolved(ledger, window).through
        if through is not None and through.entries:
            found = next(iter(ledger.entries(after_seq=through.entries - 1, limit=1)), None)
            if found is not None:
                bounds.append(found.recorded_at)
    return min(bounds, key=to_micros) if bounds else None


def _logged_after(ledger: Ledger, window: Window, records: tuple[Record, ...]) -> set[int]:
    """The numbers of ``records`` that come after the item a digest of the log names (none for other windows)."""
    if window.through is None or not records:
        return set()
    with LogReader.of(ledger) as log:
        position = log.record_positions()
        item = log.log_link(window.through.seq)
    if item is None or item.hash != window.through.hash:
        return set()  # the digest of an entry: bounded by time (known_by)
    return {r.seq for r in records if position.get(r.seq, 0) > window.through.seq}


def known_record(ledger: Ledger, kind: str, code: str, window: Window) -> Record:
    """The record of ``kind`` and ``code`` if ``window`` knows it (:func:`known_by`); else UnknownRecord."""
    known_at = known_by(ledger, window)
    found = ledger.record(kind, code)
    if found is None:
        raise UnknownRecord(f"no {kind} {code!r}", kind=kind, code=code)
    if _logged_after(ledger, window, (found,)):
        raise UnknownRecord(f"no {kind} {code!r} known at digest {window.through}", kind=kind, code=code)
    if known_at is not None and to_micros(found.recorded_at) > to_micros(known_at, "known_at"):
        raise UnknownRecord(
            f"no {kind} {code!r} known at {format_time(known_at)} "
            f"(recorded {format_time(found.recorded_at, zone_name(known_at))})",
            kind=kind,
            code=code,
        )
    return found


def known_records(ledger: Ledger, kind: str, window: Window) -> tuple[Record, ...]:
    """Every record of ``kind`` recorded by what ``window`` knows (:func:`known_by`; all of them without a bound)."""
    known_at = known_by(ledger, window)
    records = ledger.records(kind)
    later = _logged_after(ledger, window, records)
    cutoff = None if known_at is None else to_micros(known_at, "known_at")
    return tuple(r for r in records if r.seq not in later and (cutoff is None or to_micros(r.recorded_at) <= cutoff))


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
