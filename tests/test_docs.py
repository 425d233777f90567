"""Every Python example in docs/ runs, and prints exactly what the page shows.

A page's ```python blocks run in order in one namespace, in an empty directory.
A ```text block right after a python block is the output it must print.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "```python" in p.read_text())


def blocks(page: Path) -> list[tuple[str, str, str | None, int]]:
    """(language, code, expected output or None, line number) for each python block."""
    found = []
    matches = list(BLOCK.finditer(page.read_text()))
    for index, match in enumerate(matches):
        if match.group(1) != "python":
            continue
        expected = None
        if index + 1 < len(matches):
            following = matches[index + 1]
            between = page.read_text()[match.end() : following.start()]
            if following.group(1) == "text" and not between.strip():
                expected = following.group(2)
        line = page.read_text()[: match.start()].count("\n") + 1
        found.append((match.group(1), match.group(2), expected, line))
    return found


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run_as_printed(page: Path, tmp_path: Path) -> None:
    """Each example runs without error and prints exactly the output shown under it."""
    namespace: dict[str, object] = {"__name__": "__docs__"}
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        for _, code, expected, line in blocks(page):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
            if expected is not None:
                got = [text.rstrip() for text in buffer.getvalue().rstrip().splitlines()]
                want = [text.rstrip() for text in expected.rstrip().splitlines()]
                assert got == want, f"{page.name} line {line}"
    finally:
        os.chdir(old)
        ledger = namespace.get("ledger")
        close = getattr(ledger, "close", None)
        if callable(close):
            close()
