"""Migrating a ledger written before the one log (revision 0001) to the log (0002), on both databases.

A revision-0001 database is made the way that version left it: a ledger filled by
this library, with the log table, its triggers and the rule freezing an entry's
rows taken out, and ``alembic_version`` set back to 0001.  (The library can no
longer write revision 0001 itself.)
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aidledger import Aid, Ledger, reconcile, verify
from aidledger.core.errors import SchemaMismatch
from aidledger.store import schema as t
from aidledger.store import triggers
from tests.books import MAY
from tests.operations.conftest import kzt
from tests.reliability.test_tampering import fill


def back_to_0001(ledger: Ledger) -> None:
    """Take the one log out of ``ledger``'s database, as revision 0001 had it."""
    with ledger.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        for table in triggers.ENTRY_ROWS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_frozen" + (f" ON {table}" if postgres else ""))
        if postgres:
            connection.exec_driver_sql("DROP FUNCTION aidledger_entry_frozen()")
        connection.exec_driver_sql("DROP TABLE log")
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    ledger.close()


def test_an_older_ledger_is_logged_whole_and_keeps_its_digest(books: Aid, url: str) -> None:
    """After the migration every entry, close, record and definition is an item of the log; the entry digest
    taken before still verifies, nothing else changed, and the ledger takes new entries."""
    ledger = fill(books).ledger
    head = ledger.head()
    old_digest = f"{head.seq}:{head.hash}"
    with ledger.engine.connect() as connection:
        counts = {
            name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in (
                ("entries", t.entries), ("closes", t.period_closes), ("records", t.records),
                ("units", t.units), ("accounts", t.accounts), ("funds", t.funds),
            )
        }  # fmt: skip
    back_to_0001(ledger)
    with pytest.raises(SchemaMismatch, match="older than this library's"):
        Ledger.open(url, read_only=True)  # a read-only open never migrates
    with Ledger.open(url) as migrated:
        result = verify(migrated)
        assert result.ok, result.first_break
        assert result.items == sum(counts.values())
        assert result.entries == counts["entries"] == head.seq
        assert verify(migrated, old_digest).ok  # the digest an auditor kept before the upgrade
        assert reconcile(migrated).ok
        new_digest = result.digest
        Aid(migrated).donate("GENERAL", kzt("10"), donor="D-9", on=MAY.add(days=9), actor="cashier")
        after = verify(migrated, new_digest)
        assert after.ok and after.items == result.items + 1
