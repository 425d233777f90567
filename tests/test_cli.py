"""The aidledger command: tables for people, JSON for scripts, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aidledger import Ledger
from tests.ledger.test_tamper import behind_the_library


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from aidledger.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )


def test_demo_is_safe_to_run_twice(tmp_path: Path) -> None:
    """The demo builds its campaign once; a second run posts nothing new and prints the same report."""
    first = run("demo", "--scale", "0.001", cwd=tmp_path)
    second = run("demo", "--scale", "0.001", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "balanced" in first.stdout and "intact" in first.stdout
    assert "FAMILIES-50K │           360 │ 18,000,000.00" in first.stdout
    data = json.loads(run("demo", "--scale", "0.001", "--json", cwd=tmp_path).stdout)
    assert data["entries"] == 1021
    assert data["verified"] and data["balanced"]
    assert {f["fund"]: f["net_assets_kzt"] for f in data["funds"]}["HOUSING"] == "60400000.00"
    assert all(row["reconciles"] for row in data["stock"])


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
    assert json.loads(result.stdout)["balanced"]


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
