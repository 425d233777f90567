"""Tampering behind the library: verify() and the auditor's digest catch what the triggers could not stop."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidledger import Account, Fund, Ledger, verify
from aidledger.store import schema as t
from aidledger.store import triggers
from tests.conftest import T0, Chart
from tests.helpers import transfer


def behind_the_library(ledger: Ledger, work: Callable[[Connection], object]) -> None:
    """Drop the triggers, change rows, and put the triggers back, as an attacker with DDL rights would."""
    plain = sa.create_engine(ledger.engine.url)  # no aidledger settings: foreign keys off on SQLite
    with plain.connect() as connection:
        if ledger.dialect == "postgresql":
            connection.exec_driver_sql("SET session_replication_role = replica")  # foreign keys off
            connection.commit()
        with connection.begin():
            triggers.drop(connection)
            work(connection)
            triggers.create(connection)
    plain.dispose()


def swap_seq(connection: Connection) -> None:
    for old, new in ((2, 1000), (3, 2), (1000, 3)):
        for table, column in (
            (t.entries, t.entries.c.seq),
            (t.postings, t.postings.c.entry_seq),
            (t.entry_tags, t.entry_tags.c.entry_seq),
            (t.claims, t.claims.c.entry_seq),
        ):
            connection.execute(sa.update(table).where(column == old).values({column.key: new}))


def forge_rehashed(connection: Connection) -> None:
    """Change an amount in both lines and recompute that entry's hash properly: the next link breaks."""
    from aidledger.core import hashing

    connection.exec_driver_sql("UPDATE postings SET amount = amount + 100 WHERE entry_seq = 3 AND amount > 0")
    connection.exec_driver_sql("UPDATE postings SET amount = amount - 100 WHERE entry_seq = 3 AND amount < 0")
    row = connection.execute(sa.select(t.entries).where(t.entries.c.seq == 3)).one()
    fields = hashing.draft_fields(
        kind=row.kind,
        effective_at=row.effective_at,
        effective_tz=row.effective_tz,
        actor=row.actor,
        memo=row.memo,
        idempotency_key=row.idempotency_key,
        source=row.source,
        tags={"region": "north"},
        claims=[("p1", "hh2")],
        releases=[],
        reverses=None,
        approved_by=None,
        postings=[("Expenses:CashAid", "GENERAL", "KZT", 11000), ("Assets:Bank:KZT", "GENERAL", "KZT", -11000)],
        chart=[],
    )
    digest = hashing.entry_hash(fields, seq=3, entry_id=row.id, recorded_at=row.recorded_at, prev_hash=row.prev_hash)
    connection.execute(sa.update(t.entries).where(t.entries.c.seq == 3).values(hash=digest))


def insert_entry(connection: Connection) -> None:
    row = connection.execute(sa.select(t.entries).where(t.entries.c.seq == 6)).one()._asdict()
    row.update(seq=7, id="forged-entry", idempotency_key=None, prev_hash=row["hash"], hash="f" * 64)
    connection.execute(sa.insert(t.entries).values(row))
    for line in connection.execute(sa.select(t.postings).where(t.postings.c.entry_seq == 6)).all():
        connection.execute(sa.insert(t.postings).values({**line._asdict(), "entry_seq": 7}))


def insert_in_the_middle(connection: Connection) -> None:
    """Shift entries up and slip a copy in at seq 3."""
    insert_entry(connection)
    connection.exec_driver_sql("UPDATE entries SET memo = 'moved' WHERE seq = 7")


TAMPERING = {
    "amount changed": lambda c: c.exec_driver_sql("UPDATE postings SET amount = amount * 2 WHERE entry_seq = 2"),
    "both lines changed": lambda c: c.exec_driver_sql("UPDATE postings SET amount = amount * 2 WHERE entry_seq = 4"),
    "memo changed": lambda c: c.exec_driver_sql("UPDATE entries SET memo = 'nothing to see' WHERE seq = 1"),
    "actor changed": lambda c: c.exec_driver_sql("UPDATE entries SET actor = 'mallory' WHERE seq = 5"),
    "effective time changed": lambda c: c.exec_driver_sql(
        "UPDATE entries SET effective_at = effective_at + 1 WHERE seq = 3"
    ),
    "posting time changed": lambda c: c.exec_driver_sql(
        "UPDATE postings SET effective_at = effective_at - 1 WHERE entry_seq = 3"
    ),
    "recorded time changed": lambda c: c.exec_driver_sql(
        "UPDATE entries SET recorded_at = recorded_at - 1 WHERE seq = 2"
    ),
    "account moved": lambda c: c.exec_driver_sql("UPDATE postings SET fund_id = 2 WHERE entry_seq = 2"),
    "tag changed": lambda c: c.exec_driver_sql("UPDATE entry_tags SET value = 'south' WHERE entry_seq = 3"),
    "tag added": lambda c: c.exec_driver_sql("INSERT INTO entry_tags (entry_seq, name, value) VALUES (2, 'x', 'y')"),
    "claim removed": lambda c: c.exec_driver_sql("DELETE FROM claims WHERE entry_seq = 4"),
    "entry deleted": lambda c: (
        c.exec_driver_sql("DELETE FROM postings WHERE entry_seq = 3"),
        c.exec_driver_sql("DELETE FROM entry_tags WHERE entry_seq = 3"),
        c.exec_driver_sql("DELETE FROM claims WHERE entry_seq = 3"),
        c.exec_driver_sql("DELETE FROM entries WHERE seq = 3"),
    ),
    "posting deleted": lambda c: c.exec_driver_sql("DELETE FROM postings WHERE entry_seq = 2 AND line = 2"),
    "posting inserted": lambda c: c.exec_driver_sql(
        "INSERT INTO postings (entry_seq, line, account_id, fund_id, amount, effective_at) "
        "SELECT entry_seq, 3, account_id, fund_id, amount, effective_at FROM postings WHERE entry_seq = 2 AND line = 1"
    ),
    "orphan posting": lambda c: c.exec_driver_sql(
        "INSERT INTO postings (entry_seq, line, account_id, fund_id, amount, effective_at) VALUES (99, 1, 1, 1, 5, 0)"
    ),
    "entry appended with bad hash": insert_entry,
    "entry inserted and altered": insert_in_the_middle,
    "chain reordered": swap_seq,
    "forged entry re-hashed in place": forge_rehashed,
    "account redefined": lambda c: c.exec_driver_sql(
        "UPDATE accounts SET allow_negative = NOT allow_negative WHERE id = 1"
    ),
    "fund purpose changed": lambda c: c.exec_driver_sql("UPDATE funds SET purpose = 'food' WHERE code = 'GENERAL'"),
    "unit exponent changed": lambda c: c.exec_driver_sql("UPDATE units SET exponent = 0 WHERE code = 'KZT'"),
    "period close deleted": lambda c: c.exec_driver_sql("DELETE FROM period_closes WHERE seq = 1"),
    "period close moved": lambda c: c.exec_driver_sql("UPDATE period_closes SET closed_through = 0 WHERE seq = 2"),
    "head rolled back": lambda c: c.exec_driver_sql("UPDATE ledger_head SET seq = 4"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_verify_catches_changes_behind_the_library(filled: Ledger, name: str) -> None:
    """Every edit, deletion, insertion or reordering made with the triggers dropped is reported."""
    behind_the_library(filled, TAMPERING[name])
    result = verify(filled)
    assert not result.ok, name
    assert result.first_break is not None and result.first_break.problem


def test_first_broken_link_is_reported(filled: Ledger) -> None:
    """verify() names the first entry whose content no longer matches its hash."""
    behind_the_library(
        filled, lambda c: c.exec_driver_sql("UPDATE postings SET amount = amount * 2 WHERE entry_seq IN (3, 5)")
    )
    result = verify(filled)
    assert result.first_break is not None
    assert result.first_break.seq == 3
    assert result.first_break.problem == "entry content does not match its hash"
    assert result.entries == 6


def cut_off_newest(connection: Connection) -> None:
    """Delete the last two entries, cut the log back to entry 4 and roll the head back consistently: the log
    alone cannot see it."""
    for table, column in ((t.postings, "entry_seq"), (t.entry_tags, "entry_seq"), (t.claims, "entry_seq")):
        connection.execute(sa.delete(table).where(table.c[column] > 4))
    connection.execute(sa.delete(t.entries).where(t.entries.c.seq > 4))
    last = connection.execute(sa.select(t.entries.c.hash, t.entries.c.recorded_at).where(t.entries.c.seq == 4)).one()
    connection.execute(sa.update(t.ledger_head).values(seq=4, hash=last.hash, recorded_at=last.recorded_at))
    # ... and cut the log back to entry 4's item, with any close or record logged after it.
    cut = connection.execute(sa.select(t.log.c.seq).where(t.log.c.kind == "entry", t.log.c.ref == "4")).scalar_one()
    later = connection.execute(sa.select(t.log.c.kind, t.log.c.ref).where(t.log.c.seq > cut)).all()
    for kind, table in (("close", t.period_closes), ("record", t.records)):
        connection.execute(sa.delete(table).where(table.c.seq.in_([int(r) for k, r in later if k == kind])))
    connection.execute(sa.delete(t.log).where(t.log.c.seq > cut))


class TestDigest:
    def test_a_digest_verifies_later(self, filled: Ledger) -> None:
        """The digest of a verified ledger proves the same ledger later, after more entries."""
        result = verify(filled)
        # The log holds the 6 entries and the 13 definitions of the chart (units, accounts, funds).
        assert (result.entries, result.items) == (6, 19)
        assert result.digest == f"19:{result.log_hash}"
        digest = result.digest
        filled.post(transfer(Chart.bank, Chart.donations, Chart.general, "5", T0.add(days=9), kind="donation"))
        assert verify(filled, digest).ok

    def test_entries_cut_off_are_caught_only_with_the_digest(self, filled: Ledger) -> None:
        """Deleting the newest entries and rolling the head back passes verify(), not verify(digest)."""
        digest = verify(filled).digest
        behind_the_library(filled, cut_off_newest)
        assert verify(filled).ok
        result = verify(filled, digest)
        assert result.first_break is not None
        assert result.first_break.problem == (
            "the digest was taken at item 19, but the log ends at item 15: items were cut off"
        )

    def test_a_whole_forged_chain_is_caught(self, filled: Ledger, backend: str, tmp_path, pg_database) -> None:  # type: ignore[no-untyped-def]
        """A ledger rebuilt from scratch with one amount changed has a valid chain, but not the auditor's digest."""
        from tests.conftest import new_url

        digest = verify(filled).digest
        with Ledger.open(new_url(backend, tmp_path, pg_database)) as forged:
            for value in vars(Chart).values():
                if isinstance(value, Account):
                    forged.add_account(value)
                elif isinstance(value, Fund):
                    forged.add_fund(value)
            forged.post(transfer(Chart.bank, Chart.donations, Chart.general, "1000", T0, kind="donation"))
            for day in range(1, 6):
                forged.post(transfer(Chart.cash_aid, Chart.bank, Chart.general, "9", T0.add(days=day), kind="payment"))
            assert verify(forged).ok
            result = verify(forged, digest)
            assert result.first_break is not None and result.first_break.seq == int(digest.split(":")[0])

    @pytest.mark.parametrize("bad", ["", "6", "6:xyz", "-1:" + "0" * 64, 6])
    def test_a_malformed_digest_is_refused(self, filled: Ledger, bad: object) -> None:
        from aidledger import InvalidArgument

        with pytest.raises(InvalidArgument, match="a digest is '<item number>:<64 hex digits>'"):
            verify(filled, bad)  # type: ignore[arg-type]
