"""The canonical form of an entry, and its hash.

The hash covers every stored field of an entry and of its postings, and the hash
of the previous entry: a field left out would be a field that can be forged.
The canonical form is compact JSON with a fixed key order, times as UTC
microseconds and amounts as integer minor units, so that both databases and
any language can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any, Final

#: Hash of "nothing before": the ``prev_hash`` of the first entry.
GENESIS: Final = "0" * 64
FORMAT: Final = 1


def draft_fields(
    *,
    kind: str,
    effective_at: int,
    effective_tz: str,
    actor: str,
    memo: str,
    idempotency_key: str | None,
    source: str | None,
    tags: Mapping[str, str],
    claims: Sequence[tuple[str, str]],
    releases: Sequence[tuple[str, str]],
    reverses: str | None,
    approved_by: str | None,
    postings: Sequence[tuple[str, str, str, int]],
    chart: Sequence[Sequence[object]] | None,
) -> dict[str, Any]:
    """The fields a caller chose, in canonical shape.

    ``postings`` are (account code, fund code, unit code, minor units) in line
    order; ``chart`` is the definition of every account, fund and unit they
    refer to, so that the chain also covers what a code means.  With
    ``chart=None`` the chart is left out, to be passed to :func:`fingerprint`
    already serialised (see :func:`chart_text`): a batch of entries that refer
    to the same accounts serialises their definitions once.
    """
    fields = {
        "kind": kind,
        "eff": effective_at,
        "tz": effective_tz,
        "actor": actor,
        "memo": memo,
        "key": idempotency_key,
        "source": source,
        "tags": sorted(tags.items()),
        "claims": sorted(claims),
        "releases": sorted(releases),
        "reverses": reverses,
        "checker": approved_by,
        "postings": [list(p) for p in postings],
    }
    if chart is not None:
        fields["chart"] = sorted([list(d) for d in chart], key=repr)
    return fields


def chart_text(chart: Sequence[Sequence[object]]) -> str:
    """The canonical JSON of the ``chart`` field (as :func:`draft_fields` would sort it)."""
    return _dumps(sorted([list(d) for d in chart], key=repr))


def fingerprint(fields: Mapping[str, Any], *, chart: str | None = None) -> str:
    """Hash of the caller's fields only: equal for a retry of the same request.

    ``chart`` is the :func:`chart_text` of fields drafted with ``chart=None``;
    the result is the same as drafting them with the chart.
    """
    if chart is None:
        return _sha256(dict(fields))
    return hashlib.sha256(_fields_text(fields, chart).encode("utf-8")).hexdigest()


def _fields_text(fields: Mapping[str, Any], chart: str) -> str:
    """The text :func:`fingerprint` hashes for fields drafted with ``chart=None`` and the chart's text."""
    # Keys are sorted: "actor" < "chart" < every other key, so the chart goes second.
    rest = {key: value for key, value in fields.items() if key != "actor"}
    actor = fields["actor"]
    actor_text = f'"{actor}"' if isinstance(actor, str) and _plain(actor) else _dumps(actor)
    return '{"actor":' + actor_text + ',"chart":' + chart + "," + _dumps(rest)[1:]


def stored_fields_text(
    *,
    kind: str,
    effective_at: int,
    effective_tz: str,
    actor: str,
    memo: str,
    idempotency_key: str | None,
    source: str | None,
    tags: Mapping[str, str],
    claims: Sequence[tuple[str, str]],
    releases: Sequence[tuple[str, str]],
    reverses: str | None,
    approved_by: str | None,
    postings: Sequence[tuple[str, str, str, int]],
    chart: str,
) -> str:
    """The text :func:`fingerprint` hashes for these fields drafted with ``chart=None`` and the chart's ``chart``.

    The same bytes as ``json.dumps`` of :func:`draft_fields` (the property tests
    check it), written with a fixed key order and json's own string encoder
    instead of walking a dict: each string goes through ``encode_basestring``,
    each number is an ``int`` written as Python writes it.  A value of any other
    type (which no ledger writes, but a changed row may hold) takes the plain path.
    """
    quote = _quote
    try:
        lines = []
        for account, fund, unit, amount in postings:
            if type(amount) is not int:
                raise TypeError(amount)
            lines.append(f"[{quote(account)},{quote(fund)},{quote(unit)},{amount}]")
        if type(effective_at) is not int:
            raise TypeError(effective_at)
        return (
            f'{{"actor":{quote(actor)},"chart":{chart},'
            f'"checker":{"null" if approved_by is None else quote(approved_by)},"claims":{_pairs(claims)},'
            f'"eff":{effective_at},"key":{"null" if idempotency_key is None else quote(idempotency_key)},'
            f'"kind":{quote(kind)},'
            f'"memo":{quote(memo)},"postings":[{",".join(lines)}],"releases":{_pairs(releases)},'
            f'"reverses":{"null" if reverses is None else quote(reverses)},'
            f'"source":{"null" if source is None else quote(source)},"tags":{_pairs(list(tags.items()))},'
            f'"tz":{quote(effective_tz)}}}'
        )
    except (TypeError, ValueError):
        fields = draft_fields(
            kind=kind, effective_at=effective_at, effective_tz=effective_tz, actor=actor, memo=memo,
            idempotency_key=idempotency_key, source=source, tags=tags, claims=claims, releases=releases,
            reverses=reverses, approved_by=approved_by, postings=postings, chart=None,
        )  # fmt: skip
        return _fields_text(fields, chart)


#: json's own encoder of one string (``ensure_ascii=False``), as ``json.dumps`` calls it.
_quote: Final = encode_basestring


def _pairs(pairs: Sequence[tuple[str, str]]) -> str:
    """A sorted list of string pairs, as JSON; TypeError or ValueError if they are not pairs of strings."""
    if not pairs:
        return "[]"
    quote = _quote
    if len(pairs) == 1:
        ((a, b),) = pairs
        return f"[[{quote(a)},{quote(b)}]]"
    return "[" + ",".join([f"[{quote(a)},{quote(b)}]" for a, b in sorted(pairs)]) + "]"


def entry_hash(
    fields: Mapping[str, Any],
    *,
    seq: int,
    entry_id: str,
    recorded_at: int,
    prev_hash: str,
    fields_hash: str | None = None,
) -> str:
    """Hash of an entry as stored, chained to ``prev_hash``.

    It covers the :func:`fingerprint` of the caller's fields (pass it as
    ``fields_hash`` when it is already known) and the fields the ledger adds,
    so every stored field is covered and the fields are serialised once.
    """
    digest = fingerprint(fields) if fields_hash is None else fields_hash
    if (
        type(seq) is int
        and type(recorded_at) is int
        and type(digest) is str
        and type(entry_id) is str
        and type(prev_hash) is str
        and _plain(digest + entry_id + prev_hash)  # each part is plain if and only if the whole is
    ):
        # The same text json.dumps makes (sorted keys, nothing to escape), without its cost.
        text = (
            f'{{"fields":"{digest}","id":"{entry_id}","prev":"{prev_hash}",'
            f'"rec":{recorded_at},"seq":{seq},"v":{FORMAT}}}'
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _sha256({"v": FORMAT, "fields": digest, "seq": seq, "id": entry_id, "rec": recorded_at, "prev": prev_hash})


def _plain(text: str) -> bool:
    """Whether JSON writes ``text`` as it is between quotes (``ensure_ascii=False``).

    JSON escapes only ``"``, ``\\`` and the control characters below U+0020, none
    of which is printable; a text with other unprintable characters (which JSON
    would not escape) is simply left to ``json.dumps``.
    """
    return text.isprintable() and '"' not in text and "\\" not in text


def _dumps(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(obj: dict[str, Any]) -> str:
    return hashlib.sha256(_dumps(obj).encode("utf-8")).hexdigest()


def close_hash(*, seq: int, closed_through: int, actor: str, recorded_at: int, prev_hash: str) -> str:
    """Hash of a period close, chained to the previous close (closes have their own chain)."""
    return _sha256(
        {"v": FORMAT, "close": seq, "through": closed_through, "actor": actor, "rec": recorded_at, "prev": prev_hash}
    )


def record_hash(
    *, seq: int, kind: str, code: str, subject: str | None, actor: str, body: str, recorded_at: int, prev_hash: str
) -> str:
    """Hash of a record (a definition, a pending batch, a decision), chained to the previous record."""
    return _sha256(
        {
            "v": FORMAT,
            "record": seq,
            "kind": kind,
            "code": code,
            "subject": subject,
            "actor": actor,
            "body": body,
            "rec": recorded_at,
            "prev": prev_hash,
        }
    )


def definition_hash(definition: Sequence[object]) -> str:
    """Hash of a chart definition as stored: ``["unit", code, kind, exponent, measure]``,
    ``["account", id, code, type, unit, normal side, allow negative, name]`` or
    ``["fund", id, code, purpose, restriction, allow negative, name]``."""
    return hashlib.sha256(_dumps(list(definition)).encode("utf-8")).hexdigest()


#: The kinds of item in the log, and what their ``ref`` names.
LOG_KINDS: Final = ("entry", "close", "record", "unit", "account", "fund")


def log_hash(*, seq: int, kind: str, ref: str, item: str, entries: int, prev_hash: str) -> str:
    """Hash of one item of the log, chained to the previous item: SHA-256 of its :func:`log_text`.

    ``kind`` and ``ref`` name the item (an entry by its number, a close or a
    record by its number, a unit by its code, an account or fund by its id);
    ``item`` is the item's own hash (an entry's, a close's or a record's stored
    hash, a definition's :func:`definition_hash`); ``entries`` is the number of
    the newest entry in the log at this item, so a digest names the entries it
    covers.
    """
    text = log_text(seq=seq, kind=kind, ref=ref, item=item, entries=entries, prev_hash=prev_hash)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def log_text(*, seq: int, kind: str, ref: str, item: str, entries: int, prev_hash: str) -> str:
    """The canonical text of one item of the log: what :func:`log_hash` hashes, and the log's Merkle leaf."""
    plain = (
        type(kind) is str
        and type(ref) is str
        and type(item) is str
        and type(prev_hash) is str
        and _plain(kind + ref + item + prev_hash)  # each part is plain if and only if the whole is
    )
    if type(seq) is int and type(entries) is int and plain:
        # The same text json.dumps makes (sorted keys, nothing to escape), without its cost.
        return (
            f'{{"entries":{entries},"item":"{item}","kind":"{kind}","prev":"{prev_hash}",'
            f'"ref":"{ref}","seq":{seq},"v":{FORMAT}}}'
        )
    return _dumps(
        {"v": FORMAT, "seq": seq, "kind": kind, "ref": ref, "item": item, "entries": entries, "prev": prev_hash}
    )
