"""The aidledger command: tables for people, JSON for scripts, no tracebacks."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from aidledger import Aid, Ledger
from tests.ledger.test_tamper import behind_the_library


def run(*args: str, cwd: Path, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """The command, its output piped; ``COLUMNS`` unset (tables at their piped width) unless ``columns`` is given."""
    environment = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    return subprocess.run(
        [sys.executable, "-c", "from aidledger.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
        env=environment if columns is None else environment | {"COLUMNS": str(columns)},
    )


def test_demo_is_safe_to_run_twice(tmp_path: Path) -> None:
    """The demo builds its campaign once; a second run posts nothing new and prints the same report."""
    first = run("demo", "--scale", "0.001", cwd=tmp_path)
    second = run("demo", "--scale", "0.001", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "OK: everything reconciles" in first.stdout and "intact" in first.stdout
    assert "FAMILIES-50K │           360 │ 18,000,000.00" in first.stdout
    assert (
        "CASH-AID │ cash-aid                │ KZT          │  18,000,000.00 │     366 │           360" in first.stdout
    )
    data = json.loads(run("demo", "--scale", "0.001", "--json", cwd=tmp_path).stdout)
    assert data["entries"] == 1022
    assert data["verified"] and data["reconciliation"]["ok"]
    assert {c["name"] for c in data["reconciliation"]["checks"]} >= {"hash chain", "trial balance", "stock"}
    assert data["spent"]["rows"][0] == {
        "fund": "CASH-AID",
        "purpose": "cash-aid",
        "unit": "KZT",
        "amount": "18000000.00",
        "entries": 366,
        "beneficiaries": 360,
        "kinds": ["payment", "payment-failed", "payment-returned"],
    }
    assert {f["fund"]: f["net_assets_kzt"] for f in data["funds"]}["HOUSING"] == "60400000.00"
    assert all(row["reconciles"] for row in data["stock"])


def test_demo_prints_the_euro_gift_and_the_housing_budget(tmp_path: Path) -> None:
    """The terminal shows the 50,000 EUR the general fund keeps in euros, and the seed's housing project: 340,000,000
    KZT for the residents of Dostyk village, Maktaaral district, as a budget line that reconciles."""
    shown = run("demo", "--scale", "0.001", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    held = shown.stdout.split("Held in other currencies")[1].split("One-off programmes")[0]
    assert "GENERAL" in held and "EUR" in held and "50,000.00" in held
    assert "the residents of Dostyk village, Maktaaral district" in shown.stdout
    lines = shown.stdout.split("Budget lines")[1]
    assert "DOSTYK-HOUSING" in lines and "340,000,000.00" in lines
    assert "Kokterek" not in shown.stdout and "OK: everything reconciles" in shown.stdout


def test_demo_writes_its_tables_and_totals_in_the_locale_given(tmp_path: Path) -> None:
    """--locale as report takes it: the demo's tables and Totals lines read 1 234 567,50 ₸ for kk_KZ; an unknown
    locale is refused (exit 2) before the campaign is built."""
    shown = run("demo", "--scale", "0.001", "--locale", "kk_KZ", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    held = shown.stdout.split("Held in other currencies")[1].split("One-off programmes")[0]
    space = "\u00a0"  # Babel groups kk_KZ digits with a no-break space
    assert f"50{space}000,00" in held and "50,000.00" not in held
    assert f"14{space}750{space}000,00" in shown.stdout.split("Funds (net assets, KZT)")[1].split("Held in")[0]
    totals = [line for line in shown.stdout.splitlines() if line.startswith("Totals:")]
    assert len(totals) == 2 and all(re.search(rf"\d{{3}}{space}\d{{3}},00{space}₸", line) for line in totals), totals
    refused = run("demo", "other.db", "--scale", "0.001", "--locale", "xx_YY", cwd=tmp_path)
    assert refused.returncode == 2 and "unknown locale 'xx_YY'" in refused.stderr
    assert not (tmp_path / "other.db").exists()


def test_demo_refuses_another_plan_on_the_same_ledger(tmp_path: Path) -> None:
    """Finishing a campaign with a different size is refused before anything is posted."""
    assert run("demo", "--scale", "0.001", cwd=tmp_path).returncode == 0
    other = run("demo", "--scale", "0.002", cwd=tmp_path)
    assert other.returncode == 2
    assert "DuplicateDefinition: campaign '2020' already exists with different content" in other.stderr
    assert "Traceback" not in other.stderr


def test_demo_runs_on_postgresql(tmp_path: Path, url: str) -> None:
    """The same command builds the demo on any database URL."""
    result = run("demo", url, "--scale", "0.001", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reconciliation"]["ok"]


def test_verify_exits_non_zero_on_tampering(tmp_path: Path) -> None:
    """verify prints OK on an intact ledger, and names the broken entry after tampering."""
    assert run("demo", "--scale", "0.001", cwd=tmp_path).returncode == 0
    database = str(tmp_path / "aidledger-demo.db")
    ok = run("verify", database, "--json", cwd=tmp_path)
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["ok"] is True
    digest = json.loads(ok.stdout)["digest"]
    assert run("verify", database, "--digest", digest, cwd=tmp_path).returncode == 0
    with Ledger.open(database) as ledger:
        behind_the_library(
            ledger, lambda c: c.exec_driver_sql("UPDATE postings SET amount = amount + 1 WHERE entry_seq = 7")
        )
    broken = run("verify", database, cwd=tmp_path)
    assert broken.returncode == 1
    assert "BROKEN at entry 7" in broken.stdout
    assert json.loads(run("verify", database, "--json", cwd=tmp_path).stdout)["first_break"]["seq"] == 7
    bad = run("verify", database, "--digest", "7:nothex", cwd=tmp_path)
    assert bad.returncode == 2 and "a digest is" in bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "/no/such/dir/l.db"], "no directory '/no/such/dir'"),
        (["verify", "mysql://auditor:hunter2@db/x"], "mysql"),
        (["verify", "postgresql://auditor:hunter2@127.0.0.1:1/x"], "***"),
        (["verify"], "Missing argument"),
        (["nonsense"], "No such command"),
    ],
)
def test_errors_are_one_clear_line_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    """Bad URLs and usage errors print a message (never the password) and exit non-zero."""
    result = run(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "hunter2" not in result.stderr + result.stdout


def test_reconcile_reports_each_check_and_fails_on_tampering(tmp_path: Path) -> None:
    """reconcile exits 0 on the demo, and 1 naming the maintained balance that was changed."""
    assert run("demo", "--scale", "0.001", cwd=tmp_path).returncode == 0
    database = str(tmp_path / "aidledger-demo.db")
    ok = run("reconcile", database, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: everything reconciles" in ok.stdout
    with Ledger.open(database) as ledger:
        behind_the_library(ledger, lambda c: c.exec_driver_sql("UPDATE balances SET total = total + 7"))
    broken = run("reconcile", database, "--json", cwd=tmp_path)
    assert broken.returncode == 1
    data = json.loads(broken.stdout)
    assert not data["ok"]
    failing = [c["name"] for c in data["checks"] if not c["ok"]]
    # The aid equations read the maintained balances too, so they fail with them; the postings are intact.
    assert failing[0] == "maintained balances"
    assert "hash chain" not in failing and "trial balance" not in failing
    table = run("reconcile", database, cwd=tmp_path)
    assert table.returncode == 1 and f"NOT OK: {len(failing)} check(s) fail" in table.stdout


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small demo ledger shared by the auditor's command tests (they only read it)."""
    where = tmp_path_factory.mktemp("demo")
    assert run("demo", "--scale", "0.001", cwd=where).returncode == 0
    return where / "aidledger-demo.db"


def test_report_tables_and_json(demo_db: Path) -> None:
    """report prints audit totals and summaries; --json gives the same figures as exact strings."""
    shown = run("report", str(demo_db), "--by", "fund", cwd=demo_db.parent)
    assert shown.returncode == 0, shown.stderr
    assert "Spent, by fund" in shown.stdout and "FAMILIES-50K" in shown.stdout
    data = json.loads(run("report", str(demo_db), "--by", "fund", "--json", cwd=demo_db.parent).stdout)
    rows = {(r["fund"], r["unit"]): r for r in data["totals"]["rows"]}
    assert rows[("CASH-AID", "KZT")]["amount"] == "18000000.00"
    assert rows[("CASH-AID", "KZT")]["beneficiaries"] == 360
    (families,) = [p for p in data["programmes"] if p["programme"]["code"] == "FAMILIES-50K"]
    assert (families["net_paid"], families["beneficiaries_paid"]) == ("18000000.00 KZT", 360)


def test_report_fund_statement_and_filters(demo_db: Path) -> None:
    result = run(
        "report", str(demo_db), "--fund", "CASH-AID", "--from", "2020-01-01", "--to", "2021-01-01",
        "--where", "programme=FAMILIES-50K", "--by", "month", "--tz", "Asia/Almaty", "--json", cwd=demo_db.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (statement,) = data["fund_statements"]
    assert statement["reconciles"] and statement["fund"] == "CASH-AID"
    assert sum(Decimal(r["amount"]) for r in data["totals"]["rows"]) == Decimal("18000000.00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "{db}", "--by", "colour"], "unknown dimension 'colour'"),
        (["report", "{db}", "--from", "soon"], "--from 'soon' is not an ISO date"),
        (["report", "{db}", "--where", "programme"], "--where takes DIMENSION=VALUE"),
        (["report", "{db}", "--fund", "NOPE"], "unknown fund 'NOPE'"),
        (["export", "{db}", "-f", "pdf"], "unknown format 'pdf'"),
        (["export", "{db}", "-f", "html", "-o", "/nonexistent/r.html"], "cannot write '/nonexistent/r.html'"),
        (["import", "{db}", "/nonexistent.csv", "--kind", "statement"], "cannot read the statement"),
        (["import", "{db}", "x.csv", "--kind", "cheque"], "unknown kind 'cheque'"),
        (["report", "{db}", "--locale", "xx_YY"], "unknown locale 'xx_YY'"),
        (["export", "{db}", "-f", "csv", "--locale", "kk_KZ"], "--locale is an option of --format html, not csv"),
        (["report", "postgresql://u:secret@127.0.0.1:1/x"], "cannot open ledger at postgresql+psycopg://u:***@"),
    ],
)
def test_auditor_commands_refuse_bad_input(demo_db: Path, args: list[str], message: str) -> None:
    """A clear one-line message naming the value, exit status 2, no traceback, no password."""
    result = run(*(a.replace("{db}", str(demo_db)) for a in args), cwd=demo_db.parent)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_export_html(demo_db: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = run("export", str(demo_db), "--format", "html", "--output", str(page), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "verifies and reconciles" in page.read_text(encoding="utf-8")


def test_money_reads_one_way_and_in_the_locale_asked_for(demo_db: Path, tmp_path: Path) -> None:
    """Tables and Totals lines group thousands the same way; --locale writes them as kk_KZ does (HTML too)."""
    plain = run("report", str(demo_db), "--by", "fund", cwd=demo_db.parent)
    assert plain.returncode == 0, plain.stderr
    assert "18,000,000.00" in plain.stdout and "Totals: " in plain.stdout
    totals = next(line for line in plain.stdout.splitlines() if line.startswith("Totals: "))
    assert re.search(r"[ ,]342,685,000\.00 KZT", totals), totals
    local = run("report", str(demo_db), "--by", "fund", "--locale", "kk_KZ", cwd=demo_db.parent)
    assert local.returncode == 0, local.stderr
    nb = "\N{NO-BREAK SPACE}"
    assert f"18{nb}000{nb}000,00" in local.stdout and f",00{nb}₸" in local.stdout
    page = tmp_path / "report.html"
    result = run("export", str(demo_db), "-f", "html", "--locale", "ru_KZ", "--tz", "Asia/Almaty", "-o", str(page),
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert f"18{nb}000{nb}000,00{nb}₸" in html and "(Asia/Almaty)" in html


def test_import_a_statement(demo_db: Path, tmp_path: Path) -> None:
    """A bank statement with one wrong amount and one unknown line: exit 1, both named; a malformed line: exit 2."""
    statement = tmp_path / "statement.csv"
    statement.write_text("date,amount,reference\n2020-04-01,1.00,X\n", encoding="utf-8")
    result = run("import", str(demo_db), str(statement), "--kind", "statement", "--json", cwd=tmp_path)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert [x["line"] for x in data["missing_in_ledger"]] == [2]
    assert data["missing_in_statement"]  # the day's real donations are not on this statement
    statement.write_text("date,amount\n2020-04-01,1.00\n2020-04-02,lots\n", encoding="utf-8")
    bad = run("import", str(demo_db), str(statement), "--kind", "statement", cwd=tmp_path)
    assert (bad.returncode, "statement.csv line 3: amount 'lots' is not a number" in bad.stderr) == (2, True)


def test_import_a_provider_report(tmp_path: Path) -> None:
    """Matching a provider's report writes nothing; --settle posts it once, and again changes nothing."""
    assert run("demo", "--scale", "0.001", cwd=tmp_path).returncode == 0
    db = str(tmp_path / "aidledger-demo.db")
    with Ledger.open(db) as ledger:
        (first,) = [r.code for r in ledger.records("payment-list")][:1]
        before = ledger.head()
    report = tmp_path / "report.csv"
    report.write_text("reference,status,amount\nNOPE,paid,50000.00\n", encoding="utf-8")
    matched = run("import", db, str(report), "--kind", "provider-report", "--list", first, "--json", cwd=tmp_path)
    assert matched.returncode == 1
    assert json.loads(matched.stdout)["missing_in_ledger"][0]["reference"] == "NOPE"
    settled = run("import", db, str(report), "--kind", "provider-report", "--list", first, "--settle", cwd=tmp_path)
    assert settled.returncode == 2 and "--settle needs --actor" in settled.stderr
    with Ledger.open(db) as ledger:
        assert ledger.head() == before


def test_export_iati_validates(demo_db: Path, tmp_path: Path) -> None:
    """The command's IATI file validates against the 2.03 schema; without a reporting org it is refused."""
    from lxml import etree

    from tests.exports.test_iati import IATI_DIR

    xml = tmp_path / "activities.xml"
    result = run(
        "export", str(demo_db), "-f", "iati", "--reporting-org", "KZ-BIN-123456789012=Fund", "--country", "KZ",
        "-o", str(xml), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    validator = etree.XMLSchema(etree.parse(str(IATI_DIR / "iati-activities-schema.xsd")))
    assert validator.validate(etree.parse(str(xml))), validator.error_log
    refused = run("export", str(demo_db), "-f", "iati", cwd=tmp_path)
    assert refused.returncode == 2 and "IATI needs --reporting-org REF=NAME" in refused.stderr


@pytest.mark.parametrize("format_", ["beancount", "hledger", "csv"])
def test_export_journal_formats_pass_their_tools(demo_db: Path, tmp_path: Path, format_: str) -> None:
    """Each journal export from the command is accepted by its own tool (bean-check, hledger check --strict)."""
    target = tmp_path / f"ledger.{format_}"
    result = run("export", str(demo_db), "-f", format_, "-o", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    if format_ == "beancount":
        check = subprocess.run([str(Path(sys.executable).parent / "bean-check"), str(target)], capture_output=True)
    elif format_ == "hledger":
        check = subprocess.run(["hledger", "-f", str(target), "check", "--strict"], capture_output=True)
    else:
        check = subprocess.run(["true"], capture_output=True)
        assert target.read_text(encoding="utf-8").startswith("entry_seq,entry_id,line,")
    assert check.returncode == 0, check.stderr


def test_report_journal_tests(demo_db: Path) -> None:
    """--journal-tests adds the findings and a reproducible sample: the same seed gives the same sample."""
    args = ["report", str(demo_db), "--journal-tests", "--threshold", "100000000 KZT", "--seed", "7", "--json"]
    first = json.loads(run(*args, cwd=demo_db.parent).stdout)["journal_tests"]
    again = json.loads(run(*args, cwd=demo_db.parent).stdout)["journal_tests"]
    assert first["sample"]["entries"] == again["sample"]["entries"] and len(first["sample"]["entries"]) == 25
    assert set(first["findings"]) >= {"entries after close", "round amounts", "splits under threshold"}
    bad = run("report", str(demo_db), "--journal-tests", "--threshold", "lots KZT", cwd=demo_db.parent)
    assert bad.returncode == 2 and "--threshold 'lots KZT'" in bad.stderr


class TestNoFalseAllClear:
    """The auditor's commands never write, and never say OK about something that is not a ledger."""

    READERS = (
        ["verify"],
        ["reconcile"],
        ["report"],
        ["export", "-f", "csv"],
        ["import", "statement.csv", "--kind", "statement"],
        ["prove", "--item", "log:1"],
        ["verify", "--since", "tree:1:" + "a" * 64],
        ["migrate"],
    )

    @pytest.mark.parametrize("command", READERS, ids=lambda c: "-".join(c[:2]))
    def test_a_path_that_does_not_exist_is_named_and_not_created(self, tmp_path: Path, command: list[str]) -> None:
        """A typo'd path exits 2 naming it, creates no file, and prints no OK."""
        (tmp_path / "statement.csv").write_text("date,amount\n2020-04-01,5\n")
        result = run(command[0], "typo.db", *command[1:], cwd=tmp_path)
        assert (result.returncode, "typo.db" in result.stderr, "OK" in result.stdout) == (2, True, False)
        assert not (tmp_path / "typo.db").exists()

    @pytest.mark.parametrize("tables", [[], ["CREATE TABLE people (name TEXT)"]], ids=["empty", "foreign"])
    @pytest.mark.parametrize("command", READERS[:4], ids=lambda c: c[0])
    def test_a_database_that_is_not_a_ledger_is_refused(
        self, tmp_path: Path, command: list[str], tables: list[str]
    ) -> None:
        """An empty file or another application's database exits 2 as 'not an aidledger ledger', unchanged."""
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as connection:
            for statement in tables:
                connection.execute(statement)
        before = path.read_bytes()
        result = run(command[0], str(path), *command[1:], cwd=tmp_path)
        assert (result.returncode, "not an aidledger ledger" in result.stderr) == (2, True), result.stderr
        assert path.read_bytes() == before

    def test_the_readers_write_nothing(self, demo_db: Path, tmp_path: Path) -> None:
        """verify, reconcile, report and export leave the ledger file byte for byte as it was."""
        copy = tmp_path / "ledger.db"
        shutil.copy(demo_db, copy)
        before = copy.read_bytes()
        for command in (["verify"], ["reconcile"], ["report", "--journal-tests"], ["export", "-f", "beancount"]):
            assert run(command[0], str(copy), *command[1:], cwd=tmp_path).returncode == 0, command
        assert copy.read_bytes() == before

    def test_a_newer_schema_is_named(self, demo_db: Path, tmp_path: Path) -> None:
        """A ledger written by a newer aidledger is refused with its revision, never read half-way."""
        copy = tmp_path / "ledger.db"
        shutil.copy(demo_db, copy)
        with sqlite3.connect(copy) as connection:
            connection.execute("UPDATE alembic_version SET version_num = '0099'")
        result = run("verify", str(copy), cwd=tmp_path)
        assert (result.returncode, "'0099'" in result.stderr, "newer aidledger" in result.stderr) == (2, True, True)


def test_a_self_contradicting_provider_report_exits_1(demo_db: Path, tmp_path: Path) -> None:
    """A provider report naming one payment both paid and failed is NOT OK (exit 1), never 'everything matches'."""
    report = tmp_path / "report.csv"
    reference = "F0000000"
    report.write_text(f"reference,status,amount\n{reference},paid,50000\n{reference},failed,50000\n")
    result = run("import", str(demo_db), str(report), "--kind", "provider-report", "--list", "FAM-00001", cwd=tmp_path)
    assert (result.returncode, "everything matches" in result.stdout) == (1, False), result.stdout + result.stderr
    assert "contradictions" in result.stdout


def test_report_budget_and_exclusion_conflicts(url: str, tmp_path: Path) -> None:
    """``report --budget`` prints budget against actuals and every report lists soft exclusion conflicts."""
    import datetime as dt

    from aidledger import Aid, Money, PaymentLine, Pseudonymizer, Severity
    from tests.operations.conftest import APRIL

    keys = Pseudonymizer({1: bytes(range(32))})
    with Ledger.open(url) as ledger:
        aid = Aid(ledger)
        aid.create_fund("CASH-AID", name="Cash aid", purpose="cash-aid")
        aid.donate("CASH-AID", Money("500000", "KZT"), donor="D", on=APRIL, actor="cashier")
        for code in ("FAMILIES", "MEDICS"):
            aid.create_programme(code, fund="CASH-AID", purpose="cash-aid", amount=Money("50000", "KZT"), actor="a")
        aid.add_budget_line(
            "FAMILIES-Q2", programme="FAMILIES", amount=Money("200000", "KZT"), start=dt.date(2020, 4, 1),
            end=dt.date(2020, 6, 30), on=APRIL, actor="planner",
        )  # fmt: skip
        aid.declare_exclusion("ONE", ["FAMILIES", "MEDICS"], severity=Severity.SOFT, reason="one benefit", actor="b")
        aid.pay("FAMILIES", [PaymentLine(keys.pseudonym("hh-1"), "F-1")], actor="m", on=APRIL, list_code="F")
        aid.pay("MEDICS", [PaymentLine(keys.pseudonym("hh-1"), "M-1")], actor="m", on=APRIL, list_code="M")
    result = run("report", url, "--budget", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["budget"]["lines"] == [
        {
            "line": "FAMILIES-Q2",
            "owner": "FAMILIES",
            "budgeted": "200000.00 KZT",
            "committed": "50000.00 KZT",
            "disbursed": "0.00 KZT",
            "returned": "0.00 KZT",
            "remaining": "150000.00 KZT",
        }
    ]
    assert [(x["group"], x["severity"], x["programmes"]) for x in data["exclusion_conflicts"]] == [
        ("ONE", "soft", ["FAMILIES", "MEDICS"])
    ]
    table = run("report", url, "--budget", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "Budget against actuals" in table.stdout and "Exclusion conflicts" in table.stdout


def test_migrate_brings_an_older_ledger_to_the_log_and_verifies_it(tmp_path: Path, books: Aid, url: str) -> None:
    """The read-only commands refuse an older ledger and name the migrate command; migrate moves it to this
    schema, verifies it and prints the new digest; run again, it migrates nothing; a typo'd path is refused."""
    from tests.store.test_migrations import back_to_0001

    head = books.ledger.head()
    back_to_0001(books.ledger)
    refused = run("verify", url, cwd=tmp_path)
    assert refused.returncode == 2 and "aidledger migrate" in refused.stderr, refused.stderr
    migrated = run("migrate", url, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated from schema revision 0001 to" in migrated.stdout and "items of the log intact" in migrated.stdout
    again = run("migrate", url, cwd=tmp_path)
    assert again.returncode == 0 and "already" in again.stdout
    assert run("verify", url, "--digest", f"{head.seq}:{head.hash}", cwd=tmp_path).returncode == 0
    typo = run("migrate", str(tmp_path / "nosuch.db"), cwd=tmp_path)
    assert typo.returncode == 2 and "does not exist" in typo.stderr and "Traceback" not in typo.stderr


def test_version_short_help_and_python_m(tmp_path: Path) -> None:
    """`--version`, `-h` on the command and its subcommands, and `python -m aidledger` work as a stranger expects."""
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("aidledger ")
    assert "Usage: aidledger verify" in run("verify", "-h", cwd=tmp_path).stdout
    module = subprocess.run(
        [sys.executable, "-m", "aidledger", "-h"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert module.returncode == 0 and "Usage: aidledger" in module.stdout
