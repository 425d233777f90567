"""Banks' own file formats: statements in (camt.053, camt.054, MT940) and payment files out (pain.001).

Pure readers and a writer: nothing here touches a ledger.  Readers return
:class:`BankStatement` values and raise :class:`~aidledger.core.errors.MalformedFile`
naming the file, line and offending value; the writer returns the file's bytes
and their SHA-256.
"""

from __future__ import annotations

from aidledger.io.bankfile.camt import read_camt
from aidledger.io.bankfile.model import (
    BalanceCheck,
    BalanceCheckResult,
    BankStatement,
    CreditDebit,
    EntryStatus,
    StatementEntry,
    TransactionDetail,
    check_balance,
)
from aidledger.io.bankfile.pain001 import CreditTransfer, PainFile, PaymentInstruction, split, write_pain001
from aidledger.io.bankfile.swift import read_mt940

__all__ = [
    "BalanceCheck",
    "BalanceCheckResult",
    "BankStatement",
    "CreditDebit",
    "CreditTransfer",
    "EntryStatus",
    "PainFile",
    "PaymentInstruction",
    "StatementEntry",
    "TransactionDetail",
    "check_balance",
    "read_camt",
    "read_mt940",
    "split",
    "write_pain001",
]
