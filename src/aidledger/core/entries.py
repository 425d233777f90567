"""Postings and journal entries, and the rules an entry must satisfy on its own.

An entry is checked here, from its values alone, before the ledger looks at the
database: it has two or more postings, every posting is in its account's unit,
and the postings balance for every fund and every unit.
"""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pendulum

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount
from aidledger.core.errors import InvalidAmount, InvalidArgument, UnbalancedEntry, UnitMismatch
from aidledger.core.identity import same_identity
from aidledger.core.times import to_micros
from aidledger.core.validators import instance_of

_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}\Z")
_TAG_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}\Z")
MAX_TEXT = 10_000


def check_text(what: str, value: object, *, allow_empty: bool = True, limit: int = MAX_TEXT) -> str:
    """Return ``value`` if it is text the ledger stores exactly, else raise InvalidArgument.

    Text may hold any Unicode (right-to-left marks included) except NUL, which
    PostgreSQL cannot store, and unpaired surrogates, which no encoding can.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be text, got {value!r}", value=value)
    if not allow_empty and (not value or value.isspace()):
        raise InvalidArgument(f"{what} must not be empty", value=value)
    if "\x00" in value:
        raise InvalidArgument(f"{what} must not contain NUL characters: {value!r}", value=value)
    if len(value) > limit:
        raise InvalidArgument(f"{what} is {len(value)} characters long; the limit is {limit}", value=value[:80] + "…")
    if not value.isascii():  # ASCII text encodes; other text may hold an unpaired surrogate
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgument(f"{what} is not valid Unicode text: {value!r}", value=value) from None
    return value


def _text(what: str, *, allow_empty: bool = True, limit: int = MAX_TEXT) -> Any:
    def check(_: object, __: object, value: object) -> None:
        check_text(what, value, allow_empty=allow_empty, limit=limit)

    return check


def _optional_text(what: str) -> Any:
    def check(_: object, __: object, value: object) -> None:
        if value is not None:
            check_text(what, value, allow_empty=False, limit=500)

    return check


@attrs.frozen
class Posting:
    """One line of a journal entry: an amount debited (positive) or credited (negative).

    Attributes:
        account: the account posted to.
        fund: the fund the line belongs to.
        amount: signed amount in the account's unit: positive debits, negative credits.
    """

    account: Account = attrs.field(validator=instance_of(Account))
    fund: Fund = attrs.field(validator=instance_of(Fund))
    amount: Amount = attrs.field(validator=instance_of(Amount))

    def __attrs_post_init__(self) -> None:
        if self.amount.unit != self.account.unit:
            raise UnitMismatch(
                f"posting of {self.amount:,} to {self.account.code}, which is held in {self.account.unit.code}",
                account=self.account.code,
                amount=self.amount,
            )
        if self.amount.is_zero():
            raise InvalidAmount(f"a posting to {self.account.code} must not be zero", account=self.account.code)

    @classmethod
    def debit(cls, account: Account, fund: Fund, amount: Amount) -> Posting:
        """A debit of a positive ``amount``."""
        return cls(account, fund, _positive(amount, account))

    @classmethod
    def credit(cls, account: Account, fund: Fund, amount: Amount) -> Posting:
        """A credit of a positive ``amount``."""
        return cls(account, fund, -_positive(amount, account))

    @property
    def minor(self) -> int:
        return self.amount.minor


def _positive(amount: Amount, account: Account) -> Amount:
    if not isinstance(amount, Amount):
        raise InvalidAmount(f"amount must be Money or Quantity, got {amount!r}", value=amount)
    if amount.value <= 0:
        raise InvalidAmount(
            f"debit and credit amounts must be positive, got {amount:,} for {account.code}",
            value=amount,
            account=account.code,
        )
    return amount


@attrs.frozen
class Claim:
    """A once-only claim: the ledger refuses a second entry with the same scope and key.

    One-off programmes claim ``(programme, beneficiary pseudonym)``, so a household
    is paid at most once, whichever process or batch tries again.
    """

    scope: str = attrs.field(validator=_text("claim scope", allow_empty=False, limit=200))
    key: str = attrs.field(validator=_text("claim key", allow_empty=False, limit=200))


def _to_postings(value: Iterable[Posting]) -> tuple[Posting, ...]:
    return tuple(value)


def _to_tags(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return types.MappingProxyType({})
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"tags must be a mapping of names to text, got {value!r}", value=value)
    for name, text in value.items():
        if not isinstance(name, str) or not _TAG_NAME.match(name):
            raise InvalidArgument(f"tag name must be a lower-case identifier, got {name!r}", value=name)
        check_text(f"tag {name}", text, limit=500)
    return types.MappingProxyType(dict(sorted(value.items())))


def _to_claims(value: Iterable[Claim]) -> tuple[Claim, ...]:
    claims = tuple(value)
    for claim in claims:
        if not isinstance(claim, Claim):
            raise InvalidArgument(f"claims must be Claim values, got {claim!r}", value=claim)
    if len(set(claims)) != len(claims):
        raise InvalidArgument("an entry lists the same claim twice", claims=claims)
    return tuple(sorted(claims, key=lambda c: (c.scope, c.key)))


def _check_kind(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, str) or not _KIND.match(value):
        raise InvalidArgument(f"entry kind must be a lower-case identifier, got {value!r}", value=value)


def _check_time(_: Any, __: Any, value: Any) -> None:
    to_micros(value, "effective time")


@attrs.frozen
class JournalEntry:
    """A journal entry before the ledger has accepted it.

    Attributes:
        kind: what happened (``donation``, ``payment``, ``general``...).
        effective_at: when it happened in the world (time-zone aware).
        postings: two or more postings that balance per fund and unit.
        actor: who made the entry.
        memo: a description.
        idempotency_key: if given, the ledger posts this key at most once and a
            retry returns the first result.
        source: a reference to the source document.
        tags: named text dimensions for audit queries (``region``, ``programme``...).
        claims: once-only claims the entry takes.
        releases: claims the entry gives back (a failed payment frees its household).
        reverses: the id of the entry this one reverses, if any.
        approved_by: the checker who approved the entry; never its maker (``actor``).
    """

    kind: str = attrs.field(validator=_check_kind)
    effective_at: dt.datetime = attrs.field(validator=_check_time)
    postings: tuple[Posting, ...] = attrs.field(converter=_to_postings)
    actor: str = attrs.field(validator=_text("actor", allow_empty=False, limit=200))
    memo: str = attrs.field(default="", validator=_text("memo"))
    idempotency_key: str | None = attrs.field(default=None, validator=_optional_text("idempotency key"))
    source: str | None = attrs.field(default=None, validator=_optional_text("source"))
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_to_tags)
    claims: tuple[Claim, ...] = attrs.field(factory=tuple, converter=_to_claims)
    releases: tuple[Claim, ...] = attrs.field(factory=tuple, converter=_to_claims)
    reverses: str | None = attrs.field(default=None, validator=_optional_text("reversed entry id"))
    approved_by: str | None = attrs.field(default=None, validator=_optional_text("checker"))

    def __attrs_post_init__(self) -> None:
        check_entry(self)
        if self.approved_by is not None and same_identity(self.approved_by, self.actor):
            raise InvalidArgument(
                f"{self.approved_by!r} is the maker {self.actor!r} and cannot approve their own entry: the checker "
                f"must be another person",
                actor=self.actor,
            )
        if set(self.claims) & set(self.releases):
            raise InvalidArgument("an entry cannot take and release the same claim", claims=self.claims)


def check_entry(entry: JournalEntry) -> None:
    """Raise if ``entry`` cannot be posted whatever the ledger holds.

    It needs two or more postings, each a :class:`Posting`, and for every fund and
    unit the debits must equal the credits exactly (no tolerance).
    """
    if len(entry.postings) < 2:
        raise UnbalancedEntry(
            f"a journal entry needs at least two postings, got {len(entry.postings)}",
            postings=len(entry.postings),
        )
    totals: dict[tuple[str, str], int] = {}
    for posting in entry.postings:
        if not isinstance(posting, Posting):
            raise InvalidArgument(f"postings must be Posting values, got {posting!r}", value=posting)
        key = (posting.fund.code, posting.amount.unit.code)
        totals[key] = totals.get(key, 0) + posting.minor
    for (fund, unit), total in sorted(totals.items()):
        if total:
            off = Amount.from_minor(total, _unit_of(entry, fund, unit))
            raise UnbalancedEntry(
                f"entry does not balance in fund {fund}, unit {unit}: debits exceed credits by {off}",
                fund=fund,
                unit=unit,
                difference=off,
            )


def _unit_of(entry: JournalEntry, fund: str, unit: str) -> Any:
    for posting in entry.postings:
        if posting.fund.code == fund and posting.amount.unit.code == unit:
            return posting.amount.unit
    raise AssertionError("unreachable")  # pragma: no cover


@attrs.frozen
class PostedEntry:
    """A journal entry as the ledger holds it.

    Attributes:
        entry: what was posted.
        seq: its position in the hash chain (1, 2, 3, ...).
        id: its id.
        recorded_at: when the ledger learned it.
        prev_hash: the hash of the previous entry in the chain.
        hash: the hash of this entry's canonical form.
    """

    entry: JournalEntry
    seq: int
    id: str
    recorded_at: pendulum.DateTime
    prev_hash: str
    hash: str
