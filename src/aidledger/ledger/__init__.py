"""The Ledger facade."""

from aidledger.ledger.ledger import Ledger

__all__ = ["Ledger"]
