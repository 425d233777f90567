"""camt.053/camt.054 on files written for these tests: the model, and every hostile input refused with its line."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger.core.amounts import Money
from aidledger.core.errors import InvalidArgument, MalformedFile
from aidledger.io.bankfile import BalanceCheckResult, CreditDebit, EntryStatus, read_camt

ENTRY = """    <Ntry>
      <NtryRef>{ref}</NtryRef>
      <Amt Ccy="KZT">{amount}</Amt>
      <CdtDbtInd>{side}</CdtDbtInd>
      <Sts>BOOK</Sts>
      <BookgDt><Dt>2020-04-02</Dt></BookgDt>
      <ValDt><Dt>2020-04-02</Dt></ValDt>
      <NtryDtls><TxDtls>
        <Refs><EndToEndId>{ref}-E2E</EndToEndId></Refs>
        <RltdPties><Dbtr><Nm>Aigerim Example</Nm></Dbtr><DbtrAcct><Id><IBAN>KZ86125KZT5004100100</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf><Ustrd>donation</Ustrd></RmtInf>
      </TxDtls></NtryDtls>
    </Ntry>
"""


def balance(code: str, amount: str, currency: str = "KZT", side: str = "CRDT") -> str:
    return (
        f'    <Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{amount}</Amt>'
        f"<CdtDbtInd>{side}</CdtDbtInd><Dt><Dt>2020-04-01</Dt></Dt></Bal>\n"
    )


def entry(ref: str = "R1", amount: str = "50000.00", side: str = "CRDT") -> str:
    return ENTRY.format(ref=ref, amount=amount, side=side)


def camt053(body: str, version: str = "02", balances: str | None = None) -> bytes:
    """A small camt.053 document: one statement of a KZT account, with ``body`` as its entries."""
    if balances is None:
        balances = balance("OPBD", "100000.00") + balance("CLBD", "150000.00")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">\n'
        f"<BkToCstmrStmt>\n  <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2020-04-02T18:00:00+06:00</CreDtTm></GrpHdr>\n"
        f"  <Stmt>\n    <Id>STMT-1</Id>\n    <CreDtTm>2020-04-02T18:00:00+06:00</CreDtTm>\n"
        f"    <Acct><Id><IBAN>KZ86125KZT5004100100</IBAN></Id><Ccy>KZT</Ccy></Acct>\n"
        f"{balances}{body}  </Stmt>\n</BkToCstmrStmt>\n</Document>\n"
    ).encode()


def line_of(document: bytes, text: str, occurrence: int = 1) -> int:
    """The line number of the ``occurrence``-th line containing ``text``."""
    lines = [number for number, line in enumerate(document.decode().splitlines(), 1) if text in line]
    return lines[occurrence - 1]


def refused(document: bytes, pattern: str) -> MalformedFile:
    with pytest.raises(MalformedFile, match=pattern) as caught:
        read_camt(document)
    return caught.value


class TestReading:
    @pytest.mark.parametrize("version", ["02", "03", "04", "08"])
    def test_a_statement_reads_into_the_model(self, version: str) -> None:
        """Each version's namespace is accepted; balances, entry and details are exact, lines are recorded."""
        document = camt053(entry(), version)
        (statement,) = read_camt(document)
        assert statement.format == f"camt.053.001.{version}"
        assert (statement.message_id, statement.statement_id, statement.account) == (
            "MSG-1",
            "STMT-1",
            "KZ86125KZT5004100100",
        )
        assert statement.created == dt.datetime(2020, 4, 2, 18, tzinfo=dt.timezone(dt.timedelta(hours=6)))
        assert statement.opening == Money("100000", "KZT") and statement.closing == Money("150000", "KZT")
        assert statement.balance_check.result is BalanceCheckResult.AGREES
        (found,) = statement.entries
        assert found.amount == Money("50000", "KZT") and found.credit_debit is CreditDebit.CREDIT
        assert found.status is EntryStatus.BOOKED and not found.reversal
        assert found.booking_date == found.value_date == dt.date(2020, 4, 2)
        assert found.line == line_of(document, "<Ntry>") and found.file == "bank statement"
        (detail,) = found.details
        assert detail.end_to_end_id == "R1-E2E" and detail.remittance_info == "donation"
        assert detail.counterparty_name == "Aigerim Example" and detail.counterparty_iban == "KZ86125KZT5004100100"

    def test_counterparty_names_stay_out_of_repr(self) -> None:
        """Logging a statement value never logs a person's name."""
        (statement,) = read_camt(camt053(entry()))
        assert "Aigerim" not in repr(statement) and "KZ86125KZT5004100100" not in repr(statement.entries[0].details)

    def test_a_path_and_an_open_file_name_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "april.xml"
        path.write_bytes(camt053(entry()))
        assert read_camt(path)[0].file == "april.xml"
        with path.open("rb") as stream:
            assert read_camt(stream)[0].entries[0].file == "april.xml"

    def test_a_difference_is_reported_not_raised(self) -> None:
        (statement,) = read_camt(camt053(entry(amount="49999.99")))
        assert statement.balance_check.result is BalanceCheckResult.DIFFERS
        assert statement.balance_check.difference == Money("0.01", "KZT")

    def test_a_balance_in_another_currency_makes_the_check_impossible(self) -> None:
        """Real files carry balances in other currencies (camt053 v03): information on the check, not an error."""
        balances = balance("OPBD", "100000.00") + balance("CLBD", "150.00", currency="EUR")
        (statement,) = read_camt(camt053(entry(), balances=balances))
        assert statement.balance_check.result is BalanceCheckResult.NOT_POSSIBLE
        assert statement.balance_check.reason == "the opening balance is in KZT, the closing balance in EUR"

    def test_same_reference_with_different_content_is_kept(self) -> None:
        """Like PostFinance's four entries under one NtryRef: a shared reference alone is no duplicate."""
        (statement,) = read_camt(camt053(entry("R1", "20000.00") + entry("R1", "30000.00")))
        assert [e.amount.value for e in statement.entries] == [20000, 30000]

    def test_pending_entries_stay_out_of_the_balance_check(self) -> None:
        pending = entry("R2", "7.00").replace("<Sts>BOOK</Sts>", "<Sts><Cd>PDNG</Cd></Sts>")
        (statement,) = read_camt(camt053(entry() + pending))
        assert statement.entries[1].status is EntryStatus.PENDING
        assert statement.balance_check.result is BalanceCheckResult.AGREES

    def test_a_notification_reads_too(self) -> None:
        document = (
            camt053(entry())
            .replace(b"camt.053", b"camt.054")
            .replace(b"BkToCstmrStmt", b"BkToCstmrDbtCdtNtfctn")
            .replace(b"Stmt>", b"Ntfctn>")
        )
        (notification,) = read_camt(document)
        assert notification.format == "camt.054.001.02" and len(notification.entries) == 1


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol3;</Document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&secret;</BkToCstmrStmt></Document>
"""


class TestHostileInputs:
    def test_billion_laughs_is_refused_before_parsing(self) -> None:
        error = refused(BILLION_LAUGHS, r"^bank statement line 2: declares a DOCTYPE")
        assert error.details["line"] == 2

    def test_an_external_entity_is_refused(self) -> None:
        refused(EXTERNAL_ENTITY, r"^bank statement line 2: declares a DOCTYPE")

    def test_a_doctype_in_utf16_is_refused_after_parsing(self) -> None:
        """The byte search cannot see a UTF-16 declaration; the parsed document's DTD is refused instead."""
        refused(
            BILLION_LAUGHS.replace(b'"1.0"', b'"1.0" encoding="UTF-16"').decode().encode("utf-16"), "declares a DOCTYPE"
        )

    def test_a_huge_text_node_is_refused(self) -> None:
        """huge_tree is off: a text node over libxml2's 10 MB limit is not read."""
        document = camt053(entry()).replace(b"donation", b"x" * 10_000_001)
        refused(document, rf"^bank statement line {line_of(camt053(entry()), 'donation')}: not well-formed XML")

    def test_absurd_nesting_is_refused(self) -> None:
        document = camt053(entry()).replace(b"donation", b"<a>" * 300 + b"</a>" * 300)
        refused(document, r"^bank statement line \d+: not well-formed XML")

    def test_an_undeclared_entity_reference_is_not_well_formed(self) -> None:
        document = camt053(entry()).replace(b"donation", b"&xxe;")
        refused(document, rf"^bank statement line {line_of(document, '&xxe;')}: not well-formed XML")

    def test_truncated_xml_names_its_last_line(self) -> None:
        document = camt053(entry())[:-200]
        error = refused(document, r"^bank statement line \d+: not well-formed XML")
        assert error.details["line"] >= len(document.splitlines()) - 1

    @pytest.mark.parametrize("content", [b"", b"   ", b"\x00\x01\x02", b"<a>", "<Ntry>é</Ntry>".encode("latin-1")])
    def test_no_xml_at_all(self, content: bytes) -> None:
        refused(content, r"^bank statement line \d+: not well-formed XML")

    @pytest.mark.parametrize(
        "namespace",
        [
            "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02",
            "urn:iso:std:iso:20022:tech:xsd:camt.053.001.05",
            "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
            "urn:example:camt.053.001.02",
        ],
    )
    def test_a_wrong_or_unknown_namespace(self, namespace: str) -> None:
        document = camt053(entry()).replace(b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02", namespace.encode())
        refused(document, rf"^bank statement line 2: namespace '{re.escape(namespace)}' is not camt.053 or camt.054")

    def test_no_namespace(self) -> None:
        refused(b"<Document><BkToCstmrStmt/></Document>", r"^bank statement line 1: namespace '' is not camt")

    def test_a_duplicated_entry(self) -> None:
        """The same entry (same reference, same content) twice is refused at the second, naming the first."""
        document = camt053(entry("R1") + entry("R1"))
        second = line_of(document, "<Ntry>", 2)
        first = line_of(document, "<Ntry>", 1)
        refused(document, rf"^bank statement line {second}: entry 'R1' repeats the entry on line {first} exactly")

    def test_twenty_digits(self) -> None:
        document = camt053(entry(amount="12345678901234567890"))
        line = line_of(document, "12345678901234567890")
        refused(document, rf"^bank statement line {line}: entry amount '12345678901234567890' has 20 digits")

    def test_more_decimals_than_the_currency_has(self) -> None:
        document = camt053(entry(amount="50000.001"))
        line = line_of(document, "50000.001")
        refused(
            document, rf"^bank statement line {line}: entry amount '50000.001' KZT: .*more decimals than KZT allows"
        )

    @pytest.mark.parametrize("amount", ["-5.00", "+5.00", "5e3", "5,00", "", "NaN", "٥"])
    def test_an_amount_that_is_not_a_plain_decimal(self, amount: str) -> None:
        document = camt053(entry(amount=amount))
        line = line_of(document, "<NtryRef>") + 1
        refused(
            document,
            rf"^bank statement line {line}: entry amount '{re.escape(amount)}' is not a plain positive decimal",
        )

    @pytest.mark.parametrize("currency", ["XYZ", "", "kzt1"])
    def test_a_balance_in_an_unknown_currency(self, currency: str) -> None:
        balances = balance("OPBD", "100000.00", currency=currency) + balance("CLBD", "150000.00")
        document = camt053(entry(), balances=balances)
        refused(document, rf"^bank statement line {line_of(document, 'OPBD')}: balance amount '100000.00'")

    def test_a_missing_credit_debit_indicator_on_an_entry(self) -> None:
        document = camt053(entry().replace("<CdtDbtInd>CRDT</CdtDbtInd>", ""))
        refused(document, rf"^bank statement line {line_of(document, '<Ntry>')}: the entry has no CdtDbtInd")

    def test_a_missing_credit_debit_indicator_on_a_balance(self) -> None:
        balances = balance("OPBD", "1.00").replace("<CdtDbtInd>CRDT</CdtDbtInd>", "") + balance("CLBD", "1.00")
        document = camt053("", balances=balances)
        refused(document, rf"^bank statement line {line_of(document, 'OPBD')}: the balance has no CdtDbtInd")

    def test_an_unknown_credit_debit_indicator(self) -> None:
        document = camt053(entry(side="CRED"))
        refused(document, rf"^bank statement line {line_of(document, '<Ntry>')}: the entry's CdtDbtInd 'CRED'")

    def test_an_unknown_status_and_a_bad_date(self) -> None:
        document = camt053(entry().replace("<Sts>BOOK</Sts>", "<Sts>DONE</Sts>"))
        refused(document, r"entry status 'DONE' is not BOOK, PDNG or INFO")
        document = camt053(entry().replace("<Dt>2020-04-02</Dt>", "<Dt>2020-13-02</Dt>", 1))
        refused(document, rf"^bank statement line {line_of(document, '2020-13-02')}: date '2020-13-02'")

    def test_an_unreadable_path(self, tmp_path: Path) -> None:
        with pytest.raises(MalformedFile, match="cannot read the bank statement"):
            read_camt(tmp_path / "missing.xml")

    def test_a_schema_folder_without_the_schema(self, tmp_path: Path) -> None:
        """Validation asks for the version's XSD in the folder given; aidledger ships none."""
        with pytest.raises(InvalidArgument, match=r"cannot load the schema .*camt\.053\.001\.02\.xsd"):
            read_camt(camt053(entry()), schema_dir=tmp_path)

    def test_a_text_stream_is_refused(self) -> None:
        with pytest.raises(MalformedFile, match="binary mode"):
            read_camt(io.StringIO("<Document/>"))  # type: ignore[arg-type]

    @given(st.binary(max_size=300))
    def test_arbitrary_bytes_give_statements_or_malformed_file(self, content: bytes) -> None:
        """Whatever the bytes, the reader answers with statements or MalformedFile, never another exception."""
        with contextlib.suppress(MalformedFile):
            read_camt(content)

    @given(st.integers(min_value=0, max_value=len(camt053(entry()))), st.binary(min_size=1, max_size=8))
    def test_damaged_documents_give_statements_or_malformed_file(self, at: int, junk: bytes) -> None:
        document = camt053(entry())
        with contextlib.suppress(MalformedFile):
            read_camt(document[:at] + junk + document[at + len(junk) :])
