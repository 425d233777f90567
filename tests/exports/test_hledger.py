"""The hledger export: hledger check (and --strict) accepts it, and its totals are the library's exactly."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import InvalidArgument, InvalidTime, Ledger, Window
from aidledger.exports import hledger as hl
from aidledger.exports._common import FIELDS
from aidledger.exports.beancount import ExportSummary
from aidledger.exports.hledger import export_hledger
from aidledger.exports.narration import describe
from tests.exports.conftest import HOSTILE_MEMOS, almaty, totals_of

HLEDGER = shutil.which("hledger") or "/usr/bin/hledger"
pytestmark = pytest.mark.skipif(not Path(HLEDGER).exists(), reason="hledger is not installed")


def export(ledger: Ledger, path: Path, **options: Any) -> ExportSummary:
    with path.open("w", encoding="utf-8") as out:
        return export_hledger(ledger, out, **options)


def hledger(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HLEDGER, "-f", str(path), *args], capture_output=True, text=True, check=False)


def decode(text: str) -> str:
    """The original of free text the export wrote JSON-escaped."""
    return str(json.loads(f'"{text}"'))


def declared_pairs(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(hledger account name, unit) -> (ledger account code, fund code), from the account directives' tags."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"account (\S+)  ; account: ([^,]+), fund: (\S+), units: ([^,]+)", line)
        if match:
            codes, units = decode(match.group(2)).split(), decode(match.group(4)).split()
            for code, unit in zip(codes, units, strict=True):
                found[(match.group(1), unit)] = (code, decode(match.group(3)))
    return found


def funds_of(path: Path) -> dict[str, str]:
    """hledger account name -> fund code."""
    return {name: fund for (name, _), (_, fund) in declared_pairs(path).items()}


def hledger_totals(path: Path, *args: str) -> dict[tuple[str, str], tuple[Decimal, str]]:
    """Per (ledger account, fund): the balance hledger computes (``bal --flat --layout=bare -O csv``), and its
    commodity."""
    result = hledger(path, "bal", "--flat", "--empty", "--no-total", "--layout=bare", "-O", "csv", *args)
    assert result.returncode == 0, result.stderr
    names = declared_pairs(path)
    found: dict[tuple[str, str], tuple[Decimal, str]] = {}
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["account", "commodity", "balance"]
    for account, unit, balance in rows[1:]:
        if (account, unit) in names and Decimal(balance) != 0:
            found[names[(account, unit)]] = (Decimal(balance), unit)
    return found


@pytest.fixture
def exported(aid_ledger: Ledger, tmp_path: Path) -> tuple[Ledger, Path, ExportSummary]:
    path = tmp_path / "ledger.journal"
    return aid_ledger, path, export(aid_ledger, path)


class TestAccepted:
    def test_hledger_check_passes(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """hledger check (parsing, balancing, assertions) exits 0."""
        _, path, _ = exported
        result = hledger(path, "check")
        assert result.returncode == 0, result.stderr

    def test_hledger_check_strict_passes(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """With every account and commodity declared, hledger check --strict exits 0 as well."""
        _, path, _ = exported
        result = hledger(path, "check", "--strict")
        assert result.returncode == 0, result.stderr

    def test_strict_check_needs_the_declarations(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """Remove one commodity directive and --strict fails: the declarations are what make it pass."""
        _, path, _ = exported
        text = path.read_text(encoding="utf-8")
        assert 'commodity 1,000. "FOOD-PACKAGE"\n' in text
        path.write_text(text.replace('commodity 1,000. "FOOD-PACKAGE"\n', ""), encoding="utf-8")
        assert hledger(path, "check").returncode == 0
        result = hledger(path, "check", "--strict")
        assert result.returncode != 0
        assert "FOOD-PACKAGE" in result.stderr

    def test_summary(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """The summary counts entries, transactions (one per fund), postings, pairs and assertions."""
        ledger, path, summary = exported
        posted = list(ledger.entries())
        assert summary.format == "hledger"
        assert (summary.entries, summary.transactions) == (len(posted), len(posted) + 2)
        assert summary.postings == sum(len(p.entry.postings) for p in posted)
        assert summary.accounts == summary.assertions == len(declared_pairs(path))


class TestTotals:
    def test_balances_equal_the_trial_balance(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """hledger's balance of every account/fund pair is the ledger's trial balance, to the minor unit."""
        ledger, path, _ = exported
        assert hledger_totals(path) == totals_of(ledger.trial_balance())

    def test_every_pair_is_asserted(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """The last transaction asserts (==, or = in an account holding several units) every declared pair, dated the day after the last entry."""
        ledger, path, _ = exported
        text = path.read_text(encoding="utf-8")
        block = text[text.index("* balance assertions") :]
        asserted = re.findall(r'^    (\S+)  0(?:\.0+)? \S+ ==? (\S+) "?([^"\n]+)"?$', block, flags=re.MULTILINE)
        assert {(name, unit) for name, _, unit in asserted} == set(declared_pairs(path))
        assert "\n2020-12-29 * balance assertions" in text
        names = declared_pairs(path)
        nonzero = {names[(n, u)]: Decimal(v) for n, v, u in asserted if Decimal(v)}
        assert nonzero == {k: v[0] for k, v in totals_of(ledger.trial_balance()).items()}

    @pytest.mark.parametrize("corruption", ["posting", "assertion"])
    def test_one_minor_unit_off_fails_the_check(
        self, exported: tuple[Ledger, Path, ExportSummary], corruption: str
    ) -> None:
        """Moving one tiyn between two postings, or changing one assertion by a gram, fails hledger check."""
        _, path, _ = exported
        text = path.read_text(encoding="utf-8")
        if corruption == "posting":
            old = "    Assets:Bank:CASH-AID  250000.55 KZT\n    Income:Donations:CASH-AID  -250000.55 KZT\n"
            new = "    Assets:Bank:CASH-AID  250000.56 KZT\n    Income:Donations:CASH-AID  -250000.56 KZT\n"
        else:
            match = re.search(r'Assets:Stock:RELIEF-GOODS:FLOOD  0\.000 "RELIEF-GOODS" == (\S+) ', text)
            assert match is not None
            old = match.group(0)
            new = old.replace(match.group(1), str(Decimal(match.group(1)) + Decimal("0.001")))
        assert text.count(old) == 1
        path.write_text(text.replace(old, new), encoding="utf-8")
        result = hledger(path, "check")
        assert result.returncode != 0
        assert "balance assertion" in result.stderr

    def test_every_transaction_stays_in_one_fund(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """Each transaction's postings are in one fund, so hledger's balancing check is per fund."""
        _, path, _ = exported
        names = funds_of(path)
        for transaction in print_json(path):
            funds = {names[p["paccount"]] for p in transaction["tpostings"] if p["paccount"] in names}
            assert len(funds) == 1, transaction["tdescription"]


def print_json(path: Path) -> list[dict[str, Any]]:
    result = hledger(path, "print", "-O", "json")
    assert result.returncode == 0, result.stderr
    transactions: list[dict[str, Any]] = json.loads(result.stdout)
    return [t for t in transactions if not t["tdescription"].startswith("balance assertions")]


class TestContent:
    def test_memos_and_fields_read_back_exactly(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """hledger's own parse of the journal gives back every memo and field exactly, after JSON-unescaping."""
        ledger, path, _ = exported
        by_id: dict[str, dict[str, Any]] = {}
        for transaction in print_json(path):
            tags = {name: decode(value) for name, value in transaction["ttags"]}
            by_id[tags["id"]] = transaction | {"tags": tags}
        memos = set()
        for posted in ledger.entries():
            entry, found = posted.entry, by_id[posted.id]
            said = describe(entry)
            payee, _, narration = found["tdescription"].partition(" | ")
            if said.payee is None:
                assert decode(found["tdescription"]) == said.narration
            else:
                assert (decode(payee), decode(narration)) == (said.payee, said.narration)
            memo = found["tags"].get("memo", "")
            memos.add(memo)
            assert memo == entry.memo
            assert found["tcode"] == str(posted.seq)
            assert found["tdate"] == entry.effective_at.date().isoformat()
            tags = found["tags"]
            assert (tags["seq"], tags["kind"], tags["actor"]) == (str(posted.seq), entry.kind, entry.actor)
            assert tags["effective"] == entry.effective_at.isoformat()
            assert tags.get("idempotency-key") == entry.idempotency_key
            assert tags.get("source") == entry.source
            assert tags.get("reverses") == entry.reverses
            own = {k: v for k, v in tags.items() if k not in FIELDS}
            assert own | json.loads(tags.get("entry-tags", "{}")) == dict(entry.tags)
            assert tags["fund"] in {p.fund.code for p in entry.postings}
        assert set(HOSTILE_MEMOS) <= memos

    def test_dates_are_in_the_entrys_own_time_zone(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """01:30 in Almaty on 2 April (1 April in UTC) is dated 2 April."""
        ledger, path, _ = exported
        posted = ledger.entry_by_key("don:2")
        assert posted is not None
        found = next(t for t in print_json(path) if ["id", posted.id] in t["ttags"])
        assert found["tdate"] == "2020-04-02"

    def test_units_with_hyphens_are_quoted(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """Commodities that are not letters only are double-quoted; each unit declares its exponent."""
        _, path, _ = exported
        text = path.read_text(encoding="utf-8")
        for directive in ("commodity 1,000.00 KZT", "commodity 1,000.00 EUR", 'commodity 1,000. "FOOD-PACKAGE"'):
            assert f"\n{directive}\n" in text
        assert '\ncommodity 1,000.000 "RELIEF-GOODS"\n' in text
        assert '    Assets:Stock:RELIEF-GOODS:FLOOD  12.345 "RELIEF-GOODS"\n' in text
        assert "\naccount Income  ; type: R\n" in text
        assert (
            "\naccount Equity:Memo:Grants:DOSTYK:HOUSING  ; account: Memo:Grants:DOSTYK:KZT, fund: HOUSING, units: KZT\n"
            in text
        )


class TestSnapshot:
    def test_as_of(self, aid_ledger: Ledger, tmp_path: Path) -> None:
        """With as_of the journal holds the ledger at that time, and its assertions are trial_balance(as_of)."""
        path = tmp_path / "april.journal"
        cut = almaty(4, 30, 23, 59)
        summary = export(aid_ledger, path, window=Window(as_of=cut))
        assert hledger(path, "check", "--strict").returncode == 0
        assert hledger_totals(path) == totals_of(aid_ledger.trial_balance(as_of=cut))
        assert summary.entries == sum(1 for p in aid_ledger.entries() if p.entry.effective_at <= cut)
        assert "\n2020-05-01 * balance assertions" in path.read_text(encoding="utf-8")

    def test_known_at(self, aid_ledger: Ledger, tmp_path: Path) -> None:
        """With known_at the journal holds what the ledger had recorded by then."""
        known = list(aid_ledger.entries())[9].recorded_at
        path = tmp_path / "then.journal"
        export(aid_ledger, path, window=Window(known_at=known))
        assert hledger(path, "check", "--strict").returncode == 0
        assert hledger_totals(path) == totals_of(aid_ledger.trial_balance(known_at=known))


class TestArguments:
    def test_empty_ledger(self, tmp_path: Path) -> None:
        """An empty ledger gives a journal hledger accepts, strictly."""
        with Ledger.open("sqlite://") as ledger:
            summary = export(ledger, tmp_path / "empty.journal")
        assert (summary.entries, summary.assertions) == (0, 0)
        assert hledger(tmp_path / "empty.journal", "check", "--strict").returncode == 0

    def test_bad_arguments(self) -> None:
        """A non-Ledger, a non-stream or a naive time raise InvalidArgument (InvalidTime for times)."""
        with Ledger.open("sqlite://") as ledger:
            with pytest.raises(InvalidArgument, match="expected a Ledger"):
                export_hledger(object(), io.StringIO())  # type: ignore[arg-type]
            with pytest.raises(InvalidArgument, match="text stream"):
                export_hledger(ledger, None)  # type: ignore[arg-type]
            with pytest.raises(InvalidTime, match="as_of"):
                export_hledger(ledger, io.StringIO(), window=Window(as_of=dt.datetime(2020, 5, 1)))


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)


@given(TEXT)
def test_free_text_escaping_is_reversible_and_unbreakable(text: str) -> None:
    """Escaped text has no line break, no ';' or ',' and no white space at its ends, and decodes to the original."""
    for escaped in (hl._description(text), hl._tag(text)):
        assert decode(escaped) == text
        assert "\n" not in escaped and "\r" not in escaped and ";" not in escaped
        assert escaped == escaped.strip()
    assert "," not in hl._tag(text)


@pytest.mark.parametrize(
    "memo", [*HOSTILE_MEMOS, "", " ", ";", "  both ends\u00a0", "(1) code-like", "a\u2028b", "ref: 3, tag: x"]
)
def test_hledger_reads_descriptions_back(tmp_path: Path, memo: str) -> None:
    """hledger itself parses each escaped description into exactly the escaped text."""
    path = tmp_path / "one.journal"
    description = hl._description(memo)
    path.write_text(
        f"2020-01-01 * (1) {description}\n    ; note: {hl._tag(memo)}\n    Assets:A  1 X\n    Income:B  -1 X\n",
        encoding="utf-8",
    )
    (transaction,) = json.loads(hledger(path, "print", "-O", "json").stdout)
    assert decode(transaction["tdescription"]) == memo
    assert [decode(v) for k, v in transaction["ttags"] if k == "note"] == [memo]
