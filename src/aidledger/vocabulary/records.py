"""What aid records and reports hold: programmes, pledges, projects, and a provider's report lines.

Operations make these values and queries read them back from the ledger's
records, so they live below both (with :meth:`from_record` to read one).
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from aidledger.core.amounts import Money, Unit, currency
from aidledger.core.errors import InvalidArgument
from aidledger.ledger.results import Record
from aidledger.vocabulary.words import CLAIM_PREFIX, Event, Kind


class Scope(enum.Enum):
    """Who a one-off programme pays once: each household, or each individual."""

    HOUSEHOLD = "household"
    INDIVIDUAL = "individual"


class PaymentStatus(enum.Enum):
    """What a payment provider reports for one payment."""

    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"

    @property
    def kind(self) -> Kind:
        """The kind of the entry that settles a payment with this status."""
        return _SETTLEMENT_KINDS[self]

    @property
    def event(self) -> str:
        """The ``event`` tag of that entry."""
        return _SETTLEMENT_EVENTS[self]


_SETTLEMENT_KINDS = {
    PaymentStatus.PAID: Kind.PAYMENT_PAID,
    PaymentStatus.FAILED: Kind.PAYMENT_FAILED,
    PaymentStatus.RETURNED: Kind.PAYMENT_RETURNED,
}
_SETTLEMENT_EVENTS = {
    PaymentStatus.PAID: Event.PAID,
    PaymentStatus.FAILED: Event.FAILED,
    PaymentStatus.RETURNED: Event.RETURNED,
}


@attrs.frozen(kw_only=True)
class Programme:
    """A one-off payment programme.

    Attributes:
        code: its code.
        fund: the fund it pays from.
        purpose: what it pays for; must match a restricted fund's purpose.
        scope: once per household or once per individual.
        amount: the fixed amount per beneficiary, or ``None`` when each line names its amount.
        max_amount: the most a line may pay when lines name their amounts.
        name: a human-readable name.
        key_version: the pseudonym key version its beneficiaries are claimed under.
    """

    code: str
    fund: str
    purpose: str
    scope: Scope
    amount: Money | None
    max_amount: Money | None
    name: str
    key_version: int = 1

    def __attrs_post_init__(self) -> None:
        if (self.amount is None) == (self.max_amount is None):
            raise InvalidArgument(
                f"programme {self.code} needs either a fixed amount per beneficiary or a max_amount for per-line "
                "amounts"
            )

    @property
    def claim_scope(self) -> str:
        return f"{CLAIM_PREFIX}{self.code}"

    @property
    def rule(self) -> Money:
        """The fixed amount, or else the maximum amount, per line."""
        if self.amount is not None:
            return self.amount
        if self.max_amount is not None:
            return self.max_amount
        raise InvalidArgument(f"programme {self.code} has neither an amount nor a max_amount")  # pragma: no cover

    @property
    def unit(self) -> Unit:
        """The currency it pays in."""
        return self.rule.unit

    @classmethod
    def from_record(cls, record: Record) -> Programme:
        """The programme a ``programme`` record holds."""
        body = record.body
        unit = currency(str(body["currency"]))
        return cls(
            code=record.code,
            fund=str(body["fund"]),
            purpose=str(body["purpose"]),
            scope=Scope(body["scope"]),
            amount=None if body["amount"] is None else Money(str(body["amount"]), unit),
            max_amount=None if body["max_amount"] is None else Money(str(body["max_amount"]), unit),
            name=str(body["name"]),
            key_version=int(str(body.get("key_version", 1))),
        )


@attrs.frozen
class ProviderLine:
    """One line of a payment provider's report.

    Attributes:
        reference: the payment's reference.
        status: paid, failed or returned.
        amount: the amount the provider reports.
        line: the line number in the report file, if it came from one.
    """

    reference: str
    status: PaymentStatus
    amount: Money
    line: int | None = None


@attrs.frozen(kw_only=True)
class Pledge:
    """A donor's promise, kept out of received totals until money arrives.

    Attributes:
        code: the pledge's code.
        fund: the fund it is for.
        donor: who promised.
        amount: how much was promised.
        due: when it is due, if known.
    """

    code: str
    fund: str
    donor: str
    amount: Money
    due: dt.date | None

    @classmethod
    def from_record(cls, record: Record) -> Pledge:
        """The pledge a ``pledge`` record holds."""
        body = record.body
        return cls(
            code=record.code,
            fund=str(body["fund"]),
            donor=str(body["donor"]),
            amount=Money(str(body["amount"]), currency(str(body["currency"]))),
            due=None if body["due"] is None else dt.date.fromisoformat(str(body["due"])),
        )


@attrs.frozen(kw_only=True)
class Project:
    """A grant commitment.

    Attributes:
        code: the project's code.
        fund: the fund that pays it.
        purpose: what it pays for (``housing``).
        grantee: who receives the tranches (an organisation, not a person).
        committed: the amount committed.
        description: for example "rebuild 120 houses in the village of …".
        tranches: how many tranches the grant agreement pays it in, if it says (``None`` otherwise).
    """

    code: str
    fund: str
    purpose: str
    grantee: str
    committed: Money
    description: str
    tranches: int | None = None

    @classmethod
    def from_record(cls, record: Record) -> Project:
        """The project a ``project`` record holds."""
        body = record.body
        return cls(
            code=record.code,
            fund=str(body["fund"]),
            purpose=str(body["purpose"]),
            grantee=str(body["grantee"]),
            committed=Money(str(body["amount"]), currency(str(body["currency"]))),
            description=str(body["description"]),
            tranches=None if body.get("tranches") is None else int(str(body["tranches"])),
        )
