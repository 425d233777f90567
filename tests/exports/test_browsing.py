"""The demo's books as an auditor browses them: Fava opens the Beancount file without an error, and totals by
programme, region and donor filtered in Beancount (metadata and bean-query) and in hledger (``tag:``) are the
library's audit totals to the minor unit."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from fava.core import FavaLedger

from aidledger import (
    FOOD_PACKAGE,
    Account,
    AccountType,
    Aid,
    CampaignPlan,
    Flow,
    InvalidArgument,
    JournalEntry,
    Ledger,
    Money,
    Posting,
    Pseudonymizer,
    audit_totals,
    run_campaign,
)
from aidledger.exports.beancount import export_beancount
from aidledger.exports.hledger import export_hledger
from tests.conftest import BACKENDS, new_url
from tests.exports.conftest import almaty

KEYS = Pseudonymizer({1: bytes(range(32))})
PLAN = CampaignPlan.scaled("0.001")
BEAN_QUERY = Path(sys.executable).with_name("bean-query")
HLEDGER = shutil.which("hledger") or "/usr/bin/hledger"
#: The dimensions an auditor totals by, with the side of the books each is checked on.
DIMENSIONS = [("programme", Flow.SPENT), ("region", Flow.SPENT), ("donor", Flow.RECEIVED)]

Totals = dict[tuple[str, str], Decimal]


@pytest.fixture(scope="module", params=BACKENDS)
def books(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_database: str | None
) -> Iterator[tuple[Ledger, Path, Path, FavaLedger]]:
    """The demo campaign at 1/1000 on each backend, exported to Beancount and hledger, and loaded by Fava."""
    folder = tmp_path_factory.mktemp("books")
    with Ledger.open(new_url(str(request.param), folder, pg_database)) as ledger:
        run_campaign(Aid(ledger, approval_threshold=Money("100000000", "KZT")), PLAN, keys=KEYS)
        beancount, journal = folder / "books.beancount", folder / "books.journal"
        with beancount.open("w", encoding="utf-8") as out:
            export_beancount(ledger, out)
        with journal.open("w", encoding="utf-8") as out:
            export_hledger(ledger, out)
        yield ledger, beancount, journal, FavaLedger(str(beancount))


def library(ledger: Ledger, dimension: str, flow: Flow) -> Totals:
    """What ``aidledger report --by <dimension>`` says: {(value, unit): amount}, groups with the tag only."""
    rows = audit_totals(ledger, flow=flow, by=[dimension]).rows
    return {(row[dimension], row.amount.unit.code): row.amount.value for row in rows if row[dimension] is not None}


def root_of(flow: Flow) -> tuple[str, int]:
    return ("Expenses", 1) if flow is Flow.SPENT else ("Income", -1)


def from_metadata(entries: list[data.Directive], dimension: str, flow: Flow) -> Totals:
    """Totals from filtering the loaded transactions on their metadata, as Fava's filter does."""
    root, sign = root_of(flow)
    found: Totals = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction) and dimension in entry.meta:
            for posting in entry.postings:
                if posting.account.startswith(root + ":") and posting.units is not None:
                    assert isinstance(posting.units.number, Decimal)
                    found[(entry.meta[dimension], posting.units.currency)] += sign * posting.units.number
    return {key: value for key, value in found.items() if value}


def from_bean_query(path: Path, dimension: str, flow: Flow) -> Totals:
    """Totals from bean-query's ``ANY_META``."""
    root, sign = root_of(flow)
    query = (
        f"SELECT ANY_META('{dimension}') AS value, currency, sum(number) AS total "
        f"WHERE account ~ '^{root}:' AND ANY_META('{dimension}') IS NOT NULL GROUP BY value, currency"
    )
    result = subprocess.run([str(BEAN_QUERY), "-f", "csv", str(path), query], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    return {(value, unit): sign * Decimal(total) for value, unit, total in rows[1:] if Decimal(total)}


def hledger_regex(value: str) -> str:
    """``value`` as an exact hledger tag-value regex."""
    return "^" + re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", value) + "$"


def from_hledger(path: Path, dimension: str, flow: Flow, values: set[str]) -> Totals:
    """Totals from ``hledger bal <root> tag:<dimension>=^value$``, one query per value."""
    root, sign = root_of(flow)
    found: Totals = {}
    for value in values:
        query = f"tag:{dimension}={hledger_regex(value)}"
        args = [HLEDGER, "-f", str(path), "bal", f"^{root}(:|$)", query, "--depth", "1", "--layout=bare", "-O", "csv"]
        result = subprocess.run(args, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        for account, unit, total in list(csv.reader(io.StringIO(result.stdout)))[1:]:
            if account == root and Decimal(total):
                found[(value, unit)] = sign * Decimal(total)
    return found


class TestFava:
    def test_fava_loads_the_books_without_an_error(self, books: tuple[Ledger, Path, Path, FavaLedger]) -> None:
        """Fava's own loader reports no error, the operating currency is the ledger's and the title is set."""
        _, _, _, fava = books
        assert fava.errors == []
        assert fava.options["operating_currency"] == ["KZT"]
        assert fava.options["title"].startswith("Aid funds: ")

    def test_every_transaction_says_what_it_is(self, books: tuple[Ledger, Path, Path, FavaLedger]) -> None:
        """No transaction lacks both payee and narration; payments to households have no payee at all."""
        _, _, _, fava = books
        transactions = [e for e in fava.all_entries if isinstance(e, data.Transaction)]
        assert transactions
        assert all(t.narration for t in transactions)
        assert all(t.payee is None for t in transactions if t.meta["kind"] == "payment")
        assert any(t.payee == "Diaspora fund" for t in transactions)

    def test_payment_lists_are_links(self, books: tuple[Ledger, Path, Path, FavaLedger]) -> None:
        """Every payment carries its list as a link, so Fava groups a list's payments."""
        _, _, _, fava = books
        payments = [e for e in fava.all_entries if isinstance(e, data.Transaction) and e.meta["kind"] == "payment"]
        assert payments
        assert all(f"list-{p.meta['list']}" in p.links for p in payments)


@pytest.mark.skipif(not Path(HLEDGER).exists(), reason="hledger is not installed")
@pytest.mark.parametrize(("dimension", "flow"), DIMENSIONS)
def test_totals_by_dimension_equal_the_library(
    books: tuple[Ledger, Path, Path, FavaLedger], dimension: str, flow: Flow
) -> None:
    """Filtering the books on a dimension (metadata, bean-query, hledger tag:) gives the audit totals exactly."""
    ledger, beancount, journal, fava = books
    expected = library(ledger, dimension, flow)
    assert len({value for value, _ in expected}) > 1
    assert from_metadata(fava.all_entries, dimension, flow) == expected
    assert from_bean_query(beancount, dimension, flow) == expected
    assert from_hledger(journal, dimension, flow, {value for value, _ in expected}) == expected


AWKWARD = [
    "ТОО «Береке», Алматы",
    "Береке: филиал №2",
    "key: value: more",
    'say "hi" \\ then',
    "two\nlines",
    " edges ",
    "a|b;c",
]


@pytest.mark.skipif(not Path(HLEDGER).exists(), reason="hledger is not installed")
def test_awkward_tag_values_round_trip_through_both_tools(aid: Aid, tmp_path: Path) -> None:
    """Commas, colons, quotes, Cyrillic and line breaks in a tag value: Beancount reads the value back exactly,
    hledger reads back the JSON-escaped text (decoding gives the value) and its tag query finds the entry."""
    for number, donor in enumerate(AWKWARD):
        aid.donate("GENERAL", Money("100", "KZT"), donor=donor, actor="cashier", key=f"awkward:{number}",
                   on=almaty(4, 1 + number))  # fmt: skip
    beancount, journal = tmp_path / "awkward.beancount", tmp_path / "awkward.journal"
    with beancount.open("w", encoding="utf-8") as out:
        export_beancount(aid.ledger, out)
    with journal.open("w", encoding="utf-8") as out:
        export_hledger(aid.ledger, out)
    fava = FavaLedger(str(beancount))
    assert fava.errors == []
    transactions = [e for e in fava.all_entries if isinstance(e, data.Transaction)]
    assert [t.meta["donor"] for t in transactions] == AWKWARD
    assert [t.payee for t in transactions] == [donor.strip() for donor in AWKWARD]
    result = subprocess.run([HLEDGER, "-f", str(journal), "print", "-O", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    read = [dict(t["ttags"])["donor"] for t in json.loads(result.stdout) if "donor" in dict(t["ttags"])]
    assert [json.loads(f'"{value}"') for value in read] == AWKWARD
    assert read[1:3] == AWKWARD[1:3]  # no comma, quote, backslash, line break or edge space: written as is
    for value in read:
        assert from_hledger(journal, "donor", Flow.RECEIVED, {value}) == {(value, "KZT"): Decimal("100.00")}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"operating_currency": "XYZ"}, "operating currency must be the code of a currency the ledger uses, got 'XYZ'"),
        ({"operating_currency": "FOOD-PACKAGE"}, "got 'FOOD-PACKAGE'"),
        ({"title": "two\nlines"}, "title must be one line of text"),
        ({"title": " "}, "title must be one line of text"),
    ],
)
def test_bad_options_are_refused_before_writing(aid: Aid, options: dict[str, object], message: str) -> None:
    """An operating currency the ledger does not use (or goods), or a title that is not one line: InvalidArgument."""
    aid.donate("GENERAL", Money("100", "KZT"), donor="Someone", actor="cashier", on=almaty(4, 1))
    aid.ledger.add_account(Account("Assets:Stock:FOOD-PACKAGE", AccountType.ASSET, FOOD_PACKAGE))
    out = io.StringIO()
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        export_beancount(aid.ledger, out, **options)  # type: ignore[arg-type]
    assert out.getvalue() == ""


def test_the_operating_currency_and_title_can_be_given(aid: Aid) -> None:
    """Given, they are written as the options Fava reads."""
    aid.donate("GENERAL", Money("100", "KZT"), donor="Someone", actor="cashier", on=almaty(4, 1))
    out = io.StringIO()
    export_beancount(aid.ledger, out, operating_currency="KZT", title='Fund "Береке", 2020')
    assert '\noption "title" "Fund \\"Береке\\", 2020"\noption "operating_currency" "KZT"\n' in out.getvalue()


@pytest.mark.skipif(not Path(HLEDGER).exists(), reason="hledger is not installed")
def test_tags_that_cannot_be_keys_go_into_entry_tags(aid: Aid, tmp_path: Path) -> None:
    """A tag named like an entry field, or with a dot, is kept in entry-tags (JSON); the others are keys."""
    bank, income = aid.chart.bank(aid.currency), aid.chart.donations(aid.currency)
    general = aid.ledger.fund("GENERAL")
    tags = {"programme": "P-1", "memo": "not the memo", "a.b": "dotted", "kind": "not the kind"}
    aid.ledger.post(
        JournalEntry(
            kind="donation",
            effective_at=almaty(4, 1),
            postings=[
                Posting.debit(bank, general, Money("5", "KZT")),
                Posting.credit(income, general, Money("5", "KZT")),
            ],
            actor="cashier",
            memo="the memo",
            tags=tags,
        )
    )
    out = io.StringIO()
    export_beancount(aid.ledger, out)
    entries, errors, _ = loader.load_string(out.getvalue())
    assert errors == []
    (found,) = (e for e in entries if isinstance(e, data.Transaction))
    assert (found.meta["programme"], found.meta["memo"], found.meta["kind"]) == ("P-1", "the memo", "donation")
    assert json.loads(found.meta["entry-tags"]) == {"memo": "not the memo", "a.b": "dotted", "kind": "not the kind"}
    journal = tmp_path / "tags.journal"
    with journal.open("w", encoding="utf-8") as stream:
        export_hledger(aid.ledger, stream)
    result = subprocess.run([HLEDGER, "-f", str(journal), "print", "-O", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (transaction,) = (t for t in json.loads(result.stdout) if not t["tdescription"].startswith("balance"))
    read = dict(transaction["ttags"])
    assert (read["programme"], read["memo"], read["kind"]) == ("P-1", "the memo", "donation")
    assert json.loads(json.loads(f'"{read["entry-tags"]}"')) == {
        "memo": "not the memo",
        "a.b": "dotted",
        "kind": "not the kind",
    }
