"""pain.001 files written from typed instructions: valid against the XSDs, exact control sums, splits at limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from aidledger.core.amounts import Money, currency
from aidledger.core.errors import InvalidArgument, InvalidTime
from aidledger.io.bankfile import CreditTransfer, PainFile, PaymentInstruction, split, write_pain001
from tests.io.bankfile_schemas import pain001_schema

VERSIONS = ["001.001.09", "001.001.03"]


def transfer(number: int, amount: str = "50000.00", code: str = "KZT") -> CreditTransfer:
    return CreditTransfer(
        end_to_end_id=f"AID-2020-{number:06d}",
        amount=Money(amount, code),
        creditor_name=f"Household {number}",
        creditor_iban="KZ86125KZT5004100100",
        remittance="One-off aid, April 2020",
    )


def instruction(*transfers: CreditTransfer, message_id: str = "FUND-2020-04-01") -> PaymentInstruction:
    return PaymentInstruction(
        message_id=message_id,
        created=dt.datetime(2020, 4, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=6))),
        debtor_name="Public Fund",
        debtor_iban="KZ86125KZT5004100100",
        debtor_bic="KCJBKZKX",
        execution_date=dt.date(2020, 4, 2),
        transfers=transfers or tuple(transfer(number) for number in range(1, 4)),
    )


def parsed(file: PainFile) -> etree._Element:
    """The file's XML, checked against its version's schema."""
    root = etree.fromstring(file.content)
    schema = pain001_schema(file.version)
    assert schema.validate(root), schema.error_log
    return root


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.iterfind(path, {"p": etree.QName(root).namespace or ""})]


class TestWriting:
    @pytest.mark.parametrize("version", VERSIONS)
    def test_the_file_validates_and_states_count_and_sum(self, version: str) -> None:
        """Group header and payment block both say 3 transactions and 150000.00; one CdtTrfTxInf per transfer."""
        file = write_pain001(instruction(), version=version)
        root = parsed(file)
        assert etree.QName(root).namespace == f"urn:iso:std:iso:20022:tech:xsd:pain.{version}"
        assert texts(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs") == texts(root, ".//p:PmtInf/p:NbOfTxs") == ["3"]
        assert texts(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum") == ["150000.00"]
        assert texts(root, ".//p:PmtInf/p:CtrlSum") == ["150000.00"]
        assert texts(root, ".//p:EndToEndId") == ["AID-2020-000001", "AID-2020-000002", "AID-2020-000003"]
        assert texts(root, ".//p:GrpHdr/p:CreDtTm") == ["2020-04-01T09:30:00+06:00"]
        assert (file.number_of_transactions, file.control_sum, file.message_id) == (
            3,
            Decimal("150000.00"),
            "FUND-2020-04-01",
        )

    def test_versions_differ_where_the_schemas_do(self) -> None:
        """.03 writes ReqdExctnDt and BIC directly; .09 wraps the date in Dt and names the BIC BICFI."""
        old = parsed(write_pain001(instruction(), version="001.001.03"))
        new = parsed(write_pain001(instruction()))
        assert texts(old, ".//p:ReqdExctnDt") == ["2020-04-02"] and texts(old, ".//p:DbtrAgt/p:FinInstnId/p:BIC") == [
            "KCJBKZKX"
        ]
        assert texts(new, ".//p:ReqdExctnDt/p:Dt") == ["2020-04-02"]
        assert texts(new, ".//p:DbtrAgt/p:FinInstnId/p:BICFI") == ["KCJBKZKX"]

    @pytest.mark.parametrize("version", VERSIONS)
    def test_without_a_bic_and_in_euro(self, version: str) -> None:
        """No debtor BIC gives NOTPROVIDED; a EUR batch is marked SEPA; JPY amounts have no decimals."""
        euro = attrs.evolve(instruction(transfer(1, "10.12", "EUR"), transfer(2, "50", "EUR")), debtor_bic=None)
        root = parsed(write_pain001(euro, version=version))
        assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED"]
        assert texts(root, ".//p:SvcLvl/p:Cd") == ["SEPA"] and texts(root, ".//p:GrpHdr/p:CtrlSum") == ["60.12"]
        yen = parsed(write_pain001(instruction(transfer(1, "1500", "JPY")), version=version))
        assert texts(yen, ".//p:InstdAmt") == ["1500"]

    def test_the_hash_is_of_the_bytes(self) -> None:
        file = write_pain001(instruction())
        assert file.sha256 == hashlib.sha256(file.content).hexdigest()
        assert file.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
        assert write_pain001(instruction()) == file  # the same instruction gives the same bytes

    def test_personal_data_stays_out_of_repr(self) -> None:
        assert "Household" not in repr(instruction()) and "KZ86" not in repr(transfer(1))
        assert "Household" not in repr(write_pain001(instruction()))

    def test_an_unknown_version(self) -> None:
        with pytest.raises(InvalidArgument, match=re.escape("pain.001 version must be one of 001.001.09, 001.001.03")):
            write_pain001(instruction(), version="001.001.12")


class TestInstructions:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"amount": Money("0", "KZT")}, "amount must be positive"),
            ({"amount": Money("-5", "KZT")}, "amount must be positive"),
            ({"creditor_iban": "KZ86 125K ZT50"}, "creditor_iban is not an IBAN"),
            ({"end_to_end_id": "E" * 36}, "end_to_end_id must be text of 1 to 35"),
            ({"creditor_name": ""}, "creditor_name must be text of 1 to 140"),
            ({"remittance": "a\x00b"}, "remittance must be text of 1 to 140 characters without control"),
        ],
    )
    def test_a_bad_transfer(self, change: dict[str, object], message: str) -> None:
        fields = {**attrs.asdict(transfer(1), recurse=False), **change}
        with pytest.raises(InvalidArgument, match=message):
            CreditTransfer(**fields)  # type: ignore[arg-type]

    def test_a_bad_instruction(self) -> None:
        with pytest.raises(InvalidTime, match="time-zone aware"):
            attrs.evolve(instruction(), created=dt.datetime(2020, 4, 1))
        with pytest.raises(InvalidArgument, match="is not a BIC"):
            attrs.evolve(instruction(), debtor_bic="KCJB")
        with pytest.raises(InvalidArgument, match="in one currency, found EUR, KZT"):
            instruction(transfer(1), transfer(2, "1", "EUR"))
        with pytest.raises(InvalidArgument, match="end-to-end id 'AID-2020-000001' appears twice"):
            instruction(transfer(1), transfer(1))
        huge = Money.from_minor(10**18 - 1, currency("KZT"))
        with pytest.raises(
            InvalidArgument, match=re.escape("more than the 18 digits pain.001 allows; split the batch")
        ):
            instruction(attrs.evolve(transfer(1), amount=huge), attrs.evolve(transfer(2), amount=huge))
        with pytest.raises(InvalidArgument, match="at least one CreditTransfer"):
            attrs.evolve(instruction(), transfers=())


class TestSplit:
    @pytest.mark.parametrize("version", VERSIONS)
    def test_split_at_limits_gives_valid_files_holding_every_line_once(self, version: str) -> None:
        batch = instruction(*(transfer(number, f"{number}000.00") for number in range(1, 26)))
        parts = split(batch, max_lines=7, max_amount=Money("40000", "KZT"))
        files = [write_pain001(part, version=version) for part in parts]
        ids: list[str] = []
        for file, part in zip(files, parts, strict=True):
            root = parsed(file)
            assert len(part.transfers) <= 7 and part.control_sum <= Decimal(40000)
            assert texts(root, ".//p:GrpHdr/p:NbOfTxs") == [str(len(part.transfers))]
            assert Decimal(texts(root, ".//p:GrpHdr/p:CtrlSum")[0]) == part.control_sum
            ids += texts(root, ".//p:EndToEndId")
        assert ids == [t.end_to_end_id for t in batch.transfers]
        assert [file.message_id for file in files] == [f"FUND-2020-04-01-{n}" for n in range(1, len(files) + 1)]
        assert len({file.sha256 for file in files}) == len(files)
        assert sum(file.control_sum for file in files) == batch.control_sum

    def test_a_batch_within_limits_is_kept_whole(self) -> None:
        batch = instruction()
        assert split(batch, max_lines=3, max_amount=Money("150000", "KZT")) == [batch]

    def test_limits_that_cannot_be_met(self) -> None:
        with pytest.raises(
            InvalidArgument, match=re.escape("transfer 'AID-2020-000001' of 50,000.00 KZT is above the limit")
        ):
            split(instruction(), max_amount=Money("49999.99", "KZT"))
        with pytest.raises(InvalidArgument, match="max_lines must be a positive integer"):
            split(instruction(), max_lines=0)
        with pytest.raises(InvalidArgument, match="max_amount must be Money in KZT"):
            split(instruction(), max_amount=Money("1", "EUR"))
        with pytest.raises(InvalidArgument, match="too long to number its parts"):
            split(instruction(message_id="M" * 34), max_lines=1)


CODES = st.sampled_from(["KZT", "EUR", "JPY", "KWD"])
IDS = st.from_regex(r"[A-Za-z0-9/?:().,'+ -]{1,35}", fullmatch=True).filter(lambda text: text.strip() != "")
NAMES = st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), min_size=1, max_size=140).filter(
    lambda text: text.strip() != ""
)


@st.composite
def instructions(draw: st.DrawFn) -> PaymentInstruction:
    code = draw(CODES)
    unit = currency(code)
    minors = draw(st.lists(st.integers(min_value=1, max_value=10**13), min_size=1, max_size=12))
    ids = draw(st.lists(IDS, min_size=len(minors), max_size=len(minors), unique=True))
    transfers = [
        CreditTransfer(
            end_to_end_id=end_to_end,
            amount=Money.from_minor(minor, unit),
            creditor_name=draw(NAMES),
            creditor_iban=draw(st.from_regex(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", fullmatch=True)),
            remittance=draw(st.none() | NAMES),
        )
        for minor, end_to_end in zip(minors, ids, strict=True)
    ]
    return attrs.evolve(instruction(), transfers=transfers)


@given(instructions(), st.sampled_from(VERSIONS))
def test_round_trip(batch: PaymentInstruction, version: str) -> None:
    """Generated instructions written and read back with lxml: the same ids, amounts, names and sums, and valid."""
    root = parsed(write_pain001(batch, version=version))
    ns = {"p": etree.QName(root).namespace or ""}
    lines = root.findall(".//p:CdtTrfTxInf", ns)
    assert [line.findtext("p:PmtId/p:EndToEndId", namespaces=ns) for line in lines] == [
        t.end_to_end_id for t in batch.transfers
    ]
    amounts = [line.find("p:Amt/p:InstdAmt", ns) for line in lines]
    assert [Money(a.text or "", a.get("Ccy", "")) for a in amounts if a is not None] == [
        t.amount for t in batch.transfers
    ]
    assert [line.findtext("p:Cdtr/p:Nm", namespaces=ns) for line in lines] == [t.creditor_name for t in batch.transfers]
    assert Decimal(texts(root, ".//p:GrpHdr/p:CtrlSum")[0]) == sum(t.amount.value for t in batch.transfers)
