"""The summarised books: one transaction per period, fund and chosen dimensions, with the balances of the
detailed book, accepted by bean-check and ``hledger check --strict``."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data
from fava.core import FavaLedger

from aidledger import (
    Aid,
    CampaignPlan,
    InvalidArgument,
    Ledger,
    Money,
    Pseudonymizer,
    export_beancount,
    export_hledger,
    run_campaign,
)
from tests.conftest import BACKENDS, new_url
from tests.exports.conftest import build_aid_ledger, totals_of
from tests.exports.test_beancount import bean_check, beancount_totals

HLEDGER = shutil.which("hledger") or "/usr/bin/hledger"
SUMMARIES = [("day", ()), ("week", ("region",)), ("month", ()), ("month", ("programme", "region"))]


def written(exporter: Callable[..., Any], ledger: Ledger, **options: Any) -> str:
    out = io.StringIO()
    exporter(ledger, out, **options)
    return out.getvalue()


def assertions(text: str) -> list[str]:
    """The balance assertion lines of a Beancount file or an hledger journal's assertion block."""
    if "* balance assertions" in text:
        return text[text.index("* balance assertions") :].splitlines()[1:]
    return [line for line in text.splitlines() if " balance " in line]


@pytest.mark.parametrize(("period", "by"), SUMMARIES)
def test_beancount_summary_has_the_detailed_books_balances(
    aid_ledger: Ledger, tmp_path: Path, period: str, by: tuple[str, ...]
) -> None:
    """bean-check accepts the summary; its totals, its assertions and its open accounts are the detailed book's,
    and its transactions stand for every entry once."""
    detailed = written(export_beancount, aid_ledger)
    out = io.StringIO()
    counted = export_beancount(aid_ledger, out, summary=period, by=by)
    text = out.getvalue()
    path = tmp_path / "summary.beancount"
    path.write_text(text, encoding="utf-8")
    assert bean_check(path).returncode == 0, bean_check(path).stdout
    entries, errors, options = loader.load_file(str(path))
    assert errors == []
    assert options["operating_currency"] == ["KZT"]
    assert beancount_totals(entries) == totals_of(aid_ledger.trial_balance())
    assert assertions(text) == assertions(detailed)
    transactions = [e for e in entries if isinstance(e, data.Transaction)]
    assert sum(t.meta["entries"] for t in transactions) == aid_ledger.head().seq + 2  # two entries span two funds
    assert len(transactions) == counted.transactions < aid_ledger.head().seq == counted.entries
    assert counted.postings == sum(len(t.postings) for t in transactions)
    for transaction in transactions:
        assert transaction.narration.startswith(f"{transaction.meta['entries']} entr")
        assert all(name in transaction.meta or f"{name} " not in transaction.narration for name in by)
    if by == ("programme", "region"):
        abai = [t for t in transactions if t.meta.get("programme") == "FAM-50K" and t.meta.get("region") == "Abai"]
        assert abai and all(t.meta["period"] == "2020-04" for t in abai)


@pytest.mark.skipif(not Path(HLEDGER).exists(), reason="hledger is not installed")
@pytest.mark.parametrize(("period", "by"), SUMMARIES)
def test_hledger_summary_passes_the_strict_check(
    aid_ledger: Ledger, tmp_path: Path, period: str, by: tuple[str, ...]
) -> None:
    """hledger check --strict accepts the summary, whose assertions are the detailed journal's."""
    detailed = written(export_hledger, aid_ledger)
    text = written(export_hledger, aid_ledger, summary=period, by=by)
    path = tmp_path / "summary.journal"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run([HLEDGER, "-f", str(path), "check", "--strict"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert assertions(text) == assertions(detailed)
    counts = [int(n) for n in re.findall(r"^    ; entries: (\d+)$", text, flags=re.MULTILINE)]
    assert sum(counts) == aid_ledger.head().seq + 2


@pytest.mark.parametrize("exporter", [export_beancount, export_hledger])
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"summary": "year"}, "summary must be one of day, week, month, got 'year'"),
        ({"summary": "month", "by": ["beneficiary"]}, "by must name distinct dimensions"),
        ({"summary": "month", "by": ["region", "region"]}, "by must name distinct dimensions"),
        ({"by": ["region"]}, "give summary="),
    ],
)
def test_bad_summaries_are_refused_before_writing(
    aid_ledger: Ledger, exporter: Callable[..., Any], options: dict[str, Any], message: str
) -> None:
    """An unknown period, a dimension that is not one (a beneficiary is not), or by without summary."""
    out = io.StringIO()
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        exporter(aid_ledger, out, **options)
    assert out.getvalue() == ""


def aidledger(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from aidledger.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False, timeout=120)


def test_the_command_writes_summaries_and_periods(tmp_path: Path) -> None:
    """export --summary month --by programme,region, and --from/--to for a detailed period; bad options exit 2."""
    db = tmp_path / "books.db"
    with Ledger.open(str(db)) as ledger:
        build_aid_ledger(Aid(ledger, approval_threshold=Money("10000000", "KZT")))
    result = aidledger("export", str(db), "-f", "beancount", "--summary", "month", "--by", "programme,region",
                       "--title", "Kazakhstan Fund, 2020", "-o", "month.beancount", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    entries, errors, options = loader.load_file(str(tmp_path / "month.beancount"))
    assert errors == [] and options["title"] == "Kazakhstan Fund, 2020"
    assert any(isinstance(e, data.Transaction) and e.meta.get("region") == "Abai" for e in entries)
    result = aidledger("export", str(db), "-f", "hledger", "--from", "2020-04-01", "--to", "2020-05-01",
                       "--tz", "Asia/Almaty", "-o", "april.journal", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    april = (tmp_path / "april.journal").read_text(encoding="utf-8")
    assert "effective from 2020-04-01T00:00:00+06:00, effective before 2020-05-01T00:00:00+06:00" in april
    for args, message in [
        (["-f", "beancount", "--summary", "year"], "summary must be one of day, week, month, got 'year'"),
        (["-f", "csv", "--summary", "month"], "--summary is not an option of --format csv"),
        (["-f", "hledger", "--title", "x"], "--title is not an option of --format hledger"),
        (["-f", "iati", "--from", "2020-04-01"], "--from/--to is not an option of --format iati"),
    ]:
        refused = aidledger("export", str(db), *args, cwd=tmp_path)
        assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr


@pytest.fixture(scope="module", params=BACKENDS)
def campaign(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_database: str | None
) -> Iterator[Ledger]:
    """The demo campaign at 1/200 of its size (about 4,900 entries) on each backend."""
    folder = tmp_path_factory.mktemp("campaign")
    with Ledger.open(new_url(str(request.param), folder, pg_database)) as ledger:
        run_campaign(Aid(ledger, approval_threshold=Money("100000000", "KZT")), CampaignPlan.scaled("0.005"),
                     keys=Pseudonymizer({1: bytes(range(32))}))  # fmt: skip
        yield ledger


def test_a_mid_size_summary_has_the_detailed_books_balances(campaign: Ledger, tmp_path: Path) -> None:
    """At 1/200 of the campaign, the monthly summary by programme and region loads in Fava with no error, in far
    fewer transactions, and its totals per account and fund equal the detailed book's and the trial balance."""
    detailed, summary = tmp_path / "detailed.beancount", tmp_path / "summary.beancount"
    detailed.write_text(written(export_beancount, campaign), encoding="utf-8")
    summary.write_text(written(export_beancount, campaign, summary="month", by=("programme", "region")), "utf-8")
    assert bean_check(summary).returncode == 0, bean_check(summary).stdout
    fava = FavaLedger(str(summary))
    assert fava.errors == []
    full, errors, _ = loader.load_file(str(detailed))
    assert errors == []
    assert beancount_totals(fava.all_entries) == beancount_totals(full) == totals_of(campaign.trial_balance())
    months = [e for e in fava.all_entries if isinstance(e, data.Transaction)]
    assert campaign.head().seq > 4000 and len(months) * 10 < campaign.head().seq
    assert assertions(summary.read_text("utf-8")) == assertions(detailed.read_text("utf-8"))
