"""aidledger: an append-only, double-entry ledger for aid funds.

Everything public is importable from here; the submodules are private.
"""

from aidledger.core.accounts import Account, AccountType, Fund, Side
from aidledger.core.amounts import (
    MAX_MINOR,
    Amount,
    Money,
    Quantity,
    Rounding,
    Unit,
    UnitKind,
    commodity,
    currency,
)
from aidledger.core.entries import Claim, JournalEntry, PostedEntry, Posting
from aidledger.core.errors import (
    AidLedgerError,
    AlreadyReversed,
    DuplicateClaim,
    DuplicateDefinition,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidAmount,
    InvalidArgument,
    InvalidTime,
    LedgerUrlError,
    PeriodClosed,
    StorageError,
    UnbalancedEntry,
    UnitMismatch,
    UnknownAccount,
    UnknownEntry,
    UnknownFund,
)
from aidledger.ledger.ledger import Ledger
from aidledger.ledger.results import ChainBreak, TrialBalance, TrialBalanceLine, Verification

__version__ = "0.1.0"

__all__ = [
    "MAX_MINOR",
    "Account",
    "AccountType",
    "AidLedgerError",
    "AlreadyReversed",
    "Amount",
    "ChainBreak",
    "Claim",
    "DuplicateClaim",
    "DuplicateDefinition",
    "Fund",
    "IdempotencyConflict",
    "InsufficientBalance",
    "InvalidAmount",
    "InvalidArgument",
    "InvalidTime",
    "JournalEntry",
    "Ledger",
    "LedgerUrlError",
    "Money",
    "PeriodClosed",
    "PostedEntry",
    "Posting",
    "Quantity",
    "Rounding",
    "Side",
    "StorageError",
    "TrialBalance",
    "TrialBalanceLine",
    "UnbalancedEntry",
    "Unit",
    "UnitKind",
    "UnitMismatch",
    "UnknownAccount",
    "UnknownEntry",
    "UnknownFund",
    "Verification",
    "commodity",
    "currency",
]
