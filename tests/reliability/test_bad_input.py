"""A catalogue of bad input: each case is refused with a typed error (or a clear message) and writes nothing.

The cases cover the API (``Money``, entries, ``Ledger``, ``Aid``, the queries),
the importers (``read_provider_report``, ``read_statement``) and the
``aidledger`` command.  Each names the error it expects and a piece of the
message that names the offending value (and, for files, the line); every
table of the ledger is compared before and after, row for row.  The command
runs in-process through its entry point ``main()``: it must exit non-zero and
print no traceback.

A case the library does not answer as it should would be kept apart at the
end, marked ``xfail(strict=True)`` with what goes wrong; there is none today.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import re
import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from aidledger import (
    MAX_MINOR,
    Account,
    AccountType,
    Aid,
    AidLedgerError,
    AlreadyReversed,
    ApprovalRequired,
    Beneficiary,
    DuplicateClaim,
    ExceedsCommitment,
    Fund,
    IdempotencyConflict,
    InsufficientBalance,
    InsufficientStock,
    InvalidAmount,
    InvalidArgument,
    InvalidTime,
    JournalEntry,
    Ledger,
    LedgerUrlError,
    MalformedFile,
    Money,
    PaymentLine,
    PeriodClosed,
    Posting,
    ProviderLine,
    Pseudonymizer,
    PurposeMismatch,
    Quantity,
    UnbalancedEntry,
    UnitMismatch,
    UnknownAccount,
    UnknownEntry,
    UnknownFund,
    UnknownRecord,
    Window,
    audit_totals,
    currency,
    fund_statement,
    read_provider_report,
    read_statement,
    reconcile,
    verify,
)
from aidledger.cli import main
from aidledger.io.csvfile import MAX_LINE
from tests.books import MAY, PACKAGE, build_books, household
from tests.conftest import BACKENDS, new_url
from tests.helpers import transfer
from tests.operations.conftest import APRIL, KEYS, kzt
from tests.reliability.dump import dump

HUGE_LINE = 100 * 1024 * 1024  # bytes in the over-long line of the hostile files
NAIVE = dt.datetime(2020, 5, 1, 9)  # the bad input itself: no time zone


# -- the ledger the cases run against --------------------------------------------------------


@attrs.frozen
class World:
    """A filled ledger (tests/books.py, April closed) and the files the importer cases read."""

    ledger: Ledger
    aid: Aid
    files: dict[str, Path]
    reversed_id: str

    @property
    def url(self) -> str:
        return str(self.ledger.engine.url.render_as_string(hide_password=False))

    def account(self, code: str) -> Account:
        return self.ledger.account(code)

    def fund(self, code: str) -> Fund:
        return self.ledger.fund(code)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.ledger.engine.connect() as connection:
            return dump(connection)


def huge_file(path: Path, header: bytes, prefix: bytes) -> Path:
    """A file whose second line is ``prefix`` and 100 MB of digits, written a megabyte at a time."""
    chunk = b"9" * (1024 * 1024)
    with path.open("wb") as stream:
        stream.write(header + prefix)
        for _ in range(HUGE_LINE // len(chunk)):
            stream.write(chunk)
        stream.write(b"\n")
    return path


FILES: dict[str, bytes] = {
    # provider reports (header: reference,status,amount)
    "p-decimals.csv": b"reference,status,amount\nR-1,paid,50000.001\n",
    "p-nan.csv": b"reference,status,amount\nR-1,paid,NaN\n",
    "p-float-exponent.csv": b"reference,status,amount\nR-1,paid,5e4\nR-3,paid,1e30\n",
    "p-missing.csv": b"reference,amount\nR-1,50000\n",
    "p-latin1.csv": b"reference,status,amount\nR-1,paid,50000\nR-\xe9,paid,50000\n",
    "p-utf16.csv": "reference,status,amount\nR-1,paid,50000\n".encode("utf-16"),
    "p-formula-amount.csv": b"reference,status,amount\nR-1,paid,=SUM(A1:A9)\n",
    "p-status.csv": b"reference,status,amount\nR-1,sent,50000\n",
    "p-currency.csv": b"reference,status,amount,currency\nR-1,paid,50000,XYZ\n",
    "p-formula-reference.csv": b'reference,status,amount\n"=HYPERLINK(""http://x.example/"",""pay"")",paid,50000\n',
    "p-negative.csv": b"reference,status,amount\nR-1,paid,-50000\n",
    "p-zero.csv": b"reference,status,amount\nR-1,failed,0\n",
    "p-ok.csv": b"reference,status,amount\nR-1,paid,50000\n",
    # bank statements (header: date,amount)
    "s-zero.csv": b"date,amount,reference\n2020-04-01,9000000,D-1\n2020-04-01,0.00,D-2\n",
    "s-date.csv": b"date,amount\n01/04/2020,9000000\n",
    "s-currency.csv": b"date,amount,currency\n2020-04-01,5,KZ\n",
    "s-nul.csv": b"date,amount,description\n2020-04-01,5,a\x00b\n",
    "s-fields.csv": b"date,amount\n2020-04-01,5\n2020-04-02,5,6\n",
    "s-empty.csv": b"",
    "s-decimals.csv": b"date,amount\n2020-04-01,1.005\n",
    "s-infinity.csv": b"date,amount\n2020-04-01,-Infinity\n",
    "s-words.csv": b"date,amount\n2020-04-01,1.00\n2020-04-02,lots\n",
    "s-latin1.csv": b"date,amount,description\n2020-04-01,5,ok\n2020-04-02,5,caf\xe9\n",
    "s-missing.csv": b"date,sum\n2020-04-01,5\n",
    "s-good.csv": b"date,amount\n2020-04-01,9000000\n",
}


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The files of FILES, the two 100 MB lines and a quoted field over 100,000 lines; the big ones removed after."""
    where = tmp_path_factory.mktemp("hostile")
    files = {}
    for name, content in FILES.items():
        (where / name).write_bytes(content)
        files[name] = where / name
    files["p-huge.csv"] = huge_file(where / "p-huge.csv", b"reference,status,amount\n", b"R-1,paid,")
    files["s-huge.csv"] = huge_file(where / "s-huge.csv", b"date,amount\n", b"2020-04-01,")
    quoted = where / "s-quoted.csv"
    with quoted.open("wb") as stream:
        stream.write(b'date,amount,description\n2020-04-01,5,"')
        stream.writelines(b"a short line\n" for _ in range(100_000))
        stream.write(b'"\n')
    files["s-quoted.csv"] = quoted
    yield files
    for name in ("p-huge.csv", "s-huge.csv", "s-quoted.csv"):
        files[name].unlink()


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_database: str | None,
    hostile: dict[str, Path],
) -> Iterator[World]:
    where = tmp_path_factory.mktemp("bad-input")
    with Ledger.open(new_url(str(request.param), where, pg_database)) as ledger:
        aid = Aid(ledger, approval_threshold=kzt("10000000"))
        aid.create_fund("GENERAL", name="Unrestricted")
        aid.create_fund("CASH-AID", name="One-off cash aid", purpose="cash-aid")
        aid.create_fund("FOOD", name="Food packages", purpose="food")
        aid.create_fund("HOUSING", name="Housing for flooded villages", purpose="housing")
        build_books(aid)
        wrong = aid.donate("GENERAL", kzt("700.50"), donor="D-3", on=MAY.add(days=3), actor="cashier")
        ledger.reverse(wrong.id, actor="controller", memo="posted to the wrong fund")
        aid.close_period(APRIL.add(hours=1), actor="closer")
        yield World(ledger, aid, files=hostile, reversed_id=wrong.id)


# -- the catalogue -------------------------------------------------------------------------


@attrs.frozen
class Case:
    """A call that must raise ``error`` with ``shows`` in its message (the offending value)."""

    id: str
    call: Callable[[World], object]
    error: type[AidLedgerError]
    shows: str


@attrs.frozen
class Command:
    """An ``aidledger`` command line that must exit with ``status`` and print ``shows`` (stderr, or stdout)."""

    id: str
    args: Callable[[World], list[str]]
    shows: str
    status: int = 2


def entry(w: World, *postings: Posting, **fields: Any) -> JournalEntry:
    values: dict[str, Any] = {"kind": "general", "effective_at": MAY, "actor": "tester", "postings": postings}
    values.update(fields)
    return JournalEntry(**values)


def pair(w: World, amount: str = "10", *, fund: str = "GENERAL", debit: str = "Expenses:CASH-AID:KZT") -> list[Posting]:
    money = Money(amount, "KZT")
    return [
        Posting.debit(w.account(debit), w.fund(fund), money),
        Posting.credit(w.account("Assets:Bank:KZT"), w.fund(fund), money),
    ]


def kzt_unit() -> Any:
    return currency("KZT")


CASES: list[Case] = [
    # Money and amounts
    Case("money float", lambda w: Money(0.1, "KZT"), InvalidAmount, "floats are never money: 0.1"),  # type: ignore[arg-type]
    Case("money float that looks whole", lambda w: Money(50000.0, "KZT"), InvalidAmount, "50000.0"),  # type: ignore[arg-type]
    Case("money NaN text", lambda w: Money("NaN", "KZT"), InvalidAmount, "not a decimal number: 'NaN'"),
    Case("money NaN decimal", lambda w: Money(Decimal("NaN"), "KZT"), InvalidAmount, "finite, got Decimal('NaN')"),
    Case("money signalling NaN", lambda w: Money(Decimal("sNaN"), "KZT"), InvalidAmount, "sNaN"),
    Case("money infinity", lambda w: Money("-Infinity", "KZT"), InvalidAmount, "'-Infinity'"),
    Case("money three decimals in KZT", lambda w: Money("0.001", "KZT"), InvalidAmount, "0.001 has more decimals"),
    Case("money decimals in JPY", lambda w: Money("1.5", "JPY"), InvalidAmount, "than JPY allows (0)"),
    Case("money four decimals in KWD", lambda w: Money("0.0001", "KWD"), InvalidAmount, "than KWD allows (3)"),
    Case(
        "money beyond the largest amount",
        lambda w: Money("10000000000000000.00", "KZT"),
        InvalidAmount,
        f"beyond the largest amount the ledger holds ({MAX_MINOR} minor units)",
    ),
    Case("money huge exponent", lambda w: Money(Decimal("1e999999999"), "KZT"), InvalidAmount, "1E+999999999"),
    Case("money tiny exponent", lambda w: Money(Decimal("1e-999999999"), "KZT"), InvalidAmount, "1E-999999999"),
    Case("money exponent text", lambda w: Money("5e4", "KZT"), InvalidAmount, "not a decimal number: '5e4'"),
    Case("money underscores", lambda w: Money("1_000", "KZT"), InvalidAmount, "not a decimal number: '1_000'"),
    Case("money plus sign", lambda w: Money("+50000", "KZT"), InvalidAmount, "not a decimal number: '+50000'"),
    Case("money bare point", lambda w: Money(".5", "KZT"), InvalidAmount, "not a decimal number: '.5'"),
    Case("money Arabic-Indic digits", lambda w: Money("٥٠٠٠٠", "KZT"), InvalidAmount, "not a decimal number: '٥٠٠٠٠'"),
    Case("money five thousand digits", lambda w: Money("9" * 5000, "KZT"), InvalidAmount, "9" * 60),
    Case("money boolean", lambda w: Money(True, "KZT"), InvalidAmount, "a boolean is not an amount: True"),
    Case("money comma decimal", lambda w: Money("12,50", "KZT"), InvalidAmount, "not a decimal number: '12,50'"),
    Case("money bytes", lambda w: Money(b"100", "KZT"), InvalidAmount, "got bytes: b'100'"),  # type: ignore[arg-type]
    Case("money unknown currency", lambda w: Money("1", "XYZ"), InvalidArgument, "unknown currency code 'XYZ'"),
    Case("money in a commodity", lambda w: Money("1", PACKAGE), UnitMismatch, "money needs a currency"),
    Case(
        "money from float minor units",
        lambda w: Money.from_minor(100.0, kzt_unit()),  # type: ignore[arg-type]
        InvalidAmount,
        "minor units must be an int, got 100.0",
    ),
    Case(
        "money of two currencies added",
        lambda w: Money("1", "KZT") + Money("1", "USD"),
        UnitMismatch,
        "cannot add 1.00 KZT and 1.00 USD",
    ),
    Case("quantity of money", lambda w: Quantity("1", kzt_unit()), UnitMismatch, "a quantity needs a commodity"),
    # Postings and entries
    Case(
        "posting of zero",
        lambda w: Posting(w.account("Assets:Bank:KZT"), w.fund("GENERAL"), Money("0", "KZT")),
        InvalidAmount,
        "a posting to Assets:Bank:KZT must not be zero",
    ),
    Case(
        "negative debit",
        lambda w: Posting.debit(w.account("Assets:Bank:KZT"), w.fund("GENERAL"), Money("-5", "KZT")),
        InvalidAmount,
        "must be positive, got -5.00 KZT",
    ),
    Case(
        "unbalanced entry",
        lambda w: w.ledger.post(entry(w, pair(w, "10")[0], pair(w, "9.99")[1])),
        UnbalancedEntry,
        "debits exceed credits by 0.01 KZT",
    ),
    Case("one posting", lambda w: w.ledger.post(entry(w, pair(w)[0])), UnbalancedEntry, "got 1"),
    Case("naive time", lambda w: w.ledger.post(entry(w, *pair(w), effective_at=NAIVE)), InvalidTime, "no time zone"),
    Case(
        "date instead of time",
        lambda w: w.ledger.post(entry(w, *pair(w), effective_at=dt.date(2020, 5, 1))),
        InvalidTime,
        "datetime.date(2020, 5, 1)",
    ),
    Case(
        "posting in the wrong currency",
        lambda w: Posting.debit(w.account("Assets:Bank:KZT"), w.fund("GENERAL"), Money("5", "USD")),
        UnitMismatch,
        "5.00 USD to Assets:Bank:KZT, which is held in KZT",
    ),
    Case(
        "unknown account",
        lambda w: w.ledger.post(
            entry(
                w,
                Posting.debit(Account("Assets:Nowhere", AccountType.ASSET, kzt_unit()), w.fund("GENERAL"), kzt("5")),
                pair(w, "5")[1],
            )
        ),
        UnknownAccount,
        "unknown account 'Assets:Nowhere'",
    ),
    Case(
        "unknown fund",
        lambda w: w.ledger.post(
            transfer(w.account("Assets:Bank:KZT"), w.account("Revenue:Donations:KZT"), Fund("NOPE"), "5", MAY)
        ),
        UnknownFund,
        "unknown fund 'NOPE'",
    ),
    Case(
        "account redefined in an entry",
        lambda w: w.ledger.post(
            transfer(
                Account("Assets:Bank:KZT", AccountType.LIABILITY, kzt_unit()),
                w.account("Revenue:Donations:KZT"),
                w.fund("GENERAL"),
                "5",
                MAY,
            )
        ),
        UnknownAccount,
        "account Assets:Bank:KZT is defined as",
    ),
    Case(
        "posting into a closed period",
        lambda w: w.ledger.post(
            transfer(w.account("Assets:Bank:KZT"), w.account("Revenue:Donations:KZT"), w.fund("GENERAL"), "5", APRIL)
        ),
        PeriodClosed,
        "2020-04-01",
    ),
    Case(
        "more than the fund holds",
        lambda w: w.ledger.post(entry(w, *pair(w, "1000000000"))),
        InsufficientBalance,
        "GENERAL",
    ),
    Case(
        "an idempotency key reused for another entry",
        lambda w: w.ledger.post(entry(w, *pair(w, "5", fund="CASH-AID"), idempotency_key="payment:ONE-OFF:R-1")),
        IdempotencyConflict,
        "payment:ONE-OFF:R-1",
    ),
    Case("NUL in a memo", lambda w: entry(w, *pair(w), memo="a\x00b"), InvalidArgument, "memo must not contain NUL"),
    Case("blank actor", lambda w: entry(w, *pair(w), actor="   "), InvalidArgument, "actor must not be empty"),
    Case("posting a string", lambda w: w.ledger.post("an entry"), InvalidArgument, "got 'an entry'"),  # type: ignore[arg-type]
    Case("unknown entry id", lambda w: w.ledger.entry("no-such-id"), UnknownEntry, "no-such-id"),
    Case(
        "reversing an unknown entry",
        lambda w: w.ledger.reverse("no-such-id", actor="controller"),
        UnknownEntry,
        "no-such-id",
    ),
    Case(
        "reversing a reversed entry twice",
        lambda w: w.ledger.reverse(w.reversed_id, actor="controller"),
        AlreadyReversed,
        "already",
    ),
    Case(
        "balance of an unknown account",
        lambda w: w.ledger.balance("Assets:Nowhere"),
        UnknownAccount,
        "'Assets:Nowhere'",
    ),
    Case(
        "balance as of a naive time",
        lambda w: w.ledger.balance("Assets:Bank:KZT", as_of=NAIVE),
        InvalidTime,
        "2020-05-01T09:00:00 has no time zone",
    ),
    Case("malformed digest", lambda w: verify(w.ledger, "6:xyz"), InvalidArgument, "got '6:xyz'"),
    Case(
        "a database aidledger does not run on",
        lambda w: Ledger.open("mysql://auditor:hunter2@db.example/ledger"),
        LedgerUrlError,
        "not 'mysql'",
    ),
    # Aid operations
    Case(
        "donation as a float",
        lambda w: w.aid.donate("CASH-AID", 100.0, donor="D", on=MAY, actor="cashier"),  # type: ignore[arg-type]
        InvalidAmount,
        "donation must be Money, got 100.0",
    ),
    Case(
        "donation of zero",
        lambda w: w.aid.donate("CASH-AID", kzt("0"), donor="D", on=MAY, actor="cashier"),
        InvalidAmount,
        "must be positive, got 0.00 KZT",
    ),
    Case(
        "negative donation",
        lambda w: w.aid.donate("CASH-AID", kzt("-100"), donor="D", on=MAY, actor="cashier"),
        InvalidAmount,
        "-100.00 KZT",
    ),
    Case(
        "donation to an unknown fund",
        lambda w: w.aid.donate("NOPE", kzt("100"), donor="D", on=MAY, actor="cashier"),
        UnknownFund,
        "'NOPE'",
    ),
    Case(
        "donation at a naive time",
        lambda w: w.aid.donate("CASH-AID", kzt("100"), donor="D", on=NAIVE, actor="cashier"),
        InvalidTime,
        "no time zone",
    ),
    Case(
        "payment from an unknown programme",
        lambda w: w.aid.pay("NOPE", [household(9, "Abai")], actor="maker", on=MAY),
        UnknownRecord,
        "'NOPE'",
    ),
    Case(
        "a registry id instead of a pseudonym",
        lambda w: PaymentLine(Beneficiary("IIN 850101300123"), "R-9"),
        InvalidArgument,
        "not a beneficiary pseudonym",
    ),
    Case(
        "a household paid twice by a one-off programme",
        lambda w: w.aid.pay(
            "ONE-OFF", [PaymentLine(KEYS.pseudonym("hh-1"), "R-1-again")], actor="maker", on=MAY, list_code="L-AGAIN"
        ),
        DuplicateClaim,
        KEYS.pseudonym("hh-1").pseudonym,
    ),
    Case(
        "a payment of another amount than the programme's",
        lambda w: w.aid.pay("ONE-OFF", [attrs.evolve(household(9, "Abai"), amount=kzt("60000"))], actor="m", on=MAY),
        InvalidAmount,
        "pays exactly 50,000.00 KZT, not 60,000.00 KZT",
    ),
    Case(
        "a payment in the wrong currency",
        lambda w: w.aid.pay(
            "ONE-OFF", [attrs.evolve(household(9, "Abai"), amount=Money("50000", "USD"))], actor="m", on=MAY
        ),
        InvalidAmount,
        "not 50,000.00 USD",
    ),
    Case(
        "settling an unknown list",
        lambda w: w.aid.settle("NOPE", [ProviderLine("R-1", "paid", kzt("1"))], actor="t", on=MAY),  # type: ignore[arg-type]
        UnknownRecord,
        "'NOPE'",
    ),
    Case(
        "delivering more than the stock",
        lambda w: w.aid.deliver(
            "FOOD", Quantity("1000", PACKAGE), purpose="food", to=KEYS.pseudonym("hh-5"), on=MAY.add(days=2), actor="v"
        ),
        InsufficientStock,
        "1,000 FOOD-PACKAGE",
    ),
    Case(
        "delivering food for housing",
        lambda w: w.aid.deliver(
            "FOOD", Quantity("1", PACKAGE), purpose="housing", to=KEYS.pseudonym("hh-5"), on=MAY.add(days=2), actor="v"
        ),
        PurposeMismatch,
        "'housing'",
    ),
    Case(
        "a tranche beyond the commitment",
        lambda w: w.aid.disburse("DOSTYK", kzt("9000000.01"), milestone="roof", on=MAY.add(days=2), actor="t"),
        ExceedsCommitment,
        "9,000,000.01 KZT",
    ),
    Case(
        "a tranche above the approval threshold",
        lambda w: w.aid.disburse("DOSTYK", kzt("10000000.01"), milestone="roof", on=MAY.add(days=2), actor="t"),
        ApprovalRequired,
        "10,000,000.01 KZT",
    ),
    Case(
        "a programme against its fund's purpose",
        lambda w: w.aid.create_programme("P-FOOD-CASH", fund="FOOD", purpose="cash-aid", amount=kzt("1"), actor="a"),
        PurposeMismatch,
        "'cash-aid'",
    ),
    Case("an unknown operating currency", lambda w: Aid(w.ledger, currency_code="XYZ"), InvalidArgument, "'XYZ'"),
    Case("a short pseudonym key", lambda w: Pseudonymizer({1: b"short"}), InvalidArgument, "at least 32 random bytes"),
    # Queries
    Case("an unknown dimension", lambda w: audit_totals(w.ledger, by="colour"), InvalidArgument, "'colour'"),
    Case(
        "totals from a naive time",
        lambda w: audit_totals(w.ledger, window=Window(start=NAIVE)),
        InvalidTime,
        "no time zone",
    ),
    Case(
        "a period that ends before it starts",
        lambda w: audit_totals(w.ledger, window=Window(start=MAY, end=APRIL)),
        InvalidArgument,
        "is not after start",
    ),
    Case("statement of an unknown fund", lambda w: fund_statement(w.ledger, "NOPE"), UnknownFund, "'NOPE'"),
    Case("reconcile something else", lambda w: reconcile("ledger.db"), InvalidArgument, "got 'ledger.db'"),  # type: ignore[arg-type]
    # Importers
    Case(
        "report amount with three decimals",
        lambda w: read_provider_report(w.files["p-decimals.csv"]),
        MalformedFile,
        "p-decimals.csv line 2: 50000.001 has more decimals than KZT allows (2)",
    ),
    Case("report NaN", lambda w: read_provider_report(w.files["p-nan.csv"]), MalformedFile, "p-nan.csv line 2:"),
    Case(
        "report huge exponent",
        lambda w: read_provider_report(w.files["p-float-exponent.csv"]),
        MalformedFile,
        "p-float-exponent.csv line 2: amount '5e4' is not a number",
    ),
    Case(
        "report without a status column",
        lambda w: read_provider_report(w.files["p-missing.csv"]),
        MalformedFile,
        "p-missing.csv line 1: missing column(s) status",
    ),
    Case(
        "report in Latin-1",
        lambda w: read_provider_report(w.files["p-latin1.csv"]),
        MalformedFile,
        "p-latin1.csv line 3: not UTF-8 text",
    ),
    Case(
        "report in UTF-16",
        lambda w: read_provider_report(w.files["p-utf16.csv"]),
        MalformedFile,
        "p-utf16.csv line 1: not UTF-8 text",
    ),
    Case(
        "report amount as a spreadsheet formula",
        lambda w: read_provider_report(w.files["p-formula-amount.csv"]),
        MalformedFile,
        "line 2: amount '=SUM(A1:A9)' is not a number",
    ),
    Case(
        "report with an unknown status",
        lambda w: read_provider_report(w.files["p-status.csv"]),
        MalformedFile,
        "line 2: status 'sent' is not one of paid, failed, returned",
    ),
    Case(
        "report with an unknown currency",
        lambda w: read_provider_report(w.files["p-currency.csv"]),
        MalformedFile,
        "p-currency.csv line 2: unknown currency code 'XYZ'",
    ),
    Case(
        "report with a 100 MB line",
        lambda w: read_provider_report(w.files["p-huge.csv"]),
        MalformedFile,
        f"p-huge.csv line 2: longer than {MAX_LINE} characters",
    ),
    Case(
        "report given as bytes",
        lambda w: read_provider_report(b"reference,status,amount\nR-1,paid,5\n"),  # type: ignore[arg-type]
        MalformedFile,
        "a report is a file path or an open file, got b'reference,status,amount",
    ),
    Case(
        "report text given as a path",
        lambda w: read_provider_report("reference,status,amount\nR-1,paid,5\n"),
        MalformedFile,
        "cannot read the report 'reference,status,amount\\nR-1,paid,5\\n'",
    ),
    Case(
        "statement with a zero amount",
        lambda w: read_statement(w.files["s-zero.csv"]),
        MalformedFile,
        "s-zero.csv line 3: the amount is zero",
    ),
    Case(
        "statement with a day-first date",
        lambda w: read_statement(w.files["s-date.csv"]),
        MalformedFile,
        "s-date.csv line 2: date '01/04/2020' is not an ISO date",
    ),
    Case(
        "statement with a two-letter currency",
        lambda w: read_statement(w.files["s-currency.csv"]),
        MalformedFile,
        "s-currency.csv line 2: unknown currency code 'KZ'",
    ),
    Case(
        "statement with a NUL", lambda w: read_statement(w.files["s-nul.csv"]), MalformedFile, "line 2: contains a NUL"
    ),
    Case(
        "statement with an extra field",
        lambda w: read_statement(w.files["s-fields.csv"]),
        MalformedFile,
        "s-fields.csv line 3: expected 2 fields, found 3",
    ),
    Case("an empty statement", lambda w: read_statement(w.files["s-empty.csv"]), MalformedFile, "s-empty.csv is empty"),
    Case(
        "statement amount with three decimals",
        lambda w: read_statement(w.files["s-decimals.csv"]),
        MalformedFile,
        "s-decimals.csv line 2: 1.005 has more decimals",
    ),
    Case(
        "statement amount infinite",
        lambda w: read_statement(w.files["s-infinity.csv"]),
        MalformedFile,
        "s-infinity.csv line 2: amount '-Infinity' is not a number",
    ),
    Case(
        "statement with a 100 MB line",
        lambda w: read_statement(w.files["s-huge.csv"]),
        MalformedFile,
        f"s-huge.csv line 2: longer than {MAX_LINE} characters",
    ),
    Case(
        "statement with a quoted field over 100,000 lines",
        lambda w: read_statement(w.files["s-quoted.csv"]),
        MalformedFile,
        "field larger than field limit",
    ),
    Case(
        "statement in a currency the ledger does not know",
        lambda w: read_statement(w.files["s-words.csv"], currency_code="XYZ"),
        InvalidArgument,
        "unknown currency code 'XYZ'",
    ),
]

SETTLE = ("--settle", "--actor", "treasurer")


def statement_args(w: World, name: str, *extra: str) -> list[str]:
    return ["import", w.url, str(w.files[name]), "--kind", "statement", *extra]


def report_args(w: World, name: str, *extra: str, list_code: str = "L1") -> list[str]:
    return ["import", w.url, str(w.files[name]), "--kind", "provider-report", "--list", list_code, *extra]


COMMANDS: list[Command] = [
    Command(
        "import: an amount in words",
        lambda w: statement_args(w, "s-words.csv"),
        "s-words.csv line 3: amount 'lots' is not a number",
    ),
    Command("import: Latin-1 text", lambda w: statement_args(w, "s-latin1.csv"), "s-latin1.csv line 3: not UTF-8 text"),
    Command(
        "import: a 100 MB line",
        lambda w: statement_args(w, "s-huge.csv"),
        f"s-huge.csv line 2: longer than {MAX_LINE} characters",
    ),
    Command(
        "import: a missing column",
        lambda w: statement_args(w, "s-missing.csv"),
        "s-missing.csv line 1: missing column(s) amount",
    ),
    Command(
        "import: a zero amount", lambda w: statement_args(w, "s-zero.csv"), "s-zero.csv line 3: the amount is zero"
    ),
    Command(
        "import: a report amount with three decimals, settled",
        lambda w: report_args(w, "p-decimals.csv", *SETTLE),
        "p-decimals.csv line 2: 50000.001 has more decimals",
    ),
    Command(
        "import: a formula as a reference, settled",
        lambda w: report_args(w, "p-formula-reference.csv", *SETTLE, "--json"),
        '"unmatched": [\n    2\n  ]',
        status=1,
    ),
    Command(
        "import: a negative paid amount, settled",
        lambda w: report_args(w, "p-negative.csv", *SETTLE, "--json"),
        "p-negative.csv line 2: amount '-50000' is not positive",
    ),
    Command(
        "import: settling without an actor",
        lambda w: report_args(w, "p-ok.csv", "--settle"),
        "--settle needs --actor",
    ),
    Command(
        "import: settling an unknown list",
        lambda w: report_args(w, "p-ok.csv", *SETTLE, list_code="NOPE"),
        "no payment-list 'NOPE'",
    ),
    Command(
        "import: a report without its list",
        lambda w: ["import", w.url, str(w.files["p-ok.csv"]), "--kind", "provider-report"],
        "needs --list",
    ),
    Command(
        "import: an unknown currency",
        lambda w: statement_args(w, "s-words.csv", "--currency", "XYZ"),
        "unknown currency code 'XYZ'",
    ),
    Command(
        "import: an unknown account",
        lambda w: statement_args(w, "s-good.csv", "--account", "Assets:Nope"),
        "unknown account 'Assets:Nope'",
    ),
    Command(
        "import: a file that is not there",
        lambda w: ["import", w.url, str(w.files["s-good.csv"].parent / "none.csv"), "--kind", "statement"],
        "cannot read the statement",
    ),
    Command("import: negative days", lambda w: statement_args(w, "s-good.csv", "--days", "-1"), "got -1"),
    Command(
        "import: an unknown time zone",
        lambda w: statement_args(w, "s-good.csv", "--tz", "Mars/Base"),
        "unknown time zone 'Mars/Base'",
    ),
    Command(
        "report: an amount that is not a number",
        lambda w: ["report", w.url, "--journal-tests", "--threshold", "1.5.5 KZT"],
        "--threshold '1.5.5 KZT'",
    ),
    Command("report: an unknown time zone", lambda w: ["report", w.url, "--tz", "Mars/Base"], "'Mars/Base'"),
    Command("report: an unknown flow", lambda w: ["report", w.url, "--flow", "stolen"], "got 'stolen'"),
    Command("report: February 30th", lambda w: ["report", w.url, "--to", "2020-02-30"], "--to '2020-02-30'"),
    Command("verify: a malformed digest", lambda w: ["verify", w.url, "--digest", "6:xyz"], "got '6:xyz'"),
    Command("export: an unknown format", lambda w: ["export", w.url, "-f", "pdf"], "unknown format 'pdf'"),
    Command("demo: a negative scale", lambda w: ["demo", w.url, "--scale", "-1"], "got '-1'"),
]


def test_the_catalogue_is_large() -> None:
    """The catalogue holds at least 50 cases, each with its own id."""
    ids = [case.id for case in CASES] + [command.id for command in COMMANDS]
    assert len(ids) >= 50
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_and_writes_nothing(world: World, case: Case) -> None:
    """The call raises the typed error, its message names the offending value, and no row changed."""
    before = world.rows()
    with pytest.raises(case.error) as raised:
        case.call(world)
    assert case.shows in str(raised.value)
    assert isinstance(raised.value, AidLedgerError)
    assert world.rows() == before


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``aidledger args`` through the command's entry point: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(args)
    captured = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


@pytest.mark.parametrize("command", COMMANDS, ids=[command.id for command in COMMANDS])
def test_the_command_refuses_bad_input_without_a_traceback(
    world: World, command: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command exits non-zero with a message naming the value (and line), no traceback, and writes nothing."""
    before = world.rows()
    status, out, err = run(command.args(world), capsys)
    assert status == command.status, out + err
    assert command.shows in (err if status == 2 else out), out + err
    assert "Traceback" not in out + err
    assert world.rows() == before


@pytest.mark.parametrize("name", ["p-huge.csv", "s-huge.csv"])
def test_a_100_mb_line_is_refused_without_reading_it(world: World, name: str) -> None:
    """A 100 MB line is refused after reading about MAX_LINE characters: little memory, little time."""
    reader = read_provider_report if name.startswith("p-") else read_statement
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(MalformedFile, match="line 2: longer than"):
            reader(world.files[name])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 1024 * 1024, f"{peak} bytes"
    assert world.files[name].stat().st_size > HUGE_LINE


# -- what the library does not answer as it should (each with what goes wrong) -------------


def test_a_registry_id_as_a_plain_string_is_a_typed_error() -> None:
    """A payment line given a registry id (text) instead of a Beneficiary is refused with InvalidArgument."""
    with pytest.raises(InvalidArgument, match="IIN 850101300123"):
        PaymentLine("IIN 850101300123", "R-9")  # type: ignore[arg-type]


def test_a_posting_to_an_account_code_is_a_typed_error() -> None:
    """A posting given an account code instead of an Account is refused with InvalidArgument."""
    with pytest.raises(InvalidArgument, match="Assets:Bank:KZT"):
        Posting("Assets:Bank:KZT", Fund("GENERAL"), kzt("5"))  # type: ignore[arg-type]


def test_an_account_type_given_as_text_is_a_typed_error() -> None:
    """An account whose type is the text 'asset' instead of AccountType.ASSET is refused with InvalidArgument."""
    with pytest.raises(InvalidArgument, match="asset"):
        Account("Assets:Bank:KZT", "asset", currency("KZT"))  # type: ignore[arg-type]


def big_donations(ledger: Ledger, count: int) -> None:
    """``count`` donations of MAX_MINOR minor units each into one bank account."""
    unit = currency("KZT")
    bank = ledger.add_account(Account("Assets:Bank:KZT", AccountType.ASSET, unit))
    donations = ledger.add_account(Account("Revenue:Donations:KZT", AccountType.REVENUE, unit))
    fund = ledger.add_fund(Fund("GENERAL"))
    largest = f"{Money.from_minor(MAX_MINOR, unit).value:f}"
    for day in range(count):
        ledger.post(transfer(bank, donations, fund, largest, APRIL.add(days=day), kind="donation"))


def test_a_balance_beyond_the_largest_amount_is_refused(ledger: Ledger) -> None:
    """A second donation of MAX_MINOR into one account is refused and writes nothing; the ledger stays readable."""
    big_donations(ledger, 1)
    head = ledger.head()
    with pytest.raises(InvalidAmount):
        big_donations(ledger, 2)
    assert ledger.head() == head
    assert reconcile(ledger).ok


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_overflowing_balance_is_a_typed_error(ledger: Ledger) -> None:
    """Summing beyond 64 bits is refused with an AidLedgerError on every backend, and writes nothing.

    Long before 64 bits: a balance may not pass MAX_MINOR, so the second donation is already refused.
    """
    with pytest.raises(AidLedgerError):
        big_donations(ledger, 10)
    assert ledger.head().seq == 1


def test_the_demo_names_a_scale_that_is_not_a_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scale that is not a number exits 2 naming it, and creates no ledger."""
    status, _, err = run(["demo", str(tmp_path / "demo.db"), "--scale", "abc"], capsys)
    assert (status, "'abc'" in err) == (2, True)
    assert not (tmp_path / "demo.db").exists()


@pytest.mark.parametrize("text", ["9" * 61, Decimal("1e999999999")])
def test_a_huge_whole_number_is_reported_as_too_large(text: str | Decimal) -> None:
    """A whole number far beyond MAX_MINOR is refused as too large, not as too precise."""
    with pytest.raises(InvalidAmount, match="beyond the largest amount"):
        Money(text, "KZT")


def test_what_the_readers_accept_though_a_person_would_not() -> None:
    """Inputs the readers accept though a person would not: recorded here, so that a change is noticed."""
    unterminated = read_provider_report(io.StringIO('reference,status,amount\nR-1,paid,"50000\n'))
    assert unterminated[0].amount == kzt("50000")  # an unterminated quote at the end of the file


@pytest.mark.parametrize("amount", ["1_000", "5e4", "1.23457E+11", "+50000", ".5", "5.", "٥٠٠٠٠", "５００００", "0x10"])
def test_amounts_a_person_would_not_write_are_refused_by_both_readers(amount: str) -> None:
    """Python's Decimal reads these (a spreadsheet's rounded display among them); money takes plain digits only."""
    with pytest.raises(MalformedFile, match=f"line 2: amount {re.escape(repr(amount))} is not a number"):
        read_statement(io.StringIO(f"date,amount\n2020-04-01,{amount}\n"))
    with pytest.raises(MalformedFile, match=f"line 2: amount {re.escape(repr(amount))} is not a number"):
        read_provider_report(io.StringIO(f"reference,status,amount\nR-1,paid,{amount}\n"))


@pytest.mark.parametrize("amount", ["-50000", "0", "0.00"])
def test_a_provider_amount_that_is_not_positive_is_refused(amount: str) -> None:
    """A provider reports what it paid, failed or returned: a zero or negative amount is a malformed line."""
    with pytest.raises(MalformedFile, match=f"line 3: amount '{amount}' is not positive"):
        read_provider_report(io.StringIO(f"reference,status,amount\nR-1,paid,50000\nR-2,failed,{amount}\n"))
