"""Matching the ledger against external statements: a bank statement, or a payment provider's report.

Nothing is written: the result says what matched, what is missing on either
side and where the amounts (or, for a provider, the statuses) differ.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs
import pendulum
from sqlalchemy import func, select

from aidledger.core.amounts import Amount, Money
from aidledger.core.errors import InvalidArgument
from aidledger.core.times import from_micros, time_zone, to_micros
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import require_ledger
from aidledger.queries.payment_lists import listed_payments
from aidledger.store import schema as t
from aidledger.store import window as store_window
from aidledger.vocabulary import (
    Event,
    PaymentStatus,
    ProviderLine,
    Tag,
)


@attrs.frozen
class BankLine:
    """One line of a bank statement.

    Attributes:
        date: the booking date.
        amount: signed: money in positive, money out negative.
        reference: the bank's or the payer's reference ("" when the line has none).
        description: free text.
        line: the line number in the statement file, if it came from one.
    """

    date: dt.date
    amount: Money
    reference: str = ""
    description: str = ""
    line: int | None = None


@attrs.frozen
class LedgerItem:
    """An entry's net movement on the account matched.

    Attributes:
        entry_id, seq, kind: the entry.
        date: its effective date in the time zone of the match.
        amount: its net amount on the account (money in positive).
        references: what a statement line may quote to name it: the entry's source,
            idempotency key, ``reference`` tag and id.
    """

    entry_id: str
    seq: int
    kind: str
    date: dt.date
    amount: Money
    references: tuple[str, ...]


@attrs.frozen
class StatementPair:
    """A statement line and the entry it was matched with.

    Attributes:
        line: the statement line.
        item: the ledger's side.
        difference: statement amount − ledger amount (zero for a match).
    """

    line: BankLine
    item: LedgerItem

    @property
    def difference(self) -> Amount:
        return self.line.amount - self.item.amount


@attrs.frozen
class StatementGroup:
    """Statement lines and entries matched together because their sums agree: one line and several entries
    (one debit paying a whole list), or several lines and one entry (a donation split across lines); money
    out and money in together when one side netted them (``netted``: a debit for a list net of its returns).

    Attributes:
        lines: the statement's side.
        items: the ledger's side.
        difference: the lines' total − the entries' total (zero unless a tolerance allowed it).
    """

    lines: tuple[BankLine, ...]
    items: tuple[LedgerItem, ...]

    @property
    def netted(self) -> bool:
        """Whether money out and money in were matched together (a debit net of a return, say)."""
        return len({x.amount.value > 0 for x in self.lines}) > 1 or len({x.amount.value > 0 for x in self.items}) > 1

    @property
    def difference(self) -> Money:
        unit = (self.lines or self.items)[0].amount.unit
        total = sum((x.amount.value for x in self.lines), Decimal(0)) - sum((x.amount.value for x in self.items),
                                                                            Decimal(0))  # fmt: skip
        return Money(total, unit)


@attrs.frozen
class Unresolved:
    """A line (or an entry) left unmatched, with the other side's unmatched candidates near its date.

    Attributes:
        line: the statement line, or ``None`` when this is an entry.
        item: the entry, or ``None`` when this is a line.
        candidates: the nearest unmatched entries (for a line) or lines (for an entry) that could make it up,
            of its sign first, then of the other (which could be netted against it).
        ambiguous: whether several sets of candidates add up to it exactly (so none was chosen).
    """

    line: BankLine | None
    item: LedgerItem | None
    candidates: tuple[BankLine | LedgerItem, ...]
    ambiguous: bool = False


@attrs.frozen
class StatementMatch:
    """The result of matching a bank statement with one account of the ledger.

    Attributes:
        account: the ledger account.
        start, end: the dates compared (inclusive).
        matched: pairs with equal amounts.
        differences: pairs matched by reference whose amounts differ.
        missing_in_ledger: statement lines with no entry.
        missing_in_statement: entries on the account in the period with no statement line.
        groups: lines and entries matched one-to-many by their sums.
        unresolved: each line and entry left missing that has candidates on the other side, with them.
        tolerance: how far apart two amounts may be and still match (zero unless asked).
    """

    account: str
    start: dt.date | None
    end: dt.date | None
    matched: tuple[StatementPair, ...]
    differences: tuple[StatementPair, ...]
    missing_in_ledger: tuple[BankLine, ...]
    missing_in_statement: tuple[LedgerItem, ...]
    groups: tuple[StatementGroup, ...] = ()
    unresolved: tuple[Unresolved, ...] = ()
    tolerance: Decimal = Decimal(0)

    @property
    def ok(self) -> bool:
        """Whether every line and every entry was matched with an equal amount."""
        return not (self.differences or self.missing_in_ledger or self.missing_in_statement)

    def as_dict(self) -> dict[str, Any]:
        def line(x: BankLine) -> dict[str, Any]:
            return {"line": x.line, "date": x.date.isoformat(), "amount": str(x.amount), "reference": x.reference}

        def item(x: LedgerItem) -> dict[str, Any]:
            return {
                "entry": x.entry_id,
                "seq": x.seq,
                "kind": x.kind,
                "date": x.date.isoformat(),
                "amount": str(x.amount),
            }

        return {
            "account": self.account,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "ok": self.ok,
            "matched": len(self.matched),
            "tolerance": f"{self.tolerance:f}",
            "differences": [
                {"statement": line(p.line), "ledger": item(p.item), "difference": str(p.difference)}
                for p in self.differences
            ],
            "groups": [
                {
                    "lines": [x.line for x in g.lines],
                    "entries": [x.seq for x in g.items],
                    "netted": g.netted,
                    "difference": str(g.difference),
                }
                for g in self.groups
            ],
            "missing_in_ledger": [line(x) for x in self.missing_in_ledger],
            "missing_in_statement": [item(x) for x in self.missing_in_statement],
            "unresolved": [
                {
                    "line": None if u.line is None else u.line.line,
                    "entry": None if u.item is None else u.item.seq,
                    "ambiguous": u.ambiguous,
                    "candidates": [c.line if isinstance(c, BankLine) else c.seq for c in u.candidates],
                }
                for u in self.unresolved
            ],
        }


def match_statement(
    ledger: Ledger,
    lines: Iterable[BankLine],
    *,
    account: str,
    tz: str = "UTC",
    start: dt.date | None = None,
    end: dt.date | None = None,
    days: int = 0,
    window: Window | None = None,
    tolerance: Money | None = None,
) -> StatementMatch:
    """Match a bank statement with the entries on ``account``.

    A line quoting an entry's source, idempotency key, ``reference`` tag or id is
    matched with it (a different amount is a difference); other lines are
    matched with an unmatched entry of the same amount whose effective date (in
    ``tz``) is at most ``days`` away, the nearest first.  Entries are compared
    from ``start`` to ``end`` (dates, inclusive; by default the statement's first
    and last dates) and inside ``window`` (``Window(known_at=T)`` matches
    against the ledger as it was at T).  What is left is then matched
    one-to-many where the sums agree exactly (see :func:`_group`): one line
    paying several entries, several lines making up one entry, and money out
    netted against money in (a debit for a list net of its returns, see
    :func:`_net`); what cannot be matched is listed in ``unresolved`` with its
    candidates, never guessed.

    Args:
        ledger: the ledger.
        lines: the statement's lines (see :func:`read_statement`).
        account: the ledger account the statement is of, e.g. ``"Assets:Bank:KZT"``.
        tz: the time zone the bank's dates are in.
        start: the first date compared.
        end: the last date compared.
        days: how far apart the dates of an amount-only match may be.
        window: only the ledger's entries in this window (all by default).
        tolerance: how far apart (in the account's currency) two amounts may be and still match; zero by default.
    """
    require_ledger(ledger)
    seen = Window.of(window)
    statement = list(lines)
    for line in statement:
        if not isinstance(line, BankLine):
            raise InvalidArgument(f"statement lines must be BankLine values, got {line!r}", value=line)
    if type(days) is not int or days < 0:
        raise InvalidArgument(f"days must be a whole number of days, 0 or more, got {days!r}", value=days)
    found = ledger.account(account)
    for line in statement:
        if line.amount.unit != found.unit:
            raise InvalidArgument(
                f"statement line {line.line}: {line.amount} is not in {found.unit.code}, the account's currency",
                value=str(line.amount),
            )
    dates = [line.date for line in statement]
    start = start if start is not None else (min(dates) if dates else None)
    end = end if end is not None else (max(dates) if dates else None)
    for what, value in (("start", start), ("end", end)):
        if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
            raise InvalidArgument(f"{what} must be a date, got {value!r}", value=value)
    if tolerance is not None and (not isinstance(tolerance, Money) or tolerance.unit != found.unit
                                  or tolerance.value < 0):  # fmt: skip
        raise InvalidArgument(f"tolerance must be Money of 0 or more in {found.unit.code}, got {tolerance!r}")
    slack = Decimal(0) if tolerance is None else tolerance.value
    items = _items(ledger, found.code, tz, (start, end), seen) if start is not None and end is not None else []
    matched, differences, missing, free = _pair(statement, items, days, slack)
    groups, unresolved = _group(missing, free, days, slack)
    return StatementMatch(
        account=found.code,
        start=start,
        end=end,
        matched=tuple(matched),
        differences=tuple(differences),
        missing_in_ledger=tuple(missing),
        missing_in_statement=tuple(sorted(free.values(), key=lambda i: i.seq)),
        groups=tuple(groups),
        unresolved=tuple(unresolved),
        tolerance=slack,
    )


def _pair(
    statement: Sequence[BankLine], items: Sequence[LedgerItem], days: int, slack: Decimal
) -> tuple[list[StatementPair], list[StatementPair], list[BankLine], dict[int, LedgerItem]]:
    """Pair lines with entries: by reference first, then by amount within ``days``; what is left on each side."""
    free = {item.seq: item for item in items}
    by_reference: dict[str, list[LedgerItem]] = defaultdict(list)
    for item in items:
        for reference in item.references:
            by_reference[reference].append(item)
    matched: list[StatementPair] = []
    differences: list[StatementPair] = []
    unmatched: list[BankLine] = []
    for line in statement:
        candidates = [i for i in by_reference.get(line.reference, ()) if i.seq in free] if line.reference else []
        if candidates:
            item = next((i for i in candidates if _close(i.amount, line.amount, slack)), candidates[0])
            del free[item.seq]
            (matched if _close(item.amount, line.amount, slack) else differences).append(StatementPair(line, item))
        else:
            unmatched.append(line)
    missing: list[BankLine] = []
    for line in unmatched:
        near = [
            i for i in free.values() if _close(i.amount, line.amount, slack) and abs((i.date - line.date).days) <= days
        ]
        if near:
            item = min(near, key=lambda i: (abs((i.date - line.date).days), i.seq))
            del free[item.seq]
            matched.append(StatementPair(line, item))
        else:
            missing.append(line)
    return matched, differences, missing, free


def _close(a: Money, b: Money, slack: Decimal) -> bool:
    return abs(a.value - b.value) <= slack


#: Rule 3 of :func:`_group` looks for sets of 2 to MAX_GROUP among the MAX_CANDIDATES nearest candidates.
MAX_GROUP = 4
MAX_CANDIDATES = 12

Either = TypeVar("Either", BankLine, LedgerItem)


class _Pool(Generic[Either]):
    """What is still unmatched on one side, by sign and day, with each day's total kept, for cheap look-ups."""

    def __init__(self, members: Iterable[Either]) -> None:
        self.days: dict[tuple[bool, int], dict[int, Either]] = defaultdict(dict)
        self.totals: dict[tuple[bool, int], Decimal] = defaultdict(Decimal)
        for member in members:
            key = self._key(member)
            self.days[key][id(member)] = member
            self.totals[key] += member.amount.value

    @staticmethod
    def _key(one: BankLine | LedgerItem) -> tuple[bool, int]:
        return one.amount.value > 0, one.date.toordinal()

    def _keys(self, one: BankLine | LedgerItem, days: int, both: bool = False) -> list[tuple[bool, int]]:
        """The (sign, day) keys within ``days`` of ``one``, the nearest first (its own sign first, then, if
        ``both``, the other's)."""
        positive, day = self._key(one)
        signs = (positive, not positive) if both else (positive,)
        return [
            (sign, day + offset)
            for distance in range(days + 1)
            for sign in signs
            for offset in sorted({-distance, distance})
        ]

    def near(self, one: BankLine | LedgerItem, days: int, limit: int | None = None, both: bool = False) -> list[Either]:
        """The members of ``one``'s sign (or, if ``both``, of either sign) within ``days`` of it, the nearest first
        (at most ``limit``)."""
        found: list[Either] = []
        for key in self._keys(one, days, both):
            for member in self.days.get(key, {}).values():
                if limit is not None and len(found) == limit:
                    return found
                found.append(member)
        return found

    def total(self, one: BankLine | LedgerItem, days: int, both: bool = False) -> tuple[int, Decimal]:
        """How many members of ``one``'s sign (or, if ``both``, of either sign) lie within ``days`` of it, and
        their total."""
        keys = self._keys(one, days, both)
        return sum(len(self.days.get(k, {})) for k in keys), sum((self.totals.get(k, Decimal(0)) for k in keys),
                                                                  Decimal(0))  # fmt: skip

    def remove(self, member: Either) -> None:
        key = self._key(member)
        del self.days[key][id(member)]
        self.totals[key] -= member.amount.value


def _group(
    missing: list[BankLine], free: dict[int, LedgerItem], days: int, slack: Decimal
) -> tuple[list[StatementGroup], list[Unresolved]]:
    """Match what the one-to-one pass left, one-to-many, where the sums agree (``missing`` and ``free`` shrink).

    In order, each rule on what is still unmatched: (1) a line equal to the sum of
    every unmatched entry of its sign within ``days`` of it (one debit for a whole
    list); (2) an entry equal to the sum of every unmatched line of its sign within
    ``days`` (several debits for one list, a donation split across lines); (3) a
    line or entry equal to the sum of 2 to MAX_GROUP of the nearest MAX_CANDIDATES
    of the other side, when exactly one such set exists; (4) netting, see
    :func:`_net`.  Everything left is listed with its candidates of either sign;
    a set is never chosen among several.
    """
    lines, items = _Pool(missing), _Pool(sorted(free.values(), key=lambda i: i.seq))
    groups: list[StatementGroup] = []
    ambiguous: set[int] = set()  # ids of lines and entries several sets would match

    def take(taken_lines: Sequence[BankLine], taken_items: Sequence[LedgerItem]) -> None:
        for line in taken_lines:
            lines.remove(line)
            missing.remove(line)
        for item in taken_items:
            items.remove(item)
            del free[item.seq]
        groups.append(StatementGroup(tuple(taken_lines), tuple(taken_items)))

    for line in list(missing):  # rule 1
        count, total = items.total(line, days)
        if count > 1 and abs(total - line.amount.value) <= slack:
            take([line], items.near(line, days))
    for item in sorted(free.values(), key=lambda i: i.seq):  # rule 2
        count, total = lines.total(item, days)
        if count > 1 and abs(total - item.amount.value) <= slack:
            take(lines.near(item, days), [item])
    for line in list(missing):  # rule 3, a line for a few entries
        sets = _sets(line, items.near(line, days, MAX_CANDIDATES), slack)
        if len(sets) == 1:
            take([line], sets[0])
        elif sets:
            ambiguous.add(id(line))
    for item in sorted(free.values(), key=lambda i: i.seq):  # rule 3, an entry for a few lines
        line_sets = _sets(item, lines.near(item, days, MAX_CANDIDATES), slack)
        if len(line_sets) == 1:
            take(line_sets[0], [item])
        elif line_sets:
            ambiguous.add(id(item))
    _net(lines, items, missing, free, days, slack, take, ambiguous)
    unresolved = [
        Unresolved(line, None, tuple(near), id(line) in ambiguous)
        for line in missing
        if (near := items.near(line, days, MAX_CANDIDATES, both=True))
    ]
    unresolved += [
        Unresolved(None, item, tuple(lines_near), id(item) in ambiguous)
        for item in sorted(free.values(), key=lambda i: i.seq)
        if (lines_near := lines.near(item, days, MAX_CANDIDATES, both=True))
    ]
    return groups, unresolved


def _net(
    lines: _Pool[BankLine],
    items: _Pool[LedgerItem],
    missing: list[BankLine],
    free: dict[int, LedgerItem],
    days: int,
    slack: Decimal,
    take: Callable[[Sequence[BankLine], Sequence[LedgerItem]], None],
    ambiguous: set[int],
) -> None:
    """Rule 4 of :func:`_group`: money out and money in matched together, where a bank (or the ledger) netted them.

    Only what rules 1 to 3 could not explain, and nothing several sets of one
    sign would match: (4a) a line that is the only unmatched line within ``days``
    of it, equal to the net of every unmatched entry within ``days`` of either
    sign (a debit for a whole list net of its returns and rejections: what the
    bank did not explain and what the ledger has left agree exactly); (4b) the
    same with an entry and lines (a debit and its partial return on the
    statement, one net entry in the ledger); (4c) a line or entry equal to the
    net of 2 to MAX_GROUP of the nearest MAX_CANDIDATES of the other side, of
    both signs, when exactly one such set exists.  Such a group's ``netted`` is true.
    """
    for line in [x for x in missing if id(x) not in ambiguous]:  # rule 4a
        count, total = items.total(line, days, both=True)
        if (lines.total(line, days, both=True)[0] == 1 and count > items.total(line, days)[0] > 0
                and abs(total - line.amount.value) <= slack):  # fmt: skip
            take([line], items.near(line, days, both=True))
    for item in sorted((x for x in free.values() if id(x) not in ambiguous), key=lambda i: i.seq):  # rule 4b
        count, total = lines.total(item, days, both=True)
        if (items.total(item, days, both=True)[0] == 1 and count > lines.total(item, days)[0] > 0
                and abs(total - item.amount.value) <= slack):  # fmt: skip
            take(lines.near(item, days, both=True), [item])
    for line in [x for x in missing if id(x) not in ambiguous]:  # rule 4c, a line for a few entries
        sets = _sets(line, items.near(line, days, MAX_CANDIDATES, both=True), slack, mixed=True)
        if len(sets) == 1:
            take([line], sets[0])
        elif sets:
            ambiguous.add(id(line))
    for item in sorted((x for x in free.values() if id(x) not in ambiguous), key=lambda i: i.seq):  # rule 4c
        line_sets = _sets(item, lines.near(item, days, MAX_CANDIDATES, both=True), slack, mixed=True)
        if len(line_sets) == 1:
            take(line_sets[0], [item])
        elif line_sets:
            ambiguous.add(id(item))


def _sets(
    one: BankLine | LedgerItem, candidates: Sequence[Either], slack: Decimal, *, mixed: bool = False
) -> list[tuple[Either, ...]]:
    """The sets (at most two: enough to tell one from several) of 2 to MAX_GROUP candidates that add up to ``one``
    (if ``mixed``, only sets holding money in and money out)."""
    found: list[tuple[Either, ...]] = []
    scale = Decimal(10) ** one.amount.unit.exponent  # sums in exact integer minor units: fast
    target, room = int(one.amount.value * scale), int(slack * scale)
    minor = [int(c.amount.value * scale) for c in candidates]
    for size in range(2, min(MAX_GROUP, len(candidates)) + 1):
        for combination in itertools.combinations(range(len(candidates)), size):
            if abs(sum(minor[i] for i in combination) - target) > room:
                continue
            if mixed and len({minor[i] > 0 for i in combination}) < 2:
                continue
            found.append(tuple(candidates[i] for i in combination))
            if len(found) > 1:
                return found
    return found


def _items(ledger: Ledger, account: str, tz: str, dates: tuple[dt.date, dt.date], window: Window) -> list[LedgerItem]:
    """The entries on ``account`` effective on the dates (inclusive, in ``tz``) and inside ``window``."""
    start, end = dates
    with ledger.snapshot() as connection:
        window = store_window.check_through(connection, window)
    zone = time_zone(tz)
    low = pendulum.datetime(start.year, start.month, start.day, tz=zone)
    high = pendulum.datetime(end.year, end.month, end.day, tz=zone).add(days=1)
    e, p, a = t.entries.c, t.postings.c, t.accounts.c
    ref = t.entry_tags.alias("ref")
    query = (
        select(e.seq, e.id, e.kind, e.idempotency_key, e.source, e.effective_at, ref.c.value, func.sum(p.amount))
        .select_from(
            t.postings.join(t.entries, e.seq == p.entry_seq)
            .join(t.accounts, a.id == p.account_id)
            .outerjoin(ref, (ref.c.entry_seq == e.seq) & (ref.c.name == Tag.REFERENCE))
        )
        .where(
            a.code == account,
            p.effective_at >= to_micros(low),
            p.effective_at < to_micros(high),
            *store_window.conditions(window, t.entries, effective=p.effective_at),
        )
        .group_by(e.seq, e.id, e.kind, e.idempotency_key, e.source, e.effective_at, ref.c.value)
        .order_by(e.seq)
    )
    unit = ledger.account(account).unit
    items = []
    with ledger.snapshot() as connection:
        for seq, entry_id, kind, key, source, effective, reference, minor in connection.execute(query):
            if not minor:
                continue
            amount = Money.from_minor(int(minor), unit)
            references = tuple(r for r in (source, key, reference, entry_id) if r)
            items.append(
                LedgerItem(entry_id, int(seq), kind, from_micros(int(effective), tz).date(), amount, references)
            )
    return items


# -- the provider's report ------------------------------------------------------------


@attrs.frozen
class ProviderPair:
    """A report line and the payment it names.

    Attributes:
        line: the provider's line.
        expected: the payment's amount in the ledger.
        ledger_status: what the ledger has recorded for it: ``approved`` (not
            settled yet), ``paid``, ``failed`` or ``returned``.
    """

    line: ProviderLine
    expected: Money
    ledger_status: str


@attrs.frozen
class ProviderMatch:
    """The result of matching a provider's report with one payment list.

    Attributes:
        list_code: the list.
        matched: lines whose amount equals the payment's and whose status the ledger
            agrees with or has not settled yet.
        amount_differences: lines whose amount differs from the payment's.
        status_differences: lines whose status contradicts what the ledger recorded.
        missing_in_ledger: lines naming no payment of the list.
        missing_in_report: references of the list's payments no line names.
        contradictions: lines the report itself contradicts: one reference named by several
            lines that cannot all be true (paid and failed, failed and returned, the same
            status twice — a provider paying one household twice); only "paid" followed by
            "returned" may name a reference twice.
    """

    list_code: str
    matched: tuple[ProviderPair, ...]
    amount_differences: tuple[ProviderPair, ...]
    status_differences: tuple[ProviderPair, ...]
    missing_in_ledger: tuple[ProviderLine, ...]
    missing_in_report: tuple[str, ...]
    contradictions: tuple[ProviderLine, ...] = ()

    @property
    def ok(self) -> bool:
        return not (
            self.amount_differences
            or self.status_differences
            or self.missing_in_ledger
            or self.missing_in_report
            or self.contradictions
        )

    def as_dict(self) -> dict[str, Any]:
        def pair(p: ProviderPair) -> dict[str, Any]:
            return {
                "line": p.line.line,
                "reference": p.line.reference,
                "status": p.line.status.value,
                "amount": str(p.line.amount),
                "ledger_amount": str(p.expected),
                "ledger_status": p.ledger_status,
            }

        return {
            "list": self.list_code,
            "ok": self.ok,
            "matched": len(self.matched),
            "amount_differences": [pair(p) for p in self.amount_differences],
            "status_differences": [pair(p) for p in self.status_differences],
            "missing_in_ledger": [
                {"line": x.line, "reference": x.reference, "amount": str(x.amount)} for x in self.missing_in_ledger
            ],
            "missing_in_report": list(self.missing_in_report),
            "contradictions": [
                {"line": x.line, "reference": x.reference, "status": x.status.value} for x in self.contradictions
            ],
        }


_AGREES = {
    PaymentStatus.PAID: {Event.APPROVED, Event.PAID, Event.RETURNED},
    PaymentStatus.FAILED: {Event.APPROVED, Event.FAILED},
    PaymentStatus.RETURNED: {Event.PAID, Event.RETURNED},
}


def match_provider_report(
    ledger: Ledger, list_code: str, lines: Sequence[ProviderLine], *, window: Window | None = None
) -> ProviderMatch:
    """Match a provider's report with a payment list, writing nothing (``Aid.settle`` posts it).

    ``window`` (all entries by default) matches against the ledger as it was,
    e.g. ``Window(known_at=T)``.
    """
    require_ledger(ledger)
    seen = Window.of(window)
    report = list(lines)
    for line in report:
        if not isinstance(line, ProviderLine):
            raise InvalidArgument(f"report lines must be ProviderLine values, got {line!r}", value=line)
    listed = listed_payments(ledger, list_code, window=seen)
    amounts = {payment.reference: payment.amount for payment in listed.payments}
    status = {payment.reference: payment.status for payment in listed.payments}
    matched: list[ProviderPair] = []
    amount_differences: list[ProviderPair] = []
    status_differences: list[ProviderPair] = []
    missing: list[ProviderLine] = []
    named: set[str] = set()
    for line in report:
        expected = amounts.get(line.reference)
        if expected is None:
            missing.append(line)
            continue
        named.add(line.reference)
        pair = ProviderPair(line, expected, status[line.reference])
        if line.amount != expected:
            amount_differences.append(pair)
        elif pair.ledger_status not in _AGREES[line.status]:
            status_differences.append(pair)
        else:
            matched.append(pair)
    return ProviderMatch(
        list_code=list_code,
        matched=tuple(matched),
        amount_differences=tuple(amount_differences),
        status_differences=tuple(status_differences),
        missing_in_ledger=tuple(missing),
        missing_in_report=tuple(sorted(set(amounts) - named)),
        contradictions=_contradictions(report),
    )


def _contradictions(report: Sequence[ProviderLine]) -> tuple[ProviderLine, ...]:
    """Every line of a reference the report names in ways that cannot all be true (see :class:`ProviderMatch`)."""
    by_reference: dict[str, list[ProviderLine]] = defaultdict(list)
    for line in report:
        by_reference[line.reference].append(line)
    found: list[ProviderLine] = []
    for lines in by_reference.values():
        statuses = [line.status for line in lines]
        if len(lines) > 1 and statuses != [PaymentStatus.PAID, PaymentStatus.RETURNED]:
            found.extend(lines)
    return tuple(sorted(found, key=lambda line: line.line or 0))
