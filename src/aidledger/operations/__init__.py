"""Aid operations: donations, one-off payments, in-kind stock, grants and restricted funds."""

from aidledger.operations.aid import Aid

__all__ = ["Aid"]
