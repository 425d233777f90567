"""The words aid entries are stored with: entry kinds, tag names, events, record kinds, key prefixes.

Operations write these strings and queries, exports and checks read them, so
both sides name them here.  Every value is stored byte for byte (it is hashed
into the chain and printed in exports): never change one, only add new ones.
"""

from __future__ import annotations

import enum
from typing import Final


class Kind(enum.StrEnum):
    """The kind of every journal entry an aid operation posts.

    Pass ``Kind.X.value`` (plain text) to a :class:`JournalEntry`; compare read
    kinds with the members directly (a member equals its text).
    """

    # money in, and between funds
    DONATION = "donation"
    REFUND = "refund"
    CONVERSION = "conversion"
    RELEASE = "release"
    DESIGNATION = "designation"
    UNDESIGNATION = "undesignation"
    # pledges
    PLEDGE = "pledge"
    PLEDGE_WRITE_OFF = "pledge-write-off"
    # one-off payments and their settlement
    PAYMENT = "payment"
    PAYMENT_TRANSFER = "payment-transfer"
    PAYMENT_PAID = "payment-paid"
    PAYMENT_FAILED = "payment-failed"
    PAYMENT_RETURNED = "payment-returned"
    # in-kind goods
    GOODS_DONATION = "goods-donation"
    GOODS_PURCHASE = "goods-purchase"
    GOODS_DISPATCH = "goods-dispatch"
    GOODS_DELIVERY = "goods-delivery"
    GOODS_LOSS = "goods-loss"
    # grants
    GRANT_COMMITMENT = "grant-commitment"
    GRANT_TRANCHE = "grant-tranche"
    GRANT_CLAWBACK = "grant-clawback"
    # budgets
    BUDGET = "budget"


#: The fund transfers, each its own entry kind.
TRANSFER_KINDS: Final = (Kind.RELEASE, Kind.DESIGNATION, Kind.UNDESIGNATION)
#: A payment's kinds on the amount due: approved, then paid or failed.
PAYMENT_DUE_KINDS: Final = (Kind.PAYMENT, Kind.PAYMENT_PAID, Kind.PAYMENT_FAILED)
#: Every kind a payment's life posts with its ``programme`` tag (the transfer to the provider is per list).
PAYMENT_KINDS: Final = (Kind.PAYMENT, Kind.PAYMENT_PAID, Kind.PAYMENT_FAILED, Kind.PAYMENT_RETURNED)
GRANT_KINDS: Final = (Kind.GRANT_COMMITMENT, Kind.GRANT_TRANCHE, Kind.GRANT_CLAWBACK)


class Tag:
    """Tag names aid entries carry (each a plain string constant)."""

    BASIS: Final = "basis"
    BENEFICIARY: Final = "beneficiary"
    BUDGET_LINE: Final = "budget_line"
    COMMODITY: Final = "commodity"
    CORRECTS: Final = "corrects"
    DONOR: Final = "donor"
    EXCLUSION: Final = "exclusion"
    EVENT: Final = "event"
    FROM_FUND: Final = "from_fund"
    GRANTEE: Final = "grantee"
    LIST: Final = "list"
    LOCATION: Final = "location"
    MILESTONE: Final = "milestone"
    ORIGINAL_AMOUNT: Final = "original_amount"
    ORIGINAL_CURRENCY: Final = "original_currency"
    PLEDGE: Final = "pledge"
    PROGRAMME: Final = "programme"
    PROJECT: Final = "project"
    PROVIDER: Final = "provider"
    PURPOSE: Final = "purpose"
    RATE: Final = "rate"
    RATE_DATE: Final = "rate_date"
    REASON: Final = "reason"
    REFERENCE: Final = "reference"
    REGION: Final = "region"
    ROUNDING: Final = "rounding"
    SETTLEMENT: Final = "settlement"
    TO_FUND: Final = "to_fund"
    TRANCHE: Final = "tranche"
    TRANCHES: Final = "tranches"
    VALUE: Final = "value"


class Event:
    """Values of the ``event`` tag: what step of its life an entry records."""

    # payments
    APPROVED: Final = "approved"
    SENT: Final = "sent"
    PAID: Final = "paid"
    FAILED: Final = "failed"
    RETURNED: Final = "returned"
    # pledges
    PLEDGED: Final = "pledge"
    FULFILLED: Final = "fulfil"
    WRITTEN_OFF: Final = "write-off"
    # grants
    COMMITTED: Final = "committed"
    DISBURSED: Final = "disbursed"
    CLAWED_BACK: Final = "clawed-back"
    # budgets
    BUDGETED: Final = "budgeted"
    # goods
    RECEIVED: Final = "received"
    DISPATCHED: Final = "dispatched"
    DELIVERED: Final = "delivered"
    LOST: Final = "lost"


class RecordKind:
    """Kinds of the records aid operations keep beside the journal."""

    PROGRAMME: Final = "programme"
    PAYMENT_LIST: Final = "payment-list"
    PROJECT: Final = "project"
    PLEDGE: Final = "pledge"
    BUDGET_LINE: Final = "budget-line"
    EXCLUSION_GROUP: Final = "exclusion-group"
    VERIFICATION: Final = "verification"
    PAYMENT_FILE: Final = "payment-file"  # the SHA-256 of a pain.001 file, recorded before it is handed over


#: The claim scope of a one-off programme is this prefix and the programme's code.
CLAIM_PREFIX: Final = "programme:"
#: The claim scope of a hard exclusion group is this prefix and the group's code.
EXCLUSION_CLAIM_PREFIX: Final = "exclusion:"
#: The claim scope of deliveries in a programme is this prefix and the programme's code, in lower case.
DELIVERY_CLAIM_PREFIX: Final = "delivery:"


def payment_key(event: str, programme: str, reference: str) -> str:
    """The idempotency key of one payment's ``event`` (``payment``, ``paid``, ``failed``, ``returned``)."""
    return f"{event}:{programme}:{reference}"


def sent_key(list_code: str) -> str:
    """The idempotency key of a list's transfer to its provider."""
    return f"sent:{list_code}"


def pledge_key(code: str) -> str:
    """The idempotency key of a pledge's memo entry."""
    return f"pledge:{code}"


def commitment_key(code: str) -> str:
    """The idempotency key of a project's commitment."""
    return f"commitment:{code}"


def budget_key(code: str) -> str:
    """The idempotency key of a budget line's memo entry."""
    return f"budget:{code}"
