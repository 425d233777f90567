"""Budgets and commitments: budget lines of a programme or a grant project, and what they commit.

**How a commitment is recorded.**  A budget line is a record and a memo entry
that puts its amount in the line's *free* memo account
(``Memo:BudgetFree:<line>``, against ``Memo:BudgetsContra``).  From then on the
line's money moves between three memo accounts of its own, in the same entries
that move real money, so the two can never disagree:

==========================  ==============================  ===================================
step                        real money                      the line's memo accounts
==========================  ==============================  ===================================
a payment list is approved  expense / amount due            free → committed
the provider pays           amount due / provider clearing  committed → disbursed
the payment fails           back to the bank                committed → free (released)
the payment comes back      back to the bank                disbursed → free (released)
a grant tranche is paid     expense / bank                  free → disbursed (approved and paid at once)
money is clawed back        bank / expense                  disbursed → free
==========================  ==============================  ===================================

The ledger keeps every memo account of a line non-negative inside the write
transaction, so a list (or a tranche) that would commit more than the line
has free is refused with :class:`~aidledger.ExceedsBudget`, naming the line
and what is short, and nothing is written.

**The fund's free balance.**  A line reserves money of its fund: it can only
be made for what the fund holds or was pledged and other lines have not
reserved (net assets + outstanding pledges − the free amounts of the fund's
other lines).  A commitment needs money in hand: it is refused when the fund's
net assets, less what its other lines reserve, cannot cover it (a pledge not
yet paid, or money spent outside any budget, can leave a line unbacked).  The lines of a fund are read
before the write transaction; the balances are read under the write lock, in the transaction that writes,
for ``pay``, ``disburse``, a new line and the approval of a submitted list or tranche alike
(:func:`approval_check`), so two writers cannot both spend the same free money and a refusal writes nothing.
The line's own memo accounts are checked by the ledger in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import attrs

from aidledger.core.accounts import Account, AccountType, Fund, check_code
from aidledger.core.amounts import Amount, Money, Unit
from aidledger.core.entries import JournalEntry, Posting
from aidledger.core.errors import ExceedsBudget, InsufficientBalance, InvalidArgument, UnknownRecord
from aidledger.ledger.ledger import Ledger, LedgerView
from aidledger.ledger.results import PendingBatch
from aidledger.operations.base import Operations
from aidledger.vocabulary import (
    BudgetLine,
    Chart,
    Event,
    Kind,
    Owner,
    Pledge,
    Programme,
    Project,
    RecordKind,
    Tag,
    budget_key,
    component,
)

#: What a budget line's money does in one entry: from one of its memo accounts to another.
STEPS = {
    Event.APPROVED: ("committed", "free"),
    Event.PAID: ("disbursed", "committed"),
    Event.FAILED: ("free", "committed"),
    Event.RETURNED: ("free", "disbursed"),
    Event.DISBURSED: ("disbursed", "free"),
    Event.CLAWED_BACK: ("free", "disbursed"),
}

Balance = Callable[[Account, Fund], Amount]


def line_accounts(chart: Chart, line: BudgetLine) -> dict[str, Account]:
    """A line's three memo accounts, by stage."""
    unit = line.amount.unit
    return {
        "free": chart.budget_free(line.code, unit),
        "committed": chart.budget_committed(line.code, unit),
        "disbursed": chart.budget_disbursed(line.code, unit),
    }


def budget_postings(chart: Chart, line: BudgetLine, fund: Fund, event: str, amount: Money) -> list[Posting]:
    """The memo postings that move ``amount`` of ``line`` for ``event`` (a key of :data:`STEPS`)."""
    to, from_ = STEPS[event]
    accounts = line_accounts(chart, line)
    return [Posting.debit(accounts[to], fund, amount), Posting.credit(accounts[from_], fund, amount)]


def lines_of(ledger: Ledger, owner: Owner | None = None, code: str | None = None) -> tuple[BudgetLine, ...]:
    """Every budget line (of one programme or project), in the order they were made."""
    found = (BudgetLine.from_record(r) for r in ledger.records(RecordKind.BUDGET_LINE))
    return tuple(x for x in found if owner is None or (x.owner is owner and x.owner_code == code))


def choose_line(
    ledger: Ledger,
    owner: Owner,
    code: str,
    named: str | None,
    on: dt.datetime | None,
    regions: Sequence[str | None] = (),
) -> BudgetLine | None:
    """The budget line a list or tranche commits against: the one named, else the owner's only line, else none.

    It must belong to the owner, its period must hold ``on``'s day (unless
    ``on`` is ``None``: money coming back belongs to the line it was paid from,
    whenever it comes), and when it has a region every line of the list must be
    for that region.
    """
    lines = lines_of(ledger, owner, code)
    what = f"{owner.value} {code}"
    if named is not None:
        found = ledger.record(RecordKind.BUDGET_LINE, named)
        if found is None:
            raise UnknownRecord(f"no budget line {named!r}", kind=RecordKind.BUDGET_LINE, code=named)
        line = BudgetLine.from_record(found)
        if (line.owner, line.owner_code) != (owner, code):
            raise InvalidArgument(
                f"budget line {named} belongs to {line.owner.value} {line.owner_code}, not {what}", line=named
            )
    elif not lines:
        return None
    elif len(lines) == 1:
        line = lines[0]
    else:
        names = ", ".join(x.code for x in lines)
        raise InvalidArgument(f"{what} has budget lines {names}: name the one to commit against", owner=code)
    day = None if on is None else on.date()
    if day is not None and not line.covers(day):
        raise InvalidArgument(
            f"budget line {line.code} runs from {line.start} to {line.end}; {day} is outside it",
            line=line.code,
            day=day,
        )
    for number, region in enumerate(regions, start=1):
        if line.region is not None and region != line.region:
            raise InvalidArgument(
                f"line {number}: budget line {line.code} is for region {line.region!r}, this line is for {region!r}",
                line=number,
                region=region,
            )
    return line


@attrs.frozen
class FundReserve:
    """What a fund's free balance is read from: its net-asset accounts, the free accounts of its other lines, and
    (for a new line) its outstanding pledges.

    Made before the write transaction (it reads the chart and the records);
    :meth:`free` reads the balances inside it.
    """

    line: str
    fund: Fund
    unit: Unit
    accounts: tuple[Account, ...]
    reserved: tuple[Account, ...]
    pledged: tuple[Account, ...] = ()

    @classmethod
    def of(cls, ledger: Ledger, fund: Fund, unit: Unit, line: str, *, pledges: bool = False) -> FundReserve:
        """The reserve of ``fund`` in ``unit`` seen from the line ``line`` (whose own free money does not count);
        with ``pledges``, what donors promised the fund and have not yet paid counts as the fund's too."""
        chart = Chart()
        net = (AccountType.ASSET, AccountType.LIABILITY)
        promised = [Pledge.from_record(r) for r in ledger.records(RecordKind.PLEDGE)] if pledges else []
        return cls(
            line=line,
            fund=fund,
            unit=unit,
            accounts=tuple(a for a in ledger.accounts() if a.unit == unit and a.type in net),
            reserved=tuple(
                chart.budget_free(x.code, unit) for x in lines_of(ledger) if x.fund == fund.code and x.code != line
            ),
            pledged=tuple(
                chart.pledge(p.code, unit) for p in promised if p.fund == fund.code and p.amount.unit == unit
            ),
        )

    def free(self, balance: Balance) -> Money:
        """Net assets (+ outstanding pledges) − what the other lines reserve (their free amounts)."""

        def total(accounts: tuple[Account, ...]) -> int:
            return sum((balance(a, self.fund).minor for a in accounts), 0)

        return Money.from_minor(total(self.accounts) + total(self.pledged) - total(self.reserved), self.unit)

    def check(self, balance: Balance, needed: Money, what: str) -> None:
        """Refuse ``needed`` if the fund, less what its other lines reserve, cannot cover it."""
        free = self.free(balance)
        if needed > free:
            short = Money.from_minor(needed.minor - free.minor, self.unit)
            counted = "money and outstanding pledges" if self.pledged else "money"
            raise ExceedsBudget(
                f"{what} needs {needed} from fund {self.fund.code}, whose {counted} not reserved by other budget "
                f"lines come to {free}: {short} short; nothing was written",
                line=self.line,
                fund=self.fund.code,
                needed=needed,
                free=free,
                shortfall=short,
            )


def approval_check(
    ledger: Ledger, fund: Fund, line: BudgetLine, what: str
) -> Callable[[LedgerView, PendingBatch], None]:
    """The check :meth:`Ledger.approve` runs under its write lock before posting a batch that commits against
    ``line``: the fund, less what its other lines reserve, must cover the batch's entries on the line."""
    unit = line.amount.unit
    reserve = FundReserve.of(ledger, fund, unit, line.code)

    def check(view: LedgerView, batch: PendingBatch) -> None:
        tagged = [e for e in batch.entries if e.tags.get(Tag.BUDGET_LINE) == line.code]
        reserve.check(view.balance, Money.from_minor(sum(e.postings[0].minor for e in tagged), unit), what)

    return check


def line_of_entries(ledger: Ledger, entries: Iterable[JournalEntry]) -> BudgetLine | None:
    """The budget line submitted entries commit against, if any."""
    for entry in entries:
        code = entry.tags.get(Tag.BUDGET_LINE)
        found = None if code is None else ledger.record(RecordKind.BUDGET_LINE, code)
        if found is not None:
            return BudgetLine.from_record(found)
    return None


@contextmanager
def over_budget(line: BudgetLine | None, what: str) -> Iterator[None]:
    """Re-raise the ledger's refusal of a line's memo account going negative as ExceedsBudget, with what is short."""
    try:
        yield
    except InsufficientBalance as error:
        if line is None or isinstance(error, ExceedsBudget):
            raise
        if f":{component(line.code)}:" not in str(error.details.get("what", "")):
            raise
        short = error.details.get("shortfall")
        shown = format(short, ",") if isinstance(short, Amount) else short
        raise ExceedsBudget(
            f"{what} exceeds what budget line {line.code} has left: {shown} short; nothing was posted",
            line=line.code,
            shortfall=short,
        ) from error


class BudgetOperations(Operations):
    """Budget lines of programmes and projects."""

    def add_budget_line(
        self,
        code: str,
        *,
        amount: Money,
        start: dt.date,
        end: dt.date,
        on: dt.datetime,
        actor: str,
        programme: str | None = None,
        project: str | None = None,
        region: str | None = None,
        name: str = "",
    ) -> BudgetLine:
        """Budget ``amount`` for a programme or a project (one of them), from its fund, for a period and region.

        The line reserves money of the fund: refused with ExceedsBudget if the
        fund does not hold it free of other lines.  Making the same line again
        returns it; another line with its code is refused.
        """
        check_code("budget line", code)
        owner, owner_code, fund_code, purpose, unit = self._owner(programme, project)
        money = self._money(amount, f"budget line {code}", unit)
        for label, day in (("start", start), ("end", end)):
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise InvalidArgument(f"budget line {code}: {label} must be a date, got {day!r}", value=day)
        if end < start:
            raise InvalidArgument(f"budget line {code} ends ({end}) before it starts ({start})", start=start, end=end)
        fund = self._fund(fund_code)
        body: dict[str, object] = {
            "owner": owner.value,
            "owner_code": owner_code,
            "fund": fund.code,
            "purpose": purpose,
            "region": None if region is None else self._text(region, "region"),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "amount": f"{money.value:f}",
            "currency": unit.code,
            "name": name,
        }
        tags = {Tag.BUDGET_LINE: code, owner.value: owner_code, Tag.PURPOSE: purpose, Tag.EVENT: Event.BUDGETED}
        if region is not None:
            tags[Tag.REGION] = str(body["region"])
        chart = self.chart
        free, contra = chart.budget_free(code, unit), chart.budgets_contra(unit)
        chart.budget_committed(code, unit), chart.budget_disbursed(code, unit)  # opened now: paying opens none
        entry = JournalEntry(
            kind=Kind.BUDGET.value,
            effective_at=self._when(on),
            postings=[Posting.debit(free, fund, money), Posting.credit(contra, fund, money)],
            actor=actor,
            memo=name,
            idempotency_key=budget_key(code),
            tags=tags,
        )
        reserve = FundReserve.of(self.ledger, fund, unit, code, pledges=True)

        def build(view: LedgerView) -> list[JournalEntry]:
            if view.record(RecordKind.BUDGET_LINE, code) is None:
                reserve.check(view.balance, money, f"budget line {code}")
            view.put_record(RecordKind.BUDGET_LINE, code, body, actor=actor)
            return [entry]

        self._transact(build)
        return self.budget_line_of(code)

    def _owner(self, programme: str | None, project: str | None) -> tuple[Owner, str, str, str, Unit]:
        """The owner a line is for: (owner, its code, its fund, its purpose, its currency)."""
        if (programme is None) == (project is None):
            raise InvalidArgument("a budget line is for a programme or for a project: name exactly one")
        if programme is not None:
            found = Programme.from_record(self._record(RecordKind.PROGRAMME, programme))
            return Owner.PROGRAMME, found.code, found.fund, found.purpose, found.unit
        grant = Project.from_record(self._record(RecordKind.PROJECT, str(project)))
        return Owner.PROJECT, grant.code, grant.fund, grant.purpose, grant.committed.unit

    def budget_line_of(self, code: str) -> BudgetLine:
        """The budget line with this code."""
        return BudgetLine.from_record(self._record(RecordKind.BUDGET_LINE, code))

    def budget_lines(self, *, programme: str | None = None, project: str | None = None) -> tuple[BudgetLine, ...]:
        """Every budget line, or those of one programme or project, in the order they were made."""
        if programme is not None:
            return lines_of(self.ledger, Owner.PROGRAMME, programme)
        if project is not None:
            return lines_of(self.ledger, Owner.PROJECT, project)
        return lines_of(self.ledger)
