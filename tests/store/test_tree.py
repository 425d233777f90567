"""The stored tree of the log (aidledger.store.tree): its nodes are RFC 9162's, whatever the batches."""

from __future__ import annotations

import hashlib
import random

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from aidledger.core import hashing, merkle
from aidledger.core.errors import StorageError
from aidledger.store import schema as t
from aidledger.store import tree


def _leaf(i: int) -> bytes:
    return merkle.leaf_hash(str(i).encode())


def _stored(engine: sa.Engine) -> dict[tuple[int, int], str]:
    with engine.connect() as connection:
        return {(r.level, r.idx): r.hash for r in connection.execute(sa.select(t.log_tree))}


class TestExtend:
    def test_nodes_are_every_perfect_subtree_whatever_the_batches(self) -> None:
        """Appended in random batches, the table holds exactly the perfect subtrees, each with merkle's hash."""
        rng = random.Random(17)
        engine = sa.create_engine("sqlite://")
        t.log_tree.create(engine)
        leaves = [_leaf(i) for i in range(700)]
        size = 0
        with engine.begin() as connection:
            while size < len(leaves):
                step = rng.choice([1, 1, 2, 3, 7, 64, 129])
                tree.extend(connection, size, leaves[size : size + step])
                size = min(size + step, len(leaves))
        source = merkle.list_source(leaves)
        expected = {
            (level, idx): source(idx << level, 1 << level).hex()
            for level in range(len(leaves).bit_length())
            for idx in range(len(leaves) >> level)
        }
        assert _stored(engine) == expected
        with engine.connect() as connection:
            for size in (1, 2, 3, 255, 256, 257, 700):
                found = tree.nodes(connection, tree.edge(size))
                parts = [found[key] for key in tree.edge(size)]
                folded = parts.pop()
                for part in reversed(parts):
                    folded = merkle.node_hash(part, folded)
                assert folded == merkle.root(leaves[:size])

    def test_a_missing_edge_node_refuses_the_append(self) -> None:
        """A node of the tree's right edge removed behind the library: the next append is refused."""
        engine = sa.create_engine("sqlite://")
        t.log_tree.create(engine)
        with engine.begin() as connection:
            tree.extend(connection, 0, [_leaf(i) for i in range(6)])
            connection.execute(sa.delete(t.log_tree).where(t.log_tree.c.level == 1, t.log_tree.c.idx == 2))
        with engine.begin() as connection, pytest.raises(StorageError, match=r"no node \(1, 2\)"):
            tree.extend(connection, 6, [_leaf(6)])


_HEX = st.text("0123456789abcdef", min_size=64, max_size=64)
_ITEM = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(hashing.LOG_KINDS),
        "ref": st.text(min_size=1, max_size=12),
        "item": _HEX,
        "entries": st.integers(0, 10**12),
        "prev": _HEX,
    }
)


class TestLeaves:
    def test_the_leaf_is_the_text_the_chain_hashes(self) -> None:
        """An item's leaf covers exactly the text whose SHA-256 is its chained hash."""
        fields = {"seq": 3, "kind": "entry", "ref": "2", "item": "a" * 64, "entries": 2, "prev_hash": "b" * 64}
        text = hashing.log_text(**fields)  # type: ignore[arg-type]
        assert hashlib.sha256(text.encode()).hexdigest() == hashing.log_hash(**fields)  # type: ignore[arg-type]
        assert tree.leaf(text) == merkle.leaf_hash(text.encode())

    @given(items=st.lists(_ITEM, min_size=1, max_size=40), data=st.data())
    def test_the_root_changes_with_any_item(self, items: list[dict[str, object]], data: st.DataObject) -> None:
        """Change any field of any item, or reorder two different items, and the tree's root changes."""

        def root(rows: list[dict[str, object]]) -> bytes:
            texts = [
                hashing.log_text(
                    seq=seq, prev_hash=row["prev"], **{k: row[k] for k in ("kind", "ref", "item", "entries")}
                )  # type: ignore[arg-type]
                for seq, row in enumerate(rows, start=1)
            ]
            return merkle.root([tree.leaf(text) for text in texts])

        before = root(items)
        index = data.draw(st.integers(0, len(items) - 1))
        key = data.draw(st.sampled_from(sorted(items[index])))
        value = data.draw(_ITEM)[key]
        if value != items[index][key]:
            changed = [dict(row) for row in items]
            changed[index][key] = value
            assert root(changed) != before
        other = data.draw(st.integers(0, len(items) - 1))
        if items[other] != items[index]:
            swapped = list(items)
            swapped[index], swapped[other] = swapped[other], swapped[index]
            assert root(swapped) != before
        assert root(items[:-1]) != before or len(items) == 1
