"""What every aid operation shares: the ledger, the standard chart, the approval rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar

from aidledger.core.accounts import Account, AccountType, Fund, Restriction, check_code
from aidledger.core.amounts import Amount, Money, Unit, currency
from aidledger.core.entries import JournalEntry, PostedEntry, check_text
from aidledger.core.errors import (
    ApprovalRequired,
    InsufficientBalance,
    InvalidAmount,
    InvalidArgument,
    InvalidTime,
    PurposeMismatch,
    UnknownAccount,
    UnknownRecord,
)
from aidledger.core.times import to_micros
from aidledger.ledger.ledger import Ledger, LedgerView
from aidledger.ledger.results import BatchResult, Record
from aidledger.vocabulary import Chart

E = TypeVar("E", bound=InsufficientBalance)


class StandardChart(Chart):
    """The standard chart's accounts, created in the ledger on first use.

    An account the ledger already holds (the same definition) is taken from its
    chart without a write; only a missing one is added (see :class:`Chart`).
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._known: dict[str, Account] = {}

    def _get(self, code: str, type_: AccountType, unit: Unit, **options: object) -> Account:
        found = self._known.get(code)
        if found is None:
            wanted = super()._get(code, type_, unit, **options)
            try:
                found = self._ledger.account(code)
            except UnknownAccount:
                found = None
            if found != wanted:  # missing, or defined otherwise (add_account then says how)
                found = self._ledger.add_account(wanted)
            self._known[code] = found
        return found


class Operations:
    """The state every group of operations shares (see :class:`aidledger.Aid`)."""

    def __init__(self, ledger: Ledger, *, currency_code: str = "KZT", approval_threshold: Money | None = None) -> None:
        if not isinstance(ledger, Ledger):
            raise InvalidArgument(f"expected a Ledger, got {ledger!r}")
        self.ledger = ledger
        self.currency = currency(currency_code)
        if approval_threshold is not None:
            self._money(approval_threshold, "approval threshold")
        self.approval_threshold = approval_threshold
        self.chart = StandardChart(ledger)

    # -- argument checks ------------------------------------------------------------

    def _money(self, amount: object, what: str, unit: Unit | None = None) -> Money:
        if not isinstance(amount, Money):
            raise InvalidAmount(f"{what} must be Money, got {amount!r}", value=amount)
        if amount.value <= 0:
            raise InvalidAmount(f"{what} must be positive, got {amount:,}", value=amount)
        expected = unit or self.currency
        if amount.unit != expected:
            raise InvalidAmount(f"{what} must be in {expected.code}, got {amount:,}", value=amount)
        return amount

    @staticmethod
    def _positive(amount: object, what: str) -> Amount:
        if not isinstance(amount, Amount) or amount.value <= 0:
            raise InvalidAmount(f"{what} must be a positive amount, got {amount!r}", value=amount)
        return amount

    @staticmethod
    def _when(on: object) -> dt.datetime:
        if not isinstance(on, dt.datetime):
            raise InvalidTime(f"effective time must be a time-zone-aware datetime, got {on!r}", value=on)
        to_micros(on, "effective time")
        return on

    @staticmethod
    def _text(value: object, what: str, *, optional: bool = False) -> str:
        if optional and value is None:
            return ""
        return check_text(what, value, allow_empty=False, limit=500)

    def _fund(self, fund: Fund | str) -> Fund:
        return self.ledger.fund(fund.code if isinstance(fund, Fund) else fund)

    @staticmethod
    def _check_purpose(fund: Fund, purpose: str, what: str) -> None:
        """Spending from a restricted or designated fund must be for its purpose."""
        check_code("purpose", purpose)
        if fund.restricted and fund.purpose != purpose:
            raise PurposeMismatch(
                f"{what} is for {purpose!r}, but fund {fund.code} is {fund.restriction.value}-restricted "
                f"to {fund.purpose!r}",
                fund=fund.code,
                purpose=purpose,
                fund_purpose=fund.purpose,
            )

    def _needs_approval(self, total: Money, what: str) -> None:
        if self.approval_threshold is not None and total > self.approval_threshold:
            raise ApprovalRequired(
                f"{what} of {total:,} is above the approval threshold of {self.approval_threshold:,}: "
                f"submit it for approval by a checker",
                total=total,
                threshold=self.approval_threshold,
            )

    def _record(self, kind: str, code: str) -> Record:
        found = self.ledger.record(kind, code)
        if found is None:
            raise UnknownRecord(f"no {kind} {code!r}", kind=kind, code=code)
        return found

    @staticmethod
    @contextmanager
    def _translate(account: Account, error_type: type[E], message: str) -> Iterator[None]:
        """Re-raise the ledger's InsufficientBalance on ``account`` as the operation's own error."""
        try:
            yield
        except InsufficientBalance as error:
            if isinstance(error, error_type):
                raise
            if account.code in str(error.details.get("what", "")):
                raise error_type(f"{message}: {error}", **dict(error.details)) from error
            raise

    def _approved_before(self, code: str, checker: str) -> BatchResult | None:
        """The first result of approving batch ``code``, if ``checker`` approved it and it was posted (a retry).

        ``None`` when the batch is still to decide, was decided otherwise or by
        another checker, or has an entry without an idempotency key to find it
        by: the ledger's approval then says why, or posts it.
        """
        pending = self.ledger.pending(code)
        keys = [entry.idempotency_key for entry in pending.entries]
        if pending.status != "approved" or checker not in (*pending.approvals, pending.checker) or None in keys:
            return None
        found = [self.ledger.entry_by_key(str(key)) for key in keys]
        posted = tuple(entry for entry in found if entry is not None)
        return BatchResult(posted=posted, skipped=(), results=tuple(found))

    # -- posting ------------------------------------------------------------------------

    def _post(self, entries: Sequence[JournalEntry]) -> list[PostedEntry]:
        return self.ledger.post_many(entries)

    def _transact(self, build: Callable[[LedgerView], Sequence[JournalEntry]], *, skip: bool = False) -> BatchResult:
        return self.ledger.transact(build, skip_claimed=skip)

    def _post_recorded(
        self,
        kind: str,
        code: str,
        body: Mapping[str, object],
        entries: Sequence[JournalEntry],
        *,
        actor: str,
        skip: bool = False,
    ) -> BatchResult:
        """Store a record (a pledge, a project, a payment list) and its entries in one transaction."""

        def build(view: LedgerView) -> Sequence[JournalEntry]:
            view.put_record(kind, code, body, actor=actor)
            return entries

        return self._transact(build, skip=skip)


def check_restriction(fund: Fund, *allowed: Restriction) -> None:
    if fund.restriction not in allowed:
        kinds = {
            Restriction.UNRESTRICTED: "an unrestricted fund",
            Restriction.DONOR: "a donor-restricted fund",
            Restriction.BOARD: "a board-designated fund",
        }
        names = " or ".join(kinds[r] for r in allowed)
        raise InvalidArgument(
            f"fund {fund.code} is {fund.restriction.value}; this needs {names}",
            fund=fund.code,
        )
