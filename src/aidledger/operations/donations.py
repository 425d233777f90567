"""Money in: donations (also in foreign currencies), pledges, refunds; funds and restrictions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import attrs

from aidledger.core.accounts import Fund, Restriction, check_code
from aidledger.core.amounts import Amount, Money, Rounding, to_decimal
from aidledger.core.entries import JournalEntry, PostedEntry, Posting
from aidledger.core.errors import ExceedsPledge, ExceedsReceived, InvalidArgument
from aidledger.ledger.ledger import LedgerView
from aidledger.operations.base import Operations, check_restriction
from aidledger.vocabulary import Event, Kind, Pledge, RecordKind, Tag, pledge_key


def _money(amount: Amount) -> Money:
    return Money.from_minor(amount.minor, amount.unit)


#: Which restriction a fund transfer of each kind moves money from, and to.
_TRANSFERS = {
    Kind.RELEASE: (Restriction.DONOR, Restriction.UNRESTRICTED),
    Kind.DESIGNATION: (Restriction.UNRESTRICTED, Restriction.BOARD),
    Kind.UNDESIGNATION: (Restriction.BOARD, Restriction.UNRESTRICTED),
}


@attrs.frozen(kw_only=True)
class Gift:
    """One cash donation, for :meth:`DonationOperations.donate_many` (the fields are those of ``donate``).

    Attributes:
        fund: the fund it goes to.
        amount: the amount, in any currency.
        donor: who gave it (an organisation's name or a donor code).
        on: when it was received.
        source: where it comes from (a bank statement's file and line, say).
        memo: free text.
        key: its idempotency key: posted once, however often it is given.
        region: where it is meant for.
    """

    fund: Fund | str
    amount: Money
    donor: str
    on: dt.datetime
    source: str | None = None
    memo: str = ""
    key: str | None = None
    region: str | None = None


class DonationOperations(Operations):
    """Funds, restrictions, donations, pledges and refunds."""

    # -- funds ------------------------------------------------------------------

    def create_fund(
        self, code: str, *, name: str = "", purpose: str | None = None, restriction: Restriction | None = None
    ) -> Fund:
        """Create a fund: unrestricted, donor-restricted to ``purpose`` or board-designated for it."""
        if restriction is None:
            return self.ledger.add_fund(Fund(code, name=name, purpose=purpose))
        return self.ledger.add_fund(Fund(code, name=name, purpose=purpose, restriction=restriction))

    def release(
        self,
        fund: Fund | str,
        amount: Money,
        *,
        to: Fund | str,
        on: dt.datetime,
        actor: str,
        reason: str,
        key: str | None = None,
    ) -> PostedEntry:
        """Release money from a donor restriction into an unrestricted fund (its own entry)."""
        return self._transfer(Kind.RELEASE, fund, to, amount, on=on, actor=actor, memo=reason, key=key)

    def designate(
        self,
        fund: Fund | str,
        amount: Money,
        *,
        to: Fund | str,
        on: dt.datetime,
        actor: str,
        reason: str,
        key: str | None = None,
    ) -> PostedEntry:
        """Board designation: move unrestricted money into a board-designated fund."""
        return self._transfer(Kind.DESIGNATION, fund, to, amount, on=on, actor=actor, memo=reason, key=key)

    def undesignate(
        self,
        fund: Fund | str,
        amount: Money,
        *,
        to: Fund | str,
        on: dt.datetime,
        actor: str,
        reason: str,
        key: str | None = None,
    ) -> PostedEntry:
        """Undo a board designation: move money back to an unrestricted fund."""
        return self._transfer(Kind.UNDESIGNATION, fund, to, amount, on=on, actor=actor, memo=reason, key=key)

    def _transfer(
        self,
        kind: Kind,
        fund: Fund | str,
        to: Fund | str,
        amount: Money,
        *,
        on: dt.datetime,
        actor: str,
        memo: str,
        key: str | None,
    ) -> PostedEntry:
        """Money from one fund to another, between the restriction kinds ``_TRANSFERS`` allows for ``kind``."""
        source, target = self._fund(fund), self._fund(to)
        allowed_from, allowed_to = _TRANSFERS[kind]
        check_restriction(source, allowed_from)
        check_restriction(target, allowed_to)
        unit = self._money(amount, "amount").unit
        bank, transfers = self.chart.bank(unit), self.chart.transfers(unit)
        entry = JournalEntry(
            kind=kind.value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(transfers, source, amount),
                Posting.credit(bank, source, amount),
                Posting.debit(bank, target, amount),
                Posting.credit(transfers, target, amount),
            ],
            actor=actor,
            memo=self._text(memo, "reason"),
            idempotency_key=key,
            tags={Tag.FROM_FUND: source.code, Tag.TO_FUND: target.code},
        )
        return self._post([entry])[0]

    # -- donations -----------------------------------------------------------------

    def donate(
        self,
        fund: Fund | str,
        amount: Money,
        *,
        donor: str,
        on: dt.datetime,
        actor: str,
        source: str | None = None,
        memo: str = "",
        key: str | None = None,
        region: str | None = None,
    ) -> PostedEntry:
        """A cash donation into ``fund``, in any currency (kept in that currency)."""
        gift = Gift(fund=fund, amount=amount, donor=donor, on=on, source=source, memo=memo, key=key, region=region)
        return self._post([self._donation(gift, actor)])[0]

    def donate_many(self, gifts: Iterable[Gift], *, actor: str) -> list[PostedEntry]:
        """Several donations in one transaction: all of them or none.

        A gift whose ``key`` was posted before returns that first entry (a
        retry posts nothing twice); two gifts with one key in a call are refused.
        """
        entries: list[JournalEntry] = []
        keys: set[str] = set()
        for number, gift in enumerate(gifts, start=1):
            if not isinstance(gift, Gift):
                raise InvalidArgument(f"gift {number}: expected a Gift, got {gift!r}", value=gift)
            if gift.key is not None and gift.key in keys:
                raise InvalidArgument(f"gift {number}: key {gift.key!r} appears twice", key=gift.key)
            keys.add(gift.key or "")
            entries.append(self._donation(gift, actor))
        return self._post(entries) if entries else []

    def _donation(self, gift: Gift, actor: str) -> JournalEntry:
        target = self._fund(gift.fund)
        amount = gift.amount
        money = self._money(amount, "donation", amount.unit if isinstance(amount, Money) else None)
        tags = {Tag.DONOR: self._text(gift.donor, "donor")}
        if gift.region is not None:
            tags[Tag.REGION] = self._text(gift.region, "region")
        return JournalEntry(
            kind=Kind.DONATION.value,
            effective_at=self._when(gift.on),
            postings=[
                Posting.debit(self.chart.bank(money.unit), target, money),
                Posting.credit(self.chart.donations(money.unit), target, money),
            ],
            actor=actor,
            memo=gift.memo,
            source=gift.source,
            idempotency_key=gift.key,
            tags=tags,
        )

    def donate_foreign(
        self,
        fund: Fund | str,
        original: Money,
        *,
        rate: Decimal | str,
        rate_date: dt.date,
        donor: str,
        on: dt.datetime,
        actor: str,
        converted: bool = True,
        rounding: Rounding = Rounding.HALF_UP,
        source: str | None = None,
        memo: str = "",
        key: str | None = None,
    ) -> PostedEntry:
        """A donation in a foreign currency, recognised in the fund's currency at ``rate``.

        The entry records the original amount, the rate and its date; the amount
        in the fund's currency is ``original × rate`` rounded with the named rule.
        With ``converted`` the bank converted on arrival; otherwise the foreign
        money is held (in ``Assets:Bank:<currency>``) and a trading account keeps
        each currency balanced on its own.
        """
        target = self._fund(fund)
        if not isinstance(original, Money) or original.value <= 0:
            raise InvalidArgument(f"original must be positive Money, got {original!r}", value=original)
        if original.unit == self.currency:
            raise InvalidArgument(f"{original} is already in {self.currency.code}; use donate()", value=original)
        if not isinstance(rate_date, dt.date):
            raise InvalidArgument(f"rate_date must be a date, got {rate_date!r}", value=rate_date)
        factor = to_decimal(rate)
        if factor <= 0:
            raise InvalidArgument(f"an exchange rate must be positive, got {rate!r}", value=rate)
        local = _money(Amount.rounded(original.value * factor, self.currency, rounding))
        postings = [
            Posting.debit(self.chart.bank(self.currency), target, local),
            Posting.credit(self.chart.donations(self.currency), target, local),
        ]
        if not converted:
            postings = [
                Posting.debit(self.chart.bank(original.unit), target, original),
                Posting.credit(self.chart.conversion(original.unit), target, original),
                Posting.debit(self.chart.conversion(self.currency), target, local),
                Posting.credit(self.chart.donations(self.currency), target, local),
            ]
        entry = JournalEntry(
            kind=Kind.DONATION.value,
            effective_at=self._when(on),
            postings=postings,
            actor=actor,
            memo=memo,
            source=source,
            idempotency_key=key,
            tags={
                Tag.DONOR: self._text(donor, "donor"),
                Tag.ORIGINAL_AMOUNT: f"{original.value:f}",
                Tag.ORIGINAL_CURRENCY: original.unit.code,
                Tag.RATE: f"{factor:f}",
                Tag.RATE_DATE: rate_date.isoformat(),
                Tag.ROUNDING: rounding.name,
            },
        )
        return self._post([entry])[0]

    def convert(
        self,
        fund: Fund | str,
        amount: Money,
        *,
        rate: Decimal | str,
        rate_date: dt.date,
        on: dt.datetime,
        actor: str,
        rounding: Rounding = Rounding.HALF_UP,
        key: str | None = None,
    ) -> PostedEntry:
        """Sell held foreign money for the fund's currency at ``rate`` (each currency balances on its own)."""
        target = self._fund(fund)
        if not isinstance(amount, Money) or amount.value <= 0 or amount.unit == self.currency:
            raise InvalidArgument(f"convert takes a positive foreign amount, got {amount!r}", value=amount)
        factor = to_decimal(rate)
        if factor <= 0:
            raise InvalidArgument(f"an exchange rate must be positive, got {rate!r}", value=rate)
        local = _money(Amount.rounded(amount.value * factor, self.currency, rounding))
        entry = JournalEntry(
            kind=Kind.CONVERSION.value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.conversion(amount.unit), target, amount),
                Posting.credit(self.chart.bank(amount.unit), target, amount),
                Posting.debit(self.chart.bank(self.currency), target, local),
                Posting.credit(self.chart.conversion(self.currency), target, local),
            ],
            actor=actor,
            idempotency_key=key,
            tags={Tag.RATE: f"{factor:f}", Tag.RATE_DATE: rate_date.isoformat(), Tag.ROUNDING: rounding.name},
        )
        return self._post([entry])[0]

    def refund(
        self,
        fund: Fund | str,
        amount: Money,
        *,
        donor: str,
        on: dt.datetime,
        actor: str,
        reason: str,
        key: str | None = None,
    ) -> PostedEntry:
        """Give a donor money back; never more than the donor gave to this fund."""
        target = self._fund(fund)
        money = self._money(amount, "refund", amount.unit if isinstance(amount, Money) else None)
        donor = self._text(donor, "donor")
        revenue = self.chart.donations(money.unit)
        entry = JournalEntry(
            kind=Kind.REFUND.value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(revenue, target, money),
                Posting.credit(self.chart.bank(money.unit), target, money),
            ],
            actor=actor,
            memo=self._text(reason, "reason"),
            idempotency_key=key,
            tags={Tag.DONOR: donor},
        )

        def build(view: LedgerView) -> list[JournalEntry]:
            if key is not None and view.entry_by_key(key) is not None:
                return [entry]  # a retry: the ledger returns the first refund, or refuses other content
            given = -view.balance(revenue, target, tags={Tag.DONOR: donor})
            if given < money:
                raise ExceedsReceived(
                    f"cannot refund {money:,} to {donor}: the donor's net donations to {target.code} are {given:,}",
                    donor=donor,
                    given=given,
                    refund=money,
                )
            return [entry]

        return self._transact(build).posted[0]

    # -- pledges ----------------------------------------------------------------------

    def pledge(
        self,
        fund: Fund | str,
        amount: Money,
        *,
        code: str,
        donor: str,
        on: dt.datetime,
        actor: str,
        due: dt.date | None = None,
        source: str | None = None,
    ) -> Pledge:
        """Record a pledge: a memo entry, kept out of received totals."""
        target = self._fund(fund)
        money = self._money(amount, "pledge", amount.unit if isinstance(amount, Money) else None)
        check_code("pledge", code)
        if due is not None and not isinstance(due, dt.date):
            raise InvalidArgument(f"due must be a date, got {due!r}", value=due)
        pledge = Pledge(code=code, fund=target.code, donor=self._text(donor, "donor"), amount=money, due=due)
        body = {
            "fund": target.code,
            "donor": pledge.donor,
            "amount": f"{money.value:f}",
            "currency": money.unit.code,
            "due": None if due is None else due.isoformat(),
        }
        memo_account, contra = self.chart.pledge(code, money.unit), self.chart.pledges_contra(money.unit)

        entry = JournalEntry(
            kind=Kind.PLEDGE.value,
            effective_at=self._when(on),
            postings=[Posting.debit(memo_account, target, money), Posting.credit(contra, target, money)],
            actor=actor,
            source=source,
            idempotency_key=pledge_key(code),
            tags={Tag.PLEDGE: code, Tag.DONOR: pledge.donor, Tag.EVENT: Event.PLEDGED},
        )
        self._post_recorded(RecordKind.PLEDGE, code, body, [entry], actor=actor)
        return pledge

    def pledge_of(self, code: str) -> Pledge:
        """The pledge with this code."""
        return Pledge.from_record(self._record(RecordKind.PLEDGE, code))

    def fulfil_pledge(
        self,
        code: str,
        amount: Money,
        *,
        on: dt.datetime,
        actor: str,
        source: str | None = None,
        key: str | None = None,
    ) -> PostedEntry:
        """Money received against a pledge, in full or in part: a donation, and the pledge reduced."""
        pledge = self.pledge_of(code)
        money = self._money(amount, "payment against the pledge", pledge.amount.unit)
        fund = self._fund(pledge.fund)
        memo_account = self.chart.pledge(code, money.unit)
        entry = JournalEntry(
            kind=Kind.DONATION.value,
            effective_at=self._when(on),
            postings=[
                Posting.debit(self.chart.bank(money.unit), fund, money),
                Posting.credit(self.chart.donations(money.unit), fund, money),
                Posting.debit(self.chart.pledges_contra(money.unit), fund, money),
                Posting.credit(memo_account, fund, money),
            ],
            actor=actor,
            source=source,
            idempotency_key=key,
            tags={Tag.PLEDGE: code, Tag.DONOR: pledge.donor, Tag.EVENT: Event.FULFILLED},
        )
        with self._translate(memo_account, ExceedsPledge, f"pledge {code} has less than {money:,} outstanding"):
            return self._post([entry])[0]

    def write_off_pledge(
        self,
        code: str,
        amount: Money | None = None,
        *,
        on: dt.datetime,
        actor: str,
        reason: str,
        key: str | None = None,
    ) -> PostedEntry:
        """Write off what will not come (by default all that is outstanding)."""
        pledge = self.pledge_of(code)
        fund = self._fund(pledge.fund)
        unit = pledge.amount.unit
        memo_account, contra = self.chart.pledge(code, unit), self.chart.pledges_contra(unit)
        reason = self._text(reason, "reason")

        def build(view: LedgerView) -> list[JournalEntry]:
            first = None if key is None else view.entry_by_key(key)
            outstanding = view.balance(memo_account, fund) if first is None else first.entry.postings[0].amount
            # A retry writes off what the first call did (the ledger returns it, or refuses other content).
            value = outstanding if amount is None else self._money(amount, "write-off", unit)
            if value.value <= 0:
                raise ExceedsPledge(f"pledge {code} has nothing outstanding to write off", pledge=code)
            return [
                JournalEntry(
                    kind=Kind.PLEDGE_WRITE_OFF.value,
                    effective_at=self._when(on),
                    postings=[
                        Posting.debit(contra, fund, value),
                        Posting.credit(memo_account, fund, value),
                    ],
                    actor=actor,
                    memo=reason,
                    idempotency_key=key,
                    tags={Tag.PLEDGE: code, Tag.DONOR: pledge.donor, Tag.EVENT: Event.WRITTEN_OFF},
                )
            ]

        with self._translate(memo_account, ExceedsPledge, f"pledge {code} has less outstanding"):
            return self._transact(build).posted[0]
