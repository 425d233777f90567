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

import attrs

from aidledger.core.accounts import Fund, check_code
from aidledger.core.amounts import Money, currency
from aidledger.core.entries import JournalEntry, PostedEntry, Posting
from aidledger.core.errors import ExceedsCommitment, ExceedsReceived
from aidledger.ledger.ledger import LedgerView
from aidledger.ledger.results import PendingBatch, Record
from aidledger.operations.base import LookupChart, Operations, balance_or_zero, known_record


@attrs.frozen
class Project:
    """A grant commitment.

    Attributes:
        code: the project's code.
        fund: the fund that pays it.
        purpose: what it pays for (``housing``).
        grantee: who receives the tranches (an organisation, not a person).
        committed: the amount committed.
        description: for example "rebuild 120 houses in the village of …".
    """

    code: str
    fund: str
    purpose: str
    grantee: str
    committed: Money
    description: str


@attrs.frozen
class GrantStatus:
    """Where a project stands at a date.

    Attributes:
        project: the project.
        committed: committed so far.
        disbursed: paid out in tranches.
        clawed_back: brought back.
        remaining: committed − disbursed + clawed back.
    """

    project: Project
    committed: Money
    disbursed: Money
    clawed_back: Money
    remaining: Money


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
    ) -> Project:
        """Commit ``amount`` to a project: a memo entry that later tranches draw down."""
        check_code("project", code)
        target = self._fund(fund)
        money = self._money(amount, "commitment")
        self._check_purpose(target, purpose, f"project {code}")
        body = {
            "fund": target.code,
            "purpose": purpose,
            "grantee": self._text(grantee, "grantee"),
            "amount": f"{money.value:f}",
            "currency": money.unit.code,
            "description": description,
        }
        entry = JournalEntry(
            kind="grant-commitment",
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.commitment(code, money.unit), target, money),
                Posting.credit(self.chart.commitments_contra(money.unit), target, money),
            ],
            actor=actor,
            memo=description,
            idempotency_key=f"commitment:{code}",
            tags={"project": code, "purpose": purpose, "grantee": body["grantee"], "event": "committed"},
        )

        self._post_recorded("project", code, body, [entry], actor=actor)
        return self.project_of(code)

    def project_of(self, code: str) -> Project:
        """The project with this code."""
        return self._project(self._record("project", code))

    @staticmethod
    def _project(record: Record) -> Project:
        body = record.body
        return Project(
            code=record.code,
            fund=str(body["fund"]),
            purpose=str(body["purpose"]),
            grantee=str(body["grantee"]),
            committed=Money(str(body["amount"]), currency(str(body["currency"]))),
            description=str(body["description"]),
        )

    def _tranche(
        self, project: Project, amount: Money, milestone: str, on: dt.datetime, actor: str, key: str | None
    ) -> JournalEntry:
        fund = self._fund(project.fund)
        money = self._money(amount, "tranche", project.committed.unit)
        unit = money.unit
        return JournalEntry(
            kind="grant-tranche",
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.expenses(project.purpose, unit), fund, money),
                Posting.credit(self.chart.bank(unit), fund, money),
                Posting.debit(self.chart.commitments_contra(unit), fund, money),
                Posting.credit(self.chart.commitment(project.code, unit), fund, money),
            ],
            actor=actor,
            memo=self._text(milestone, "milestone"),
            idempotency_key=key,
            tags={
                "project": project.code,
                "purpose": project.purpose,
                "grantee": project.grantee,
                "milestone": milestone,
                "event": "disbursed",
            },
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
    ) -> PostedEntry:
        """Pay a tranche against a milestone; refused beyond the remaining commitment."""
        found = self.project_of(project)
        entry = self._tranche(found, amount, milestone, on, actor, key)
        self._needs_approval(amount, f"tranche of project {project}")
        memo_account = self.chart.commitment(found.code, found.committed.unit)
        with self._translate(memo_account, ExceedsCommitment, f"project {project} has less than {amount} committed"):
            return self._post([entry])[0]

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
    ) -> PendingBatch:
        """Submit a tranche for a checker's approval (approve it with :meth:`approve`)."""
        entry = self._tranche(self.project_of(project), amount, milestone, on, actor, key)
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
    ) -> PostedEntry:
        """Money the grantee did not spend comes back; the commitment is restored by as much."""
        found = self.project_of(project)
        fund = self._fund(found.fund)
        money = self._money(amount, "clawback", found.committed.unit)
        unit = money.unit
        expense = self.chart.expenses(found.purpose, unit)
        entry = JournalEntry(
            kind="grant-clawback",
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.bank(unit), fund, money),
                Posting.credit(expense, fund, money),
                Posting.debit(self.chart.commitment(found.code, unit), fund, money),
                Posting.credit(self.chart.commitments_contra(unit), fund, money),
            ],
            actor=actor,
            memo=self._text(reason, "reason"),
            idempotency_key=key,
            tags={"project": found.code, "purpose": found.purpose, "grantee": found.grantee, "event": "clawed-back"},
        )

        def build(view: LedgerView) -> list[JournalEntry]:
            if key is not None and view.entry_by_key(key) is not None:
                return [entry]  # a retry: the ledger returns the first clawback, or refuses other content
            net = view.balance(expense, fund, tags={"project": found.code})
            if net < money:
                raise ExceedsReceived(
                    f"cannot claw back {money} from project {project}: only {net} was paid out net",
                    project=project,
                    paid_out=net,
                )
            return [entry]

        return self._transact(build).posted[0]

    def grant_status(
        self, project: str, *, as_of: dt.datetime | None = None, known_at: dt.datetime | None = None
    ) -> GrantStatus:
        """Committed, disbursed, clawed back and remaining for a project.

        ``as_of`` counts entries effective by then; ``known_at`` those the ledger
        had recorded by then (a project recorded later is unknown), so a status
        read at time T is read again identically with ``known_at=T``.  Reading
        writes nothing.
        """
        self._text(project, "project")
        found = self._project(known_record(self.ledger, "project", project, known_at))
        unit = found.committed.unit
        memo_account = LookupChart(self.ledger).commitment(found.code, unit)

        def balance(tags: dict[str, str] | None = None) -> Money:
            amount = balance_or_zero(self.ledger, memo_account, found.fund, as_of=as_of, known_at=known_at, tags=tags)
            return Money(amount.value, unit)

        def memo(event: str) -> Money:
            return Money(abs(balance({"project": found.code, "event": event}).value), unit)

        return GrantStatus(
            project=found,
            committed=memo("committed"),
            disbursed=memo("disbursed"),
            clawed_back=memo("clawed-back"),
            remaining=balance(),
        )
