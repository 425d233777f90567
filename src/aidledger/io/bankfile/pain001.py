"""Writing ISO 20022 payment initiation files (pain.001, customer credit transfer initiation).

A :class:`PaymentInstruction` is a plain typed batch: the debtor's account, the
requested execution date and one :class:`CreditTransfer` per payment.
:func:`write_pain001` turns it into the XML a bank accepts (versions
001.001.09 and 001.001.03), with the number of transactions and the control
sum (an exact decimal) in the group header and in the one payment information
block; :func:`split` cuts a batch at a bank's limits on lines and amount.  The
result carries the file's bytes and their SHA-256, for the ledger to record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from aidledger.core.amounts import Money
from aidledger.core.errors import InvalidArgument, InvalidTime

if TYPE_CHECKING:  # lxml is imported where it is used, so that `import aidledger` does not load it
    from lxml import etree

VERSIONS: Final = ("001.001.09", "001.001.03")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}\Z", re.ASCII)
_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?\Z", re.ASCII)  # valid in both versions' patterns
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _text(limit: int, *, optional: bool = False) -> Validator:
    """A validator of text of 1 to ``limit`` characters without control characters (or None if ``optional``)."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not value.strip() or len(value) > limit or _CONTROL.search(value):
            raise InvalidArgument(
                f"{attribute.name} must be text of 1 to {limit} characters without control characters, got {value!r}",
                **{attribute.name: value},
            )

    return check


def _iban(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _IBAN.match(value):
        raise InvalidArgument(f"{attribute.name} is not an IBAN (like DE89370400440532013000): {value!r}")


def _bic(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not _BIC.match(value)):
        raise InvalidArgument(f"{attribute.name} is not a BIC (like DEUTDEFF or DEUTDEFF500): {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money) or value.value <= 0:
        raise InvalidArgument(f"a credit transfer's amount must be positive Money, got {value!r}", amount=value)


@attrs.frozen(kw_only=True)
class CreditTransfer:
    """One payment of a batch: a ``CdtTrfTxInf``.

    Attributes:
        end_to_end_id: the id the bank sends back in its statements (up to 35 characters).
        amount: the positive amount to pay.
        creditor_name: the payee's name (personal data: never in ``repr``).
        creditor_iban: the payee's IBAN (never in ``repr``).
        remittance: the unstructured remittance text, up to 140 characters.
    """

    end_to_end_id: str = attrs.field(validator=_text(35))
    amount: Money = attrs.field(validator=_positive)
    creditor_name: str = attrs.field(validator=_text(140), repr=False)
    creditor_iban: str = attrs.field(validator=_iban, repr=False)
    remittance: str | None = attrs.field(default=None, validator=_text(140, optional=True))


def _transfers(items: Iterable[CreditTransfer]) -> tuple[CreditTransfer, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class PaymentInstruction:
    """A batch of credit transfers from one debtor account, to be written as one pain.001 file.

    Attributes:
        message_id: the file's message id, unique per debtor at the bank (up to 35 characters).
        created: when the file was created (time-zone aware).
        debtor_name: the paying organisation's name.
        debtor_iban: the account the money leaves.
        debtor_bic: the debtor's bank, or ``None`` where the bank does not need it.
        execution_date: the requested execution date.
        transfers: the payments, at least one, all in one currency, each end-to-end id once.
    """

    message_id: str = attrs.field(validator=_text(35))
    created: dt.datetime
    debtor_name: str = attrs.field(validator=_text(140))
    debtor_iban: str = attrs.field(validator=_iban)
    debtor_bic: str | None = attrs.field(default=None, validator=_bic)
    execution_date: dt.date
    transfers: tuple[CreditTransfer, ...] = attrs.field(converter=_transfers)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.created, dt.datetime) or self.created.utcoffset() is None:
            raise InvalidTime(f"created must be a time-zone aware datetime, got {self.created!r}", created=self.created)
        if not isinstance(self.execution_date, dt.date) or isinstance(self.execution_date, dt.datetime):
            raise InvalidArgument(f"execution_date must be a date, got {self.execution_date!r}")
        if not self.transfers or not all(isinstance(item, CreditTransfer) for item in self.transfers):
            raise InvalidArgument("a payment instruction needs at least one CreditTransfer", message_id=self.message_id)
        units = {transfer.amount.unit for transfer in self.transfers}
        if len(units) > 1:
            codes = ", ".join(sorted(unit.code for unit in units))
            raise InvalidArgument(f"the transfers of one instruction are in one currency, found {codes}")
        seen: set[str] = set()
        for transfer in self.transfers:
            if transfer.end_to_end_id in seen:
                raise InvalidArgument(
                    f"end-to-end id {transfer.end_to_end_id!r} appears twice", end_to_end_id=transfer.end_to_end_id
                )
            seen.add(transfer.end_to_end_id)
        if len(self.control_sum.as_tuple().digits) > 18:
            raise InvalidArgument(
                f"the control sum {self.control_sum} has more than the 18 digits pain.001 allows; split the batch",
                control_sum=self.control_sum,
            )

    @property
    def number_of_transactions(self) -> int:
        return len(self.transfers)

    @property
    def control_sum(self) -> Decimal:
        """The exact sum of the amounts, as the file's ``CtrlSum`` states it."""
        total = Decimal(0)
        for transfer in self.transfers:
            total += transfer.amount.value
        return total


@attrs.frozen(kw_only=True)
class PainFile:
    """A written pain.001 file.

    Attributes:
        version: ``001.001.09`` or ``001.001.03``.
        message_id: the file's message id.
        number_of_transactions: ``NbOfTxs``.
        control_sum: ``CtrlSum``, exact.
        content: the file's bytes (UTF-8 XML with a declaration).
        sha256: the hex SHA-256 of ``content``.
    """

    version: str
    message_id: str
    number_of_transactions: int
    control_sum: Decimal
    content: bytes = attrs.field(repr=False)
    sha256: str


def write_pain001(instruction: PaymentInstruction, *, version: str = "001.001.09") -> PainFile:
    """The pain.001 file of ``instruction`` in ``version`` (001.001.09 or 001.001.03)."""
    if version not in VERSIONS:
        raise InvalidArgument(f"pain.001 version must be one of {', '.join(VERSIONS)}, got {version!r}")
    if not isinstance(instruction, PaymentInstruction):
        raise InvalidArgument(f"expected a PaymentInstruction, got {instruction!r}")
    from lxml import etree

    namespace = f"urn:iso:std:iso:20022:tech:xsd:pain.{version}"
    old = version == "001.001.03"

    def add(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
        child = etree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)
        if text is not None:
            child.text = text
        return child

    def path(parent: etree._Element, tags: str, text: str) -> None:
        for tag in tags.split("/"):
            parent = add(parent, tag)
        parent.text = text

    count, total = str(instruction.number_of_transactions), f"{instruction.control_sum:f}"
    document = etree.Element(f"{{{namespace}}}Document", nsmap={None: namespace})
    initiation = add(document, "CstmrCdtTrfInitn")
    header = add(initiation, "GrpHdr")
    add(header, "MsgId", instruction.message_id)
    add(header, "CreDtTm", instruction.created.isoformat(timespec="seconds"))
    add(header, "NbOfTxs", count)
    add(header, "CtrlSum", total)
    path(header, "InitgPty/Nm", instruction.debtor_name)
    block = add(initiation, "PmtInf")
    add(block, "PmtInfId", instruction.message_id)
    add(block, "PmtMtd", "TRF")
    add(block, "NbOfTxs", count)
    add(block, "CtrlSum", total)
    unit = instruction.transfers[0].amount.unit
    if unit.code == "EUR":
        path(block, "PmtTpInf/SvcLvl/Cd", "SEPA")
    execution = instruction.execution_date.isoformat()
    add(block, "ReqdExctnDt", execution) if old else path(block, "ReqdExctnDt/Dt", execution)
    path(block, "Dbtr/Nm", instruction.debtor_name)
    path(block, "DbtrAcct/Id/IBAN", instruction.debtor_iban)
    if instruction.debtor_bic is not None:
        path(block, "DbtrAgt/FinInstnId/" + ("BIC" if old else "BICFI"), instruction.debtor_bic)
    else:
        path(block, "DbtrAgt/FinInstnId/Othr/Id", "NOTPROVIDED")
    add(block, "ChrgBr", "SLEV")
    for transfer in instruction.transfers:
        line = add(block, "CdtTrfTxInf")
        path(line, "PmtId/EndToEndId", transfer.end_to_end_id)
        add(add(line, "Amt"), "InstdAmt", f"{transfer.amount.value:f}", Ccy=unit.code)
        path(line, "Cdtr/Nm", transfer.creditor_name)
        path(line, "CdtrAcct/Id/IBAN", transfer.creditor_iban)
        if transfer.remittance is not None:
            path(line, "RmtInf/Ustrd", transfer.remittance)
    content = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return PainFile(
        version=version,
        message_id=instruction.message_id,
        number_of_transactions=instruction.number_of_transactions,
        control_sum=instruction.control_sum,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def split(
    instruction: PaymentInstruction, *, max_lines: int | None = None, max_amount: Money | None = None
) -> list[PaymentInstruction]:
    """``instruction`` cut, in order, into batches of at most ``max_lines`` transfers and ``max_amount`` in all.

    A batch that fits is returned as it is.  Otherwise the parts take the
    message ids ``<message id>-1``, ``-2``..., each with its own control sum;
    together they hold every transfer once.  A single transfer above
    ``max_amount`` cannot be split and is refused.
    """
    if max_lines is not None and (type(max_lines) is not int or max_lines < 1):
        raise InvalidArgument(f"max_lines must be a positive integer, got {max_lines!r}")
    unit = instruction.transfers[0].amount.unit
    if max_amount is not None and (not isinstance(max_amount, Money) or max_amount.unit != unit):
        raise InvalidArgument(f"max_amount must be Money in {unit.code}, got {max_amount!r}")
    parts: list[list[CreditTransfer]] = [[]]
    total = Decimal(0)
    for transfer in instruction.transfers:
        if max_amount is not None and transfer.amount > max_amount:
            raise InvalidArgument(
                f"transfer {transfer.end_to_end_id!r} of {transfer.amount:,} is above the limit of {max_amount:,}",
                end_to_end_id=transfer.end_to_end_id,
            )
        full = max_lines is not None and len(parts[-1]) == max_lines
        over = max_amount is not None and total + transfer.amount.value > max_amount.value
        if parts[-1] and (full or over):
            parts.append([])
            total = Decimal(0)
        parts[-1].append(transfer)
        total += transfer.amount.value
    if len(parts) == 1:
        return [instruction]
    return [_part(instruction, number, part) for number, part in enumerate(parts, start=1)]


def _part(instruction: PaymentInstruction, number: int, transfers: Sequence[CreditTransfer]) -> PaymentInstruction:
    message_id = f"{instruction.message_id}-{number}"
    if len(message_id) > 35:
        raise InvalidArgument(
            f"message id {instruction.message_id!r} is too long to number its parts (35 characters at most)",
            message_id=instruction.message_id,
        )
    return attrs.evolve(instruction, message_id=message_id, transfers=tuple(transfers))
