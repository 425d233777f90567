"""Typed results of the ledger's own reads."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount


@attrs.frozen
class TrialBalanceLine:
    """The balance of one account in one fund (signed: debits positive).

    Attributes:
        account: the account.
        fund: the fund.
        balance: the signed balance, debits positive and credits negative.
    """

    account: Account
    fund: Fund
    balance: Amount


@attrs.frozen
class TrialBalance:
    """Every non-zero account balance per fund, and the total per unit.

    Attributes:
        lines: one line per account and fund with a non-zero balance, by account and fund code.
        totals: the sum of all lines per unit code; zero in a ledger that balances.
        fund_totals: the sum of all lines per (fund code, unit code); zero too.
    """

    lines: tuple[TrialBalanceLine, ...]
    totals: Mapping[str, Amount]
    fund_totals: Mapping[tuple[str, str], Amount]

    @property
    def balanced(self) -> bool:
        """Whether every total, per unit and per fund and unit, is exactly zero."""
        return all(t.is_zero() for t in self.totals.values()) and all(t.is_zero() for t in self.fund_totals.values())


@attrs.frozen
class ChainBreak:
    """The first place where the stored journal disagrees with its hash chain.

    Attributes:
        seq: the sequence number where the chain breaks.
        entry_id: the id of the entry there, if there is one.
        problem: what is wrong, in words.
        expected: what the chain says should be there.
        found: what the database holds.
    """

    seq: int
    entry_id: str | None
    problem: str
    expected: str
    found: str


@attrs.frozen
class Verification:
    """The result of :meth:`aidledger.Ledger.verify`.

    Attributes:
        entries: how many entries were checked.
        head_seq: sequence number of the last entry.
        head_hash: hash of the last entry (with ``head_seq``, the auditor's digest).
        first_break: the first broken link, or ``None`` if the chain is intact.
    """

    entries: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None
