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
    chart: Sequence[Sequence[object]],
) -> dict[str, Any]:
    """The fields a caller chose, in canonical shape.

    ``postings`` are (account code, fund code, unit code, minor units) in line
    order; ``chart`` is the definition of every account, fund and unit they
    refer to, so that the chain also covers what a code means.
    """
    return {
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
        "chart": sorted([list(d) for d in chart], key=repr),
    }


def fingerprint(fields: Mapping[str, Any]) -> str:
    """Hash of the caller's fields only: equal for a retry of the same request."""
    return _sha256(dict(fields))


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
    return _sha256({"v": FORMAT, "fields": digest, "seq": seq, "id": entry_id, "rec": recorded_at, "prev": prev_hash})


def _sha256(obj: dict[str, Any]) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
