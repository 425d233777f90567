"""The stored words never change: every kind, event and account code is hashed into the chain and exported."""

from __future__ import annotations

from aidledger.vocabulary import Event, Kind, PaymentStatus, RecordKind, Tag
from aidledger.vocabulary.words import (
    CLAIM_PREFIX,
    DELIVERY_CLAIM_PREFIX,
    EXCLUSION_CLAIM_PREFIX,
    budget_key,
    commitment_key,
    payment_key,
    pledge_key,
    sent_key,
)


def test_kinds_are_the_stored_strings() -> None:
    """Each entry kind is the text the ledger has always stored."""
    assert [kind.value for kind in Kind] == [
        "donation", "refund", "conversion", "release", "designation", "undesignation", "pledge", "pledge-write-off",
        "payment", "payment-transfer", "payment-paid", "payment-failed", "payment-returned", "goods-donation",
        "goods-purchase", "goods-dispatch", "goods-delivery", "goods-loss", "grant-commitment", "grant-tranche",
        "grant-clawback", "budget",
    ]  # fmt: skip


def test_a_settlement_names_its_kind_and_event() -> None:
    """A provider's status settles with ``payment-<status>`` and the event of the same name."""
    for status in PaymentStatus:
        assert (status.kind.value, status.event) == (f"payment-{status.value}", status.value)
    assert Event.FULFILLED == "fulfil" and Event.WRITTEN_OFF == "write-off"


def test_tag_names_are_the_stored_strings() -> None:
    """Every tag name is the text stored with entries and exported."""
    names = {name: value for name, value in vars(Tag).items() if name.isupper()}
    assert sorted(names.values()) == [
        "basis", "beneficiary", "budget_line", "commodity", "corrects", "donor", "event", "exclusion", "from_fund", "grantee", "list", "location",
        "milestone", "original_amount", "original_currency", "pledge", "programme", "project", "provider", "purpose",
        "rate", "rate_date", "reason", "reference", "region", "rounding", "settlement", "to_fund", "tranche", "tranches", "value",
    ]  # fmt: skip
    assert all(value == name.lower() for name, value in names.items())


def test_events_and_record_kinds_are_the_stored_strings() -> None:
    """The ``event`` tag's values and the record kinds are the texts the ledger has always stored."""
    events = {name: value for name, value in vars(Event).items() if name.isupper()}
    assert events == {
        "APPROVED": "approved", "SENT": "sent", "PAID": "paid", "FAILED": "failed", "RETURNED": "returned",
        "PLEDGED": "pledge", "FULFILLED": "fulfil", "WRITTEN_OFF": "write-off", "COMMITTED": "committed",
        "DISBURSED": "disbursed", "CLAWED_BACK": "clawed-back", "RECEIVED": "received", "DISPATCHED": "dispatched",
        "DELIVERED": "delivered", "LOST": "lost", "BUDGETED": "budgeted",
    }  # fmt: skip
    kinds = {name: value for name, value in vars(RecordKind).items() if name.isupper()}
    assert kinds == {
        "PROGRAMME": "programme", "PAYMENT_LIST": "payment-list", "PROJECT": "project", "PLEDGE": "pledge",
        "BUDGET_LINE": "budget-line", "EXCLUSION_GROUP": "exclusion-group", "VERIFICATION": "verification",
        "PAYMENT_FILE": "payment-file",
    }  # fmt: skip


def test_keys_and_claim_scopes_are_spelled_as_stored() -> None:
    """Idempotency keys and claim prefixes are part of stored entries: a retry must build the same text."""
    assert payment_key("paid", "ONE-OFF", "R-1") == "paid:ONE-OFF:R-1"
    assert (sent_key("L-1"), pledge_key("P-1"), commitment_key("G-1")) == ("sent:L-1", "pledge:P-1", "commitment:G-1")
    assert (CLAIM_PREFIX, DELIVERY_CLAIM_PREFIX) == ("programme:", "delivery:")
    assert (budget_key("B-1"), EXCLUSION_CLAIM_PREFIX) == ("budget:B-1", "exclusion:")
