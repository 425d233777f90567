"""What planning and checking records hold: budget lines, exclusion groups, verification outcomes.

Operations make these values and queries read them back from the ledger's
records, so they live below both (each with :meth:`from_record`).
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from aidledger.core.amounts import Money, currency
from aidledger.ledger.results import Record


class Owner(enum.Enum):
    """What a budget line belongs to."""

    PROGRAMME = "programme"
    PROJECT = "project"


@attrs.frozen(kw_only=True)
class BudgetLine:
    """A budget line of a programme or a grant project, funded from the owner's fund.

    Attributes:
        code: the line's code.
        owner: a programme or a project.
        owner_code: the programme's or project's code.
        fund: the fund it is funded from (the owner's).
        purpose: what it pays for (the owner's purpose).
        region: the region its payments are for, or ``None`` for any.
        start, end: the first and the last day (inclusive) its payments may be effective.
        amount: the amount budgeted.
        name: a human-readable name.
    """

    code: str
    owner: Owner
    owner_code: str
    fund: str
    purpose: str
    region: str | None
    start: dt.date
    end: dt.date
    amount: Money
    name: str

    def covers(self, day: dt.date) -> bool:
        """Whether a payment effective on ``day`` falls in the line's period."""
        return self.start <= day <= self.end

    @classmethod
    def from_record(cls, record: Record) -> BudgetLine:
        """The budget line a ``budget-line`` record holds."""
        body = record.body
        return cls(
            code=record.code,
            owner=Owner(body["owner"]),
            owner_code=str(body["owner_code"]),
            fund=str(body["fund"]),
            purpose=str(body["purpose"]),
            region=None if body["region"] is None else str(body["region"]),
            start=dt.date.fromisoformat(str(body["start"])),
            end=dt.date.fromisoformat(str(body["end"])),
            amount=Money(str(body["amount"]), currency(str(body["currency"]))),
            name=str(body["name"]),
        )


class Severity(enum.Enum):
    """What an exclusion group does with a beneficiary in two of its programmes."""

    HARD = "hard"  # the second payment is refused
    SOFT = "soft"  # accepted, and reported to the auditor


@attrs.frozen(kw_only=True)
class ExclusionGroup:
    """Programmes meant to exclude each other for one beneficiary.

    Attributes:
        code: the group's code.
        programmes: the programmes' codes, sorted.
        severity: hard (refused) or soft (reported).
        reason: why they exclude each other.
    """

    code: str
    programmes: tuple[str, ...]
    severity: Severity
    reason: str

    @classmethod
    def from_record(cls, record: Record) -> ExclusionGroup:
        """The group an ``exclusion-group`` record holds."""
        body = record.body
        return cls(
            code=record.code,
            programmes=tuple(str(p) for p in body["programmes"]),
            severity=Severity(body["severity"]),
            reason=str(body["reason"]),
        )


class Outcome(enum.Enum):
    """What a household said (or whether it was reached) when asked if the money arrived."""

    RECEIVED = "received"  # in full
    PARTLY = "partly"
    NOT_RECEIVED = "not-received"
    UNREACHABLE = "unreachable"


@attrs.frozen(kw_only=True)
class ReceiptVerification:
    """The recorded outcome of asking one paid household whether the money arrived.

    Attributes:
        programme: the programme that paid.
        reference: the payment's reference in the programme.
        outcome: received in full, partly, not at all, or unreachable.
        verified_on: the day it was asked.
        sample: the code of the sample it was drawn in.
        actor: who recorded it.
        note: what the verifier noted (no personal data).
    """

    programme: str
    reference: str
    outcome: Outcome
    verified_on: dt.date
    sample: str
    actor: str
    note: str

    @classmethod
    def from_record(cls, record: Record) -> ReceiptVerification:
        """The outcome a ``verification`` record holds."""
        body = record.body
        return cls(
            programme=str(body["programme"]),
            reference=str(body["reference"]),
            outcome=Outcome(body["outcome"]),
            verified_on=dt.date.fromisoformat(str(body["verified_on"])),
            sample=str(body["sample"]),
            actor=record.actor,
            note=str(body["note"]),
        )


def verification_code(programme: str, reference: str) -> str:
    """The code of a payment's verification record: one per payment."""
    return f"{programme}:{reference}"
