"""Check aidledger's Merkle proofs with nothing but the standard library.

This one file is the whole verifier: it imports nothing from aidledger, so it
can be copied alone to another machine (``python proofcheck.py proof.json
ROOT``) and rewritten in any language from the description below.  It follows
RFC 9162 (Certificate Transparency v2), §2.1.

Hashes
    Every hash is SHA-256, 32 bytes; anything else is refused.  The ledger's log
    is a list of items; item ``i`` is leaf ``i`` of a binary Merkle tree.

    - leaf hash: ``SHA-256(0x00 || item bytes)`` (one byte 0x00, then the item);
    - node hash: ``SHA-256(0x01 || left || right)`` (one byte 0x01, then the
      32-byte hash of the left child, then the 32-byte hash of the right child);
    - the root of ``n`` leaves splits them at ``k``, the largest power of two
      below ``n``, and is ``node(root of leaves [0, k), root of leaves [k, n))``;
      one leaf is its own root; no leaves hash to ``SHA-256()`` (the empty string).

Inclusion: leaf hash ``h`` is leaf ``index`` of a tree of ``size`` leaves (§2.1.3.2)
    The path lists sibling hashes from the leaf up to the root.  Refuse unless
    ``0 <= index < size``.  Set ``fn = index``, ``sn = size - 1``, ``r = h``.  For
    each hash ``p`` of the path, in order:

    1. if ``sn == 0``, refuse (the path is too long);
    2. if ``fn`` is odd or ``fn == sn``: ``r = SHA-256(0x01 || p || r)`` (``p`` is
       a left sibling); then, if ``fn`` is even, shift ``fn`` and ``sn`` right
       by one bit until ``fn`` is odd or zero (levels where the node has no right
       sibling, at the right edge of the tree, are skipped);
       otherwise ``r = SHA-256(0x01 || r || p)`` (``p`` is a right sibling);
    3. shift ``fn`` and ``sn`` right by one bit.

    Accept only if ``sn == 0`` and ``r`` equals the root.

Consistency: the tree of ``old_size`` leaves is a prefix of the tree of ``new_size`` (§2.1.4.2)
    Refuse unless ``1 <= old_size <= new_size`` (the empty tree is a prefix of
    every tree: a proof from it proves nothing).  If the sizes are equal, accept
    only an empty path and equal roots.  Otherwise refuse an empty path; if
    ``old_size`` is a power of two, put the old root in front of the path.  Set
    ``fn = old_size - 1``, ``sn = new_size - 1``, and shift both right by one bit
    while ``fn`` is odd.  Set ``fr = sr =`` the first hash of the path.  For each
    further hash ``c``, in order:

    1. if ``sn == 0``, refuse;
    2. if ``fn`` is odd or ``fn == sn``: ``fr = SHA-256(0x01 || c || fr)`` and
       ``sr = SHA-256(0x01 || c || sr)``; then, if ``fn`` is even, shift ``fn`` and
       ``sn`` right by one bit until ``fn`` is odd or zero;
       otherwise ``sr = SHA-256(0x01 || sr || c)`` (``c`` lies in the new part only);
    3. shift ``fn`` and ``sn`` right by one bit.

    Accept only if ``fr`` equals the old root, ``sr`` the new root and ``sn == 0``.

Documents (JSON, format 1)
    Hashes are 64 lower-case hex digits; numbers are JSON integers; a document
    has exactly these keys, no others::

        {"format": 1, "kind": "inclusion", "index": 5, "tree_size": 8,
         "leaf_hash": "<hex>", "path": ["<hex>", ...]}
        {"format": 1, "kind": "consistency", "old_size": 6, "new_size": 8,
         "path": ["<hex>", ...]}

    Roots are not in the documents: they come from where the reader trusts them
    (the published digest), and are given beside the document, best with the
    tree size published with them.  A root stands for one size, and the
    algorithms above bind the size only in part (a proof of leaf 0 of 5 leaves
    also passes as leaf 0 of 6 against the same root), so a reader who knows
    the size compares it with the document's ``tree_size`` (``new_size``, and
    ``old_size`` for the old root).

Receipts: one ledger entry, from its fields to a published tree digest
    A tree digest is the text ``tree:<size>:<root as 64 hex digits>``.  A
    receipt is a JSON object with exactly the keys ``format`` (1), ``kind``
    (``"receipt"``), ``fields``, ``entry``, ``item``, ``hashes``, ``proof`` and
    ``tree``.  ``J(x)`` below is the canonical JSON of ``x``: keys sorted, no
    spaces (separators ``,`` and ``:``), non-ASCII characters as they are (not
    ``\\u`` escapes), encoded as UTF-8; ``H(x)`` is the lower-case hex SHA-256 of
    those bytes.  Accept only if every step holds:

    1. ``tree`` is the published digest, ``tree:<size>:<root>``;
    2. ``hashes.fields == H(fields)`` (the entry's fields as the ledger hashed them);
    3. ``hashes.entry == H({"fields": hashes.fields, "id": entry.id, "prev": entry.prev,
       "rec": entry.rec, "seq": entry.seq, "v": 1})``;
    4. ``hashes.item == H(T)`` where ``T = J({"entries": item.entries, "item": hashes.entry,
       "kind": "entry", "prev": item.prev, "ref": "<entry.seq as decimal text>",
       "seq": item.seq, "v": 1})``, the log item's text (``hashes.item`` is the
       item's chained hash, the ``<seq>:<hash>`` digest at that item);
    5. ``hashes.leaf == proof.leaf_hash ==`` the hex of ``SHA-256(0x00 || T)``, and
       ``proof.index == item.seq - 1``;
    6. ``proof`` is an inclusion document that holds against ``root``, with
       ``proof.tree_size == size``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

HASH_SIZE = 32
FORMAT = 1
_HEX = frozenset("0123456789abcdef")


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, path: list[bytes], root: bytes) -> bool:
    """Whether ``path`` proves ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` leaves with ``root``."""
    if not _hashes(leaf_hash, root, path) or not _whole(index, tree_size) or not index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    """Whether ``path`` proves the tree of ``new_size`` leaves with ``new_root`` extends the one of ``old_size``."""
    if not _hashes(old_root, new_root, path) or not _whole(old_size, new_size) or not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if not path:
        return False
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


def check_document(
    doc: dict[str, Any],
    root_hex: str,
    old_root_hex: str | None = None,
    *,
    tree_size: int | None = None,
    old_size: int | None = None,
) -> bool:
    """Whether a proof document (see the module's description) holds against the given root(s).

    ``root_hex`` is the root of the tree the inclusion proof leads to, or the
    *new* root of a consistency proof, whose old root is ``old_root_hex`` (a
    consistency document with no ``old_root_hex`` is refused).  Roots may be
    given in either case of hex.  ``tree_size`` and ``old_size``, when given, are
    the sizes published with the roots, and the document's must equal them.  Any
    malformed document is refused, never raised.
    """
    root = _unhex(root_hex.lower()) if isinstance(root_hex, str) else None
    if not isinstance(doc, dict) or root is None or type(doc.get("format")) is not int or doc["format"] != FORMAT:
        return False
    if tree_size is not None and tree_size != doc.get("tree_size", doc.get("new_size")):
        return False
    if old_size is not None and old_size != doc.get("old_size"):
        return False
    path = [_unhex(text) for text in doc["path"]] if isinstance(doc.get("path"), list) else [None]
    hashes = [h for h in path if h is not None]
    if len(hashes) != len(path):
        return False
    if doc.get("kind") == "inclusion" and set(doc) == {"format", "kind", "index", "tree_size", "leaf_hash", "path"}:
        leaf = _unhex(doc["leaf_hash"])
        return leaf is not None and verify_inclusion(leaf, doc["index"], doc["tree_size"], hashes, root)
    if doc.get("kind") == "consistency" and set(doc) == {"format", "kind", "old_size", "new_size", "path"}:
        old_root = _unhex(old_root_hex.lower()) if isinstance(old_root_hex, str) else None
        return old_root is not None and verify_consistency(doc["old_size"], doc["new_size"], old_root, root, hashes)
    return False


def parse_tree_digest(text: Any) -> tuple[int, bytes] | None:
    """The size and root of a tree digest ``tree:<size>:<64 hex digits>``, or ``None`` if it is not one."""
    parts = text.strip().split(":") if isinstance(text, str) else []
    if len(parts) != 3 or parts[0] != "tree" or not parts[1].isdigit() or not parts[1].isascii():
        return None
    root = _unhex(parts[2])
    return None if root is None or str(int(parts[1])) != parts[1] else (int(parts[1]), root)


def receipt_problem(receipt: Any, digest: str) -> str | None:
    """The first step (see the module's description) a receipt fails against ``digest``, or ``None`` if it holds."""
    try:
        return _receipt_problem(receipt, digest)
    except (TypeError, ValueError, KeyError, AttributeError):
        return "not a receipt of format 1"


def _receipt_problem(receipt: Any, digest: str) -> str | None:
    published = parse_tree_digest(digest)
    if published is None:
        return f"{digest!r} is not a tree digest (tree:<size>:<64 hex digits>)"
    keys = {"format", "kind", "fields", "entry", "item", "hashes", "proof", "tree"}
    if not isinstance(receipt, dict) or set(receipt) != keys or receipt["format"] != FORMAT:
        return "not a receipt of format 1"
    entry, item, hashes, proof = receipt["entry"], receipt["item"], receipt["hashes"], receipt["proof"]
    shapes = ((entry, {"id", "seq", "rec", "prev"}), (item, {"seq", "entries", "prev"}))
    if receipt["kind"] != "receipt" or any(not isinstance(d, dict) or set(d) != k for d, k in shapes):
        return "not a receipt of format 1"
    if (
        not isinstance(hashes, dict)
        or set(hashes) != {"fields", "entry", "item", "leaf"}
        or not isinstance(proof, dict)
    ):
        return "not a receipt of format 1"
    if parse_tree_digest(receipt["tree"]) != published:
        return f"the receipt was proven against {receipt['tree']}, not {digest.strip()}"
    if hashes["fields"] != _h(receipt["fields"]):
        return "the fields hash is not the hash of the receipt's fields"
    if hashes["entry"] != _h({**entry, "fields": hashes["fields"], "v": FORMAT}):
        return "the entry hash is not the hash of the receipt's entry"
    text = _j(_item(receipt))
    if hashes["item"] != hashlib.sha256(text).hexdigest():
        return "the item hash is not the hash of the receipt's log item"
    if hashes["leaf"] != hashlib.sha256(b"\x00" + text).hexdigest():
        return "the leaf hash is not the leaf of the receipt's log item"
    if proof.get("leaf_hash") != hashes["leaf"] or proof.get("index") != item["seq"] - 1:
        return "the proof is not of this item"
    size, root = published
    if not check_document(proof, root.hex(), tree_size=size):
        return f"the proof does not lead to the root of {digest.strip()}"
    return None


def document_problem(doc: Any, digest: str, old_digest: str | None = None) -> str | None:
    """Why ``doc`` does not hold against the published tree digest(s), or ``None`` if it holds.

    ``doc`` is a receipt, an item proof (``{"format": 1, "kind": "item",
    "item": T, "proof": ..., "tree": ...}``: the log item's text ``T`` and the
    inclusion proof of its leaf ``SHA-256(0x00 || T)``), a log extension
    (``{"format": 1, "kind": "extension", "old": ..., "new": ..., "proof": ...}``,
    checked against ``old_digest`` and ``digest``) or a bare proof document.
    """
    if isinstance(doc, dict) and doc.get("kind") == "receipt":
        return receipt_problem(doc, digest)
    published = parse_tree_digest(digest)
    if published is None:
        return f"{digest!r} is not a tree digest (tree:<size>:<64 hex digits>)"
    old = parse_tree_digest(old_digest) if old_digest is not None else None
    if old_digest is not None and old is None:
        return f"{old_digest!r} is not a tree digest (tree:<size>:<64 hex digits>)"
    if not isinstance(doc, dict) or type(doc.get("format")) is not int or doc["format"] != FORMAT:
        return "not a document of format 1"
    try:
        return _document_problem(doc, published, old)
    except (TypeError, ValueError, KeyError, AttributeError):
        return f"not a {doc.get('kind')} document of format 1"


def _document_problem(doc: dict[str, Any], published: tuple[int, bytes], old: tuple[int, bytes] | None) -> str | None:
    size, root = published
    kind = doc.get("kind")
    if kind == "item" and set(doc) == {"format", "kind", "item", "proof", "tree"}:
        if parse_tree_digest(doc["tree"]) != published:
            return f"the item was proven against {doc['tree']}, not the digest given"
        text, proof = doc["item"], doc["proof"]
        if proof["leaf_hash"] != hashlib.sha256(b"\x00" + text.encode("utf-8")).hexdigest():
            return "the proof's leaf is not the leaf of the item's text"
        if proof["index"] != json.loads(text)["seq"] - 1:
            return "the proof is not of this item's place in the log"
        valid = check_document(proof, root.hex(), tree_size=size)
    elif kind == "extension" and set(doc) == {"format", "kind", "old", "new", "proof"}:
        if old is None:
            return "a log extension is checked against the old digest too"
        if parse_tree_digest(doc["old"]) != old or parse_tree_digest(doc["new"]) != published:
            return f"the extension is from {doc['old']} to {doc['new']}, not between the digests given"
        valid = check_document(doc["proof"], root.hex(), old[1].hex(), tree_size=size, old_size=old[0])
    elif kind == "consistency" and old is not None:
        valid = check_document(doc, root.hex(), old[1].hex(), tree_size=size, old_size=old[0])
    else:
        valid = check_document(doc, root.hex(), tree_size=size)
    return None if valid else "the proof does not hold against the digest given"


def check_receipt(receipt: Any, digest: str) -> bool:
    """Whether a donor receipt (see the module's description) holds against the published tree digest."""
    return receipt_problem(receipt, digest) is None


def _j(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _h(value: Any) -> str:
    return str(hashlib.sha256(_j(value)).hexdigest())


def _item(receipt: dict[str, Any]) -> dict[str, Any]:
    entry, item = receipt["entry"], receipt["item"]
    if type(entry["seq"]) is not int:
        raise TypeError("an entry number is an integer")
    ref = str(entry["seq"])
    return {"entries": item["entries"], "item": receipt["hashes"]["entry"], "kind": "entry", "prev": item["prev"],
            "ref": ref, "seq": item["seq"], "v": FORMAT}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``proofcheck.py PROOF.json ROOT [--size N] [--old-root OLD] [--old-size M]``.

    ``ROOT`` may be a tree digest ``tree:<size>:<root>`` (and ``--old-root`` the
    old one), and must be one to check a receipt, an item proof or a log
    extension (see :func:`document_problem`).  Prints ``valid``
    (exit status 0) or ``INVALID`` and why (1); a document it cannot read is status 2.
    """
    parser = argparse.ArgumentParser(description="Check an aidledger Merkle proof (RFC 9162) against a root.")
    parser.add_argument("document", help="the proof document (JSON file), or - for standard input")
    parser.add_argument("root", help="the root it must lead to (64 hex digits): the new root of a consistency proof")
    parser.add_argument("--size", type=int, help="the tree size published with the root")
    parser.add_argument("--old-root", help="the old root, for a consistency proof")
    parser.add_argument("--old-size", type=int, help="the tree size published with the old root")
    args = parser.parse_args(argv)
    try:
        if args.document == "-":
            doc = json.load(sys.stdin)
        else:
            with open(args.document, encoding="utf-8") as file:
                doc = json.load(file)
    except (OSError, ValueError) as error:
        print(f"cannot read {args.document}: {error}", file=sys.stderr)
        return 2
    if parse_tree_digest(args.root) is not None or (isinstance(doc, dict) and doc.get("kind") == "receipt"):
        problem = document_problem(doc, args.root, args.old_root)
        print("valid" if problem is None else f"INVALID: {problem}")
        return 0 if problem is None else 1
    valid = check_document(doc, args.root, args.old_root, tree_size=args.size, old_size=args.old_size)
    print("valid" if valid else "INVALID")
    return 0 if valid else 1


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _hashes(first: Any, second: Any, path: Any) -> bool:
    """Whether both values and every one of the path (a list) are 32-byte hashes."""
    if not isinstance(path, list | tuple):
        return False
    return all(type(value) is bytes and len(value) == HASH_SIZE for value in (first, second, *path))


def _whole(*values: Any) -> bool:
    return all(type(value) is int and value >= 0 for value in values)


def _unhex(text: Any) -> bytes | None:
    if type(text) is not str or len(text) != 2 * HASH_SIZE or not _HEX.issuperset(text):
        return None
    return bytes.fromhex(text)


if __name__ == "__main__":
    sys.exit(main())
