"""``verify(ledger)``: recompute the hash chain from the stored rows and report the first broken link.

The rows come from the ledger's log reader in sequence order; every hash is
recomputed here from the stored fields, the chart's definitions and the
previous hash, and compared with what is stored.  Period closes and records
carry chains of their own and are checked after the entries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from aidledger.core import hashing
from aidledger.core.errors import InvalidArgument
from aidledger.ledger.chart import Chart
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.log import LogReader
from aidledger.ledger.results import ChainBreak, Verification


def verify(ledger: Ledger, digest: str | None = None) -> Verification:
    """Recompute the hash chain from the stored rows and report the first broken link.

    Detects edited, deleted, inserted and reordered entries, postings, tags and
    claims, and edited account or fund definitions.  With ``digest`` (the
    :attr:`Verification.digest` an auditor kept from an earlier run), it also
    proves that nothing up to that point changed: newest entries cut off, or a
    whole chain forged and re-hashed, break at the digest's entry.
    """
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    wanted = None if digest is None else _parse_digest(digest)
    result = _verify_chain(ledger)
    if wanted is None or not result.ok:
        return result
    seq, expected = wanted
    if seq > result.head_seq:
        problem = (
            f"the digest was taken at entry {seq}, but the ledger ends at entry {result.head_seq}: entries were cut off"
        )
        return attrs.evolve(result, first_break=ChainBreak(seq, None, problem, expected, "missing"))
    with LogReader.of(ledger) as log:
        row = log.link(seq)
    found = hashing.GENESIS if seq == 0 else ("missing" if row is None else str(row.hash))
    if found != expected:
        problem = f"entry {seq} is not the entry the digest was taken on: the chain up to it was rewritten"
        return attrs.evolve(
            result, first_break=ChainBreak(seq, None if row is None else str(row.id), problem, expected, found)
        )
    return result


def _parse_digest(digest: object) -> tuple[int, str]:
    """``<seq>:<64 hex digits>``, as :attr:`Verification.digest` writes it."""
    match = re.fullmatch(r"(\d{1,19}):([0-9a-f]{64})", digest.strip()) if isinstance(digest, str) else None
    if match is None:
        raise InvalidArgument(f"a digest is '<entry number>:<64 hex digits>', got {digest!r}", value=digest)
    return int(match.group(1)), match.group(2)


def _verify_chain(ledger: Ledger) -> Verification:
    with LogReader.of(ledger) as log:
        chart = log.chart()
    if chart.unreadable:
        # A definition changed behind the library into something no ledger would write.
        problem = "; ".join(str(found) for found in chart.unreadable)
        return Verification(
            entries=0,
            head_seq=0,
            head_hash=hashing.GENESIS,
            first_break=ChainBreak(0, None, f"the chart of accounts was changed: {problem}", "", ""),
        )
    with LogReader.streaming(ledger) as log:
        return _Verifier(log, chart).run()


class _Verifier:
    """Walks entries, postings, tags and claims in chain order, side by side."""

    def __init__(self, log: LogReader, chart: Chart) -> None:
        self.log = log
        self.chart = chart
        self.count = 0
        self.expected_seq = 0
        self.prev = hashing.GENESIS
        self.last_recorded = 0

    def run(self) -> Verification:
        """Walk the chain, then the rows left over, the closes, the records and the head."""
        log = self.log
        postings, tags, claims = _Grouped(log.postings()), _Grouped(log.tags()), _Grouped(log.claims())
        releases = _Grouped(log.releases())
        first_break: ChainBreak | None = None
        for row in log.entries():
            self.expected_seq += 1
            self.count += 1
            children = (postings.take(row.seq), tags.take(row.seq), claims.take(row.seq), releases.take(row.seq))
            if first_break is None:
                first_break = self._check_entry(row, *children)
        orphans = postings.rest() + tags.rest() + claims.rest() + releases.rest()
        if first_break is None and orphans:
            seq = orphans[0].entry_seq
            first_break = ChainBreak(seq, None, "rows refer to an entry that is not in the chain", "", str(seq))
        if first_break is None:
            first_break = self._check_closes()
        if first_break is None:
            first_break = self._check_records()
        if first_break is None:
            first_break = self._check_head()
        return Verification(
            entries=self.count, head_seq=self.expected_seq, head_hash=self.prev, first_break=first_break
        )

    def _check_entry(
        self, row: Any, lines: list[Any], tags: list[Any], claims: list[Any], releases: list[Any]
    ) -> ChainBreak | None:
        """The break at this entry, if any; otherwise it becomes the previous link."""
        if row.seq != self.expected_seq:
            return ChainBreak(
                self.expected_seq, None, "an entry is missing from the sequence", str(self.expected_seq), str(row.seq)
            )
        if row.prev_hash != self.prev:
            return ChainBreak(row.seq, row.id, "link to the previous entry is broken", self.prev, row.prev_hash)
        problem = self._line_problem(row, lines)
        if problem:
            return ChainBreak(row.seq, row.id, problem, "", "")
        digest = self._entry_hash(row, lines, tags, claims, releases)
        if digest != row.hash:
            return ChainBreak(row.seq, row.id, "entry content does not match its hash", digest, row.hash)
        if row.recorded_at < self.last_recorded:
            return ChainBreak(
                row.seq, row.id, "recorded time goes backwards", str(self.last_recorded), str(row.recorded_at)
            )
        self.last_recorded = row.recorded_at
        self.prev = row.hash
        return None

    def _entry_hash(self, row: Any, lines: list[Any], tags: list[Any], claims: list[Any], releases: list[Any]) -> str:
        """The hash of the entry these rows make, recomputed as the writer computed it."""
        chart = self.chart
        canonical = []
        referenced: dict[tuple[str, str], None] = {}
        for line in lines:
            account = chart.account_by_id[line.account_id]
            fund = chart.fund_by_id[line.fund_id]
            canonical.append((account.code, fund.code, account.unit.code, line.amount))
            referenced[("account", account.code)] = None
            referenced[("fund", fund.code)] = None
            referenced[("unit", account.unit.code)] = None
        fields = hashing.draft_fields(
            kind=row.kind,
            effective_at=row.effective_at,
            effective_tz=row.effective_tz,
            actor=row.actor,
            memo=row.memo,
            idempotency_key=row.idempotency_key,
            source=row.source,
            tags={r.name: r.value for r in tags},
            claims=[(r.scope, r.key) for r in claims],
            releases=[(r.scope, r.key) for r in releases],
            reverses=row.reverses,
            approved_by=row.approved_by,
            postings=canonical,
            chart=None,
        )
        return hashing.entry_hash(
            fields,
            seq=row.seq,
            entry_id=row.id,
            recorded_at=row.recorded_at,
            prev_hash=row.prev_hash,
            fields_hash=hashing.fingerprint(fields, chart=chart.text(referenced)),
        )

    def _line_problem(self, row: Any, lines: list[Any]) -> str | None:
        chart = self.chart
        if len(lines) < 2:
            return f"entry has {len(lines)} posting(s)"
        for number, line in enumerate(lines, start=1):
            if line.line != number:
                return f"posting lines are not 1..{len(lines)}"
            if line.account_id not in chart.account_by_id or line.fund_id not in chart.fund_by_id:
                return f"posting line {number} refers to an unknown account or fund"
            if line.effective_at != row.effective_at:
                return f"posting line {number} has effective time {line.effective_at}, its entry {row.effective_at}"
        return None

    def _check_closes(self) -> ChainBreak | None:
        """Period closes carry a chain of their own; a removed or edited close breaks it."""
        return _side_chain(
            self.log.period_closes(),
            lambda row, prev: hashing.close_hash(
                seq=row.seq, closed_through=row.closed_through, actor=row.actor, recorded_at=row.recorded_at,
                prev_hash=prev,
            ),
            lambda row: "period close does not match its chain",
        )  # fmt: skip

    def _check_records(self) -> ChainBreak | None:
        """Records carry a chain of their own; an edited, removed or inserted record breaks it."""
        return _side_chain(
            self.log.records(),
            lambda row, prev: hashing.record_hash(
                seq=row.seq, kind=row.kind, code=row.code, subject=row.subject, actor=row.actor, body=row.body,
                recorded_at=row.recorded_at, prev_hash=prev,
            ),
            lambda row: f"{row.kind} record {row.code!r} does not match its chain",
        )  # fmt: skip

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


class _Grouped:
    """Hands out consecutive rows of an ordered result, grouped by ``entry_seq``."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = iter(rows)
        self._next: Any = next(self._rows, None)
        self._skipped: list[Any] = []

    def take(self, seq: int) -> list[Any]:
        taken = []
        while self._next is not None and self._next.entry_seq < seq:
            self._skipped.append(self._next)
            self._next = next(self._rows, None)
        while self._next is not None and self._next.entry_seq == seq:
            taken.append(self._next)
            self._next = next(self._rows, None)
        return taken

    def rest(self) -> list[Any]:
        remaining = list(self._skipped)
        while self._next is not None:
            remaining.append(self._next)
            self._next = next(self._rows, None)
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
