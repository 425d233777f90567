"""Export a ledger as a Beancount v3 file that ``bean-check`` accepts and that proves its own totals.

How the ledger maps to Beancount:

* **Accounts and funds.**  Every (account, fund) pair is written to the
  Beancount account ``<type root>:<account>:<FUND>``, without the currency: the
  ledger's ``Assets:Bank:KZT`` in fund ``CASH-AID`` is ``Assets:Bank:CASH-AID``,
  and ``Assets:Bank:EUR`` in the same fund is the same Beancount account, holding
  euros beside tenge (the currency is on each posting).  The root is chosen by
  the account's *type*, not by its code: asset → ``Assets``, liability →
  ``Liabilities``, revenue → ``Income``, expense → ``Expenses``, net assets →
  ``Equity``, and memo accounts (pledges, grant commitments, with their contra
  accounts) → ``Equity:Memo``.  Memo accounts balance among themselves, so the
  ``Memo`` subtree of ``Equity`` always nets to zero and touches neither assets
  nor income.  A code's own root is dropped when it is the usual name for its
  type (``Revenue:Donations:KZT`` → ``Income:Donations:CASH-AID``) and kept as a
  component otherwise; a component equal to the account's currency is dropped.
  Each component is made to fit Beancount's grammar (``_`` becomes ``-``, a
  lower-case first letter is capitalised; a fund code's ``:`` becomes ``-``, so
  a fund is always the one last component).  Two ledger accounts (or funds) that
  would end up with one name in one unit, or a name that would nest one pair
  inside another, raise InvalidArgument before anything is written.  Each
  ``open`` directive lists the units the account holds, with the ledger account
  code of each (``account``, space-separated in the same order), the fund code,
  the account type and (for one ledger account) its name as metadata.  The
  docs page "Browsing the books in Fava and hledger" has the table.
* **Units and options.**  Unit codes follow Beancount's commodity grammar
  already; every unit the exported entries use (currencies and goods such as
  ``FOOD-PACKAGE``) gets a ``commodity`` directive with its kind, exponent,
  ``precision`` (for Fava) and unit of measure, and an ``option
  "display_precision"``.  ``option "operating_currency"`` is the ledger's base
  currency (given, or the currency most postings are in) and ``option "title"``
  the title given (by default the fund's name, or the funds' codes).
* **Entries.**  Each journal entry becomes a transaction dated by its
  effective date *in the entry's own time zone*, with the payee and narration
  of :func:`aidledger.exports.narration.describe` (the donor, grantee or
  provider; what happened, then the memo) and metadata ``id``, ``seq``,
  ``kind``, ``actor``, ``effective`` (ISO time with offset), ``time-zone``,
  ``recorded``, where present ``idempotency-key``, ``source``, ``reverses``,
  ``approved-by`` and ``memo``, then ``fund`` and every tag under its own key
  (the dimensions ``programme``, ``project``, ``purpose``, ``region``,
  ``donor``, ``list`` first), so that ``ANY_META('programme')`` and Fava's
  filters find them.  A tag whose name is not a plain key or is one of the
  field names goes into ``entry-tags`` (JSON); ``claims`` and ``releases`` are
  JSON too.  Tags hold pseudonyms, never personal data.  A payment list and a
  grant project are also links (``^list-FAM-1``, ``^project-DOSTYK``).  An
  entry that spans several funds (a release from restriction, a designation) is
  written as one transaction per fund, in the order the funds first appear,
  each with its ``fund`` and the shared link ``^entry-<id>``.  Since each of
  those balances on its own, ``bean-check`` proves that every entry balances
  per fund and per unit.
* **Summaries.**  With ``summary="day" | "week" | "month"`` (and ``by``
  dimensions), entries are added up per period, fund and dimension values into
  one transaction each, with ``period`` and ``entries`` (how many entries it
  stands for) as metadata, dated on its last entry's day; the balance
  assertions are the detailed book's.
* **Amounts** are written from integer minor units with the unit's exponent
  (``50000.00 KZT``, ``12.345 RELIEF-GOODS``); no float is involved.
* **Proof of totals.**  The file ends with a ``balance`` assertion for every
  account/fund pair, taken from the ledger's own :meth:`Ledger.trial_balance`
  and dated the day after the last transaction (or after ``as_of``).  Each
  assertion has an explicit zero tolerance (``~ 0``), because Beancount would
  otherwise accept a difference of one minor unit.  ``bean-check`` therefore
  fails unless its totals equal the library's to the minor unit.
* **Filtered books.**  With ``where`` (``{"programme": "FOOD-2020"}``), only the
  entries with those dimension values are written (``fund`` and ``currency``
  keep those postings), and the assertions are the ledger's totals of the
  postings kept, read by the query behind :func:`~aidledger.audit_totals`
  (:mod:`aidledger.exports._where`); the header says the book is filtered.

The options, ``commodity`` and ``open`` directives come after the transactions (dated
the earliest transaction's date): the export streams entries once, in chain
order, and only learns which account/fund pairs are used as it goes.
Beancount orders directives by date, so their place in the file does not
matter.

The export reads one consistent snapshot: the entries of a :class:`~aidledger.Window`
(effective ``start``/``end``/``as_of``, recorded ``known_at``, log ``through``),
pinned to the newest entry the window admits when the export starts.  The
header names that entry's digest and recorded time and the effective bounds,
never the ledger's head at export time, and only the units the entries use
are declared; so :class:`ExportSummary`'s ``window`` (or ``Window(known_at=T)``
for an export made at T, or ``Window(through=digest)``) gives the same file,
byte for byte, later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Final, TextIO

from aidledger.core.amounts import Unit, UnitKind
from aidledger.core.entries import PostedEntry
from aidledger.core.window import Window
from aidledger.exports._common import (
    ExportSummary,
    Progress,
    _by_fund,
    _check_options,
    _check_totals,
    _entries,
    _fields,
    _number,
    _opened,
    _operating_currency,
    _prepare,
    _proof,
    _scope,
    _Tally,
    _title,
    _units,
)
from aidledger.exports._summary import Group, check_summary, what, write_transactions
from aidledger.exports._where import check_where
from aidledger.exports.narration import describe
from aidledger.ledger.ledger import Ledger
from aidledger.vocabulary import Tag

__all__ = ["ExportSummary", "export_beancount"]


def _string(text: str) -> str:
    """``text`` as a Beancount string literal that reads back exactly."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


_LINK: Final = re.compile(r"^[A-Za-z0-9_/.-]+\Z")
#: The tags whose value also becomes a link (``^list-FAM-1``), so that Fava groups a list's or a project's entries.
_LINKED: Final = ((Tag.LIST, "list"), (Tag.PROJECT, "project"))


def _links(posted: PostedEntry, split: bool) -> str:
    """The transaction's links: the list and project it belongs to, and the entry for an entry split by fund."""
    links = [f"{word}-{posted.entry.tags[tag]}" for tag, word in _LINKED if tag in posted.entry.tags]
    if split:
        links.append(f"entry-{posted.id}")
    return "".join(f" ^{link}" for link in links if _LINK.match(link))


def _transactions(posted: PostedEntry, tally: _Tally) -> str:
    entry = posted.entry
    day = entry.effective_at.date()
    tally.dated(day)
    tally.entries += 1
    groups = _by_fund(entry.postings)
    said = describe(entry)
    head = f"{day.isoformat()} *" + (f" {_string(said.payee)}" if said.payee is not None else "")
    head += f" {_string(said.narration)}{_links(posted, len(groups) > 1)}\n"
    parts = []
    for fund, postings in groups:
        tally.transactions += 1
        lines = [head]
        for key, value in _fields(posted, fund.code):
            lines.append(f"  {key}: {value if key == 'seq' else _string(value)}\n")
        for posting in postings:
            pair = tally.add(posting)
            lines.append(f"  {pair.name}  {_number(posting.minor, posting.account.unit)} {posting.account.unit.code}\n")
        parts.append("".join(lines) + "\n")
    return "".join(parts)


def _options(tally: _Tally, units: tuple[Unit, ...], operating: str | None, title: str | None) -> str:
    """The options Fava reads: the title, the operating currency and each unit's display precision."""
    lines = [f'option "title" {_string(_title(tally, title))}\n']
    currency = _operating_currency(tally, operating)
    if currency is not None:
        lines.append(f'option "operating_currency" {_string(currency)}\n')
    for unit in units:
        lines.append(f'option "display_precision" {_string(f"{unit.code}:{_number(1, unit)}")}\n')
    return "".join(lines) + "\n"


_HEADER: Final = (
    "; Exported by aidledger: {what}, dated in the entry's time zone.\n{scope}"
    "; Accounts are <type>:<account>:<FUND>; the balance assertions at the end are {proof}.\n\n"
)


def _summarised(group: Group, by: Sequence[str]) -> str:
    """One summary transaction: the group's net per account, with its period, entry count and dimensions."""
    values = dict(group.tags(by))
    links = [f"{word}-{values[tag]}" for tag, word in _LINKED if tag in values]
    lines = [f"{group.day.isoformat()} * {_string(group.narration(by))}"]
    lines.append("".join(f" ^{link}" for link in links if _LINK.match(link)) + "\n")
    lines.append(f"  period: {_string(group.period)}\n  entries: {group.entries}\n  fund: {_string(group.fund)}\n")
    lines.extend(f"  {name}: {_string(value)}\n" for name, value in group.tags(by))
    for pair, minor in sorted(group.sums.values(), key=lambda item: (item[0].name, item[0].account.unit.code)):
        if minor:
            unit = pair.account.unit
            lines.append(f"  {pair.name}  {_number(minor, unit)} {unit.code}\n")
    return "".join(lines) + "\n"


def _directives(
    out: TextIO, tally: _Tally, units: tuple[Unit, ...], balances: dict[tuple[str, str], int], as_of: dt.datetime | None
) -> int:
    """Write the commodity, open and balance directives; return how many balance assertions were written."""
    opened = tally.first or tally.assertion_day(as_of)
    for unit in units:
        out.write(f"{opened.isoformat()} commodity {unit.code}\n  kind: {_string(unit.kind.value)}\n")
        out.write(f"  exponent: {unit.exponent}\n  precision: {unit.exponent}\n")
        if unit.kind is UnitKind.COMMODITY and unit.measure is not None:
            out.write(f"  measure: {_string(unit.measure)}\n")
    out.write("\n")
    groups = _opened(tally.pairs.values())
    for name, group in groups:
        first = group[0]
        out.write(
            f"{opened.isoformat()} open {name} {','.join(p.account.unit.code for p in group)}\n"
            f"  account: {_string(' '.join(p.account.code for p in group))}\n  fund: {_string(first.fund.code)}\n"
            f"  type: {_string(first.account.type.value)}\n"
        )
        if len(group) == 1 and first.account.name:
            out.write(f"  name: {_string(first.account.name)}\n")
    out.write("\n")
    day = tally.assertion_day(as_of).isoformat()
    pairs = [pair for _, group in groups for pair in group]
    for pair in pairs:
        minor = balances.get((pair.account.code, pair.fund.code), 0)
        unit = pair.account.unit
        out.write(f"{day} balance {pair.name}  {_number(minor, unit)} ~ 0 {unit.code}\n")
    return len(pairs)


def export_beancount(
    ledger: Ledger,
    out: TextIO,
    *,
    window: Window | None = None,
    progress: Progress | None = None,
    operating_currency: str | None = None,
    title: str | None = None,
    summary: str | None = None,
    by: Sequence[str] = (),
    where: Mapping[str, str] | None = None,
) -> ExportSummary:
    """Write ``ledger`` to ``out`` as a Beancount v3 file that checks its own totals.

    Entries are streamed from the ledger a page at a time; only the set of
    account/fund pairs and their totals is kept in memory.  See the module
    documentation for how accounts, funds, memo accounts and entries map to
    Beancount.

    Args:
        ledger: the ledger to export.
        out: a text stream to write to (a file opened with ``encoding="utf-8"``).
        window: which entries (a :class:`~aidledger.Window`: effective ``start``, ``end``,
            ``as_of``, recorded ``known_at``, log ``through``); by default every entry recorded
            when the export starts.
        progress: called as ``progress("entries", done, total)`` while entries are read.
        operating_currency: the ledger's base currency code (``option "operating_currency"``); by
            default the currency most of the exported postings are in.
        title: the books' title (``option "title"``); by default the name of the one fund exported,
            or ``Aid funds: `` and the funds' codes.
        summary: ``day``, ``week`` or ``month`` for a summarised book: one transaction per period, fund and
            the dimensions ``by``, with metadata ``entries`` (how many it stands for) and ``period``; the same
            balance assertions as the detailed book.
        by: with ``summary``, the dimensions kept apart (``programme``, ``project``, ``purpose``, ``region``,
            ``donor``, ``list``).
        where: only the entries with these dimension values (``{"programme": "FOOD-2020"}``, as in
            :func:`~aidledger.audit_totals`; ``fund`` and ``currency`` keep those postings); the balance
            assertions are then the ledger's totals of the postings kept, and the header says the book is
            filtered.

    Returns:
        What was written, with the window that reproduces it.

    Raises:
        InvalidArgument: ``ledger`` is not a Ledger, ``out`` cannot be written,
            a time is naive, two ledger accounts (or funds) would get one
            Beancount name, the title or operating currency is not usable, or the
            summary or its dimensions are unknown, or ``where`` names an unknown dimension, one that
            cannot filter a book (``account``, a period) or values no entry has.
        StorageError: the ledger changed under the export in a way the
            snapshot could not exclude; export again with the summary's window.
    """
    selected = check_where(where)
    ledger, snapshot, balances, tally = _prepare(ledger, out, window, journal=True, where=selected)
    _check_options(ledger, operating_currency, title)
    period, names = check_summary(summary, by)
    header = _HEADER.format(what=what(period, names), scope=_scope(snapshot, selected), proof=_proof(selected))
    out.write(header)
    entries = selected.kept(_entries(ledger, snapshot, progress))
    write_transactions(out, entries, tally, (period, names), _transactions, _summarised)
    _check_totals(tally.sums(), balances)
    units = _units(tally)
    out.write(_options(tally, units, operating_currency, title))
    pairs = _directives(out, tally, units, balances, snapshot.window.as_of)
    return tally.summary("beancount", snapshot, units=len(units), assertions=pairs)
