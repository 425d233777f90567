"""One typed model for the bank statements of every format: camt.053, camt.054 and MT940.

A :class:`BankStatement` holds the :class:`StatementEntry` values a bank
reported for one account, each with the file name and line it came from.
Amounts are exact :class:`~aidledger.core.amounts.Money` in the entry's own
currency.  Counterparty names are the bank's data, kept as given; they are
left out of every ``repr`` so that logging a value never logs a person's name.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

import attrs

from aidledger.core.amounts import Money


def _details(items: Iterable[TransactionDetail]) -> tuple[TransactionDetail, ...]:
    return tuple(items)


def _entries(items: Iterable[StatementEntry]) -> tuple[StatementEntry, ...]:
    return tuple(items)


class CreditDebit(enum.Enum):
    """Whether money came into the account (credit) or left it (debit)."""

    CREDIT = "CRDT"
    DEBIT = "DBIT"


class EntryStatus(enum.Enum):
    """Whether the bank has booked an entry or still holds it as pending (or information only)."""

    BOOKED = "BOOK"
    PENDING = "PDNG"
    INFO = "INFO"


class BalanceCheckResult(enum.Enum):
    """What ``opening + entries = closing`` said for a statement."""

    AGREES = "agrees"
    DIFFERS = "differs"
    NOT_POSSIBLE = "not possible"


@attrs.frozen(kw_only=True)
class TransactionDetail:
    """One transaction inside an entry (camt ``TxDtls``; an MT940 ``:61:``/``:86:`` pair gives one).

    Attributes:
        end_to_end_id: the payer's end-to-end id, as sent in the payment initiation.
        instruction_id: the instruction id.
        account_servicer_reference: the bank's own reference for the transaction.
        remittance_info: the unstructured remittance lines joined by newlines, or a structured reference.
        counterparty_name: the other party's name (debtor of a credit, creditor of a debit); never in ``repr``.
        counterparty_iban: the other party's IBAN (or other account id).
        return_reason: the ISO return reason code from ``RtrInf`` (``AC04``), for a returned payment.
        amount: this transaction's own amount when the file gives one.
        line: the line of the file it came from.
    """

    end_to_end_id: str | None = None
    instruction_id: str | None = None
    account_servicer_reference: str | None = None
    remittance_info: str | None = None
    counterparty_name: str | None = attrs.field(default=None, repr=False)
    counterparty_iban: str | None = attrs.field(default=None, repr=False)
    return_reason: str | None = None
    amount: Money | None = None
    line: int


@attrs.frozen(kw_only=True)
class StatementEntry:
    """One entry of a statement: a booking on the account, possibly a batch of several transactions.

    Attributes:
        reference: the entry reference (camt ``NtryRef``; MT940 customer reference); not unique in real files.
        booking_date: the day the bank booked it (MT940: the entry date, or the value date when none is given).
        value_date: the value date.
        credit_debit: into or out of the account.
        amount: the amount, always positive, in the entry's own currency (which may differ from the account's).
        status: booked, pending or information.
        reversal: whether the entry reverses an earlier one (camt ``RvslInd``, MT940 ``RC``/``RD``).
        bank_code: the bank transaction code (``PMNT/RCDT/ESCT``, a proprietary code, or MT940's ``NTRF``).
        account_servicer_reference: the bank's reference for the entry.
        additional_info: the entry's additional information text (camt ``AddtlNtryInf``, MT940 ``:86:``).
        details: the transactions the entry is made of.
        file: the name of the file it came from.
        line: the line of the file where the entry starts.
    """

    reference: str | None
    booking_date: dt.date | None
    value_date: dt.date | None
    credit_debit: CreditDebit
    amount: Money
    status: EntryStatus = EntryStatus.BOOKED
    reversal: bool = False
    bank_code: str | None = None
    account_servicer_reference: str | None = None
    additional_info: str | None = attrs.field(default=None, repr=False)
    details: tuple[TransactionDetail, ...] = attrs.field(default=(), converter=_details)
    file: str
    line: int

    @property
    def signed(self) -> Money:
        """The amount with its effect on the account: positive for a credit, negative for a debit."""
        return self.amount if self.credit_debit is CreditDebit.CREDIT else Money(-self.amount.value, self.amount.unit)


@attrs.frozen(kw_only=True)
class BalanceCheck:
    """Whether the opening balance plus the booked entries gives the closing balance.

    Real statements often do not add up (a cut-down file, entries in another
    currency): that is information about the file, not an error.

    Attributes:
        result: agrees, differs, or not possible.
        computed: opening plus the booked entries, when that could be computed.
        difference: stated closing minus computed, when both are known.
        reason: why the check was not possible, or ``""``.
    """

    result: BalanceCheckResult
    computed: Money | None = None
    difference: Money | None = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class BankStatement:
    """A statement (camt.053), a notification (camt.054) or one MT940 statement block, for one account.

    Attributes:
        format: the message type read, such as ``camt.053.001.02`` or ``mt940``.
        message_id: the message id (camt ``GrpHdr/MsgId``; MT940 ``:20:``).
        statement_id: the statement's own id (camt ``Stmt/Id``; MT940 ``:28C:`` statement/sequence number).
        account: the account's IBAN, or its other identification as given.
        currency: the account's currency code, when the file states it.
        opening: the opening booked balance (camt ``OPBD``, or ``PRCD`` when no ``OPBD``; MT940 ``:60F:``/``:60M:``).
        closing: the closing booked balance (camt ``CLBD``; MT940 ``:62F:``/``:62M:``).
        created: the time the statement was created, as given (it may have no time zone).
        entries: the entries, in file order.
        balance_check: whether opening + booked entries = closing.
        file: the name of the file.
        line: the line where the statement starts.
    """

    format: str
    message_id: str | None
    statement_id: str | None
    account: str | None
    currency: str | None
    opening: Money | None
    closing: Money | None
    created: dt.datetime | None
    entries: tuple[StatementEntry, ...] = attrs.field(converter=_entries)
    balance_check: BalanceCheck
    file: str
    line: int


def check_balance(
    currency: str | None, opening: Money | None, closing: Money | None, entries: tuple[StatementEntry, ...]
) -> BalanceCheck:
    """Compare ``opening`` + the booked entries with ``closing``, exactly; never raises for a mismatch."""
    if opening is None or closing is None:
        missing = "opening" if opening is None else "closing"
        return BalanceCheck(result=BalanceCheckResult.NOT_POSSIBLE, reason=f"the statement has no {missing} balance")
    if opening.unit != closing.unit:
        return BalanceCheck(
            result=BalanceCheckResult.NOT_POSSIBLE,
            reason=f"the opening balance is in {opening.unit.code}, the closing balance in {closing.unit.code}",
        )
    if currency is not None and opening.unit.code != currency:
        return BalanceCheck(
            result=BalanceCheckResult.NOT_POSSIBLE,
            reason=f"the balances are in {opening.unit.code}, the account in {currency}",
        )
    total = opening.value
    for entry in entries:
        if entry.status is not EntryStatus.BOOKED:
            continue
        if entry.amount.unit != opening.unit:
            return BalanceCheck(
                result=BalanceCheckResult.NOT_POSSIBLE,
                reason=f"the entry on line {entry.line} is in {entry.amount.unit.code}, "
                f"the balances in {opening.unit.code}",
            )
        total += entry.signed.value
    computed = Money(total, opening.unit)
    difference = Money(closing.value - total, closing.unit)
    result = BalanceCheckResult.AGREES if difference.is_zero() else BalanceCheckResult.DIFFERS
    return BalanceCheck(result=result, computed=computed, difference=difference)
