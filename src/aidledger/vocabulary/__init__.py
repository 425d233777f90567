"""The aid vocabulary both operations and queries speak: entry kinds, tags, chart codes and record types.

It sits between the ledger (and registry) and the operations and queries, so
that a query, an export or a check names a kind, a tag or an account without
importing the operations that write them.
"""

from aidledger.vocabulary.chart import TRANSFERS_PREFIX, Chart, component
from aidledger.vocabulary.planning import (
    BudgetLine,
    ExclusionGroup,
    Outcome,
    Owner,
    ReceiptVerification,
    Severity,
    verification_code,
)
from aidledger.vocabulary.records import PaymentStatus, Pledge, Programme, Project, ProviderLine, Scope
from aidledger.vocabulary.words import (
    CLAIM_PREFIX,
    DELIVERY_CLAIM_PREFIX,
    EXCLUSION_CLAIM_PREFIX,
    GRANT_KINDS,
    PAYMENT_DUE_KINDS,
    PAYMENT_KINDS,
    TRANSFER_KINDS,
    Event,
    Kind,
    RecordKind,
    Tag,
    budget_key,
    commitment_key,
    payment_key,
    pledge_key,
    sent_key,
)

__all__ = [
    "CLAIM_PREFIX",
    "DELIVERY_CLAIM_PREFIX",
    "EXCLUSION_CLAIM_PREFIX",
    "GRANT_KINDS",
    "PAYMENT_DUE_KINDS",
    "PAYMENT_KINDS",
    "TRANSFERS_PREFIX",
    "TRANSFER_KINDS",
    "BudgetLine",
    "Chart",
    "Event",
    "ExclusionGroup",
    "Kind",
    "Outcome",
    "Owner",
    "PaymentStatus",
    "Pledge",
    "Programme",
    "Project",
    "ProviderLine",
    "ReceiptVerification",
    "RecordKind",
    "Scope",
    "Severity",
    "Tag",
    "budget_key",
    "commitment_key",
    "component",
    "payment_key",
    "pledge_key",
    "sent_key",
    "verification_code",
]
