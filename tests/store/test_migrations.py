"""Migrating a ledger written before the one log (revision 0001) to the log (0002), its tree (0003) and the
database's approval rule (0004), on both databases.

A revision-0001 database is made the way that version left it: a ledger filled by
this library, with the log and log tree tables, their triggers and the rule freezing an entry's
rows taken out, and ``alembic_version`` set back to 0001.  (The library can no
longer write revision 0001 itself.)
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aidledger import Aid, ApprovalPolicy, ApprovalRequired, Ledger, reconcile, verify
from aidledger.core.errors import SchemaMismatch
from aidledger.ledger import approvals
from aidledger.queries.proofs import consistency_proof, tree_check, tree_digest
from aidledger.store import schema as t
from aidledger.store import triggers
from tests.books import MAY
from tests.operations.conftest import kzt
from tests.reliability.test_tampering import fill


def drop_approval_rule(connection: sa.Connection) -> None:
    """Take out the database's approval rule, which revisions before 0004 did not have."""
    postgres = connection.dialect.name == "postgresql"
    connection.exec_driver_sql("DROP TRIGGER log_entry_approved" + (" ON log" if postgres else ""))
    if postgres:
        connection.exec_driver_sql("DROP FUNCTION aidledger_entry_approved()")


def back_to_0001(ledger: Ledger) -> None:
    """Take the one log out of ``ledger``'s database, as revision 0001 had it."""
    with ledger.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        drop_approval_rule(connection)
        for table in triggers.ENTRY_ROWS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_frozen" + (f" ON {table}" if postgres else ""))
        if postgres:
            connection.exec_driver_sql("DROP FUNCTION aidledger_entry_frozen()")
        connection.exec_driver_sql("DROP TABLE log_tree")
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


def test_a_ledger_of_revision_0002_gets_the_tree_of_its_log(books: Aid, url: str) -> None:
    """Migration 0003 builds the tree of the log as it is: no hash of the log changes, and the tree is the log's."""
    ledger = fill(books).ledger
    before = verify(ledger)
    published = tree_check(ledger).digest
    with ledger.engine.begin() as connection:
        drop_approval_rule(connection)
        connection.exec_driver_sql("DROP TABLE log_tree")
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
    ledger.close()
    with Ledger.open(url) as migrated:
        assert verify(migrated).digest == before.digest
        check = tree_check(migrated)
        assert check.ok and check.digest == published == tree_digest(migrated)
        assert published.size == before.log_seq
        Aid(migrated).donate("GENERAL", kzt("10"), donor="D-9", on=MAY.add(days=9), actor="cashier")
        assert consistency_proof(migrated, published).new.size == published.size + 1
        assert reconcile(migrated).ok


def test_a_ledger_of_revision_0003_gets_the_approval_rule(
    books: Aid, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0004 adds the database's approval rule: no hash changes, the entries posted before the policy stay
    valid, and an entry above the policy without its approvals is refused by the database from then on."""
    ledger = fill(books).ledger
    ledger.set_approval_policy(ApprovalPolicy(kind="donation", tiers=[(kzt("1000"), 1)]), actor="board")
    before = verify(ledger)
    with ledger.engine.begin() as connection:
        drop_approval_rule(connection)
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
    ledger.close()
    monkeypatch.setattr(approvals, "check_post", lambda *_: None)  # only the database checks
    with Ledger.open(url) as migrated:
        assert verify(migrated).digest == before.digest
        with pytest.raises(ApprovalRequired, match="the database refused the entry"):
            Aid(migrated).donate("GENERAL", kzt("5000"), donor="D-9", on=MAY.add(days=9), actor="cashier")
        Aid(migrated).donate("GENERAL", kzt("1000"), donor="D-9", on=MAY.add(days=9), actor="cashier")
        assert reconcile(migrated).ok
