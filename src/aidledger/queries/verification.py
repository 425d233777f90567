"""``verify(ledger)``: recompute the hash chain from the stored rows and report the first broken link.

The rows come from the ledger's log reader in sequence order; every hash is
recomputed here from the stored fields, the chart's definitions and the
previous hash, and compared with what is stored.  Period closes and records
carry chains of their own and are checked after the entries.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from aidledger.core import hashing
from aidledger.core.errors import InvalidArgument
from aidledger.core.window import Digest
from aidledger.ledger.chart import Chart
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.log import LogReader, posting_codes
from aidledger.ledger.results import ChainBreak, Verification
from aidledger.store import log as store_log


def verify(ledger: Ledger, digest: str | None = None) -> Verification:
    """Recompute the whole log from the stored rows and report the first broken link.

    Every item of the log (entries with their postings, tags and claims, period
    closes, records, units, accounts and funds) is recomputed from its stored
    rows and chained to the item before; a row no item covers, an item whose row
    is gone, a claim generation the history does not give, or a ledger head that
    is not the newest entry is a break.  With ``digest`` (the
    :attr:`Verification.digest` an auditor kept from an earlier run), it also
    proves that nothing up to that item changed: newest items cut off, or a whole
    log forged and re-hashed, break at the digest's item.  A digest of an entry
    (``<entry number>:<entry hash>``, as ledgers before the one log printed)
    proves the same of the entries up to it.
    """
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    wanted = None if digest is None else Digest.parse(digest)
    result = _verify_chain(ledger)
    if wanted is None or not result.ok:
        return result
    if wanted.seq > result.log_seq and wanted.seq > result.head_seq:
        problem = (
            f"the digest was taken at item {wanted.seq}, but the log ends at item {result.log_seq}: items were cut off"
        )
        return attrs.evolve(result, first_break=ChainBreak(wanted.seq, None, problem, wanted.hash, "missing"))
    with LogReader.of(ledger) as log:
        item = log.log_link(wanted.seq)
        entry = log.link(wanted.seq)
    if wanted.seq == 0 and wanted.hash == hashing.GENESIS:
        return result
    if item is not None and item.hash == wanted.hash:
        return result
    if entry is not None and entry.hash == wanted.hash:
        return result  # an entry's digest: the entries up to it are unchanged
    found = "missing" if item is None else str(item.hash)
    problem = f"item {wanted.seq} is not the item the digest was taken on: the log up to it was rewritten"
    return attrs.evolve(result, first_break=ChainBreak(wanted.seq, None, problem, wanted.hash, found))


def _verify_chain(ledger: Ledger) -> Verification:
    with LogReader.streaming(ledger) as log:
        chart = log.chart()  # on the same snapshot as the rows
        if chart.unreadable:
            # A definition changed behind the library into something no ledger would write.
            problem = "; ".join(str(found) for found in chart.unreadable)
            return Verification(
                entries=0,
                head_seq=0,
                head_hash=hashing.GENESIS,
                first_break=ChainBreak(0, None, f"the chart of accounts was changed: {problem}", "", ""),
            )
        return _Verifier(log, chart).run()


class _Verifier:
    """Walks the log's items in order, and beside them the entries with their rows.

    Rows are plain tuples in the reader's ``COLUMNS`` order, unpacked by
    position: this loop runs once for every item of the log.
    """

    def __init__(self, log: LogReader, chart: Chart) -> None:
        self.log = log
        self.chart = chart
        self.count = 0
        self.expected_seq = 0
        self.prev = hashing.GENESIS
        self.last_recorded = 0
        self.tail = store_log.Tail()
        self.items = 0
        self.others: dict[tuple[str, str], tuple[int, str]] = {}
        self.last_ref: dict[str, int] = {}
        self.claims = _ClaimHistory()
        #: (account id, fund id) of an entry's lines -> their codes and the text of the definitions they refer to.
        self.codes: dict[tuple[tuple[int, int], ...], tuple[list[tuple[str, str, str]], str]] = {}

    def run(self) -> Verification:
        """Walk the log with the entries beside it, then the rows left over, the other items and the head."""
        log = self.log
        entries = iter(log.entries())
        postings, tags, claims = _Grouped(log.postings()), _Grouped(log.tags()), _Grouped(log.claims())
        releases = _Grouped(log.releases())
        first_break: ChainBreak | None = None
        items = 0
        for item in log.items():
            items += 1
            if first_break is None:
                first_break = self._check_item(item)
            if item[1] != "entry":
                continue
            row = next(entries, None)
            if row is None:
                first_break = first_break or ChainBreak(
                    item[0], None, f"log item {item[0]} names entry {item[2]}, which is not stored", item[3], ""
                )
                continue
            self.count += 1
            seq = row[0]
            children = (postings.take(seq), tags.take(seq), claims.take(seq), releases.take(seq))
            if first_break is None:
                first_break = self._check_entry(row, item, *children)
        self.items = items
        for row in entries:  # entries no item of the log covers
            self.count += 1
            first_break = first_break or ChainBreak(row[0], row[1], "the entry is not in the log", "", str(row[13]))
        orphans = postings.rest() + tags.rest() + claims.rest() + releases.rest()
        if first_break is None and orphans:
            seq = orphans[0][0]
            first_break = ChainBreak(seq, None, "rows refer to an entry that is not in the chain", "", str(seq))
        for check in (self._check_closes, self._check_records, self._check_definitions, self._check_unlogged):
            first_break = first_break or check()
        first_break = first_break or self._check_head()
        return Verification(
            entries=self.count,
            head_seq=self.expected_seq,
            head_hash=self.prev,
            first_break=first_break,
            items=self.items,
            log_seq=self.tail.seq,
            log_hash=self.tail.hash,
        )

    def _check_item(self, item: tuple[Any, ...]) -> ChainBreak | None:
        """The break at this log item, if any; otherwise it becomes the tail."""
        seq, kind, ref, digest_of_item, entries_at, prev_hash, stored_hash = item
        tail = self.tail
        if seq != tail.seq + 1:
            return ChainBreak(tail.seq + 1, None, "an item is missing from the log", str(tail.seq + 1), str(seq))
        if prev_hash != tail.hash:
            return ChainBreak(seq, None, "link to the previous log item is broken", tail.hash, prev_hash)
        if kind not in hashing.LOG_KINDS:
            return ChainBreak(seq, None, f"log item of unknown kind {kind!r}", "", str(kind))
        number = _number(ref) if kind != "unit" else None
        entries = number if kind == "entry" else tail.entries
        if kind != "unit" and (number is None or number <= self.last_ref.get(kind, 0)):
            problem = f"log item {seq} names {kind} {ref!r} out of order"
            return ChainBreak(seq, None, problem, f"after {self.last_ref.get(kind, 0)}", str(ref))
        digest = hashing.log_hash(
            seq=seq, kind=kind, ref=ref, item=digest_of_item, entries=entries or 0, prev_hash=tail.hash
        )
        if entries_at != entries or stored_hash != digest:
            return ChainBreak(seq, None, "log item does not match its hash", digest, stored_hash)
        if number is not None:
            self.last_ref[kind] = number
        if kind != "entry":
            self.others[(kind, ref)] = (seq, digest_of_item)
        self.tail = store_log.Tail(seq, stored_hash, entries_at)
        return None

    def _check_entry(
        self,
        row: tuple[Any, ...],
        item: tuple[Any, ...],
        lines: list[tuple[Any, ...]],
        tags: list[tuple[Any, ...]],
        claims: list[tuple[Any, ...]],
        releases: list[tuple[Any, ...]],
    ) -> ChainBreak | None:
        """The break at this entry, if any; otherwise it becomes the previous link."""
        seq, entry_id, _, _, effective_at, _, recorded_at, _, _, _, _, _, prev_hash, stored_hash = row
        self.expected_seq += 1
        if seq != self.expected_seq:
            return ChainBreak(
                self.expected_seq, None, "an entry is missing from the sequence", str(self.expected_seq), str(seq)
            )
        if item[2] != str(seq) or item[3] != stored_hash:
            named = f"log item {item[0]} does not name entry {seq} as stored"
            return ChainBreak(seq, entry_id, named, f"{item[2]}:{item[3]}", f"{seq}:{stored_hash}")
        if prev_hash != self.prev:
            return ChainBreak(seq, entry_id, "link to the previous entry is broken", self.prev, prev_hash)
        problem = self._line_problem(effective_at, lines)
        if problem is None and (claims or releases):
            problem = self.claims.problem(claims, releases)
        if problem:
            return ChainBreak(seq, entry_id, problem, "", "")
        digest = self._entry_hash(row, lines, tags, claims, releases)
        if digest != stored_hash:
            return ChainBreak(seq, entry_id, "entry content does not match its hash", digest, stored_hash)
        if recorded_at < self.last_recorded:
            return ChainBreak(seq, entry_id, "recorded time goes backwards", str(self.last_recorded), str(recorded_at))
        self.last_recorded = recorded_at
        self.prev = stored_hash
        return None

    def _entry_hash(
        self,
        row: tuple[Any, ...],
        lines: list[tuple[Any, ...]],
        tags: list[tuple[Any, ...]],
        claims: list[tuple[Any, ...]],
        releases: list[tuple[Any, ...]],
    ) -> str:
        """The hash of the entry these rows make, recomputed as the writer computed it (see ``stored_fields``)."""
        seq, entry_id, key, kind, effective_at, tz, recorded_at, actor, memo, source, reverses, checker, prev, _ = row
        pairs = tuple([(line[2], line[3]) for line in lines])
        found = self.codes.get(pairs)
        if found is None:
            codes, referenced = posting_codes(self.chart, pairs)
            found = self.codes[pairs] = (codes, self.chart.text(referenced))
        codes, chart_text = found
        text = hashing.stored_fields_text(
            kind=kind, effective_at=effective_at, effective_tz=tz, actor=actor, memo=memo, idempotency_key=key,
            source=source, tags=dict(map(_SECOND_THIRD, tags)),
            claims=list(map(_SECOND_THIRD, claims)) if claims else claims,
            releases=list(map(_SECOND_THIRD, releases)) if releases else releases,
            reverses=reverses, approved_by=checker,
            postings=[(*code, line[4]) for code, line in zip(codes, lines, strict=True)], chart=chart_text,
        )  # fmt: skip
        fields_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return hashing.entry_hash(
            _NO_FIELDS, seq=seq, entry_id=entry_id, recorded_at=recorded_at, prev_hash=prev, fields_hash=fields_hash
        )

    def _line_problem(self, effective_at: int, lines: list[tuple[Any, ...]]) -> str | None:
        accounts, funds = self.chart.account_by_id, self.chart.fund_by_id
        if len(lines) < 2:
            return f"entry has {len(lines)} posting(s)"
        for number, (_, line, account_id, fund_id, _, line_effective) in enumerate(lines, start=1):
            if line != number:
                return f"posting lines are not 1..{len(lines)}"
            if account_id not in accounts or fund_id not in funds:
                return f"posting line {number} refers to an unknown account or fund"
            if line_effective != effective_at:
                return f"posting line {number} has effective time {line_effective}, its entry {effective_at}"
        return None

    def _check_closes(self) -> ChainBreak | None:
        """Period closes: their own chain, and each one an item of the log."""
        closes = self.log.period_closes()
        return _side_chain(
            closes,
            lambda row, prev: hashing.close_hash(
                seq=row.seq, closed_through=row.closed_through, actor=row.actor, recorded_at=row.recorded_at,
                prev_hash=prev,
            ),
            lambda row: "period close does not match its chain",
        ) or self._logged("close", ((str(row.seq), row.hash) for row in closes))  # fmt: skip

    def _check_records(self) -> ChainBreak | None:
        """Records: their own chain, and each one an item of the log."""
        records = self.log.records()
        return _side_chain(
            records,
            lambda row, prev: hashing.record_hash(
                seq=row.seq, kind=row.kind, code=row.code, subject=row.subject, actor=row.actor, body=row.body,
                recorded_at=row.recorded_at, prev_hash=prev,
            ),
            lambda row: f"{row.kind} record {row.code!r} does not match its chain",
        ) or self._logged("record", ((str(row.seq), row.hash) for row in records))  # fmt: skip

    def _check_definitions(self) -> ChainBreak | None:
        """Units, accounts and funds: each stored definition is the one its log item hashed."""
        for kind in ("unit", "account", "fund"):
            found = self._logged(
                kind,
                (
                    (item.ref, item.item)
                    for item in (store_log.definition_item(kind, row._mapping) for row in self.log.definitions(kind))
                ),
            )
            if found is not None:
                return found
        return None

    def _logged(self, kind: str, stored: Iterable[tuple[str, str]]) -> ChainBreak | None:
        """The first stored ``(ref, hash)`` of ``kind`` that its log item does not name as it is."""
        for ref, digest in stored:
            item = self.others.pop((kind, ref), None)
            if item is None:
                return ChainBreak(0, None, f"{kind} {ref} is not in the log", "", digest)
            if item[1] != digest:
                return ChainBreak(item[0], None, f"{kind} {ref} is not the one its log item names", item[1], digest)
        return None

    def _check_unlogged(self) -> ChainBreak | None:
        """Items of the log whose close, record or definition is no longer stored."""
        if not self.others:
            return None
        (kind, ref), (seq, digest) = min(self.others.items(), key=lambda found: found[1][0])
        return ChainBreak(seq, None, f"log item {seq} names {kind} {ref}, which is not stored", digest, "missing")

    def _check_head(self) -> ChainBreak | None:
        """The ledger head the writers keep must name the last entry of the chain."""
        head = self.log.head()
        if head.seq != self.expected_seq or head.hash != self.prev:
            return ChainBreak(
                head.seq,
                None,
                "the ledger head does not match the last entry",
                f"{self.expected_seq}:{self.prev}",
                f"{head.seq}:{head.hash}",
            )
        return None


class _ClaimHistory:
    """How often each claim was taken and released so far, to check the generations the rows carry.

    A claim's nth taking is generation n - 1 and may only be taken while free;
    its nth release is generation n - 1 and only releases a claim that is taken.
    While the history holds, takings and releases alternate, a taking first, so
    a claim's history is the number of its events: after n of them it was taken
    ``(n + 1) // 2`` times and released ``n // 2`` times.  It is kept under a
    16-byte digest of the claim, so that the history of a campaign's million
    claims stays small in memory.
    """

    def __init__(self) -> None:
        self.events: dict[bytes, int] = {}

    def problem(self, claims: list[tuple[Any, ...]], releases: list[tuple[Any, ...]]) -> str | None:
        """The first claim or release (rows of ``entry_seq, scope, key, generation``) its history does not give."""
        events = self.events
        for _, scope, key, generation in claims:
            pair = _claim_id(scope, key)
            count = events.get(pair, 0)
            taken, released = (count + 1) // 2, count // 2
            if taken > released:
                return f"claim {key!r} in {scope!r} is taken while an earlier taking is not released"
            if generation != taken:
                return f"claim {key!r} in {scope!r} carries generation {generation}, its history {taken}"
            events[pair] = count + 1
        for _, scope, key, generation in releases:
            pair = _claim_id(scope, key)
            count = events.get(pair, 0)
            taken, released = (count + 1) // 2, count // 2
            if taken <= released:
                return f"claim {key!r} in {scope!r} is released while it is not taken"
            if generation != released:
                return f"release of claim {key!r} in {scope!r} carries generation {generation}, its history {released}"
            events[pair] = count + 1
        return None


def _claim_id(scope: object, key: object) -> bytes:
    """A 16-byte digest naming one claim (a stored scope and key, of whatever type a changed row holds)."""
    scope_text = scope if type(scope) is str else repr(scope)
    key_text = key if type(key) is str else repr(key)
    text = f"{len(scope_text)}:{scope_text}{key_text}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).digest()


#: A tag row's (name, value), a claim or release row's (scope, key).
_SECOND_THIRD: Final = operator.itemgetter(1, 2)
#: ``entry_hash`` is given the fields' hash already made.
_NO_FIELDS: Final[Mapping[str, Any]] = {}


def _number(ref: str) -> int | None:
    """A log item's ``ref`` as the number it names, or ``None`` if it is not one."""
    return int(ref) if ref.isascii() and ref.isdigit() and len(ref) < 19 else None


class _Grouped:
    """Hands out consecutive rows of an ordered result, grouped by their first column (``entry_seq``)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._groups = ((seq, list(group)) for seq, group in itertools.groupby(rows, key=operator.itemgetter(0)))
        self._next: tuple[Any, list[tuple[Any, ...]]] | None = next(self._groups, None)
        self._skipped: list[tuple[Any, ...]] = []

    def take(self, seq: int) -> list[tuple[Any, ...]]:
        found = self._next
        while found is not None and found[0] < seq:
            self._skipped += found[1]
            found = next(self._groups, None)
        if found is None or found[0] != seq:
            self._next = found
            return []
        self._next = next(self._groups, None)
        return found[1]

    def rest(self) -> list[tuple[Any, ...]]:
        remaining = list(self._skipped)
        if self._next is not None:
            remaining += self._next[1]
        for _, group in self._groups:
            remaining += group
        self._next = None
        return remaining


def _side_chain(
    rows: Iterable[Any], hash_of: Callable[[Any, str], str], problem: Callable[[Any], str]
) -> ChainBreak | None:
    """The first break of a chain beside the journal (numbered 1, 2, … and each hashing its predecessor), or None."""
    prev = hashing.GENESIS
    for number, row in enumerate(rows, 1):
        digest = hash_of(row, prev)
        if row.seq != number or row.prev_hash != prev or row.hash != digest:
            return ChainBreak(row.seq, None, problem(row), digest, row.hash)
        prev = row.hash
    return None
