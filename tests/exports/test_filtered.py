"""Filtered books: the detailed book of one programme, region, donor, fund or currency, accepted by bean-check and
``hledger check --strict``, whose balance assertions and totals are the ledger's audit totals for the same filter."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader

from aidledger import (
    AccountType,
    Aid,
    Flow,
    InvalidArgument,
    Ledger,
    Money,
    audit_totals,
    export_beancount,
    export_hledger,
)
from tests.exports.conftest import build_aid_ledger
from tests.exports.test_beancount import bean_check, beancount_totals
from tests.exports.test_summary import aidledger

HLEDGER = shutil.which("hledger") or "/usr/bin/hledger"
FILTERS = [
    {"programme": "FAM-50K"},
    {"region": "Abai"},
    {"donor": "Private donors"},
    {"project": "DOSTYK"},
    {"fund": "GENERAL"},
    {"kind": "donation", "currency": "KZT"},
]
#: The flows whose audit totals a filtered book must give, by the account type they add up.
FLOWS = [(Flow.SPENT, AccountType.EXPENSE, 1), (Flow.RECEIVED, AccountType.REVENUE, -1)]


def library(ledger: Ledger, where: dict[str, str]) -> dict[tuple[str, str], Decimal]:
    """{(account code, fund code): signed balance} of revenue and expense accounts, from audit_totals."""
    found: dict[tuple[str, str], Decimal] = {}
    for flow, _, sign in FLOWS:
        for row in audit_totals(ledger, flow=flow, by=["account", "fund"], where=where).rows:
            if row.amount.value:
                found[(row["account"], row["fund"])] = sign * row.amount.value
    return found


def flows_of(ledger: Ledger, totals: dict[tuple[str, str], tuple[Decimal, str]]) -> dict[tuple[str, str], Decimal]:
    """The revenue and expense lines of the book's totals."""
    types = {account.code: account.type for account in ledger.accounts()}
    wanted = {account_type for _, account_type, _ in FLOWS}
    return {key: value for key, (value, _) in totals.items() if types[key[0]] in wanted}


@pytest.mark.parametrize("where", FILTERS, ids=lambda w: ",".join(f"{k}={v}" for k, v in w.items()))
def test_a_filtered_beancount_book_checks_and_gives_the_audit_totals(
    aid_ledger: Ledger, tmp_path: Path, where: dict[str, str]
) -> None:
    """bean-check accepts the book (its assertions are the filter's totals), the header says it is filtered,
    every transaction matches, and its revenue and expense totals are audit_totals(where=...)'s."""
    out = io.StringIO()
    written = export_beancount(aid_ledger, out, where=where)
    text = out.getvalue()
    path = tmp_path / "filtered.beancount"
    path.write_text(text, encoding="utf-8")
    assert bean_check(path).returncode == 0, bean_check(path).stdout
    said = ", ".join(f"{k}={v}" for k, v in where.items())
    assert f"; Filtered: only the entries with {said}.\n" in text
    assert f"the balance assertions at the end are the ledger's totals of the postings with {said}" in text
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    for name, value in where.items():
        if name not in ("currency",):
            assert all(e.meta[name] == value for e in entries if type(e).__name__ == "Transaction")
    assert 0 < written.entries < aid_ledger.head().seq
    assert written.assertions > 0
    assert flows_of(aid_ledger, beancount_totals(entries)) == library(aid_ledger, where)


@pytest.mark.skipif(not Path(HLEDGER).exists(), reason="hledger is not installed")
@pytest.mark.parametrize("where", FILTERS, ids=lambda w: ",".join(f"{k}={v}" for k, v in w.items()))
def test_a_filtered_hledger_journal_passes_the_strict_check(
    aid_ledger: Ledger, tmp_path: Path, where: dict[str, str]
) -> None:
    """hledger check --strict accepts the filtered journal, and its assertions are the Beancount book's."""
    journal, beancount = io.StringIO(), io.StringIO()
    export_hledger(aid_ledger, journal, where=where)
    export_beancount(aid_ledger, beancount, where=where)
    path = tmp_path / "filtered.journal"
    path.write_text(journal.getvalue(), encoding="utf-8")
    result = subprocess.run([HLEDGER, "-f", str(path), "check", "--strict"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    asserted = re.findall(r"^    (\S+)  0(?:\.0+)? \S+ ==? (-?[\d.]+) (\S+)$", journal.getvalue(), flags=re.MULTILINE)
    in_beancount = re.findall(r" balance (\S+)  (-?[\d.]+) ~ 0 (\S+)$", beancount.getvalue(), flags=re.MULTILINE)
    assert asserted and sorted((a, n, u.strip('"')) for a, n, u in asserted) == sorted(in_beancount)


def test_a_filtered_summary_adds_up_the_filtered_entries(aid_ledger: Ledger, tmp_path: Path) -> None:
    """--summary with --where: the summary of one programme's entries, with that programme's balances."""
    detailed, summary = io.StringIO(), io.StringIO()
    export_beancount(aid_ledger, detailed, where={"programme": "FAM-50K"})
    export_beancount(aid_ledger, summary, where={"programme": "FAM-50K"}, summary="month")
    path = tmp_path / "summary.beancount"
    path.write_text(summary.getvalue(), encoding="utf-8")
    assert bean_check(path).returncode == 0, bean_check(path).stdout
    balances = [line for line in detailed.getvalue().splitlines() if " balance " in line]
    assert balances == [line for line in summary.getvalue().splitlines() if " balance " in line]


@pytest.mark.parametrize("exporter", [export_beancount, export_hledger])
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"programm": "FAM-50K"}, "unknown dimension 'programm'; choose from fund, kind, programme"),
        ({"account": "Assets:Bank:KZT"}, "cannot filter the books by account: an account's postings alone"),
        ({"month": "2020-04"}, "cannot filter the books by month: filter periods with --from/--to"),
        ({"programme": 7}, "filter value for programme must be non-empty text, got 7"),
        ({"programme": "NO-SUCH"}, "no entry has programme=NO-SUCH in the window exported"),
        ({"programme": "FAM-50K", "fund": "FOOD"}, "no entry has programme=FAM-50K, fund=FOOD"),
        (["programme"], "where must map dimensions to values"),
    ],
)
def test_bad_filters_are_refused_before_writing(aid_ledger: Ledger, exporter: Any, where: object, message: str) -> None:
    """An unknown dimension, one that cannot filter a book, a value that is not text or that no entry has."""
    out = io.StringIO()
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        exporter(aid_ledger, out, where=where)
    assert out.getvalue() == ""


def test_the_command_writes_a_programmes_book(tmp_path: Path) -> None:
    """export --where programme=... writes the programme's book; bad filters exit 2 with a message."""
    db = tmp_path / "books.db"
    with Ledger.open(str(db)) as ledger:
        build_aid_ledger(Aid(ledger, approval_threshold=Money("10000000", "KZT")))
    result = aidledger("export", str(db), "-f", "beancount", "--where", "programme=FAM-50K", "--where",
                       "region=Abai", "-o", "fam.beancount", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    entries, errors, _ = loader.load_file(str(tmp_path / "fam.beancount"))
    kinds: dict[str, int] = defaultdict(int)
    for entry in entries:
        if type(entry).__name__ == "Transaction":
            assert entry.meta["programme"] == "FAM-50K" and entry.meta["region"] == "Abai"
            kinds[entry.meta["kind"]] += 1
    assert errors == [] and kinds
    for args, message in [
        (["-f", "hledger", "--where", "colour=red"], "unknown dimension 'colour'"),
        (["-f", "hledger", "--where", "programme"], "--where takes DIMENSION=VALUE, got 'programme'"),
        (["-f", "beancount", "--where", "programme=NONE"], "no entry has programme=NONE"),
        (["-f", "csv", "--where", "programme=FAM-50K"], "--where is not an option of --format csv"),
    ]:
        refused = aidledger("export", str(db), *args, cwd=tmp_path)
        assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr
