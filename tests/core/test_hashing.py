"""The canonical form and its hash."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(
    actor=texts,
    memo=texts,
    key=st.none() | texts,
    tags=st.dictionaries(texts, texts, max_size=3),
    chart=st.lists(st.lists(st.one_of(texts, st.integers(), st.booleans(), st.none()), max_size=4), max_size=4),
)
def test_a_chart_serialised_once_hashes_like_the_whole_fields(
    actor: str, memo: str, key: str | None, tags: dict[str, str], chart: list[list[object]]
) -> None:
    """The fast paths (a cached chart text; the entry hash written without json.dumps) give the same hashes."""
    whole = fields(actor=actor, memo=memo, idempotency_key=key, tags=tags, chart=chart)
    split = fields(actor=actor, memo=memo, idempotency_key=key, tags=tags, chart=None)
    assert hashing.fingerprint(split, chart=hashing.chart_text(chart)) == hashing.fingerprint(whole)
    digest = hashing.fingerprint(whole)
    for entry_id in ("0b1c-2d", f"odd {actor!r}"):
        fast = hashing.entry_hash(whole, seq=7, entry_id=entry_id, recorded_at=9, prev_hash=hashing.GENESIS)
        slow = hashing._sha256(
            {"v": hashing.FORMAT, "fields": digest, "seq": 7, "id": entry_id, "rec": 9, "prev": hashing.GENESIS}
        )
        assert fast == slow
