"""Export a ledger as CSV, one row per posting, safe to open in a spreadsheet.

Columns, in order (a header row names them):

``entry_seq``, ``entry_id``, ``line`` (the posting's number in its entry, from 1),
``effective_at`` (ISO 8601 with the offset of the entry's own time zone),
``time_zone``, ``recorded_at`` (ISO 8601, UTC), ``kind``, ``actor``, ``memo``,
``idempotency_key``, ``source``, ``reverses``, ``approved_by``, ``account``
(the ledger's account code), ``account_type``, ``fund``, ``unit``, ``amount``
(signed, debits positive, a plain decimal with the unit's exponent:
``-50000.00``, ``12.345``), ``side`` (``debit`` or ``credit``), ``tags`` (the
entry's tags as a JSON object; beneficiaries appear by pseudonym only), ``payee`` and ``narration`` (what the
entry says to a reader, the same as in the Beancount and hledger exports: see :mod:`aidledger.exports.narration`;
a payee is a donor, grantee or provider, never a household).

**Personal data, on request only.**  With ``registry=`` (a
:class:`~aidledger.Registry`), seven columns follow (:data:`PERSONAL_COLUMNS`):
``beneficiary`` (the entry's pseudonym), ``beneficiary_status``
(``registered``, ``unreadable`` when the person's key was destroyed, ``unknown``
when the registry holds nothing: never registered, or erased), and the
person's ``registry_id``, ``name``, ``national_id``, ``phone`` and ``address``.
Rows of entries without a beneficiary leave them empty.  Without it, the file
holds pseudonyms only.

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
from collections.abc import Iterable, Iterator
from typing import Final, TextIO

from aidledger.core.beneficiaries import Beneficiary
from aidledger.core.entries import PostedEntry
from aidledger.core.errors import InvalidArgument
from aidledger.core.times import zone_name
from aidledger.core.window import Window
from aidledger.exports._common import ExportSummary, Progress, _entries, _json, _number, _prepare, _Tally
from aidledger.exports.narration import describe
from aidledger.ledger.ledger import Ledger
from aidledger.registry.registry import Person, Registry
from aidledger.vocabulary import Tag

__all__ = ["COLUMNS", "PERSONAL_COLUMNS", "export_csv", "neutralise"]

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
    "payee",
    "narration",
)
#: The columns ``registry=`` adds: personal data from the registry.
PERSONAL_COLUMNS: Final = (
    "beneficiary",
    "beneficiary_status",
    "registry_id",
    "name",
    "national_id",
    "phone",
    "address",
)
_CHUNK: Final = 500
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
    said = describe(entry)
    tail = [neutralise(_json(dict(entry.tags))), neutralise(said.payee or ""), neutralise(said.narration)]
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
                *tail,
            ]
        )
    return rows


def _chunks(entries: Iterable[PostedEntry]) -> Iterator[list[PostedEntry]]:
    chunk: list[PostedEntry] = []
    for posted in entries:
        chunk.append(posted)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pseudonym(posted: PostedEntry) -> str | None:
    """The entry's beneficiary pseudonym, if it has a well-formed one."""
    text = posted.entry.tags.get(Tag.BENEFICIARY)
    if text is None:
        return None
    try:
        return Beneficiary(text).pseudonym
    except InvalidArgument:
        return None


def _personal(person: Person | None) -> list[str]:
    if person is None:
        return [""] * len(PERSONAL_COLUMNS)
    fields = [person.registry_id, person.name, person.national_id, person.phone, person.address]
    return [person.beneficiary.pseudonym, person.status.value, *(neutralise(f) for f in fields)]


def export_csv(
    ledger: Ledger,
    out: TextIO,
    *,
    window: Window | None = None,
    progress: Progress | None = None,
    registry: Registry | None = None,
) -> ExportSummary:
    """Write ``ledger`` to ``out`` as CSV, one row per posting, with text cells neutralised against formulas.

    Entries are streamed from the ledger a page at a time and rows are written
    as they come.  See the module documentation for the columns and the
    formula-injection rule.

    Args:
        ledger: the ledger to export.
        out: a text stream to write to (a file opened with ``newline=""`` and ``encoding="utf-8"``).
        window: which entries (a :class:`~aidledger.Window`: effective ``start``, ``end``,
            ``as_of``, recorded ``known_at``, log ``through``); by default every entry recorded
            when the export starts.
        progress: called as ``progress("entries", done, total)`` while entries are read.
        registry: only to write personal data: the registry whose names, national
            ids, phones and addresses are added next to each pseudonym (see the
            module documentation).  The file then holds personal data.

    Returns:
        What was written (``postings`` is the number of data rows), with the
        window that reproduces it.

    Raises:
        InvalidArgument: ``ledger`` is not a Ledger, ``registry`` not a Registry,
            ``out`` cannot be written, or a time is naive.
    """
    if registry is not None and not isinstance(registry, Registry):
        raise InvalidArgument(f"registry must be a Registry, got {type(registry).__name__}", value=registry)
    ledger, snapshot, _, tally = _prepare(ledger, out, window, journal=False)
    writer = _csv.writer(out, quoting=_csv.QUOTE_MINIMAL, lineterminator="\r\n")
    if registry is None:
        writer.writerow(COLUMNS)
        for posted in _entries(ledger, snapshot, progress):
            writer.writerows(_rows(posted, tally))
        return tally.summary("csv", snapshot, units=len(tally.units), assertions=0)
    writer.writerow((*COLUMNS, *PERSONAL_COLUMNS))
    for chunk in _chunks(_entries(ledger, snapshot, progress)):
        people = registry.lookup({p for p in map(_pseudonym, chunk) if p is not None})
        for posted in chunk:
            pseudonym = _pseudonym(posted)
            extra = _personal(None if pseudonym is None else people[pseudonym])
            writer.writerows([*row, *extra] for row in _rows(posted, tally))
    return tally.summary("csv", snapshot, units=len(tally.units), assertions=0)
