"""One-off payments: programmes, payment lists, the provider lifecycle and its report.

A payment's life: **approved** (the list is posted: the expense and the amount
due are recognised, and the beneficiary is claimed in the programme) →
**sent** (the list's total moves from the bank to the payment provider) →
**paid**, **failed** or **returned** (from the provider's report). Failed and
returned money goes back to the fund, and the beneficiary's claim is released,
so a later list may pay them once more. At no time can a programme hold two
live payments to the same beneficiary.

**Key rotation.**  A programme claims its beneficiaries under one pseudonym
key version, recorded when it is created (``key_version``, 1 by default), and
refuses lines whose pseudonym was made under another version: the same
person has a different pseudonym under each key, so mixing versions in one
programme would let them be paid twice.  After a rotation, a programme made
before it is paid with ``keys.pseudonym(registry_id, version=programme.key_version)``
(the pseudonymizer keeps the old key), and new programmes are created with the
new version.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext

import attrs

from aidledger.core.accounts import Account, Fund, check_code
from aidledger.core.amounts import Money
from aidledger.core.beneficiaries import Beneficiary
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting, check_text
from aidledger.core.errors import (
    DuplicateClaim,
    DuplicateDefinition,
    ExclusionConflict,
    IdempotencyConflict,
    InvalidAmount,
    InvalidArgument,
    PaymentStateError,
    RepeatedBeneficiary,
)
from aidledger.core.validators import instance_of
from aidledger.ledger.ledger import LedgerView
from aidledger.ledger.results import BatchResult, PendingBatch
from aidledger.operations.base import Operations
from aidledger.operations.budgets import (
    FundReserve,
    approval_check,
    budget_postings,
    choose_line,
    line_of_entries,
    lines_of,
    over_budget,
)
from aidledger.operations.exclusions import exclusion_conflict, exclusion_scope, hard_groups
from aidledger.operations.refusals import claimed_line, fund_shortfall, repeated_beneficiaries
from aidledger.operations.settlements import Mismatch, Settlement, check_dates, sort_report
from aidledger.vocabulary import (
    CLAIM_PREFIX,
    EXCLUSION_CLAIM_PREFIX,
    BudgetLine,
    Event,
    Kind,
    Owner,
    PaymentStatus,
    Programme,
    ProviderLine,
    RecordKind,
    Scope,
    Tag,
    payment_key,
    sent_key,
)

__all__ = [  # the vocabulary's payment words are also importable from here
    "CLAIM_PREFIX",
    "Conflict",
    "Mismatch",
    "OnConflict",
    "PaymentLine",
    "PaymentListResult",
    "PaymentOperations",
    "PaymentStatus",
    "Programme",
    "ProviderLine",
    "Scope",
    "Settlement",
]

MAX_KEY_VERSION = 9999  # as in core.beneficiaries


class OnConflict(enum.Enum):
    """What to do with lines whose beneficiary the programme already paid."""

    REFUSE = "refuse"  # refuse the whole list, post nothing
    SKIP = "skip"  # post the other lines, report the conflicts


@attrs.frozen
class PaymentLine:
    """One line of a payment list.

    Attributes:
        beneficiary: the beneficiary's pseudonym (never a name or national id).
        reference: the line's reference, unique in the programme (the provider reports it back).
        amount: the amount, for programmes without a fixed amount.
        region: where the beneficiary lives, for audit totals.
    """

    beneficiary: Beneficiary = attrs.field(validator=instance_of(Beneficiary))
    reference: str = attrs.field()
    amount: Money | None = None
    region: str | None = None

    @reference.validator
    def _check_reference(self, _: object, value: object) -> None:
        check_code("payment reference", value)


@attrs.frozen
class Conflict:
    """A line that was not posted, and why."""

    line: PaymentLine
    reason: str


@attrs.frozen(kw_only=True)
class PaymentListResult:
    """What posting (or approving) a payment list did.

    Attributes:
        list_code: the list.
        programme: its programme's code.
        posted: the payment entries posted (or found posted, for a retry).
        conflicts: lines set aside because their beneficiary was already paid.
        total: the total of the posted lines.
    """

    list_code: str
    programme: str
    posted: tuple[PostedEntry, ...]
    conflicts: tuple[Conflict, ...]
    total: Money


class PaymentOperations(Operations):
    """One-off programmes and their payment lists."""

    def create_programme(
        self,
        code: str,
        *,
        fund: Fund | str,
        purpose: str,
        actor: str,
        amount: Money | None = None,
        max_amount: Money | None = None,
        scope: Scope = Scope.HOUSEHOLD,
        name: str = "",
        key_version: int = 1,
    ) -> Programme:
        """Define a one-off programme: its fund, purpose, amount rule and once-per-beneficiary scope.

        ``key_version`` is the pseudonym key version its payment lines must use
        (see the module documentation on key rotation); it never changes.  The
        accounts its payments post to are opened here, once, so paying a list
        never changes the chart.
        """
        check_code("programme", code)
        target = self._fund(fund)
        self._check_purpose(target, purpose, f"programme {code}")
        if not isinstance(scope, Scope):
            raise InvalidArgument(f"scope must be a Scope, got {scope!r}", value=scope)
        if type(key_version) is not int or not 1 <= key_version <= MAX_KEY_VERSION:
            raise InvalidArgument(
                f"key_version must be a whole number from 1 to {MAX_KEY_VERSION}, got {key_version!r}",
                value=key_version,
            )
        if (amount is None) == (max_amount is None):
            raise InvalidArgument(
                f"programme {code} needs either a fixed amount per beneficiary or a max_amount for per-line amounts"
            )
        rule = self._money(amount if amount is not None else max_amount, "programme amount")
        body: dict[str, object] = {
            "fund": target.code,
            "purpose": purpose,
            "scope": scope.value,
            "currency": rule.unit.code,
            "amount": None if amount is None else f"{rule.value:f}",
            "max_amount": None if max_amount is None else f"{rule.value:f}",
            "name": name,
        }
        if key_version != 1:  # programmes under the first key keep the record they always had
            body["key_version"] = key_version
        self.ledger.put_record(RecordKind.PROGRAMME, code, body, actor=actor)
        programme = self.programme_of(code)
        self._accounts(programme)
        return programme

    def _accounts(self, programme: Programme) -> dict[str, Account]:
        """The accounts a programme's payments post to (in the order a list first uses them)."""
        unit = programme.unit
        return {
            "expense": self.chart.expenses(programme.purpose, unit),
            "due": self.chart.payments_due(unit),
            "clearing": self.chart.provider_clearing(unit),
            "bank": self.chart.bank(unit),
        }

    def programme_of(self, code: str | Programme) -> Programme:
        """The programme with this code."""
        if isinstance(code, Programme):
            return code
        return Programme.from_record(self._record(RecordKind.PROGRAMME, code))

    def programmes(self) -> tuple[Programme, ...]:
        """Every programme, in the order they were defined."""
        return tuple(Programme.from_record(r) for r in self.ledger.records(RecordKind.PROGRAMME))

    def _list_programme(self, list_code: str) -> Programme:
        """The programme of a payment list."""
        return self.programme_of(str(self._record(RecordKind.PAYMENT_LIST, list_code).body["programme"]))

    # -- payment lists ---------------------------------------------------------------

    def _payment_entries(
        self,
        programme: Programme,
        lines: Iterable[PaymentLine],
        *,
        actor: str,
        on: dt.datetime,
        list_code: str,
        budget: BudgetLine | None = None,
    ) -> tuple[list[JournalEntry], list[PaymentLine], Money]:
        fund = self._fund(programme.fund)
        groups = hard_groups(self.ledger, programme.code)
        self._check_purpose(fund, programme.purpose, f"programme {programme.code}")
        accounts = self._accounts(programme)
        expense, due = accounts["expense"], accounts["due"]
        when = self._when(on)
        entries: list[JournalEntry] = []
        checked: list[PaymentLine] = []
        references: set[str] = set()
        total = 0
        for number, line in enumerate(lines, start=1):
            self._check_line(programme, line, number, references)
            amount = self._line_amount(programme, line, number)
            tags = {
                Tag.PROGRAMME: programme.code,
                Tag.PURPOSE: programme.purpose,
                Tag.BENEFICIARY: line.beneficiary.pseudonym,
                Tag.LIST: list_code,
                Tag.REFERENCE: line.reference,
                Tag.EVENT: Event.APPROVED,
            }
            if line.region is not None:
                tags[Tag.REGION] = self._text(line.region, f"line {number} region")
            postings = [Posting.debit(expense, fund, amount), Posting.credit(due, fund, amount)]
            if budget is not None:
                tags[Tag.BUDGET_LINE] = budget.code
                postings += budget_postings(self.chart, budget, fund, Event.APPROVED, amount)
            claims = [Claim(programme.claim_scope, line.beneficiary.pseudonym)]
            if groups:
                tags[Tag.EXCLUSION] = ",".join(groups)
                claims += [Claim(exclusion_scope(group), line.beneficiary.pseudonym) for group in groups]
            entries.append(
                JournalEntry(
                    kind=Kind.PAYMENT.value,
                    effective_at=when,
                    postings=postings,
                    actor=actor,
                    idempotency_key=payment_key("payment", programme.code, line.reference),
                    tags=tags,
                    claims=claims,
                )
            )
            checked.append(line)
            total += amount.minor
        if not entries:
            raise InvalidArgument(f"payment list {list_code} has no lines")
        return entries, checked, Money.from_minor(total, programme.unit)

    @staticmethod
    def _check_line(programme: Programme, line: object, number: int, references: set[str]) -> None:
        """A line of the list: a PaymentLine, its reference new in the list, its pseudonym of the programme's key."""
        if not isinstance(line, PaymentLine):
            raise InvalidArgument(f"line {number}: expected a PaymentLine, got {line!r}", line=number)
        if line.reference in references:
            raise InvalidArgument(
                f"line {number}: reference {line.reference!r} appears twice in the list",
                line=number,
                reference=line.reference,
            )
        references.add(line.reference)
        if line.beneficiary.key_version != programme.key_version:
            raise InvalidArgument(
                f"line {number} ({line.reference}): programme {programme.code} claims beneficiaries under "
                f"pseudonym key version {programme.key_version}, but this line's pseudonym is of version "
                f"{line.beneficiary.key_version}; make it with keys.pseudonym(registry_id, "
                f"version={programme.key_version})",
                line=number,
                version=line.beneficiary.key_version,
                expected=programme.key_version,
            )

    def _line_amount(self, programme: Programme, line: PaymentLine, number: int) -> Money:
        if programme.amount is not None:
            if line.amount is not None and line.amount != programme.amount:
                raise InvalidAmount(
                    f"line {number} ({line.reference}): programme {programme.code} pays exactly {programme.amount:,}, "
                    f"not {line.amount:,}",
                    line=number,
                    value=line.amount,
                )
            return programme.amount
        maximum = programme.rule  # no fixed amount: the rule is the maximum
        if line.amount is None:
            raise InvalidAmount(
                f"line {number} ({line.reference}): programme {programme.code} needs an amount per line", line=number
            )
        amount = self._money(line.amount, f"line {number} amount", maximum.unit)
        if amount > maximum:
            raise InvalidAmount(
                f"line {number} ({line.reference}): {amount:,} is above the programme's maximum {maximum:,}",
                line=number,
                value=amount,
            )
        return amount

    def pay(
        self,
        programme: str | Programme,
        lines: Iterable[PaymentLine],
        *,
        actor: str,
        on: dt.datetime,
        list_code: str | None = None,
        on_conflict: OnConflict = OnConflict.REFUSE,
        budget_line: str | None = None,
        key: str | None = None,
    ) -> PaymentListResult:
        """Approve and post a payment list in one transaction.

        A line whose beneficiary the programme already paid (in any earlier list,
        process or retry) refuses the whole list, or with ``OnConflict.SKIP`` is
        set aside and reported.  Lists above the approval threshold must be
        submitted with :meth:`submit_payments` instead.  Posting the same list
        again returns the first result: a list is made once, so a later call
        with its code posts no line the first call did not post (with
        ``OnConflict.SKIP`` such a line is set aside again, even once its
        beneficiary is free; otherwise the call is refused with IdempotencyConflict).

        A programme with budget lines commits the list against ``budget_line``
        (its only line, if it has one): refused with ExceedsBudget, naming what
        is short, beyond what the line or its fund has free.  A beneficiary
        another programme of a hard exclusion group pays is refused with
        ExclusionConflict (or set aside with ``OnConflict.SKIP``).

        ``key`` makes a retry safe without a list code: the list's code is
        then made from the key (``<programme>-<12 hex digits>``), so the same
        key names the same list.  Without ``list_code`` or ``key`` each call
        makes a new list, and a retry pays the list again.
        """
        prog = self.programme_of(programme)
        code = _list_code(prog.code, list_code, key)
        given = list(lines)
        budget = self._list_budget(prog, given, budget_line, on)
        entries, lines_checked, total = self._payment_entries(
            prog, given, actor=actor, on=on, list_code=code, budget=budget
        )
        self._needs_approval(total, f"payment list {code}")
        skip = self._skip(on_conflict)
        self._check_list(code, prog)
        kept: list[int] = []
        set_aside: dict[int, str] = {}

        reserve = None if budget is None else FundReserve.of(self.ledger, self._fund(prog.fund), prog.unit, budget.code)

        def build(view: LedgerView) -> list[JournalEntry]:
            new = view.record(RecordKind.PAYMENT_LIST, code) is None
            kept[:], aside = _first_call_lines(view, code, entries, skip=skip)
            set_aside.clear()
            set_aside.update(aside)
            if reserve is not None and new:
                reserve.check(view.balance, total, f"payment list {code}")
            view.put_record(RecordKind.PAYMENT_LIST, code, _list_body(prog, key), actor=actor)
            return [entries[i] for i in kept]

        # A retry (the list is recorded) posts what its first call posted: its lines are not judged again.
        retry = self.ledger.record(RecordKind.PAYMENT_LIST, code) is not None
        repeats = {} if retry else self._repeats(code, prog, lines_checked, skip=skip)
        with (
            over_budget(budget, f"payment list {code} of {total:,}"),
            self._exclusions(prog, lines_checked, f"payment list {code}"),
            fund_shortfall(self.ledger, self._fund(prog.fund), total, on, f"payment list {code}"),
        ):
            result = self._transact(build, skip=skip)
        return self._list_result(code, prog, lines_checked, result, kept=kept, set_aside=set_aside, named=repeats)

    def _list_budget(
        self, programme: Programme, lines: list[PaymentLine], named: str | None, on: dt.datetime
    ) -> BudgetLine | None:
        regions = [line.region if isinstance(line, PaymentLine) else None for line in lines]
        return choose_line(self.ledger, Owner.PROGRAMME, programme.code, named, self._when(on), regions)

    @staticmethod
    def _repeats(code: str, programme: Programme, lines: list[PaymentLine], *, skip: bool) -> dict[int, str]:
        """Refuse a list naming one beneficiary on two lines (with ``skip``: the reasons its later lines are set
        aside, by index)."""
        pairs = [(line.beneficiary, line.reference) for line in lines]
        repeats = repeated_beneficiaries(f"payment list {code}", pairs, programme.claim_scope)
        if repeats and not skip:
            first = repeats[min(repeats)]
            raise RepeatedBeneficiary(
                f"{first}; nothing was posted",
                lines=first.lines,
                references=first.references,
                scope=programme.claim_scope,
                key=first.details["key"],
            )
        return {index: str(error) for index, error in repeats.items()}

    @contextmanager
    def _exclusions(self, programme: Programme, lines: list[PaymentLine], what: str) -> Iterator[None]:
        """Re-raise a taken claim naming the list line: an exclusion claim as ExclusionConflict, naming the other
        programme too."""
        pairs = [(line.beneficiary, line.reference) for line in lines]
        try:
            with claimed_line(what, pairs, programme.claim_scope):
                yield
        except DuplicateClaim as error:
            scope = str(error.details.get("scope", ""))
            if isinstance(error, ExclusionConflict) or not scope.startswith(EXCLUSION_CLAIM_PREFIX):
                raise
            named = [(beneficiary.pseudonym, reference) for beneficiary, reference in pairs]
            raise exclusion_conflict(self.ledger, programme.code, named, error) from error

    def submit_payments(
        self,
        programme: str | Programme,
        lines: Iterable[PaymentLine],
        *,
        actor: str,
        on: dt.datetime,
        list_code: str,
        note: str = "",
        budget_line: str | None = None,
        key: str | None = None,
    ) -> PendingBatch:
        """Submit a payment list for a checker's approval (see :meth:`approve_payments`).

        The pending batch and the list's record are stored in one transaction:
        both or neither, so a failed submission can be made again with the same list code.
        The list code is the submission's key; ``key``, if given, is kept with
        it, and a later submission of the list with another key is refused.
        """
        prog = self.programme_of(programme)
        given = list(lines)
        budget = self._list_budget(prog, given, budget_line, on)
        entries, _, _ = self._payment_entries(prog, given, actor=actor, on=on, list_code=list_code, budget=budget)
        self._check_list(list_code, prog)
        submitted: list[PendingBatch] = []

        def build(view: LedgerView) -> list[JournalEntry]:
            submitted[:] = [view.submit(entries, actor=actor, code=f"list:{list_code}", note=note)]
            view.put_record(RecordKind.PAYMENT_LIST, list_code, _list_body(prog, key), actor=actor)
            return []

        self._transact(build)
        return submitted[0]

    def approve_payments(
        self, list_code: str, *, checker: str, on_conflict: OnConflict = OnConflict.REFUSE
    ) -> PaymentListResult:
        """Approve a submitted payment list as ``checker`` (never its maker), and post it.

        Approving commits the list against its budget line (see :meth:`pay`).
        Approving it again as the same checker (a retry) returns the payments
        posted the first time and writes nothing.
        """
        prog = self._list_programme(list_code)
        first = self._approved_before(f"list:{list_code}", checker)
        pending = self.ledger.pending(f"list:{list_code}")
        if first is not None:  # a retry by the same checker: the payments it posted
            return self._list_result(list_code, prog, [_line_of(e.entry) for e in first.posted], first)
        lines = [_line_of(entry) for entry in pending.entries]
        budget = line_of_entries(self.ledger, pending.entries)
        skip = self._skip(on_conflict)
        what = f"payment list {list_code}"
        total = Money.from_minor(sum(line.amount.minor for line in lines if line.amount is not None), prog.unit)
        check = None if budget is None else approval_check(self.ledger, self._fund(prog.fund), budget, what)
        repeats = self._repeats(list_code, prog, lines, skip=skip)
        when = max((e.effective_at for e in pending.entries), default=None)
        with (
            over_budget(budget, f"{what} of {total:,}"),
            self._exclusions(prog, lines, what),
            fund_shortfall(self.ledger, self._fund(prog.fund), total, when, what)
            if when is not None
            else nullcontext(),
        ):
            result = self.ledger.approve(f"list:{list_code}", checker=checker, skip_claimed=skip, check=check)
        return self._list_result(list_code, prog, lines, result, named=repeats)

    @staticmethod
    def _skip(on_conflict: OnConflict) -> bool:
        if not isinstance(on_conflict, OnConflict):
            raise InvalidArgument(f"on_conflict must be an OnConflict, got {on_conflict!r}", value=on_conflict)
        return on_conflict is OnConflict.SKIP

    def _check_list(self, code: str, programme: Programme) -> None:
        """A list code names one list of one programme."""
        check_code("payment list", code)
        existing = self.ledger.record(RecordKind.PAYMENT_LIST, code)
        if existing is not None and existing.body["programme"] != programme.code:
            raise DuplicateDefinition(
                f"payment list {code} belongs to programme {existing.body['programme']}, not {programme.code}",
                list_code=code,
            )

    @staticmethod
    def _list_result(
        code: str,
        programme: Programme,
        lines: list[PaymentLine],
        result: BatchResult,
        *,
        kept: list[int] | None = None,
        set_aside: Mapping[int, str] | None = None,
        named: Mapping[int, str] | None = None,
    ) -> PaymentListResult:
        """The list's result; ``kept`` are the lines posted as the batch (all by default), ``set_aside`` the others;
        ``named`` the reasons to give for skipped lines that repeat a beneficiary."""
        reasons = dict(set_aside or {})
        for skipped in result.skipped:
            index = skipped.index if kept is None else kept[skipped.index]
            reasons[index] = (named or {}).get(index, str(skipped.reason))
        conflicts = tuple(Conflict(lines[index], reason) for index, reason in sorted(reasons.items()))
        total = sum((p.entry.postings[0].minor for p in result.posted), 0)
        return PaymentListResult(
            list_code=code,
            programme=programme.code,
            posted=result.posted,
            conflicts=conflicts,
            total=Money.from_minor(total, programme.unit),
        )

    # -- the provider ------------------------------------------------------------------

    def send(self, list_code: str, *, provider: str, actor: str, on: dt.datetime) -> PostedEntry:
        """Move the list's approved total from the bank to the payment provider, once per list.

        Sending again to the same provider (a retry) returns the first entry;
        to another provider it is refused with PaymentStateError.
        """
        prog = self._list_programme(list_code)
        fund = self._fund(prog.fund)
        accounts = self._accounts(prog)
        provider = self._text(provider, "provider")
        already: list[PostedEntry] = []

        def build(view: LedgerView) -> list[JournalEntry]:
            sent = view.entry_by_key(sent_key(list_code))
            if sent is not None:
                if sent.entry.tags.get(Tag.PROVIDER) != provider:
                    raise PaymentStateError(
                        f"payment list {list_code} was already sent to {sent.entry.tags.get(Tag.PROVIDER)}",
                        list_code=list_code,
                    )
                already[:] = [sent]  # a retry: the list moved once, and this is that entry
                return []
            total = view.balance(accounts["expense"], fund, tags={Tag.LIST: list_code, Tag.EVENT: Event.APPROVED})
            if total.value <= 0:
                raise PaymentStateError(
                    f"payment list {list_code} has no approved payments to send", list_code=list_code
                )
            return [
                JournalEntry(
                    kind=Kind.PAYMENT_TRANSFER.value,
                    effective_at=self._when(on),
                    postings=[
                        Posting.debit(accounts["clearing"], fund, total),
                        Posting.credit(accounts["bank"], fund, total),
                    ],
                    actor=actor,
                    idempotency_key=sent_key(list_code),
                    tags={Tag.PROGRAMME: prog.code, Tag.LIST: list_code, Tag.PROVIDER: provider, Tag.EVENT: Event.SENT},
                )
            ]

        posted = self._transact(build).posted
        return posted[0] if posted else already[0]

    def settle(self, list_code: str, report: Iterable[ProviderLine], *, actor: str, on: dt.datetime) -> Settlement:
        """Settle a sent list from the provider's report, in one transaction.

        Matched lines post their settlement (paid, failed, returned); lines the
        ledger does not know, lines with another amount, and lines that repeat or
        contradict an earlier settlement are reported and change nothing.
        """
        prog = self._list_programme(list_code)
        fund = self._fund(prog.fund)
        lines = list(report)
        for line in lines:
            if not isinstance(line, ProviderLine):
                raise InvalidArgument(f"report lines must be ProviderLine values, got {line!r}", value=line)
        accounts = self._accounts(prog)
        outcome: list[Settlement] = []
        budgets = {x.code: x for x in lines_of(self.ledger, Owner.PROGRAMME, prog.code)}  # read before the lock

        def build(view: LedgerView) -> list[JournalEntry]:
            outcome.clear()
            accepted, settlement = sort_report(view, prog, list_code, lines)
            outcome.append(settlement)
            check_dates(view, prog, list_code, [line for line, _, _ in accepted], self._when(on))
            return [
                self._settlement_entry(prog, fund, line, tags, key, accounts, actor, on, budgets)
                for line, tags, key in accepted
            ]

        result = self._transact(build)
        return attrs.evolve(outcome[-1], entries=result.posted)

    def _settlement_entry(
        self,
        prog: Programme,
        fund: Fund,
        line: ProviderLine,
        payment_tags: Mapping[str, str],
        key: str,
        acc: dict[str, Account],
        actor: str,
        on: dt.datetime,
        budgets: dict[str, BudgetLine],
    ) -> JournalEntry:
        tags = dict(payment_tags)
        amount = line.amount
        tags[Tag.EVENT] = line.status.event
        release: list[Claim] = []
        budget: list[Posting] = []
        if Tag.BUDGET_LINE in tags:
            budget = budget_postings(self.chart, budgets[tags[Tag.BUDGET_LINE]], fund, line.status.event, amount)
        groups = [g for g in tags.get(Tag.EXCLUSION, "").split(",") if g]
        if line.status is PaymentStatus.PAID:
            postings = [Posting.debit(acc["due"], fund, amount), Posting.credit(acc["clearing"], fund, amount)]
        elif line.status is PaymentStatus.FAILED:
            postings = [
                Posting.debit(acc["bank"], fund, amount),
                Posting.credit(acc["clearing"], fund, amount),
                Posting.debit(acc["due"], fund, amount),
                Posting.credit(acc["expense"], fund, amount),
            ]
            release = [Claim(prog.claim_scope, tags[Tag.BENEFICIARY])]
        else:
            postings = [Posting.debit(acc["bank"], fund, amount), Posting.credit(acc["expense"], fund, amount)]
            release = [Claim(prog.claim_scope, tags[Tag.BENEFICIARY])]
        if release:
            release += [Claim(exclusion_scope(group), tags[Tag.BENEFICIARY]) for group in groups]
        return JournalEntry(
            kind=line.status.kind.value,
            effective_at=self._when(on),
            postings=postings + budget,
            actor=actor,
            idempotency_key=key,
            tags=tags,
            releases=release,
            memo="" if line.line is None else f"provider report line {line.line}",
        )


def _first_call_lines(
    view: LedgerView, list_code: str, entries: list[JournalEntry], *, skip: bool
) -> tuple[list[int], dict[int, str]]:
    """The lines to post, and those set aside because a list made before posts nothing new.

    A list that is new posts every line.  A list made before (a retry) posts
    only the lines its first call posted, which return their first entries;
    any other line is set aside with ``skip``, and refuses the call otherwise.
    """
    if view.record(RecordKind.PAYMENT_LIST, list_code) is None:
        return list(range(len(entries))), {}
    posted = view.entries_by_keys([str(entry.idempotency_key) for entry in entries])
    kept: list[int] = []
    set_aside: dict[int, str] = {}
    for index, entry in enumerate(entries):
        if entry.idempotency_key in posted:
            kept.append(index)
            continue
        reference = entry.tags[Tag.REFERENCE]
        reason = (
            f"payment list {list_code} was already made without line {index + 1} ({reference}); "
            f"a list is posted once, so pay new lines in a new list"
        )
        if not skip:
            raise IdempotencyConflict(
                f"{reason}; nothing was posted", key=list_code, list_code=list_code, reference=reference
            )
        set_aside[index] = reason
    return kept, set_aside


def _line_of(entry: JournalEntry) -> PaymentLine:
    """The payment line a payment entry was made from."""
    return PaymentLine(
        beneficiary=Beneficiary(entry.tags[Tag.BENEFICIARY]),
        reference=entry.tags[Tag.REFERENCE],
        amount=Money(entry.postings[0].amount.value, entry.postings[0].amount.unit),
        region=entry.tags.get(Tag.REGION),
    )


def _list_code(programme: str, list_code: str | None, key: str | None) -> str:
    """The code of a list: as given, made from ``key`` (the same key, the same code), or new."""
    if list_code is not None:
        return list_code
    if key is None:
        return f"{programme}-{uuid.uuid4().hex[:12]}"
    named = check_text("idempotency key", key, allow_empty=False, limit=500)
    return f"{programme}-{hashlib.sha256(named.encode()).hexdigest()[:12]}"


def _list_body(programme: Programme, key: str | None) -> dict[str, object]:
    """A payment list's record: its programme, and the key it was made under (if any)."""
    body: dict[str, object] = {"programme": programme.code}
    if key is not None:
        body["key"] = check_text("idempotency key", key, allow_empty=False, limit=500)
    return body
