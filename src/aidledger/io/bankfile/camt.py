"""Reading ISO 20022 bank statements (camt.053) and debit/credit notifications (camt.054).

Versions .02, .03, .04 and .08 of both messages are read; the version comes
from the document's namespace.  The XML is parsed with lxml under a hardened
parser: no DTD is loaded, no entity is resolved, nothing is fetched from the
network, no node may be huge, and a file that declares a DTD or an entity at
all is refused.  Every problem is a :class:`~aidledger.core.errors.MalformedFile`
naming the file, the line and the offending value.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

from aidledger.core.amounts import Money
from aidledger.core.errors import InvalidArgument, MalformedFile
from aidledger.io.bankfile._common import Source, load, parse_amount
from aidledger.io.bankfile.model import (
    BankStatement,
    CreditDebit,
    EntryStatus,
    StatementEntry,
    TransactionDetail,
    check_balance,
)

if TYPE_CHECKING:  # lxml is imported where it is used, so that `import aidledger` does not load it
    from lxml import etree

VERSIONS = ("02", "03", "04", "08")
_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[34]\.001\.(\d\d))\Z")
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_OPENING = ("OPBD", "PRCD")  # PRCD (the previous closing) where a bank sends no OPBD
_CLOSING = ("CLBD",)


def safe_parser() -> etree.XMLParser:
    """An lxml parser that loads no DTD, resolves no entity, fetches nothing and refuses huge nodes."""
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(name: str, data: bytes) -> etree._ElementTree:
    """``data`` parsed by :func:`safe_parser`; a DTD, an entity or broken XML is MalformedFile with its line."""
    from lxml import etree

    found = _DECLARATION.search(data)
    if found:
        line = data.count(b"\n", 0, found.start()) + 1
        raise MalformedFile(
            f"{name} line {line}: declares a {found.group(1).decode().upper()}; bank files must not "
            f"(DTDs and entities are refused)",
            line=line,
            value=found.group(0).decode(),
        )
    try:
        tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as error:
        line = error.lineno or 0
        raise MalformedFile(f"{name} line {line}: not well-formed XML ({error.msg})", line=line) from None
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:  # one the byte search missed (UTF-16)
        raise MalformedFile(
            f"{name} line 1: declares a DOCTYPE; bank files must not (DTDs and entities are refused)",
            line=1,
            value=tree.docinfo.doctype,
        )
    return tree


def read_camt(source: Source, *, schema_dir: str | Path | None = None) -> list[BankStatement]:
    """The statements (camt.053) or notifications (camt.054) of a file, in file order.

    ``source`` is a path, the file's bytes or an open binary file.  With
    ``schema_dir`` (a folder holding ``camt.053.001.02.xsd`` and the like, which
    aidledger does not ship), the file is first validated against the XSD of its
    version; many real files do not validate, so that is off by default.
    """
    from lxml import etree

    name, data = load(source, "bank statement")
    tree = parse_xml(name, data)
    root = tree.getroot()
    namespace = etree.QName(root).namespace or ""
    found = _NAMESPACE.match(namespace)
    if etree.QName(root).localname != "Document" or not found or found.group(2) not in VERSIONS:
        raise MalformedFile(
            f"{name} line {root.sourceline}: namespace {namespace!r} is not camt.053 or camt.054 "
            f"version {', '.join(VERSIONS)}",
            line=root.sourceline,
            value=namespace,
        )
    message = found.group(1)
    if schema_dir is not None:
        _validate(name, tree, Path(schema_dir) / f"{message}.xsd")
    return _Camt(name, namespace, message).statements(root)


def _validate(name: str, tree: etree._ElementTree, xsd: Path) -> None:
    from lxml import etree

    try:
        schema = etree.XMLSchema(etree.parse(str(xsd), safe_parser()))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as error:
        raise InvalidArgument(f"cannot load the schema {str(xsd)!r}: {error}", path=str(xsd)) from None
    if not schema.validate(tree):
        first = schema.error_log[0]
        raise MalformedFile(f"{name} line {first.line}: not valid {xsd.stem}: {first.message}", line=first.line)


class _Camt:
    """The reading of one document, with its file name and namespace at hand."""

    def __init__(self, name: str, namespace: str, message: str) -> None:
        self.name = name
        self.ns = {"c": namespace}
        self.message = message

    def fail(self, element: etree._Element, problem: str, value: object = None) -> MalformedFile:
        line = element.sourceline or 0
        return MalformedFile(f"{self.name} line {line}: {problem}", line=line, value=value)

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(path, self.ns)

    def text(self, element: etree._Element, path: str) -> str | None:
        found = element.find(path, self.ns)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def required(self, element: etree._Element, path: str) -> str:
        from lxml import etree

        value = self.text(element, path)
        if value is None:
            raise self.fail(element, f"{etree.QName(element).localname} has no {path.replace('c:', '')}")
        return value

    def statements(self, root: etree._Element) -> list[BankStatement]:
        body = root[0] if len(root) else None
        if body is None:
            raise self.fail(root, "the document is empty")
        message_id = self.text(body, "c:GrpHdr/c:MsgId")
        reports = body.findall("c:Stmt", self.ns) + body.findall("c:Ntfctn", self.ns)
        if not reports:
            raise self.fail(body, "the message holds no Stmt or Ntfctn")
        return [self.statement(report, message_id) for report in reports]

    def statement(self, report: etree._Element, message_id: str | None) -> BankStatement:
        account = self.text(report, "c:Acct/c:Id/c:IBAN") or self.text(report, "c:Acct/c:Id/c:Othr/c:Id")
        account_currency = self.text(report, "c:Acct/c:Ccy")
        balances: dict[str, Money] = {}
        for balance in report.findall("c:Bal", self.ns):
            code = self.text(balance, "c:Tp/c:CdOrPrtry/c:Cd") or self.text(balance, "c:Tp/c:CdOrPrtry/c:Prtry")
            amount = self.amount(balance, "balance")
            if self.credit_debit(balance, "balance") is CreditDebit.DEBIT:  # an overdrawn account
                amount = Money(-amount.value, amount.unit)
            if code is not None and code not in balances:
                balances[code] = amount
        opening = next((balances[code] for code in _OPENING if code in balances), None)
        closing = next((balances[code] for code in _CLOSING if code in balances), None)
        entries = tuple(self.entry(entry) for entry in report.findall("c:Ntry", self.ns))
        self.refuse_duplicates(report, entries)
        return BankStatement(
            format=self.message,
            message_id=message_id,
            statement_id=self.text(report, "c:Id"),
            account=account,
            currency=account_currency,
            opening=opening,
            closing=closing,
            created=self.time(report, "c:CreDtTm"),
            entries=entries,
            balance_check=check_balance(account_currency, opening, closing, entries),
            file=self.name,
            line=report.sourceline or 0,
        )

    def refuse_duplicates(self, report: etree._Element, entries: tuple[StatementEntry, ...]) -> None:
        """The same entry twice (same reference and same content) is refused; a shared reference alone is not."""
        seen: dict[tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...], int] = {}
        for element, entry in zip(report.findall("c:Ntry", self.ns), entries, strict=True):
            if entry.reference is None and entry.account_servicer_reference is None:
                continue
            key = tuple(
                (
                    str(node.tag),
                    (node.text or "").strip(),
                    tuple(sorted((str(k), str(v)) for k, v in node.attrib.items())),
                )
                for node in element.iter()
            )
            if key in seen:
                raise self.fail(
                    element,
                    f"entry {entry.reference or entry.account_servicer_reference!r} repeats the entry on line "
                    f"{seen[key]} exactly (a duplicated entry)",
                    entry.reference,
                )
            seen[key] = entry.line

    def amount(self, element: etree._Element, what: str) -> Money:
        """The ``Amt`` child of ``element`` with its ``Ccy``, and its ``CdtDbtInd`` checked present."""
        found = self.find(element, "c:Amt")
        if found is None:
            raise self.fail(element, f"the {what} has no Amt")
        if self.text(element, "c:CdtDbtInd") is None:
            raise self.fail(element, f"the {what} has no CdtDbtInd (credit or debit indicator)")
        return self.money(found, f"{what} amount")

    def money(self, amount: etree._Element, what: str) -> Money:
        """An ``Amt`` element (text and ``Ccy``) as exact Money, or MalformedFile naming its line."""
        return parse_amount(
            self.name, amount.sourceline or 0, (amount.text or "").strip(), amount.get("Ccy"), what=what
        )

    def credit_debit(self, element: etree._Element, what: str) -> CreditDebit:
        indicator = self.text(element, "c:CdtDbtInd")
        try:
            return CreditDebit(indicator)
        except ValueError:
            raise self.fail(
                element, f"the {what}'s CdtDbtInd {indicator!r} is neither CRDT nor DBIT", indicator
            ) from None

    def entry(self, element: etree._Element) -> StatementEntry:
        amount = self.amount(element, "entry")
        credit_debit = self.credit_debit(element, "entry")
        status_text = self.text(element, "c:Sts/c:Cd") or self.text(element, "c:Sts")
        try:
            status = EntryStatus(status_text)
        except ValueError:
            raise self.fail(element, f"entry status {status_text!r} is not BOOK, PDNG or INFO", status_text) from None
        reversal_text = self.text(element, "c:RvslInd")
        if reversal_text not in (None, "true", "false", "1", "0"):
            raise self.fail(element, f"RvslInd {reversal_text!r} is not true or false", reversal_text)
        details = tuple(self.detail(tx, credit_debit) for tx in element.findall("c:NtryDtls/c:TxDtls", self.ns))
        return StatementEntry(
            reference=self.text(element, "c:NtryRef"),
            booking_date=self.date(element, "c:BookgDt"),
            value_date=self.date(element, "c:ValDt"),
            credit_debit=credit_debit,
            amount=amount,
            status=status,
            reversal=reversal_text in ("true", "1"),
            bank_code=self.bank_code(element),
            account_servicer_reference=self.text(element, "c:AcctSvcrRef"),
            additional_info=self.text(element, "c:AddtlNtryInf"),
            details=details,
            file=self.name,
            line=element.sourceline or 0,
        )

    def detail(self, element: etree._Element, entry_side: CreditDebit) -> TransactionDetail:
        amount_element = self.find(element, "c:Amt")
        if amount_element is None:
            amount_element = self.find(element, "c:AmtDtls/c:TxAmt/c:Amt")
        amount = None if amount_element is None else self.money(amount_element, "transaction amount")
        side = entry_side
        if self.text(element, "c:CdtDbtInd") is not None:
            side = self.credit_debit(element, "transaction")
        party = "Dbtr" if side is CreditDebit.CREDIT else "Cdtr"
        parties = self.find(element, "c:RltdPties")
        name = iban = None
        if parties is not None:
            name = self.text(parties, f"c:{party}/c:Pty/c:Nm") or self.text(parties, f"c:{party}/c:Nm")
            iban = self.text(parties, f"c:{party}Acct/c:Id/c:IBAN") or self.text(
                parties, f"c:{party}Acct/c:Id/c:Othr/c:Id"
            )
        unstructured = [(line.text or "").strip() for line in element.findall("c:RmtInf/c:Ustrd", self.ns) if line.text]
        remittance = "\n".join(unstructured) or self.text(element, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")
        return TransactionDetail(
            end_to_end_id=self.text(element, "c:Refs/c:EndToEndId"),
            instruction_id=self.text(element, "c:Refs/c:InstrId"),
            account_servicer_reference=self.text(element, "c:Refs/c:AcctSvcrRef"),
            remittance_info=remittance,
            counterparty_name=name,
            counterparty_iban=iban,
            return_reason=self.text(element, "c:RtrInf/c:Rsn/c:Cd") or self.text(element, "c:RtrInf/c:Rsn/c:Prtry"),
            amount=amount,
            line=element.sourceline or 0,
        )

    def bank_code(self, element: etree._Element) -> str | None:
        domain = self.text(element, "c:BkTxCd/c:Domn/c:Cd")
        if domain is not None:
            family = self.text(element, "c:BkTxCd/c:Domn/c:Fmly/c:Cd") or ""
            sub_family = self.text(element, "c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd") or ""
            return "/".join(part for part in (domain, family, sub_family) if part)
        return self.text(element, "c:BkTxCd/c:Prtry/c:Cd")

    def date(self, element: etree._Element, path: str) -> dt.date | None:
        holder = self.find(element, path)
        if holder is None:
            return None
        day = self.text(holder, "c:Dt")
        if day is not None:
            try:
                return dt.date.fromisoformat(day[:10])
            except ValueError:
                raise self.fail(holder, f"date {day!r} is not an ISO date like 2020-04-01", day) from None
        moment = self.time(holder, "c:DtTm")
        return moment.date() if moment is not None else None

    def time(self, element: etree._Element, path: str) -> dt.datetime | None:
        text = self.text(element, path)
        if text is None:
            return None
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            found = self.find(element, path)
            raise self.fail(
                found if found is not None else element, f"time {text!r} is not an ISO date and time", text
            ) from None
