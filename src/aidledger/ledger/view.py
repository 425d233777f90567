"""The read view: what a :meth:`aidledger.Ledger.transact` build function sees, inside the write transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from aidledger.core.accounts import Account, Fund
from aidledger.core.amounts import Amount
from aidledger.core.entries import JournalEntry, PostedEntry, check_text
from aidledger.core.window import Window
from aidledger.ledger.balances import Balances
from aidledger.ledger.reader import Reader
from aidledger.ledger.records import insert_record, pending_batch, pending_body, record_body
from aidledger.ledger.results import EntryFacts, PendingBatch, Record

if TYPE_CHECKING:
    from aidledger.ledger.ledger import Ledger


class LedgerView:
    """Reads inside a write transaction, and records and pending batches stored in it (see :meth:`Ledger.transact`)."""

    def __init__(self, ledger: Ledger, connection: Connection) -> None:
        self._charts = ledger._charts  # the ledger's chart cache, shared
        self._clock = ledger._clock
        self._connection = connection
        self._reader = Reader(connection, self._charts)

    def balance(
        self,
        account: Account | str,
        fund: Fund | str | None = None,
        *,
        as_of: dt.datetime | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Amount:
        """The signed balance of an account, as :meth:`Ledger.balance`."""
        account_id, found, fund_id = self._charts.resolve(account, fund)
        window = Window(as_of=as_of)
        minor = Balances(self._connection).of_account(account_id, fund_id, window=window, tags=tags, maintained=False)
        return Amount.from_minor(minor, found.unit)

    def entry_by_key(self, idempotency_key: str) -> PostedEntry | None:
        """The entry posted with this idempotency key, if any."""
        return self._reader.entry_by_key(idempotency_key)

    def entries_by_keys(self, keys: Sequence[str]) -> dict[str, PostedEntry]:
        """The entries posted with any of these idempotency keys, by key (keys never posted are absent)."""
        return self._reader.entries_by_keys(keys)

    def latest_by_keys(self, keys: Sequence[str]) -> PostedEntry | None:
        """Of the entries posted with any of these keys, the one effective last (the first posted among equals)."""
        return self._reader.latest_by_keys(keys)

    def keys_tagged(self, name: str, value: str, *, kind: str | None = None) -> list[str]:
        """Idempotency keys of the entries carrying tag ``name=value`` (of one kind, if given)."""
        return self._reader.keys_tagged(name, value, kind=kind)

    def facts(self, keys: Sequence[str]) -> dict[str, EntryFacts]:
        """For each posted idempotency key: the entry's id, its total debit per unit, and its tags."""
        return self._reader.facts(keys)

    def put_record(
        self, kind: str, code: str, body: Mapping[str, Any], *, actor: str, subject: str | None = None
    ) -> Record:
        """Store a record in this transaction, as :meth:`Ledger.put_record`: it stands or falls with the entries."""
        text = record_body(kind, code, body, subject)
        check_text("actor", actor, allow_empty=False, limit=200)
        return insert_record(self._connection, self._clock, kind, code, subject, actor, text)

    def submit(
        self, entries: Iterable[JournalEntry], *, actor: str, code: str | None = None, note: str = ""
    ) -> PendingBatch:
        """Store entries for a checker's approval in this transaction, as :meth:`Ledger.submit`.

        The pending batch stands or falls with the rest of the transaction (a
        record stored beside it, the entries ``build`` returns).
        """
        body = pending_body(entries, actor, note, self._charts)
        code = code or f"pending-{uuid.uuid4()}"
        record = self.put_record("pending", code, body, actor=actor)
        return pending_batch(record, self._reader.record("decision", code), self._charts)

    def record(self, kind: str, code: str) -> Record | None:
        """The record of this kind and code, or ``None``."""
        return self._reader.record(kind, code)


__all__ = ["EntryFacts", "LedgerView"]
