"""The books as an auditor sees them: the demo's exports served by Fava and hledger-web, one programme's journal
opened in a real headless Chromium, with no error and only that programme's entries; the screenshots the docs page
"Browsing the books in Fava and hledger" shows are these (set ``AIDLEDGER_SCREENSHOTS=1`` to write them again)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from PIL import Image

from aidledger import Aid, CampaignPlan, Ledger, Money, Pseudonymizer, run_campaign
from aidledger.exports.beancount import export_beancount
from aidledger.exports.hledger import export_hledger
from tests.conftest import BACKENDS, new_url
from tests.exports.test_html import browser

FAVA = Path(sys.executable).with_name("fava")
HLEDGER_WEB = shutil.which("hledger-web")
IMAGES = Path(__file__).parent.parent.parent / "docs" / "how-to" / "img"
PROGRAMME = "FAMILIES-50K"
SIZE = (1400, 900)


@pytest.fixture(scope="module", params=BACKENDS)
def books(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_database: str | None
) -> tuple[str, Path, Path]:
    """The docs page's demo (1/2000 of the campaign) on each backend, exported to Beancount and hledger."""
    folder = tmp_path_factory.mktemp("screens")
    with Ledger.open(new_url(str(request.param), folder, pg_database)) as ledger:
        run_campaign(Aid(ledger, approval_threshold=Money("100000000", "KZT")), CampaignPlan.scaled("0.0005"),
                     keys=Pseudonymizer({1: bytes(range(32))}))  # fmt: skip
        beancount, journal = folder / "books.beancount", folder / "books.journal"
        with beancount.open("w", encoding="utf-8") as out:
            export_beancount(ledger, out, title="Kazakhstan Fund, 2020 campaign")
        with journal.open("w", encoding="utf-8") as out:
            export_hledger(ledger, out)
    return str(request.param), beancount, journal


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start a web server (a command with ``{port}`` in it) and return its base URL once it answers."""
    started: list[tuple[subprocess.Popen[bytes], BinaryIO]] = []

    def start(*command: str) -> str:
        port = free_port()
        log = (tmp_path / f"server-{port}.log").open("wb")
        process = subprocess.Popen([part.format(port=port) for part in command], stdout=log, stderr=log)
        started.append((process, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(base + "/", timeout=5):
                    return base
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None:
                    pytest.fail(f"{command[0]} stopped: {(tmp_path / f'server-{port}.log').read_text()}")
                time.sleep(0.2)
        pytest.fail(f"{command[0]} did not answer within 60 s")

    yield start
    for process, log in started:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def fetch(url: str) -> tuple[str, str]:
    """The final URL (after redirects) and the page's HTML."""
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        return response.geturl(), response.read().decode("utf-8")


def shoot(url: str, path: Path) -> str:
    """A PNG of ``url`` in headless Chromium, and the page's DOM after its scripts ran."""
    common = [browser(), "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={SIZE[0]},{SIZE[1]}",
              "--virtual-time-budget=10000"]  # fmt: skip
    subprocess.run([*common, f"--screenshot={path}", url], capture_output=True, timeout=120, check=True)
    return subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout


def check_png(path: Path) -> None:
    """A picture of the window's size with something drawn on it (not one flat colour)."""
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.format == "PNG" and image.size == SIZE
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50


def keep(backend: str, path: Path) -> None:
    """With AIDLEDGER_SCREENSHOTS set, write the SQLite run's picture to the docs page's folder."""
    if os.environ.get("AIDLEDGER_SCREENSHOTS") and backend == "sqlite":
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, IMAGES / path.name)


def test_fava_shows_one_programmes_journal(
    books: tuple[str, Path, Path], serve: Callable[..., str], tmp_path: Path
) -> None:
    """Fava serves the books with no error; its journal filtered by a programme shows that programme's payments
    (a list's link, no other programme's entries), and its income statement that programme's spending."""
    backend, beancount, _ = books
    if not FAVA.exists():
        pytest.skip("fava is not installed")
    base = serve(str(FAVA), "--host", "127.0.0.1", "--port", "{port}", str(beancount))
    home, _ = fetch(base + "/")
    slug = urllib.parse.urlparse(home).path.strip("/").split("/")[0]
    assert slug == "kazakhstan-fund-2020-campaign"
    query = urllib.parse.urlencode({"filter": f'programme:"{PROGRAMME}"'})
    for page in ("journal", "income_statement"):
        url = f"{base}/{slug}/{page}/?{query}"
        _, html = fetch(url)
        data = re.search(r'<script type="application/json" id="ledger-data">(.*?)</script>', html, re.DOTALL)
        assert data is not None
        assert json.loads(data.group(1))["errors"] == []
        picture = tmp_path / f"fava-{page.replace('_', '-')}.png"
        dom = shoot(url, picture)
        check_png(picture)
        assert "Kazakhstan Fund, 2020 campaign" in dom
        if page == "journal":  # the journal's rows are in the page; the income statement's come later by API
            assert "Cash aid payment, list FAM-00001" in dom and "^list-FAM-00001" in dom
            assert "Food package delivered" not in dom and "Donation from" not in dom
        keep(backend, picture)


@pytest.mark.skipif(HLEDGER_WEB is None, reason="hledger-web is not installed")
def test_hledger_web_shows_one_programmes_register(
    books: tuple[str, Path, Path], serve: Callable[..., str], tmp_path: Path
) -> None:
    """hledger-web serves the journal; the register of the programme's spending ends at its audit total."""
    backend, _, journal = books
    assert HLEDGER_WEB is not None
    base = serve(HLEDGER_WEB, "--serve", "--host=127.0.0.1", "--port={port}", "-f", str(journal))
    query = urllib.parse.quote(f"inacct:Expenses:CASH-AID:CASH-AID tag:programme=^{PROGRAMME}$")
    url = f"{base}/register?q={query}"
    _, html = fetch(url)
    assert "9,000,000.00 KZT" in html and "error" not in html.lower()
    picture = tmp_path / "hledger-web-register.png"
    dom = shoot(url, picture)
    check_png(picture)
    assert "Cash aid payment, list FAM-" in dom and "Food package delivered" not in dom
    keep(backend, picture)
