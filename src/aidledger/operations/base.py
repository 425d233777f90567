"""What every aid operation shares: the ledger, the standard chart, the approval rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar

from aidledger.core.accounts import Account, AccountType, Fund, Restriction, Side, check_code
from aidledger.core.amounts import Amount, Money, Unit, currency
from aidledger.core.entries import JournalEntry, PostedEntry, check_text
from aidledger.core.errors import (
    ApprovalRequired,
    InsufficientBalance,
    InvalidAmount,
    InvalidArgument,
    PurposeMismatch,
    UnknownAccount,
    UnknownRecord,
)
from aidledger.core.times import to_micros
from aidledger.ledger.ledger import Ledger, LedgerView
from aidledger.ledger.results import BatchResult, Record

E = TypeVar("E", bound=InsufficientBalance)


def component(text: str) -> str:
    """``text`` as an account-code component that Beancount also accepts (upper case)."""
    return check_code("code", text).upper().replace("_", "-")


class StandardChart:
    """The accounts aid operations post to, created on first use.

    Account codes are Beancount-compatible: ``Assets:Bank:KZT``,
    ``Expenses:CASH-AID:KZT``, ``Assets:Stock:FOOD-PACKAGE``.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._known: dict[str, Account] = {}

    def _get(self, code: str, type_: AccountType, unit: Unit, **options: object) -> Account:
        found = self._known.get(code)
        if found is None:
            found = self._ledger.add_account(Account(code, type_, unit, **options))  # type: ignore[arg-type]
            self._known[code] = found
        return found

    def bank(self, unit: Unit) -> Account:
        return self._get(f"Assets:Bank:{unit.code}", AccountType.ASSET, unit, name=f"Bank, {unit.code}")

    def provider_clearing(self, unit: Unit) -> Account:
        return self._get(
            f"Assets:ProviderClearing:{unit.code}", AccountType.ASSET, unit, name="Money held by payment providers"
        )

    def payments_due(self, unit: Unit) -> Account:
        return self._get(
            f"Liabilities:PaymentsDue:{unit.code}", AccountType.LIABILITY, unit, name="Approved payments not yet paid"
        )

    def donations(self, unit: Unit) -> Account:
        return self._get(f"Revenue:Donations:{unit.code}", AccountType.REVENUE, unit, name="Cash donations")

    def in_kind_donations(self, unit: Unit) -> Account:
        return self._get(f"Revenue:InKind:{unit.code}", AccountType.REVENUE, unit, name="Donated goods, at value")

    def transfers(self, unit: Unit) -> Account:
        return self._get(
            f"NetAssets:Transfers:{unit.code}",
            AccountType.NET_ASSETS,
            unit,
            name="Releases and designations between funds",
            allow_negative=True,
        )

    def conversion(self, unit: Unit) -> Account:
        return self._get(
            f"NetAssets:Conversion:{unit.code}",
            AccountType.NET_ASSETS,
            unit,
            name="Currency conversions (trading account)",
            allow_negative=True,
        )

    def expenses(self, purpose: str, unit: Unit) -> Account:
        return self._get(f"Expenses:{component(purpose)}:{unit.code}", AccountType.EXPENSE, unit, name=purpose)

    def stock_losses(self, unit: Unit) -> Account:
        return self._get(
            f"Expenses:StockLosses:{unit.code}", AccountType.EXPENSE, unit, name="Goods lost or written off"
        )

    def stock(self, goods: Unit, *, in_transit: bool = False) -> Account:
        where = "StockInTransit" if in_transit else "Stock"
        return self._get(
            f"Assets:{where}:{goods.code}", AccountType.ASSET, goods, name=f"{goods.code} ({goods.measure})"
        )

    def stock_value(self, goods: Unit, unit: Unit, *, in_transit: bool = False) -> Account:
        where = "StockValueInTransit" if in_transit else "StockValue"
        return self._get(f"Assets:{where}:{goods.code}:{unit.code}", AccountType.ASSET, unit)

    def goods_in(self, goods: Unit) -> Account:
        return self._get(f"Revenue:GoodsIn:{goods.code}", AccountType.REVENUE, goods, name="Goods received, counted")

    def goods_delivered(self, goods: Unit) -> Account:
        return self._get(f"Expenses:GoodsDelivered:{goods.code}", AccountType.EXPENSE, goods)

    def goods_lost(self, goods: Unit) -> Account:
        return self._get(f"Expenses:GoodsLost:{goods.code}", AccountType.EXPENSE, goods)

    def commitment(self, project: str, unit: Unit) -> Account:
        return self._get(
            f"Memo:Grants:{component(project)}:{unit.code}", AccountType.MEMO, unit, name=f"Commitment to {project}"
        )

    def commitments_contra(self, unit: Unit) -> Account:
        return self._get(
            f"Memo:GrantsContra:{unit.code}",
            AccountType.MEMO,
            unit,
            normal_side=Side.CREDIT,
            name="Commitments made (counterpart; each project's own account is the one kept non-negative)",
            allow_negative=True,
        )

    def pledge(self, pledge: str, unit: Unit) -> Account:
        return self._get(
            f"Memo:Pledges:{component(pledge)}:{unit.code}", AccountType.MEMO, unit, name=f"Pledge {pledge}"
        )

    def pledges_contra(self, unit: Unit) -> Account:
        return self._get(
            f"Memo:PledgesContra:{unit.code}",
            AccountType.MEMO,
            unit,
            normal_side=Side.CREDIT,
            name="Pledges made (counterpart; each pledge's own account is the one kept non-negative)",
            allow_negative=True,
        )


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
            raise InvalidAmount(f"{what} must be positive, got {amount}", value=amount)
        expected = unit or self.currency
        if amount.unit != expected:
            raise InvalidAmount(f"{what} must be in {expected.code}, got {amount}", value=amount)
        return amount

    @staticmethod
    def _positive(amount: object, what: str) -> Amount:
        if not isinstance(amount, Amount) or amount.value <= 0:
            raise InvalidAmount(f"{what} must be a positive amount, got {amount!r}", value=amount)
        return amount

    @staticmethod
    def _when(on: object) -> dt.datetime:
        to_micros(on, "effective time")
        assert isinstance(on, dt.datetime)
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
                f"{what} of {total} is above the approval threshold of {self.approval_threshold}: "
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


class LookupChart(StandardChart):
    """The standard chart's accounts, named without being created: a query must write nothing.

    An auditor's role may only read, and a report run twice must not change the
    database between the runs; an account the ledger does not hold yet simply
    has a zero balance (see :func:`balance_or_zero`).
    """

    def _get(self, code: str, type_: AccountType, unit: Unit, **options: object) -> Account:
        return Account(code, type_, unit, **options)  # type: ignore[arg-type]


def balance_or_zero(
    ledger: Ledger,
    account: Account,
    fund: Fund | str,
    *,
    as_of: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
    tags: Mapping[str, str] | None = None,
) -> Amount:
    """The balance of ``account`` in ``fund`` (as :meth:`Ledger.balance`), zero if the account does not exist yet."""
    try:
        return ledger.balance(account, fund, as_of=as_of, known_at=known_at, tags=tags)
    except UnknownAccount:
        return Amount.from_minor(0, account.unit)


def known_record(ledger: Ledger, kind: str, code: str, known_at: dt.datetime | None) -> Record:
    """The record of ``kind`` and ``code``, if the ledger had recorded it by ``known_at``; else UnknownRecord."""
    found = ledger.record(kind, code)
    if found is None:
        raise UnknownRecord(f"no {kind} {code!r}", kind=kind, code=code)
    if known_at is not None and to_micros(found.recorded_at) > to_micros(known_at, "known_at"):
        raise UnknownRecord(
            f"no {kind} {code!r} known at {known_at.isoformat()} (recorded {found.recorded_at.isoformat()})",
            kind=kind,
            code=code,
        )
    return found


def known_records(ledger: Ledger, kind: str, known_at: dt.datetime | None) -> tuple[Record, ...]:
    """Every record of ``kind`` the ledger had recorded by ``known_at`` (all of them without it)."""
    if known_at is None:
        return ledger.records(kind)
    cutoff = to_micros(known_at, "known_at")
    return tuple(r for r in ledger.records(kind) if to_micros(r.recorded_at) <= cutoff)
