"""The one hierarchy of errors that aidledger raises.

Every error is a subclass of :class:`AidLedgerError` and, where one fits, of
the builtin exception it resembles, so ``except ValueError`` still works for
callers who do not know aidledger.  Each error carries the offending values as
attributes, and its message names them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # core.amounts imports this module
    from aidledger.core.amounts import Money


class AidLedgerError(Exception):
    """Base class of every error raised by aidledger.

    Attributes:
        details: the offending values, by name, for programs that handle the error.
    """

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: Mapping[str, Any] = details

    def __str__(self) -> str:
        return self.message


class InvalidArgument(AidLedgerError, ValueError):
    """An argument has the wrong type or value (a float amount, a naive time, an empty actor)."""


class InvalidAmount(InvalidArgument):
    """An amount is not exact money or quantity: a float, NaN, infinity, too fine or too large."""


class MalformedFile(InvalidArgument):
    """A file to import could not be read: its line number and the offending value are in the message."""


class InvalidTime(InvalidArgument):
    """A time is naive (no time zone) or not a datetime."""


class UnitMismatch(AidLedgerError, TypeError):
    """Two amounts in different units were combined, or a posting's unit is not its account's."""


class UnbalancedEntry(AidLedgerError, ValueError):
    """A journal entry does not balance for some fund and unit."""


class UnknownAccount(AidLedgerError, LookupError):
    """An account code is not in the chart of accounts."""


class UnknownFund(AidLedgerError, LookupError):
    """A fund code is not known to the ledger."""


class UnknownEntry(AidLedgerError, LookupError):
    """No journal entry has the given id."""


class DuplicateDefinition(AidLedgerError, ValueError):
    """An account, fund or unit is defined again with different attributes."""


class InsufficientBalance(AidLedgerError):
    """Posting would take an account or a fund below zero at some effective time."""


class PeriodClosed(AidLedgerError):
    """An entry's effective time falls in a closed period."""


class IdempotencyConflict(AidLedgerError):
    """An idempotency key was already used for a different entry."""


class AlreadyReversed(AidLedgerError):
    """The entry was already reversed (a reversal can happen once)."""


class DuplicateClaim(AidLedgerError):
    """A once-only claim (such as a beneficiary in a one-off programme) is already taken."""


class RepeatedBeneficiary(DuplicateClaim):
    """One beneficiary is on two or more lines of one payment list (or delivery list).

    Attributes:
        lines: the list's line numbers that name the beneficiary (from 1).
        references: those lines' references, in the same order.
    """

    def __init__(self, message: str, *, lines: Sequence[int], references: Sequence[str], **details: Any) -> None:
        super().__init__(message, lines=tuple(lines), references=tuple(references), **details)
        self.lines = tuple(lines)
        self.references = tuple(references)


class OutOfOrder(InvalidArgument):
    """An operation is dated before the event it follows (a settlement before its payment was approved).

    Attributes:
        effective_at: the operation's effective time, as given.
        event: what it must follow ("approval", "sending").
        event_at: when that happened, in the time zone of ``effective_at``.
    """

    def __init__(
        self, message: str, *, effective_at: dt.datetime, event: str, event_at: dt.datetime, **details: Any
    ) -> None:
        super().__init__(message, effective_at=effective_at, event=event, event_at=event_at, **details)
        self.effective_at = effective_at
        self.event = event
        self.event_at = event_at


class LedgerUrlError(AidLedgerError, ValueError):
    """A database URL cannot be used.  The message never contains its password."""


class StorageError(AidLedgerError):
    """The database refused an operation in a way the ledger did not expect."""


class UnknownRecord(AidLedgerError, LookupError):
    """No programme, project, pledge or payment list has the given code."""


class PurposeMismatch(AidLedgerError):
    """Spending from a restricted or designated fund does not match the fund's purpose."""


class ApprovalRequired(AidLedgerError):
    """The amount is above the approval threshold: submit it for a checker's approval instead."""


class InsufficientFunds(InsufficientBalance):
    """A payment list (or another spending of many lines) needs more than its fund has available.

    Attributes:
        fund: the fund's code.
        total: what the operation needs (a payment list's total).
        available: what the fund has available at the operation's effective time.
        shortfall: ``total - available``, what is missing for the whole operation.
    """

    def __init__(
        self, message: str, *, fund: str, total: Money, available: Money, shortfall: Money, **details: Any
    ) -> None:
        super().__init__(message, fund=fund, total=total, available=available, shortfall=shortfall, **details)
        self.fund = fund
        self.total = total
        self.available = available
        self.shortfall = shortfall


class InsufficientStock(InsufficientBalance):
    """A delivery, dispatch or write-off exceeds the stock on hand at its effective time."""


class ExceedsCommitment(InsufficientBalance):
    """A grant tranche exceeds the remaining commitment of its project."""


class ExceedsBudget(InsufficientBalance):
    """A commitment exceeds what remains of its budget line, or the free balance of the line's fund."""


class ExclusionConflict(DuplicateClaim):
    """A payment to a beneficiary another programme of a hard exclusion group already pays."""


class ExceedsPledge(InsufficientBalance):
    """A pledge payment or write-off exceeds what is still outstanding on the pledge."""


class ExceedsReceived(AidLedgerError):
    """A refund or clawback exceeds what was received or paid out."""


class PaymentStateError(AidLedgerError):
    """A payment or payment list is not in a state that allows the operation (already sent, not paid...)."""


class DigestMismatch(AidLedgerError):
    """A digest does not describe this ledger: its item is missing or has another hash."""


class NotALedger(AidLedgerError, LookupError):
    """There is no aidledger ledger at the URL: the file does not exist, or the database has no aidledger schema."""


class SchemaMismatch(AidLedgerError):
    """The ledger's schema is older or newer than this version of aidledger reads."""
