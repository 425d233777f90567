"""The standalone verifier: the published probes, every proof of small trees, tampering, documents, imports."""

from __future__ import annotations

import ast
import io
import json
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from aidledger import proofcheck
from aidledger.core import merkle
from tests.core.test_merkle import StoredNodes, leaves, load_vectors

SOURCE = Path(proofcheck.__file__)


def flips(value: bytes) -> Iterator[bytes]:
    """``value`` with each one of its bits changed in turn."""
    for bit in range(8 * len(value)):
        changed = bytearray(value)
        changed[bit // 8] ^= 1 << (bit % 8)
        yield bytes(changed)


def unhex(texts: list[str]) -> list[bytes]:
    return [bytes.fromhex(text) for text in texts]


class TestPublishedProbes:
    def test_inclusion_probes(self) -> None:
        """Each of the 98 inclusion probes is accepted exactly when it should be."""
        for probe in load_vectors()["inclusion_probes"]:
            got = proofcheck.verify_inclusion(
                bytes.fromhex(probe["leafHash"]),
                probe["leafIdx"],
                probe["treeSize"],
                unhex(probe["proof"]),
                bytes.fromhex(probe["root"]),
            )
            assert got is not probe["wantErr"], probe["file"]

    def test_consistency_probes(self) -> None:
        """Each consistency probe is decided as published, but roots that are not 32 bytes are always refused."""
        for probe in load_vectors()["consistency_probes"]:
            roots = bytes.fromhex(probe["root1"]), bytes.fromhex(probe["root2"])
            got = proofcheck.verify_consistency(probe["size1"], probe["size2"], *roots, unhex(probe["proof"]))
            placeholder = any(len(root) != 32 for root in roots)
            assert got is not (probe["wantErr"] or placeholder), probe["file"]


class TestEveryProof:
    def test_every_inclusion_in_trees_of_1_to_300(self) -> None:
        """Every leaf of every tree of 1 to 300 leaves is proved included (and, on a sample, not another leaf or root)."""
        hashes = leaves(300)
        stored = StoredNodes(hashes)
        roots = [merkle.root_from(stored, n) for n in range(301)]
        for n in range(1, 301):
            for index in range(n):
                proof = merkle.inclusion_proof_from(stored, n, index)
                assert proofcheck.verify_inclusion(hashes[index], index, n, list(proof.path), roots[n])
                if (n + index) % 8 == 0:
                    assert not proofcheck.verify_inclusion(hashes[index - 1], index, n, list(proof.path), roots[n])
                    assert not proofcheck.verify_inclusion(hashes[index], index, n, list(proof.path), roots[n - 1])

    def test_consistency_between_every_pair_up_to_64(self) -> None:
        """Every tree of up to 64 leaves is proved to extend each smaller one, and not its neighbours' roots."""
        hashes = leaves(65)
        roots = [merkle.root(hashes[:n]) for n in range(66)]
        for new in range(1, 65):
            for old in range(1, new + 1):
                path = list(merkle.consistency_path(hashes[:new], old))
                assert proofcheck.verify_consistency(old, new, roots[old], roots[new], path), (old, new)
                assert not proofcheck.verify_consistency(old, new, roots[old], roots[new + 1], path)
                assert not proofcheck.verify_consistency(old, new, roots[old - 1], roots[new], path)

    def test_consistency_sample_up_to_300(self) -> None:
        """A sample of size pairs up to 300, from stored nodes."""
        stored = StoredNodes(leaves(300))
        rng = random.Random(9162)
        for _ in range(400):
            new = rng.randint(1, 300)
            old = rng.randint(1, new)
            path = list(merkle.consistency_proof_from(stored, old, new).path)
            old_root, new_root = merkle.root_from(stored, old), merkle.root_from(stored, new)
            assert proofcheck.verify_consistency(old, new, old_root, new_root, path), (old, new)

    @pytest.mark.parametrize("seed", range(4))
    def test_random_sizes_up_to_100000(self, seed: int) -> None:
        """Trees of a random size up to 100,000 leaves: an inclusion and a consistency proof, from the list."""
        rng = random.Random(seed)
        size = rng.randint(50_000, 100_000)
        hashes = leaves(size)
        tree_root = merkle.root(hashes)
        index, old = rng.randrange(size), rng.randint(1, size)
        proof = merkle.inclusion_proof(hashes, index)
        assert proofcheck.verify_inclusion(proof.leaf_hash, index, size, list(proof.path), tree_root)
        path = list(merkle.consistency_path(hashes, old))
        assert proofcheck.verify_consistency(old, size, merkle.root(hashes[:old]), tree_root, path)


class TestTampering:
    SIZES = (1, 2, 3, 5, 8, 13, 64, 127, 300)

    @pytest.mark.parametrize("size", SIZES)
    def test_inclusion_refuses_every_single_bit_change(self, size: int) -> None:
        """Changing any one bit of the leaf hash, the root or any hash of the path is refused."""
        hashes = leaves(size)
        stored = StoredNodes(hashes)
        tree_root = merkle.root_from(stored, size)
        for index in {0, size // 2, size - 1}:
            path = list(merkle.inclusion_proof_from(stored, size, index).path)
            assert proofcheck.verify_inclusion(hashes[index], index, size, path, tree_root)
            for leaf in flips(hashes[index]):
                assert not proofcheck.verify_inclusion(leaf, index, size, path, tree_root)
            for changed_root in flips(tree_root):
                assert not proofcheck.verify_inclusion(hashes[index], index, size, path, changed_root)
            for position, node in enumerate(path):
                for changed in flips(node):
                    tampered = [*path[:position], changed, *path[position + 1 :]]
                    assert not proofcheck.verify_inclusion(hashes[index], index, size, tampered, tree_root)

    @pytest.mark.parametrize("size", SIZES[1:])
    def test_consistency_refuses_every_single_bit_change(self, size: int) -> None:
        """Changing any one bit of either root or of any hash of the path is refused."""
        stored = StoredNodes(leaves(size))
        new_root = merkle.root_from(stored, size)
        for old in {1, size // 2 or 1, size - 1}:
            old_root = merkle.root_from(stored, old)
            path = list(merkle.consistency_proof_from(stored, old, size).path)
            assert proofcheck.verify_consistency(old, size, old_root, new_root, path)
            for changed_root in flips(old_root):
                assert not proofcheck.verify_consistency(old, size, changed_root, new_root, path)
            for changed_root in flips(new_root):
                assert not proofcheck.verify_consistency(old, size, old_root, changed_root, path)
            for position, node in enumerate(path):
                for changed in flips(node):
                    tampered = [*path[:position], changed, *path[position + 1 :]]
                    assert not proofcheck.verify_consistency(old, size, old_root, new_root, tampered)

    def test_hashes_must_be_32_bytes(self) -> None:
        """A hash of any other length or type is refused, even where the arithmetic would not look at it."""
        hashes = leaves(2)
        tree_root = merkle.root(hashes)
        assert proofcheck.verify_inclusion(hashes[0], 0, 2, [hashes[1]], tree_root)
        assert not proofcheck.verify_inclusion(hashes[0], 0, 2, [hashes[1] + b"\x00"], tree_root)
        assert not proofcheck.verify_inclusion(hashes[0], 0, 2, [bytearray(hashes[1])], tree_root)  # type: ignore[list-item]
        assert not proofcheck.verify_inclusion(hashes[0], 0, 2, hashes[1], tree_root)  # type: ignore[arg-type]
        assert proofcheck.verify_consistency(1, 1, hashes[0], hashes[0], [])
        assert not proofcheck.verify_consistency(1, 1, hashes[0][:12], hashes[0][:12], [])
        assert not proofcheck.verify_consistency(True, 1, hashes[0], hashes[0], [])
        assert not proofcheck.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])


class TestDocuments:
    def test_inclusion_document(self) -> None:
        """A document from InclusionProof.as_json() holds against its root, not against another."""
        hashes = leaves(11)
        doc = json.loads(merkle.inclusion_proof(hashes, 6).as_json())
        assert proofcheck.check_document(doc, merkle.root(hashes).hex())
        assert proofcheck.check_document(doc, merkle.root(hashes).hex().upper())
        assert not proofcheck.check_document(doc, merkle.root(hashes[:10]).hex())

    def test_consistency_document(self) -> None:
        """A consistency document needs both roots: the new one, and the old one by keyword."""
        hashes = leaves(11)
        doc = json.loads(merkle.consistency_proof(hashes, 5).as_json())
        new, old = merkle.root(hashes).hex(), merkle.root(hashes[:5]).hex()
        assert proofcheck.check_document(doc, new, old_root_hex=old)
        assert not proofcheck.check_document(doc, new)
        assert not proofcheck.check_document(doc, old, old_root_hex=new)

    @pytest.mark.parametrize(
        "change",
        [
            {"format": 2},
            {"format": True},
            {"format": "1"},
            {"kind": "consistency"},
            {"index": 7},
            {"index": True},
            {"tree_size": 11.0},
            {"leaf_hash": None},
            {"path": None},
            {"path": [1]},
            {"extra": 1},
        ],
    )
    def test_malformed_documents_are_refused(self, change: dict[str, object]) -> None:
        """Any other format, kind, key, number or hash form is refused (False), never raised."""
        hashes = leaves(11)
        doc = json.loads(merkle.inclusion_proof(hashes, 6).as_json())
        assert not proofcheck.check_document(doc | change, merkle.root(hashes).hex())
        assert not proofcheck.check_document([doc], merkle.root(hashes).hex())  # type: ignore[arg-type]
        assert not proofcheck.check_document(doc, "not hex")

    def test_the_published_size_binds_the_document(self) -> None:
        """The RFC algorithm takes leaf 0 of 5 leaves as leaf 0 of 6 too; the size published with the root refuses it."""
        hashes = leaves(5)
        root = merkle.root(hashes)
        path = list(merkle.inclusion_path(hashes, 0))
        assert proofcheck.verify_inclusion(hashes[0], 0, 6, path, root)
        doc = {"format": 1, "kind": "inclusion", "index": 0, "tree_size": 6, "leaf_hash": hashes[0].hex()}
        doc["path"] = [h.hex() for h in path]
        assert proofcheck.check_document(doc, root.hex())
        assert not proofcheck.check_document(doc, root.hex(), tree_size=5)
        assert proofcheck.check_document(doc | {"tree_size": 5}, root.hex(), tree_size=5)
        consistency = json.loads(merkle.consistency_proof(hashes, 3).as_json())
        old_root = merkle.root(hashes[:3]).hex()
        assert proofcheck.check_document(consistency, root.hex(), old_root, tree_size=5, old_size=3)
        assert not proofcheck.check_document(consistency, root.hex(), old_root, tree_size=5, old_size=2)
        assert not proofcheck.check_document(consistency, root.hex(), old_root, tree_size=6, old_size=3)

    def test_upper_case_hashes_in_a_document_are_refused(self) -> None:
        """Documents carry hashes in lower case only: one canonical form."""
        hashes = leaves(11)
        doc = json.loads(merkle.inclusion_proof(hashes, 6).as_json())
        doc["leaf_hash"] = doc["leaf_hash"].upper()
        assert not proofcheck.check_document(doc, merkle.root(hashes).hex())


class TestStandalone:
    ALLOWED: ClassVar = {"__future__", "argparse", "hashlib", "json", "sys", "typing"}

    def test_imports_only_the_standard_modules_it_names(self) -> None:
        """proofcheck imports hashlib, json, argparse, sys and typing, and nothing else (no aidledger)."""
        tree = ast.parse(SOURCE.read_text())
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module is not None, "no relative imports"
                imported.add(node.module)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"__import__", "exec", "eval"}
        assert imported <= self.ALLOWED, imported - self.ALLOWED

    def test_a_copy_runs_alone(self, tmp_path: Path) -> None:
        """A copy of the file, run in isolated mode away from the project, checks a document from its command line."""
        hashes = leaves(20)
        copy = tmp_path / "proofcheck.py"
        shutil.copy(SOURCE, copy)
        (tmp_path / "proof.json").write_text(merkle.inclusion_proof(hashes, 13).as_json())
        (tmp_path / "extends.json").write_text(merkle.consistency_proof(hashes, 7).as_json())
        root, old = merkle.root(hashes).hex(), merkle.root(hashes[:7]).hex()

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-I", str(copy), *args]
            return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)

        valid, invalid = run("proof.json", root), run("proof.json", old)
        assert (valid.returncode, valid.stdout, invalid.returncode, invalid.stdout) == (0, "valid\n", 1, "INVALID\n")
        assert run("extends.json", root, "--size", "20", "--old-root", old, "--old-size", "7").returncode == 0
        assert run("extends.json", root, "--size", "20", "--old-root", old, "--old-size", "8").returncode == 1
        missing = run("absent.json", root)
        assert missing.returncode == 2 and "cannot read absent.json" in missing.stderr

    def test_main_reads_standard_input(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``-`` reads the document from standard input."""
        hashes = leaves(3)
        monkeypatch.setattr(sys, "stdin", io.StringIO(merkle.inclusion_proof(hashes, 2).as_json()))
        assert proofcheck.main(["-", merkle.root(hashes).hex()]) == 0
        assert capsys.readouterr().out == "valid\n"
