"""The proof commands: prove, check-proof and verify --since, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidledger import Aid
from aidledger.store import schema as t
from tests.books import MAY
from tests.ledger.test_tamper import behind_the_library
from tests.operations.conftest import kzt
from tests.test_cli import run


def _published(url: str, cwd: Path) -> str:
    done = run("verify", url, "--json", cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return str(json.loads(done.stdout)["tree_digest"])


def test_prove_and_check_a_receipt(aid: Aid, url: str, tmp_path: Path) -> None:
    """A receipt printed by prove holds in check-proof; a changed one, or another digest, exits 1."""
    aid.donate("HOUSING", kzt("250000"), donor="Dostyk appeal", on=MAY, actor="cashier", key="gift-17")
    published = _published(url, tmp_path)
    done = run("prove", url, "--item", "gift-17", "--receipt", "--digest", published, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (tmp_path / "receipt.json").write_text(done.stdout)
    checked = run("check-proof", "receipt.json", "--digest", published, cwd=tmp_path)
    assert (checked.returncode, checked.stdout.strip()) == (0, "valid: it holds against the digest given")
    doc = json.loads(done.stdout)
    doc["entry"]["rec"] += 1
    (tmp_path / "changed.json").write_text(json.dumps(doc))
    refused = run("check-proof", "changed.json", "--digest", published, cwd=tmp_path)
    assert refused.returncode == 1 and "INVALID: the entry hash" in refused.stdout
    size, root = published.split(":")[1:]
    other = run("check-proof", "receipt.json", "--digest", f"tree:{size}:{'0' * 64}", cwd=tmp_path)
    assert other.returncode == 1 and "INVALID" in other.stdout
    item = run("prove", url, "--item", "log:1", cwd=tmp_path)
    (tmp_path / "item.json").write_text(item.stdout)
    assert run("check-proof", "item.json", "--digest", published, cwd=tmp_path).returncode == 0
    assert root in item.stdout


def test_verify_since_an_earlier_digest(aid: Aid, url: str, tmp_path: Path) -> None:
    """verify --since exits 0 while the log extends the digest, and 1 once an item before it was rewritten."""
    aid.donate("HOUSING", kzt("1000"), donor="D-1", on=MAY, actor="cashier")
    published = _published(url, tmp_path)
    aid.donate("HOUSING", kzt("2000"), donor="D-2", on=MAY, actor="cashier")
    done = run("verify", url, "--since", published, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("Extends the earlier digest: the log's first")
    extension = run("prove", url, "--since", published, cwd=tmp_path)
    (tmp_path / "extension.json").write_text(extension.stdout)
    now = _published(url, tmp_path)
    args = ("check-proof", "extension.json", "--digest", now, "--old-digest", published)
    assert run(*args, cwd=tmp_path).returncode == 0

    def rewrite(connection: Connection) -> None:
        connection.execute(sa.update(t.log).where(t.log.c.seq == 2).values(ref="other"))

    behind_the_library(aid.ledger, rewrite)
    broken = run("verify", url, "--since", published, cwd=tmp_path)
    assert broken.returncode == 1 and "DOES NOT EXTEND" in broken.stdout


def test_bad_input_exits_2(aid: Aid, url: str, tmp_path: Path) -> None:
    """An unknown item, a malformed digest or both --item and --since: one line on stderr, status 2."""
    for args in (
        ("prove", url, "--item", "nope"),
        ("prove", url, "--item", "log:1", "--since", "tree:1:" + "0" * 64),
        ("prove", url, "--item", "log:x"),
        ("verify", url, "--since", "tree:1:xyz"),
        ("check-proof", "missing.json", "--digest", "tree:1:" + "0" * 64),
    ):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
