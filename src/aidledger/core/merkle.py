"""The log as a Merkle tree: RFC 9162 (Certificate Transparency v2) §2.1, as pure functions.

Hashing (SHA-256, 32-byte hashes):

- the hash of a leaf is ``SHA-256(0x00 || data)`` (:func:`leaf_hash`);
- the hash of an inner node is ``SHA-256(0x01 || left || right)`` (:func:`node_hash`);
- the tree hash MTH of ``n`` leaves splits them at ``k``, the largest power of
  two below ``n``: ``MTH(D[0:n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))``; the
  tree of no leaves hashes to ``SHA-256()`` (:data:`EMPTY_ROOT`).

Proofs are the RFC's PATH (an inclusion proof, §2.1.3.1) and PROOF (a
consistency proof, §2.1.4.1), as :class:`InclusionProof` and
:class:`ConsistencyProof` with one canonical JSON form each, which
:mod:`aidledger.proofcheck` checks with hashlib alone.

Each computation exists in two forms.  The list form (:func:`root`,
:func:`inclusion_proof`, ...) takes every leaf hash.  The *node source* form
(:func:`root_from`, :func:`inclusion_proof_from`, ...) takes a
:data:`NodeSource`, ``source(start, size) -> bytes``: the hash of the complete
subtree over the leaves ``[start, start + size)``, where ``size`` is a power of
two and ``start`` a multiple of it (``size == 1`` asks for a leaf hash).  A
database that stores those nodes answers a proof over a million leaves with
O(log n) look-ups: a proof is a list of at most ``log2(n) + 1`` ranges
(:func:`inclusion_ranges`, :func:`consistency_ranges`), of which all but at most
two are complete subtrees (one look-up each), and an incomplete range at the
right edge of the tree is folded from at most ``log2(n)`` complete ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import attrs

from aidledger.core.errors import InvalidArgument

#: Size of every hash in the tree (SHA-256).
HASH_SIZE: Final = 32
#: The hash of the tree of no leaves: SHA-256 of nothing.
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
#: Version of the JSON form of proofs (the ``"format"`` field).
FORMAT: Final = 1

#: ``source(start, size)``: the hash of the complete subtree over leaves ``[start, start + size)``.
NodeSource: TypeAlias = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 inner node hash: ``SHA-256(0x01 || left || right)`` (of any bytes, as the RFC defines it)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH, the tree hash of the given leaf hashes (:data:`EMPTY_ROOT` for none), in O(n) time."""
    _check_hashes(leaf_hashes, "leaf hash")
    return _fold(leaf_hashes) if leaf_hashes else EMPTY_ROOT


def root_from(source: NodeSource, size: int) -> bytes:
    """MTH of the first ``size`` leaves, from at most ``log2(size) + 1`` complete subtrees of ``source``."""
    _check_size(size, "tree size")
    return _subtree_root(source, 0, size) if size else EMPTY_ROOT


def list_source(leaf_hashes: Sequence[bytes]) -> NodeSource:
    """A node source over a list of leaf hashes: each subtree folded from its leaves (O(n) for a whole proof)."""
    _check_hashes(leaf_hashes, "leaf hash")

    def source(start: int, size: int) -> bytes:
        if start + size > len(leaf_hashes):
            raise InvalidArgument(
                f"leaves [{start}, {start + size}) are beyond the {len(leaf_hashes)} given", start=start, size=size
            )
        return _fold(leaf_hashes[start : start + size])

    return source


def subtree_root(source: NodeSource, start: int, end: int) -> bytes:
    """MTH of the leaves ``[start, end)``, a non-empty subtree, from at most ``log2(end - start) + 1`` look-ups.

    ``start`` is a multiple of the smallest power of two at least ``end - start``
    (as every range of :func:`inclusion_ranges` and :func:`consistency_ranges`).
    """
    _check_size(start, "subtree start")
    _check_size(end, "subtree end")
    if end <= start or start % _bit_ceil(end - start):
        raise InvalidArgument(f"[{start}, {end}) is not a non-empty subtree", start=start, end=end)
    return _subtree_root(source, start, end)


def _subtree_root(source: NodeSource, start: int, end: int) -> bytes:
    """:func:`subtree_root` of a range known to be a non-empty subtree: one look-up per bit of its size."""
    if (end - start) & (end - start - 1) == 0:
        return _lookup(source, start, end - start)
    parts = []
    size = end - start
    while size:
        step = 1 << (size.bit_length() - 1)
        parts.append(_lookup(source, start, step))
        start, size = start + step, size - step
    result = parts.pop()
    for part in reversed(parts):
        result = node_hash(part, result)
    return result


def inclusion_path(leaf_hashes: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """RFC 9162 PATH(index, D[n]): the sibling hashes from leaf ``index`` up to the root."""
    return inclusion_proof(leaf_hashes, index).path


def consistency_path(leaf_hashes: Sequence[bytes], old_size: int) -> tuple[bytes, ...]:
    """RFC 9162 PROOF(old_size, D[n]): the hashes that show the tree of ``old_size`` leaves is a prefix of this one."""
    return consistency_proof(leaf_hashes, old_size).path


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> InclusionProof:
    """The inclusion proof of leaf ``index`` in the tree of all the given leaf hashes."""
    return inclusion_proof_from(list_source(leaf_hashes), len(leaf_hashes), index)


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> ConsistencyProof:
    """The consistency proof from the tree of the first ``old_size`` leaves to the tree of all of them."""
    return consistency_proof_from(list_source(leaf_hashes), old_size, len(leaf_hashes))


def inclusion_proof_from(source: NodeSource, tree_size: int, index: int) -> InclusionProof:
    """The inclusion proof of leaf ``index`` in the tree of ``tree_size`` leaves, from a node source."""
    ranges = inclusion_ranges(index, tree_size)
    return InclusionProof(
        index=index,
        tree_size=tree_size,
        leaf_hash=_lookup(source, index, 1),
        path=tuple(_subtree_root(source, start, end) for start, end in ranges),
    )


def consistency_proof_from(source: NodeSource, old_size: int, new_size: int) -> ConsistencyProof:
    """The consistency proof from ``old_size`` to ``new_size`` leaves, from a node source."""
    ranges = consistency_ranges(old_size, new_size)
    return ConsistencyProof(
        old_size=old_size,
        new_size=new_size,
        path=tuple(_subtree_root(source, start, end) for start, end in ranges),
    )


def inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose tree hashes make PATH(index, D[tree_size]), leaf first.

    Every range is a complete subtree except, at most, the one that reaches the
    right edge of the tree.
    """
    _check_size(tree_size, "tree size")
    _check_size(index, "index")
    if index >= tree_size:
        raise InvalidArgument(
            f"leaf index {index} is out of range for a tree of {tree_size} leaves", index=index, tree_size=tree_size
        )
    top_down = []
    low, high = 0, tree_size
    while high - low > 1:
        middle = low + _split(high - low)
        if index < middle:
            top_down.append((middle, high))
            high = middle
        else:
            top_down.append((low, middle))
            low = middle
    return top_down[::-1]


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose tree hashes make PROOF(old_size, D[new_size]), lowest first.

    ``old_size`` is at least 1: every tree extends the empty one, so a proof
    from it would prove nothing (and :mod:`aidledger.proofcheck` refuses it).
    """
    _check_size(old_size, "old size")
    _check_size(new_size, "new size")
    if not 0 < old_size <= new_size:
        raise InvalidArgument(
            f"a consistency proof needs 1 <= old size <= new size, got {old_size} and {new_size}",
            old_size=old_size,
            new_size=new_size,
        )
    return subtree_consistency_ranges(0, old_size, new_size)


def subtree_consistency_ranges(start: int, end: int, size: int) -> list[tuple[int, int]]:
    """The ranges of a subtree consistency proof: ``[start, end)`` is part of the tree of ``size`` leaves.

    This is RFC 9162's SUBPROOF with the old tree generalised to a subtree
    ``[start, end)`` whose ``start`` is a multiple of the smallest power of two
    at least ``end - start`` (the "subtree consistency proof" of the IETF draft
    on Merkle tree certificates); with ``start == 0`` it is PROOF(end, D[size]).
    An empty subtree (``start == end``) and the whole tree need no hashes.
    """
    for value, name in ((start, "subtree start"), (end, "subtree end"), (size, "tree size")):
        _check_size(value, name)
    if not start <= end <= size or (start and start % _bit_ceil(end - start)):
        raise InvalidArgument(
            f"[{start}, {end}) is not a subtree of a tree of {size} leaves", start=start, end=end, size=size
        )
    if start == end:
        return []
    top_down: list[tuple[int, int]] = []
    low, high, known = 0, size, True
    while (start, end) != (low, high):
        middle = low + _split(high - low)
        if end <= middle:
            top_down.append((middle, high))
            high = middle
        else:
            # Either the subtree lies right of the split, or it starts at ``low`` and
            # covers the whole left half: then only its right part remains to prove.
            top_down.append((low, middle))
            known = known and start >= middle
            low, start = middle, max(start, middle)
    if not known:
        top_down.append((low, high))
    return top_down[::-1]


def _hashes(values: Iterable[bytes]) -> tuple[bytes, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class InclusionProof:
    """That the leaf hash ``leaf_hash`` is leaf number ``index`` of the tree of ``tree_size`` leaves.

    Attributes:
        index: the leaf's position, from 0.
        tree_size: the number of leaves of the tree whose root the proof leads to.
        leaf_hash: the leaf's hash (:func:`leaf_hash` of the item).
        path: RFC 9162 PATH: the sibling hashes from the leaf up to the root.
    """

    index: int
    tree_size: int
    leaf_hash: bytes
    path: tuple[bytes, ...] = attrs.field(converter=_hashes)

    def __attrs_post_init__(self) -> None:
        _check_hashes([self.leaf_hash], "leaf hash")
        _check_path(self.path, len(inclusion_ranges(self.index, self.tree_size)))

    def as_json(self) -> str:
        """The canonical JSON form (sorted keys, no spaces, hashes as lower-case hex)."""
        return _document(
            "inclusion", self.path, index=self.index, tree_size=self.tree_size, leaf_hash=self.leaf_hash.hex()
        )

    @classmethod
    def from_json(cls, document: str | Mapping[str, Any]) -> InclusionProof:
        """Read :meth:`as_json`'s form (as text or parsed); InvalidArgument for anything else."""
        doc = _read(document, "inclusion", ("index", "tree_size", "leaf_hash"))
        return cls(
            index=_integer(doc, "index"),
            tree_size=_integer(doc, "tree_size"),
            leaf_hash=_unhex(doc["leaf_hash"]),
            path=_unhex_path(doc["path"]),
        )


@attrs.frozen(kw_only=True)
class ConsistencyProof:
    """That the tree of ``new_size`` leaves begins with the tree of ``old_size`` leaves.

    Attributes:
        old_size: the number of leaves of the earlier tree (at least 1).
        new_size: the number of leaves of the later tree (at least ``old_size``).
        path: RFC 9162 PROOF: the hashes from which both roots are recomputed.
    """

    old_size: int
    new_size: int
    path: tuple[bytes, ...] = attrs.field(converter=_hashes)

    def __attrs_post_init__(self) -> None:
        _check_path(self.path, len(consistency_ranges(self.old_size, self.new_size)))

    def as_json(self) -> str:
        """The canonical JSON form (sorted keys, no spaces, hashes as lower-case hex)."""
        return _document("consistency", self.path, old_size=self.old_size, new_size=self.new_size)

    @classmethod
    def from_json(cls, document: str | Mapping[str, Any]) -> ConsistencyProof:
        """Read :meth:`as_json`'s form (as text or parsed); InvalidArgument for anything else."""
        doc = _read(document, "consistency", ("old_size", "new_size"))
        return cls(
            old_size=_integer(doc, "old_size"), new_size=_integer(doc, "new_size"), path=_unhex_path(doc["path"])
        )


def _fold(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a non-empty list, level by level: pair neighbours, carry an odd last node up unchanged."""
    level = list(leaf_hashes)
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _lookup(source: NodeSource, start: int, size: int) -> bytes:
    found = source(start, size)
    if not isinstance(found, bytes) or len(found) != HASH_SIZE:
        raise InvalidArgument(
            f"the node source gave {found!r} for leaves [{start}, {start + size}), not a {HASH_SIZE}-byte hash",
            start=start,
            size=size,
        )
    return found


def _split(size: int) -> int:
    """The largest power of two strictly below ``size`` (``size`` >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _bit_ceil(size: int) -> int:
    """The smallest power of two at least ``size``."""
    return 1 << max(size - 1, 0).bit_length()


def _check_size(value: object, name: str) -> None:
    if type(value) is not int or value < 0:
        raise InvalidArgument(f"the {name} must be a whole number >= 0, got {value!r}", value=value)


def _check_hashes(hashes: Sequence[object], name: str) -> None:
    for position, value in enumerate(hashes):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise InvalidArgument(
                f"{name} {position} is {value!r}, not {HASH_SIZE} bytes", position=position, value=value
            )


def _check_path(path: tuple[bytes, ...], expected: int) -> None:
    _check_hashes(path, "path hash")
    if len(path) != expected:
        raise InvalidArgument(f"the path has {len(path)} hashes, the proof needs {expected}", path=path)


def _document(kind: str, path: tuple[bytes, ...], **fields: object) -> str:
    """The canonical JSON text of a proof: its format, kind, numbers and hashes, keys sorted, no spaces."""
    document = {"format": FORMAT, "kind": kind, "path": [h.hex() for h in path], **fields}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


_HEX: Final = frozenset("0123456789abcdef")


def _read(document: str | Mapping[str, Any], kind: str, fields: tuple[str, ...]) -> Mapping[str, Any]:
    """The parsed document, if it has exactly the keys of a ``kind`` proof of this format."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as error:
            raise InvalidArgument(f"a {kind} proof is JSON: {error}", document=document) from None
    if not isinstance(document, Mapping):
        raise InvalidArgument(f"a {kind} proof is a JSON object, got {document!r}", document=document)
    expected = {"format", "kind", "path", *fields}
    if (
        set(document) != expected
        or document["format"] != FORMAT
        or type(document["format"]) is not int
        or document["kind"] != kind
    ):
        raise InvalidArgument(
            f"a {kind} proof of format {FORMAT} has the keys {sorted(expected)} and kind {kind!r}, got {document!r}",
            document=document,
        )
    return document


def _integer(doc: Mapping[str, Any], key: str) -> int:
    value = doc[key]
    _check_size(value, key.replace("_", " "))
    return int(value)


def _unhex(text: object) -> bytes:
    if not isinstance(text, str) or len(text) != 2 * HASH_SIZE or not _HEX.issuperset(text):
        raise InvalidArgument(f"a hash is {2 * HASH_SIZE} lower-case hex digits, got {text!r}", value=text)
    return bytes.fromhex(text)


def _unhex_path(path: object) -> tuple[bytes, ...]:
    if not isinstance(path, list):
        raise InvalidArgument(f"a path is a list of hashes, got {path!r}", path=path)
    return tuple(_unhex(text) for text in path)
