"""The CSV reader the importers share: a header in any order and case, every data line parsed with its number."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import InvalidArgument, MalformedFile, read_provider_report, read_statement
from aidledger.io.csvfile import DIALECTS, CsvDialect, read_csv


def cells(name: str, number: int, row: dict[str, str]) -> tuple[str, int, dict[str, str]]:
    """What ``read_csv`` hands its parse function, as it is."""
    return name, number, row


class TestReading:
    def test_columns_by_name_in_any_order_and_case_and_blank_lines_skipped(self) -> None:
        """Required and optional columns are found by name; others are ignored; blank lines keep their numbers."""
        text = "Note, AMOUNT ,Reference\nx, 5 ,R-1\n\n,,\ny,7,\n"
        assert read_csv(io.StringIO(text), "report", ("amount",), ("reference", "date"), cells) == [
            ("report", 2, {"amount": "5", "reference": "R-1"}),
            ("report", 5, {"amount": "7", "reference": ""}),
        ]

    def test_a_path_and_a_binary_file_with_a_byte_order_mark(self, tmp_path: Path) -> None:
        """A path is read by its file name; bytes are UTF-8 with or without a byte-order mark."""
        path = tmp_path / "in.csv"
        path.write_bytes("\ufeffamount\n1\n".encode())
        assert read_csv(path, "report", ("amount",), (), cells) == [("in.csv", 2, {"amount": "1"})]
        assert read_csv(str(path), "report", ("amount",), (), cells)[0][0] == "in.csv"
        assert read_csv(io.BytesIO(b"amount\n1\n"), "report", ("amount",), (), cells) == [
            ("report", 2, {"amount": "1"})
        ]

    def test_what_parse_raises_comes_through(self) -> None:
        """The parse function's own refusal is not wrapped."""

        def refuse(name: str, number: int, row: dict[str, str]) -> None:
            raise MalformedFile(f"{name} line {number}: no", line=number)

        with pytest.raises(MalformedFile, match="report line 2: no"):
            read_csv(io.StringIO("amount\n1\n"), "report", ("amount",), (), refuse)


class TestRefusals:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "report is empty: expected a header with amount, date"),
            (b"amount\n1\n", r"report line 1: missing column\(s\) date \(found amount\)"),
            (b"amount,date\n1\n", "report line 2: expected 2 fields, found 1"),
            (b"amount,date\n1,\xff\n", "report line 2: not UTF-8 text"),
            (b"amount,date\n1,\x00\n", "report line 2: contains a NUL character"),
            (b"amount,date\n" + b"1," + b"9" * 10_001 + b"\n", "report line 2: longer than 10000 characters"),
        ],
    )
    def test_every_problem_names_the_line(self, content: bytes, message: str) -> None:
        """An empty file, a missing column, a short row, bad bytes, a NUL or a huge line names where it is."""
        with pytest.raises(MalformedFile, match=message):
            read_csv(io.BytesIO(content), "report", ("amount", "date"), (), cells)

    def test_a_missing_file_and_not_a_file(self, tmp_path: Path) -> None:
        """A path that cannot be read, or a value that is no file, is refused naming what was being read."""
        with pytest.raises(MalformedFile, match="cannot read the report"):
            read_csv(tmp_path / "nope.csv", "report", ("amount",), (), cells)
        with pytest.raises(MalformedFile, match="a report is a file path or an open file"):
            read_csv(42, "report", ("amount",), (), cells)  # type: ignore[arg-type]


class TestDialects:
    KAZAKH = "date;amount;reference\n01.04.2020;765 900,00;D-1\n02.04.2020;-1\u00a0250,5;\n03.04.2020;12,00;X\n"

    def test_a_kazakh_bank_export(self) -> None:
        """';', day-first dates, a decimal comma and spaces (no-break ones too) between thousands."""
        lines = read_statement(io.StringIO(self.KAZAKH), dialect="kazakh-bank")
        assert [(x.date.isoformat(), str(x.amount), x.line) for x in lines] == [
            ("2020-04-01", "765900.00 KZT", 2),
            ("2020-04-02", "-1250.50 KZT", 3),
            ("2020-04-03", "12.00 KZT", 4),
        ]
        report = "reference;status;amount\nR-1;paid;50\u202f000,00\n"
        assert str(read_provider_report(io.StringIO(report), dialect=DIALECTS["kazakh-bank"])[0].amount) == (
            "50000.00 KZT"
        )

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("date;amount\n01.04.2020;765.900,00\n", "line 2: amount '765.900,00' holds '.'"),
            ("date;amount\n01.04.2020;76 5900,00\n", "line 2: amount '76 5900,00' is not grouped in thousands"),
            ("date;amount\n01.04.20;1,00\n", "line 2: date '01.04.20' is not an ISO date"),
            ("date;amount\n31.02.2020;1,00\n", "line 2: date '31.02.2020' is not"),
            ("date;amount\n01.04.2020;1,005\n", "line 2: "),
            ("date;amount\n\n01.04.2020;1 000 ,00\n", "line 3: amount '1 000 ,00'"),
        ],
    )
    def test_ambiguous_input_is_refused_with_its_line(self, text: str, message: str) -> None:
        with pytest.raises(MalformedFile, match=re.escape(message)):
            read_statement(io.StringIO(text), dialect="kazakh-bank")

    def test_the_standard_dialect_refuses_day_first_dates_and_decimal_commas(self) -> None:
        with pytest.raises(MalformedFile, match=re.escape("line 2: date '01.04.2020' is not an ISO date")):
            read_statement(io.StringIO("date,amount\n01.04.2020,1.00\n"))
        with pytest.raises(MalformedFile, match=re.escape("line 2: amount '1,5' holds ','")):
            read_statement(io.StringIO('date,amount\n2020-04-01,"1,5"\n'))

    def test_a_dialect_of_ones_own(self) -> None:
        swiss = CsvDialect(name="swiss", delimiter=";", decimal=".", thousands="'", day_first=True)
        (line,) = read_statement(io.StringIO("date;amount\n01.04.2020;1'250.50\n"), dialect=swiss)
        assert str(line.amount) == "1250.50 KZT"
        with pytest.raises(InvalidArgument, match="delimiter must be one of"):
            CsvDialect(delimiter=":")
        with pytest.raises(InvalidArgument, match="day_first must be one of"):
            CsvDialect(day_first=1)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="must differ"):
            CsvDialect(decimal=",", thousands=",")
        with pytest.raises(InvalidArgument, match="unknown CSV dialect 'excel'"):
            read_statement(io.StringIO(""), dialect="excel")


def kazakh_amount(value: Decimal, space: str) -> str:
    """``value`` as a Kazakh bank writes it: ``-1 250 000,50`` (with ``space`` between thousands)."""
    whole, _, fraction = f"{abs(value):f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ("-" if value < 0 else "") + space.join(groups) + "," + fraction


class TestDialectProperties:
    @given(
        rows=st.lists(
            st.tuples(
                st.dates(min_value=dt.date(1900, 1, 1)),
                st.decimals(min_value=-(10**15), max_value=10**15, places=2, allow_nan=False).filter(bool),
                st.sampled_from([" ", "\u00a0", "\u202f"]),
            ),
            min_size=1,
            max_size=10,
        )
    )
    def test_a_kazakh_export_reads_back_exactly(self, rows: list[tuple[dt.date, Decimal, str]]) -> None:
        text = "date;amount\n" + "".join(f"{d:%d.%m.%Y};{kazakh_amount(v, s)}\n" for d, v, s in rows)
        lines = read_statement(io.StringIO(text), dialect="kazakh-bank")
        assert [(x.date, x.amount.value) for x in lines] == [(d, v) for d, v, _ in rows]

    @given(amount=st.text(max_size=20), date=st.text(max_size=12))
    def test_any_cell_reads_or_is_refused_with_its_line(self, amount: str, date: str) -> None:
        """Whatever a cell holds, the dialect reads it exactly or refuses it with a MalformedFile naming line 2."""
        cells = [cell.replace("\r", "").replace("\n", "").replace('"', "").replace(";", "") for cell in (date, amount)]
        refused: list[str] = []
        try:
            read_statement(io.StringIO(f"date;amount\n{cells[0]};{cells[1]}\n"), dialect="kazakh-bank")
        except MalformedFile as error:
            refused.append(str(error))
        assert all(" line 2: " in message for message in refused), refused
