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
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping

import attrs

from aidledger.core.accounts import Account, Fund, check_code
from aidledger.core.amounts import Amount, Money, currency
from aidledger.core.beneficiaries import Beneficiary
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting
from aidledger.core.errors import DuplicateDefinition, InvalidAmount, InvalidArgument, PaymentStateError
from aidledger.ledger.ledger import LedgerView
from aidledger.ledger.results import BatchResult, PendingBatch
from aidledger.operations.base import Operations

CLAIM_PREFIX = "programme:"
MAX_KEY_VERSION = 9999  # as in core.beneficiaries
_EVENTS = ("payment", "paid", "failed", "returned")


class Scope(enum.Enum):
    """Who a one-off programme pays once: each household, or each individual."""

    HOUSEHOLD = "household"
    INDIVIDUAL = "individual"


class OnConflict(enum.Enum):
    """What to do with lines whose beneficiary the programme already paid."""

    REFUSE = "refuse"  # refuse the whole list, post nothing
    SKIP = "skip"  # post the other lines, report the conflicts


class PaymentStatus(enum.Enum):
    """What a payment provider reports for one payment."""

    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"


@attrs.frozen
class Programme:
    """A one-off payment programme.

    Attributes:
        code: its code.
        fund: the fund it pays from.
        purpose: what it pays for; must match a restricted fund's purpose.
        scope: once per household or once per individual.
        amount: the fixed amount per beneficiary, or ``None`` when each line names its amount.
        max_amount: the most a line may pay when lines name their amounts.
        name: a human-readable name.
        key_version: the pseudonym key version its beneficiaries are claimed under.
    """

    code: str
    fund: str
    purpose: str
    scope: Scope
    amount: Money | None
    max_amount: Money | None
    name: str
    key_version: int = 1

    @property
    def claim_scope(self) -> str:
        return f"{CLAIM_PREFIX}{self.code}"


@attrs.frozen
class PaymentLine:
    """One line of a payment list.

    Attributes:
        beneficiary: the beneficiary's pseudonym (never a name or national id).
        reference: the line's reference, unique in the programme (the provider reports it back).
        amount: the amount, for programmes without a fixed amount.
        region: where the beneficiary lives, for audit totals.
    """

    beneficiary: Beneficiary = attrs.field(validator=attrs.validators.instance_of(Beneficiary))
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


@attrs.frozen
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


@attrs.frozen
class ProviderLine:
    """One line of a payment provider's report.

    Attributes:
        reference: the payment's reference.
        status: paid, failed or returned.
        amount: the amount the provider reports.
        line: the line number in the report file, if it came from one.
    """

    reference: str
    status: PaymentStatus
    amount: Money
    line: int | None = None


@attrs.frozen
class Mismatch:
    """A report line whose amount differs from the ledger's."""

    line: ProviderLine
    expected: Money


@attrs.frozen
class Settlement:
    """What a provider report settled, and what it could not.

    Attributes:
        list_code: the list.
        paid: references settled as paid by this report.
        failed: references settled as failed (money back to the fund).
        returned: references settled as returned (money back to the fund).
        unmatched: report lines for payments the ledger does not hold (in the statement, not in the ledger).
        mismatched: report lines whose amount differs from the ledger's.
        duplicates: report lines that repeat, or contradict, a settlement already made.
        outstanding: references in the list that are still neither paid nor failed.
        entries: the settlement entries posted.
    """

    list_code: str
    paid: tuple[str, ...]
    failed: tuple[str, ...]
    returned: tuple[str, ...]
    unmatched: tuple[ProviderLine, ...]
    mismatched: tuple[Mismatch, ...]
    duplicates: tuple[ProviderLine, ...]
    outstanding: tuple[str, ...]
    entries: tuple[PostedEntry, ...]


@attrs.frozen
class DoublePayment:
    """A beneficiary holding live payments from two or more programmes for one purpose."""

    beneficiary: str
    purpose: str
    programmes: tuple[str, ...]


def _key(event: str, programme: str, reference: str) -> str:
    return f"{event}:{programme}:{reference}"


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
        (see the module documentation on key rotation); it never changes.
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
        self.ledger.put_record("programme", code, body, actor=actor)
        return self.programme_of(code)

    def programme_of(self, code: str | Programme) -> Programme:
        """The programme with this code."""
        if isinstance(code, Programme):
            return code
        body = self._record("programme", code).body
        unit = currency(str(body["currency"]))
        return Programme(
            code=code,
            fund=str(body["fund"]),
            purpose=str(body["purpose"]),
            scope=Scope(body["scope"]),
            amount=None if body["amount"] is None else Money(str(body["amount"]), unit),
            max_amount=None if body["max_amount"] is None else Money(str(body["max_amount"]), unit),
            name=str(body["name"]),
            key_version=int(str(body.get("key_version", 1))),
        )

    def programmes(self) -> tuple[Programme, ...]:
        """Every programme, in the order they were defined."""
        return tuple(self.programme_of(r.code) for r in self.ledger.records("programme"))

    # -- payment lists ---------------------------------------------------------------

    def _payment_entries(
        self, programme: Programme, lines: Iterable[PaymentLine], *, actor: str, on: dt.datetime, list_code: str
    ) -> tuple[list[JournalEntry], list[PaymentLine], Money]:
        fund = self._fund(programme.fund)
        self._check_purpose(fund, programme.purpose, f"programme {programme.code}")
        unit = (programme.amount or programme.max_amount or Money("0", self.currency)).unit
        expense, due = self.chart.expenses(programme.purpose, unit), self.chart.payments_due(unit)
        when = self._when(on)
        entries: list[JournalEntry] = []
        checked: list[PaymentLine] = []
        references: set[str] = set()
        total = 0
        for number, line in enumerate(lines, start=1):
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
            amount = self._line_amount(programme, line, number)
            tags = {
                "programme": programme.code,
                "purpose": programme.purpose,
                "beneficiary": line.beneficiary.pseudonym,
                "list": list_code,
                "reference": line.reference,
                "event": "approved",
            }
            if line.region is not None:
                tags["region"] = self._text(line.region, f"line {number} region")
            entries.append(
                JournalEntry(
                    kind="payment",
                    effective_at=when,
                    postings=[Posting.debit(expense, fund, amount), Posting.credit(due, fund, amount)],
                    actor=actor,
                    idempotency_key=_key("payment", programme.code, line.reference),
                    tags=tags,
                    claims=[Claim(programme.claim_scope, line.beneficiary.pseudonym)],
                )
            )
            checked.append(line)
            total += amount.minor
        if not entries:
            raise InvalidArgument(f"payment list {list_code} has no lines")
        return entries, checked, Money(Amount.from_minor(total, unit).value, unit)

    def _line_amount(self, programme: Programme, line: PaymentLine, number: int) -> Money:
        if programme.amount is not None:
            if line.amount is not None and line.amount != programme.amount:
                raise InvalidAmount(
                    f"line {number} ({line.reference}): programme {programme.code} pays exactly {programme.amount}, "
                    f"not {line.amount}",
                    line=number,
                    value=line.amount,
                )
            return programme.amount
        assert programme.max_amount is not None
        if line.amount is None:
            raise InvalidAmount(
                f"line {number} ({line.reference}): programme {programme.code} needs an amount per line", line=number
            )
        amount = self._money(line.amount, f"line {number} amount", programme.max_amount.unit)
        if amount > programme.max_amount:
            raise InvalidAmount(
                f"line {number} ({line.reference}): {amount} is above the programme's maximum {programme.max_amount}",
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
    ) -> PaymentListResult:
        """Approve and post a payment list in one transaction.

        A line whose beneficiary the programme already paid (in any earlier list,
        process or retry) refuses the whole list, or with ``OnConflict.SKIP`` is
        set aside and reported.  Lists above the approval threshold must be
        submitted with :meth:`submit_payments` instead.  Posting the same list
        again returns the first result.
        """
        prog = self.programme_of(programme)
        code = list_code or f"{prog.code}-{uuid.uuid4().hex[:12]}"
        entries, lines_checked, total = self._payment_entries(prog, lines, actor=actor, on=on, list_code=code)
        self._needs_approval(total, f"payment list {code}")
        skip = self._skip(on_conflict)
        self._check_list(code, prog)

        result = self._post_recorded("payment-list", code, {"programme": prog.code}, entries, actor=actor, skip=skip)
        return self._list_result(code, prog, lines_checked, result)

    def submit_payments(
        self,
        programme: str | Programme,
        lines: Iterable[PaymentLine],
        *,
        actor: str,
        on: dt.datetime,
        list_code: str,
        note: str = "",
    ) -> PendingBatch:
        """Submit a payment list for a checker's approval (see :meth:`approve_payments`)."""
        prog = self.programme_of(programme)
        entries, _, _ = self._payment_entries(prog, lines, actor=actor, on=on, list_code=list_code)
        self._check_list(list_code, prog)
        pending = self.ledger.submit(entries, actor=actor, code=f"list:{list_code}", note=note)
        self.ledger.put_record("payment-list", list_code, {"programme": prog.code}, actor=actor)
        return pending

    def approve_payments(
        self, list_code: str, *, checker: str, on_conflict: OnConflict = OnConflict.REFUSE
    ) -> PaymentListResult:
        """Approve a submitted payment list as ``checker`` (never its maker), and post it."""
        prog = self.programme_of(str(self._record("payment-list", list_code).body["programme"]))
        pending = self.ledger.pending(f"list:{list_code}")
        lines = [_line_of(entry) for entry in pending.entries]
        result = self.ledger.approve(f"list:{list_code}", checker=checker, skip_claimed=self._skip(on_conflict))
        return self._list_result(list_code, prog, lines, result)

    @staticmethod
    def _skip(on_conflict: OnConflict) -> bool:
        if not isinstance(on_conflict, OnConflict):
            raise InvalidArgument(f"on_conflict must be an OnConflict, got {on_conflict!r}", value=on_conflict)
        return on_conflict is OnConflict.SKIP

    def _check_list(self, code: str, programme: Programme) -> None:
        """A list code names one list of one programme."""
        check_code("payment list", code)
        existing = self.ledger.record("payment-list", code)
        if existing is not None and existing.body["programme"] != programme.code:
            raise DuplicateDefinition(
                f"payment list {code} belongs to programme {existing.body['programme']}, not {programme.code}",
                list_code=code,
            )

    @staticmethod
    def _list_result(
        code: str, programme: Programme, lines: list[PaymentLine], result: BatchResult
    ) -> PaymentListResult:
        conflicts = tuple(Conflict(lines[s.index], str(s.reason)) for s in result.skipped)
        unit = programme.amount or programme.max_amount
        assert unit is not None
        total = sum((p.entry.postings[0].minor for p in result.posted), 0)
        return PaymentListResult(
            list_code=code,
            programme=programme.code,
            posted=result.posted,
            conflicts=conflicts,
            total=Money(Amount.from_minor(total, unit.unit).value, unit.unit),
        )

    # -- the provider ------------------------------------------------------------------

    def send(self, list_code: str, *, provider: str, actor: str, on: dt.datetime) -> PostedEntry:
        """Move the list's approved total from the bank to the payment provider, once per list.

        Sending again to the same provider (a retry) returns the first entry;
        to another provider it is refused with PaymentStateError.
        """
        prog = self.programme_of(str(self._record("payment-list", list_code).body["programme"]))
        fund = self._fund(prog.fund)
        unit = prog.amount or prog.max_amount
        assert unit is not None
        expense = self.chart.expenses(prog.purpose, unit.unit)
        clearing, bank = self.chart.provider_clearing(unit.unit), self.chart.bank(unit.unit)
        provider = self._text(provider, "provider")

        already: list[PostedEntry] = []

        def build(view: LedgerView) -> list[JournalEntry]:
            sent = view.entry_by_key(f"sent:{list_code}")
            if sent is not None:
                if sent.entry.tags.get("provider") != provider:
                    raise PaymentStateError(
                        f"payment list {list_code} was already sent to {sent.entry.tags.get('provider')}",
                        list_code=list_code,
                    )
                already[:] = [sent]  # a retry: the list moved once, and this is that entry
                return []
            total = view.balance(expense, fund, tags={"list": list_code, "event": "approved"})
            if total.value <= 0:
                raise PaymentStateError(
                    f"payment list {list_code} has no approved payments to send", list_code=list_code
                )
            return [
                JournalEntry(
                    kind="payment-transfer",
                    effective_at=self._when(on),
                    postings=[
                        Posting.debit(clearing, fund, total),
                        Posting.credit(bank, fund, total),
                    ],
                    actor=actor,
                    idempotency_key=f"sent:{list_code}",
                    tags={"programme": prog.code, "list": list_code, "provider": provider, "event": "sent"},
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
        prog = self.programme_of(str(self._record("payment-list", list_code).body["programme"]))
        fund = self._fund(prog.fund)
        rule = prog.amount or prog.max_amount
        assert rule is not None
        unit = rule.unit
        lines = list(report)
        for line in lines:
            if not isinstance(line, ProviderLine):
                raise InvalidArgument(f"report lines must be ProviderLine values, got {line!r}", value=line)
        accounts: dict[str, Account] = {
            "expense": self.chart.expenses(prog.purpose, unit),
            "due": self.chart.payments_due(unit),
            "clearing": self.chart.provider_clearing(unit),
            "bank": self.chart.bank(unit),
        }
        outcome: list[Settlement] = []

        def build(view: LedgerView) -> list[JournalEntry]:
            outcome.clear()
            if view.entry_by_key(f"sent:{list_code}") is None:
                raise PaymentStateError(
                    f"payment list {list_code} was not sent to a provider; send it before settling", list_code=list_code
                )
            in_list = {key.split(":", 2)[2] for key in view.keys_tagged("list", list_code, kind="payment")}
            references = in_list | {line.reference for line in lines}
            facts = view.facts([_key(event, prog.code, r) for r in sorted(references) for event in _EVENTS])
            state: dict[str, set[str]] = defaultdict(set)
            for key in facts:
                event, _, reference = key.split(":", 2)
                state[reference].add(event)
            entries: list[JournalEntry] = []
            settled: dict[str, list[str]] = {"paid": [], "failed": [], "returned": []}
            unmatched: list[ProviderLine] = []
            mismatched: list[Mismatch] = []
            duplicates: list[ProviderLine] = []
            for line in lines:
                payment = facts.get(_key("payment", prog.code, line.reference))
                if payment is None or line.reference not in in_list:
                    unmatched.append(line)
                    continue
                expected = Money(Amount.from_minor(payment.debits.get(unit.code, 0), unit).value, unit)
                if line.amount != expected:
                    mismatched.append(Mismatch(line, expected))
                    continue
                done = state[line.reference]
                event = line.status.value
                allowed = (
                    not done & {"paid", "failed"}
                    if event in ("paid", "failed")
                    else ("paid" in done and "returned" not in done)
                )
                if not allowed:
                    duplicates.append(line)
                    continue
                done.add(event)
                entries.append(self._settlement_entry(prog, fund, line, payment.tags, accounts, actor, on))
                settled[event].append(line.reference)
            outstanding = sorted(r for r in in_list if not state[r] & {"paid", "failed"})
            outcome.append(
                Settlement(
                    list_code=list_code,
                    paid=tuple(settled["paid"]),
                    failed=tuple(settled["failed"]),
                    returned=tuple(settled["returned"]),
                    unmatched=tuple(unmatched),
                    mismatched=tuple(mismatched),
                    duplicates=tuple(duplicates),
                    outstanding=tuple(outstanding),
                    entries=(),
                )
            )
            return entries

        result = self._transact(build)
        return attrs.evolve(outcome[-1], entries=result.posted)

    def _settlement_entry(
        self,
        prog: Programme,
        fund: Fund,
        line: ProviderLine,
        payment_tags: Mapping[str, str],
        acc: dict[str, Account],
        actor: str,
        on: dt.datetime,
    ) -> JournalEntry:
        tags = dict(payment_tags)
        amount = line.amount
        tags["event"] = line.status.value
        release: list[Claim] = []
        if line.status is PaymentStatus.PAID:
            postings = [Posting.debit(acc["due"], fund, amount), Posting.credit(acc["clearing"], fund, amount)]
        elif line.status is PaymentStatus.FAILED:
            postings = [
                Posting.debit(acc["bank"], fund, amount),
                Posting.credit(acc["clearing"], fund, amount),
                Posting.debit(acc["due"], fund, amount),
                Posting.credit(acc["expense"], fund, amount),
            ]
            release = [Claim(prog.claim_scope, tags["beneficiary"])]
        else:
            postings = [Posting.debit(acc["bank"], fund, amount), Posting.credit(acc["expense"], fund, amount)]
            release = [Claim(prog.claim_scope, tags["beneficiary"])]
        return JournalEntry(
            kind=f"payment-{line.status.value}",
            effective_at=self._when(on),
            postings=postings,
            actor=actor,
            idempotency_key=_key(line.status.value, prog.code, line.reference),
            tags=tags,
            releases=release,
            memo="" if line.line is None else f"provider report line {line.line}",
        )

    # -- checks --------------------------------------------------------------------------

    def double_payments(self, purpose: str | None = None) -> tuple[DoublePayment, ...]:
        """Beneficiaries holding live payments from two or more programmes for the same purpose."""
        purposes = {p.code: p.purpose for p in self.programmes()}
        holders: dict[tuple[str, str], set[str]] = defaultdict(set)
        for claim in self.ledger.active_claims(CLAIM_PREFIX):
            programme = claim.scope[len(CLAIM_PREFIX) :]
            if programme in purposes and (purpose is None or purposes[programme] == purpose):
                holders[(purposes[programme], claim.key)].add(programme)
        return tuple(
            DoublePayment(beneficiary=key, purpose=what, programmes=tuple(sorted(progs)))
            for (what, key), progs in sorted(holders.items())
            if len(progs) > 1
        )


def _line_of(entry: JournalEntry) -> PaymentLine:
    """The payment line a payment entry was made from."""
    return PaymentLine(
        beneficiary=Beneficiary(entry.tags["beneficiary"]),
        reference=entry.tags["reference"],
        amount=Money(entry.postings[0].amount.value, entry.postings[0].amount.unit),
        region=entry.tags.get("region"),
    )
