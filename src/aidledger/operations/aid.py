"""The aid vocabulary in one object: ``Aid(ledger)``."""

from __future__ import annotations

import datetime as dt

import attrs
import pendulum

from aidledger.core.entries import JournalEntry, PostedEntry
from aidledger.core.errors import InvalidArgument
from aidledger.ledger.results import BatchResult
from aidledger.operations.budgets import BudgetOperations, approval_check, line_of_entries, over_budget
from aidledger.operations.donations import DonationOperations
from aidledger.operations.exclusions import ExclusionOperations
from aidledger.operations.grants import GrantOperations
from aidledger.operations.payments import PaymentOperations
from aidledger.operations.receipts import ReceiptOperations
from aidledger.operations.stock import StockOperations
from aidledger.vocabulary import Tag


class Aid(
    DonationOperations,
    PaymentOperations,
    StockOperations,
    GrantOperations,
    BudgetOperations,
    ExclusionOperations,
    ReceiptOperations,
):
    """Aid operations on a ledger: each builds balanced entries and posts them.

    ``Aid(ledger, currency_code="KZT", approval_threshold=Money("10000000", "KZT"))``:
    amounts are in the fund's currency unless said otherwise; payment lists and
    tranches above the threshold must be submitted and approved by a second
    person.  Every refusal raises a typed ``AidLedgerError`` and writes nothing.
    """

    def approve(self, code: str, *, checker: str) -> BatchResult:
        """Approve any submitted batch (a tranche, say) as ``checker`` and post it (refused with ExceedsBudget beyond
        what its budget line has left).  The batch's code is the key: approving it again as the same checker
        returns the entries posted the first time (when they carry idempotency keys) and writes nothing."""
        first = self._approved_before(code, checker)
        if first is not None:  # a retry by the same checker: the first result
            return first
        pending = self.ledger.pending(code)
        budget = line_of_entries(self.ledger, pending.entries)
        what = f"batch {code}"
        check = None if budget is None else approval_check(self.ledger, self._fund(budget.fund), budget, what)
        with over_budget(budget, what):
            return self.ledger.approve(code, checker=checker, check=check)

    def close_period(self, through: dt.datetime, *, actor: str) -> pendulum.DateTime:
        """Close every effective time up to ``through``: nothing can be posted there any more."""
        return self.ledger.close_period(through, actor=actor)

    def correct(
        self,
        entry_id: str,
        replacement: JournalEntry | None = None,
        *,
        actor: str,
        on: dt.datetime,
        reason: str,
        key: str | None = None,
    ) -> tuple[PostedEntry, ...]:
        """Correct an entry in an open period: its reversal, and the replacement, in one transaction.

        Both point at the original (the reversal by ``reverses``, the replacement
        by its ``corrects`` tag), so a correction of a closed period is traced.
        With ``key``, a retried correction returns the first one.
        """
        original = self.ledger.entry(entry_id)
        reversal = self.ledger.reversal_of(
            original, actor=actor, effective_at=self._when(on), memo=self._text(reason, "reason"), idempotency_key=key
        )
        entries = [reversal]
        if replacement is not None:
            if not isinstance(replacement, JournalEntry):
                raise InvalidArgument(f"replacement must be a JournalEntry, got {replacement!r}")
            entries.append(
                attrs.evolve(
                    replacement,
                    tags={**replacement.tags, Tag.CORRECTS: original.id},
                    idempotency_key=replacement.idempotency_key or (None if key is None else f"{key}:replacement"),
                )
            )
        return tuple(self.ledger.post_many(entries))
