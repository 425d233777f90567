"""Hostile content: texts built to break SQL, encodings or HTML are stored and read back exactly, or refused with a
typed error that writes nothing; the HTML report shows them as text in a real browser and runs nothing."""

from __future__ import annotations

import html
import html.parser
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from aidledger import (
    Account,
    AccountType,
    Aid,
    AidLedgerError,
    Claim,
    Flow,
    Fund,
    JournalEntry,
    Ledger,
    PaymentLine,
    Posting,
    audit_totals,
    export_html,
    reconcile,
    verify,
)
from tests.conftest import KZT, T0
from tests.exports.test_html import Proxy, chromium
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, KEYS, kzt

#: Texts that break naive SQL, drivers, encodings, terminals or limits.
HOSTILE = {
    "sql injection": "'; DROP TABLE entries; --",
    "sql in parentheses": "Robert'); DELETE FROM postings WHERE ('1' = '1",
    "driver placeholders": "%s %(x)s ? :name $1 {0}",
    "quotes and backslashes": "\\'\" `x` $$ \\0 \\x00",
    "nul byte": "before\x00after",
    "right-to-left override": "invoice \u202egnp.exe\u202c for \u200fمرحبا\u200f",
    "zero-width and byte-order mark": "\u200b\ufeffzero\u200dwidth",
    "emoji": "🏠 family 👨\u200d👩\u200d👧 💸 🇰🇿",
    "lone surrogate": "half \ud800 a pair",
    "combining marks": "e\u0301 Z\u0335\u0321a\u0334",
    "newlines and tabs": "one\ntwo\r\nthree\tfour\r",
    "control characters": "\x1b[31mred\x1b[0m \x07 \x08",
    "html": "<script>document.title='pwned'</script><img src=x onerror=alert(1)>",
    "10,000 characters": ("Тенге ₸ 🏠 " * 1000)[:10_000],
    "10,001 characters": "x" * 10_001,
}

#: Refused in every text column: PostgreSQL cannot store NUL, no encoding holds an unpaired surrogate, and no
#: text is longer than 10,000 characters.  (A record's body is JSON, where NUL is written as an escape.)
ALWAYS_REFUSED = {"nul byte", "lone surrogate", "10,001 characters"}
JSON_FIELDS = {"record body"}

#: Once refused with a raw UnicodeEncodeError instead of a typed error (fixed; test_known_gaps keeps them fixed).
KNOWN_GAPS = {
    ("account name", "lone surrogate"): "Account names are not checked for unpaired surrogates (UnicodeEncodeError)",
    ("fund name", "lone surrogate"): "Fund names are not checked for unpaired surrogates (UnicodeEncodeError)",
    ("record body", "lone surrogate"): "Record bodies are not checked for unpaired surrogates (UnicodeEncodeError)",
}


@pytest.fixture
def chart(ledger: Ledger) -> tuple[Account, Account, Fund]:
    """The bank and donation accounts of aid operations, and an unrestricted fund."""
    aid = Aid(ledger)
    return aid.chart.bank(KZT), aid.chart.donations(KZT), aid.create_fund("GENERAL")


class Field:
    """One place a caller's text goes: how to store it, and how to read it back from a freshly opened ledger.

    ``prepare`` does the legitimate writes the attempt needs first (a maker's submission before a checker's
    decision); only what ``store`` writes must be nothing when it is refused.
    """

    def __init__(
        self,
        store: Callable[[Ledger, str, int], object],
        read: Callable[[Ledger, object, int], object],
        prepare: Callable[[Ledger, int], object] = lambda ledger, n: None,
    ) -> None:
        self.store, self.read, self.prepare = store, read, prepare


def entry_with(bank: Account, donations: Account, general: Fund, number: int, **fields: object) -> JournalEntry:
    """A donation of a little over ``number`` KZT, with the given entry fields."""
    money = kzt(f"{number}.01")
    options: dict[str, object] = {"actor": "tester", "kind": "donation", **fields}
    return JournalEntry(
        effective_at=T0,
        postings=[Posting.debit(bank, general, money), Posting.credit(donations, general, money)],
        **options,  # type: ignore[arg-type]
    )


def fields(bank: Account, donations: Account, general: Fund) -> dict[str, Field]:
    """Every text field a caller can fill, with its way in and its way back."""

    def post(ledger: Ledger, number: int, **given: object) -> str:
        return ledger.post(entry_with(bank, donations, general, number, **given)).id

    def entry(ledger: Ledger, stored: object) -> JournalEntry:
        assert isinstance(stored, str)
        return ledger.entry(stored).entry

    def add_account(ledger: Ledger, text: str, n: int) -> str:
        account = ledger.add_account(Account(f"Expenses:Hostile{n}", AccountType.EXPENSE, KZT, name=text))
        ledger.post(entry_with(account, donations, general, n))  # the name is hashed into the chain with the entry
        return account.code

    def add_fund(ledger: Ledger, text: str, n: int) -> str:
        fund = ledger.add_fund(Fund(f"HOSTILE-{n}", name=text))
        ledger.post(entry_with(bank, donations, fund, n))
        return fund.code

    def donate(ledger: Ledger, text: str, n: int) -> str:
        return Aid(ledger).donate(general, kzt(f"{n}"), donor=text, on=APRIL, actor="cashier").id

    def submit(ledger: Ledger, n: int) -> object:
        return ledger.submit([entry_with(bank, donations, general, n, actor="maker")], actor="maker", code=f"b-{n}")

    def approve(ledger: Ledger, text: str, n: int) -> str:
        return ledger.approve(f"b-{n}", checker=text).posted[0].id

    def keyed(ledger: Ledger, text: str, n: int) -> str:
        first = post(ledger, n, idempotency_key=text)
        assert post(ledger, n, idempotency_key=text) == first  # a retry returns the first entry
        return text

    def keyed_read(ledger: Ledger, stored: object, n: int) -> object:
        assert isinstance(stored, str)
        found = ledger.entry_by_key(stored)
        return None if found is None else found.entry.idempotency_key

    return {
        "account name": Field(add_account, lambda ledger, code, n: ledger.account(str(code)).name),
        "fund name": Field(add_fund, lambda ledger, code, n: ledger.fund(str(code)).name),
        "memo": Field(lambda ledger, text, n: post(ledger, n, memo=text), lambda ledger, s, n: entry(ledger, s).memo),
        "actor": Field(
            lambda ledger, text, n: post(ledger, n, actor=text), lambda ledger, s, n: entry(ledger, s).actor
        ),
        "source": Field(
            lambda ledger, text, n: post(ledger, n, source=text), lambda ledger, s, n: entry(ledger, s).source
        ),
        "tag": Field(
            lambda ledger, text, n: post(ledger, n, tags={"region": text}),
            lambda ledger, s, n: entry(ledger, s).tags["region"],
        ),
        "claim key": Field(
            lambda ledger, text, n: post(ledger, n, claims=[Claim("programme", text)]),
            lambda ledger, s, n: entry(ledger, s).claims[0].key,
        ),
        "donor": Field(donate, lambda ledger, s, n: entry(ledger, s).tags["donor"]),
        "checker": Field(approve, lambda ledger, s, n: entry(ledger, s).approved_by, prepare=submit),
        "idempotency key": Field(keyed, keyed_read),
        "record body": Field(
            lambda ledger, text, n: ledger.put_record("note", f"n-{n}", {"text": text}, actor="a").code,
            lambda ledger, code, n: ledger.record("note", str(code)).body["text"],  # type: ignore[union-attr]
        ),
    }


FIELDS = [
    "account name",
    "fund name",
    "memo",
    "actor",
    "source",
    "tag",
    "claim key",
    "donor",
    "checker",
    "idempotency key",
    "record body",
]


def outcomes(ledger: Ledger, url: str, field: str) -> dict[str, str]:
    """Each hostile text in ``field``: ``exact`` if read back unchanged after reopening, ``refused`` if a typed error
    left every table as it was, otherwise what went wrong."""
    way = fields(*chart_of(ledger))[field]
    stored: dict[str, object] = {}
    found: dict[str, str] = {}
    for number, (name, text) in enumerate(HOSTILE.items(), start=1):
        way.prepare(ledger, number)
        before = snapshot(ledger)
        try:
            stored[name] = way.store(ledger, text, number)
        except AidLedgerError:
            found[name] = "refused" if snapshot(ledger) == before else "refused, but something was written"
        except Exception as error:  # an untyped error is the finding
            found[name] = f"untyped {type(error).__name__}"
    with Ledger.open(url) as fresh:
        for number, (name, text) in enumerate(HOSTILE.items(), start=1):
            if name in stored:
                back = way.read(fresh, stored[name], number)
                found[name] = "exact" if back == text else f"changed to {back!r}"
        assert verify(fresh).ok
        assert reconcile(fresh).ok
    return found


@pytest.mark.parametrize("field", FIELDS)
def test_stored_exactly_or_refused(ledger: Ledger, url: str, chart: object, field: str) -> None:
    """Each hostile text in each field is read back exactly or refused by a typed error that writes nothing."""
    found = outcomes(ledger, url, field)
    gaps = {name for (where, name) in KNOWN_GAPS if where == field}
    wrong = {name: what for name, what in found.items() if what not in ("exact", "refused") and name not in gaps}
    assert wrong == {}
    if field not in JSON_FIELDS:
        assert {name for name, what in found.items() if what == "refused"} >= ALWAYS_REFUSED - gaps
    assert found["sql injection"] == found["sql in parentheses"] == found["driver placeholders"] == "exact"
    if field == "memo":
        assert found["10,000 characters"] == "exact"


@pytest.mark.parametrize("field", sorted({where for where, _ in KNOWN_GAPS}))
def test_known_gaps(ledger: Ledger, url: str, chart: object, field: str) -> None:
    """An account or fund name, or a record body, with an unpaired surrogate is refused with a typed error too."""
    found = outcomes(ledger, url, field)
    assert {name: found[name] for (where, name) in KNOWN_GAPS if where == field} == {
        name: "refused" for (where, name) in KNOWN_GAPS if where == field
    }


@pytest.mark.parametrize(
    "code",
    ["Assets:'; DROP TABLE entries; --", "Assets:Bank\x00", "Assets:🏠", "Assets:\u202eKZT", "A" * 10_000, "Ünïcode"],
)
def test_hostile_codes_are_refused(ledger: Ledger, code: str) -> None:
    """Account and fund codes are identifiers: anything else is refused with InvalidArgument before the database."""
    before = snapshot(ledger)
    with pytest.raises(AidLedgerError, match="code must be letters"):
        ledger.add_account(Account(code, AccountType.ASSET, KZT))
    with pytest.raises(AidLedgerError, match="code must be letters"):
        ledger.add_fund(Fund(code.replace(":", "-")))
    assert snapshot(ledger) == before


@pytest.mark.parametrize(
    "make",
    [
        lambda ledger: Account("Assets:Bank\n", AccountType.ASSET, KZT),
        lambda ledger: Fund("GENERAL\n"),
        lambda ledger: entry_with(*chart_of(ledger), 1, kind="donation\n"),
        lambda ledger: entry_with(*chart_of(ledger), 1, tags={"region\n": "north"}),
        lambda ledger: ledger.put_record("note\n", "n-1", {}, actor="a"),
    ],
    ids=["account code", "fund code", "entry kind", "tag name", "record kind"],
)
def test_identifiers_with_a_final_newline_are_refused(
    ledger: Ledger, chart: object, make: Callable[[Ledger], object]
) -> None:
    """An account or fund code, entry kind, tag name or record kind that ends in a newline is refused."""
    with pytest.raises(AidLedgerError):
        make(ledger)


def chart_of(ledger: Ledger) -> tuple[Account, Account, Fund]:
    return ledger.account("Assets:Bank:KZT"), ledger.account("Revenue:Donations:KZT"), ledger.fund("GENERAL")


def test_tables_survive_and_totals_group_by_the_exact_text(ledger: Ledger, chart: object) -> None:
    """After every injection attempt the journal's tables are all there, and a donor named like SQL is one group."""
    aid = Aid(ledger)
    for _ in range(2):
        aid.donate("GENERAL", kzt("10"), donor=HOSTILE["sql injection"], on=APRIL, actor="cashier")
    aid.donate("GENERAL", kzt("5"), donor=HOSTILE["driver placeholders"], on=APRIL, actor="cashier")
    totals = audit_totals(ledger, flow=Flow.RECEIVED, by=["donor"])
    assert {row.group["donor"]: row.amount for row in totals.rows} == {
        HOSTILE["sql injection"]: kzt("20"),
        HOSTILE["driver placeholders"]: kzt("5"),
    }
    names = set(sa.inspect(ledger.engine).get_table_names())
    assert {"entries", "postings", "entry_tags", "accounts", "funds", "ledger_head"} <= names
    assert verify(ledger).ok


# -- the HTML report in a real browser ---------------------------------------------------------------------

SCRIPT = "<script>document.title='pwned'</script>"
IMAGE = "<img src=x onerror=\"document.title='pwned'\">"
FETCH = '<img src="http://evil.example/beacon.png">'
SVG_BREAKOUT = "</text></svg><script>document.title='pwned'</script>"


class Elements(html.parser.HTMLParser):
    """The element names and the text of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Elements:
    found = Elements()
    found.feed(page)
    return found


@pytest.fixture
def network() -> Iterator[Proxy]:
    """A stand-in for the whole network: any request the browser makes reaches it and is counted."""
    server = Proxy()
    yield server
    server.stop()


@pytest.fixture
def hostile_report(tmp_path: Path) -> Path:
    """A report whose donors, fund names, regions, grantees, pledge donors, memos and title are all markup."""
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        aid = Aid(ledger)
        aid.create_fund("GENERAL", name=SCRIPT)
        aid.create_fund("HOUSING", name=IMAGE, purpose="housing")
        aid.create_fund("CASH-AID", name=FETCH, purpose="cash-aid")
        aid.donate("GENERAL", kzt("1000"), donor=SCRIPT, memo=SCRIPT, on=APRIL, actor="cashier")
        aid.donate("HOUSING", kzt("9000"), donor=IMAGE, memo=IMAGE, on=APRIL, actor="cashier", region=SVG_BREAKOUT)
        aid.donate("CASH-AID", kzt("500"), donor=FETCH, memo=FETCH, on=APRIL, actor="cashier")
        aid.release("HOUSING", kzt("10"), to="GENERAL", on=APRIL, actor="board", reason=SVG_BREAKOUT)
        aid.create_programme("P", fund="CASH-AID", purpose="cash-aid", amount=kzt("100"), actor="admin")
        aid.pay("P", [PaymentLine(KEYS.pseudonym("h"), "R", region=SVG_BREAKOUT)], actor="m", on=APRIL, list_code="L")
        aid.commit_grant("G", fund="HOUSING", amount=kzt("100"), purpose="housing", grantee=IMAGE, on=APRIL, actor="d")
        aid.pledge("HOUSING", kzt("50"), code="PL", donor=SCRIPT, on=APRIL, actor="cashier")
        page = tmp_path / "report.html"
        with page.open("w", encoding="utf-8") as out:
            export_html(ledger, out, title=SCRIPT + IMAGE)
    return page


def test_report_shows_markup_as_text_in_chromium(hostile_report: Path, network: Proxy, tmp_path: Path) -> None:
    """Chromium shows hostile texts as text and runs and fetches nothing, even with the page's CSP removed."""
    page = hostile_report.read_text(encoding="utf-8")
    bare = tmp_path / "without-csp.html"
    csp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    assert page.count(csp) == 1
    bare.write_text(page.replace(csp, ""), encoding="utf-8")
    for shown in (hostile_report, bare):
        dom = chromium(shown, network, "--headless", "--dump-dom", "--virtual-time-budget=2000").stdout
        elements = parsed(dom)
        assert {"script", "img"} & set(elements.tags) == set(), shown.name
        assert elements.tags.count("svg") == page.count("<svg"), shown.name
        text = "".join(elements.text)
        assert f"Audit report — {SCRIPT}{IMAGE}" in text  # the title, as text: no script changed it
        for hostile in (SCRIPT, IMAGE, FETCH):
            assert hostile in text, (shown.name, hostile)
        assert "</text></svg><script>" in html.unescape(text)
    assert network.connections == 0
    # The control: the same browser does run an unescaped script in a page without the policy.
    control = tmp_path / "control.html"
    control.write_text(f"<html><head><title>report</title></head><body>{SCRIPT}{FETCH}</body></html>", encoding="utf-8")
    dom = chromium(control, network, "--headless", "--dump-dom", "--virtual-time-budget=2000").stdout
    assert "<title>pwned</title>" in dom and network.connections >= 1
