"""The IATI activity model the export fills and the XML writer that serialises it, in the 2.03 schema's order.

:mod:`aidledger.exports.iati` reads the ledger into :class:`_Activity` values;
:class:`_Writer` turns each into one ``iati-activity`` element.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from aidledger.exports.iati import ReportingOrg

_XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
# Characters XML 1.0 cannot carry at all (C0 controls but tab, newline and return; U+FFFE, U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Organisation roles (IATI OrganisationRole codelist).
_FUNDING, _ACCOUNTABLE, _IMPLEMENTING = "1", "2", "4"
# Activity status (IATI ActivityStatus codelist).
_PIPELINE, _IMPLEMENTATION, _FINALISATION = "1", "2", "3"
# Activity date types: planned start, actual start.
_PLANNED_START, _ACTUAL_START = "1", "2"
_STANDARD_GRANT: Final = "110"


@attrs.frozen
class _Txn:
    """One transaction to write."""

    type: str
    day: dt.date
    currency: str
    exponent: int
    minor: int
    description: str
    ref: str | None = None
    receiver: str | None = None
    from_reporter: bool = False


@attrs.frozen
class _Budget:
    """One budget line to write as an IATI ``budget`` (type 1 original, status 1 indicative)."""

    start: dt.date
    end: dt.date
    currency: str
    exponent: int
    minor: int


@attrs.define
class _Activity:
    """One activity to write, with everything read from the ledger."""

    code: str
    title: str
    description: str
    fund: str
    purpose: str
    planned: dt.date
    updated: int
    grantee: str | None = None
    first: dt.date | None = None
    transactions: list[_Txn] = attrs.Factory(list)
    committed: dict[str, int] = attrs.Factory(lambda: defaultdict(int))
    disbursed: dict[str, int] = attrs.Factory(lambda: defaultdict(int))
    budgets: list[_Budget] = attrs.Factory(list)

    def saw(self, day: dt.date, recorded: int) -> None:
        """An entry of this activity took effect on ``day`` and was recorded at ``recorded``."""
        self.first = day if self.first is None else min(self.first, day)
        self.updated = max(self.updated, recorded)

    @property
    def status(self) -> str:
        if not self.transactions and self.first is None:
            return _PIPELINE
        if self.grantee is not None:
            if not any(self.committed.values()):
                return _PIPELINE
            if all(self.disbursed.get(c, 0) == minor for c, minor in self.committed.items()):
                return _FINALISATION
        return _IMPLEMENTATION


@attrs.define
class _Sum:
    """A monthly sum of ledger entries of one kind, in one currency."""

    minor: int = 0
    entries: int = 0
    last: dt.date = dt.date.min
    exponent: int = 0


def _clean(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _decimal(minor: int, exponent: int) -> str:
    """The exact decimal of ``minor`` smallest units with ``exponent`` decimals (``5000000, 2`` -> ``50000.00``)."""
    with localcontext() as context:
        context.prec = 60
        return format(Decimal(minor).scaleb(-exponent), "f")


def _timestamp(micros: int) -> str:
    """An ``xsd:dateTime`` in UTC, to the second."""
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Writer:
    """Builds one ``iati-activity`` element at a time, in the order the 2.03 schema requires."""

    def __init__(
        self, org: ReportingOrg, default_currency: str, country: str | None, sectors: Mapping[str, str], language: str
    ) -> None:
        self.org = org
        self.default_currency = default_currency
        self.country = country
        self.sectors = sectors
        self.language = language

    @staticmethod
    def _narrative(parent: ET.Element, text: str) -> None:
        ET.SubElement(parent, "narrative").text = _clean(text)

    def _text(self, parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, tag, {k.replace("_", "-"): _clean(v) for k, v in attributes.items()})
        self._narrative(element, text)
        return element

    def _org(self, parent: ET.Element, tag: str, **attributes: str) -> None:
        self._text(parent, tag, self.org.name, ref=self.org.ref, type=self.org.type, **attributes)

    def activity(self, activity: _Activity) -> ET.Element:
        root = ET.Element(
            "iati-activity",
            {
                _XML_LANG: self.language,
                "default-currency": self.default_currency,
                "last-updated-datetime": _timestamp(activity.updated),
            },
        )
        ET.SubElement(root, "iati-identifier").text = _clean(f"{self.org.ref}-{activity.code}")
        self._org(root, "reporting-org")
        self._text(root, "title", activity.title)
        self._text(root, "description", activity.description, type="1")
        self._org(root, "participating-org", role=_FUNDING)
        self._org(root, "participating-org", role=_ACCOUNTABLE)
        if activity.grantee is None:
            self._org(root, "participating-org", role=_IMPLEMENTING)
        else:
            self._text(root, "participating-org", activity.grantee, role=_IMPLEMENTING)
        ET.SubElement(root, "activity-status", code=activity.status)
        if activity.first is not None:
            ET.SubElement(root, "activity-date", {"type": _ACTUAL_START, "iso-date": activity.first.isoformat()})
        else:
            ET.SubElement(root, "activity-date", {"type": _PLANNED_START, "iso-date": activity.planned.isoformat()})
        if self.country is not None:
            ET.SubElement(root, "recipient-country", code=self.country, percentage="100")
        dac = self.sectors.get(activity.purpose)
        if dac is not None:
            ET.SubElement(root, "sector", vocabulary="1", code=dac, percentage="100")
        else:
            self._text(root, "sector", activity.purpose, vocabulary="99", code=activity.purpose, percentage="100")
        ET.SubElement(root, "default-finance-type", code=_STANDARD_GRANT)
        for budget in activity.budgets:
            element = ET.SubElement(root, "budget", {"type": "1", "status": "1"})
            ET.SubElement(element, "period-start", {"iso-date": budget.start.isoformat()})
            ET.SubElement(element, "period-end", {"iso-date": budget.end.isoformat()})
            dated = {"currency": budget.currency, "value-date": budget.start.isoformat()}
            value = ET.SubElement(element, "value", dated)
            value.text = _decimal(budget.minor, budget.exponent)
        for txn in activity.transactions:
            self._transaction(root, txn)
        return root

    def _transaction(self, parent: ET.Element, txn: _Txn) -> None:
        element = ET.SubElement(parent, "transaction", {} if txn.ref is None else {"ref": _clean(txn.ref)})
        ET.SubElement(element, "transaction-type", code=txn.type)
        ET.SubElement(element, "transaction-date", {"iso-date": txn.day.isoformat()})
        value = ET.SubElement(element, "value", {"currency": txn.currency, "value-date": txn.day.isoformat()})
        value.text = _decimal(txn.minor, txn.exponent)
        self._text(element, "description", txn.description)
        if txn.from_reporter:
            self._org(element, "provider-org")
        if txn.receiver is not None:
            self._text(element, "receiver-org", txn.receiver)
