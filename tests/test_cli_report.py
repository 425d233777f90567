"""``aidledger report`` as an auditor reads it: vouchable samples, filters that match nothing, tables worth printing,
help that does not mislead, and the width of piped output."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pendulum
import pytest

from aidledger import Aid, JournalTestOptions, Ledger, Money, audit_report
from aidledger.cli.printed import report_dict
from tests.test_cli import run

COMMANDS = ("demo", "verify", "prove", "check-proof", "reconcile", "report", "export", "import", "migrate", "roles")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo ledger the tests only read."""
    where = tmp_path_factory.mktemp("demo")
    assert run("demo", "--scale", "0.001", cwd=where).returncode == 0
    return where / "aidledger-demo.db"


@pytest.fixture(scope="module")
def donations_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger with donations only: no programme, stock, grant or pledge."""
    path = tmp_path_factory.mktemp("donations") / "donations.db"
    with Ledger.open(str(path)) as ledger:
        aid = Aid(ledger)
        aid.create_fund("GENERAL", name="Unrestricted")
        when = pendulum.datetime(2020, 4, 1, 10, tz="Asia/Almaty")
        aid.donate("GENERAL", Money("1000000", "KZT"), donor="Kaspi", actor="cashier", on=when)
    return path


class TestJournalTestSample:
    """The sample names what it takes to pull each voucher: amounts, date, actor, memo, source."""

    def test_json_holds_amount_date_actor_and_memo(self, demo_db: Path) -> None:
        args = ["report", str(demo_db), "--journal-tests", "--seed", "7", "--json"]
        entries = json.loads(run(*args, cwd=demo_db.parent).stdout)["journal_tests"]["sample"]["entries"]
        assert len(entries) == 25
        for entry in entries:
            assert entry["amounts"], entry
            assert all(re.fullmatch(r"-?\d+(\.\d+)? [A-Z][A-Z0-9.\-_]+", a) for a in entry["amounts"])
            assert entry["effective_at"].startswith("2020-") and entry["actor"]
            assert {"memo", "source", "recorded_at", "id", "seq", "kind"} <= set(entry)
        paid = [e for e in entries if e["kind"] == "payment-paid"]
        assert paid and all(e["amounts"] == ["50000.00 KZT"] and e["memo"].startswith("provider report") for e in paid)
        deliveries = [e for e in entries if e["kind"] == "goods-delivery"]
        assert deliveries and deliveries[0]["amounts"] == ["15000.00 KZT", "1 FOOD-PACKAGE"]

    def test_table_shows_the_same_columns(self, demo_db: Path) -> None:
        shown = run("report", str(demo_db), "--journal-tests", "--seed", "7", cwd=demo_db.parent)
        assert shown.returncode == 0, shown.stderr
        header = next(line for line in shown.stdout.splitlines() if "┃ seq" in line)
        assert [c.strip() for c in header.strip("┃").split("┃")] == [
            "seq", "date", "kind", "actor", "amount", "memo", "source"
        ]  # fmt: skip
        assert re.search(
            r"│ +\d+ │ 2020-\d\d-\d\d │ payment-paid +│ cashier +│ 50,000.00 KZT +│ provider report", shown.stdout
        )


class TestFiltersThatMatchNothing:
    def test_a_value_no_entry_has_is_refused_with_the_close_matches(self, demo_db: Path) -> None:
        """A mistyped code (wrong case) is named with what it should be; nothing is printed; exit 2."""
        result = run("report", str(demo_db), "--where", "programme=families-50k", cwd=demo_db.parent)
        assert result.returncode == 2 and result.stdout == ""
        assert "filter programme='families-50k' matches nothing" in result.stderr
        assert "did you mean 'FAMILIES-50K'?" in result.stderr and "Traceback" not in result.stderr

    def test_without_a_close_match_the_known_values_are_listed(self, demo_db: Path) -> None:
        result = run("report", str(demo_db), "--where", "fund=ZZZ", cwd=demo_db.parent)
        assert result.returncode == 2
        assert "the ledger has CASH-AID, FLOOD, FOOD, GENERAL, HOUSING, MEDICS" in result.stderr

    def test_a_known_value_with_nothing_in_the_window_is_warned_about(self, demo_db: Path) -> None:
        """The filter is right and the answer is zero: the report is printed, the warning is on stderr, exit 0."""
        args = ["report", str(demo_db), "--where", "programme=FAMILIES-50K", "--from", "2021-01-01"]
        shown = run(*args, cwd=demo_db.parent)
        assert shown.returncode == 0, shown.stderr
        assert shown.stderr.startswith("aidledger: warning: no spent entries match programme=FAMILIES-50K")
        assert "Spent, by fund, purpose: no entries" in shown.stdout
        data = run(*args, "--json", cwd=demo_db.parent)
        assert data.returncode == 0 and "warning" in data.stderr
        assert json.loads(data.stdout)["warnings"] == [shown.stderr.removeprefix("aidledger: warning: ").strip()]

    def test_the_python_call_refuses_the_same_way(self, demo_db: Path) -> None:
        from aidledger import InvalidArgument

        with Ledger.open(str(demo_db), read_only=True) as ledger, pytest.raises(InvalidArgument, match="FAMILIES-50K"):
            audit_report(ledger, where={"programme": "Families-50K"})


class TestTablesWorthPrinting:
    def test_empty_summaries_are_not_printed_and_json_keeps_its_keys(self, donations_db: Path) -> None:
        shown = run("report", str(donations_db), cwd=donations_db.parent)
        assert shown.returncode == 0, shown.stderr
        for title in ("One-off programmes", "Stock", "Grants", "Pledges"):
            assert title not in shown.stdout
        assert "Spent, by fund, purpose: no entries" in shown.stdout
        data = json.loads(run("report", str(donations_db), "--json", cwd=donations_db.parent).stdout)
        assert (data["programmes"], data["stock"], data["grants"], data["pledges"]) == ([], [], [], [])

    def test_received_has_no_beneficiaries_column(self, donations_db: Path) -> None:
        shown = run("report", str(donations_db), "--flow", "received", "--by", "fund,donor", cwd=donations_db.parent)
        assert "┃ fund    ┃ donor ┃ unit ┃       amount ┃ entries ┃" in shown.stdout
        assert "beneficiaries" not in shown.stdout
        assert "Totals: 1,000,000.00 KZT; 1 entries" in shown.stdout

    def test_losses_say_what_they_are(self, demo_db: Path) -> None:
        shown = run("report", str(demo_db), cwd=demo_db.parent)
        assert "(none)" not in shown.stdout
        assert "│ FOOD     │ goods-loss (no purpose) │ KZT          │      15,000.00 │       1 │" in shown.stdout


def test_the_command_prints_what_audit_report_returns(demo_db: Path) -> None:
    """One typed function is the report: the command's JSON is its value, figure for figure."""
    args = ["--by", "fund,month", "--tz", "Asia/Almaty", "--fund", "CASH-AID", "--journal-tests", "--seed", "3"]
    shown = json.loads(run("report", str(demo_db), *args, "--json", cwd=demo_db.parent).stdout)
    with Ledger.open(str(demo_db), read_only=True) as ledger:
        value = audit_report(
            ledger, by=["fund", "month"], tz="Asia/Almaty", fund="CASH-AID", journal=JournalTestOptions(seed=3)
        )
    assert shown == json.loads(json.dumps(report_dict(value), default=lambda d: f"{Decimal(d):f}"))


class TestHelpAndWidth:
    @pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=lambda c: c[0] if c else "aidledger")
    def test_flags_are_shown_without_a_value(self, command: list[str], tmp_path: Path) -> None:
        shown = run(*command, "--help", cwd=tmp_path, columns=120)
        assert shown.returncode == 0, shown.stderr
        assert "<bool>" not in shown.stdout
        assert re.search(r"│ +--help +-h +Show this message and exit", shown.stdout)

    def test_options_that_take_a_value_keep_their_type(self, tmp_path: Path) -> None:
        shown = run("report", "--help", cwd=tmp_path, columns=120).stdout
        assert re.search(r"│ --seed +<int> ", shown) and re.search(r"│ --json +Print JSON", shown)

    def test_piped_output_follows_columns(self, demo_db: Path) -> None:
        def widest(columns: int | None) -> int:
            shown = run("report", str(demo_db), cwd=demo_db.parent, columns=columns).stdout
            return max(len(line) for line in shown.splitlines() if line.startswith(("┃", "│")))

        assert widest(60) <= 60
        assert widest(100) <= 100 < widest(None) <= 160
