"""Refusals that name the true cause: a list's whole shortfall, the lines that repeat a beneficiary, a date too early.

The ledger refuses what would break an invariant, but it sees entries, not
lists: it names the first line that fails, a pseudonym, or an account that
would go below zero.  These helpers turn such a refusal into one that names
what the caller gave: the list's total and what its fund has available, the
list's line numbers and references, or the event a settlement was dated
before.  They never name personal data (a beneficiary is a pseudonym, shown
shortened next to the lines that name it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from aidledger.core.accounts import Fund
from aidledger.core.amounts import Money
from aidledger.core.beneficiaries import Beneficiary
from aidledger.core.entries import PostedEntry
from aidledger.core.errors import (
    DuplicateClaim,
    InsufficientBalance,
    InsufficientFunds,
    OutOfOrder,
    RepeatedBeneficiary,
)
from aidledger.core.formatting import format_time
from aidledger.core.times import zone_name
from aidledger.ledger.ledger import Ledger

SHOWN = 15  # characters of a pseudonym shown next to line numbers ("v1-" and 12 hex digits)


def short(pseudonym: str) -> str:
    """A pseudonym shortened for a message: enough to find it, not 64 characters."""
    return pseudonym if len(pseudonym) <= SHOWN else f"{pseudonym[:SHOWN]}…"


def _numbers(values: Sequence[object]) -> str:
    """``1``, ``1 and 2``, ``1, 2 and 3``."""
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


@contextmanager
def fund_shortfall(ledger: Ledger, fund: Fund, total: Money, on: dt.datetime, what: str) -> Iterator[None]:
    """Re-raise the ledger's refusal of ``fund``'s net assets as InsufficientFunds naming ``what``'s whole shortfall.

    The ledger names the first line that dips below zero and how far that one
    line dips; a list's caller needs the list's total, what the fund has
    available at ``on`` and how much is missing for the whole list.
    """
    try:
        yield
    except InsufficientBalance as error:
        unit = total.unit
        if (
            type(error) is not InsufficientBalance
            or error.details.get("what") != f"fund {fund.code} ({unit.code} net assets)"
        ):
            raise
        # What the fund has at ``on``, and at its latest entry: the list must fit under both.
        held = min(ledger.fund_balance(fund, unit, as_of=on).minor, ledger.fund_balance(fund, unit).minor)
        available = Money.from_minor(max(held, 0), unit)
        missing = total.minor - available.minor
        when = format_time(on)
        if missing > 0:
            message = f"{what} totals {total:,}, but fund {fund.code} has {available:,} available on {when}"
        else:  # the dip is between ``on`` and the latest entry: the first line's dip is all that is known
            found = error.details.get("shortfall")
            missing = found.minor if isinstance(found, Money) else 0
            message = (
                f"{what} totals {total:,}; fund {fund.code} has {available:,} on {when} and at its latest entry, "
                f"but entries dated in between leave less ({error})"
            )
        shortfall = Money.from_minor(missing, unit)
        raise InsufficientFunds(
            f"{message}: {shortfall:,} short; nothing was posted",
            fund=fund.code,
            total=total,
            available=available,
            shortfall=shortfall,
            what=what,
            effective_at=on,
        ) from error


def repeated_beneficiaries(
    what: str, pairs: Sequence[tuple[Beneficiary, str]], scope: str
) -> dict[int, RepeatedBeneficiary]:
    """For each line (by index) that repeats an earlier line's beneficiary: the refusal naming all its lines.

    ``pairs`` are the lines' beneficiaries and references, in list order.
    """
    where: dict[str, list[int]] = defaultdict(list)
    for index, (beneficiary, _) in enumerate(pairs):
        where[beneficiary.pseudonym].append(index)
    found: dict[int, RepeatedBeneficiary] = {}
    for pseudonym, indexes in where.items():
        if len(indexes) < 2:
            continue
        lines = [i + 1 for i in indexes]
        references = [pairs[i][1] for i in indexes]
        error = RepeatedBeneficiary(
            f"{what}: lines {_numbers(lines)} (references {_numbers(references)}) are for the same beneficiary "
            f"{short(pseudonym)}, who can be paid once; keep one of these lines",
            lines=lines,
            references=references,
            scope=scope,
            key=pseudonym,
        )
        found.update(dict.fromkeys(indexes[1:], error))
    return found


@contextmanager
def claimed_line(what: str, pairs: Sequence[tuple[Beneficiary, str]], scope: str) -> Iterator[None]:
    """Re-raise a taken claim in ``scope`` naming the list line (and reference) whose beneficiary holds it."""
    try:
        yield
    except DuplicateClaim as error:
        key = error.details.get("key")
        if type(error) is not DuplicateClaim or error.details.get("scope") != scope:
            raise
        numbered = [(n, ref) for n, (b, ref) in enumerate(pairs, start=1) if b.pseudonym == key]
        if not numbered:
            raise
        number, reference = numbered[0]
        holder = str(error).rsplit(" by ", 1)[-1]
        raise DuplicateClaim(
            f"{what}: line {number} ({reference}): beneficiary {key} is already taken in {scope} "
            f"by {holder}, a payment not failed or returned; nothing was posted",
            scope=scope,
            key=key,
            line=number,
            reference=reference,
        ) from error


def check_not_before(on: dt.datetime, event: str, earlier: PostedEntry, what: str) -> None:
    """Refuse ``what`` dated ``on`` if it is before ``earlier`` (the ``event`` it follows), naming both times."""
    event_at = earlier.entry.effective_at.astimezone(on.tzinfo)
    if on < event_at:
        raise OutOfOrder(
            f"{what} is dated {format_time(on)}, before its {event} on {format_time(event_at, zone_name(on))}; "
            f"date it at or after the {event}; nothing was posted",
            effective_at=on,
            event=event,
            event_at=event_at,
            entry_id=earlier.id,
        )
