"""IATI 2.03 activity XML: what the ledger's programmes, grants and goods did, for publication.

One ``iati-activity`` is written for each

- **one-off programme** (records of kind ``programme``), with its expenditure;
- **housing grant project** (records of kind ``project``), with its commitment
  and its tranches;
- **in-kind distribution** of goods from one fund for one purpose (the
  ``goods-delivery`` entries of that fund and purpose), with the delivered
  goods' value as expenditure.

The identifier is ``<reporting-org ref>-<code>``: the programme's or project's
code, and ``GOODS-<fund>-<purpose>`` for a distribution.  Identifiers must never
change once published, so they depend on codes only; two activities with the
same identifier refuse the export.

Transactions, and how ledger entries become them:

=======================  ==================================================================
transaction type         from
=======================  ==================================================================
1 Incoming Funds         cash donations into the activity's fund, net of refunds, and fund
                         transfers (releases, designations) into or out of it; one
                         transaction per month and kind and currency
11 Incoming Commitment   pledges to the activity's fund (negative: pledges written off);
                         per month
2 Outgoing Commitment    a grant commitment (one per commitment entry); one-off payments
                         approved, per month (approving a list commits its money: the
                         ledger owes it to the households); as a separate *negative*
                         commitment per month, the payments the provider reported failed
                         and those it reported returned (their commitment is released)
3 Disbursement           a grant tranche (one per tranche); a clawback is a *negative*
                         disbursement (one per clawback); one-off payments the provider
                         reported paid, per month, and as a separate *negative*
                         disbursement those it reported returned
4 Expenditure            goods delivered in kind, at their average cost, per month
=======================  ==================================================================

The three stages of money, as OCHA's Financial Tracking Service and IATI name them:

===============================  ===================  =============================================
in the ledger                    FTS                  IATI
===============================  ===================  =============================================
a budget line                    pledge (the plan)    the activity's ``budget`` (not a transaction)
a list or tranche approved       commitment           2 Outgoing Commitment
a payment or tranche paid        paid contribution    3 Disbursement
goods delivered in kind          paid contribution    4 Expenditure
a payment failed                 commitment released  negative 2
a payment returned               money back           negative 3 and negative 2
a clawback                       money back           negative 3 (the grant's commitment is restored)
===============================  ===================  =============================================

A programme's or project's **budget lines** are its activity's ``budget``
elements (type 1 original, status 1 indicative), each with its period and
amount.  For a programme the sums agree with the ledger to the minor unit: the
outgoing commitments (2) add up to what its expense accounts hold (approved −
failed − returned), the disbursements (3) to what was paid net of returns, and
commitments minus disbursements to what is still due to households (approved,
not yet paid nor failed), which is what its budget line holds as committed.  A
grant's commitments minus its disbursements are its remaining commitment.

Returned and failed money is reported as negative transactions (and clawbacks as
negative disbursement): IATI values may be negative, and no transaction type
fits money coming back from a household or grantee (type 6 is *Loan Repayment*,
type 7 *Reimbursement*, a disbursement covering costs the recipient already
had).

Goods donated in kind are not incoming funds (IATI 2.03 has no transaction type
for goods received); their value is reported when they are delivered.  Goods lost
or written off, payments sent to the provider and conversions between currencies
are movements inside the fund and are not reported.

Incoming funds and pledges belong to a fund, not to an activity; they are
reported on an activity only when it is the only one exported that uses its
fund, since reporting them on two activities would count them twice.  The
funds whose incoming money was not reported are listed in
:attr:`IatiSummary.unattributed_funds`.

What is never exported: beneficiary pseudonyms, payment references, list
codes, region tags, provider report lines, donors' names (a donor may be a
private person) and the memos of payment entries.  Payments are only ever
written as monthly sums with a count of ledger entries.  What is exported as
written by people: programme names, fund names, project descriptions, grantee
names (an organisation), tranche milestones and clawback reasons; all of it is
escaped, and characters XML 1.0 cannot carry (control characters) are replaced
by U+FFFD, so any text the ledger accepts gives a well-formed document.

Amounts are written exactly from the integer minor units the ledger stores, with
the currency's exponent (``50000.00`` KZT, ``1200`` JPY), each with its
``currency`` and ``value-date``.  Dates are the entries' effective dates in
their own time zones; a monthly sum is dated on the last day an entry of it
took effect.

The XSD requires at least one ``iati-activity``: a ledger with nothing to
report gives a well-formed ``iati-activities`` element with no children (and
``IatiSummary.activities == 0``), which a publisher should not publish.

The export uses only the standard library (``xml.etree.ElementTree``) and writes
activity by activity: it reads the ledger in two grouped queries (payments are
summed by the database, so 360,000 payments are a few rows), checks everything,
then streams.  A refused export writes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import types
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO, Final

import attrs

from aidledger.core.accounts import Account, AccountType, Side
from aidledger.core.amounts import UnitKind, currency
from aidledger.core.entries import check_text
from aidledger.core.errors import DuplicateDefinition, InvalidArgument
from aidledger.core.times import from_micros, now, to_micros
from aidledger.core.window import Digest, Window
from aidledger.exports._iati_xml import (
    _Activity,
    _Budget,
    _decimal,
    _Sum,
    _timestamp,
    _Txn,
    _Writer,
)
from aidledger.ledger.balances import Balances, PostingGroup
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import Record
from aidledger.vocabulary import GRANT_KINDS, TRANSFERS_PREFIX, BudgetLine, Kind, Owner, RecordKind, Tag

IATI_VERSION: Final = "2.03"

#: The OrganisationType codelist of IATI 2.03.
ORGANISATION_TYPES: Final = frozenset(
    {"10", "11", "15", "21", "22", "23", "24", "30", "40", "60", "70", "71", "72", "73", "80", "90"}
)

#: Purposes mapped to OECD DAC 5-digit sector codes (IATI sector vocabulary 1).  A purpose not
#: listed here (nor in the ``sectors`` argument) is reported in vocabulary 99, the reporting
#: organisation's own codes, with the purpose as its code.
DEFAULT_SECTORS: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "cash-aid": "72010",  # Material relief assistance and services (cash and vouchers included)
        "flood-relief": "72010",  # Material relief assistance and services
        "emergencies": "72010",  # Material relief assistance and services
        "food": "72040",  # Emergency food assistance
        "medical-workers": "72011",  # Basic health care services in emergencies
        "housing": "73010",  # Immediate post-emergency reconstruction and rehabilitation
    }
)

_ORG_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*-[A-Za-z0-9._-]*[A-Za-z0-9]\Z")
_COUNTRY = re.compile(r"^[A-Z]{2}\Z")
_LANGUAGE = re.compile(r"^[a-z]{2}\Z")
_DAC5 = re.compile(r"^[0-9]{5}\Z")

# Transaction types (IATI TransactionType codelist).
INCOMING_FUNDS: Final = "1"
OUTGOING_COMMITMENT: Final = "2"
DISBURSEMENT: Final = "3"
EXPENDITURE: Final = "4"
INCOMING_COMMITMENT: Final = "11"


#: A one-off payment's stages: (entry kind, the account type whose postings measure it, transaction type, text).
#: Approval commits (the amount due is owed to the household), the provider's payment disburses; a failure
#: releases the commitment, a return takes back the disbursement and releases the commitment.
_PAYMENT_STAGES: Final = (
    (Kind.PAYMENT.value, AccountType.EXPENSE, OUTGOING_COMMITMENT, "Payments approved (committed)"),
    (
        Kind.PAYMENT_FAILED.value,
        AccountType.EXPENSE,
        OUTGOING_COMMITMENT,
        "Payments the provider reported failed (commitment released, money back to the fund)",
    ),
    (Kind.PAYMENT_PAID.value, AccountType.LIABILITY, DISBURSEMENT, "Payments the provider reported paid"),
    (
        Kind.PAYMENT_RETURNED.value,
        AccountType.EXPENSE,
        DISBURSEMENT,
        "Payments the provider reported returned (money back to the fund)",
    ),
    (
        Kind.PAYMENT_RETURNED.value,
        AccountType.EXPENSE,
        OUTGOING_COMMITMENT,
        "Payments the provider reported returned (commitment released)",
    ),
)
_PAYMENT_KINDS: Final = frozenset(kind for kind, *_ in _PAYMENT_STAGES)
_PAYMENT_TEXTS: Final = {(kind, type_): text for kind, _, type_, text in _PAYMENT_STAGES}
_INCOMING_KINDS: Final = {
    Kind.DONATION.value: "Cash donations received",
    Kind.REFUND.value: "Donations refunded to donors",
    Kind.RELEASE.value: "Released from a donor restriction (between funds)",
    Kind.DESIGNATION.value: "Designated by the board (between funds)",
    Kind.UNDESIGNATION.value: "Board designation undone (between funds)",
}
_PLEDGE_KINDS: Final = {Kind.PLEDGE.value: "Pledges made", Kind.PLEDGE_WRITE_OFF.value: "Pledges written off"}
_GOODS_KIND: Final = Kind.GOODS_DELIVERY.value
_GRANT_KINDS: Final = tuple(kind.value for kind in GRANT_KINDS)


def _check_org_ref(_: object, __: object, value: Any) -> None:
    if not isinstance(value, str) or not _ORG_REF.match(value):
        raise InvalidArgument(
            "reporting-org ref must be an IATI organisation identifier, {agency}-{number} without spaces "
            f"(such as 'XM-DAC-000-0000' or 'KZ-BIN-123456789012'); got {value!r}",
            value=value,
        )


def _check_org_name(_: object, __: object, value: Any) -> None:
    check_text("reporting-org name", value, allow_empty=False, limit=500)


def _check_org_type(_: object, __: object, value: Any) -> None:
    if not isinstance(value, str) or value not in ORGANISATION_TYPES:
        raise InvalidArgument(
            f"reporting-org type must be a code of the IATI OrganisationType codelist "
            f"({', '.join(sorted(ORGANISATION_TYPES))}), got {value!r}",
            value=value,
        )


@attrs.frozen
class ReportingOrg:
    """The organisation publishing the IATI file (the fund that keeps the ledger).

    Attributes:
        ref: its IATI organisation identifier, ``{registration agency}-{number}``, such as
            ``XM-DAC-000-0000`` or ``KZ-BIN-123456789012``; every activity identifier starts with it.
        name: its name, as written in every ``reporting-org`` narrative.
        type: its code in the IATI OrganisationType codelist, as text (``"60"`` foundation,
            ``"22"`` national NGO, ``"10"`` government, ...).
    """

    ref: str = attrs.field(validator=_check_org_ref)
    name: str = attrs.field(validator=_check_org_name)
    type: str = attrs.field(validator=_check_org_type)


@attrs.frozen
class IatiSummary:
    """What :func:`export_iati` wrote.

    Attributes:
        activities: the number of ``iati-activity`` elements.
        transactions: the number of ``transaction`` elements, over all activities.
        identifiers: the activities' identifiers, in the order written.
        unattributed_funds: funds that received money or pledges which no activity reports,
            because several exported activities use the fund, or none does.
        window: the window the export covered: the one given, through the ledger's head
            (its digest) when it named no digest.
    """

    activities: int
    transactions: int
    identifiers: tuple[str, ...]
    unattributed_funds: tuple[str, ...]
    window: Window = attrs.field(factory=Window)


def export_iati(
    ledger: Ledger,
    out: BinaryIO,
    *,
    reporting_org: ReportingOrg,
    window: Window | None = None,
    generated_at: dt.datetime | None = None,
    default_currency: str = "KZT",
    country: str | None = None,
    sectors: Mapping[str, str] | None = None,
    language: str = "en",
) -> IatiSummary:
    """Write the ledger's programmes, grant projects and in-kind distributions as IATI 2.03 activity XML.

    Args:
        ledger: the ledger to export.
        out: a **binary** stream (a file opened with ``"wb"``, ``io.BytesIO``): the document is
            UTF-8 and says so in its XML declaration.
        reporting_org: the publishing organisation; its ``ref`` prefixes every activity identifier.
        window: which entries (a :class:`~aidledger.Window`); its ``known_at`` also leaves out
            programmes and projects recorded later, so an export made at time T is reproduced
            exactly later with ``Window(known_at=T)``.  By default every entry recorded when the
            export starts.
        generated_at: the ``generated-datetime`` of the file (default: now). Pass it to get
            byte-identical output for the same ledger.
        default_currency: the ``default-currency`` of each activity (ISO 4217). Every ``value``
            names its currency anyway.
        country: ISO 3166-1 alpha-2 code of the recipient country (``"KZ"``), written on every
            activity at 100 %; by default none is written.
        sectors: purpose -> OECD DAC 5-digit sector code, on top of :data:`DEFAULT_SECTORS`.
        language: ISO 639-1 code of the narratives (``xml:lang`` of each activity).

    Returns:
        How many activities and transactions were written, which funds' incoming money no
        activity reports, and the window covered.

    Raises:
        InvalidArgument: an argument has the wrong type or value (InvalidTime for a naive time).
        DuplicateDefinition: two activities would have the same identifier (a programme and a
            project with the same code, say).
        DigestMismatch: the window runs through a digest this ledger does not hold.
    """
    _check_target(ledger, out, reporting_org, window)
    generated = _timestamp(to_micros(now() if generated_at is None else generated_at, "generated_at"))
    writer = _Writer(reporting_org, *_options(default_currency, country, sectors, language))
    covered = _covered(ledger, window)
    activities, unattributed = _Reader(ledger, covered).read()
    identifiers = _identifiers(reporting_org, activities)
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<iati-activities version="{IATI_VERSION}" generated-datetime="{generated}">\n'.encode())
    for activity in activities:
        element = writer.activity(activity)
        ET.indent(element, space="  ", level=1)
        out.write(b"  " + ET.tostring(element, encoding="unicode").encode("utf-8") + b"\n")
    out.write(b"</iati-activities>\n")
    return IatiSummary(
        activities=len(activities),
        transactions=sum(len(activity.transactions) for activity in activities),
        identifiers=identifiers,
        unattributed_funds=unattributed,
        window=covered,
    )


def _check_target(ledger: object, out: object, reporting_org: object, window: object) -> None:
    """Raise InvalidArgument unless the ledger, the stream, the organisation and the window are usable."""
    if not isinstance(ledger, Ledger):
        raise InvalidArgument(f"expected a Ledger, got {ledger!r}", value=ledger)
    if isinstance(out, io.TextIOBase) or not callable(getattr(out, "write", None)):
        raise InvalidArgument(
            f"out must be a binary stream (open the file with 'wb', or use io.BytesIO), got {out!r}", value=out
        )
    if not isinstance(reporting_org, ReportingOrg):
        raise InvalidArgument(f"reporting_org must be a ReportingOrg, got {reporting_org!r}", value=reporting_org)
    if window is not None and not isinstance(window, Window):
        raise InvalidArgument(f"window must be a Window, got {window!r}", value=window)


def _options(
    default_currency: object, country: object, sectors: object, language: object
) -> tuple[str, str | None, dict[str, str], str]:
    """The checked default currency, country, sector codes and language; InvalidArgument otherwise."""
    if not isinstance(default_currency, str):
        raise InvalidArgument(f"default_currency must be an ISO 4217 code, got {default_currency!r}")
    if country is not None and (not isinstance(country, str) or not _COUNTRY.match(country)):
        raise InvalidArgument(f"country must be an ISO 3166-1 alpha-2 code such as 'KZ', got {country!r}")
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise InvalidArgument(f"language must be an ISO 639-1 code such as 'en', got {language!r}")
    return currency(default_currency).code, country, _sector_codes(sectors), language


def _covered(ledger: Ledger, window: Window | None) -> Window:
    """``window``, through the ledger's head when it names no digest: entries another writer posts while the
    export reads are left out of every read alike."""
    given = Window() if window is None else window
    head = ledger.head()
    if given.through is not None or not head.seq:
        return ledger.resolve(given)
    return attrs.evolve(given, through=Digest(seq=head.seq, hash=head.hash, entries=head.seq))


def _identifiers(org: ReportingOrg, activities: Iterable[_Activity]) -> tuple[str, ...]:
    """The activities' identifiers, in order; DuplicateDefinition if two would be the same."""
    seen: dict[str, str] = {}
    for activity in activities:
        identifier = f"{org.ref}-{activity.code}"
        if identifier in seen:
            raise DuplicateDefinition(
                f"two activities would both be {identifier!r} ({seen[identifier]} and {activity.title!r}); "
                "give them different codes",
                identifier=identifier,
            )
        seen[identifier] = activity.title
    return tuple(seen)


def _sector_codes(sectors: object) -> dict[str, str]:
    codes = dict(DEFAULT_SECTORS)
    if sectors is None:
        return codes
    if not isinstance(sectors, Mapping):
        raise InvalidArgument(f"sectors must map purposes to DAC 5-digit sector codes, got {sectors!r}")
    for purpose, code in sectors.items():
        if not isinstance(purpose, str) or not isinstance(code, str) or not _DAC5.match(code):
            raise InvalidArgument(
                f"sectors must map purposes to DAC 5-digit sector codes such as '72010', got {purpose!r}: {code!r}",
                purpose=purpose,
                code=code,
            )
        codes[purpose] = code
    return codes


# -- reading -----------------------------------------------------------------------------


class _Reader:
    """Reads the activities and their transactions from the ledger, in grouped reads of the ledger layer."""

    def __init__(self, ledger: Ledger, window: Window) -> None:
        self.ledger = ledger
        self.window = window
        self.accounts = {account.code: account for account in ledger.accounts()}

    def _records(self, kind: str) -> list[Record]:
        known_at = self.window.known_at
        return [r for r in self.ledger.records(kind) if known_at is None or r.recorded_at <= known_at]

    def _fund_name(self, code: str) -> str:
        fund = self.ledger.fund(code)
        return fund.name or fund.code

    def _grouped(
        self, kinds: Iterable[str], types_: Iterable[AccountType], *tags: str, per_entry: bool = False
    ) -> list[PostingGroup]:
        with self.ledger.snapshot() as connection:
            return Balances(connection).grouped(
                self.window, kinds=list(kinds), account_types=list(types_), tags=tags, per_entry=per_entry
            )

    def read(self) -> tuple[list[_Activity], tuple[str, ...]]:
        tables = _Tables(
            programmes={r.code: self._programme(r) for r in self._records(RecordKind.PROGRAMME)},
            projects={r.code: self._project(r) for r in self._records(RecordKind.PROJECT)},
        )
        kinds = [*_PAYMENT_KINDS, _GOODS_KIND, *_INCOMING_KINDS, *_PLEDGE_KINDS]
        types_ = (
            AccountType.EXPENSE,
            AccountType.LIABILITY,
            AccountType.REVENUE,
            AccountType.NET_ASSETS,
            AccountType.MEMO,
        )
        for group in self._grouped(kinds, types_, Tag.PROGRAMME, Tag.PURPOSE):
            self._take(tables, _Row.of(group, self.accounts[group.account]))
        _sum_up(tables)
        self._grants(tables.projects)
        self._budgets(tables.programmes, tables.projects)
        activities = [
            *tables.programmes.values(),
            *tables.projects.values(),
            *(tables.goods[k] for k in sorted(tables.goods)),
        ]
        unattributed = self._attribute(tables, activities)
        for activity in activities:
            activity.transactions.sort(key=lambda x: (x.day, int(x.type), x.description, x.minor))
        return activities, unattributed

    def _take(self, tables: _Tables, row: _Row) -> None:
        """Add one grouped row to the sums of its activity (or of its fund, for money coming in)."""
        account_type, is_money, kind, unit = row.account.type, row.is_money, row.group.kind, row.account.unit
        if kind in _PAYMENT_KINDS:
            activity = tables.programmes.get(row.group.tags[0] or "")
            stages = [t for k, a, t, _ in _PAYMENT_STAGES if (k, a) == (kind, account_type)]
            if activity is None or not stages or not is_money:
                return
            activity.saw(row.day, row.group.recorded)
            for type_ in stages:
                _add(tables.payments[activity.code], (type_, row.month, kind, unit.code), row)
        elif kind == _GOODS_KIND:
            purpose = row.group.tags[1]
            if account_type is not AccountType.EXPENSE or purpose is None:
                return
            key = (row.group.fund, purpose)
            activity = tables.goods.get(key)
            if activity is None:
                activity = tables.goods[key] = self._goods(row.group.fund, purpose, row.day)
            activity.saw(row.day, row.group.recorded)
            if is_money:
                _add(tables.delivered[key], (row.month, unit.code), row)
            else:
                counted = tables.counted[key][row.month]
                counted[(unit.code, unit.measure or "", unit.exponent)] += row.group.minor
        elif kind in _INCOMING_KINDS:
            is_transfer = account_type is AccountType.NET_ASSETS and row.account.code.startswith(TRANSFERS_PREFIX)
            if not is_money or not (account_type is AccountType.REVENUE or is_transfer):
                return
            # Credits to revenue (and to the transfers account) are money coming in.
            _add(tables.incoming[row.group.fund], (INCOMING_FUNDS, row.month, kind, unit.code), row, sign=-1)
            tables.saw(row)
        elif kind in _PLEDGE_KINDS:
            if account_type is not AccountType.MEMO or row.account.normal_side is not Side.DEBIT:
                return
            _add(tables.incoming[row.group.fund], (INCOMING_COMMITMENT, row.month, kind, unit.code), row)
            tables.saw(row)

    def _attribute(self, tables: _Tables, activities: list[_Activity]) -> tuple[str, ...]:
        """Report each fund's incoming money on the one activity that uses the fund; the other funds' codes."""
        users: dict[str, list[_Activity]] = defaultdict(list)
        for activity in activities:
            users[activity.fund].append(activity)
        unattributed = []
        for fund, received in sorted(tables.incoming.items()):
            if not any(found.minor for found in received.values()):
                continue
            if len(users[fund]) != 1:
                unattributed.append(fund)
                continue
            activity = users[fund][0]
            activity.updated = max(activity.updated, tables.last_seen[fund])
            name = self._fund_name(fund)
            for (type_, month, kind, unit), found in received.items():
                described = {**_INCOMING_KINDS, **_PLEDGE_KINDS}[kind]
                text = f"{described} in {month}, fund {name}: the sum of {_entries(found.entries)}"
                _append(activity, type_, found, unit, text)
        return tuple(unattributed)

    def _programme(self, record: Record) -> _Activity:
        body = record.body
        fund, purpose, unit = str(body["fund"]), str(body["purpose"]), str(body["currency"])
        who = "household" if body.get("scope") == "household" else "person"
        if body.get("amount") is not None:
            rule = f"{body['amount']} {unit} once per {who}"
        else:
            rule = f"up to {body.get('max_amount')} {unit} once per {who}"
        name = str(body.get("name") or "")
        return _Activity(
            code=record.code,
            title=name or f"One-off {purpose} programme {record.code}",
            description=(
                f"One-off {purpose} payments of programme {record.code} from fund {self._fund_name(fund)}: {rule}. "
                "Payments are reported as monthly sums; beneficiaries are never identified."
            ),
            fund=fund,
            purpose=purpose,
            planned=record.recorded_at.date(),
            updated=to_micros(record.recorded_at),
        )

    def _project(self, record: Record) -> _Activity:
        body = record.body
        fund, purpose, grantee = str(body["fund"]), str(body["purpose"]), str(body["grantee"])
        described = str(body.get("description") or "")
        return _Activity(
            code=record.code,
            title=described or f"Grant {record.code} for {purpose} to {grantee}",
            description=(
                f"Grant {record.code} for {purpose} from fund {self._fund_name(fund)} to {grantee}: "
                f"{body['amount']} {body['currency']} committed." + (f" {described}" if described else "")
            ),
            fund=fund,
            purpose=purpose,
            planned=record.recorded_at.date(),
            updated=to_micros(record.recorded_at),
            grantee=grantee,
        )

    def _goods(self, fund: str, purpose: str, day: dt.date) -> _Activity:
        name = self._fund_name(fund)
        return _Activity(
            code=f"GOODS-{fund}-{purpose}",
            title=f"In-kind distribution for {purpose} from fund {name}",
            description=(
                f"Goods for {purpose} delivered in kind from the stock of fund {name} ({fund}) to households and "
                "settlements, reported at their average cost as monthly sums."
            ),
            fund=fund,
            purpose=purpose,
            planned=day,
            updated=0,
        )

    def _budgets(self, programmes: dict[str, _Activity], projects: dict[str, _Activity]) -> None:
        """Each budget line of a programme or project as one of its activity's budgets."""
        for record in self._records(RecordKind.BUDGET_LINE):
            line = BudgetLine.from_record(record)
            owners = programmes if line.owner is Owner.PROGRAMME else projects
            activity = owners.get(line.owner_code)
            if activity is not None:
                unit = line.amount.unit
                activity.budgets.append(_Budget(line.start, line.end, unit.code, unit.exponent, line.amount.minor))

    def _grants(self, projects: dict[str, _Activity]) -> None:
        """One transaction per grant entry: commitments, tranches and clawbacks are few and each has its memo."""
        types_ = (AccountType.EXPENSE, AccountType.MEMO)
        netted: dict[tuple[int, AccountType, Side, str], tuple[_Row, int]] = {}
        for group in self._grouped(_GRANT_KINDS, types_, Tag.PROJECT, per_entry=True):
            row = _Row.of(group, self.accounts[group.account])
            if row.is_money and group.seq is not None:
                key = (group.seq, row.account.type, row.account.normal_side, row.account.unit.code)
                netted[key] = (row, netted[key][1] + group.minor if key in netted else group.minor)
        for row, minor in netted.values():
            activity = projects.get(row.group.tags[0] or "")
            if activity is not None:
                self._grant(activity, row, minor)

    @staticmethod
    def _grant(activity: _Activity, row: _Row, minor: int) -> None:
        """Add a grant entry's commitment, tranche or clawback (its postings to one kind of account)."""
        account, memo = row.account, str(row.group.memo or "").strip()
        if row.group.kind == Kind.GRANT_COMMITMENT:
            if account.type is not AccountType.MEMO or account.normal_side is not Side.DEBIT:
                return
            type_, text = OUTGOING_COMMITMENT, memo or f"Grant commitment to {activity.grantee}"
            activity.committed[row.account.unit.code] += minor
        else:
            if account.type is not AccountType.EXPENSE:
                return
            type_ = DISBURSEMENT
            if row.group.kind == Kind.GRANT_TRANCHE:
                text = f"Tranche: {memo}" if memo else "Tranche"
            else:
                text = f"Clawed back (returned by the grantee): {memo}" if memo else "Clawed back"
            activity.disbursed[row.account.unit.code] += minor
        activity.saw(row.day, row.group.recorded)
        if minor:
            activity.transactions.append(
                _Txn(
                    type=type_,
                    day=row.day,
                    currency=row.account.unit.code,
                    exponent=row.account.unit.exponent,
                    minor=minor,
                    description=text,
                    ref=str(row.group.entry_id),
                    receiver=activity.grantee,
                    from_reporter=True,
                )
            )


@attrs.frozen
class _Row:
    """One grouped row of postings, with its account and its effective day in the entries' own time zone."""

    group: PostingGroup
    account: Account
    day: dt.date

    @classmethod
    def of(cls, group: PostingGroup, account: Account) -> _Row:
        return cls(group, account, from_micros(group.effective_at, group.effective_tz).date())

    @property
    def is_money(self) -> bool:
        return self.account.unit.kind is UnitKind.CURRENCY

    @property
    def month(self) -> str:
        return f"{self.day.year:04d}-{self.day.month:02d}"


@attrs.define
class _Tables:
    """What :meth:`_Reader.read` gathers from the grouped rows, by activity (or fund) and month."""

    programmes: dict[str, _Activity]
    projects: dict[str, _Activity]
    goods: dict[tuple[str, str], _Activity] = attrs.Factory(dict)
    incoming: defaultdict[str, dict[tuple[str, str, str, str], _Sum]] = attrs.Factory(lambda: defaultdict(dict))
    payments: defaultdict[str, dict[tuple[str, str, str, str], _Sum]] = attrs.Factory(lambda: defaultdict(dict))
    delivered: defaultdict[tuple[str, str], dict[tuple[str, str], _Sum]] = attrs.Factory(lambda: defaultdict(dict))
    counted: defaultdict[tuple[str, str], defaultdict[str, defaultdict[tuple[str, str, int], int]]] = attrs.Factory(
        lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    )
    last_seen: defaultdict[str, int] = attrs.Factory(lambda: defaultdict(int))

    def saw(self, row: _Row) -> None:
        """Money or a pledge came into the row's fund, recorded at the row's time."""
        self.last_seen[row.group.fund] = max(self.last_seen[row.group.fund], row.group.recorded)


def _sum_up(tables: _Tables) -> None:
    """The monthly commitments and disbursements of the programmes, and the expenditure of the goods distributions."""
    for code, stages in tables.payments.items():
        activity = tables.programmes[code]
        for (type_, month, kind, unit), found in stages.items():
            text = f"{_PAYMENT_TEXTS[kind, type_]} in {month}: the sum of {_entries(found.entries)}"
            _append(activity, type_, found, unit, text)
    for key, valued in tables.delivered.items():
        activity = tables.goods[key]
        for (month, unit), found in valued.items():
            quantities = ", ".join(
                f"{_decimal(minor, exponent)} {measure} of {commodity}"
                for (commodity, measure, exponent), minor in sorted(tables.counted[key][month].items())
                if minor
            )
            text = f"Goods delivered in kind in {month}, at average cost"
            text += f" ({quantities})" if quantities else ""
            text += f": the sum of {_entries(found.entries)}"
            _append(activity, EXPENDITURE, found, unit, text)


def _add(sums: dict[Any, _Sum], key: Any, row: _Row, *, sign: int = 1) -> None:
    found = sums.setdefault(key, _Sum())
    found.minor += sign * row.group.minor
    found.entries += row.group.entries
    found.last = max(found.last, row.day)
    found.exponent = row.account.unit.exponent


def _append(activity: _Activity, type_: str, found: _Sum, unit: str, text: str) -> None:
    if found.minor:
        activity.transactions.append(
            _Txn(
                type=type_, day=found.last, currency=unit, exponent=found.exponent, minor=found.minor, description=text
            )
        )


# -- writing -----------------------------------------------------------------------------


def _entries(count: int) -> str:
    return f"{count} ledger entry" if count == 1 else f"{count} ledger entries"


__all__ = ["DEFAULT_SECTORS", "IatiSummary", "ReportingOrg", "export_iati"]
