"""The log's Merkle tree (RFC 9162): known answers, the RFC's own recursive definitions, node sources, JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger.core import merkle
from aidledger.core.errors import InvalidArgument

#: Third-party known answers (transparency-dev/merkle), beside the repository, never copied into it.
VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "merkle-vectors" / "vectors.json"


def load_vectors() -> dict[str, Any]:
    """The known answers of ``shared/data/merkle-vectors``; skips the test where the folder is absent."""
    if not VECTORS.is_file():
        pytest.skip(f"no Merkle test vectors at {VECTORS.resolve()}")
    return dict(json.loads(VECTORS.read_text()))


def leaves(count: int) -> list[bytes]:
    """Leaf hashes of ``count`` distinct items."""
    return [merkle.leaf_hash(b"item %d" % i) for i in range(count)]


class StoredNodes:
    """A node source as a database would keep it: every complete subtree's hash, by level, and a count of look-ups."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.levels = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        self.lookups = 0

    def __call__(self, start: int, size: int) -> bytes:
        self.lookups += 1
        level = size.bit_length() - 1
        assert size == 1 << level and start % size == 0, (start, size)
        return self.levels[level][start >> level]


# The RFC's definitions written as literally as possible, to hold the iterative code to them.
def mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return merkle.node_hash(mth(d[:k]), mth(d[k:]))


def rfc_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*rfc_path(m, d[:k]), mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), mth(d[:k])]


def rfc_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*rfc_subproof(m, d[:k], b), mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), mth(d[:k])]


def rolling_hash(lines: Callable[[list[bytes]], Any]) -> str:
    """SHA-256 over the lines a generator writes for the 130-leaf tree whose leaf ``i`` is the byte ``i``."""
    digest = hashlib.sha256()
    for line in lines([merkle.leaf_hash(bytes([i])) for i in range(130)]):
        digest.update(line.encode())
    return digest.hexdigest()


def valid_subtrees(end_max: int) -> list[tuple[int, int]]:
    """Every subtree ``[start, end)`` with ``end <= end_max``, empty ones included, in the vectors' order."""
    return [
        (start, end)
        for end in range(end_max + 1)
        for start in range(end + 1)
        if start in (0, end) or start % (1 << (end - start - 1).bit_length()) == 0
    ]


def hex_line(prefix: str, hashes: Sequence[bytes]) -> str:
    return prefix + "".join(" " + h.hex() for h in hashes) + "\n"


class TestKnownAnswers:
    def test_hasher(self) -> None:
        """The leaf, node and empty-tree hashes of the RFC 6962 test cases."""
        for case in load_vectors()["hasher"]["cases"]:
            if case["kind"] == "mth":
                got = merkle.root([bytes.fromhex(h) for h in case["leaves"]])
            elif case["kind"] == "leaf":
                got = merkle.leaf_hash(bytes.fromhex(case["input"]))
            else:
                got = merkle.node_hash(bytes.fromhex(case["left"]), bytes.fromhex(case["right"]))
            assert got.hex() == case["want"], case["desc"]

    def test_tree8_roots_and_subtrees(self) -> None:
        """The roots of sizes 0..8 and every complete subtree's hash of the 8-leaf tree."""
        tree8 = load_vectors()["tree8"]
        hashes = [merkle.leaf_hash(bytes.fromhex(data)) for data in tree8["leaves"]]
        assert [merkle.root(hashes[:n]).hex() for n in range(9)] == tree8["roots_by_size"]
        source = merkle.list_source(hashes)
        for level, row in enumerate(tree8["node_hashes_by_level"]):
            size = 1 << level
            assert [source(i * size, size).hex() for i in range(len(row))] == row
            assert [merkle.subtree_root(source, i * size, (i + 1) * size).hex() for i in range(len(row))] == row

    def test_accumulated_subtree_hashes(self) -> None:
        """The rolling hash over the tree hash of every subtree of the 130-leaf tree."""
        want = load_vectors()["accumulated"]["want_sha256"]["subtree_hash"]

        def lines(d: list[bytes]) -> Any:
            for start, end in valid_subtrees(130):
                yield hex_line(f"[{start}, {end})", [merkle.root(d[start:end])])

        assert rolling_hash(lines) == want

    def test_accumulated_inclusion_proofs(self) -> None:
        """The rolling hash over the inclusion proof of every leaf in every subtree of the 130-leaf tree.

        Each subtree is a tree of its own: the list of its leaves, or the stored nodes shifted to its start.
        """
        want = load_vectors()["accumulated"]["want_sha256"]["subtree_inclusion"]

        def lines(d: list[bytes]) -> Any:
            stored = StoredNodes(d)
            for start, end in valid_subtrees(130):
                shifted = lambda at, size, start=start: stored(start + at, size)  # noqa: E731
                for index in range(start, end):
                    proof = merkle.inclusion_proof_from(shifted, end - start, index - start)
                    if index % 16 == 0:
                        assert proof.path == merkle.inclusion_path(d[start:end], index - start)
                    yield hex_line(f"{index} [{start}, {end})", proof.path)

        assert rolling_hash(lines) == want

    def test_accumulated_consistency_proofs(self) -> None:
        """The rolling hash over the consistency proof of every subtree in every tree of up to 130 leaves."""
        want = load_vectors()["accumulated"]["want_sha256"]["subtree_consistency"]
        source = StoredNodes([merkle.leaf_hash(bytes([i])) for i in range(130)])

        def lines(d: list[bytes]) -> Any:
            for n in range(131):
                for start, end in valid_subtrees(n):
                    ranges = merkle.subtree_consistency_ranges(start, end, n)
                    yield hex_line(f"[{start}, {end}) {n}", [merkle.subtree_root(source, a, b) for a, b in ranges])

        assert rolling_hash(lines) == want


class TestAgainstTheRfcDefinitions:
    def test_root(self) -> None:
        """root() is MTH for every size up to 300, and matches root_from() over stored nodes."""
        hashes = leaves(300)
        stored = StoredNodes(hashes)
        for n in range(301):
            assert merkle.root(hashes[:n]) == mth(hashes[:n]) == merkle.root_from(stored, n)

    def test_inclusion_paths(self) -> None:
        """inclusion_path() is PATH(m, D[n]) for every leaf of every tree of up to 64 leaves."""
        hashes = leaves(64)
        for n in range(1, 65):
            for m in range(n):
                assert list(merkle.inclusion_path(hashes[:n], m)) == rfc_path(m, hashes[:n]), (m, n)

    def test_consistency_paths(self) -> None:
        """consistency_path() is PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for every 1 <= m <= n <= 64."""
        hashes = leaves(64)
        for n in range(1, 65):
            for m in range(1, n + 1):
                assert list(merkle.consistency_path(hashes[:n], m)) == rfc_subproof(m, hashes[:n], True), (m, n)

    @given(st.lists(st.binary(max_size=8), min_size=1, max_size=40), st.data())
    def test_root_changes_with_any_leaf(self, items: list[bytes], data: st.DataObject) -> None:
        """Changing any one leaf's data changes the root."""
        index = data.draw(st.integers(0, len(items) - 1))
        other = data.draw(st.binary(max_size=8).filter(lambda value: value != items[index]))
        before = merkle.root([merkle.leaf_hash(item) for item in items])
        items[index] = other
        assert merkle.root([merkle.leaf_hash(item) for item in items]) != before


class TestNodeSource:
    def test_same_proofs_as_the_list(self) -> None:
        """Proofs from stored nodes are byte for byte those from the list, over one store for every size."""
        hashes = leaves(300)
        stored = StoredNodes(hashes)
        for n in [*range(1, 70), 127, 128, 129, 255, 256, 257, 299, 300]:
            for m in {m for m in (0, 1, n // 3, n // 2, n - 2, n - 1) if 0 <= m < n}:
                assert merkle.inclusion_proof_from(stored, n, m) == merkle.inclusion_proof(hashes[:n], m)
                if m:
                    assert merkle.consistency_proof_from(stored, m, n) == merkle.consistency_proof(hashes[:n], m)

    @pytest.mark.parametrize("size", [1, 2, 3, 1000, 1_000_000, 2**20, 2**20 + 1, 2**40 - 1, 2**62 + 12345])
    def test_a_proof_needs_logarithmically_many_lookups(self, size: int) -> None:
        """At most 2 log2(n) + 2 look-ups per proof, for trees of up to 2**62 leaves (all leaves alike)."""
        same = [merkle.leaf_hash(b"x")]
        for _ in range(63):
            same.append(merkle.node_hash(same[-1], same[-1]))
        calls: list[tuple[int, int]] = []

        def source(start: int, width: int) -> bytes:
            calls.append((start, width))
            return same[width.bit_length() - 1]

        bound = 2 * size.bit_length() + 2
        for index in {0, size // 2, size - 1}:
            calls.clear()
            proof = merkle.inclusion_proof_from(source, size, index)
            assert len(calls) <= bound and len(proof.path) <= size.bit_length()
        for old in {1, size // 3 or 1, size - 1 or 1}:
            calls.clear()
            merkle.consistency_proof_from(source, old, size)
            assert len(calls) <= bound
        calls.clear()
        merkle.root_from(source, size)
        assert len(calls) == bin(size).count("1")

    def test_a_source_must_give_32_bytes(self) -> None:
        """A node source that gives anything but a 32-byte hash is an InvalidArgument naming the range."""
        with pytest.raises(InvalidArgument, match=r"\[0, 2\)"):
            merkle.root_from(lambda start, size: b"short", 2)

    def test_the_list_source_refuses_leaves_it_does_not_have(self) -> None:
        """Asking a list source beyond its leaves is an InvalidArgument, not a silently short tree."""
        with pytest.raises(InvalidArgument, match="beyond the 3 given"):
            merkle.root_from(merkle.list_source(leaves(3)), 4)


class TestInvalidArguments:
    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda: merkle.inclusion_path(leaves(3), 3), "out of range"),
            (lambda: merkle.inclusion_path(leaves(3), -1), "whole number"),
            (lambda: merkle.inclusion_path([], 0), "out of range"),
            (lambda: merkle.consistency_path(leaves(3), 4), "old size <= new size"),
            (lambda: merkle.consistency_path(leaves(3), 0), "1 <= old size"),
            (lambda: merkle.consistency_ranges(-1, 3), "whole number"),
            (lambda: merkle.consistency_ranges(2, True), "whole number"),
            (lambda: merkle.root([b"\x00" * 31]), "not 32 bytes"),
            (lambda: merkle.root(["00" * 32]), "not 32 bytes"),  # type: ignore[list-item]
            (lambda: merkle.subtree_consistency_ranges(2, 5, 8), "not a subtree"),
            (lambda: merkle.subtree_root(merkle.list_source(leaves(8)), 2, 5), "not a non-empty subtree"),
            (lambda: merkle.subtree_root(merkle.list_source(leaves(8)), 4, 4), "not a non-empty subtree"),
        ],
    )
    def test_refused(self, call: Callable[[], object], message: str) -> None:
        """Bad sizes, indexes and hashes are InvalidArgument (a ValueError) with a message that names them."""
        with pytest.raises(InvalidArgument, match=message):
            call()

    def test_proofs_hold_only_well_formed_values(self) -> None:
        """A proof with a short hash, or a path of the wrong length for its sizes, cannot be made."""
        good = merkle.inclusion_proof(leaves(5), 2)
        with pytest.raises(InvalidArgument, match="not 32 bytes"):
            merkle.InclusionProof(index=2, tree_size=5, leaf_hash=b"\x00" * 33, path=good.path)
        with pytest.raises(InvalidArgument, match="the proof needs 3"):
            merkle.InclusionProof(index=2, tree_size=5, leaf_hash=good.leaf_hash, path=good.path[:2])
        with pytest.raises(InvalidArgument, match="the proof needs 2"):
            merkle.ConsistencyProof(old_size=2, new_size=5, path=[*good.path[:2], good.leaf_hash])


class TestJson:
    def test_inclusion_round_trip(self) -> None:
        """as_json() is compact with sorted keys and lower-case hex, and from_json() reads it back (text or dict)."""
        proof = merkle.inclusion_proof(leaves(5), 4)
        text = proof.as_json()
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
        assert json.loads(text) == {
            "format": 1,
            "kind": "inclusion",
            "index": 4,
            "tree_size": 5,
            "leaf_hash": proof.leaf_hash.hex(),
            "path": [proof.path[0].hex()],
        }
        assert merkle.InclusionProof.from_json(text) == proof == merkle.InclusionProof.from_json(json.loads(text))

    def test_consistency_round_trip(self) -> None:
        """A consistency proof's JSON names its sizes and path, and reads back to the same proof."""
        proof = merkle.consistency_proof(leaves(7), 3)
        doc = json.loads(proof.as_json())
        assert doc == {"format": 1, "kind": "consistency", "old_size": 3, "new_size": 7, "path": doc["path"]}
        assert merkle.ConsistencyProof.from_json(proof.as_json()) == proof

    @pytest.mark.parametrize(
        "change",
        [
            {"format": 2},
            {"format": True},
            {"kind": "consistency"},
            {"index": True},
            {"index": "1"},
            {"index": 5},
            {"leaf_hash": "AB" * 32},
            {"leaf_hash": "ab" * 31},
            {"path": "ab" * 32},
            {"path": []},
            {"extra": 1},
        ],
    )
    def test_malformed_inclusion_documents(self, change: dict[str, object]) -> None:
        """Any other format, kind, key, number or hash form is refused with InvalidArgument."""
        doc = json.loads(merkle.inclusion_proof(leaves(5), 1).as_json()) | change
        with pytest.raises(InvalidArgument):
            merkle.InclusionProof.from_json(doc)

    @pytest.mark.parametrize("text", ["", "[]", "{", '{"format": 1}', "null"])
    def test_not_a_proof(self, text: str) -> None:
        """Text that is not a proof object is refused with InvalidArgument."""
        with pytest.raises(InvalidArgument):
            merkle.ConsistencyProof.from_json(text)
