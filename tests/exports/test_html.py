"""The HTML audit report, opened in a real headless Chromium: charts drawn, no network, hostile text inert."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from PIL import Image

from aidledger import Aid, InvalidArgument, JournalTestOptions, Quantity, ValuationBasis, Window, export_html
from tests.books import PACKAGE
from tests.exports.test_summary import aidledger
from tests.operations.conftest import APRIL, kzt

HOSTILE_DONOR = "<script>document.title='pwned'</script>"
HOSTILE_MEMO = "<img src=x onerror=\"document.title='pwned'\">"
BAR = (0x2B, 0x6C, 0xB0)  # the bars' colour in the page's style sheet


def browser() -> str:
    found = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("headless Chromium is missing: the test command should have installed it")
        pytest.skip("headless Chromium is not installed")
    return found


class Proxy:
    """A listening socket standing in for the whole network: every request the browser makes reaches it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stopped:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def stop(self) -> None:
        self.stopped = True
        self.thread.join()
        self.socket.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    server = Proxy()
    yield server
    server.stop()


def chromium(page: Path, proxy: Proxy, *args: str, width: int = 1200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser(),
            "--no-sandbox",
            "--disable-gpu",
            f"--proxy-server=http://127.0.0.1:{proxy.port}",
            "--proxy-bypass-list=<-loopback>",
            f"--window-size={width},4000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture
def report(books: Aid, tmp_path: Path) -> Path:
    books.donate("GENERAL", kzt("1000"), donor=HOSTILE_DONOR, memo=HOSTILE_MEMO, on=APRIL, actor="cashier")
    page = tmp_path / "report.html"
    with page.open("w", encoding="utf-8") as out:
        summary = export_html(books.ledger, out, title="Fund <b>2020</b>", tz="Asia/Almaty")
    assert summary.ok
    assert summary.charts == 3  # spending by month and by region, fund balances
    return page


class TestReport:
    def test_self_contained(self, report: Path) -> None:
        """No script, no external reference: the only URL is SVG's namespace name, which is never fetched."""
        html = report.read_text(encoding="utf-8")
        assert "default-src 'none'" in html
        lowered = html.lower()
        assert "<script" not in lowered and " src=" not in lowered and " href=" not in lowered
        rest = lowered.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert ("http:" not in rest, "https:" not in rest, "url(" not in rest, "@import" not in rest) == (True,) * 4

    def test_hostile_text_is_escaped(self, report: Path) -> None:
        html = report.read_text(encoding="utf-8")
        assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
        assert "Fund &lt;b&gt;2020&lt;/b&gt;" in html

    def test_renders_in_chromium_with_charts_and_no_network(self, report: Path, proxy: Proxy, tmp_path: Path) -> None:
        """The page draws its bars, shows the hostile donor as text, runs nothing, and asks the network nothing."""
        shot = tmp_path / "report.png"
        chromium(report, proxy, "--headless", f"--screenshot={shot}")
        dom = chromium(report, proxy, "--headless", "--dump-dom").stdout
        assert proxy.connections == 0
        assert "<title>Audit report — Fund &lt;b&gt;2020&lt;/b&gt;</title>" in dom  # not 'pwned'
        assert "<script" not in dom.lower() and "<img" not in dom.lower()
        assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
        assert dom.count("<rect") >= 6
        with Image.open(shot) as image:
            colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
        bars = sum(count for count, colour in colours if colour == BAR)
        assert bars > 2000  # the charts were painted, not just present in the markup

    def test_the_network_detector_works(self, proxy: Proxy, tmp_path: Path) -> None:
        """A page that does fetch something is caught by the stand-in network."""
        page = tmp_path / "fetching.html"
        page.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>', encoding="utf-8")
        chromium(page, proxy, "--headless", "--dump-dom")
        assert proxy.connections >= 1

    def test_empty_ledger(self, aid: Aid) -> None:
        out = io.StringIO()
        summary = export_html(aid.ledger, out)
        assert summary.ok and "Nothing to show." in out.getvalue()

    def test_bad_arguments(self, aid: Aid) -> None:
        with pytest.raises(InvalidArgument, match="expected a Ledger"):
            export_html("x", io.StringIO())  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="open text file"):
            export_html(aid.ledger, "report.html")  # type: ignore[arg-type]


# -- the report an auditor signs: every section, printed amounts, a print style sheet, no overflow at 1,280 px --------

#: Each part of the report, by the id of its section.
SECTIONS = (
    "period", "reconciliation", "charts", "fund-balances", "fund-statements", "received", "spent", "programmes",
    "stock", "grants", "pledges", "journal-tests", "sign-off",
)  # fmt: skip

#: Measures the laid-out page: how far it and anything in it reaches past the window, which chart labels fall
#: outside their chart, and the ids of its parts.  Evaluated through DevTools: the page itself runs no script.
LAYOUT_CHECK = """(() => {
  const view = document.documentElement.clientWidth;
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + ": " + e.textContent.trim().slice(0, 50);
  const outside = [...document.body.querySelectorAll("*")].filter(
    e => e.getBoundingClientRect().right > view + 0.5 || (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 0.5));
  const clipped = [...document.querySelectorAll("svg text")].filter(t => {
    const box = t.getBoundingClientRect(), svg = t.ownerSVGElement.getBoundingClientRect();
    return box.left < svg.left - 0.5 || box.right > svg.right + 0.5 || box.top < svg.top - 0.5
      || box.bottom > svg.bottom + 0.5;
  });
  return {
    view, page: document.documentElement.scrollWidth, print: matchMedia("print").matches,
    outside: outside.map(name), clipped: clipped.map(name), texts: document.querySelectorAll("svg text").length,
    sections: [...document.querySelectorAll("body [id]")].map(e => e.id),
  };
})()"""


class DevTools:
    """A headless Chromium driven through the DevTools protocol on a pipe (its descriptors 3 and 4): no port, no
    library; used to lay a page out at a given width, on screen or as printed, and measure it."""

    def __init__(self, proxy: Proxy) -> None:
        commands, self.commands = os.pipe()
        self.replies, replies = os.pipe()

        def descriptors() -> None:  # in the child: the browser reads commands on 3 and replies on 4
            read, write = os.dup(commands), os.dup(replies)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [browser(), "--headless", "--no-sandbox", "--disable-gpu", f"--proxy-server=http://127.0.0.1:{proxy.port}",
             "--proxy-bypass-list=<-loopback>", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=descriptors, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(commands)
        os.close(replies)
        self.sent = 0
        self.buffer = b""
        page = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]

    def call(self, method: str, session: str | None = None, **params: object) -> dict[str, Any]:
        self.sent += 1
        message = {"id": self.sent, "method": method, "params": params} | ({"sessionId": session} if session else {})
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.replies, 1 << 16)
                assert chunk, f"the browser closed the pipe while answering {method}"
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.sent:
                assert "error" not in reply, reply["error"]
                result: dict[str, Any] = reply["result"]
                return result

    def measure(self, page: Path, width: int, media: str = "screen") -> dict[str, Any]:
        """The page laid out ``width`` CSS pixels wide for ``media`` (screen or print), measured by LAYOUT_CHECK."""
        self.call("Emulation.setDeviceMetricsOverride", self.session, width=width, height=1000, deviceScaleFactor=1,
                  mobile=False)  # fmt: skip
        self.call("Emulation.setEmulatedMedia", self.session, media=media)
        self.call("Page.navigate", self.session, url=page.as_uri())
        loaded = "new Promise(done => document.readyState === 'complete' ? done() : addEventListener('load', done))"
        self.call("Runtime.evaluate", self.session, expression=loaded, awaitPromise=True)
        found = self.call("Runtime.evaluate", self.session, expression=LAYOUT_CHECK, returnByValue=True)
        measured: dict[str, Any] = found["result"]["value"]
        return measured

    def close(self) -> None:
        self.call("Browser.close")
        self.process.wait(timeout=30)
        os.close(self.commands)
        os.close(self.replies)


@pytest.fixture
def devtools(proxy: Proxy) -> Iterator[DevTools]:
    browser()
    opened = DevTools(proxy)
    yield opened
    opened.close()


LONG = "Fund for the reconstruction of Dostyk village, Maktaaral district"
GENERATED = pendulum.datetime(2020, 12, 31, 18, 30, 15, 123456, tz="UTC")


@pytest.fixture
def signed(books: Aid, tmp_path: Path) -> Path:
    """The books with amounts, quantities and names as wide as a real campaign's, and spending in April, May and
    July (none in June), reported with a title, in Almaty time, at a fixed moment."""
    books.donate("GENERAL", kzt("987654321098.76"), donor=LONG, on=APRIL, actor="cashier", region=LONG)
    books.receive_goods(
        "FOOD",
        Quantity("123456789", PACKAGE),
        value=kzt("98765432109.87"),
        basis=ValuationBasis.MARKET_PRICE,
        donor=LONG,
        on=APRIL,
        actor="storekeeper",
    )
    books.pledge("GENERAL", kzt("555555555555.55"), code="PLEDGE-" + "X" * 40, donor=LONG, on=APRIL, actor="cashier")
    books.disburse("DOSTYK", kzt("1000000"), milestone="walls", on=APRIL.add(months=3), actor="treasurer")
    books.deliver("FOOD", Quantity("1", PACKAGE), purpose="food", settlement=LONG, region=LONG, on=APRIL, actor="v")
    page = tmp_path / "signed.html"
    with page.open("w", encoding="utf-8") as out:
        summary = export_html(
            books.ledger, out, title="2020 campaign", tz="Asia/Almaty", generated_at=GENERATED,
            journal=JournalTestOptions(threshold=kzt("10000000"), seed=2020, sample_size=10),
        )  # fmt: skip
    assert summary.ok
    return page


class TestSigned:
    def test_fits_1280_pixels_with_every_section(self, signed: Path, devtools: DevTools, proxy: Proxy) -> None:
        """At 1,280 px nothing reaches past the window (the stock table included) and no chart label is cut off."""
        measured = devtools.measure(signed, 1280)
        assert proxy.connections == 0
        assert measured["page"] == measured["view"] and 1200 <= measured["view"] <= 1280
        assert (measured["outside"], measured["clipped"]) == ([], []) and measured["texts"] > 30
        assert set(SECTIONS) <= set(measured["sections"])

    def test_fits_an_a4_page_in_print(self, signed: Path, devtools: DevTools) -> None:
        """Printed (A4 less the print style sheet's margins: 186 mm, 703 px) nothing reaches past the page either."""
        measured = devtools.measure(signed, 703, "print")
        assert measured["print"] and measured["page"] == measured["view"]
        assert (measured["outside"], measured["clipped"]) == ([], [])

    def test_the_overflow_check_sees_overflow(self, signed: Path, devtools: DevTools) -> None:
        """The same measure in a window too narrow for the widest table does report it."""
        assert devtools.measure(signed, 400)["outside"] != []

    def test_period_generated_time_and_title(self, signed: Path) -> None:
        """Every time is in the zone given, to the second: 18:30:15.123456 UTC is already 2021 in Almaty."""
        text = signed.read_text(encoding="utf-8")
        assert "<h1>Audit report — 2020 campaign</h1>" in text
        assert "<th>Generated</th><td>2021-01-01 00:30:15 +06:00 (Asia/Almaty)</td>" in text
        assert "123456" not in text and "18:30:15" not in text
        assert "<th>Period</th><td>from the first entry, to the last entry; times in Asia/Almaty</td>" in text

    def test_charts_print_their_amounts_and_axes(self, signed: Path) -> None:
        """Each bar's amount is text on the chart (not only a hover title), the value axis has ticks, and June,
        with no spending, is a bar of zero between May and July."""
        svg = signed.read_text(encoding="utf-8").split('<section id="charts">')[1].split("</section>")[0]
        months = re.findall(r'<text class="amount"[^>]*>([^<]*)</text>\n<text[^>]*>(2020-\d\d)</text>', svg)
        assert [month for _, month in months] == ["2020-04", "2020-05", "2020-06", "2020-07"]
        assert {m: a for a, m in months}["2020-06"] == "0.00"
        assert {m: a for a, m in months}["2020-07"] == "1,000,000.00"
        assert '<text class="amount"' in svg and svg.count('class="axis"') >= 2 * 3
        assert ">987,654,321,098.76</text>" in svg  # the general fund's balance, printed by its bar
        assert ">Fund for the reconstruction...</text>" in svg  # a long region, cut to fit beside its bar

    def test_fund_statements_and_journal_tests(self, signed: Path) -> None:
        text = signed.read_text(encoding="utf-8")
        statements = text.split('<section id="fund-statements">')[1].split("</section>")[0]
        assert "<h3>GENERAL — Unrestricted (KZT)</h3>" in statements
        assert statements.count('The statement <span class="ok">reconciles</span>') >= 4
        tests = text.split('<section id="journal-tests">')[1].split("</section>")[0]
        assert "<td>splits under threshold</td>" in tests  # the threshold given was used
        assert "Sample (random, seed 2020, 10 of" in tests
        assert tests.count("<code>") >= 10

    def test_print_style_sheet(self, signed: Path, proxy: Proxy, tmp_path: Path) -> None:
        """The page prints: A4 pages, headers repeated, nothing split mid-row; Chromium prints it to a PDF."""
        text = signed.read_text(encoding="utf-8")
        style = text.split("@media print {")[1].split("</style>")[0]
        for rule in ("@page { size: A4;", "max-width: none", "thead { display: table-header-group; }",
                     "break-inside: avoid", "break-after: avoid"):  # fmt: skip
            assert rule in style
        pdf = tmp_path / "signed.pdf"
        chromium(signed, proxy, "--headless", "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
        assert pdf.read_bytes().startswith(b"%PDF") and proxy.connections == 0

    def test_a_window_and_no_journal_tests(self, books: Aid) -> None:
        out = io.StringIO()
        window = Window(start=APRIL, end=APRIL.add(months=1))
        export_html(books.ledger, out, tz="Asia/Almaty", window=window, journal=None)
        text = out.getvalue()
        assert "from 2020-04-01 09:00:00 +06:00, to 2020-05-01 09:00:00 +06:00 (not included)" in text
        assert "The journal-entry tests were not run for this report." in text

    def test_bad_title_and_zone(self, aid: Aid) -> None:
        with pytest.raises(InvalidArgument, match="title must be text"):
            export_html(aid.ledger, io.StringIO(), title=None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="Mars/Olympus"):
            export_html(aid.ledger, io.StringIO(), tz="Mars/Olympus")


def test_the_command_takes_a_title_a_period_and_a_zone(books: Aid, tmp_path: Path) -> None:
    """aidledger export -f html --title T --from/--to --tz Z: the page names them all; --title stays refused
    where a format has no title."""
    if not books.ledger.url.startswith("sqlite"):
        pytest.skip("the command is run on the SQLite file")
    db = books.ledger.url.removeprefix("sqlite:///")
    result = aidledger("export", db, "-f", "html", "--title", "Kazakhstan <Fund>, 2020", "--tz", "Asia/Almaty",
                       "--from", "2020-05-01", "--to", "2020-06-01", "-o", "may.html", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "may.html").read_text(encoding="utf-8")
    assert "<h1>Audit report — Kazakhstan &lt;Fund&gt;, 2020</h1>" in page
    assert "from 2020-05-01 00:00:00 +06:00, to 2020-06-01 00:00:00 +06:00 (not included); times in Asia/Almaty" in page
    generated = re.search(r"<th>Generated</th><td>([^<]*)</td>", page)
    assert generated is not None and re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:00 \(Asia/Almaty\)", generated[1]
    )
    assert ">2020-05</text>" in page and ">2020-04</text>" not in page
    refused = aidledger("export", db, "-f", "csv", "--title", "x", cwd=tmp_path)
    assert refused.returncode == 2 and "--title is not an option of --format csv" in refused.stderr
