"""What the Beancount, hledger and CSV exports share: the snapshot, paging, names and tallies."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Final

import attrs

from aidledger.core.accounts import Account, AccountType, Fund
from aidledger.core.amounts import Unit, UnitKind
from aidledger.core.entries import PostedEntry, Posting
from aidledger.core.errors import InvalidArgument, StorageError
from aidledger.core.times import zone_name
from aidledger.core.window import Window
from aidledger.exports.narration import DIMENSIONS
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.reader import newest_seq

#: Entries read from the ledger per round trip.
_PAGE: Final = 500
_EPOCH_DAY: Final = dt.date(1970, 1, 1)


@attrs.frozen
class ExportSummary:
    """What an export wrote.

    Attributes:
        format: ``beancount``, ``hledger`` or ``csv``.
        entries: journal entries written.
        transactions: transactions written (an entry that spans several funds
            gives one per fund in Beancount and hledger; equal to ``entries`` for CSV;
            in a summary, one per period, fund and dimension values).
        postings: postings written (for CSV: data rows; in a summary, the net per account of each group).
        accounts: account/fund pairs written (opened and asserted in Beancount and hledger).
        units: units (currencies and commodities) declared or used.
        assertions: balance assertions written (none in CSV).
        head_seq: the sequence number of the ledger's newest entry when the export started.
        window: the window the export covered: the one given, with ``known_at`` (when none was
            given) the recorded time of the newest entry inside it; pass it again to reproduce
            the export byte for byte.
    """

    format: str
    entries: int
    transactions: int
    postings: int
    accounts: int
    units: int
    assertions: int
    head_seq: int
    window: Window


# -- shared by the Beancount, hledger and CSV exports -----------------------------------------


def _check_arguments(ledger: object, out: object, window: object) -> Ledger:
    """The ledger, if the export's arguments are usable; InvalidArgument otherwise."""
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    if not callable(getattr(out, "write", None)):
        raise InvalidArgument(f"out must be a text stream with a write() method, got {out!r}", value=out)
    if window is not None and not isinstance(window, Window):
        raise InvalidArgument(f"window must be a Window, got {window!r}", value=window)
    return ledger


@attrs.frozen
class _Snapshot:
    """Which entries an export writes: those in ``window``, pinned to ``newest``.

    ``head`` is the newest entry's seq when the export started; ``newest`` the
    newest entry the window's recorded-time and log bounds admit (``None`` if none).
    """

    head: int
    window: Window
    newest: PostedEntry | None


def pinned(ledger: Ledger, window: Window | None) -> tuple[int, Window, PostedEntry | None]:
    """The ledger's head, ``window`` pinned to the newest entry inside its recorded-time and log bounds, and
    that entry.

    Without ``known_at`` the window ends at that entry's recorded time, so
    entries posted while the export runs stay out of it and the window
    reproduces the export later.  A window through a digest the ledger does not
    hold is refused (DigestMismatch).
    """
    given = Window() if window is None else window
    head = ledger.head().seq
    with ledger.snapshot() as connection:
        seq = newest_seq(connection, given.recorded())
    if not seq:
        return head, given, None
    (newest,) = ledger.entries(after_seq=seq - 1, limit=1)
    if given.known_at is None:
        given = attrs.evolve(given, known_at=newest.recorded_at)
    return head, given, newest


def _snapshot(ledger: Ledger, window: Window | None, *, balances: bool) -> tuple[_Snapshot, dict[tuple[str, str], int]]:
    """Fix what the export covers and, if asked, read the ledger's trial balance for exactly that.

    Returns the snapshot and the balances in minor units by (account code, fund code).
    """
    head, window, newest = pinned(ledger, window)
    totals: dict[tuple[str, str], int] = {}
    if balances and newest is not None:
        for line in ledger.trial_balance(window=window).lines:
            totals[(line.account.code, line.fund.code)] = line.balance.minor
    return _Snapshot(head, window, newest), totals


def _scope(snapshot: _Snapshot) -> str:
    """A comment line saying what the export holds: the log up to its newest entry, and the effective bounds.

    It describes the entries covered, not the ledger at export time, so the same window gives the same line
    whenever the export is made (and a window through a digest the line of that digest's ``known_at``).
    """
    newest = snapshot.newest
    if newest is None:
        text = "; No entries recorded"
    else:
        text = f"; The ledger's entries through {newest.seq}:{newest.hash} (recorded {_iso(newest.recorded_at)})"
    window = snapshot.window
    for words, when in (
        ("effective from", window.start),
        ("effective before", window.end),
        ("effective by", window.as_of),
    ):
        if when is not None:
            text += f", {words} {_iso(when)}"
    return text + ".\n"


Progress = Callable[[str, int, int], None]


def _entries(ledger: Ledger, snapshot: _Snapshot, progress: Progress | None = None) -> Iterator[PostedEntry]:
    """The snapshot's entries in chain order, read a page at a time (never the whole journal at once).

    ``progress("entries", done, total)`` is called after each page, with entry sequence numbers.
    """
    if snapshot.newest is None:
        return
    after, through = 0, snapshot.newest.seq
    while after < through:
        if progress is not None:
            progress("entries", after, through)
        page = list(ledger.entries(after_seq=after, limit=_PAGE, window=snapshot.window))
        if not page:
            return
        yield from page
        after = page[-1].seq


def _check_totals(sums: Mapping[tuple[str, str], int], balances: Mapping[tuple[str, str], int]) -> None:
    """Raise StorageError if the postings written do not add up to the trial balance read for them."""
    for key in sorted(set(sums) | set(balances)):
        if sums.get(key, 0) != balances.get(key, 0):
            raise StorageError(
                f"the ledger changed while it was exported: {key[0]} in fund {key[1]} adds up to "
                f"{sums.get(key, 0)} minor units in the entries written but {balances.get(key, 0)} in the "
                f"trial balance; export again with a fixed known_at",
                account=key[0],
                fund=key[1],
            )


def _by_fund(postings: Iterable[Posting]) -> list[tuple[Fund, list[Posting]]]:
    """Postings grouped by fund, in the order the funds first appear."""
    groups: dict[str, tuple[Fund, list[Posting]]] = {}
    for posting in postings:
        groups.setdefault(posting.fund.code, (posting.fund, []))[1].append(posting)
    return list(groups.values())


def _number(minor: int, unit: Unit) -> str:
    """``minor`` smallest steps of ``unit`` as a plain decimal with the unit's exponent (``-1500.00``)."""
    return f"{Decimal(minor).scaleb(-unit.exponent):f}"


def _iso(when: dt.datetime) -> str:
    return when.isoformat()


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


#: Names the exports give the entry's own fields: a tag of one of these names is written inside ``entry-tags``.
FIELDS: Final = frozenset(
    {
        "id", "seq", "kind", "actor", "effective", "time-zone", "recorded", "idempotency-key", "source",
        "reverses", "approved-by", "memo", "fund", "entry-tags", "claims", "releases", "entries",
        "filename", "lineno",
    }
)  # fmt: skip
#: A tag name that is a Beancount metadata key and an hledger tag name as it is.
_TAG_KEY: Final = re.compile(r"^[a-z][a-z0-9_-]*\Z")


def _fields(posted: PostedEntry, fund: str) -> list[tuple[str, str]]:
    """The entry's fields and tags as (name, text) pairs, as the Beancount and hledger exports write them.

    Every tag is its own pair, the dimensions first (:data:`~aidledger.exports.narration.DIMENSIONS`), then
    the others by name; a tag whose name is not a plain key, or is one of :data:`FIELDS`, goes into the
    ``entry-tags`` JSON object instead.
    """
    entry = posted.entry
    fields = [
        ("id", posted.id),
        ("seq", str(posted.seq)),
        ("kind", entry.kind),
        ("actor", entry.actor),
        ("effective", _iso(entry.effective_at)),
        ("time-zone", zone_name(entry.effective_at)),
        ("recorded", _iso(posted.recorded_at)),
    ]
    optional = (
        ("idempotency-key", entry.idempotency_key),
        ("source", entry.source),
        ("reverses", entry.reverses),
        ("approved-by", entry.approved_by),
        ("memo", entry.memo or None),
    )
    fields.extend((name, value) for name, value in optional if value is not None)
    fields.append(("fund", fund))
    own = {name: value for name, value in entry.tags.items() if _TAG_KEY.match(name) and name not in FIELDS}
    fields.extend((name, own[name]) for name in DIMENSIONS if name in own)
    fields.extend((name, value) for name, value in own.items() if name not in DIMENSIONS)
    rest = {name: value for name, value in entry.tags.items() if name not in own}
    packed = (
        ("entry-tags", _json(rest) if rest else None),
        ("claims", _json([[c.scope, c.key] for c in entry.claims]) if entry.claims else None),
        ("releases", _json([[c.scope, c.key] for c in entry.releases]) if entry.releases else None),
    )
    fields.extend((name, value) for name, value in packed if value is not None)
    return fields


def _check_options(ledger: Ledger, operating_currency: object, title: object) -> None:
    """InvalidArgument unless ``operating_currency`` is a currency the ledger knows and ``title`` one line of text."""
    if title is not None and (not isinstance(title, str) or not title.strip() or "\n" in title or "\r" in title):
        raise InvalidArgument(f"title must be one line of text, got {title!r}", value=title)
    if operating_currency is not None:
        unit = ledger.units().get(operating_currency) if isinstance(operating_currency, str) else None
        if unit is None or unit.kind is not UnitKind.CURRENCY:
            raise InvalidArgument(
                f"operating currency must be the code of a currency the ledger uses, got {operating_currency!r}",
                value=operating_currency,
            )


def _operating_currency(tally: _Tally, given: str | None) -> str | None:
    """``given``, or the currency most postings of the export are in (ties: the first code)."""
    if given is not None:
        return given
    currencies = [(-count, code) for code, count in tally.counts.items() if tally.units[code].kind is UnitKind.CURRENCY]
    return min(currencies)[1] if currencies else None


def _title(tally: _Tally, given: str | None) -> str:
    """``given``, or the name of the one fund the export holds, or the funds' codes."""
    if given is not None:
        return given
    funds = sorted({pair.fund.code: pair.fund for pair in tally.pairs.values()}.items())
    if len(funds) == 1:
        return funds[0][1].name or funds[0][0]
    return "Aid funds" + (": " + ", ".join(code for code, _ in funds) if funds else "")


_ROOTS: Final = {
    AccountType.ASSET: ("Assets", {"assets", "asset"}),
    AccountType.LIABILITY: ("Liabilities", {"liabilities", "liability"}),
    AccountType.NET_ASSETS: ("Equity", {"netassets", "net-assets", "net_assets", "equity"}),
    AccountType.REVENUE: ("Income", {"revenue", "revenues", "income"}),
    AccountType.EXPENSE: ("Expenses", {"expenses", "expense"}),
    AccountType.MEMO: ("Equity:Memo", {"memo"}),
}
_COMPONENT: Final = re.compile(r"^[A-Z0-9][A-Za-z0-9-]*\Z")


def _component(text: str) -> str:
    part = text.replace("_", "-")
    part = part[:1].upper() + part[1:]
    if not _COMPONENT.match(part):  # pragma: no cover - codes are checked when accounts are defined
        raise InvalidArgument(f"{text!r} cannot be made an account name component", value=text)
    return part


class _AccountNames:
    """Beancount (and hledger) account names of (account, fund) pairs.

    The name is the account's type root, its code without the currency (``Assets:Bank:KZT`` → ``Assets:Bank``),
    then the fund: several ledger accounts that differ by currency only share one name, each unit posted to it
    separately.  Where the chart already has an account of that name in that currency (``Assets:Bank`` beside
    ``Assets:Bank:KZT``), the currency stays in the name.  (name, unit) is injective, or InvalidArgument.
    """

    def __init__(self, accounts: Iterable[Account], funds: Iterable[Fund]) -> None:
        self._accounts: dict[str, str] = {}
        self._account_owner: dict[tuple[str, str], str] = {}
        self._funds: dict[str, str] = {}
        self._fund_owner: dict[str, str] = {}
        for account in accounts:
            self._account(account)
        for fund in funds:
            self._fund(fund)
        self._check_nesting()

    def _account(self, account: Account) -> str:
        found = self._accounts.get(account.code)
        if found is None:
            root, usual = _ROOTS[account.type]
            parts = account.code.split(":")
            if parts[0].lower() in usual:
                parts = parts[1:]
            found = ":".join([root, *(_component(p) for p in parts)])
            if account.unit.kind is UnitKind.CURRENCY and len(parts) > 1:
                bare = ":".join([root, *(_component(p) for p in parts if p != account.unit.code)])
                if (bare, account.unit.code) not in self._account_owner:  # else the ledger keeps both: keep the unit
                    found = bare
            other = self._account_owner.setdefault((found, account.unit.code), account.code)
            if other != account.code:
                raise InvalidArgument(
                    f"ledger accounts {other!r} and {account.code!r} would both be written as {found!r} "
                    f"in {account.unit.code}",
                    accounts=(other, account.code),
                )
            self._accounts[account.code] = found
        return found

    def _fund(self, fund: Fund) -> str:
        found = self._funds.get(fund.code)
        if found is None:
            found = _component(fund.code.replace(":", "-"))
            other = self._fund_owner.setdefault(found, fund.code)
            if other != fund.code:
                raise InvalidArgument(
                    f"funds {other!r} and {fund.code!r} would both be written as {found!r}",
                    funds=(other, fund.code),
                )
            self._funds[fund.code] = found
        return found

    def _check_nesting(self) -> None:
        """No pair's name may be the parent of another's (Beancount's balance of a parent includes its children)."""
        owners = {name: code for (name, _), code in sorted(self._account_owner.items())}
        for name, code in owners.items():
            parts = name.split(":")
            for cut in range(1, len(parts)):
                parent, fund = ":".join(parts[:cut]), parts[cut]
                if parent in owners and fund in self._fund_owner:
                    raise InvalidArgument(
                        f"account {owners[parent]!r} in fund {self._fund_owner[fund]!r} would be "
                        f"written as {parent}:{fund}, a parent of account {code!r}",
                        accounts=(owners[parent], code),
                    )

    def name(self, account: Account, fund: Fund) -> str:
        known = account.code in self._accounts and fund.code in self._funds
        name = f"{self._account(account)}:{self._fund(fund)}"
        if not known:  # the chart grew after the export started
            self._check_nesting()
        return name


def _opened(pairs: Iterable[_Pair]) -> list[tuple[str, list[_Pair]]]:
    """The pairs grouped by account name (sorted), each group's pairs by unit: one ``open`` per name."""
    groups: dict[str, list[_Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair.name, []).append(pair)
    return [(name, sorted(groups[name], key=lambda p: p.account.unit.code)) for name in sorted(groups)]


@attrs.define
class _Pair:
    """An account/fund pair the export has written or must assert."""

    account: Account
    fund: Fund
    name: str
    total: int = 0


class _Tally:
    """Pairs, totals and dates seen while streaming; bounded by the chart, not by the journal."""

    def __init__(self, names: _AccountNames | None) -> None:
        self.names = names
        self.pairs: dict[tuple[str, str], _Pair] = {}
        self.units: dict[str, Unit] = {}
        self.counts: dict[str, int] = {}
        self.entries = 0
        self.transactions = 0
        self.postings = 0
        self.first: dt.date | None = None
        self.last: dt.date | None = None

    def pair(self, account: Account, fund: Fund) -> _Pair:
        key = (account.code, fund.code)
        found = self.pairs.get(key)
        if found is None:
            name = "" if self.names is None else self.names.name(account, fund)
            found = self.pairs[key] = _Pair(account, fund, name)
            self.units.setdefault(account.unit.code, account.unit)
        return found

    def add(self, posting: Posting) -> _Pair:
        pair = self.pair(posting.account, posting.fund)
        pair.total += posting.minor
        self.postings += 1
        code = posting.account.unit.code
        self.counts[code] = self.counts.get(code, 0) + 1
        return pair

    def dated(self, day: dt.date) -> None:
        self.first = day if self.first is None or day < self.first else self.first
        self.last = day if self.last is None or day > self.last else self.last

    def summary(self, format_: str, snapshot: _Snapshot, *, units: int, assertions: int) -> ExportSummary:
        """What an export wrote, from what the tally saw."""
        return ExportSummary(
            format=format_,
            entries=self.entries,
            transactions=self.transactions,
            postings=self.postings,
            accounts=len(self.pairs),
            units=units,
            assertions=assertions,
            head_seq=snapshot.head,
            window=snapshot.window,
        )

    def sums(self) -> dict[tuple[str, str], int]:
        return {key: pair.total for key, pair in self.pairs.items() if pair.total}

    def assertion_day(self, as_of: dt.datetime | None) -> dt.date:
        """The day after the last transaction, and after ``as_of`` if given."""
        days = [d + dt.timedelta(days=1) for d in (self.last, None if as_of is None else as_of.date()) if d]
        return max(days, default=_EPOCH_DAY)


def _prepare(
    ledger: object, out: object, window: Window | None, *, journal: bool
) -> tuple[Ledger, _Snapshot, dict[tuple[str, str], int], _Tally]:
    """Check the arguments and fix the snapshot; for a journal (Beancount, hledger) also read the
    trial balance and name every account/fund pair of the chart (raising before anything is written)."""
    checked = _check_arguments(ledger, out, window)
    snapshot, totals = _snapshot(checked, window, balances=journal)
    names = _AccountNames(checked.accounts(), checked.funds()) if journal else None
    return checked, snapshot, totals, _Tally(names)


def _units(tally: _Tally) -> tuple[Unit, ...]:
    """The units the entries written use, by code: what the export declares (never a unit defined later)."""
    return tuple(tally.units[code] for code in sorted(tally.units))


# -- Beancount -----------------------------------------------------------------------------------
