"""Export a ledger as a Beancount v3 file that ``bean-check`` accepts and that proves its own totals.

How the ledger maps to Beancount:

* **Accounts and funds.**  Every (account, fund) pair becomes one Beancount
  account, ``<account>:<FUND>``: ``Assets:Bank:KZT`` in fund ``CASH-AID`` is
  ``Assets:Bank:KZT:CASH-AID``.  The root is chosen by the account's *type*,
  not by its code: asset → ``Assets``, liability → ``Liabilities``, revenue →
  ``Income``, expense → ``Expenses``, net assets → ``Equity``, and memo
  accounts (pledges, grant commitments, with their contra accounts) →
  ``Equity:Memo``.  Memo accounts balance among themselves, so the ``Memo``
  subtree of ``Equity`` always nets to zero and touches neither assets nor
  income.  A code's own root is dropped when it is the usual name for its type
  (``Revenue:Donations:KZT`` → ``Income:Donations:KZT``) and kept as a
  component otherwise.  Each component is made to fit Beancount's grammar
  (``_`` becomes ``-``, a lower-case first letter is capitalised; a fund code's
  ``:`` becomes ``-``, so a fund is always the one last component).  Two
  ledger accounts (or funds) that would end up with one name, or a name that
  would nest one account/fund pair inside another, raise InvalidArgument
  before anything is written.  Each ``open`` directive carries the ledger's
  account code, fund code, account type and name as metadata.
* **Units.**  Unit codes follow Beancount's commodity grammar already; every
  unit the exported entries use (currencies and goods such as ``FOOD-PACKAGE``)
  gets a ``commodity`` directive with its kind, exponent and unit of measure.
* **Entries.**  Each journal entry becomes a transaction dated by its
  effective date *in the entry's own time zone*, with the memo as narration and
  metadata ``id``, ``seq``, ``kind``, ``actor``, ``effective`` (ISO time with
  offset), ``time-zone``, ``recorded``, and where present ``idempotency-key``,
  ``source``, ``reverses``, ``approved-by``, ``entry-tags``, ``claims`` and
  ``releases`` (the last three as JSON text; tags hold pseudonyms, never
  personal data).  An entry that spans several funds (a release from
  restriction, a designation) is written as one transaction per fund, in the
  order the funds first appear, each with a ``fund`` metadata value and the
  shared link ``^entry-<id>``.  Since each of those balances on its own,
  ``bean-check`` proves that every entry balances per fund and per unit.
* **Amounts** are written from integer minor units with the unit's exponent
  (``50000.00 KZT``, ``12.345 RELIEF-GOODS``); no float is involved.
* **Proof of totals.**  The file ends with a ``balance`` assertion for every
  account/fund pair, taken from the ledger's own :meth:`Ledger.trial_balance`
  and dated the day after the last transaction (or after ``as_of``).  Each
  assertion has an explicit zero tolerance (``~ 0``), because Beancount would
  otherwise accept a difference of one minor unit.  ``bean-check`` therefore
  fails unless its totals equal the library's to the minor unit.

The ``commodity`` and ``open`` directives come after the transactions (dated
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

import re
from typing import TextIO

from aidledger.core.amounts import UnitKind
from aidledger.core.entries import PostedEntry
from aidledger.core.times import zone_name
from aidledger.core.window import Window
from aidledger.exports._common import (
    ExportSummary,
    Progress,
    _by_fund,
    _check_totals,
    _entries,
    _iso,
    _json,
    _number,
    _prepare,
    _scope,
    _Tally,
    _units,
)
from aidledger.ledger.ledger import Ledger

__all__ = ["ExportSummary", "export_beancount"]


def _string(text: str) -> str:
    """``text`` as a Beancount string literal that reads back exactly."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _metadata(posted: PostedEntry) -> list[tuple[str, str]]:
    """The entry's fields as (key, Beancount value) pairs."""
    entry = posted.entry
    meta = [
        ("id", _string(posted.id)),
        ("seq", str(posted.seq)),
        ("kind", _string(entry.kind)),
        ("actor", _string(entry.actor)),
        ("effective", _string(_iso(entry.effective_at))),
        ("time-zone", _string(zone_name(entry.effective_at))),
        ("recorded", _string(_iso(posted.recorded_at))),
    ]
    optional = (
        ("idempotency-key", entry.idempotency_key),
        ("source", entry.source),
        ("reverses", entry.reverses),
        ("approved-by", entry.approved_by),
        ("entry-tags", _json(dict(entry.tags)) if entry.tags else None),
        ("claims", _json([[c.scope, c.key] for c in entry.claims]) if entry.claims else None),
        ("releases", _json([[c.scope, c.key] for c in entry.releases]) if entry.releases else None),
    )
    meta.extend((key, _string(value)) for key, value in optional if value is not None)
    return meta


def _transactions(posted: PostedEntry, tally: _Tally) -> str:
    entry = posted.entry
    day = entry.effective_at.date()
    tally.dated(day)
    tally.entries += 1
    groups = _by_fund(entry.postings)
    meta = "".join(f"  {key}: {value}\n" for key, value in _metadata(posted))
    link = f" ^entry-{posted.id}" if len(groups) > 1 and re.fullmatch(r"[A-Za-z0-9_/.-]+", posted.id) else ""
    parts = []
    for fund, postings in groups:
        tally.transactions += 1
        lines = [f"{day.isoformat()} * {_string(entry.memo)}{link}\n", meta]
        if len(groups) > 1:
            lines.append(f"  fund: {_string(fund.code)}\n")
        for posting in postings:
            pair = tally.add(posting)
            lines.append(f"  {pair.name}  {_number(posting.minor, posting.account.unit)} {posting.account.unit.code}\n")
        parts.append("".join(lines) + "\n")
    return "".join(parts)


def export_beancount(
    ledger: Ledger,
    out: TextIO,
    *,
    window: Window | None = None,
    progress: Progress | None = None,
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

    Returns:
        What was written, with the window that reproduces it.

    Raises:
        InvalidArgument: ``ledger`` is not a Ledger, ``out`` cannot be written,
            a time is naive, or two ledger accounts (or funds) would get one
            Beancount name.
        StorageError: the ledger changed under the export in a way the
            snapshot could not exclude; export again with the summary's window.
    """
    ledger, snapshot, balances, tally = _prepare(ledger, out, window, journal=True)
    out.write(
        "; Exported by aidledger: one transaction per journal entry and fund, dated in the entry's time zone.\n"
        + _scope(snapshot)
        + "; Accounts are <account>:<FUND>; the balance assertions at the end are the ledger's trial balance.\n"
        'option "title" "aidledger export"\n\n'
    )
    for posted in _entries(ledger, snapshot, progress):
        out.write(_transactions(posted, tally))
    _check_totals(tally.sums(), balances)
    units = _units(tally)
    opened = tally.first or tally.assertion_day(snapshot.window.as_of)
    for unit in units:
        out.write(f"{opened.isoformat()} commodity {unit.code}\n  kind: {_string(unit.kind.value)}\n")
        out.write(f"  exponent: {unit.exponent}\n")
        if unit.kind is UnitKind.COMMODITY and unit.measure is not None:
            out.write(f"  measure: {_string(unit.measure)}\n")
    out.write("\n")
    pairs = sorted(tally.pairs.values(), key=lambda p: p.name)
    for pair in pairs:
        out.write(
            f"{opened.isoformat()} open {pair.name} {pair.account.unit.code}\n"
            f"  account: {_string(pair.account.code)}\n  fund: {_string(pair.fund.code)}\n"
            f"  type: {_string(pair.account.type.value)}\n"
        )
        if pair.account.name:
            out.write(f"  name: {_string(pair.account.name)}\n")
    out.write("\n")
    day = tally.assertion_day(snapshot.window.as_of).isoformat()
    for pair in pairs:
        minor = balances.get((pair.account.code, pair.fund.code), 0)
        unit = pair.account.unit
        out.write(f"{day} balance {pair.name}  {_number(minor, unit)} ~ 0 {unit.code}\n")
    return tally.summary("beancount", snapshot, units=len(units), assertions=len(pairs))
