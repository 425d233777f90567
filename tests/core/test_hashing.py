"""The canonical form and its hash."""

from __future__ import annotations

from aidledger.core import hashing


def fields(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": "general",
        "effective_at": 1,
        "effective_tz": "UTC",
        "actor": "a",
        "memo": "",
        "idempotency_key": None,
        "source": None,
        "tags": {"b": "2", "a": "1"},
        "claims": [],
        "releases": [],
        "reverses": None,
        "approved_by": None,
        "postings": [("A", "F", "KZT", 100), ("B", "F", "KZT", -100)],
        "chart": [["account", "A"], ["account", "B"]],
    }
    base.update(overrides)
    return hashing.draft_fields(**base)  # type: ignore[arg-type]


def test_hash_is_deterministic_and_order_free_for_tags() -> None:
    """The same fields hash the same, whatever order the tags came in."""
    assert hashing.fingerprint(fields()) == hashing.fingerprint(fields(tags={"a": "1", "b": "2"}))


def test_every_field_changes_the_hash() -> None:
    """Changing any single field changes the hash."""
    reference = hashing.entry_hash(fields(), seq=1, entry_id="x", recorded_at=5, prev_hash=hashing.GENESIS)
    variants = [
        fields(kind="payment"),
        fields(effective_at=2),
        fields(effective_tz="Asia/Almaty"),
        fields(actor="b"),
        fields(memo="m"),
        fields(idempotency_key="k"),
        fields(source="s"),
        fields(tags={"a": "1"}),
        fields(claims=[("p", "k")]),
        fields(reverses="r"),
        fields(releases=[("p", "k")]),
        fields(approved_by="checker"),
        fields(postings=[("A", "F", "KZT", 101), ("B", "F", "KZT", -101)]),
        fields(chart=[["account", "A", "asset"], ["account", "B"]]),
    ]
    for variant in variants:
        assert hashing.entry_hash(variant, seq=1, entry_id="x", recorded_at=5, prev_hash=hashing.GENESIS) != reference
    for seq, entry_id, recorded, prev in [
        (2, "x", 5, hashing.GENESIS),
        (1, "y", 5, hashing.GENESIS),
        (1, "x", 6, hashing.GENESIS),
        (1, "x", 5, "1" * 64),
    ]:
        assert (
            hashing.entry_hash(fields(), seq=seq, entry_id=entry_id, recorded_at=recorded, prev_hash=prev) != reference
        )
