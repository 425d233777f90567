"""Check 5: amounts kept at or under an approval threshold by splitting them."""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
from sqlalchemy import func, literal, select
from sqlalchemy.engine import Connection

from aidledger.core.amounts import Money
from aidledger.core.errors import InvalidAmount, InvalidArgument
from aidledger.core.window import Window
from aidledger.ledger.ledger import Ledger
from aidledger.queries.entry_testing.arguments import micros, window_of
from aidledger.queries.entry_testing.entries import EntryRef, amounts, chunks, entry_refs
from aidledger.queries.entry_testing.scope import Scope, ledger_of, reading
from aidledger.store import schema as t
from aidledger.vocabulary import Tag

#: Tags that name an entry's counterparty, in the order they are looked for.
COUNTERPARTY_TAGS: Final = (Tag.BENEFICIARY, Tag.GRANTEE, Tag.DONOR, Tag.PROGRAMME, Tag.PROJECT, Tag.PLEDGE)


class SplitReason(enum.Enum):
    """Why :func:`split_under_threshold` reports a group."""

    #: Items each at or under the threshold that, within the window, add up to more than it.
    SUM_ABOVE = "sum-above-threshold"
    #: Two or more items at or just under the threshold (within the margin), not already in a split.
    NEAR_THRESHOLD = "near-threshold"


@attrs.frozen
class SplitItem:
    """One amount that stayed at or under the threshold: an entry, or a whole payment list.

    Attributes:
        entry: the entry (for a list, its first entry).
        list_code: the payment list, when the item is a list (the threshold applies to a list's total).
        entries: how many entries make up the item.
        amount: the item's amount.
        near_threshold: whether it is within the margin under the threshold.
    """

    entry: EntryRef
    list_code: str | None
    entries: int
    amount: Money
    near_threshold: bool


@attrs.frozen
class SplitGroup:
    """Items of one kind, actor and counterparty that look like a split to avoid approval.

    Attributes:
        kind: their entry kind.
        actor: who made them.
        counterparty: ``tag=value`` (beneficiary, grantee, donor, programme, project or pledge),
            or ``accounts=<debited> -> <credited>`` when no such tag is set.
        reason: sum above the threshold within the window, or repeatedly near it.
        items: the items, in effective order.
        total: their sum.
        threshold: the threshold tested.
    """

    kind: str
    actor: str
    counterparty: str
    reason: SplitReason
    items: tuple[SplitItem, ...]
    total: Money
    threshold: Money


def split_under_threshold(
    ledger: Ledger,
    threshold: Money,
    *,
    within: dt.timedelta = dt.timedelta(days=7),
    margin: Decimal = Decimal("0.1"),
    window: Window | None = None,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> tuple[SplitGroup, ...]:
    """Amounts kept at or under an approval threshold by splitting them: the classic split.

    An *item* is an amount the threshold applies to: an entry, or for entries
    tagged with a payment ``list``, the whole list of one kind (the approval
    rule applies to a list's total).  Only items at or under ``threshold``
    (those that needed no approval: the rule is "above the threshold needs a
    checker"), made without a checker (``approved_by``) and not reversals, are
    tested.  Items are grouped by kind, actor and counterparty: the first of
    the tags :data:`COUNTERPARTY_TAGS` the entry carries (``programme`` for a
    list), or else the accounts it debits and credits.

    In each group:

    - ``SUM_ABOVE``: two or more items effective within ``within`` of the first
      of them that add up to more than the threshold; overlapping windows are
      reported as one group.
    - ``NEAR_THRESHOLD``: two or more items at or just under the threshold
      (at least ``threshold × (1 − margin)``) anywhere in the tested period,
      leaving out items already reported in a ``SUM_ABOVE`` group.

    Args:
        ledger: the ledger.
        threshold: the approval threshold (positive Money; its currency is the one tested).
        within: how close in effective time the parts of a split are.
        margin: how far under the threshold counts as near it (0 to below 1).
        window: only the entries in this :class:`~aidledger.Window` (all by default).
        kinds: only entries of these kinds.
        exclude_kinds: no entries of these kinds.

    Returns:
        The groups, by kind, actor, counterparty and first effective time.

    Raises:
        InvalidArgument: an argument has the wrong type or value.
    """
    ledger = ledger_of(ledger)
    threshold_of(threshold)
    window_of(within, zero=False)
    near = margin_of(margin)
    with reading(ledger, window, kinds, exclude_kinds) as (connection, scope):
        return find_splits(connection, scope, threshold, within, near)


def threshold_of(threshold: object) -> Money:
    """The approval threshold, checked to be positive :class:`~aidledger.Money`."""
    if not isinstance(threshold, Money) or threshold.value <= 0:
        raise InvalidAmount(f"threshold must be positive Money, got {threshold!r}", value=threshold)
    return threshold


def margin_of(margin: object) -> tuple[int, int]:
    """The near-threshold margin, checked, as an exact fraction ``(p, q)``."""
    if not isinstance(margin, Decimal) or not margin.is_finite() or not 0 <= margin < 1:
        raise InvalidArgument(f"margin must be a Decimal from 0 to below 1, got {margin!r}", value=margin)
    return margin.as_integer_ratio()


@attrs.frozen
class _Item:
    effective_at: int
    seq: int
    amount: int
    list_code: str | None
    entries: int


#: A group of items: kind, actor, counterparty.
_Key = tuple[str, str, str]


def _tag(name: str, seq: Any) -> Any:
    g = t.entry_tags.c
    return select(g.value).where(g.entry_seq == seq, g.name == name).scalar_subquery()


def find_splits(
    connection: Connection, scope: Scope, threshold: Money, within: dt.timedelta, margin: tuple[int, int]
) -> tuple[SplitGroup, ...]:
    """:func:`split_under_threshold` on a scope read in ``connection`` (``margin`` from :func:`margin_of`)."""
    unit, limit = threshold.unit, threshold.minor
    p, q = margin

    def is_near(item: _Item) -> bool:
        return item.amount * q >= limit * (q - p)

    found = list(_flag(_items(connection, scope, threshold), micros(within), limit, is_near))
    refs = entry_refs(connection, (item.seq for _, _, items in found for item in items))
    return tuple(
        SplitGroup(
            kind=kind,
            actor=actor,
            counterparty=party,
            reason=reason,
            items=tuple(
                SplitItem(
                    entry=refs[item.seq],
                    list_code=item.list_code,
                    entries=item.entries,
                    amount=Money.from_minor(item.amount, unit),
                    near_threshold=is_near(item),
                )
                for item in items
            ),
            total=Money.from_minor(sum(item.amount for item in items), unit),
            threshold=threshold,
        )
        for (kind, actor, party), reason, items in found
    )


def _items(connection: Connection, scope: Scope, threshold: Money) -> Mapping[_Key, list[_Item]]:
    """The items at or under the threshold made without a checker, by kind, actor and counterparty."""
    entries = amounts(connection, scope, threshold.unit)
    base = (
        select(
            entries.c.seq,
            entries.c.kind,
            entries.c.actor,
            entries.c.effective_at,
            entries.c.amount,
            _tag(Tag.LIST, entries.c.seq).label("list_code"),
        )
        .where(entries.c.approved_by.is_(None), entries.c.reverses.is_(None))
        .subquery()
    )
    groups: dict[_Key, list[_Item]] = defaultdict(list)
    for key, item in (
        *_single_items(connection, base, threshold.minor),
        *_list_items(connection, base, threshold.minor),
    ):
        groups[key].append(item)
    return groups


def _single_items(connection: Connection, base: Any, limit: int) -> Iterator[tuple[_Key, _Item]]:
    """Entries on no payment list, by the counterparty tag they carry or else the accounts they move."""
    unnamed: dict[int, tuple[str, str, int, int]] = {}
    counterparty = func.coalesce(*(literal(f"{name}=") + _tag(name, base.c.seq) for name in COUNTERPARTY_TAGS))
    singles = select(base.c.seq, base.c.kind, base.c.actor, base.c.effective_at, base.c.amount, counterparty).where(
        base.c.list_code.is_(None), base.c.amount <= limit
    )
    for seq, kind, actor, effective, amount, party in connection.execute(singles):
        if party is None:
            unnamed[int(seq)] = (str(kind), str(actor), int(effective), int(amount))
            continue
        yield (str(kind), str(actor), str(party)), _Item(int(effective), int(seq), int(amount), None, 1)
    for seq, party in _account_pairs(connection, list(unnamed)).items():
        kind, actor, effective, amount = unnamed[seq]
        yield (kind, actor, party), _Item(effective, seq, amount, None, 1)


def _list_items(connection: Connection, base: Any, limit: int) -> Iterator[tuple[_Key, _Item]]:
    """Payment lists, one item per list of one kind and maker, by programme (or else by list)."""
    programme = func.max(_tag(Tag.PROGRAMME, base.c.seq))
    lists = (
        select(
            base.c.kind,
            base.c.actor,
            base.c.list_code,
            func.min(base.c.seq),
            func.min(base.c.effective_at),
            func.sum(base.c.amount),
            func.count(),
            programme,
        )
        .where(base.c.list_code.is_not(None))
        .group_by(base.c.kind, base.c.actor, base.c.list_code)
    )
    for kind, actor, code, seq, effective, amount, n, prog in connection.execute(lists):
        if int(amount) <= limit:
            party = f"programme={prog}" if prog is not None else f"list={code}"
            yield (str(kind), str(actor), party), _Item(int(effective), int(seq), int(amount), str(code), int(n))


def _flag(
    groups: Mapping[_Key, list[_Item]], span: int, limit: int, is_near: Callable[[_Item], bool]
) -> Iterator[tuple[_Key, SplitReason, list[_Item]]]:
    """The groups' splits: sums above the threshold within ``span``, then repeats near it."""
    for key in sorted(groups):
        items = sorted(groups[key], key=lambda i: (i.effective_at, i.seq))
        in_split: set[int] = set()
        for first, last in _sum_windows(items, span, limit):
            yield key, SplitReason.SUM_ABOVE, items[first:last]
            in_split.update(range(first, last))
        near = [item for index, item in enumerate(items) if index not in in_split and is_near(item)]
        if len(near) >= 2:
            yield key, SplitReason.NEAR_THRESHOLD, near


def _sum_windows(items: Sequence[_Item], span: int, limit: int) -> Iterator[tuple[int, int]]:
    """Index ranges of items whose windows (items within ``span`` of a first one) sum above ``limit``, merged."""
    current: tuple[int, int] | None = None
    last = 0
    running = 0
    for first, item in enumerate(items):
        if last < first:
            last, running = first, 0
        while last < len(items) and items[last].effective_at - item.effective_at <= span:
            running += items[last].amount
            last += 1
        if last - first >= 2 and running > limit:
            if current is not None and first < current[1]:
                current = (current[0], max(current[1], last))
            else:
                if current is not None:
                    yield current
                current = (first, last)
        running -= item.amount
    if current is not None:
        yield current


def _account_pairs(connection: Connection, seqs: list[int]) -> dict[int, str]:
    """``accounts=<debited> -> <credited>`` for each entry, from its postings."""
    p, a = t.postings.c, t.accounts.c
    codes = {int(i): str(c) for i, c in connection.execute(select(a.id, a.code))}
    debits: dict[int, set[str]] = defaultdict(set)
    credits: dict[int, set[str]] = defaultdict(set)
    for chunk in chunks(seqs):
        for seq, account, amount in connection.execute(
            select(p.entry_seq, p.account_id, p.amount).where(p.entry_seq.in_(chunk))
        ):
            (debits if amount > 0 else credits)[int(seq)].add(codes[int(account)])
    return {
        seq: f"accounts={','.join(sorted(debits[seq]))} -> {','.join(sorted(credits[seq]))}" for seq in sorted(seqs)
    }
