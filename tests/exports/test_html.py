"""The HTML audit report, opened in a real headless Chromium: charts drawn, no network, hostile text inert."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from aidledger import Aid, InvalidArgument, export_html
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


def chromium(page: Path, proxy: Proxy, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser(),
            "--no-sandbox",
            "--disable-gpu",
            f"--proxy-server=http://127.0.0.1:{proxy.port}",
            "--proxy-bypass-list=<-loopback>",
            "--window-size=1200,4000",
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
