"""Export a ledger as CSV, one row per posting, safe to open in a spreadsheet.

Columns, in order (a header row names them):

``entry_seq``, ``entry_id``, ``line`` (the posting's number in its entry, from 1),
``effective_at`` (ISO 8601 with the offset of the entry's own time zone),
``time_zone``, ``recorded_at`` (ISO 8601, UTC), ``kind``, ``actor``, ``memo``,
``idempotency_key``, ``source``, ``reverses``, ``approved_by``, ``account``
(the ledger's account code), ``account_type``, ``fund``, ``unit``, ``amount``
(signed, debits positive, a plain decimal with the unit's exponent:
``-50000.00``, ``12.345``), ``side`` (``debit`` or ``credit``), ``tags`` (the
entry's tags as a JSON object; beneficiaries appear by pseudonym only).

The file is written with Python's :mod:`csv` module (comma separated, fields
quoted where needed, rows ended by CRLF), so memos with commas, quotes and line
breaks read back exactly with :func:`csv.reader`.  Open the output file with
``newline=""`` and ``encoding="utf-8"``.

**Formula injection.**  A spreadsheet evaluates a cell that starts with ``=``,
``+``, ``-`` or ``@`` (and some also after a leading tab or carriage return).
Every *text* cell that starts with one of ``= + - @``, a tab or a carriage
return, possibly after other white space, is written with a single quote
``'`` in front, and so is a text cell that already starts with ``'``: a reader
gets the exact text back by removing one leading ``'`` from any text cell that
has one.  The numeric cells (``entry_seq``, ``line``, ``amount``) are numbers
this module writes itself and are left alone, so a negative amount stays a
number; the times are generated too and start with a digit.
"""

from __future__ import annotations

import csv as _csv
import datetime as dt
from typing import Final, TextIO

from aidledger.core.entries import PostedEntry
from aidledger.core.times import zone_name
from aidledger.exports._common import ExportSummary, Progress, _entries, _json, _number, _prepare, _Tally
from aidledger.ledger.ledger import Ledger

__all__ = ["COLUMNS", "export_csv", "neutralise"]

#: The header row.
COLUMNS: Final = (
    "entry_seq",
    "entry_id",
    "line",
    "effective_at",
    "time_zone",
    "recorded_at",
    "kind",
    "actor",
    "memo",
    "idempotency_key",
    "source",
    "reverses",
    "approved_by",
    "account",
    "account_type",
    "fund",
    "unit",
    "amount",
    "side",
    "tags",
)
_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(text: str) -> str:
    """``text`` made safe for a spreadsheet cell: prefixed with ``'`` if a spreadsheet could read it as a formula.

    >>> neutralise('=HYPERLINK("x")')
    '\\'=HYPERLINK("x")'
    >>> neutralise("plain, text")
    'plain, text'
    """
    stripped = text.lstrip(" \t\r\n")
    if text.startswith(_TRIGGERS) or (stripped != text and stripped.startswith(_TRIGGERS)):
        return "'" + text
    return text


def _rows(posted: PostedEntry, tally: _Tally) -> list[list[str]]:
    entry = posted.entry
    tally.entries += 1
    tally.transactions += 1
    tally.dated(entry.effective_at.date())
    fields = [
        entry.effective_at.isoformat(),
        zone_name(entry.effective_at),
        posted.recorded_at.isoformat(),
        entry.kind,
        entry.actor,
        entry.memo,
        entry.idempotency_key or "",
        entry.source or "",
        entry.reverses or "",
        entry.approved_by or "",
    ]
    head = [neutralise(posted.id), *(neutralise(f) for f in fields)]
    tags = neutralise(_json(dict(entry.tags)))
    rows = []
    for number, posting in enumerate(entry.postings, start=1):
        tally.add(posting)
        account = posting.account
        rows.append(
            [
                str(posted.seq),
                head[0],
                str(number),
                *head[1:],
                neutralise(account.code),
                neutralise(account.type.value),
                neutralise(posting.fund.code),
                neutralise(account.unit.code),
                _number(posting.minor, account.unit),
                "debit" if posting.minor > 0 else "credit",
                tags,
            ]
        )
    return rows


def export_csv(
    ledger: Ledger,
    out: TextIO,
    *,
    as_of: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write ``ledger`` to ``out`` as CSV, one row per posting, with text cells neutralised against formulas.

    Entries are streamed from the ledger a page at a time and rows are written
    as they come.  See the module documentation for the columns and the
    formula-injection rule.

    Args:
        ledger: the ledger to export.
        out: a text stream to write to (a file opened with ``newline=""`` and ``encoding="utf-8"``).
        as_of: only entries effective at or before this aware time.
        known_at: only entries the ledger had recorded by this aware time; by
            default those recorded when the export starts.
        progress: called as ``progress("entries", done, total)`` while entries are read.

    Returns:
        What was written (``postings`` is the number of data rows), with the
        ``known_at`` that reproduces it.

    Raises:
        InvalidArgument: ``ledger`` is not a Ledger, ``out`` cannot be written, or a time is naive.
    """
    ledger, snapshot, _, tally, _ = _prepare(ledger, out, as_of, known_at, journal=False)
    writer = _csv.writer(out, quoting=_csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for posted in _entries(ledger, snapshot, progress):
        writer.writerows(_rows(posted, tally))
    return tally.summary("csv", snapshot, units=len(tally.units), assertions=0)
