"""The canonical form and its hash."""

from __future__ import annotations

import hashlib

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


optional = st.none() | texts
pairs = st.lists(st.tuples(texts, texts), max_size=3)
postings = st.lists(st.tuples(texts, texts, texts, st.integers()), max_size=3)


@given(
    kind=texts,
    effective_at=st.integers(),
    tz=texts,
    actor=texts,
    memo=texts,
    key=optional,
    source=optional,
    tags=st.dictionaries(texts, texts, max_size=3),
    claims=pairs,
    releases=pairs,
    reverses=optional,
    checker=optional,
    lines=postings,
    chart=st.lists(st.lists(st.one_of(texts, st.integers(), st.booleans(), st.none()), max_size=4), max_size=4),
)
def test_the_stored_fields_text_is_the_same_bytes_as_the_plain_path(
    kind: str,
    effective_at: int,
    tz: str,
    actor: str,
    memo: str,
    key: str | None,
    source: str | None,
    tags: dict[str, str],
    claims: list[tuple[str, str]],
    releases: list[tuple[str, str]],
    reverses: str | None,
    checker: str | None,
    lines: list[tuple[str, str, str, int]],
    chart: list[list[object]],
) -> None:
    """Verification's fast text of a stored entry (no json.dumps) is the plain path's text, byte for byte."""
    given_fields = {
        "kind": kind, "effective_at": effective_at, "effective_tz": tz, "actor": actor, "memo": memo,
        "idempotency_key": key, "source": source, "tags": tags, "claims": claims, "releases": releases,
        "reverses": reverses, "approved_by": checker, "postings": lines,
    }  # fmt: skip
    chart_text = hashing.chart_text(chart)
    fast = hashing.stored_fields_text(**given_fields, chart=chart_text)  # type: ignore[arg-type]
    whole = hashing.draft_fields(**given_fields, chart=chart)  # type: ignore[arg-type]
    assert fast == hashing._dumps(whole)
    split = hashing.draft_fields(**given_fields, chart=None)  # type: ignore[arg-type]
    assert hashlib.sha256(fast.encode("utf-8")).hexdigest() == hashing.fingerprint(split, chart=chart_text)
    assert hashing.fingerprint(split, chart=chart_text) == hashing.fingerprint(whole)


@given(
    amount=st.one_of(st.booleans(), st.floats(allow_nan=False), st.text(max_size=3), st.none()),
    actor=st.one_of(texts, st.integers(), st.none()),
    tags=st.dictionaries(texts, st.one_of(texts, st.integers()), max_size=2),
)
def test_a_stored_value_of_another_type_takes_the_plain_path(
    amount: object, actor: object, tags: dict[str, object]
) -> None:
    """A row changed to hold what no ledger writes (a float amount, a number as actor) still gets the plain text."""
    given_fields = {
        "kind": "general", "effective_at": 1, "effective_tz": "UTC", "actor": actor, "memo": "",
        "idempotency_key": None, "source": None, "tags": tags, "claims": [], "releases": [], "reverses": None,
        "approved_by": None, "postings": [("A", "F", "KZT", amount), ("B", "F", "KZT", 5)],
    }  # fmt: skip
    fast = hashing.stored_fields_text(**given_fields, chart="[]")  # type: ignore[arg-type]
    assert fast == hashing._dumps(hashing.draft_fields(**given_fields, chart=[]))  # type: ignore[arg-type]


@given(
    seq=st.integers(),
    kind=texts,
    ref=texts,
    item=texts,
    entries=st.integers(),
    prev=st.sampled_from([hashing.GENESIS, "ab" * 32]) | texts,
)
def test_the_log_text_is_the_same_bytes_as_json(
    seq: int, kind: str, ref: str, item: str, entries: int, prev: str
) -> None:
    """The log item's text written without json.dumps is json.dumps's text."""
    text = hashing.log_text(seq=seq, kind=kind, ref=ref, item=item, entries=entries, prev_hash=prev)
    plain = {"v": hashing.FORMAT, "seq": seq, "kind": kind, "ref": ref, "item": item, "entries": entries, "prev": prev}
    assert text == hashing._dumps(plain)
