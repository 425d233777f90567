"""Approval policies: how many distinct checkers an entry needs, by its scope and its amount.

A policy covers the entries of one scope (every entry, or those of one fund,
one entry kind, or carrying one tag value, or a combination of these) and lists
amount tiers: an entry whose total is *above* a tier's amount needs that tier's
number of distinct checkers, none of them its maker.  An entry's total is the
sum of its debits in the policy's unit, memo accounts (commitments, pledges)
left out, as :class:`aidledger.PendingBatch` counts it.  When several policies
cover an entry, the strictest wins: it needs the largest number any of them
asks for.

A policy is stored in the ledger as a record (so it is an item of the log);
the ledger applies to each entry the policies recorded before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from aidledger.core.accounts import AccountType, check_code
from aidledger.core.amounts import Amount, Unit, currency
from aidledger.core.entries import JournalEntry, check_text
from aidledger.core.errors import InvalidArgument

#: The record kind under which policies are stored.
POLICY_RECORD: Final = "approval-policy"
#: The most checkers a tier may ask for.
MAX_CHECKERS: Final = 9


@attrs.frozen
class Tier:
    """Entries whose total is above ``above`` need ``checkers`` distinct checkers.

    Attributes:
        above: the amount an entry's total must exceed (strictly) for the tier to apply.
        checkers: how many distinct checkers, none of them the maker, must approve it (1 to 9).
    """

    above: Amount
    checkers: int

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.above, Amount) or self.above.value < 0:
            raise InvalidArgument(f"a tier's amount must be an Amount of zero or more, got {self.above!r}")
        if type(self.checkers) is not int or not 1 <= self.checkers <= MAX_CHECKERS:
            raise InvalidArgument(
                f"a tier needs 1 to {MAX_CHECKERS} checkers, got {self.checkers!r}", checkers=self.checkers
            )


def _tiers(value: Iterable[Tier | tuple[Amount, int]]) -> tuple[Tier, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidArgument(f"tiers must be a list of Tier or (amount, checkers) pairs, got {value!r}")
    tiers = []
    for tier in value:
        if isinstance(tier, tuple) and len(tier) == 2:
            tier = Tier(*tier)
        if not isinstance(tier, Tier):
            raise InvalidArgument(f"expected a Tier or an (amount, checkers) pair, got {tier!r}", value=tier)
        tiers.append(tier)
    return tuple(sorted(tiers, key=lambda t: t.above.minor))


@attrs.frozen(kw_only=True)
class ApprovalPolicy:
    """How many checkers the entries of one scope need, by amount tier.

    Attributes:
        tiers: the amount tiers, lowest first; none withdraws the scope's policy from then on.
        fund: only entries with a posting in this fund (by code), or any fund if ``None``.
        kind: only entries of this kind, or any kind if ``None``.
        tag: only entries carrying this ``(name, value)`` tag, or any if ``None``.
    """

    tiers: tuple[Tier, ...] = attrs.field(converter=_tiers)
    fund: str | None = None
    kind: str | None = None
    tag: tuple[str, str] | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))

    def __attrs_post_init__(self) -> None:
        if self.fund is not None:
            check_code("fund", self.fund)
        if self.kind is not None:
            check_text("kind", self.kind, allow_empty=False, limit=100)
        if self.tag is not None:
            if len(self.tag) != 2:
                raise InvalidArgument(f"tag must be a (name, value) pair, got {self.tag!r}", value=self.tag)
            for part in self.tag:
                check_text("tag", part, allow_empty=False, limit=500)
        units = {tier.above.unit.code for tier in self.tiers}
        if len(units) > 1:
            raise InvalidArgument(f"a policy's tiers must share one unit, got {sorted(units)}", units=sorted(units))
        amounts = [tier.above.minor for tier in self.tiers]
        if len(set(amounts)) != len(amounts):
            raise InvalidArgument("a policy has two tiers at the same amount", tiers=[str(t.above) for t in self.tiers])

    @property
    def scope(self) -> str:
        """The scope as text (``fund=HOUSING kind=grant-tranche``, or ``all``): one policy in force per scope."""
        parts = [f"fund={self.fund}"] if self.fund is not None else []
        parts += [f"kind={self.kind}"] if self.kind is not None else []
        parts += [f"tag={self.tag[0]}={self.tag[1]}"] if self.tag is not None else []
        return " ".join(parts) or "all"

    def covers(self, entry: JournalEntry) -> bool:
        """Whether ``entry`` is in this policy's scope."""
        if self.kind is not None and entry.kind != self.kind:
            return False
        if self.tag is not None and entry.tags.get(self.tag[0]) != self.tag[1]:
            return False
        return self.fund is None or any(p.fund.code == self.fund for p in entry.postings)

    def required(self, entry: JournalEntry) -> int:
        """How many distinct checkers ``entry`` needs under this policy (0: none)."""
        if not self.tiers or not self.covers(entry):
            return 0
        total = entry_total(entry, self.tiers[0].above.unit)
        return max((tier.checkers for tier in self.tiers if total > tier.above.minor), default=0)

    def body(self) -> dict[str, Any]:
        """The policy as the body of its record."""
        unit = self.tiers[0].above.unit.code if self.tiers else None
        return {
            "scope": {
                name: list(value) if isinstance(value, tuple) else value
                for name, value in (("fund", self.fund), ("kind", self.kind), ("tag", self.tag))
                if value is not None
            },
            "unit": unit,
            "tiers": [{"above": tier.above.minor, "checkers": tier.checkers} for tier in self.tiers],
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any], units: Mapping[str, Unit]) -> ApprovalPolicy:
        """The policy a record's body holds (``units``: the ledger's units by code)."""
        scope = body["scope"]
        unit = units.get(body["unit"]) if body["unit"] is not None else None
        if body["tiers"] and unit is None:
            unit = currency(body["unit"])
        return cls(
            tiers=[(Amount.from_minor(int(t["above"]), unit), int(t["checkers"])) for t in body["tiers"]]
            if unit is not None
            else [],
            fund=scope.get("fund"),
            kind=scope.get("kind"),
            tag=scope.get("tag"),
        )


def entry_total(entry: JournalEntry, unit: Unit) -> int:
    """The sum of ``entry``'s debits in ``unit``, in minor units, memo accounts left out."""
    return sum(
        p.minor
        for p in entry.postings
        if p.minor > 0 and p.amount.unit.code == unit.code and p.account.type is not AccountType.MEMO
    )


def required_checkers(policies: Iterable[ApprovalPolicy], entry: JournalEntry) -> int:
    """The number of distinct checkers ``entry`` needs under ``policies`` (the strictest wins)."""
    return max((policy.required(entry) for policy in policies), default=0)


__all__ = ["MAX_CHECKERS", "POLICY_RECORD", "ApprovalPolicy", "Tier", "entry_total", "required_checkers"]
