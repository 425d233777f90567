"""Reading a payment provider's report: good files, and every malformed one refused with its line number."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from aidledger import MalformedFile, Money, PaymentStatus, ProviderLine, read_provider_report


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "report.csv"
    path.write_bytes(content)
    return path


def test_a_report_reads_into_lines(tmp_path: Path) -> None:
    """A UTF-8 file with a byte-order mark, any column order, mixed-case statuses and blank lines."""
    path = write(
        tmp_path,
        "\ufeffStatus,Reference,Amount\r\nPAID,F0000001,50000\r\n\r\nfailed,F0000002,50000.00\r\n".encode(),
    )
    assert read_provider_report(path) == [
        ProviderLine("F0000001", PaymentStatus.PAID, Money("50000", "KZT"), line=2),
        ProviderLine("F0000002", PaymentStatus.FAILED, Money("50000", "KZT"), line=4),
    ]


def test_a_currency_column_is_used() -> None:
    lines = read_provider_report(io.StringIO("reference,status,amount,currency\nR1,returned,12.50,usd\n"))
    assert lines[0].amount == Money("12.50", "USD")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "report.csv is empty"),
        (b"reference,amount\nR1,5\n", "report.csv line 1: missing column(s) status"),
        (
            b"reference,status,amount\nR1,sent,5\n",
            "report.csv line 2: status 'sent' is not one of paid, failed, returned",
        ),
        (b"reference,status,amount\nR1,paid,5\nR2,paid,12,5\n", "report.csv line 3: expected 3 fields, found 4"),
        (b"reference,status,amount\nR1,paid,1e\n", "report.csv line 2: amount '1e' is not a number"),
        (b"reference,status,amount\nR1,paid,NaN\n", "report.csv line 2:"),
        (b"reference,status,amount\nR1,paid,1.001\n", "report.csv line 2: 1.001 has more decimals than KZT allows (2)"),
        (b"reference,status,amount\n,paid,1\n", "report.csv line 2: the reference is empty"),
        (b"reference,status,amount\nR1,paid,1\nR\xe9,paid,1\n", "report.csv line 3: not UTF-8 text"),
        (b"reference,status,amount\nR1,pa\x00id,1\n", "report.csv line 2: contains a NUL character"),
        (
            b"reference,status,amount\nR1,paid," + b"9" * 20_000 + b"\n",
            "report.csv line 2: longer than 10000 characters",
        ),
        (b"reference,status,amount,currency\nR1,paid,1,XYZ\n", "report.csv line 2:"),
    ],
)
def test_malformed_reports_name_the_line(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(MalformedFile, match=re.escape(message)):
        read_provider_report(write(tmp_path, content))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MalformedFile, match=r"cannot read the report .*No such file"):
        read_provider_report(tmp_path / "nope.csv")
    with pytest.raises(MalformedFile, match="a report is a file path or an open file, got 42"):
        read_provider_report(42)  # type: ignore[arg-type]
