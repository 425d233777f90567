"""`import aidledger` loads none of the heavy libraries a feature needs only when it is used (issue 19).

Migrations (alembic, mako), the HTML report (jinja2), the registry's sealing and the
consortium exchange (cryptography), bank files (lxml, mt-940), py-moneyed's currency
table (which loads Babel) and the command line (rich, typer) are imported where they
are used.  The time itself is measured by ``benchmarks/test_import.py``; a test never
asserts a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = frozenset({"alembic", "babel", "cryptography", "jinja2", "lxml", "mako", "moneyed", "mt940", "rich", "typer"})

#: Runs the code, then prints the top-level packages the interpreter holds.
CHILD = """
import json, sys
{code}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""

POST = """
import pendulum
from aidledger import Account, AccountType, Fund, JournalEntry, Ledger, Money, Posting, currency, verify
ledger = Ledger.open({path!r})
KZT = currency("KZT")
bank = ledger.add_account(Account("Assets:Bank", AccountType.ASSET, KZT))
gifts = ledger.add_account(Account("Revenue:Donations", AccountType.REVENUE, KZT))
fund = ledger.add_fund(Fund("GENERAL"))
gift = Money("50000", KZT)
ledger.post(JournalEntry("donation", pendulum.now("Asia/Almaty"),
                         [Posting.debit(bank, fund, gift), Posting.credit(gifts, fund, gift)], actor="me"))
assert verify(ledger).ok
ledger.close()
"""


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(code=code)], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_import_aidledger_loads_no_heavy_library() -> None:
    assert loaded_after("import aidledger") & HEAVY == set()


def test_a_ledger_of_the_current_schema_opens_posts_and_verifies_without_alembic(tmp_path: Path) -> None:
    """Alembic (and mako) load to create or migrate a schema only; its revision is read with one query."""
    path = str(tmp_path / "fund.db")
    assert "alembic" in loaded_after(POST.format(path=path))  # the first open creates the schema
    again = loaded_after(POST.format(path=path))
    assert again & {"alembic", "mako", "jinja2", "cryptography", "lxml", "rich", "typer"} == set()


@pytest.mark.parametrize(
    ("code", "library"),
    [
        ("from aidledger import export_html", "jinja2"),
        ("from aidledger import ReportSummary", "jinja2"),
        ("from aidledger import currency; currency('KZT')", "babel"),
        ("from aidledger import MalformedFile, read_camt\ntry: read_camt(b'<x/>')\nexcept MalformedFile: pass", "lxml"),
        (
            "from aidledger import MalformedFile, read_mt940\ntry: read_mt940(b':20:X')\nexcept MalformedFile: pass",
            "mt940",
        ),
        ("import aidledger; aidledger.Ledger.open('sqlite://')", "alembic"),
    ],
)
def test_a_feature_loads_its_library_when_used(code: str, library: str) -> None:
    """The lazy imports still happen: each feature finds its library on first use."""
    assert library in loaded_after(code)


def test_the_registry_seals_with_cryptography_loaded_on_first_use() -> None:
    code = """
from aidledger import Pseudonymizer, Registry
registry = Registry.open("sqlite://", keys=Pseudonymizer({1: bytes(range(32))}))
assert "cryptography" not in sys.modules
registry.register("KZ-HH-1", name="Aigerim")
assert registry.person("KZ-HH-1").name == "Aigerim"
"""
    assert "cryptography" in loaded_after(code)


def test_the_operations_queries_exports_and_files_load_on_first_use() -> None:
    """``import aidledger`` loads the core and the ledger; what is built on them comes with its first name."""
    code = """
import sys, aidledger
later = ("aidledger.operations", "aidledger.vocabulary", "aidledger.registry", "aidledger.queries",
         "aidledger.exports", "aidledger.io", "aidledger.demo")
assert not [name for name in sys.modules if name.startswith(later)], sorted(sys.modules)
assert aidledger.verify.__module__ == "aidledger.queries.verification"
assert "aidledger.queries.verification" in sys.modules and "aidledger.exports.iati" not in sys.modules
"""
    loaded_after(code)


def test_the_lazy_names_are_the_ones_imported_for_type_checkers() -> None:
    """Each lazy name is imported under ``TYPE_CHECKING`` from the module it is loaded from, and resolves to it."""
    import ast
    import importlib

    import aidledger

    tree = ast.parse(Path(aidledger.__file__).read_text(encoding="utf-8"))
    (block,) = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    imported = {
        node.module: tuple(alias.name for alias in node.names)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
    }
    assert imported == aidledger._LAZY_MODULES
    for module, names in imported.items():
        for name in names:
            assert getattr(aidledger, name) is getattr(importlib.import_module(module), name)
    assert set(aidledger._LAZY) <= set(aidledger.__all__) <= set(dir(aidledger))


def test_unknown_names_are_still_attribute_errors() -> None:
    import aidledger

    with pytest.raises(AttributeError, match="no attribute 'export_pdf'"):
        aidledger.export_pdf  # noqa: B018
