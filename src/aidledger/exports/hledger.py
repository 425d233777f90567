"""Export a ledger as an hledger journal that ``hledger check --strict`` accepts and that proves its totals.

The journal has the same content as the Beancount export
(:mod:`aidledger.exports.beancount`), and the same account names: each
(account, fund) pair is ``<type root>:<account>:<FUND>`` without the currency
(``Assets:Bank:KZT`` in fund ``GENERAL`` is ``Assets:Bank:GENERAL``, which also
holds the fund's euros), roots by the account's type (``Assets``,
``Liabilities``, ``Equity``, ``Income``, ``Expenses``; memo accounts under
``Equity:Memo``), and an entry that spans several funds is written as one
transaction per fund, so that hledger's own balancing check proves every entry
balances per fund and unit.

hledger syntax details:

* ``decimal-mark .`` comes first, so that ``1.500`` is one and a half.
* Every unit the exported entries use gets a ``commodity`` directive giving its
  exponent and its display with thousands separators (``commodity 1,000.00
  KZT``, ``commodity 1,000. "FOOD-PACKAGE"``).  A unit code that is not letters
  only is written in double quotes, in directives and in amounts.
* Every account gets an ``account`` directive (with the ledger's account codes,
  the fund code and the units it holds as tags); the roots are declared with their account
  types (``type: A``, ``L``, ``E``, ``R``, ``X``).  With commodities and
  accounts declared, ``hledger check --strict`` passes.
* Each transaction is ``DATE * (SEQ) PAYEE | NARRATION`` (or ``DATE * (SEQ)
  NARRATION`` when there is no payee), from
  :func:`aidledger.exports.narration.describe`: dated in the entry's own time
  zone, with the entry's sequence number as the transaction code.  hledger has
  no quoting, so free text (the description, and tag values) is written as the
  body of a JSON string literal: backslash, double quote and control characters
  are escaped (``\\n``, ``\\t``, ``\\u0001``...), and so are the characters
  hledger would cut the text at (``;`` in descriptions, ``|`` in payees, ``,`` in
  tag values) and white space at either end, which hledger trims.
  ``json.loads('"' + text + '"')`` gives the original back; text without those
  characters (Cyrillic, colons included) is written as it is.
* Entry fields and tags are transaction tags, one per comment line: ``id``,
  ``seq``, ``kind``, ``actor``, ``effective``, ``time-zone``, ``recorded``, and
  where present ``idempotency-key``, ``source``, ``reverses``, ``approved-by``,
  ``memo``; then ``fund`` and every entry tag under its own name, so that
  ``hledger bal tag:programme=^P$`` works (a tag whose name is not a plain key
  goes into ``entry-tags``, JSON); then ``claims`` and ``releases`` (JSON).
* With ``summary="day" | "week" | "month"`` (and ``by`` dimensions), entries are
  added up per period, fund and dimension values into one transaction each,
  tagged ``period`` and ``entries``; the balance assertions are the detailed
  journal's.
* The journal ends with one transaction of balance assertions
  (``ACCOUNT  0 KZT == BALANCE KZT``; ``=`` in an account holding several
  units) for every account/fund pair, taken from the ledger's trial balance
  and dated the day after the last transaction (or after ``as_of``).  hledger
  compares them exactly, so ``hledger check`` fails unless its totals equal the
  library's to the minor unit.

Directives other than ``decimal-mark`` come after the transactions, for the
same reason as in the Beancount export (entries are streamed once); hledger
applies them to the whole journal wherever they are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Final, TextIO

from aidledger.core.amounts import Unit
from aidledger.core.entries import PostedEntry
from aidledger.core.window import Window
from aidledger.exports._common import (
    ExportSummary,
    Progress,
    _by_fund,
    _check_totals,
    _entries,
    _fields,
    _number,
    _opened,
    _prepare,
    _scope,
    _Tally,
    _units,
)
from aidledger.exports._summary import Group, check_summary, what, write_transactions
from aidledger.exports.narration import describe
from aidledger.ledger.ledger import Ledger

__all__ = ["export_hledger"]

_ROOT_TYPES: Final = (("Assets", "A"), ("Liabilities", "L"), ("Equity", "E"), ("Income", "R"), ("Expenses", "X"))
_PLAIN_SYMBOL: Final = re.compile(r"^[A-Za-z]+\Z")


def _text(value: str, cut_at: str) -> str:
    """``value`` as the body of a JSON string, with the characters in ``cut_at`` and edge white space escaped."""
    body = json.dumps(value, ensure_ascii=False)[1:-1]
    for char in cut_at:
        body = body.replace(char, f"\\u{ord(char):04x}")
    start = len(body) - len(body.lstrip())
    end = len(body.rstrip())
    if start or end < len(body):
        edge = "".join(f"\\u{ord(c):04x}" for c in body[:start])
        tail = "".join(f"\\u{ord(c):04x}" for c in body[end:]) if end > start else ""
        body = edge + body[start:end] + tail
    return body


def _description(text: str) -> str:
    """A payee, or a narration without a payee: hledger cuts descriptions at ``;`` and payees at ``|``."""
    return _text(text, ";|")


def _tag(value: str) -> str:
    return _text(value, ",;")


def _symbol(unit: Unit) -> str:
    return unit.code if _PLAIN_SYMBOL.match(unit.code) else f'"{unit.code}"'


def _amount(minor: int, unit: Unit) -> str:
    return f"{_number(minor, unit)} {_symbol(unit)}"


def _header(day: str, posted: PostedEntry) -> str:
    """``DATE * (SEQ) PAYEE | NARRATION``, or without the payee part when the entry has none."""
    said = describe(posted.entry)
    if said.payee is None:
        description = _description(said.narration)
    else:
        description = f"{_description(said.payee)} | {_text(said.narration, ';')}"
    return f"{day} * ({posted.seq}) {description}\n"


def _transactions(posted: PostedEntry, tally: _Tally) -> str:
    entry = posted.entry
    day = entry.effective_at.date()
    tally.dated(day)
    tally.entries += 1
    header = _header(day.isoformat(), posted)
    parts = []
    for fund, postings in _by_fund(entry.postings):
        tally.transactions += 1
        lines = [header, *(f"    ; {name}: {_tag(value)}\n" for name, value in _fields(posted, fund.code))]
        for posting in postings:
            pair = tally.add(posting)
            lines.append(f"    {pair.name}  {_amount(posting.minor, posting.account.unit)}\n")
        parts.append("".join(lines) + "\n")
    return "".join(parts)


_HEADER: Final = (
    "; Exported by aidledger: {what}, dated in the entry's time zone.\n{scope}"
    "; Accounts are <type>:<account>:<FUND>; free text is JSON-escaped; the balance assertions at the end are\n"
    "; the ledger's trial balance.\n"
    "decimal-mark .\n\n"
)


def _summarised(group: Group, by: Sequence[str]) -> str:
    """One summary transaction: the group's net per account, with its period, entry count and dimensions."""
    lines = [f"{group.day.isoformat()} * {_description(group.narration(by))}\n"]
    lines.append(f"    ; period: {group.period}\n    ; entries: {group.entries}\n    ; fund: {_tag(group.fund)}\n")
    lines.extend(f"    ; {name}: {_tag(value)}\n" for name, value in group.tags(by))
    for pair, minor in sorted(group.sums.values(), key=lambda item: (item[0].name, item[0].account.unit.code)):
        if minor:
            lines.append(f"    {pair.name}  {_amount(minor, pair.account.unit)}\n")
    return "".join(lines) + "\n"


def _directives(out: TextIO, tally: _Tally, balances: dict[tuple[str, str], int], as_of: dt.datetime | None) -> int:
    """Write the account directives and the balance assertions; return how many assertions were written."""
    for root, kind in _ROOT_TYPES:
        out.write(f"account {root}  ; type: {kind}\n")
    groups = _opened(tally.pairs.values())
    for name, group in groups:
        codes, held = (" ".join(p.account.code for p in group), " ".join(p.account.unit.code for p in group))
        out.write(f"account {name}  ; account: {_tag(codes)}, fund: {_tag(group[0].fund.code)}, units: {_tag(held)}\n")
    pairs = [(pair, "==" if len(group) == 1 else "=") for _, group in groups for pair in group]
    if pairs:
        day = tally.assertion_day(as_of).isoformat()
        out.write(f"\n{day} * balance assertions: the aidledger trial balance\n")
        for pair, sign in pairs:
            unit = pair.account.unit
            minor = balances.get((pair.account.code, pair.fund.code), 0)
            out.write(f"    {pair.name}  {_amount(0, unit)} {sign} {_amount(minor, unit)}\n")
    return len(pairs)


def export_hledger(
    ledger: Ledger,
    out: TextIO,
    *,
    window: Window | None = None,
    progress: Progress | None = None,
    summary: str | None = None,
    by: Sequence[str] = (),
) -> ExportSummary:
    """Write ``ledger`` to ``out`` as an hledger journal that checks its own totals.

    Entries are streamed from the ledger a page at a time; only the set of
    account/fund pairs and their totals is kept in memory.  See the module
    documentation for the mapping and for how free text is escaped.

    Args:
        ledger: the ledger to export.
        out: a text stream to write to (a file opened with ``encoding="utf-8"``).
        window: which entries (a :class:`~aidledger.Window`: effective ``start``, ``end``,
            ``as_of``, recorded ``known_at``, log ``through``); by default every entry recorded
            when the export starts.
        progress: called as ``progress("entries", done, total)`` while entries are read.
        summary: ``day``, ``week`` or ``month`` for a summarised journal: one transaction per period, fund
            and the dimensions ``by``, tagged ``entries`` (how many it stands for) and ``period``; the same
            balance assertions as the detailed journal.
        by: with ``summary``, the dimensions kept apart (``programme``, ``project``, ``purpose``, ``region``,
            ``donor``, ``list``).

    Returns:
        What was written, with the window that reproduces it.

    Raises:
        InvalidArgument: ``ledger`` is not a Ledger, ``out`` cannot be written,
            a time is naive, two ledger accounts (or funds) would get one name, or
            the summary or its dimensions are unknown.
        StorageError: the ledger changed under the export in a way the
            snapshot could not exclude; export again with the summary's window.
    """
    ledger, snapshot, balances, tally = _prepare(ledger, out, window, journal=True)
    period, names = check_summary(summary, by)
    out.write(_HEADER.format(what=what(period, names), scope=_scope(snapshot)))
    write_transactions(out, _entries(ledger, snapshot, progress), tally, (period, names), _transactions, _summarised)
    _check_totals(tally.sums(), balances)
    units = _units(tally)
    for unit in units:
        sample = "1,000." + "0" * unit.exponent
        out.write(f"commodity {sample} {_symbol(unit)}\n")
    out.write("\n")
    pairs = _directives(out, tally, balances, snapshot.window.as_of)
    return tally.summary("hledger", snapshot, units=len(units), assertions=pairs)
