"""The aidledger command with the banks' own files: export -f pain001, import --kind camt053|camt054|mt940."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from aidledger import Aid, Ledger, PaymentLine
from aidledger.vocabulary import RecordKind
from tests.io.bank_messages import ACCOUNT, entry, message
from tests.io.bankfile_schemas import pain001_schema
from tests.io.test_banking import DAY, NOTIFICATION, PAYEES, STATEMENT
from tests.operations.conftest import APRIL, KEYS, kzt
from tests.test_cli import run


@pytest.fixture
def db(url: str) -> str:
    """A ledger with list L1 of five households approved, on either database."""
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        aid.create_fund("CASH-AID", purpose="cash-aid")
        aid.donate("CASH-AID", kzt("9000000"), donor="D-1", on=APRIL, actor="cashier")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
        lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"R-{n}") for n in range(1, 6)]
        aid.pay("ONE-OFF", lines, actor="maker", on=APRIL, list_code="L1")
    return url


def test_pay_a_list_through_the_bank(db: str, tmp_path: Path) -> None:
    """pain.001 out (hash recorded), camt.054 settles, camt.053 posts the donation and then matches: exit 0."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("reference,iban\n" + "".join(f"{k},{v}\n" for k, v in PAYEES.items()), encoding="utf-8")
    out = tmp_path / "L1.xml"
    result = run("export", db, "-f", "pain001", "--list", "L1", "--accounts", str(accounts), "--debtor",
                 f"{ACCOUNT}=Kazakhstan Fund", "--execution-date", "2020-04-03", "--actor", "treasurer", "-o",
                 str(out), "--json", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (written,) = json.loads(result.stdout)["files"]
    assert pain001_schema("001.001.09").validate(etree.parse(str(out)))
    with Ledger.open(db) as ledger:
        record = ledger.record(RecordKind.PAYMENT_FILE, "L1")
        assert record is not None and record.body["sha256"] == written["sha256"]
        Aid(ledger).send("L1", provider="Halyk Bank", actor="treasurer", on=DAY)
    (tmp_path / "n.xml").write_bytes(NOTIFICATION)
    (tmp_path / "s.xml").write_bytes(STATEMENT)
    settled = run("import", db, "n.xml", "--kind", "camt054", "--settle", "--list", "L1", "--actor", "t",
                  "--tz", "Asia/Almaty", "--json", cwd=tmp_path)  # fmt: skip
    assert settled.returncode == 0, settled.stderr
    data = json.loads(settled.stdout)
    assert (data["paid"], data["failed"], data["posted"]) == (4, 1, 5)
    for args in (["--settle", "--list", "L1"], ["--donations", "CASH-AID"]):
        posted = run("import", db, "s.xml", "--kind", "camt053", *args, "--actor", "t", "--tz", "Asia/Almaty",
                     cwd=tmp_path)  # fmt: skip
        assert posted.returncode == 0, posted.stderr
    matched = run("import", db, "s.xml", "--kind", "camt053", "--tz", "Asia/Almaty", "--json", cwd=tmp_path)
    assert matched.returncode == 0, matched.stdout
    assert json.loads(matched.stdout)["matched"] == 4
    assert run("reconcile", db, cwd=tmp_path).returncode == 0


def test_a_list_split_at_the_banks_limits(db: str, tmp_path: Path) -> None:
    """--max-amount and --max-lines cut the file; -o pay.xml becomes pay-1.xml, pay-2.xml, ...; each validates."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("reference,iban\n" + "".join(f"{k},{v}\n" for k, v in PAYEES.items()), encoding="utf-8")
    result = run(*[a.replace("{db}", db).replace("a.csv", str(accounts)) for a in PAIN[:-1]], "pay.xml", "--debtor",
                 f"{ACCOUNT}=Fund", "--max-amount", "100000 KZT", "--version", "03", "--json", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert [(f["file"], f["message_id"], f["transactions"]) for f in files] == [
        ("pay-1.xml", "L1-1", 2), ("pay-2.xml", "L1-2", 2), ("pay-3.xml", "L1-3", 1)
    ]  # fmt: skip
    assert all(pain001_schema("001.001.03").validate(etree.parse(str(tmp_path / f["file"]))) for f in files)


PAIN = ["export", "{db}", "-f", "pain001", "--list", "L1", "--accounts", "a.csv", "--execution-date", "2020-04-03",
        "--actor", "t", "-o", "x.xml"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["export", "{db}", "-f", "pain001", "--list", "L1", "-o", "x.xml"], "-f pain001 needs --accounts, --debtor"),
        (["import", "{db}", "bad.xml", "--kind", "camt053"], "bad.xml line 4: not well-formed XML"),
        (["import", "{db}", "n.xml", "--kind", "camt053"], "is a camt.054.001.08 message, not camt.053.*"),
        (["import", "{db}", "n.xml", "--kind", "camt054", "--settle", "--list", "L1"], "need --actor"),
        (["import", "{db}", "n.xml", "--kind", "camt054", "--settle", "--actor", "t"], "--settle needs --list"),
        ([*PAIN, "--debtor", "KZ86125KZT5004100100"], "--debtor takes IBAN=NAME"),
        ([*PAIN, "--debtor", "KZ86125KZT5004100100=F", "--version", "05"], "--version must be 09"),
        ([*PAIN, "--debtor", "KZ86125KZT5004100100=F"], "a.csv line 3: reference 'R-1' is given twice"),
        ([*PAIN, "--debtor", "KZ86125KZT5004100100=F", "--max-amount", "lots"], "--max-amount 'lots'"),
    ],
)
def test_bad_bank_input_exits_2_and_writes_nothing(db: str, tmp_path: Path, args: list[str], error: str) -> None:
    (tmp_path / "bad.xml").write_bytes(message("053", [entry("D-1", "10.00", "CRDT")])[:-40])  # truncated
    (tmp_path / "n.xml").write_bytes(NOTIFICATION)
    (tmp_path / "a.csv").write_text("reference,iban\nR-1,KZ11125KZT5004100101\nR-1,KZ11125KZT5004100102\n")
    with Ledger.open(db) as ledger:
        before = ledger.head()
    result = run(*(a.replace("{db}", db) for a in args), cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert error in result.stderr and "Traceback" not in result.stderr
    with Ledger.open(db) as ledger:
        assert ledger.head() == before


def test_an_unmatched_statement_exits_1(db: str, tmp_path: Path) -> None:
    (tmp_path / "s.xml").write_bytes(message("053", [entry("D-9", "10.00", "CRDT", day="2020-04-01")]))
    result = run("import", db, "s.xml", "--kind", "camt053", "--json", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["missing_in_ledger"][0]["reference"] == "D-9"


def test_a_tolerance_is_asked_for(db: str, tmp_path: Path) -> None:
    """The opening donation of 9,000,000 on a statement a tiyn short: exit 1 unless --tolerance allows it."""
    (tmp_path / "s.xml").write_bytes(message("053", [entry("D-1", "8999999.99", "CRDT", day="2020-04-01")]))
    args = ["import", db, "s.xml", "--kind", "camt053", "--tz", "Asia/Almaty", "--json"]
    assert run(*args, cwd=tmp_path).returncode == 1
    loose = run(*args, "--tolerance", "0.01 KZT", cwd=tmp_path)
    assert loose.returncode == 0, loose.stdout
    assert json.loads(loose.stdout)["tolerance"] == "0.01"
    bad = run(*args, "--tolerance", "a tiyn", cwd=tmp_path)
    assert bad.returncode == 2 and "--tolerance 'a tiyn'" in bad.stderr


def test_a_kazakh_bank_csv_export(tmp_path: Path) -> None:
    """--dialect kazakh-bank reads ';', day-first dates and '765 900,00'; an ambiguous amount exits 2 with its line."""
    db = str(tmp_path / "l.db")
    with Ledger.open(db) as ledger:
        aid = Aid(ledger)
        aid.create_fund("CASH-AID", purpose="cash-aid")
        aid.donate("CASH-AID", kzt("765900"), donor="D-1", on=APRIL, actor="cashier")
    csv = tmp_path / "vypiska.csv"
    csv.write_text("date;amount;reference\n01.04.2020;765\u00a0900,00;\n", encoding="utf-8")
    result = run("import", db, str(csv), "--kind", "statement", "--dialect", "kazakh-bank", "--tz", "Asia/Almaty",
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    csv.write_text("date;amount\n01.04.2020;765.900,00\n", encoding="utf-8")
    bad = run("import", db, str(csv), "--kind", "statement", "--dialect", "kazakh-bank", cwd=tmp_path)
    assert bad.returncode == 2 and "vypiska.csv line 2: amount '765.900,00'" in bad.stderr


def test_a_re_export_under_a_message_id_gives_the_same_bytes(db: str, tmp_path: Path) -> None:
    """--message-id names the file; exported again it is byte for byte the same (its creation time is recorded)."""
    (tmp_path / "a.csv").write_text("reference,iban\n" + "".join(f"{k},{v}\n" for k, v in PAYEES.items()))
    args = [*(a.replace("{db}", db) for a in PAIN[:-2]), "--debtor", f"{ACCOUNT}=Fund", "--message-id", "BANK-0042"]
    first = run(*args, "-o", "first.xml", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no progress with --json
    second = run(*args, "-o", "second.xml", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    content = (tmp_path / "first.xml").read_bytes()
    assert content == (tmp_path / "second.xml").read_bytes()
    assert b"<MsgId>BANK-0042</MsgId>" in content and b"<PmtInfId>BANK-0042</PmtInfId>" in content
    with Ledger.open(db) as ledger:
        records = ledger.records(RecordKind.PAYMENT_FILE, subject="L1")
    assert [(r.code, r.body["sha256"]) for r in records] == [
        ("BANK-0042", json.loads(first.stdout)["files"][0]["sha256"])
    ]


def test_the_export_shows_progress_on_a_terminal_only(db: str, tmp_path: Path) -> None:
    """On a terminal the export draws its progress on stderr; piped, stderr holds nothing of it."""
    (tmp_path / "a.csv").write_text("reference,iban\n" + "".join(f"{k},{v}\n" for k, v in PAYEES.items()))
    args = [*(a.replace("{db}", db) for a in PAIN), "--debtor", f"{ACCOUNT}=Fund"]
    piped = run(*args, cwd=tmp_path)
    assert piped.returncode == 0 and "transfers" not in piped.stderr
    main, terminal = pty.openpty()
    with os.fdopen(main, "rb", buffering=0) as screen:
        done = subprocess.run(
            [sys.executable, "-c", "from aidledger.cli import main; main()", *args, "-o", "y.xml"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=terminal, env=os.environ | {"TERM": "xterm", "COLUMNS": "100"},
            check=False, timeout=120,
        )  # fmt: skip
        os.close(terminal)
        drawn = b""
        with contextlib.suppress(OSError):  # the terminal is closed once everything is read
            while chunk := screen.read(4096):
                drawn += chunk
    assert done.returncode == 0, drawn
    assert b"transfers" in drawn and b"files" in drawn
