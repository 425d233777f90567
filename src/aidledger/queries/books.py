"""The book checks: the ledger's own invariants, recomputed from the stored rows.

Each check is a function ``check_x(books) -> Check`` of :class:`Books`, the
figures read from one snapshot of the ledger; :data:`BOOK_CHECKS` lists them
in the order :func:`check_books` (and so :func:`aidledger.reconcile`) runs
them.  An auditor can read that list to know what "the books reconcile" means:

1. the hash chain is intact (:func:`aidledger.verify`);
2. the maintained balances equal the sums of the postings;
3. so does each maintained daily delta, per account, fund and UTC day;
4. debits equal credits, per unit and per fund and unit;
5. no account that may not go negative went below zero at any effective time;
6. no fund's net assets went below zero at any effective time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Final

import attrs
from sqlalchemy.engine import Connection

from aidledger.core.accounts import Side
from aidledger.core.amounts import MAX_MINOR, Amount
from aidledger.core.times import day_date
from aidledger.ledger.balances import Balances, Day, DayTotals, Extremes, Pair, PairTotal
from aidledger.ledger.chart import Chart
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Check, Verification
from aidledger.queries.verification import verify


@attrs.frozen(kw_only=True)
class Books:
    """What the book checks compare, read from one snapshot of the ledger.

    Attributes:
        verification: the hash chain, recomputed.
        chart: the accounts, funds and units, as stored.
        postings: per account and fund, the postings summed.
        maintained: per account and fund, the maintained balance.
        days: per account, fund and UTC day where the two differ, the postings summed and the maintained delta.
        accounts: per account that may not go negative and fund, its lowest and highest running balance.
        funds: per unit code, per fund, the lowest and highest running net assets.
    """

    verification: Verification
    chart: Chart
    postings: Mapping[Pair, PairTotal]
    maintained: Mapping[Pair, PairTotal]
    days: Mapping[Day, DayTotals]
    accounts: Mapping[Pair, Extremes]
    funds: Mapping[str, Mapping[int, Extremes]]

    @classmethod
    def read(cls, connection: Connection, verification: Verification) -> Books:
        """The figures the checks compare, read on ``connection`` (a snapshot)."""
        chart = Chart.read(connection)  # it knows every account the postings name
        balances = Balances(connection)
        return cls(
            verification=verification,
            chart=chart,
            postings=balances.posting_totals(),
            maintained=balances.maintained_totals(),
            days=balances.daily_differences(),
            accounts=balances.account_extremes(_guarded(chart)),
            funds={
                unit: balances.fund_extremes(ids) for unit in sorted(chart.units) if (ids := chart.net_asset_ids(unit))
            },
        )


def check_hash_chain(books: Books) -> Check:
    """The stored hash of every entry, period close and record with its recomputed value and its predecessor."""
    verification = books.verification
    brk = verification.first_break
    return Check(
        "hash chain",
        verification.ok,
        f"the stored hash of each of {verification.entries} entries, period closes and records with its "
        "recomputed value and its predecessor",
        ""
        if brk is None
        else f"entry {brk.seq} ({brk.entry_id or 'no id'}): {brk.problem}; expected {brk.expected}, found {brk.found}",
    )


def check_maintained_balances(books: Books) -> Check:
    """The maintained balance of every account-fund pair with the sum (and count) of its postings."""
    stored, cache = books.postings, books.maintained
    wrong = []
    for key in sorted(stored.keys() | cache.keys()):
        truth, kept = stored.get(key), cache.get(key)
        if truth != kept:
            wrong.append(
                f"{books.chart.describe(*key)}: postings sum to {_minor_text(books.chart, key[0], truth)} "
                f"({truth.postings if truth else 0} postings), the maintained balance says "
                f"{_minor_text(books.chart, key[0], kept)} ({kept.postings if kept else 0} postings)"
            )
    return Check.of(
        "maintained balances",
        f"the maintained balance of each of {len(stored)} account-fund pairs with the sum of its postings",
        wrong,
        "{n} maintained balance(s) differ from their postings",
    )


def check_daily_balances(books: Books) -> Check:
    """The maintained delta of every account, fund and UTC day with the postings of that day, summed."""
    chart = books.chart
    wrong = [
        f"{chart.describe(account_id, fund_id)} on {day_date(day).isoformat()} (UTC): postings sum to "
        f"{_minor_text(chart, account_id, totals.posted)}, the maintained daily delta says "
        f"{_minor_text(chart, account_id, totals.kept)}"
        for (account_id, fund_id, day), totals in sorted(books.days.items())
    ]
    return Check.of(
        "daily balances",
        "the maintained delta of each account, fund and UTC day with the sum of that day's postings",
        wrong,
        "{n} daily delta(s) differ from their postings",
    )


def check_trial_balance(books: Books) -> Check:
    """Debits with credits of every posting, per unit and per fund and unit."""
    chart = books.chart
    per_unit: dict[str, int] = defaultdict(int)
    per_fund: dict[tuple[str, str], int] = defaultdict(int)
    unknown = []
    for (account_id, fund_id), totals in sorted(books.postings.items()):
        account, fund = chart.account_by_id.get(account_id), chart.fund_by_id.get(fund_id)
        if account is None or fund is None:
            unknown.append(
                f"{chart.describe(account_id, fund_id)}: {totals.postings} posting(s) summing to {totals.total} "
                "minor units name an account or fund id the chart of accounts holds no readable definition of"
            )
            continue
        per_unit[account.unit.code] += totals.total
        per_fund[(fund.code, account.unit.code)] += totals.total
    units = chart.units
    wrong = unknown + [
        f"unit {u}: postings sum to {Amount.from_minor(v, units[u])}" for u, v in sorted(per_unit.items()) if v
    ]
    wrong += [
        f"fund {f}, unit {u}: postings sum to {Amount.from_minor(v, units[u])}"
        for (f, u), v in sorted(per_fund.items())
        if v
    ]
    return Check.of(
        "trial balance",
        f"debits with credits of every posting, per unit ({len(per_unit)}) and per fund and unit ({len(per_fund)})",
        wrong,
        "the journal does not balance: {n} total(s) are not zero or name an account or fund the chart lacks",
    )


def check_no_negative_balances(books: Books) -> Check:
    """The running balance of every account that may not go negative, per fund, with zero."""
    chart = books.chart
    wrong = []
    for (account_id, fund_id), extremes in books.accounts.items():
        account = chart.account_by_id[account_id]
        worst = extremes.lowest if account.normal_side is Side.DEBIT else -extremes.highest
        if worst < 0:
            wrong.append(
                f"{chart.describe(account_id, fund_id)} went {Amount.from_minor(-worst, account.unit)} below zero"
            )
    return Check.of(
        "no negative balances",
        f"the running balance of every account that may not go negative ({len(_guarded(chart))}), per fund, "
        "entry by entry in effective order, with zero",
        wrong,
        "{n} balance(s) went below zero",
    )


def check_fund_net_assets(books: Books) -> Check:
    """The running net assets (assets minus liabilities) of every fund, per unit, with zero."""
    chart = books.chart
    wrong = []
    for unit, by_fund in books.funds.items():
        for fund_id, extremes in by_fund.items():
            fund = chart.fund_by_id.get(fund_id)  # None: an id the chart does not hold (see the trial balance)
            if extremes.lowest < 0 and (fund is None or not fund.allow_negative):
                wrong.append(
                    f"fund {fund.code if fund else f'#{fund_id}'} ({unit} net assets) went "
                    f"{Amount.from_minor(-extremes.lowest, chart.units[unit])} below zero"
                )
    return Check.of(
        "fund net assets",
        "the running net assets (assets minus liabilities) of every fund, per unit, entry by entry, with zero",
        wrong,
        "{n} fund(s) went below zero",
    )


#: The book checks, in the order they run.
BOOK_CHECKS: Final[tuple[Callable[[Books], Check], ...]] = (
    check_hash_chain,
    check_maintained_balances,
    check_daily_balances,
    check_trial_balance,
    check_no_negative_balances,
    check_fund_net_assets,
)


def check_books(ledger: Ledger, verification: Verification | None = None) -> tuple[Check, ...]:
    """Run :data:`BOOK_CHECKS` on ``ledger``; each check says what it compared and the difference.

    The chain is verified first, on a snapshot of its own (or ``verification``
    is the one :func:`aidledger.reconcile` just made); the other figures are
    read from one later snapshot, so they agree with one another.
    """
    if verification is None:
        verification = verify(ledger)
    with ledger.snapshot() as connection:
        books = Books.read(connection, verification)
    return tuple(check(books) for check in BOOK_CHECKS)


def _guarded(chart: Chart) -> list[int]:
    """The ids of the accounts that may not go negative."""
    return [i for i, a in chart.account_by_id.items() if not a.allow_negative]


def _minor_text(chart: Chart, account_id: int, total: PairTotal | int | None) -> str:
    """``total`` in the account's unit, or in minor units if the chart does not know the account."""
    if total is None:
        return "nothing"
    minor = total if isinstance(total, int) else total.total
    account = chart.account_by_id.get(account_id)
    if account is None or abs(minor) > MAX_MINOR:
        return f"{minor} minor units"
    return str(Amount.from_minor(minor, account.unit))
