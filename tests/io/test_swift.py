"""MT940 on files written for these tests: dialects read into the model, malformed tags refused with their line."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger.core.amounts import Money
from aidledger.core.errors import MalformedFile
from aidledger.io.bankfile import BalanceCheckResult, CreditDebit, read_mt940

STATEMENT = """:20:STMT-1
:25:KZ86125KZT5004100100
:28C:7/1
:60F:C200401KZT100000,00
:61:2004020402C50000,00NTRFE2E-1//BANKREF-1
:86:/EREF/E2E-1/IBAN/KZ86125KZT5004100100/NAME/Aigerim Example/REMI/donation/
:61:200403D0,5NCHGNONREF
:86:fee
:62F:C200403KZT149999,50
"""


def line_of(text: str, prefix: str, occurrence: int = 1) -> int:
    return [number for number, line in enumerate(text.splitlines(), 1) if line.startswith(prefix)][occurrence - 1]


def refused(text: str, pattern: str) -> None:
    with pytest.raises(MalformedFile, match=pattern):
        read_mt940(text.encode())


class TestReading:
    def test_a_statement_reads_into_the_model(self) -> None:
        (statement,) = read_mt940(STATEMENT.encode())
        assert statement.format == "mt940" and statement.message_id == "STMT-1" and statement.statement_id == "7/1"
        assert statement.account == "KZ86125KZT5004100100" and statement.currency == "KZT"
        assert statement.opening == Money("100000", "KZT") and statement.closing == Money("149999.50", "KZT")
        assert statement.balance_check.result is BalanceCheckResult.AGREES
        credit, fee = statement.entries
        assert credit.amount == Money("50000", "KZT") and credit.credit_debit is CreditDebit.CREDIT
        assert (credit.reference, credit.account_servicer_reference, credit.bank_code) == ("E2E-1", "BANKREF-1", "NTRF")
        assert credit.booking_date == credit.value_date == dt.date(2020, 4, 2) and credit.line == 5
        (detail,) = credit.details
        assert (detail.end_to_end_id, detail.remittance_info, detail.line) == ("E2E-1", "donation", 6)
        assert detail.counterparty_name == "Aigerim Example" and "Aigerim" not in repr(statement)
        assert fee.amount == Money("0.50", "KZT") and fee.credit_debit is CreditDebit.DEBIT
        assert fee.booking_date == dt.date(2020, 4, 3)  # no entry date: the value date

    def test_swift_envelopes_headers_trailers_and_several_statements(self) -> None:
        """{1:}{2:}{4: blocks, bank header lines, '-}' and '-XXX' trailers, CRLF: two statements, lines kept."""
        second = STATEMENT.replace("STMT-1", "STMT-2")
        text = (
            "ABNANL2A\r\n940\r\n{1:F01BANKKZKAXXXX0000000000}{2:O940BANKKZKAXXXXN}{4:\r\n"
            + STATEMENT.replace("\n", "\r\n")
            + "-}{5:}\r\n:940:\r\n"
            + second
            + "-XXX\n"
        )
        first, other = read_mt940(("\ufeff" + text).encode())
        assert (first.message_id, other.message_id) == ("STMT-1", "STMT-2")
        assert first.entries[0].line == 8 and other.entries[0].line == line_of(text, ":61:", 3)
        assert len(first.entries) == len(other.entries) == 2

    @pytest.mark.parametrize(
        ("written", "value"),
        [("9,", "9"), ("0,3", "0.30"), ("000000000025,00", "25"), ("500", "500"), (",5", "0.50")],
    )
    def test_amount_dialects(self, written: str, value: str) -> None:
        text = STATEMENT.replace("D0,5NCHG", f"D{written}NCHG")
        assert read_mt940(text.encode())[0].entries[1].amount == Money(value, "KZT")

    def test_reversals(self) -> None:
        """RC (a credit reversed) takes money out, RD puts it back; both are reversals."""
        text = STATEMENT.replace("0402C50000", "0402RC50000").replace("200403D0,5", "200403RD0,5")
        credit, fee = read_mt940(text.encode())[0].entries
        assert (credit.credit_debit, credit.reversal) == (CreditDebit.DEBIT, True)
        assert (fee.credit_debit, fee.reversal) == (CreditDebit.CREDIT, True)

    def test_a_summary_86_after_the_closing_balance_belongs_to_no_entry(self) -> None:
        (statement,) = read_mt940((STATEMENT + ":86:D000001C000001\n").encode())
        assert statement.entries[-1].additional_info == "fee"


class TestMalformed:
    def test_an_amount_that_is_not_one(self) -> None:
        text = STATEMENT.replace("D0,5NCHG", "D1,2,3NCHG")
        refused(text, rf"^MT940 statement line {line_of(text, ':61:', 2)}: :61: amount '1,2,3' is not an amount")

    def test_more_decimals_than_the_currency_has(self) -> None:
        text = STATEMENT.replace("D0,5NCHG", "D0,505NCHG")
        refused(text, rf"^MT940 statement line {line_of(text, ':61:', 2)}: amount '0.505' KZT: .*more decimals")

    def test_an_amount_longer_than_the_pattern_is_refused_not_cut(self) -> None:
        text = STATEMENT.replace("D0,5NCHG", "D12345678901234567890NCHG")
        refused(text, rf"^MT940 statement line {line_of(text, ':61:', 2)}: :61: amount '12345678901234567890NCHG"[:-5])

    def test_text_after_a_balance(self) -> None:
        text = STATEMENT.replace(":62F:C200403KZT149999,50", ":62F:C200403KZT149999,50999999999999999999")
        refused(text, rf"^MT940 statement line {line_of(text, ':62F:')}: :62F: balance .* does not parse")

    def test_an_empty_balance_amount(self) -> None:
        text = STATEMENT.replace(":60F:C200401KZT100000,00", ":60F:C200401KZT")
        refused(text, rf"^MT940 statement line {line_of(text, ':60F:')}: :60F: balance '' is not an amount")

    def test_an_unknown_currency(self) -> None:
        text = STATEMENT.replace("KZT100000", "XYZ100000")
        refused(text, rf"^MT940 statement line {line_of(text, ':60F:')}: balance '100000.00' XYZ: unknown currency")

    def test_an_impossible_date(self) -> None:
        text = STATEMENT.replace(":61:2004020402C", ":61:2013020402C")
        refused(text, rf"^MT940 statement line {line_of(text, ':61:')}: :61: statement line .* impossible date")
        text = STATEMENT.replace(":60F:C200401", ":60F:C201301")
        refused(text, rf"^MT940 statement line {line_of(text, ':60F:')}: :60F: balance date 201301 is not a date")

    def test_an_unknown_mark(self) -> None:
        text = STATEMENT.replace("200403D0,5NCHGNONREF", "200403XD0,5NCHGNL47INGB9999999999123")
        refused(text, rf"^MT940 statement line {line_of(text, ':61:', 2)}: :61: debit/credit mark 'XD'")

    def test_a_statement_line_that_does_not_parse(self) -> None:
        text = STATEMENT.replace(":61:200403D0,5NCHGNONREF", ":61:yesterday")
        refused(text, rf"^MT940 statement line {line_of(text, ':61:', 2)}: :61: statement line 'yesterday'")

    def test_an_entry_before_any_balance(self) -> None:
        text = STATEMENT.replace(":60F:C200401KZT100000,00\n", "")
        refused(text, r"^MT940 statement line 4: :61: a statement line before any balance that names the currency")

    def test_a_tag_outside_a_statement(self) -> None:
        refused(":25:KZ86125KZT5004100100\n" + STATEMENT, r"^MT940 statement line 1: tag :25: outside a statement")
        refused(STATEMENT + "-\n:61:200403D0,5NCHG\n", rf"line {len(STATEMENT.splitlines()) + 2}: tag :61: outside")

    @pytest.mark.parametrize("text", ["", "hello\n", "{1:F01}{2:O940}{4:\n-}\n"])
    def test_no_statement_at_all(self, text: str) -> None:
        refused(text, r"^MT940 statement holds no MT940 statement \(no :20: tag\)")

    def test_text_that_is_not_utf8_names_its_line(self) -> None:
        content = STATEMENT.replace("fee", "f\xe9e").encode("latin-1")
        with pytest.raises(MalformedFile, match=r"^MT940 statement line 8: not utf-8 text"):
            read_mt940(content)
        assert read_mt940(content, encoding="latin-1")[0].entries[1].additional_info == "f\xe9e"

    def test_a_nul_character(self) -> None:
        refused(STATEMENT.replace("fee", "f\x00e"), re.escape("MT940 statement line 8: contains a NUL character"))

    @given(st.text(alphabet=":0123456789CDFNRSTXKZ,/{}-\n ", max_size=200))
    def test_arbitrary_text_gives_statements_or_malformed_file(self, text: str) -> None:
        with contextlib.suppress(MalformedFile):
            read_mt940(text.encode())

    @given(st.integers(min_value=0, max_value=len(STATEMENT)), st.text(max_size=6))
    def test_damaged_statements_give_statements_or_malformed_file(self, at: int, junk: str) -> None:
        with contextlib.suppress(MalformedFile):
            read_mt940((STATEMENT[:at] + junk + STATEMENT[at + len(junk) :]).encode())
