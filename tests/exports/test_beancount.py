"""The Beancount export: bean-check accepts it, and its totals are the library's to the minor unit."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from beancount import loader
from beancount.core import data
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
    StorageError,
    Window,
    currency,
)
from aidledger.exports import _common
from aidledger.exports import beancount as bc
from aidledger.exports.beancount import ExportSummary, export_beancount
from aidledger.exports.narration import describe
from tests.exports.conftest import HOSTILE_MEMOS, almaty, totals_of

BEAN_CHECK = Path(sys.executable).with_name("bean-check")


def export(ledger: Ledger, path: Path, **options: Any) -> ExportSummary:
    with path.open("w", encoding="utf-8") as out:
        return export_beancount(ledger, out, **options)


def load(path: Path) -> tuple[list[Any], list[Any]]:
    entries, errors, _ = loader.load_file(str(path))
    return entries, errors


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, check=False)


def pairs_of(entries: list[Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(Beancount account name, currency) -> (ledger account code, fund code), from the open directives.

    An account that holds several currencies lists one ledger account code per currency, in the same order.
    """
    found = {}
    for e in entries:
        if isinstance(e, data.Open):
            for code, unit in zip(e.meta["account"].split(), e.currencies, strict=True):
                found[(e.account, unit)] = (code, e.meta["fund"])
    return found


def funds_of(entries: list[Any]) -> dict[str, str]:
    """Beancount account name -> fund code."""
    return {e.account: e.meta["fund"] for e in entries if isinstance(e, data.Open)}


def tags_of(meta: dict[str, Any]) -> dict[str, str]:
    """An entry's tags from a transaction's metadata: the keys that are not entry fields, and ``entry-tags``."""
    own = {k: v for k, v in meta.items() if k not in _common.FIELDS and not k.startswith("__")}
    return own | json.loads(meta.get("entry-tags", "{}"))


def amount_of(posting: data.Posting) -> tuple[Decimal, str]:
    assert posting.units is not None and isinstance(posting.units.number, Decimal)
    return posting.units.number, posting.units.currency


def beancount_totals(entries: list[Any]) -> dict[tuple[str, str], tuple[Decimal, str]]:
    """Per (ledger account, fund): the sum of the loaded transactions' postings, and its currency."""
    names = pairs_of(entries)
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    units: dict[tuple[str, str], str] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                number, unit = amount_of(posting)
                key = names[(posting.account, unit)]
                sums[key] += number
                units[key] = unit
    return {key: (value, units[key]) for key, value in sums.items() if value != 0}


@pytest.fixture
def exported(aid_ledger: Ledger, tmp_path: Path) -> tuple[Ledger, Path, ExportSummary]:
    path = tmp_path / "ledger.beancount"
    return aid_ledger, path, export(aid_ledger, path)


class TestAccepted:
    def test_loads_without_errors_and_bean_check_passes(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """beancount.loader reads the file with no error, and bean-check exits 0."""
        _, path, _ = exported
        entries, errors = load(path)
        assert errors == []
        assert entries
        result = bean_check(path)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_summary_counts_what_was_written(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """The summary counts entries, transactions (one per fund), postings, pairs, units and assertions."""
        ledger, path, summary = exported
        posted = list(ledger.entries())
        entries, _ = load(path)
        transactions = [e for e in entries if isinstance(e, data.Transaction)]
        balances = [e for e in entries if isinstance(e, data.Balance)]
        assert summary.format == "beancount"
        assert summary.entries == len(posted) == summary.head_seq
        assert summary.transactions == len(transactions) == len(posted) + 2  # a designation and a release span 2 funds
        assert summary.postings == sum(len(p.entry.postings) for p in posted)
        assert summary.assertions == summary.accounts == len(balances) == len(pairs_of(entries))
        assert summary.units == 4  # KZT, EUR, FOOD-PACKAGE, RELIEF-GOODS (the USD gift was converted on arrival)
        assert summary.window.known_at == posted[-1].recorded_at
        assert summary.window.as_of is None


class TestTotals:
    def test_posting_totals_equal_the_trial_balance(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """Summing the loaded transactions per account and fund gives the ledger's trial balance exactly."""
        ledger, path, _ = exported
        entries, _ = load(path)
        assert beancount_totals(entries) == totals_of(ledger.trial_balance())

    def test_balance_assertions_are_the_trial_balance(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """There is a zero-tolerance balance assertion for every pair, with the trial balance's figure."""
        ledger, path, _ = exported
        entries, _ = load(path)
        names = pairs_of(entries)
        asserted = {
            names[(e.account, e.amount.currency)]: (e.amount.number, e.amount.currency)
            for e in entries
            if isinstance(e, data.Balance)
        }
        assert {k: v for k, v in asserted.items() if v[0] != 0} == totals_of(ledger.trial_balance())
        assert all(e.tolerance == 0 for e in entries if isinstance(e, data.Balance))
        last = max(e.date for e in entries if isinstance(e, data.Transaction))
        assert {e.date for e in entries if isinstance(e, data.Balance)} == {last + dt.timedelta(days=1)}

    def test_every_transaction_balances_within_one_fund(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """Each transaction stays in one fund and sums to zero per currency: bean-check proves funds balance."""
        _, path, _ = exported
        entries, _ = load(path)
        names = funds_of(entries)
        for entry in (e for e in entries if isinstance(e, data.Transaction)):
            assert len({names[p.account] for p in entry.postings}) == 1, entry
            sums: dict[str, Decimal] = defaultdict(Decimal)
            for posting in entry.postings:
                number, unit = amount_of(posting)
                sums[unit] += number
            assert set(sums.values()) == {Decimal(0)}, entry

    def test_entries_in_several_funds_are_linked_parts(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """A designation spans two funds: two transactions with the entry's id, a fund each, and one link."""
        ledger, path, _ = exported
        entries, _ = load(path)
        designation = next(p for p in ledger.entries() if p.entry.kind == "designation")
        parts = [e for e in entries if isinstance(e, data.Transaction) and e.meta["id"] == designation.id]
        assert [p.meta["fund"] for p in parts] == ["GENERAL", "RESERVE"]
        assert all(p.links == {f"entry-{designation.id}"} for p in parts)


class TestContent:
    def test_entries_keep_their_fields_and_memos_exactly(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """Payee and narration describe the entry, the memo (hostile text included) is kept exactly, and the
        metadata carries the entry's fields and every tag under its own key."""
        ledger, path, _ = exported
        entries, _ = load(path)
        by_id = {e.meta["id"]: e for e in entries if isinstance(e, data.Transaction)}
        memos = set()
        for posted in ledger.entries():
            entry, found = posted.entry, by_id[posted.id]
            memos.add(found.meta.get("memo", ""))
            assert (found.payee, found.narration) == attrs.astuple(describe(entry))
            assert found.meta.get("memo", "") == entry.memo
            assert found.meta["fund"] in {p.fund.code for p in entry.postings}
            assert found.date == entry.effective_at.date()
            assert found.meta["seq"] == posted.seq
            assert (found.meta["kind"], found.meta["actor"]) == (entry.kind, entry.actor)
            assert pendulum.parse(found.meta["effective"]) == entry.effective_at
            assert found.meta["effective"] == entry.effective_at.isoformat()
            assert pendulum.parse(found.meta["recorded"]) == posted.recorded_at
            assert found.meta.get("idempotency-key") == entry.idempotency_key
            assert found.meta.get("source") == entry.source
            assert found.meta.get("reverses") == entry.reverses
            assert tags_of(found.meta) == dict(entry.tags)
            assert "entry-tags" not in found.meta  # every tag of the aid operations is a key of its own
            assert json.loads(found.meta.get("claims", "[]")) == [[c.scope, c.key] for c in entry.claims]
        assert set(HOSTILE_MEMOS) <= memos

    def test_dates_are_in_the_entrys_own_time_zone(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """01:30 in Almaty on 2 April is 1 April in UTC; the transaction is dated 2 April."""
        ledger, path, _ = exported
        entries, _ = load(path)
        posted = ledger.entry_by_key("don:2")
        assert posted is not None
        assert posted.entry.effective_at.astimezone(dt.UTC).date() == dt.date(2020, 4, 1)
        found = next(e for e in entries if isinstance(e, data.Transaction) and e.meta["id"] == posted.id)
        assert found.date == dt.date(2020, 4, 2)
        assert found.meta["time-zone"] == "Asia/Almaty"
        fixed = ledger.entry_by_key("pledge:1")
        assert fixed is not None
        assert next(e for e in entries if getattr(e, "meta", {}).get("id") == fixed.id).meta["time-zone"] == "+05:00"

    def test_accounts_units_and_roots(self, exported: tuple[Ledger, Path, ExportSummary]) -> None:
        """Revenue goes under Income, net assets under Equity, memo accounts under Equity:Memo; goods are commodities."""
        _, path, _ = exported
        entries, _ = load(path)
        names = pairs_of(entries)
        assert names[("Income:Donations:CASH-AID", "KZT")] == ("Revenue:Donations:KZT", "CASH-AID")
        assert names[("Equity:Transfers:RESERVE", "KZT")] == ("NetAssets:Transfers:KZT", "RESERVE")
        assert names[("Equity:Memo:Pledges:KAZAKHMYS-2020:HOUSING", "KZT")] == (
            "Memo:Pledges:KAZAKHMYS-2020:KZT",
            "HOUSING",
        )
        assert names[("Assets:Stock:RELIEF-GOODS:FLOOD", "RELIEF-GOODS")] == ("Assets:Stock:RELIEF-GOODS", "FLOOD")
        opens = {e.account: e for e in entries if isinstance(e, data.Open)}
        assert opens["Assets:Stock:FOOD-PACKAGE:FOOD"].currencies == ["FOOD-PACKAGE"]
        assert opens["Equity:Memo:Grants:DOSTYK:HOUSING"].meta["type"] == "memo"
        # the currency is on the posting, not in the name: one bank account per fund, holding each currency
        assert opens["Assets:Bank:GENERAL"].currencies == ["EUR", "KZT"]
        assert opens["Assets:Bank:GENERAL"].meta["account"] == "Assets:Bank:EUR Assets:Bank:KZT"
        commodities = {e.currency: e.meta for e in entries if isinstance(e, data.Commodity)}
        assert set(commodities) == {"EUR", "FOOD-PACKAGE", "KZT", "RELIEF-GOODS"}
        assert (commodities["RELIEF-GOODS"]["exponent"], commodities["RELIEF-GOODS"]["measure"]) == (3, "t")
        assert commodities["KZT"]["kind"] == "currency"
        text = path.read_text(encoding="utf-8")
        assert "  Assets:Stock:RELIEF-GOODS:FLOOD  12.345 RELIEF-GOODS\n" in text
        assert "  Income:Donations:CASH-AID  -250000.55 KZT\n" in text


class TestAssertionsBite:
    @pytest.mark.parametrize("corruption", ["posting", "assertion"])
    def test_one_minor_unit_off_fails_bean_check(
        self, exported: tuple[Ledger, Path, ExportSummary], corruption: str
    ) -> None:
        """Moving one tiyn between two postings (the transaction still balances) or off one assertion fails."""
        _, path, _ = exported
        text = path.read_text(encoding="utf-8")
        if corruption == "posting":
            old = "  Assets:Bank:CASH-AID  250000.55 KZT\n  Income:Donations:CASH-AID  -250000.55 KZT\n"
            new = "  Assets:Bank:CASH-AID  250000.56 KZT\n  Income:Donations:CASH-AID  -250000.56 KZT\n"
        else:
            match = re.search(r"balance Assets:Stock:RELIEF-GOODS:FLOOD  (\S+) ~ 0", text)
            assert match is not None
            old = match.group(0)
            new = old.replace(match.group(1), str(Decimal(match.group(1)) + Decimal("0.001")))
        assert text.count(old) == 1
        path.write_text(text.replace(old, new), encoding="utf-8")
        result = bean_check(path)
        assert result.returncode != 0
        assert "Balance failed" in result.stdout + result.stderr
        _, errors = load(path)
        assert len(errors) == (2 if corruption == "posting" else 1)
        assert all(e.message.startswith("Balance failed") for e in errors)


class TestSnapshot:
    def test_as_of_exports_the_ledger_at_that_time(self, aid_ledger: Ledger, tmp_path: Path) -> None:
        """With as_of, only entries effective by then, asserted against trial_balance(as_of=...)."""
        path = tmp_path / "april.beancount"
        cut = almaty(4, 30, 23, 59)
        summary = export(aid_ledger, path, window=Window(as_of=cut))
        entries, errors = load(path)
        assert errors == []
        assert bean_check(path).returncode == 0
        assert beancount_totals(entries) == totals_of(aid_ledger.trial_balance(as_of=cut))
        expected = [p for p in aid_ledger.entries() if p.entry.effective_at <= cut]
        assert summary.entries == len(expected) < summary.head_seq
        assert {e.date for e in entries if isinstance(e, data.Balance)} == {dt.date(2020, 5, 1)}
        assert summary.window.as_of == cut

    def test_known_at_reproduces_an_earlier_export(self, aid_ledger: Ledger, tmp_path: Path) -> None:
        """An export with known_at set to an earlier recorded time holds exactly the entries known then."""
        posted = list(aid_ledger.entries())
        known = posted[19].recorded_at
        expected = [p for p in posted if p.recorded_at <= known]
        summary = export(aid_ledger, tmp_path / "then.beancount", window=Window(known_at=known))
        entries, errors = load(tmp_path / "then.beancount")
        assert errors == []
        assert summary.entries == len(expected)
        assert beancount_totals(entries) == totals_of(aid_ledger.trial_balance(known_at=known))
        again = io.StringIO()
        export_beancount(aid_ledger, again, window=Window(known_at=known))
        assert again.getvalue() == (tmp_path / "then.beancount").read_text(encoding="utf-8")

    def test_entries_posted_during_the_export_are_left_out(
        self, aid_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An entry committed while the export runs is in neither the transactions nor the assertions."""
        head = aid_ledger.head().seq
        read = Ledger.trial_balance

        def read_then_post(self: Ledger, **kwargs: Any) -> Any:
            found = read(self, **kwargs)
            bank, income = self.account("Assets:Bank:KZT"), self.account("Revenue:Donations:KZT")
            money = Money("1.00", "KZT")
            general = self.fund("GENERAL")
            self.post(
                JournalEntry(
                    kind="donation",
                    effective_at=almaty(4, 20),
                    postings=[Posting.debit(bank, general, money), Posting.credit(income, general, money)],
                    actor="late",
                )
            )
            return found

        monkeypatch.setattr(Ledger, "trial_balance", read_then_post)
        summary = export(aid_ledger, tmp_path / "busy.beancount")
        monkeypatch.undo()
        assert aid_ledger.head().seq == head + 1
        assert summary.head_seq == summary.entries == head
        (newest,) = aid_ledger.entries(after_seq=head - 1, limit=1)
        assert summary.window.known_at == newest.recorded_at
        assert bean_check(tmp_path / "busy.beancount").returncode == 0

    def test_an_inconsistent_snapshot_is_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With a frozen clock, a late entry shares the cut-off recorded time; the export notices and raises."""
        frozen = pendulum.datetime(2021, 1, 1, tz="UTC")
        with Ledger.open(f"sqlite:///{tmp_path / 'frozen.db'}", clock=lambda: frozen) as ledger:
            kzt = currency("KZT")
            bank = ledger.add_account(Account("Assets:Bank:KZT", AccountType.ASSET, kzt))
            income = ledger.add_account(Account("Revenue:Donations:KZT", AccountType.REVENUE, kzt))
            general = ledger.add_fund(Fund("GENERAL"))

            def donation() -> JournalEntry:
                money = Money("5.00", kzt)
                return JournalEntry(
                    kind="donation",
                    effective_at=almaty(4, 1),
                    postings=[Posting.debit(bank, general, money), Posting.credit(income, general, money)],
                    actor="cashier",
                )

            ledger.post(donation())
            read = Ledger.trial_balance

            def read_then_post(self: Ledger, **kwargs: Any) -> Any:
                found = read(self, **kwargs)
                self.post(donation())
                return found

            monkeypatch.setattr(Ledger, "trial_balance", read_then_post)
            with pytest.raises(StorageError, match="changed while it was exported"):
                export_beancount(ledger, io.StringIO())

    def test_reads_the_journal_a_page_at_a_time(
        self, aid_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Entries are read in bounded pages, and paging does not change a byte of the output."""
        whole = io.StringIO()
        summary = export_beancount(aid_ledger, whole)
        limits: list[int | None] = []
        entries = Ledger.entries

        def spy(self: Ledger, *, after_seq: int = 0, limit: int | None = None, **filters: Any) -> Any:
            limits.append(limit)
            return entries(self, after_seq=after_seq, limit=limit, **filters)

        monkeypatch.setattr(Ledger, "entries", spy)
        monkeypatch.setattr(_common, "_PAGE", 4)
        paged = io.StringIO()
        assert export_beancount(aid_ledger, paged, window=summary.window) == summary
        assert paged.getvalue() == whole.getvalue()
        assert limits and all(limit is not None and limit <= 4 for limit in limits)


class TestArguments:
    def test_empty_ledger(self, tmp_path: Path) -> None:
        """An empty ledger exports to a file bean-check accepts, with nothing in it."""
        with Ledger.open(f"sqlite:///{tmp_path / 'empty.db'}") as ledger:
            summary = export(ledger, tmp_path / "empty.beancount")
        assert (summary.entries, summary.postings, summary.assertions, summary.window.known_at) == (0, 0, 0, None)
        assert bean_check(tmp_path / "empty.beancount").returncode == 0

    @pytest.mark.parametrize(
        ("call", "error", "message"),
        [
            (lambda ledger: export_beancount("sqlite://", io.StringIO()), InvalidArgument, "expected a Ledger"),  # type: ignore[arg-type]
            (lambda ledger: export_beancount(ledger, "out.beancount"), InvalidArgument, "text stream"),  # type: ignore[arg-type]
            (
                lambda ledger: export_beancount(ledger, io.StringIO(), window=Window(as_of=dt.datetime(2020, 1, 1))),
                InvalidTime,
                "as_of",
            ),
            (
                lambda ledger: export_beancount(ledger, io.StringIO(), window=Window(known_at=dt.datetime(2020, 1, 1))),
                InvalidTime,
                "known_at",
            ),
            (
                lambda ledger: export_beancount(ledger, io.StringIO(), window=Window(as_of="2020-01-01")),
                InvalidTime,
                "as_of",
            ),  # type: ignore[arg-type]
        ],
    )
    def test_bad_arguments_raise_typed_errors(self, call: Any, error: type[Exception], message: str) -> None:
        """A non-Ledger, a non-stream, a naive or non-datetime cut-off: InvalidArgument (InvalidTime for times)."""
        with Ledger.open("sqlite://") as ledger, pytest.raises(error, match=message):
            call(ledger)
        assert issubclass(error, InvalidArgument)

    def test_the_currency_stays_where_the_chart_keeps_an_account_without_it(self) -> None:
        """Assets:Bank and Assets:Bank:KZT, both in tenge, are written as Assets:Bank and Assets:Bank:KZT."""
        with Ledger.open("sqlite://") as ledger:
            bare, bank = (
                ledger.add_account(Account(c, AccountType.ASSET, currency("KZT")))
                for c in ("Assets:Bank", "Assets:Bank:KZT")
            )
            income = ledger.add_account(Account("Revenue:Gifts", AccountType.REVENUE, currency("KZT")))
            fund = ledger.add_fund(Fund("GENERAL"))
            for account in (bare, bank):
                ledger.post(
                    JournalEntry(
                        kind="donation",
                        effective_at=almaty(4, 1),
                        postings=[
                            Posting.debit(account, fund, Money("1", "KZT")),
                            Posting.credit(income, fund, Money("1", "KZT")),
                        ],
                        actor="cashier",
                    )
                )
            out = io.StringIO()
            export_beancount(ledger, out)
            entries, errors, _ = loader.load_string(out.getvalue())
            assert errors == []
            assert {e.account: e.meta["account"] for e in entries if isinstance(e, data.Open)} == {
                "Assets:Bank:GENERAL": "Assets:Bank",
                "Assets:Bank:KZT:GENERAL": "Assets:Bank:KZT",
                "Income:Gifts:GENERAL": "Revenue:Gifts",
            }

    @pytest.mark.parametrize(
        ("accounts", "funds", "message"),
        [
            (["Assets:cash_box", "Assets:Cash-box"], ["GENERAL"], "would both be written as 'Assets:Cash-box'"),
            (["Bank:KZT", "Assets:Bank:KZT", "Assets:Bank"], ["GENERAL"], "would both be written as 'Assets:Bank:KZT'"),
            (["Assets:Bank"], ["AID_1", "AID-1"], "funds 'AID-1' and 'AID_1'"),
            (["Assets:Bank", "Assets:Bank:KZT:X"], ["KZT", "X"], "a parent of account 'Assets:Bank:KZT:X'"),
        ],
    )
    def test_colliding_names_are_refused_before_writing(
        self, accounts: list[str], funds: list[str], message: str
    ) -> None:
        """Two ledger accounts or funds that would share a Beancount name, or nest, raise InvalidArgument."""
        with Ledger.open("sqlite://") as ledger:
            for code in accounts:
                ledger.add_account(Account(code, AccountType.ASSET, currency("KZT")))
            for code in funds:
                ledger.add_fund(Fund(code))
            out = io.StringIO()
            with pytest.raises(InvalidArgument, match=message):
                export_beancount(ledger, out)
            assert out.getvalue() == ""


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60))
def test_any_memo_reads_back_exactly(memo: str) -> None:
    """Whatever a memo holds (quotes, backslashes, line breaks, control and bidi characters), it loads back as is."""
    text = (
        "2020-01-01 open Assets:Cash KZT\n2020-01-01 open Income:Gifts KZT\n"
        f"2020-01-02 * {bc._string(memo)}\n  key: {bc._string(memo)}\n"
        "  Assets:Cash  1.00 KZT\n  Income:Gifts  -1.00 KZT\n"
    )
    entries, errors, _ = loader.load_string(text)
    assert errors == []
    (transaction,) = (e for e in entries if isinstance(e, data.Transaction))
    assert (transaction.narration, transaction.meta["key"]) == (memo, memo)
