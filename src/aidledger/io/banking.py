"""Paying through a bank: a payment list out as pain.001, statements (camt.053/054, MT940) back into the ledger.

The readers and the writer in :mod:`aidledger.io.bankfile` know the formats;
this module wires them to the ledger:

- :func:`export_pain001` writes an approved list as pain.001 file(s), split at
  a bank's limits, and records each file's SHA-256 in the ledger before the
  caller hands it over.  A transfer's end-to-end id is the payment's reference;
  the payee's account comes from the ``accounts`` the caller passes, and the
  file says nothing else about the person (the creditor's name is the
  reference too).
- :func:`read_bank_file` reads any of the three statement formats;
  :func:`statement_lines` turns the booked entries into :class:`BankLine` values
  for :func:`~aidledger.queries.matching.match_statement`.
- :func:`settle_statement` settles a sent list from a statement: a debit
  naming a payment's end-to-end id pays it; a credit naming one (a return,
  ``RtrInf``) returns it if it was paid and fails it otherwise (a rejection),
  and either releases the household's claim for a follow-up list.
- :func:`post_credits` posts the other credits as donations, each exactly once:
  its idempotency key (:func:`credit_keys`) is the account and the entry's
  reference, or for a credit with no reference its place in the statement
  (statement id, booking date, amount, currency and its number among equal
  credits).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pendulum

from aidledger.core.amounts import Money
from aidledger.core.beneficiaries import Beneficiary
from aidledger.core.entries import JournalEntry, PostedEntry
from aidledger.core.errors import InvalidArgument, MalformedFile
from aidledger.core.times import time_zone
from aidledger.io.bankfile import (
    BankStatement,
    CreditDebit,
    CreditTransfer,
    EntryStatus,
    PainFile,
    PaymentInstruction,
    StatementEntry,
    read_camt,
    read_mt940,
    split,
    write_pain001,
)
from aidledger.io.bankfile._common import Source
from aidledger.io.csvfile import read_csv
from aidledger.ledger.ledger import Ledger, LedgerView
from aidledger.ledger.results import Record
from aidledger.operations.aid import Aid
from aidledger.operations.donations import Gift
from aidledger.operations.payments import PaymentLine, Settlement
from aidledger.queries.matching import BankLine
from aidledger.queries.payment_lists import listed_payments, payment_references
from aidledger.vocabulary import Event, PaymentStatus, ProviderLine, RecordKind

#: Entry references that name nothing (MT940's ``NONREF``, camt's ``NOTPROVIDED``).
_NO_REFERENCE = (None, "", "NONREF", "NOTPROVIDED")

#: The statement formats :func:`read_bank_file` reads, by the name the command takes.
BANK_FILE_KINDS = ("camt053", "camt054", "mt940")
#: pain.001 versions by their short name, as ``aidledger export --version`` takes them.
PAIN001_VERSIONS = {"09": "001.001.09", "03": "001.001.03"}


@attrs.frozen(kw_only=True)
class PaymentFiles:
    """The pain.001 file(s) of one list, each recorded in the ledger.

    Attributes:
        list_code: the list.
        files: the files, in order (several when the list was split at a bank's limit).
        records: the ledger's ``payment-file`` record of each file (its SHA-256), made before it was returned.
    """

    list_code: str
    files: tuple[PainFile, ...]
    records: tuple[Record, ...]


#: How many transfers are built between two progress reports.
PROGRESS_STEP = 1000

Progress = Callable[[str, int, int], None]


def _silent(stage: str, done: int, total: int) -> None:
    """No progress report."""


def payment_instruction(
    ledger: Ledger,
    list_code: str,
    *,
    accounts: Mapping[str, str],
    debtor_name: str,
    debtor_iban: str,
    execution_date: dt.date,
    created: dt.datetime,
    debtor_bic: str | None = None,
    message_id: str | None = None,
    progress: Progress = _silent,
) -> PaymentInstruction:
    """The credit transfers of a list's approved, unsettled payments, in reference order (writes nothing).

    ``accounts`` maps each payment's reference to the payee's IBAN (from the
    registry, when the caller has it); a payment without one is refused.  The
    message id is the list's code unless ``message_id`` is given.  ``progress``
    is called as ``progress("transfers", done, total)`` every :data:`PROGRESS_STEP` transfers.
    """
    listed = listed_payments(ledger, list_code)
    due = [payment for payment in listed.payments if payment.status == Event.APPROVED]
    if not due:
        raise InvalidArgument(f"payment list {list_code} has no approved payment left to pay", list_code=list_code)
    transfers = []
    for done, payment in enumerate(due):
        if done % PROGRESS_STEP == 0:
            progress("transfers", done, len(due))
        iban = accounts.get(payment.reference)
        if iban is None:
            raise InvalidArgument(
                f"payment {payment.reference} of list {list_code} has no payee account; pass it in accounts",
                reference=payment.reference,
            )
        transfers.append(
            CreditTransfer(
                end_to_end_id=payment.reference,
                amount=payment.amount,
                creditor_name=payment.reference,
                creditor_iban=iban,
                remittance=f"{listed.programme.code} {payment.reference}",
            )
        )
    progress("transfers", len(due), len(due))
    return PaymentInstruction(
        message_id=message_id or list_code,
        created=created,
        debtor_name=debtor_name,
        debtor_iban=debtor_iban,
        debtor_bic=debtor_bic,
        execution_date=execution_date,
        transfers=transfers,
    )


def export_pain001(
    ledger: Ledger,
    list_code: str,
    *,
    actor: str,
    version: str = "001.001.09",
    max_lines: int | None = None,
    max_amount: Money | None = None,
    created: dt.datetime | None = None,
    progress: Progress = _silent,
    **instruction: Any,
) -> PaymentFiles:
    """The pain.001 file(s) of a list, each SHA-256 recorded in the ledger (as ``actor``) before they are returned.

    ``instruction`` takes the other keyword arguments of :func:`payment_instruction`
    (``message_id`` among them: the list's code by default).  The list is cut at
    ``max_lines`` transfers and ``max_amount`` per file.  Each file's record is
    keyed by its message id and holds its creation time: writing the same file
    again is a no-op, while a different file under the same message id is
    refused (DuplicateDefinition, and no file is recorded), so the ledger proves
    which file was handed over.  ``created`` is the files' creation time; by
    default the time recorded for the message id when it was exported before
    (so a re-export gives the same bytes), else now.  ``progress`` is called as
    ``progress(stage, done, total)`` while the transfers are built and the files written.
    """
    message_id = instruction.get("message_id") or list_code
    whole = payment_instruction(
        ledger, list_code, created=created or _recorded(ledger, message_id), progress=progress, **instruction
    )
    parts = split(whole, max_lines=max_lines, max_amount=max_amount)
    files: list[PainFile] = []
    for part in parts:
        progress("files", len(files), len(parts))
        files.append(write_pain001(part, version=version))
    progress("files", len(files), len(parts))
    currency = whole.transfers[0].amount.unit.code
    records: list[Record] = []

    def build(view: LedgerView) -> list[JournalEntry]:  # every file's record, or none
        records[:] = [
            view.put_record(
                RecordKind.PAYMENT_FILE,
                written.message_id,
                {
                    "list": list_code,
                    "format": f"pain.{written.version}",
                    "sha256": written.sha256,
                    "created": whole.created.isoformat(),
                    "transactions": written.number_of_transactions,
                    "control_sum": f"{written.control_sum:f}",
                    "currency": currency,
                },
                actor=actor,
                subject=list_code,
            )
            for written in files
        ]
        return []

    ledger.transact(build)
    return PaymentFiles(list_code=list_code, files=tuple(files), records=tuple(records))


def _recorded(ledger: Ledger, message_id: str) -> dt.datetime:
    """When the file(s) under ``message_id`` were created, if they were exported before; else now."""
    for code in (message_id, f"{message_id}-1"):
        record = ledger.record(RecordKind.PAYMENT_FILE, code)
        if record is not None and isinstance(record.body.get("created"), str):
            return dt.datetime.fromisoformat(record.body["created"])
    return pendulum.now("UTC").replace(microsecond=0)


def read_bank_file(source: Source, kind: str) -> list[BankStatement]:
    """The statements of a camt.053, camt.054 or MT940 file; ``kind`` is one of :data:`BANK_FILE_KINDS`.

    A camt file must be of the kind named (a camt.054 given as camt053 is
    refused, naming the message found).
    """
    if kind not in BANK_FILE_KINDS:
        raise InvalidArgument(f"unknown bank file kind {kind!r}; choose one of {', '.join(BANK_FILE_KINDS)}")
    if kind == "mt940":
        return read_mt940(source)
    statements = read_camt(source)
    expected = f"camt.{kind[4:]}."
    for statement in statements:
        if not statement.format.startswith(expected):
            raise MalformedFile(
                f"{statement.file} line {statement.line}: is a {statement.format} message, not {expected}*",
                line=statement.line,
                value=statement.format,
            )
    return statements


def _booked(statements: Iterable[BankStatement]) -> Iterable[tuple[BankStatement, StatementEntry]]:
    for statement in statements:
        if not isinstance(statement, BankStatement):
            raise InvalidArgument(f"expected BankStatement values, got {statement!r}", value=statement)
        for entry in statement.entries:
            if entry.status is EntryStatus.BOOKED:
                yield statement, entry


def _reference(entry: StatementEntry) -> str:
    """What a line quotes: its one transaction's end-to-end id, else the entry's own reference."""
    single = entry.details[0].end_to_end_id if len(entry.details) == 1 else None
    given = (single, entry.reference, entry.account_servicer_reference)
    return next((reference for reference in given if reference not in _NO_REFERENCE), None) or ""


def _date(entry: StatementEntry) -> dt.date:
    day = entry.booking_date or entry.value_date
    if day is None:
        raise MalformedFile(f"{entry.file} line {entry.line}: the entry has no booking or value date", line=entry.line)
    return day


def statement_lines(statements: Iterable[BankStatement]) -> list[BankLine]:
    """The booked entries of ``statements`` as signed :class:`BankLine` values (pending and information left out)."""
    return [
        BankLine(
            date=_date(entry),
            amount=entry.signed,
            reference=_reference(entry),
            description=entry.bank_code or "",
            line=entry.line,
        )
        for _, entry in _booked(statements)
    ]


def _transactions(entry: StatementEntry, wanted: Collection[str]) -> Iterable[tuple[str, Money]]:
    """Each ``wanted`` end-to-end id an entry names, with its amount (the entry's own when it holds one transaction).

    A wanted transaction of a batch that gives no amount of its own is refused with its line.
    """
    for detail in entry.details:
        if detail.end_to_end_id is None or detail.end_to_end_id not in wanted:
            continue
        amount = detail.amount if detail.amount is not None else (entry.amount if len(entry.details) == 1 else None)
        if amount is None:
            raise MalformedFile(
                f"{entry.file} line {detail.line}: transaction {detail.end_to_end_id!r} of a batch has no amount",
                line=detail.line,
                value=detail.end_to_end_id,
            )
        yield detail.end_to_end_id, amount


def statement_report(ledger: Ledger, list_code: str, statements: Sequence[BankStatement]) -> list[ProviderLine]:
    """The provider-report lines a statement makes for a list (see :func:`settle_statement`); writes nothing."""
    listed = listed_payments(ledger, list_code).by_reference()
    paid: list[ProviderLine] = []
    back: list[ProviderLine] = []
    for _, entry in _booked(statements):
        for reference, amount in _transactions(entry, listed):
            if entry.credit_debit is CreditDebit.DEBIT:  # the side money moved, reversals included
                paid.append(ProviderLine(reference, PaymentStatus.PAID, amount, line=entry.line))
            else:
                back.append(ProviderLine(reference, PaymentStatus.RETURNED, amount, line=entry.line))
    was_paid = {line.reference for line in paid} | {
        reference for reference, payment in listed.items() if payment.status in (Event.PAID, Event.RETURNED)
    }
    back = [
        line if line.reference in was_paid else attrs.evolve(line, status=PaymentStatus.FAILED)  # a rejection
        for line in back
    ]
    return paid + back


def settle_statement(
    aid: Aid,
    list_code: str,
    statements: Sequence[BankStatement],
    *,
    actor: str,
    on: dt.datetime | None = None,
    tz: str = "UTC",
) -> Settlement:
    """Settle a sent list from a bank's statement or notification, exactly once (see ``Aid.settle``).

    A booked debit naming a payment's end-to-end id pays it; a booked credit
    naming one (a return, ``RtrInf``) returns it if it was paid, or else fails it
    (the bank rejected it): both give the money back to the fund and release the
    household's claim, so a follow-up list can pay it once more.  Entries naming
    no payment of the list are left to :func:`post_credits` and the statement match.
    The settlement is effective ``on``; by default at the last moment of the
    statement's last booking day in ``tz``, so that it falls on the day the bank
    booked it and matches the statement's lines.
    """
    report = statement_report(aid.ledger, list_code, statements)
    if on is None:
        days = [_date(entry) for _, entry in _booked(statements)]
        if not days:
            raise InvalidArgument("the statement has no booked entry to settle from; pass on=")
        last = max(days)
        on = pendulum.datetime(last.year, last.month, last.day, 23, 59, 59, tz=time_zone(tz))
    return aid.settle(list_code, report, actor=actor, on=on)


def follow_up_lines(ledger: Ledger, list_code: str, *, suffix: str = "-2") -> list[PaymentLine]:
    """Lines paying again the failed and returned payments of a list, each under ``<reference><suffix>``.

    Pay them as a new list of the same programme: the claim each failed or
    returned payment released lets the household be paid once more, and a
    household paid in the meantime is refused (or set aside with ``OnConflict.SKIP``),
    so exactly one payment per household stands across the original and every follow-up.
    """
    listed = listed_payments(ledger, list_code)
    return [
        PaymentLine(Beneficiary(payment.beneficiary), f"{payment.reference}{suffix}", amount=payment.amount)
        for payment in listed.payments
        if payment.status in (Event.FAILED, Event.RETURNED)
    ]


def credit_keys(credits: Iterable[tuple[BankStatement, StatementEntry]]) -> list[str]:
    """The idempotency key of each credit, in order: the same whenever the same statement is read again.

    A credit the bank gave a reference (its own for the entry, else the entry's
    ``NtryRef`` or MT940 customer reference; ``NONREF`` and ``NOTPROVIDED`` are
    none) is ``bank-credit:<account>:<reference>:<booking date>``.  Nothing of the
    file goes into it, so the same credit in a camt.054 and later in the day's
    camt.053 is the same donation.  Real banks repeat a reference within a day
    (an IBAN, a batch reference): the second credit under one key takes ``:2``,
    the third ``:3``, in file order, and the same reference for a different
    amount is refused as an IdempotencyConflict when posted, never posted twice.

    A credit with no reference is cited by where the bank's statement of record
    puts it: ``bank-credit:<account>:statement:<statement id>:<booking
    date>:<amount>:<currency>:<n>``, the n-th credit of that amount on that day and statement,
    in file order; so two equal credits on one day are two donations, and
    reading the statement again gives the same keys.  The statement id is the
    camt ``Stmt/Id`` or MT940 ``:28C:`` (else the message id).  A camt.054
    notification is not a statement of record (the day's camt.053 reports the
    same credit again, under another id): a credit with no reference in it is
    refused with its line, as is one whose statement has no id at all.
    """
    keys: list[str] = []
    seen: dict[str, int] = defaultdict(int)
    for statement, entry in credits:
        reference = next(
            (r for r in (entry.account_servicer_reference, entry.reference) if r not in _NO_REFERENCE), None
        )
        day = _date(entry).isoformat()
        if reference is not None:
            key = f"bank-credit:{statement.account or ''}:{reference}:{day}"
        else:
            amount = f"{entry.amount.value:f}:{entry.amount.unit.code}"
            key = f"bank-credit:{statement.account or ''}:statement:{_cited(statement, entry)}:{day}:{amount}"
        seen[key] += 1
        if reference is None:
            keys.append(f"{key}:{seen[key]}")
        else:
            keys.append(key if seen[key] == 1 else f"{key}:{seen[key]}")
    return keys


def _cited(statement: BankStatement, entry: StatementEntry) -> str:
    """The id of the statement of record a credit with no reference is cited by, or MalformedFile."""
    where = f"{entry.file} line {entry.line}: a credit with no entry reference"
    if statement.format.startswith("camt.054"):
        raise MalformedFile(
            f"{where} in a camt.054 notification cannot be posted exactly once; post it from the day's statement "
            "(camt.053 or MT940)",
            line=entry.line,
        )
    cited = statement.statement_id or statement.message_id
    if not cited:
        raise MalformedFile(f"{where} in a statement with no id cannot be posted exactly once", line=entry.line)
    return cited


def post_credits(
    aid: Aid,
    statements: Sequence[BankStatement],
    *,
    fund: str,
    actor: str,
    donor: str = "bank transfer",
    tz: str = "UTC",
    exclude: Collection[str] = (),
) -> tuple[PostedEntry, ...]:
    """Post the booked credits of ``statements`` as donations into ``fund``, each exactly once, in one transaction.

    A credit is left out when it is zero, a reversal or a return (``RtrInf``), or
    when it names as end-to-end id a payment's reference (money of a payment
    coming back, for :func:`settle_statement`) or an id in ``exclude``.  Each
    credit's idempotency key is given by :func:`credit_keys`, so posting a
    statement again posts nothing twice.  The donor is ``donor`` (the
    counterparty's name is the bank's data and is not copied into the ledger);
    the effective time is the booking date's midnight in ``tz``.
    """
    zone = time_zone(tz)
    credits = [
        (statement, entry)
        for statement, entry in _booked(statements)
        if entry.credit_debit is CreditDebit.CREDIT and not entry.reversal and not entry.amount.is_zero()
    ]
    named = {d.end_to_end_id for _, entry in credits for d in entry.details if d.end_to_end_id}
    payments = payment_references(aid.ledger, named) | set(exclude)
    donations = [
        (statement, entry)
        for statement, entry in credits
        if not any(d.return_reason or d.end_to_end_id in payments for d in entry.details)
    ]
    gifts = []
    for (_, entry), key in zip(donations, credit_keys(donations), strict=True):
        day = _date(entry)
        on = pendulum.datetime(day.year, day.month, day.day, tz=zone)
        gifts.append(Gift(fund=fund, amount=entry.amount, donor=donor, on=on, memo="bank statement credit", key=key))
    return tuple(aid.donate_many(gifts, actor=actor))


def read_payee_accounts(source: str | Path) -> dict[str, str]:
    """The payees' accounts from a CSV file with the columns ``reference`` and ``iban``, by reference.

    Raises MalformedFile naming the line for an empty cell or a reference given twice.
    """
    seen: dict[str, int] = {}

    def parse(name: str, number: int, cells: dict[str, str]) -> tuple[str, str]:
        reference, iban = cells["reference"], cells["iban"].replace(" ", "")
        if not reference or not iban:
            raise MalformedFile(f"{name} line {number}: the reference and the iban must both be given", line=number)
        if reference in seen:
            raise MalformedFile(
                f"{name} line {number}: reference {reference!r} is given twice (first on line {seen[reference]})",
                line=number,
                value=reference,
            )
        seen[reference] = number
        return reference, iban

    return dict(read_csv(source, "payee accounts", ("reference", "iban"), (), parse))


def write_files(files: PaymentFiles, output: str | Path) -> list[Path]:
    """Write the files to ``output`` (several: ``<stem>-1<suffix>``, ``-2``...); return the paths written."""
    path = Path(output)
    if len(files.files) == 1:
        targets = [path]
    else:
        targets = [path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(1, len(files.files) + 1)]
    for target, written in zip(targets, files.files, strict=True):
        try:
            target.write_bytes(written.content)
        except OSError as error:
            raise InvalidArgument(f"cannot write {str(target)!r}: {error.strerror}", path=str(target)) from None
    return targets
