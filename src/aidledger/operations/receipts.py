"""Verified receipt: recording whether a sampled household says the money arrived.

Each outcome is a ``verification`` record (one per payment, about its
programme), so it is an item of the ledger's log like any other write: it
cannot be changed afterwards, and recording the same outcome again is a no-op.
The sample to ask is drawn by :func:`~aidledger.receipt_sample`, and
:func:`~aidledger.receipt_summary` turns the outcomes into a discrepancy rate
per programme.
"""

from __future__ import annotations

import datetime as dt

from aidledger.core.errors import InvalidArgument, PaymentStateError
from aidledger.operations.base import Operations
from aidledger.vocabulary import Outcome, ReceiptVerification, RecordKind, payment_key, verification_code


class ReceiptOperations(Operations):
    """Verification outcomes of paid payments."""

    def record_verification(
        self,
        programme: str,
        reference: str,
        outcome: Outcome,
        *,
        verified_on: dt.date,
        sample: str,
        actor: str,
        note: str = "",
    ) -> ReceiptVerification:
        """Record what the household paid under ``reference`` said: received in full, partly, not at all, or that
        it could not be reached.  Only a paid payment can be verified; a payment is verified once (the same
        outcome again returns it; another one is refused with DuplicateDefinition)."""
        prog = self._record(RecordKind.PROGRAMME, programme).code
        if not isinstance(outcome, Outcome):
            raise InvalidArgument(f"outcome must be an Outcome, got {outcome!r}", value=outcome)
        if not isinstance(verified_on, dt.date) or isinstance(verified_on, dt.datetime):
            raise InvalidArgument(f"verified_on must be a date, got {verified_on!r}", value=verified_on)
        if self.ledger.entry_by_key(payment_key("paid", prog, reference)) is None:
            raise PaymentStateError(
                f"payment {reference} of programme {prog} was not reported paid, so its receipt cannot be verified",
                programme=prog,
                reference=reference,
            )
        body = {
            "programme": prog,
            "reference": reference,
            "outcome": outcome.value,
            "verified_on": verified_on.isoformat(),
            "sample": self._text(sample, "sample"),
            "note": self._text(note, "note", optional=True) if note else "",
        }
        code = verification_code(prog, reference)
        self.ledger.put_record(RecordKind.VERIFICATION, code, body, actor=actor, subject=prog)
        return ReceiptVerification.from_record(self._record(RecordKind.VERIFICATION, code))
