"""Housing grants: a commitment to a project, tranches against milestones, clawbacks.

The commitment is a memo entry (``Memo:Grants:<project>`` against
``Memo:GrantsContra``): it never touches real money. A tranche spends real
money and reduces the commitment in the same entry, so the ledger's own
non-negative rule on the memo account refuses a tranche beyond what remains,
inside the write transaction. A clawback brings money back and restores the
commitment: remaining = committed − disbursed + clawed back, always.
"""

from __future__ import annotations

import datetime as dt

from aidledger.core.accounts import Fund, check_code
from aidledger.core.amounts import Money
from aidledger.core.entries import JournalEntry, PostedEntry, Posting
from aidledger.core.errors import ExceedsCommitment, ExceedsReceived, InvalidArgument
from aidledger.ledger.ledger import LedgerView
from aidledger.ledger.results import PendingBatch
from aidledger.operations.base import Operations
from aidledger.operations.budgets import FundReserve, budget_postings, choose_line, over_budget
from aidledger.vocabulary import BudgetLine, Event, Kind, Owner, Project, RecordKind, Tag, commitment_key


class GrantOperations(Operations):
    """Grant commitments and tranches."""

    def commit_grant(
        self,
        code: str,
        *,
        fund: Fund | str,
        amount: Money,
        purpose: str,
        grantee: str,
        on: dt.datetime,
        actor: str,
        description: str = "",
        tranches: int | None = None,
    ) -> Project:
        """Commit ``amount`` to a project: a memo entry that later tranches draw down.

        ``tranches``, if the grant agreement says how many tranches pay it, is kept in the project's record;
        each tranche paid with its number (``disburse(..., tranche=2)``) is then "tranche 2 of 3".
        """
        check_code("project", code)
        target = self._fund(fund)
        money = self._money(amount, "commitment")
        self._check_purpose(target, purpose, f"project {code}")
        named = self._text(grantee, "grantee")
        body: dict[str, object] = {
            "fund": target.code,
            "purpose": purpose,
            "grantee": named,
            "amount": f"{money.value:f}",
            "currency": money.unit.code,
            "description": description,
        }
        if tranches is not None:
            body["tranches"] = _count(tranches, "tranches", None)
        entry = JournalEntry(
            kind=Kind.GRANT_COMMITMENT.value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.commitment(code, money.unit), target, money),
                Posting.credit(self.chart.commitments_contra(money.unit), target, money),
            ],
            actor=actor,
            memo=description,
            idempotency_key=commitment_key(code),
            tags={Tag.PROJECT: code, Tag.PURPOSE: purpose, Tag.GRANTEE: named, Tag.EVENT: Event.COMMITTED}
            | ({} if tranches is None else {Tag.TRANCHES: str(tranches)}),
        )

        self._post_recorded(RecordKind.PROJECT, code, body, [entry], actor=actor)
        return self.project_of(code)

    def project_of(self, code: str) -> Project:
        """The project with this code."""
        return Project.from_record(self._record(RecordKind.PROJECT, code))

    def _tranche(
        self,
        project: Project,
        amount: Money,
        milestone: str,
        on: dt.datetime,
        actor: str,
        key: str | None,
        budget: BudgetLine | None = None,
        number: int | None = None,
    ) -> JournalEntry:
        fund = self._fund(project.fund)
        money = self._money(amount, "tranche", project.committed.unit)
        unit = money.unit
        tags = {
            Tag.PROJECT: project.code,
            Tag.PURPOSE: project.purpose,
            Tag.GRANTEE: project.grantee,
            Tag.MILESTONE: milestone,
            Tag.EVENT: Event.DISBURSED,
        }
        if number is not None:  # the entry says "tranche 2 of 3" itself: exports read the entry, not the record
            tags[Tag.TRANCHE] = str(_count(number, "tranche", project.tranches, project.code))
            if project.tranches is not None:
                tags[Tag.TRANCHES] = str(project.tranches)
        memo = []
        if budget is not None:  # approved and paid in one entry: the line's money goes from free to disbursed
            tags[Tag.BUDGET_LINE] = budget.code
            memo = budget_postings(self.chart, budget, fund, Event.DISBURSED, money)
        return JournalEntry(
            kind=Kind.GRANT_TRANCHE.value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.expenses(project.purpose, unit), fund, money),
                Posting.credit(self.chart.bank(unit), fund, money),
                Posting.debit(self.chart.commitments_contra(unit), fund, money),
                Posting.credit(self.chart.commitment(project.code, unit), fund, money),
                *memo,
            ],
            actor=actor,
            memo=self._text(milestone, "milestone"),
            idempotency_key=key,
            tags=tags,
        )

    def disburse(
        self,
        project: str,
        amount: Money,
        *,
        milestone: str,
        on: dt.datetime,
        actor: str,
        key: str | None = None,
        budget_line: str | None = None,
        tranche: int | None = None,
    ) -> PostedEntry:
        """Pay a tranche against a milestone; refused beyond the remaining commitment.

        A project with budget lines commits and disburses the tranche against
        ``budget_line`` (its only line, if it has one): refused with
        ExceedsBudget beyond what the line or its fund has free.  ``tranche`` is
        its number in the grant agreement (at most the project's ``tranches``),
        kept in the entry's tags so that its narration says "tranche 2 of 3".
        """
        found = self.project_of(project)
        budget = choose_line(self.ledger, Owner.PROJECT, found.code, budget_line, self._when(on))
        entry = self._tranche(found, amount, milestone, on, actor, key, budget, tranche)
        self._needs_approval(amount, f"tranche of project {project}")
        memo_account = self.chart.commitment(found.code, found.committed.unit)
        what = f"tranche of {amount:,} to project {project}"

        fund = self._fund(found.fund)
        reserve = None if budget is None else FundReserve.of(self.ledger, fund, amount.unit, budget.code)

        def build(view: LedgerView) -> list[JournalEntry]:
            if reserve is not None and (key is None or view.entry_by_key(key) is None):
                reserve.check(view.balance, amount, what)
            return [entry]

        with (
            self._translate(memo_account, ExceedsCommitment, f"project {project} has less than {amount:,} committed"),
            over_budget(budget, what),
        ):
            return self._transact(build).posted[0]

    def submit_tranche(
        self,
        project: str,
        amount: Money,
        *,
        milestone: str,
        on: dt.datetime,
        actor: str,
        code: str,
        key: str | None = None,
        budget_line: str | None = None,
        tranche: int | None = None,
    ) -> PendingBatch:
        """Submit a tranche for a checker's approval (approve it with :meth:`approve`); approving it commits and
        disburses it against its budget line, as :meth:`disburse` (``tranche``: its number, as there)."""
        found = self.project_of(project)
        budget = choose_line(self.ledger, Owner.PROJECT, found.code, budget_line, self._when(on))
        entry = self._tranche(found, amount, milestone, on, actor, key, budget, tranche)
        return self.ledger.submit([entry], actor=actor, code=code)

    def claw_back(
        self,
        project: str,
        amount: Money,
        *,
        on: dt.datetime,
        actor: str,
        reason: str,
        key: str | None = None,
        budget_line: str | None = None,
    ) -> PostedEntry:
        """Money the grantee did not spend comes back; the commitment is restored by as much (and the budget line's
        disbursed money is released back to it)."""
        found = self.project_of(project)
        fund = self._fund(found.fund)
        money = self._money(amount, "clawback", found.committed.unit)
        unit = money.unit
        expense = self.chart.expenses(found.purpose, unit)
        budget = choose_line(self.ledger, Owner.PROJECT, found.code, budget_line, None)
        tags = {
            Tag.PROJECT: found.code,
            Tag.PURPOSE: found.purpose,
            Tag.GRANTEE: found.grantee,
            Tag.EVENT: Event.CLAWED_BACK,
        }
        memo = []
        if budget is not None:
            tags[Tag.BUDGET_LINE] = budget.code
            memo = budget_postings(self.chart, budget, fund, Event.CLAWED_BACK, money)
        entry = JournalEntry(
            kind=Kind.GRANT_CLAWBACK.value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.bank(unit), fund, money),
                Posting.credit(expense, fund, money),
                Posting.debit(self.chart.commitment(found.code, unit), fund, money),
                Posting.credit(self.chart.commitments_contra(unit), fund, money),
                *memo,
            ],
            actor=actor,
            memo=self._text(reason, "reason"),
            idempotency_key=key,
            tags=tags,
        )

        def build(view: LedgerView) -> list[JournalEntry]:
            if key is not None and view.entry_by_key(key) is not None:
                return [entry]  # a retry: the ledger returns the first clawback, or refuses other content
            net = view.balance(expense, fund, tags={Tag.PROJECT: found.code})
            if net < money:
                raise ExceedsReceived(
                    f"cannot claw back {money:,} from project {project}: only {net:,} was paid out net",
                    project=project,
                    paid_out=net,
                )
            return [entry]

        with over_budget(budget, f"clawback of {money:,} from project {project}"):
            return self._transact(build).posted[0]


def _count(value: object, name: str, most: int | None, project: str | None = None) -> int:
    """``value`` if it is a whole number from 1 to ``most`` (any, without ``most``); InvalidArgument otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (most is not None and value > most):
        bound = "a whole number from 1" + ("" if most is None else f" to {most}")
        where = "" if project is None else f" of project {project}"
        raise InvalidArgument(f"{name}{where} must be {bound}, got {value!r}", value=value)
    return value
