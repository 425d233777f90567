"""Proofs anyone can check: an item in a published tree digest, a later digest extending an earlier one.

The log is a Merkle tree (RFC 9162) over its items in sequence order: leaf
``i`` is the leaf hash of the canonical text of log item ``i + 1`` (the text
whose SHA-256 is the item's chained hash).  Its *tree digest* is written
``tree:<size>:<root hex>``, apart from the chain digest ``<seq>:<hash>``: both
name the same log at the same size, and the prefix keeps the two forms apart.

Proofs are folded from the stored nodes (:mod:`aidledger.store.tree`), O(log n)
look-ups, and every proof is checked with the standalone verifier
(:mod:`aidledger.proofcheck`) before it is returned: a node changed behind the
library gives an error naming the difference, never a false proof.  The
digest to publish comes from :func:`tree_check`, which recomputes the tree
from the log itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import attrs
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aidledger import proofcheck
from aidledger.core import merkle
from aidledger.core.errors import DigestMismatch, InvalidArgument, StorageError, UnknownEntry
from aidledger.ledger.chart import Chart
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.log import stored_fields
from aidledger.ledger.results import Check
from aidledger.store import schema as t
from aidledger.store import tree as store_tree

#: Version of the JSON documents written here (the ``"format"`` field).
FORMAT: Final = 1
_TREE_DIGEST: Final = re.compile(r"tree:(0|[1-9][0-9]*):([0-9a-f]{64})")


@attrs.frozen
class TreeDigest:
    """The log's Merkle tree at one size: ``tree:<size>:<root hex>``.

    Attributes:
        size: the number of items of the log the tree covers (the chain digest's item number).
        root: the tree's root hash, 64 lower-case hex digits.
    """

    size: int
    root: str

    @classmethod
    def parse(cls, text: object) -> TreeDigest:
        """Read ``tree:<size>:<64 lower-case hex digits>``; InvalidArgument otherwise."""
        if isinstance(text, TreeDigest):
            return text
        match = _TREE_DIGEST.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidArgument(f"a tree digest is 'tree:<size>:<64 hex digits>', got {text!r}", value=text)
        return cls(int(match.group(1)), match.group(2))

    @staticmethod
    def looks_like(text: object) -> bool:
        """Whether ``text`` is written as a tree digest (and not as a chain digest ``<seq>:<hash>``)."""
        return isinstance(text, str) and text.strip().startswith("tree:")

    def __str__(self) -> str:
        return f"tree:{self.size}:{self.root}"


@attrs.frozen(kw_only=True)
class ItemProof:
    """That one item of the log is in the tree of a digest.

    Attributes:
        seq: the item's number in the log (leaf ``seq - 1``).
        kind: what the item covers (``entry``, ``close``, ``record``, ``unit``, ``account``, ``fund``).
        ref: which one (an entry's number, a unit's code, ...).
        text: the item's canonical text; its leaf hash is ``SHA-256(0x00 || text)``.
        proof: the RFC 9162 inclusion proof of that leaf.
        digest: the tree digest the proof leads to.
    """

    seq: int
    kind: str
    ref: str
    text: str
    proof: merkle.InclusionProof
    digest: TreeDigest

    def as_json(self) -> str:
        """``{"format", "kind": "item", "item": text, "proof": inclusion document, "tree": digest}``."""
        return _dumps(
            {"kind": "item", "item": self.text, "proof": json.loads(self.proof.as_json()), "tree": str(self.digest)}
        )


@attrs.frozen(kw_only=True)
class LogExtension:
    """That the log at ``new`` extends the log at ``old``: nothing rewritten, removed or reordered.

    Attributes:
        old: the earlier tree digest.
        new: the later tree digest.
        proof: the RFC 9162 consistency proof between them.
    """

    old: TreeDigest
    new: TreeDigest
    proof: merkle.ConsistencyProof

    def as_json(self) -> str:
        """``{"format", "kind": "extension", "old", "new", "proof": consistency document}``."""
        return _dumps(
            {"kind": "extension", "old": str(self.old), "new": str(self.new), "proof": json.loads(self.proof.as_json())}
        )


@attrs.frozen(kw_only=True)
class DonorReceipt:
    """A donor's receipt: one entry's canonical form, every intermediate hash, its proof and the digest.

    :func:`aidledger.proofcheck.check_receipt` recomputes, with hashlib alone:
    the fields' hash, the entry's hash, the log item's text and leaf, and the
    root the proof leads to.  It holds what the ledger hashed for the entry and
    nothing more (the ledger keeps no personal data of beneficiaries).

    Attributes:
        entry_id: the entry's id.
        fields: the entry's canonical fields as hashed, with the chart definitions they refer to.
        entry: the fields the ledger added: ``id``, ``seq``, ``rec`` (recorded, UTC microseconds), ``prev``.
        item: the log item: ``seq``, ``entries`` (the newest entry at that item), ``prev`` (the item before's hash).
        hashes: the intermediate values: ``fields``, ``entry``, ``item`` (the item's chained hash), ``leaf``.
        proof: the item's proof in the tree of ``proof.digest``.
    """

    entry_id: str
    fields: dict[str, Any]
    entry: dict[str, Any]
    item: dict[str, Any]
    hashes: dict[str, str]
    proof: ItemProof

    def as_json(self) -> str:
        """The receipt document, as the standalone verifier reads it (keys sorted, no spaces)."""
        return _dumps(
            {
                "kind": "receipt",
                "fields": self.fields,
                "entry": self.entry,
                "item": self.item,
                "hashes": self.hashes,
                "proof": json.loads(self.proof.proof.as_json()),
                "tree": str(self.proof.digest),
            }
        )


def tree_digest(ledger: Ledger) -> TreeDigest:
    """The tree digest of the whole log, from the stored nodes (O(log n)); publish the one :func:`tree_check` gives."""
    with _reading(ledger) as connection:
        size = _size(connection)
        return TreeDigest(size, _root(connection, size).hex())


@attrs.frozen(kw_only=True)
class TreeCheck:
    """The log's tree recomputed from its items, compared with the stored nodes.

    Attributes:
        digest: the tree digest recomputed from the log (the one to publish).
        differences: the stored nodes that differ from it (at most 20), empty if none.
    """

    digest: TreeDigest
    differences: tuple[store_tree.Difference, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def tree_check(ledger: Ledger) -> TreeCheck:
    """Recompute the log's tree from its items (O(n)) and compare every stored node with it."""
    with _reading(ledger) as connection:
        found, size, root = store_tree.differences(connection)
    return TreeCheck(digest=TreeDigest(size, root.hex()), differences=tuple(found))


@attrs.frozen(kw_only=True)
class Extension:
    """Whether the log, recomputed from its items, extends an earlier tree digest.

    Attributes:
        old: the earlier digest.
        new: the tree digest of the log now, recomputed from its items.
        problem: why the log does not extend ``old``, or ``""`` if it does.
    """

    old: TreeDigest
    new: TreeDigest
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def check_extends(ledger: Ledger, old_digest: str | TreeDigest) -> Extension:
    """Whether the log's first ``old.size`` items, recomputed from the log (O(n)), still have the old root."""
    old = TreeDigest.parse(old_digest)
    with _reading(ledger) as connection:
        leaves = store_tree.leaves(connection)
    new = TreeDigest(len(leaves), merkle.root(leaves).hex())
    if old.size > len(leaves):
        return Extension(
            old=old, new=new, problem=f"the log has {len(leaves)} items, fewer than the {old.size} of {old}"
        )
    found = merkle.root(leaves[: old.size]).hex()
    if found != old.root:
        problem = (
            f"the log's first {old.size} items have root {found}, not {old.root}: "
            "items were rewritten, removed or reordered"
        )
        return Extension(old=old, new=new, problem=problem)
    return Extension(old=old, new=new)


def check_log_tree(ledger: Ledger) -> Check:
    """The stored nodes of the log's Merkle tree with the tree recomputed from the log's items."""
    result = tree_check(ledger)
    problems = [
        f"node ({found.level}, {found.idx}) over items [{(found.idx << found.level) + 1}, "
        f"{(found.idx + 1) << found.level}]: the log gives {found.expected or 'no node'}, "
        f"stored {found.found or 'nothing'}"
        for found in result.differences
    ]
    return Check.of(
        "log tree",
        f"each stored node of the log's Merkle tree ({result.digest}) with the tree recomputed from its items",
        problems,
        "{n} node(s) of the log's tree differ from the log",
    )


def inclusion_proof(ledger: Ledger, item: int | str, digest: str | TreeDigest | None = None) -> ItemProof:
    """The proof that ``item`` is in the log's tree at ``digest`` (default: the tree now).

    ``item`` is a log item number (an int) or an entry's id or idempotency key.
    Raises UnknownEntry if there is no such item, InvalidArgument if the digest
    is malformed or older than the item, DigestMismatch if it is not a digest
    of this log, StorageError if the stored tree differs from the log.
    """
    with _reading(ledger) as connection:
        row = _item_row(connection, item)
        wanted = None if digest is None else TreeDigest.parse(digest)
        if wanted is not None and row.seq > wanted.size:
            raise InvalidArgument(
                f"item {row.seq} is newer than the digest {wanted}, which covers items 1 to {wanted.size}",
                item=item,
                digest=str(wanted),
            )
        return _prove(connection, row, _target(connection, wanted))


def consistency_proof(
    ledger: Ledger, old_digest: str | TreeDigest, new: str | TreeDigest | None = None
) -> LogExtension:
    """The proof that the log at ``new`` (default: now) extends the log at ``old_digest``.

    Raises InvalidArgument for a malformed digest or one of no items, or sizes
    in the wrong order; DigestMismatch if a digest is not one of this log (its
    items up to that size were rewritten, removed or reordered since).
    """
    old = TreeDigest.parse(old_digest)
    if old.size == 0:
        raise InvalidArgument("every log extends the empty one: a proof from size 0 proves nothing", digest=str(old))
    with _reading(ledger) as connection:
        wanted = None if new is None else TreeDigest.parse(new)
        if wanted is not None and old.size > wanted.size:
            raise InvalidArgument(
                f"the old digest {old} covers more items than the new {wanted}", old=str(old), new=str(wanted)
            )
        _target(connection, old)
        target = _target(connection, wanted)
        ranges = merkle.consistency_ranges(old.size, target.size)
        proof = merkle.consistency_proof_from(_source(connection, ranges), old.size, target.size)
    extension = LogExtension(old=old, new=target, proof=proof)
    if not proofcheck.check_document(
        json.loads(proof.as_json()), target.root, old.root, tree_size=target.size, old_size=old.size
    ):
        raise StorageError(f"the stored tree gives a proof that does not hold from {old} to {target}; run reconcile")
    return extension


def donor_receipt(ledger: Ledger, entry: str, digest: str | TreeDigest | None = None) -> DonorReceipt:
    """The donor receipt of an entry (by id or idempotency key) in the log's tree at ``digest`` (default: now).

    The receipt is checked with the standalone verifier before it is returned:
    an entry whose stored rows no longer give its hash is a StorageError.
    """
    with _reading(ledger) as connection:
        row = _item_row(connection, entry)
        if row.kind != "entry":
            raise InvalidArgument(f"a receipt is for an entry; log item {row.seq} is a {row.kind}", item=entry)
        stored = connection.execute(select(t.entries).where(t.entries.c.seq == int(row.ref))).one()
        fields = entry_fields(connection, stored)
        target = _target(connection, digest)
        proof = _prove(connection, row, target)
    found = DonorReceipt(
        entry_id=stored.id,
        fields=fields,
        entry={"id": stored.id, "seq": stored.seq, "rec": stored.recorded_at, "prev": stored.prev_hash},
        item={"seq": row.seq, "entries": row.entries, "prev": row.prev_hash},
        hashes={
            "fields": hashlib.sha256(_dumps_plain(fields).encode("utf-8")).hexdigest(),
            "entry": stored.hash,
            "item": row.hash,
            "leaf": proof.proof.leaf_hash.hex(),
        },
        proof=proof,
    )
    problem = proofcheck.receipt_problem(json.loads(found.as_json()), str(target))
    if problem is not None:
        raise StorageError(
            f"the receipt of entry {stored.id} does not hold ({problem}): the entry was changed; run verify"
        )
    return found


def entry_fields(connection: Connection, row: Any) -> dict[str, Any]:
    """The canonical fields of a stored entry as its hash covers them, the chart definitions included."""
    chart = Chart.read(connection)

    def rows(table: Any, *order: Any) -> list[Any]:
        return list(connection.execute(select(table).where(table.c.entry_seq == row.seq).order_by(*order)))

    fields, referenced = stored_fields(
        chart,
        row,
        rows(t.postings, t.postings.c.line),
        rows(t.entry_tags),
        rows(t.claims),
        rows(t.claim_releases),
    )
    fields["chart"] = json.loads(chart.text(referenced))
    return fields


@contextmanager
def _reading(ledger: Ledger) -> Iterator[Connection]:
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    with ledger.snapshot() as connection:
        yield connection


def _size(connection: Connection) -> int:
    return int(connection.execute(select(func.coalesce(func.max(t.log.c.seq), 0))).scalar_one())


def _item_row(connection: Connection, item: int | str) -> Any:
    g, e = t.log.c, t.entries.c
    if type(item) is int:
        row = connection.execute(select(t.log).where(g.seq == item)).first()
    elif isinstance(item, str) and item:
        seq = connection.execute(select(e.seq).where(e.id == item)).scalar()
        if seq is None:
            seq = connection.execute(select(e.seq).where(e.idempotency_key == item)).scalar()
        row = (
            None
            if seq is None
            else connection.execute(select(t.log).where(g.kind == "entry", g.ref == str(seq))).first()
        )
    else:
        raise InvalidArgument(
            f"an item is a log item number or an entry's id or idempotency key, got {item!r}", item=item
        )
    if row is None:
        raise UnknownEntry(f"no log item, entry id or idempotency key {item!r} in this ledger", item=item)
    return row


def _target(connection: Connection, digest: str | TreeDigest | None) -> TreeDigest:
    """The digest to prove against: the one given (checked against the stored tree) or the tree now."""
    size = _size(connection)
    if digest is None:
        return TreeDigest(size, _root(connection, size).hex())
    target = TreeDigest.parse(digest)
    if target.size > size:
        raise DigestMismatch(
            f"the digest {target} covers {target.size} items, but this log has {size}: it is not a digest of this "
            "ledger, or items were cut off; run verify",
            digest=str(target),
        )
    _check_root(connection, target)
    return target


def _check_root(connection: Connection, digest: TreeDigest) -> None:
    found = _root(connection, digest.size).hex()
    if found != digest.root:
        raise DigestMismatch(
            f"the log's first {digest.size} items have root {found}, not the digest's {digest.root}: the digest is "
            "not one of this ledger, or the log was rewritten since; run verify and reconcile",
            digest=str(digest),
            found=found,
        )


def _root(connection: Connection, size: int) -> bytes:
    return merkle.root_from(_source(connection, [(0, size)] if size else []), size)


def _prove(connection: Connection, row: Any, target: TreeDigest) -> ItemProof:
    """The inclusion proof of log row ``row`` in the tree of ``target``, checked before it is returned."""
    index = row.seq - 1
    ranges = [*merkle.inclusion_ranges(index, target.size), (index, index + 1)]
    proof = merkle.inclusion_proof_from(_source(connection, ranges), target.size, index)
    text = store_tree.item_text(row)
    if store_tree.leaf(text) != proof.leaf_hash:
        raise StorageError(f"the log's tree has a wrong leaf for item {row.seq}: it was changed; run reconcile")
    found = ItemProof(seq=row.seq, kind=row.kind, ref=row.ref, text=text, proof=proof, digest=target)
    if not proofcheck.check_document(json.loads(proof.as_json()), target.root, tree_size=target.size):
        raise StorageError(f"the stored tree gives a proof of item {row.seq} that does not hold; run reconcile")
    return found


def _source(connection: Connection, ranges: list[tuple[int, int]]) -> merkle.NodeSource:
    """A node source holding the perfect subtrees ``ranges`` fold from, read in one query."""
    stored = store_tree.nodes(connection, store_tree.keys(ranges))

    def source(start: int, size: int) -> bytes:
        level = size.bit_length() - 1
        found = stored.get((level, start >> level))
        if found is None:
            raise StorageError(
                f"the log's tree has no node for items [{start + 1}, {start + size}]: it was changed behind the "
                "library; run reconcile",
                start=start,
                size=size,
            )
        return found

    return source


def _dumps_plain(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _dumps(document: dict[str, Any]) -> str:
    return _dumps_plain({"format": FORMAT, **document})


__all__ = [
    "DonorReceipt",
    "Extension",
    "ItemProof",
    "LogExtension",
    "TreeCheck",
    "TreeDigest",
    "check_extends",
    "check_log_tree",
    "consistency_proof",
    "donor_receipt",
    "entry_fields",
    "inclusion_proof",
    "tree_check",
    "tree_digest",
]
