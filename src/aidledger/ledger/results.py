"""Typed results of the ledger's own reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pendulum

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount
from aidledger.core.entries import JournalEntry, PostedEntry
from aidledger.core.errors import AidLedgerError


@attrs.frozen
class Head:
    """The newest link of the entry chain.

    Attributes:
        seq: the number of entries (the newest entry's sequence number; 0 when empty).
        hash: the newest entry's hash (the genesis hash when empty).
    """

    seq: int
    hash: str


@attrs.frozen
class TrialBalanceLine:
    """The balance of one account in one fund (signed: debits positive).

    Attributes:
        account: the account.
        fund: the fund.
        balance: the signed balance, debits positive and credits negative.
    """

    account: Account
    fund: Fund
    balance: Amount


@attrs.frozen
class TrialBalance:
    """Every non-zero account balance per fund, and the total per unit.

    Attributes:
        lines: one line per account and fund with a non-zero balance, by account and fund code.
        totals: the sum of all lines per unit code; zero in a ledger that balances.
        fund_totals: the sum of all lines per (fund code, unit code); zero too.
        unknown: postings to an account or fund id the chart does not hold (changed behind the
            library), summed in minor units, by ``<account> in <fund>``; empty in a sound ledger.
    """

    lines: tuple[TrialBalanceLine, ...]
    totals: Mapping[str, Amount]
    fund_totals: Mapping[tuple[str, str], Amount]
    unknown: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def balanced(self) -> bool:
        """Whether every total, per unit and per fund and unit, is exactly zero, and no posting is unknown."""
        return (
            not self.unknown
            and all(t.is_zero() for t in self.totals.values())
            and all(t.is_zero() for t in self.fund_totals.values())
        )


@attrs.frozen
class ChainBreak:
    """The first place where the stored ledger disagrees with its log.

    Attributes:
        seq: the sequence number where the log breaks: an entry's number for a
            problem in an entry, otherwise the number of the log item (or of the
            close or record, as ``problem`` says).
        entry_id: the id of the entry there, if there is one.
        problem: what is wrong, in words.
        expected: what the log says should be there.
        found: what the database holds.
    """

    seq: int
    entry_id: str | None
    problem: str
    expected: str
    found: str


@attrs.frozen
class Verification:
    """The result of :func:`aidledger.verify`.

    Attributes:
        entries: how many entries were checked.
        head_seq: sequence number of the newest entry.
        head_hash: hash of the newest entry.
        first_break: the first broken link, or ``None`` if the log is intact.
        items: how many items of the log were checked (entries, period closes,
            records, units, accounts and funds).
        log_seq: the number of the newest item of the log.
        log_hash: the hash of the newest item (with ``log_seq``, the auditor's digest).
    """

    entries: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None
    items: int = 0
    log_seq: int = 0
    log_hash: str = "0" * 64

    @property
    def ok(self) -> bool:
        return self.first_break is None

    @property
    def digest(self) -> str:
        """The auditor's digest of the whole log as verified: ``<seq>:<hash>``; keep it outside the database."""
        return f"{self.log_seq}:{self.log_hash}"


@attrs.frozen
class EntryFacts:
    """What :meth:`LedgerView.facts` tells of one entry.

    Attributes:
        id: the entry's id.
        debits: its total debits in minor units, per unit code.
        tags: its tags.
        reversed: whether a later entry reverses it (then it no longer stands).
    """

    id: str
    debits: Mapping[str, int]
    tags: Mapping[str, str]
    reversed: bool = False


@attrs.frozen
class SkippedEntry:
    """An entry of a batch that was set aside rather than posted.

    Attributes:
        index: its position in the batch.
        entry: the entry.
        reason: the error that set it aside (a once-only claim already taken).
    """

    index: int
    entry: JournalEntry
    reason: AidLedgerError


@attrs.frozen
class BatchResult:
    """What a batch posted and what it set aside.

    Attributes:
        posted: the posted entries (first results for retried idempotency keys), in batch order.
        skipped: entries set aside, with their reasons.
        results: per position in the batch, the posted entry or ``None`` if it was set aside.
    """

    posted: tuple[PostedEntry, ...]
    skipped: tuple[SkippedEntry, ...]
    results: tuple[PostedEntry | None, ...]


@attrs.frozen
class Record:
    """A hash-chained record beside the journal: a definition, a pending batch or a decision.

    Attributes:
        kind: what sort of record (``pending``, ``decision``, or a layer's own kind).
        code: its code, unique per kind.
        subject: the code of the record it is about, if any.
        actor: who made it.
        body: its content (JSON values).
        seq: its place in the record chain.
        recorded_at: when the ledger recorded it.
    """

    kind: str
    code: str
    subject: str | None
    actor: str
    body: Mapping[str, Any]
    seq: int
    recorded_at: pendulum.DateTime


@attrs.frozen
class PendingBatch:
    """Entries waiting for a checker's decision.

    Attributes:
        code: the pending batch's code.
        maker: who submitted it.
        entries: the entries as they will be posted (without the checker).
        total: the batch's total per unit code (sum of debits; memo accounts such as commitments left out).
        status: ``pending``, ``approved`` or ``rejected``.
        checker: who decided, once decided.
        note: the maker's note.
        approvals: every checker who approved it so far, in order (a policy tier may need more than one).
    """

    code: str
    maker: str
    entries: tuple[JournalEntry, ...]
    total: Mapping[str, Amount]
    status: str
    checker: str | None
    note: str
    approvals: tuple[str, ...] = ()


@attrs.frozen
class Unapproved:
    """An entry that lacked the checkers the approval policy in force when it was logged asked for.

    Attributes:
        entry: the entry.
        needed: how many distinct checkers it needed.
        approvals: how many it had (distinct, none its maker, each decided before the entry was logged).
        scope: the scope of the strictest policy that covered it.
    """

    entry: PostedEntry
    needed: int
    approvals: int
    scope: str


@attrs.frozen
class Check:
    """One reconciliation check: what it compared, and how far apart the two sides are.

    Attributes:
        name: a short name (``trial balance``, ``maintained balances``...).
        ok: whether the two sides agree exactly.
        compared: what was compared with what.
        difference: empty when ok; otherwise the difference, with the offending values.
        details: one line per offending account, fund, list or project (at most 20).
    """

    name: str
    ok: bool
    compared: str
    difference: str = ""
    details: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, compared: str, problems: list[str], summary: str) -> Check:
        """A check that holds when ``problems`` is empty; ``summary`` names their count as ``{n}``."""
        return cls(
            name, not problems, compared, summary.format(n=len(problems)) if problems else "", tuple(problems[:20])
        )


@attrs.frozen
class Reconciliation:
    """Every check of a reconciliation; ``ok`` only if all hold.

    Attributes:
        checks: the checks, in the order they ran.
        verification: the verification of the log that the books were checked
            against (its ``digest`` names the log that was reconciled).
    """

    checks: tuple[Check, ...]
    verification: Verification

    @property
    def ok(self) -> bool:
        """Whether every check holds."""
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that do not hold."""
        return tuple(check for check in self.checks if not check.ok)
