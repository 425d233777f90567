"""Every example in docs/ runs, and prints exactly what the page shows.

A page's ```python blocks run in order in one namespace, in an empty directory.
A ```text block right after a python block is the output it must print.

A ```console block runs in the same directory, after the python blocks above
it: each ``$ command`` line runs in bash (with ``aidledger`` on PATH), and the
lines under it, up to the next ``$``, are its exact stdout and stderr (a command
with nothing under it must print nothing).  The command must exit 0, unless its
output ends with a line ``[exit N]`` (alone, it checks the status and leaves the
output uncompared).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

DOCS = Path(__file__).parent.parent / "docs"
#: The README's python blocks run too; its console blocks are the scripts of a fresh clone (tests/test_scripts.py).
README = DOCS.parent / "README.md"
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
EXIT = re.compile(r"^\[exit (\d+)\]$")


@attrs.frozen
class Example:
    """One runnable block of a page: python code, or one shell command of a console block."""

    language: str
    code: str
    expected: str | None
    line: int
    status: int = 0


def pages() -> list[Path]:
    found = sorted(p for p in DOCS.rglob("*.md") if "```python" in p.read_text() or "```console" in p.read_text())
    return [*found, README]


def commands(block: str, line: int) -> list[Example]:
    """The ``$`` commands of a console block, each with the output printed under it."""
    found: list[Example] = []
    for offset, text in enumerate(block.splitlines()):
        if text.startswith("$ "):
            found.append(Example("console", text[2:], None, line + 1 + offset))
        elif found:
            previous = found[-1]
            output = text if previous.expected is None else f"{previous.expected}\n{text}"
            found[-1] = attrs.evolve(previous, expected=output)
        elif text.strip():
            raise AssertionError(f"line {line + 1 + offset}: a console block starts with a '$ ' command")
    for index, example in enumerate(found):
        lines = (example.expected or "").rstrip().splitlines()
        if lines and (match := EXIT.match(lines[-1].strip())):
            rest = "\n".join(lines[:-1]) if len(lines) > 1 else None  # "[exit N]" alone: output not compared
            found[index] = attrs.evolve(example, expected=rest, status=int(match.group(1)))
        elif example.expected is None:
            found[index] = attrs.evolve(example, expected="")  # nothing under it: it must print nothing
    return found


def examples(page: Path) -> list[Example]:
    """The page's python blocks (with the text block under each) and console commands, in order."""
    text = page.read_text()
    found: list[Example] = []
    matches = list(BLOCK.finditer(text))
    for index, match in enumerate(matches):
        line = text[: match.start()].count("\n") + 1
        if match.group(1) == "console":
            if page != README:
                found.extend(commands(match.group(2), line))
            continue
        if match.group(1) != "python":
            continue
        expected = None
        if index + 1 < len(matches):
            following = matches[index + 1]
            if following.group(1) == "text" and not text[match.end() : following.start()].strip():
                expected = following.group(2)
        found.append(Example("python", match.group(2), expected, line))
    return found


def lines_of(output: str) -> list[str]:
    """The output's lines without trailing spaces, and without blank lines before or after."""
    lines = [text.rstrip() for text in output.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def run_command(example: Example, page: Path) -> None:
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "AIDLEDGER_SOURCE": str(DOCS.parent),  # the clone, for the install page
    }
    done = subprocess.run(
        ["bash", "-c", example.code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    where = f"{page.name} line {example.line}: $ {example.code}"
    output = done.stdout + done.stderr
    assert done.returncode == example.status, f"{where}\nexit {done.returncode}\n{output}"
    if example.expected is not None:
        assert lines_of(output) == lines_of(example.expected), where


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS.parent)))
def test_page_examples_run_as_printed(page: Path, tmp_path: Path) -> None:
    """Each example runs without error and prints exactly the output shown under it."""
    namespace: dict[str, object] = {"__name__": "__docs__"}
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        for example in examples(page):
            if example.language == "console":
                run_command(example, page)
                continue
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(example.code, f"{page.name}:{example.line}", "exec"), namespace)
            if example.expected is not None:
                assert lines_of(buffer.getvalue()) == lines_of(example.expected), f"{page.name} line {example.line}"
    finally:
        os.chdir(old)
        ledger = namespace.get("ledger")
        close = getattr(ledger, "close", None)
        if callable(close):
            close()


def test_console_blocks_are_read_as_commands_and_outputs() -> None:
    """The runner's reading of a console block: commands, their outputs, and an expected exit status."""
    block = (
        "$ aidledger verify x.db\nchain intact\n$ aidledger reconcile y.db\nFAILED\n[exit 1]\n$ true\n$ false\n[exit 1]"
    )
    found = commands(block, 10)
    assert [(e.code, e.expected, e.status, e.line) for e in found] == [
        ("aidledger verify x.db", "chain intact", 0, 11),
        ("aidledger reconcile y.db", "FAILED", 1, 13),
        ("true", "", 0, 16),
        ("false", None, 1, 17),
    ]


def test_a_command_with_nothing_under_it_must_print_nothing() -> None:
    """Every shell example shows what it prints: no output under a command means it prints nothing."""
    found = commands("$ touch x\n$ aidledger verify x.db\n\n$ false\n[exit 1]", 1)
    assert [(e.code, e.expected, e.status) for e in found] == [
        ("touch x", "", 0),
        ("aidledger verify x.db", "", 0),
        ("false", None, 1),
    ]
    example = attrs.evolve(found[0], code="echo printed")
    with pytest.raises(AssertionError, match="echo printed"):
        run_command(example, README)
