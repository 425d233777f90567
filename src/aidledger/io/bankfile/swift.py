"""Reading SWIFT MT940 customer statements into the same :class:`BankStatement` model as camt.

The file is split into its tags here, so that every tag keeps its line
number; each tag's content is then read by the tag parsers of the ``mt-940``
package (``mt940.tags``), which know the dialects banks write: entry dates
left blank, funds codes, ASN Bank's long customer reference, February 30th.
Amounts are read here, exactly: ``9,``, ``0,3``, ``000000000025,00`` and
(against the standard) ``500`` are all accepted; anything else is refused.

Understood around the tags: several statements per file (each ``:20:`` starts
one), SWIFT envelopes (``{1:...}{2:...}{4:`` and ``-}{5:}``), bank header
lines before the first tag (``ABNANL2A``, ``940``, ``:940:``), ``-`` and
``-XXX`` trailers, CRLF line ends and a UTF-8 byte-order mark.  A ``:86:``
after the closing balance (ING's summary) belongs to no entry and is left out.

Nothing of a tag's content is logged: the tag patterns are matched here
directly, not through ``Tag.parse``, which logs the text it fails on.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import TYPE_CHECKING

import attrs

from aidledger.core.amounts import Money
from aidledger.core.errors import MalformedFile
from aidledger.io.bankfile._common import Source, load, parse_amount
from aidledger.io.bankfile.model import (
    BankStatement,
    CreditDebit,
    StatementEntry,
    TransactionDetail,
    check_balance,
)

if TYPE_CHECKING:  # mt-940 is imported where it is used, so that `import aidledger` does not load it
    import mt940
    import mt940.tags

_TAG = re.compile(r":(?P<tag>[0-9]{2}[A-Z]?|NS):(?P<value>.*)\Z")
_ENVELOPE = re.compile(r"(\{[0-9]:[^{}]*\})*\{4:(?P<rest>.*)\Z")
_TRAILER = re.compile(r"-(\}.*|[A-Z]*)\Z")
_AMOUNT = re.compile(r"(?P<whole>[0-9]*)(,(?P<fraction>[0-9]*))?\Z")
_MARKS = {
    "C": (CreditDebit.CREDIT, False),
    "D": (CreditDebit.DEBIT, False),
    "RC": (CreditDebit.DEBIT, True),  # reversal of a credit: money leaves the account
    "RD": (CreditDebit.CREDIT, True),  # reversal of a debit: money comes back
}
_SUBFIELD = re.compile(r"/(?P<key>IBAN|NAME|EREF|REMI)/(?P<value>[^/]*)")
_OPENING = ("60F", "60M", "60")
_CLOSING = ("62F", "62M", "62")


@attrs.frozen
class _Parsers:
    """mt-940's parsers of a statement line (two dialects) and of a balance, and its options."""

    lines: tuple[mt940.tags.Statement, ...]
    balance: mt940.tags.FinalOpeningBalance
    options: mt940.Options


@functools.cache
def _parsers() -> _Parsers:
    """The parsers, made once, on the first MT940 file read."""
    import mt940.tags

    return _Parsers(
        lines=(mt940.tags.Statement(), mt940.tags.StatementASNB()),
        balance=mt940.tags.FinalOpeningBalance(),
        options=mt940.Options.all(),
    )


@attrs.frozen
class _Tag:
    tag: str
    value: str
    line: int


def read_mt940(source: Source, *, encoding: str = "utf-8") -> list[BankStatement]:
    """The statements of an MT940 file, one per ``:20:`` block, in file order.

    ``source`` is a path, the file's bytes or an open binary file.  Raises
    MalformedFile naming the file, the line and the offending value for text
    that is not in ``encoding``, a tag outside a statement, a tag whose content
    does not parse, an amount that is not exact money in the statement's
    currency, and an unknown debit/credit mark.
    """
    name, data = load(source, "MT940 statement")
    statements = [_Statement(name, block).read() for block in _blocks(name, _lines(name, data, encoding))]
    if not statements:
        raise MalformedFile(f"{name} holds no MT940 statement (no :20: tag)", line=1)
    return statements


def _lines(name: str, data: bytes, encoding: str) -> list[str]:
    lines = data.split(b"\n")
    text = []
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as error:
            raise MalformedFile(
                f"{name} line {number}: not {encoding} text ({error.reason} at byte {error.start})", line=number
            ) from None
        if "\x00" in line:
            raise MalformedFile(f"{name} line {number}: contains a NUL character", line=number)
        text.append(line.removeprefix("\ufeff") if number == 1 else line)
    return [line.rstrip("\r").rstrip() for line in text]


def _blocks(name: str, lines: list[str]) -> list[list[_Tag]]:
    """The tags of each statement block, with the line each tag starts on."""
    blocks: list[list[_Tag]] = []
    current: _Tag | None = None
    inside = False  # inside a statement, between its :20: and a trailer
    for number, text in enumerate(lines, start=1):
        envelope = _ENVELOPE.match(text)
        if envelope:
            current, inside = None, False
            text = envelope.group("rest")
            if not text:
                continue
        found = _TAG.match(text)
        if found:
            tag = found.group("tag")
            if tag == "20":
                blocks.append([])
                inside = True
            elif not inside:
                raise MalformedFile(
                    f"{name} line {number}: tag :{tag}: outside a statement (a statement starts with :20:)",
                    line=number,
                    value=tag,
                )
            current = _Tag(tag, found.group("value"), number)
            blocks[-1].append(current)
        elif _TRAILER.match(text):
            current, inside = None, False
        elif current is not None and text:
            blocks[-1][-1] = current = attrs.evolve(current, value=f"{current.value}\n{text}")
    return blocks


class _Statement:
    """The reading of one statement block, with mt-940's statement context for the tag parsers."""

    def __init__(self, name: str, tags: list[_Tag]) -> None:
        self.name = name
        self.tags = tags
        import mt940.models

        self.context = mt940.models.Transactions(options=_parsers().options)

    def fail(self, tag: _Tag, problem: str) -> MalformedFile:
        return MalformedFile(f"{self.name} line {tag.line}: :{tag.tag}: {problem}", line=tag.line, value=tag.value)

    def read(self) -> BankStatement:
        fields: dict[str, str] = {}
        balances: dict[str, Money] = {}
        entries: list[StatementEntry] = []
        currency: str | None = None
        after_closing = False
        for tag in self.tags:
            if tag.tag in ("20", "21", "25", "28", "28C"):
                fields.setdefault(tag.tag, tag.value.strip())
            elif tag.tag.startswith(("60", "62", "64", "65")):
                balance = self.balance(tag)
                currency = currency or balance.unit.code
                balances.setdefault(tag.tag, balance)
                after_closing = after_closing or tag.tag.startswith("62")
            elif tag.tag == "61":
                if currency is None:
                    raise self.fail(tag, "a statement line before any balance that names the currency")
                entries.append(self.entry(tag, currency))
                after_closing = False
            elif tag.tag == "86" and entries and not after_closing and entries[-1].additional_info is None:
                entries[-1] = self.with_details(entries[-1], tag)
        opening = next((balances[code] for code in _OPENING if code in balances), None)
        closing = next((balances[code] for code in _CLOSING if code in balances), None)
        account = fields.get("25")
        if account is not None and currency is not None:
            account = account.removesuffix(f" {currency}")  # bunq writes 'IBAN EUR'
        return BankStatement(
            format="mt940",
            message_id=fields.get("20"),
            statement_id=fields.get("28C") or fields.get("28"),
            account=account,
            currency=currency,
            opening=opening,
            closing=closing,
            created=None,
            entries=tuple(entries),
            balance_check=check_balance(currency, opening, closing, tuple(entries)),
            file=self.name,
            line=self.tags[0].line,
        )

    def money(self, tag: _Tag, text: str | None, currency: str | None, what: str) -> Money:
        found = _AMOUNT.match(text or "")
        if found is None or not (found.group("whole") or found.group("fraction")):
            raise self.fail(tag, f"{what} {text!r} is not an amount like 1234,56")
        plain = found.group("whole") or "0"
        if found.group("fraction"):
            plain += "." + found.group("fraction")
        return parse_amount(self.name, tag.line, plain, currency, what=what)

    def balance(self, tag: _Tag) -> Money:
        import mt940.models

        found = _parsers().balance.re.match(tag.value)
        if found is None or tag.value[found.end() :].strip():
            raise self.fail(tag, f"balance {tag.value.splitlines()[0] if tag.value else ''!r} does not parse")
        groups = found.groupdict()
        amount = self.money(tag, groups["amount"], groups["currency"].strip(), "balance")
        try:
            mt940.models.Date(year=groups["year"], month=groups["month"], day=groups["day"])
        except ValueError:
            raise self.fail(
                tag, f"balance date {groups['year']}{groups['month']}{groups['day']} is not a date"
            ) from None
        if groups["status"].upper() == "D":
            return Money(-amount.value, amount.unit)
        return amount

    def entry(self, tag: _Tag, currency: str) -> StatementEntry:
        import mt940.processors

        for parser in _parsers().lines:
            found = parser.re.match(tag.value)
            if found is not None:
                break
        else:
            raise self.fail(tag, f"statement line {tag.value.splitlines()[0]!r} does not parse")
        after = tag.value[found.end("amount") : found.end("amount") + 1]
        if after and after in "0123456789,":  # the pattern stops at 15 characters and would cut the amount
            raise self.fail(
                tag, f"amount {tag.value[found.start('amount') :].split()[0]!r} is longer than 15 characters"
            )
        groups = mt940.processors.date_fixup_pre_processor(self.context, parser, found.groupdict())
        amount = self.money(tag, groups["amount"], currency, "amount")
        mark = str(groups["status"]).upper()
        if mark not in _MARKS:
            raise self.fail(tag, f"debit/credit mark {mark!r} is not one of C, D, RC, RD")
        credit_debit, reversal = _MARKS[mark]
        try:
            result = parser(self.context, dict(groups))  # mt-940 builds the value and entry dates
        except (ValueError, ArithmeticError):
            raise self.fail(tag, f"statement line {tag.value.splitlines()[0]!r} has an impossible date") from None
        value_date = result["date"]
        booking_date = result.get("entry_date") or value_date
        if not isinstance(value_date, dt.date) or not isinstance(booking_date, dt.date):  # pragma: no cover
            raise self.fail(tag, "the statement line has no value date")
        code = (groups.get("id") or "").strip() or None
        reference = (groups.get("customer_reference") or "").strip() or None
        if code == "NONR" and reference is not None and reference.startswith("EF"):  # NONREF with no type code
            code, reference = None, "NONR" + reference
        return StatementEntry(
            reference=reference,
            booking_date=dt.date(booking_date.year, booking_date.month, booking_date.day),
            value_date=dt.date(value_date.year, value_date.month, value_date.day),
            credit_debit=credit_debit,
            amount=amount,
            reversal=reversal,
            bank_code=code,
            account_servicer_reference=(groups.get("bank_reference") or "").strip() or None,
            file=self.name,
            line=tag.line,
        )

    def with_details(self, entry: StatementEntry, tag: _Tag) -> StatementEntry:
        """The entry with the ``:86:`` text as its information, and the SWIFT subfields it carries."""
        text = tag.value.strip()
        fields: dict[str, str] = {}
        for found in _SUBFIELD.finditer(text.replace("\n", "")):
            fields.setdefault(found.group("key"), found.group("value").strip())
        detail = TransactionDetail(
            end_to_end_id=fields.get("EREF") or None,
            remittance_info=fields.get("REMI") or text or None,
            counterparty_name=fields.get("NAME") or None,
            counterparty_iban=fields.get("IBAN") or None,
            line=tag.line,
        )
        return attrs.evolve(entry, additional_info=text or None, details=(detail,))
