"""Real bank files (shared/data/bank-statements, third-party: read in place, never copied) through the readers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from aidledger.core.amounts import Money
from aidledger.core.errors import MalformedFile
from aidledger.io.bankfile import (
    BalanceCheckResult,
    BankStatement,
    CreditDebit,
    read_camt,
    read_mt940,
)
from tests.io.bankfile_schemas import pain001_schema

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bank-statements"
STATEMENTS = DATA / "statements"
pytestmark = pytest.mark.skipif(not STATEMENTS.is_dir(), reason=f"{STATEMENTS} is not there")

AGREES, DIFFERS, NOT_POSSIBLE = BalanceCheckResult.AGREES, BalanceCheckResult.DIFFERS, BalanceCheckResult.NOT_POSSIBLE

#: file: (entries per statement, balance check per statement, difference per statement (closing - computed) or None)
FACTS: dict[str, tuple[list[int], list[BalanceCheckResult], list[str | None]]] = {
    "camt053_v02_genkgo_five_decimals.xml": ([1], [DIFFERS], ["0.05"]),
    "camt053_v02_genkgo_multi_statement.xml": ([1, 1], [AGREES, AGREES], ["0", "0"]),
    "camt053_v02_viafintech_batch.xml": ([3], [DIFFERS], ["12774.14"]),
    "camt053_v02_viafintech_example.xml": ([4], [AGREES], ["0"]),
    "camt053_v03_genkgo.xml": ([1], [NOT_POSSIBLE], [None]),
    "camt053_v08_viafintech_example.xml": ([3], [NOT_POSSIBLE], [None]),
    "camt054_v02_genkgo.xml": ([1], [NOT_POSSIBLE], [None]),
    "camt054_v04_viafintech_example.xml": ([4], [NOT_POSSIBLE], [None]),
    "camt054_v08_genkgo.xml": ([1], [NOT_POSSIBLE], [None]),
    "camt054_v08_postfinance_dvbern.xml": ([1], [NOT_POSSIBLE], [None]),
    "mt940_abnamro_nl_jejik.sta": ([8, 2], [DIFFERS, DIFFERS], ["-2038.00", "-1002.60"]),
    "mt940_asn_nl.txt": ([1, 0, 0, 0, 2] + [0] * 19 + [1, 0, 0, 0, 2, 0, 2], [AGREES] * 31, ["0"] * 31),
    "mt940_bunq_nl.sta": ([111], [AGREES], ["0"]),
    "mt940_citi_us.txt": ([5], [AGREES], ["0"]),
    "mt940_cmxl_de_dem.sta": ([11, 2, 3], [AGREES] * 3, ["0"] * 3),
    "mt940_ing_nl_jejik.sta": ([7], [DIFFERS], ["49.06"]),
    "mt940_kbs_mk.sta": ([7], [AGREES], ["0"]),
    "mt940_knab_nl_jejik.sta": ([1, 2], [AGREES, DIFFERS], ["0", "4500.00"]),
    "mt940_penta_de.sta": ([30], [AGREES], ["0"]),
    "mt940_postfinance_ch_jejik.sta": ([2, 2], [AGREES, DIFFERS], ["0", "0.20"]),
    "mt940_rabobank_iban_nl_jejik.sta": ([2, 2], [AGREES, AGREES], ["0", "0"]),
    "mt940_sberbank_hu.sta": ([3], [AGREES], ["0"]),
    "mt940_triodos_nl_jejik.sta": ([2], [DIFFERS], ["111.40"]),
}


def read(name: str) -> list[BankStatement]:
    path = STATEMENTS / name
    return read_camt(path) if name.startswith("camt") else read_mt940(path)


def test_every_file_is_in_the_table() -> None:
    """A file added to the folder gets its facts written down here."""
    assert sorted(path.name for path in STATEMENTS.iterdir()) == sorted(FACTS)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_each_file_reads_with_its_counts_and_balance_checks(name: str) -> None:
    """Every real file reads without error; entries, balance checks and differences are those the README notes."""
    statements = read(name)
    entries, results, differences = FACTS[name]
    assert [len(statement.entries) for statement in statements] == entries
    assert [statement.balance_check.result for statement in statements] == results
    found = [statement.balance_check.difference for statement in statements]
    assert [None if d is None else Decimal(d.value) for d in found] == [
        None if d is None else Decimal(d) for d in differences
    ]
    for statement in statements:
        assert statement.file == name and statement.line > 0
        assert all(entry.file == name and entry.line > 0 for entry in statement.entries)


class TestCamtFacts:
    def test_postfinance_entries_sharing_one_reference_are_four_entries(self) -> None:
        """Four different entries share NtryRef 41107767420881932: none is taken for a duplicate; two are reversals."""
        (statement,) = read("camt054_v04_viafintech_example.xml")
        assert [entry.reference for entry in statement.entries] == ["41107767420881932"] * 4
        assert [entry.amount for entry in statement.entries] == [
            Money("24.00", "CHF"),
            Money("56.56", "CHF"),
            Money("6.00", "CHF"),
            Money("15.53", "CHF"),
        ]
        assert [entry.reversal for entry in statement.entries] == [False, False, True, True]
        assert [detail.return_reason for detail in statement.entries[2].details] == ["MD06"]
        assert statement.format == "camt.054.001.04" and statement.account == "CH0309000000250090342"

    def test_three_decimal_amounts_are_exact(self) -> None:
        """18.150 and 8.850 EUR are read exactly, and the 0.05 the balances are off is reported, not raised."""
        (statement,) = read("camt053_v02_genkgo_five_decimals.xml")
        assert statement.opening == Money("18.15", "EUR") and statement.entries[0].amount == Money("8.85", "EUR")

    def test_a_foreign_currency_entry_keeps_its_currency(self) -> None:
        """The Swiss v08 statement's EUR 20.97 debit on a CHF account stays EUR; the check says why it cannot add up."""
        (statement,) = read("camt053_v08_viafintech_example.xml")
        assert statement.entries[2].amount == Money("20.97", "EUR")
        assert statement.entries[2].credit_debit is CreditDebit.DEBIT
        assert "EUR" in statement.balance_check.reason

    def test_v03_balances_in_four_currencies_are_information(self) -> None:
        (statement,) = read("camt053_v03_genkgo.xml")
        assert statement.opening == Money("18.15", "EUR") and statement.closing == Money("-27.00", "SEK")
        assert "SEK" in statement.balance_check.reason

    def test_notification_details_keep_their_own_amounts(self) -> None:
        """camt.054 v08: one 200000 SEK debit whose three TxDtls amounts sum to 9.50."""
        ((entry,),) = [statement.entries for statement in read("camt054_v08_genkgo.xml")]
        assert entry.amount == Money("200000", "SEK")
        assert sum(detail.amount.value for detail in entry.details if detail.amount) == Decimal("9.50")

    def test_prcd_stands_in_for_a_missing_opening_balance(self) -> None:
        (statement,) = read("camt053_v02_viafintech_example.xml")
        assert statement.opening == Money("33.06", "EUR") and statement.account is not None

    def test_batch_entry_details_and_counterparty(self) -> None:
        """PostFinance v08: one batch entry with two TxDtls; the NtryRef is an IBAN."""
        ((entry,),) = [statement.entries for statement in read("camt054_v08_postfinance_dvbern.xml")]
        assert entry.reference == "CH7730000001250094239"
        assert [detail.amount for detail in entry.details] == [Money("778.29", "CHF"), Money("913.93", "CHF")]


class TestMt940Facts:
    def test_abn_amro_short_amounts(self) -> None:
        """'9,' and '107,' are 9.00 and 107.00 EUR; two statements (:62M: then :60M:)."""
        first, _ = read("mt940_abnamro_nl_jejik.sta")
        assert first.entries[0].amount == Money("9", "EUR") and first.entries[0].credit_debit is CreditDebit.DEBIT
        assert Money("107", "EUR") in [entry.amount for entry in first.entries]

    def test_bunq_iban_currency_account_and_tiny_amounts(self) -> None:
        (statement,) = read("mt940_bunq_nl.sta")
        assert statement.account == "NL10BUNQ2290325473" and statement.currency == "EUR"
        assert Money("0.30", "EUR") in [entry.amount for entry in statement.entries]

    def test_asn_swift_envelopes_and_long_references(self) -> None:
        statements = read("mt940_asn_nl.txt")
        assert len(statements) == 31 and statements[0].entries[0].reference == "NL47INGB9999999999"

    def test_citi_blank_entry_date_and_zero_amounts(self) -> None:
        """A blank entry date falls back to the value date; 'CD0,00' lines are zero credits."""
        (statement,) = read("mt940_citi_us.txt")
        assert all(entry.booking_date == entry.value_date for entry in statement.entries)
        assert [entry.amount.value for entry in statement.entries].count(Decimal(0)) == 2

    def test_rabobank_zero_padded_amounts(self) -> None:
        first, second = read("mt940_rabobank_iban_nl_jejik.sta")
        assert first.entries[0].amount == Money("25.00", "EUR")
        assert first.message_id == second.message_id == "940S130101"

    def test_cmxl_three_currencies(self) -> None:
        assert [statement.currency for statement in read("mt940_cmxl_de_dem.sta")] == ["DEM", "EUR", "PLN"]

    def test_knab_amount_without_a_decimal_comma(self) -> None:
        first, _ = read("mt940_knab_nl_jejik.sta")
        assert first.entries[0].amount == Money("500", "EUR")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("camt053_v02_genkgo_multi_statement.xml", True),
        ("camt053_v03_genkgo.xml", True),
        ("camt054_v04_viafintech_example.xml", True),
        ("camt054_v08_postfinance_dvbern.xml", True),
        ("camt053_v02_viafintech_batch.xml", False),
        ("camt053_v02_viafintech_example.xml", False),
        ("camt053_v08_viafintech_example.xml", False),
    ],
)
def test_validation_against_the_xsd_is_on_request(name: str, valid: bool) -> None:
    """With schema_dir the file is checked against its version's XSD; XSD-invalid real files still read without."""
    schemas = DATA / "xsd"
    if valid:
        assert read_camt(STATEMENTS / name, schema_dir=schemas)
    else:
        with pytest.raises(MalformedFile, match=rf"{name} line \d+: not valid camt"):
            read_camt(STATEMENTS / name, schema_dir=schemas)
        assert read_camt(STATEMENTS / name)


@pytest.mark.parametrize(
    ("name", "version"),
    [("pain001_v03_dk_siz_sample.xml", "001.001.03"), ("pain001_v09_python_sepaxml_sample.xml", "001.001.09")],
)
def test_pain001_samples_validate_against_the_packaged_schemas(name: str, version: str) -> None:
    """The published samples validate against sepaxml's XSDs: the schema set-up the writer's tests rely on."""
    tree = etree.parse(str(DATA / "pain001" / name))
    schema = pain001_schema(version)
    assert schema.validate(tree), schema.error_log


def test_swiss_pain001_sample_parses_but_its_schema_is_not_packaged() -> None:
    """The SIX pain.001.001.03.ch.02 sample is well-formed; its Swiss schema is in no package we use."""
    tree = etree.parse(str(DATA / "pain001" / "pain001_v03ch02_sksf_six_sample.xml"))
    assert etree.QName(tree.getroot()).namespace.endswith("pain.001.001.03.ch.02.xsd")
    assert len(tree.getroot().findall(".//{*}CdtTrfTxInf")) > 0
