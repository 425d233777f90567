"""The layers import one way only: core <- store <- ledger <- registry <- vocabulary <- operations/queries <- io <- exports
<- demo <- cli."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "aidledger"
ORDER = ["core", "store", "ledger", "registry", "vocabulary", "operations", "queries", "io", "exports", "demo", "cli"]


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aidledger"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("aidledger"))
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ORDER else None


@pytest.mark.parametrize("layer", [layer for layer in ORDER if (SRC / layer).exists()])
def test_layer_imports_only_lower_layers(layer: str) -> None:
    """No module of a layer imports a layer above it (operations and queries are siblings)."""
    rank = {name: index for index, name in enumerate(ORDER)}
    rank["queries"] = rank["operations"]
    for path in (SRC / layer).rglob("*.py"):
        name = path.relative_to(SRC).as_posix()
        for module in imports(path):
            target = layer_of(module)
            assert target is None or rank[target] < rank[layer] or target == layer, f"{name} imports {module}"


def test_core_touches_no_database() -> None:
    """core imports neither SQLAlchemy nor any other part of aidledger."""
    for path in (SRC / "core").rglob("*.py"):
        source = path.read_text()
        assert "sqlalchemy" not in source and "sqlite3" not in source, path
        assert all(m.startswith("aidledger.core") for m in imports(path)), path


def test_store_knows_no_aid_vocabulary() -> None:
    """store speaks of entries and postings, never of donations or beneficiaries."""
    for path in (SRC / "store").rglob("*.py"):
        text = re.sub(r"\bGRANT\b", "", path.read_text()).lower()  # SQL's GRANT is not an aid grant
        for word in ("donation", "beneficiar", "programme", "grant", "household"):
            assert word not in text, f"{path.name} mentions {word}"
