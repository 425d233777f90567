"""Fuzzing the importers: whatever the bytes, only a typed error may escape, and good rows are never lost.

``read_provider_report`` and ``read_statement`` get arbitrary bytes, arbitrary
text, and near-valid CSV built from hostile cells (formulas, NaN, exponents,
foreign digits, surrogates, quotes, odd line endings, byte-order marks, other
encodings); valid CSV written with Python's csv module must read back exactly.
The ``aidledger import`` command gets near-valid files too, matching and
settling against a small ledger: it exits 0, 1 or 2, never with an unexpected
error or a traceback, and the ledger still verifies and reconciles.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import (
    AidLedgerError,
    BankLine,
    Ledger,
    MalformedFile,
    Money,
    PaymentStatus,
    ProviderLine,
    read_provider_report,
    read_statement,
    reconcile,
    verify,
)
from aidledger.cli import main
from aidledger.io.csvfile import MAX_LINE
from tests.books import build_books
from tests.conftest import new_url
from tests.operations.conftest import APRIL, kzt

Reader = Callable[..., list[Any]]
READERS: dict[str, Reader] = {"provider report": read_provider_report, "statement": read_statement}
HEADERS = {
    "provider report": (["reference", "status", "amount"], ["currency"]),
    "statement": (["date", "amount"], ["reference", "description", "currency"]),
}

# -- hostile cells -------------------------------------------------------------------------

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=x", '=HYPERLINK("http://x.example")']
ODD_NUMBERS = [
    "NaN", "-nan", "sNaN", "Infinity", "-inf", "1e30", "1E-30", "5e4", "1_000", "", " ", "-0", "+0.00", "0",
    "٥٠٠", "１２", "1,5", "1.5.5", "0x10", ".5", "5.", "--5", "1e999999999", "9" * 40, "0.001", "12.345",
]  # fmt: skip
STATUSES = ["paid", "failed", "returned", "PAID", " Failed ", "sent", "", "pаid"]  # the last one has a Cyrillic а
CODES = ["", "KZT", "kzt", "USD", "JPY", "KWD", "XYZ", "KZ", "XXX", "xts", "ÀÀÀ"]
DATES = ["2020-04-01", "2020-04-01T09:00:00+06:00", "2020-02-30", "01/04/2020", "2020-4-1", "", "२०२०-०४-०१"]

texts = st.text(max_size=20)


def mostly(valid: st.SearchStrategy[str], hostile: list[str]) -> st.SearchStrategy[str]:
    """A valid cell three times in four; else a hostile one: from ``hostile``, any text, or a formula."""
    bad = st.one_of(st.sampled_from(hostile), texts, st.sampled_from(FORMULAS))
    return st.integers(0, 3).flatmap(lambda pick: bad if pick == 0 else valid)


money_text = st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False).map(lambda d: f"{d:f}")
CELLS: dict[str, st.SearchStrategy[str]] = {
    "reference": mostly(st.from_regex(r"R-[0-9]{1,3}b?", fullmatch=True), ["", "R-1", "R-2b", " R-3 "]),
    "status": mostly(st.sampled_from(["paid", "failed", "returned", "PAID", " Failed "]), STATUSES),
    "amount": mostly(st.one_of(money_text, st.integers(-(10**6), 10**6).map(str)), ODD_NUMBERS),
    "currency": mostly(st.sampled_from(["", "KZT", "kzt", "USD"]), CODES),
    "date": mostly(st.dates().map(dt.date.isoformat), DATES),
    "description": mostly(texts.filter(lambda text: "\x00" not in text), ["\x00", "a\nb", '"', "=cmd"]),
}


@st.composite
def near_valid(draw: st.DrawFn, kind: str) -> bytes:
    """A CSV file of ``kind`` with a header (columns shuffled, maybe one missing or extra) and hostile cells."""
    required, optional = HEADERS[kind]
    columns = draw(st.permutations([*required, *draw(st.lists(st.sampled_from(optional), unique=True))]))
    if draw(st.integers(0, 9)) == 0:
        columns = columns[:-1]  # a column missing
    if draw(st.integers(0, 9)) == 0:
        columns = [*columns, draw(texts)]  # an unknown column
    header = [draw(st.sampled_from([name, name.upper(), f" {name} ", name.title()])) for name in columns]
    rows = draw(st.lists(st.tuples(*(CELLS.get(name, texts) for name in columns)).map(list), min_size=1, max_size=8))
    for row in rows:
        if draw(st.integers(0, 39)) == 0:
            row.append(draw(texts))  # a field too many
    return render(draw, [header, *rows])


ENCODINGS = ("utf-8",) * 6 + ("utf-16", "latin-1", "cp1251")
ENDINGS = ("\n",) * 4 + ("\r\n",) * 3 + ("\r",)


def render(
    draw: st.DrawFn, rows: list[list[str]], *, endings: tuple[str, ...] = ENDINGS, strict: bool = False
) -> bytes:
    """``rows`` as CSV bytes: any quoting, line ending, byte-order mark and blank lines; unless ``strict``,
    any encoding (UTF-8 most often)."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
        lineterminator=draw(st.sampled_from(endings)),
    )
    for row in rows:
        writer.writerow(row)
        if draw(st.integers(0, 9)) == 0:
            out.write("\n")
    text = ("\ufeff" if draw(st.booleans()) else "") + out.getvalue()
    encoding = "utf-8" if strict else draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


def only_typed_errors(read: Reader, source: Any) -> list[Any] | None:
    """The lines read, or None after a typed error naming its line; anything else fails the test."""
    refused: AidLedgerError | None = None
    try:
        return read(source)
    except AidLedgerError as error:
        refused = error
    message = str(refused)
    assert message, "an error without a message"
    if isinstance(refused, MalformedFile) and "line" in refused.details:
        assert f"line {refused.details['line']}" in message or " is empty: expected a header with " in message
    return None


def check_lines(kind: str, lines: list[Any]) -> None:
    """Lines that were read are well-formed: exact money, known status, increasing line numbers."""
    numbers = [line.line for line in lines]
    assert numbers == sorted(set(numbers)) and all(n >= 2 for n in numbers)
    for line in lines:
        assert isinstance(line.amount, Money) and line.amount.unit.exponent <= 3
        if kind == "provider report":
            assert isinstance(line, ProviderLine) and isinstance(line.status, PaymentStatus) and line.reference
        else:
            assert isinstance(line, BankLine) and isinstance(line.date, dt.date) and not line.amount.is_zero()


# -- the readers -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(READERS))
@given(content=st.binary(max_size=3000))
def test_arbitrary_bytes_raise_only_typed_errors(kind: str, content: bytes) -> None:
    """Any bytes, after a valid header or alone, are read or refused with a typed error."""
    required, _ = HEADERS[kind]
    for data in (content, (",".join(required) + "\n").encode() + content):
        lines = only_typed_errors(READERS[kind], io.BytesIO(data))
        if lines is not None:
            check_lines(kind, lines)


@pytest.mark.parametrize("kind", list(READERS))
@given(content=st.text(max_size=2000))
def test_arbitrary_text_raises_only_typed_errors(kind: str, content: str) -> None:
    """Any text (surrogates and NULs included) from an open text file is read or refused with a typed error."""
    required, _ = HEADERS[kind]
    for data in (content, ",".join(required) + "\n" + content):
        lines = only_typed_errors(READERS[kind], io.StringIO(data))
        if lines is not None:
            check_lines(kind, lines)


@pytest.mark.parametrize("kind", list(READERS))
@given(data=st.data())
def test_near_valid_csv_raises_only_typed_errors(kind: str, data: st.DataObject, tmp_path: Path) -> None:
    """Near-valid files with hostile cells, from a path or an open binary file, raise only typed errors."""
    content = data.draw(near_valid(kind), label="file")
    source: Any = io.BytesIO(content)
    if data.draw(st.booleans(), label="from a path"):
        source = tmp_path / "import.csv"
        source.write_bytes(content)
    lines = only_typed_errors(READERS[kind], source)
    if lines is not None:
        check_lines(kind, lines)


@pytest.mark.parametrize("kind", list(READERS))
@given(data=st.data())
def test_an_over_long_line_anywhere_names_its_line(kind: str, data: st.DataObject) -> None:
    """A line longer than MAX_LINE at any place is refused naming that line, whatever comes after it."""
    required, _ = HEADERS[kind]
    good = "R-1,paid,5" if kind == "provider report" else "2020-04-01,5"
    before = data.draw(st.integers(0, 5), label="good lines before")
    length = data.draw(st.integers(MAX_LINE + 1, 3 * MAX_LINE), label="length")
    after = data.draw(st.sampled_from(["", "\n", "\n" + good + "\n"]), label="after")
    content = "\n".join([",".join(required), *[good] * before, "x" * length]) + after
    with pytest.raises(MalformedFile, match=f"line {before + 2}: longer than {MAX_LINE} characters"):
        READERS[kind](io.BytesIO(content.encode()))


#: Line endings a valid file may have (a file ending its lines in CR alone is refused as a whole; see the report).
NEWLINES = ("\n", "\r\n")
valid_references = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 _./-]{0,15}", fullmatch=True).map(str.strip)
valid_codes = st.sampled_from(["KZT", "USD", "JPY", "KWD"])


@st.composite
def valid_report(draw: st.DrawFn) -> tuple[list[list[str]], list[ProviderLine]]:
    """Rows of a valid provider report (with a currency column) and the lines they must read into."""
    rows, expected = [], []
    for number in range(2, 2 + draw(st.integers(0, 10))):
        code = draw(valid_codes)
        money = Money.from_minor(
            draw(st.integers(1, 10**15)), Money("0", code).unit
        )  # a provider reports positive amounts
        reference = draw(valid_references.filter(bool))
        status = draw(st.sampled_from(PaymentStatus))
        rows.append([reference, draw(st.sampled_from([status.value, status.value.upper()])), f"{money.value:f}", code])
        expected.append(ProviderLine(reference, status, money, line=number))
    return rows, expected


@st.composite
def valid_statement(draw: st.DrawFn) -> tuple[list[list[str]], list[BankLine]]:
    """Rows of a valid bank statement and the lines they must read into."""
    rows, expected = [], []
    for number in range(2, 2 + draw(st.integers(0, 10))):
        code = draw(valid_codes)
        minor = draw(st.integers(1, 10**15)) * draw(st.sampled_from([-1, 1]))
        money = Money.from_minor(minor, Money("0", code).unit)
        date = draw(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)))
        reference = draw(valid_references)
        # No NUL (refused by design) and no lone CR: Python's csv writer leaves a CR unquoted when lines end in LF.
        description = draw(
            st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), max_size=30).map(str.strip)
        )
        rows.append([date.isoformat(), f"{money.value:f}", reference, description, code.lower()])
        expected.append(BankLine(date=date, amount=money, reference=reference, description=description, line=number))
    return rows, expected


@given(data=st.data(), report=valid_report())
def test_a_valid_report_reads_back_exactly(data: st.DataObject, report: tuple[list[list[str]], list[Any]]) -> None:
    """A valid report written by Python's csv module, in any quoting and line ending, reads back line for line."""
    rows, expected = report
    content = render(data.draw, [["Reference", "Status", "Amount", "Currency"], *rows], endings=NEWLINES, strict=True)
    lines = read_provider_report(io.BytesIO(content))
    assert [(x.reference, x.status, x.amount) for x in lines] == [(x.reference, x.status, x.amount) for x in expected]
    assert [x.line for x in lines] == sorted(x.line for x in lines)


@given(data=st.data(), statement=valid_statement())
def test_a_valid_statement_reads_back_exactly(
    data: st.DataObject, statement: tuple[list[list[str]], list[Any]]
) -> None:
    """A valid statement (any text in its description) reads back line for line, amounts exact."""
    rows, expected = statement
    header = ["date", "amount", "reference", "description", "currency"]
    lines = read_statement(io.BytesIO(render(data.draw, [header, *rows], endings=NEWLINES, strict=True)))
    assert [(x.date, x.amount, x.reference, x.description) for x in lines] == [
        (x.date, x.amount, x.reference, x.description) for x in expected
    ]
    assert sum((x.amount.value for x in lines), Decimal(0)) == sum((x.amount.value for x in expected), Decimal(0))


# -- the command ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def books_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite ledger holding tests/books.py (lists L1 and L2 sent and settled), for the command to import into."""
    from aidledger import Aid

    where = tmp_path_factory.mktemp("fuzz-command")
    url = new_url("sqlite", where, None)
    with Ledger.open(url) as ledger:
        aid = Aid(ledger, approval_threshold=kzt("10000000"))
        for code, purpose in (("GENERAL", None), ("CASH-AID", "cash-aid"), ("FOOD", "food"), ("HOUSING", "housing")):
            aid.create_fund(code, name=code, purpose=purpose)
        build_books(aid)
        aid.close_period(APRIL.add(hours=1), actor="closer")
    return url


@pytest.mark.parametrize(
    "options",
    [
        ["--kind", "statement"],
        ["--kind", "provider-report", "--list", "L1"],
        ["--kind", "provider-report", "--list", "L2", "--settle", "--actor", "treasurer"],
    ],
    ids=["statement", "report matched", "report settled"],
)
@given(data=st.data())
def test_the_import_command_exits_cleanly(
    books_url: str, options: list[str], data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aidledger import` on near-valid files exits 0, 1 or 2 with no traceback; the ledger still verifies."""
    kind = "statement" if options[1] == "statement" else "provider report"
    path = tmp_path / "import.csv"
    path.write_bytes(data.draw(near_valid(kind), label="file"))
    with pytest.raises(SystemExit) as done:
        main(["import", books_url, str(path), *options, "--json"])
    out, err = capsys.readouterr()
    assert done.value.code in (0, 1, 2), out + err
    assert "Traceback" not in out + err and "unexpected" not in err
    if done.value.code == 2:
        assert err.startswith("aidledger: ") and err.count("\n") == 1
    with Ledger.open(books_url) as ledger:
        assert verify(ledger).ok and reconcile(ledger).ok
