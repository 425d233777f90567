"""Proofs of the log's Merkle tree on a real ledger, checked by the standalone verifier, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidledger import Aid, Ledger, proofcheck, reconcile
from aidledger.core import merkle
from aidledger.core.errors import DigestMismatch, InvalidArgument, StorageError, UnknownEntry
from aidledger.queries.proofs import (
    TreeDigest,
    check_extends,
    consistency_proof,
    donor_receipt,
    inclusion_proof,
    tree_check,
    tree_digest,
)
from aidledger.store import schema as t
from aidledger.store import tree
from tests.books import MAY
from tests.ledger.test_tamper import behind_the_library
from tests.operations.conftest import kzt
from tests.reliability.test_tampering import fill


@pytest.fixture
def filled(books: Aid) -> Ledger:
    return fill(books).ledger


def _leaves(ledger: Ledger) -> list[bytes]:
    with ledger.snapshot() as connection:
        return tree.leaves(connection)


def _size(ledger: Ledger) -> int:
    with ledger.snapshot() as connection:
        return int(connection.execute(sa.select(sa.func.max(t.log.c.seq))).scalar_one())


class TestTheTree:
    def test_the_stored_tree_is_the_tree_of_the_log(self, filled: Ledger) -> None:
        """After every kind of write, the stored nodes give the root recomputed from the log's items."""
        leaves = _leaves(filled)
        digest = tree_digest(filled)
        assert digest == TreeDigest(len(leaves), merkle.root(leaves).hex()) == tree_check(filled).digest
        assert tree_check(filled).ok
        assert str(digest) == f"tree:{len(leaves)}:{digest.root}" and TreeDigest.parse(str(digest)) == digest

    def test_every_item_is_proven_against_every_later_digest(self, filled: Ledger) -> None:
        """Each item's proof, against the tree now and an older digest, holds in the standalone verifier."""
        leaves = _leaves(filled)
        older = TreeDigest(len(leaves) - 3, merkle.root(leaves[:-3]).hex())
        for seq in range(1, len(leaves) + 1):
            for digest in (None, older) if seq <= older.size else (None,):
                found = inclusion_proof(filled, seq, digest)
                assert found.proof.leaf_hash == leaves[seq - 1]
                assert proofcheck.document_problem(json.loads(found.as_json()), str(found.digest)) is None
                assert found.digest == (digest or tree_digest(filled))

    def test_an_entry_by_id_or_key(self, aid: Aid) -> None:
        """An entry is named by its id or its idempotency key; an unknown one is refused."""
        gift = aid.donate("GENERAL", kzt("5000"), donor="D-1", on=MAY, actor="cashier", key="gift-1")
        by_id, by_key = inclusion_proof(aid.ledger, gift.id), inclusion_proof(aid.ledger, "gift-1")
        assert by_id == by_key and by_id.kind == "entry" and by_id.ref == str(gift.seq)
        with pytest.raises(UnknownEntry, match="'nope'"):
            inclusion_proof(aid.ledger, "nope")
        with pytest.raises(InvalidArgument, match="newer than the digest"):
            inclusion_proof(aid.ledger, by_id.seq, TreeDigest(by_id.seq - 1, "0" * 64))

    def test_consistency_between_every_pair_of_sizes(self, filled: Ledger) -> None:
        """Every earlier tree (of the first 20 sizes, and a few later) is extended by every later one."""
        leaves = _leaves(filled)
        n = len(leaves)
        digests = [TreeDigest(size, merkle.root(leaves[:size]).hex()) for size in range(n + 1)]
        sizes = [*range(1, 21), n - 1, n]
        for old in sizes:
            for new in sizes:
                if old <= new:
                    found = consistency_proof(filled, digests[old], digests[new])
                    doc = json.loads(found.as_json())
                    assert proofcheck.document_problem(doc, str(digests[new]), str(digests[old])) is None
        assert check_extends(filled, digests[5]).ok
        with pytest.raises(InvalidArgument, match="more items"):
            consistency_proof(filled, digests[6], digests[5])
        with pytest.raises(InvalidArgument, match="proves nothing"):
            consistency_proof(filled, digests[0])

    def test_a_digest_of_another_log_is_refused(self, filled: Ledger) -> None:
        """A digest this log does not have gives an error, never a proof."""
        size = _size(filled)
        with pytest.raises(DigestMismatch, match="not the digest's"):
            inclusion_proof(filled, 1, TreeDigest(size, "ab" * 32))
        with pytest.raises(DigestMismatch, match="covers"):
            consistency_proof(filled, TreeDigest(size + 1, "ab" * 32))
        with pytest.raises(InvalidArgument, match="tree digest"):
            TreeDigest.parse(f"{size}:{'ab' * 32}")


def _rewrite(seq: int) -> object:
    def work(connection: Connection) -> None:
        connection.execute(sa.update(t.log).where(t.log.c.seq == seq).values(ref="999"))

    return work


def _remove(seq: int) -> object:
    def work(connection: Connection) -> None:
        g = t.log.c
        connection.execute(sa.delete(t.log).where(g.seq == seq))
        connection.execute(sa.update(t.log).where(g.seq > seq).values(seq=g.seq - 1))

    return work


def _reorder(seq: int) -> object:
    def work(connection: Connection) -> None:
        g = t.log.c
        for old, new in ((seq, -1), (seq + 1, seq), (-1, seq + 1)):
            connection.execute(sa.update(t.log).where(g.seq == old).values(seq=new))

    return work


class TestTampering:
    @pytest.mark.parametrize("change", [_rewrite, _remove, _reorder], ids=["rewritten", "removed", "reordered"])
    def test_a_changed_log_does_not_extend_an_earlier_digest(self, filled: Ledger, change: object) -> None:
        """A rewritten, removed or reordered item breaks consistency with a digest taken before."""
        published = tree_check(filled).digest
        Aid(filled).donate("GENERAL", kzt("10"), donor="D-9", on=MAY.add(days=9), actor="cashier")
        assert check_extends(filled, published).ok
        behind_the_library(filled, change(7))  # type: ignore[operator]
        found = check_extends(filled, published)
        assert not found.ok and "rewritten, removed or reordered" in found.problem
        assert not tree_check(filled).ok  # the stored nodes no longer match the log
        assert not reconcile(filled).ok

    def test_a_changed_or_removed_node_is_reported_never_proven(self, filled: Ledger) -> None:
        """A node changed or deleted behind the library: reconcile names it, and no proof through it is given."""
        published = tree_digest(filled)
        node = t.log_tree.c

        def change(connection: Connection) -> None:
            connection.execute(sa.update(t.log_tree).where(node.level == 1, node.idx == 0).values(hash="cd" * 32))
            connection.execute(sa.delete(t.log_tree).where(node.level == 0, node.idx == 5))

        behind_the_library(filled, change)
        check = next(c for c in reconcile(filled).checks if c.name == "log tree")
        assert not check.ok
        assert any("node (1, 0)" in line for line in check.details)
        assert any("node (0, 5)" in line and "stored nothing" in line for line in check.details)
        for seq in (3, 4):  # their proofs go through node (1, 0); those of items 1 and 2 do not, and still hold
            with pytest.raises(StorageError, match="does not hold"):
                inclusion_proof(filled, seq, published)
        assert proofcheck.document_problem(json.loads(inclusion_proof(filled, 1).as_json()), str(published)) is None
        with pytest.raises(StorageError, match="no node"):
            inclusion_proof(filled, 6)
        assert tree_check(filled).digest == published  # the digest to publish still comes from the log


class TestReceipt:
    def test_a_donors_receipt_end_to_end(self, aid: Aid, tmp_path: Path) -> None:
        """A receipt holds against the published digest with the standalone verifier; every bit flip is refused."""
        gift = aid.donate("HOUSING", kzt("25000.50"), donor="Dostyk appeal", on=MAY, actor="cashier", key="g-7")
        aid.donate("GENERAL", kzt("10"), donor="D-2", on=MAY, actor="cashier")
        published = str(tree_check(aid.ledger).digest)
        found = donor_receipt(aid.ledger, "g-7", published)
        assert found.entry_id == gift.id
        text = found.as_json()
        doc = json.loads(text)
        assert proofcheck.check_receipt(doc, published)
        assert doc["fields"]["postings"][0][3] == 2500050 and doc["hashes"]["entry"] == gift.hash
        raw = text.encode("utf-8")
        for position in range(len(raw)):
            for bit in range(8):
                changed = bytearray(raw)
                changed[position] ^= 1 << bit
                try:
                    tampered = json.loads(changed.decode("utf-8"))
                except ValueError:
                    continue  # no longer JSON: refused before any check
                assert not proofcheck.check_receipt(tampered, published), (position, bit)
        for position in range(len(published)):
            for bit in range(7):
                digest = bytearray(published.encode())
                digest[position] ^= 1 << bit
                assert not proofcheck.check_receipt(doc, digest.decode("latin-1")), (position, bit)

    def test_a_receipt_is_for_an_entry(self, aid: Aid) -> None:
        """The log's first item is a definition, not an entry: no receipt."""
        with pytest.raises(InvalidArgument, match="a receipt is for an entry"):
            donor_receipt(aid.ledger, 1)  # type: ignore[arg-type]

    def test_no_receipt_for_an_entry_changed_behind_the_library(self, aid: Aid) -> None:
        """A posting's amount changed in the database: the receipt would not hold, so none is given."""
        gift = aid.donate("HOUSING", kzt("1000"), donor="D-1", on=MAY, actor="cashier", key="g-1")

        def change(connection: Connection) -> None:
            p = t.postings.c
            connection.execute(sa.update(t.postings).where(p.entry_seq == gift.seq).values(amount=p.amount * 10))

        behind_the_library(aid.ledger, change)
        with pytest.raises(StorageError, match="the entry hash is not the hash"):
            donor_receipt(aid.ledger, "g-1")
