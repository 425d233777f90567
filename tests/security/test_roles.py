"""Least privilege on PostgreSQL: connected as each role, the database itself refuses what the role may not do."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from aidledger import (
    Aid,
    InsufficientBalance,
    InvalidArgument,
    Ledger,
    PaymentLine,
    PaymentStatus,
    ProviderLine,
    StorageError,
    aid_summary,
    audit_totals,
    export_beancount,
    journal_tests,
    reconcile,
    verify,
)
from aidledger.store import engine as store_engine
from aidledger.store import roles
from aidledger.store import schema as t
from tests.books import build_books
from tests.conftest import new_url
from tests.operations.conftest import APRIL, KEYS, kzt

pytestmark = pytest.mark.postgres

REGISTRY_ROW = "Aigerim Bekova, 850101400123"


@attrs.frozen
class Roles:
    """A ledger in its own schema, with login roles for its owner, writer and auditor (not yet given anything)."""

    url: str
    schema: str
    owner: str
    writer: str
    auditor: str

    def as_(self, role: str) -> str:
        """The ledger's URL, connecting as ``role``."""
        user, sep, rest = self.url.partition("@")
        assert sep and user.endswith("//postgres")
        return f"{user.removesuffix('postgres')}{role}@{rest}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection in the ledger's schema (autocommit)."""
        plain = self.url.replace("postgresql+psycopg://", "postgresql://").split("?")[0]
        connection = psycopg.connect(plain, autocommit=True)
        connection.execute(f'SET search_path TO "{self.schema}"')
        return connection

    def apply(self, **names: str) -> roles.RoleSetup:
        engine = sa.create_engine(self.url)
        try:
            chosen = {"owner": self.owner, "writer": self.writer, "auditor": self.auditor, **names}
            return roles.apply(engine, private_prefixes=["registry_"], **chosen)
        finally:
            engine.dispose()


def open_books(url: str) -> Aid:
    ledger = Ledger.open(url)
    aid = Aid(ledger, approval_threshold=kzt("10000000"))
    aid.create_fund("GENERAL", name="Unrestricted")
    aid.create_fund("CASH-AID", name="One-off cash aid", purpose="cash-aid")
    aid.create_fund("FOOD", name="Food packages", purpose="food")
    aid.create_fund("HOUSING", name="Housing for flooded villages", purpose="housing")
    return build_books(aid)


@pytest.fixture
def ledger_roles(tmp_path: Path, pg_database: str | None) -> Iterator[Roles]:
    """Books with every kind of operation, a registry table readable by PUBLIC, and three fresh login roles."""
    url = new_url("postgresql", tmp_path, pg_database)
    schema = url.rsplit("%3D", 1)[1]
    suffix = uuid.uuid4().hex[:8]
    found = Roles(url, schema, f"owner_{suffix}", f"writer_{suffix}", f"auditor_{suffix}")
    open_books(url).ledger.close()
    with found.admin() as admin:
        for role in (found.owner, found.writer, found.auditor):
            admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute("CREATE TABLE registry_people (id serial PRIMARY KEY, name text NOT NULL)")
        admin.execute("INSERT INTO registry_people (name) VALUES (%s)", [REGISTRY_ROW])
        admin.execute("GRANT SELECT ON registry_people TO PUBLIC")
    yield found
    with found.admin() as admin:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        for role in (found.owner, found.writer, found.auditor):
            exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            if exists:
                admin.execute(f"DROP OWNED BY {role}")
                admin.execute(f"DROP ROLE {role}")


@pytest.fixture
def applied(ledger_roles: Roles) -> Roles:
    ledger_roles.apply()
    return ledger_roles


def refused(url: str, statement: str) -> str:
    """The first line of the database's refusal of ``statement``; fails the test if it was allowed."""
    engine = sa.create_engine(url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as raised, engine.begin() as connection:
            connection.exec_driver_sql(statement)
        return str(raised.value.orig).splitlines()[0]
    finally:
        engine.dispose()


WRITER_REFUSED = {
    "UPDATE entries SET memo = 'changed'": "permission denied for table entries",
    "UPDATE postings SET amount = amount * 2": "permission denied for table postings",
    "DELETE FROM entries": "permission denied for table entries",
    "DELETE FROM balances": "permission denied for table balances",
    "DELETE FROM ledger_head": "permission denied for table ledger_head",
    "UPDATE balances SET account_id = account_id": "permission denied for table balances",
    "UPDATE ledger_head SET id = 2": "permission denied for table ledger_head",
    "INSERT INTO ledger_head (id, seq, hash, recorded_at) VALUES (2, 0, '', 0)": "permission denied for table ledger_head",
    "UPDATE alembic_version SET version_num = '0000'": "permission denied for table alembic_version",
    "TRUNCATE entries CASCADE": "permission denied for table entries",
    "TRUNCATE balances": "permission denied for table balances",
    "DROP TRIGGER entries_no_change ON entries": "must be owner of relation entries",
    "ALTER TABLE entries DISABLE TRIGGER ALL": "must be owner of table entries",
    "ALTER TABLE entries ADD COLUMN note text": "must be owner of table entries",
    "ALTER TABLE entries DROP CONSTRAINT ck_entries_checker_not_maker": "must be owner of table entries",
    "DROP TABLE entries CASCADE": "must be owner of table entries",
    "CREATE TABLE shadow (x int)": "permission denied for schema",
    "CREATE OR REPLACE FUNCTION aidledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN OLD; END$$": "permission denied for schema",
    "SET session_replication_role = replica": "permission denied to set parameter",
    "SELECT name FROM registry_people": "permission denied for table registry_people",
}


class TestWriter:
    def test_posts_through_the_ledger(self, applied: Roles) -> None:
        """The writer opens the ledger (no DDL on an up-to-date schema), adds accounts and posts every kind of entry."""
        with Ledger.open(applied.as_(applied.writer)) as ledger:
            aid = Aid(ledger, approval_threshold=kzt("10000000"))
            aid.create_fund("FLOOD", name="Relief goods", purpose="flood-relief")
            aid.donate("FLOOD", kzt("700000"), donor="D-3", on=APRIL, actor="gateway", key="gw-1")
            aid.donate("FLOOD", kzt("700000"), donor="D-3", on=APRIL, actor="gateway", key="gw-1")  # a retry
            aid.pay("ONE-OFF", [PaymentLine(KEYS.pseudonym("hh-7"), "R-7")], actor="maker", on=APRIL, list_code="L7")
            aid.send("L7", provider="Kazpost", actor="treasurer", on=APRIL)
            aid.settle("L7", [ProviderLine("R-7", PaymentStatus.PAID, kzt("50000"))], actor="treasurer", on=APRIL)
            aid.pledge("FLOOD", kzt("5"), code="P-9", donor="D-9", on=APRIL, actor="cashier")
            wrong = aid.donate("GENERAL", kzt("10"), donor="Typo", on=APRIL, actor="cashier")
            ledger.reverse(wrong.id, actor="accountant")
            ledger.close_period(APRIL.subtract(days=1), actor="accountant")
            assert ledger.balance(aid.chart.bank(aid.currency), "FLOOD") == kzt("700000")
            assert verify(ledger).ok
            assert reconcile(ledger).ok

    def test_checks_still_hold(self, applied: Roles) -> None:
        """The writer's posts go through the ledger's checks: an overdraft is refused and writes nothing."""
        with Ledger.open(applied.as_(applied.writer)) as ledger:
            head = ledger.head()
            with pytest.raises(InsufficientBalance):
                Aid(ledger).release("CASH-AID", kzt("99999999"), to="GENERAL", on=APRIL, actor="board", reason="r")
            assert ledger.head() == head

    def test_submits_and_another_person_approves(self, applied: Roles) -> None:
        """Maker-checker works for the writer; its own approval is refused by the library."""
        with Ledger.open(applied.as_(applied.writer)) as ledger:
            aid = Aid(ledger, approval_threshold=kzt("1000000"))
            pending = aid.submit_tranche(
                "DOSTYK", kzt("2000000"), milestone="walls", on=APRIL.add(days=40), actor="maker", code="T-2"
            )
            with pytest.raises(InvalidArgument, match="cannot also approve"):
                aid.approve(pending.code, checker="maker")
            assert aid.approve(pending.code, checker="controller").posted[0].entry.approved_by == "controller"

    def test_database_refuses_changes_and_ddl(self, applied: Roles) -> None:
        """UPDATE, DELETE, TRUNCATE, DROP TRIGGER, ALTER TABLE and the registry are refused to the writer."""
        with Ledger.open(applied.url) as ledger:
            before = verify(ledger).digest
        found = {statement: refused(applied.as_(applied.writer), statement) for statement in WRITER_REFUSED}
        assert {s: m for s, m in found.items() if WRITER_REFUSED[s] not in m} == {}
        with Ledger.open(applied.url) as ledger:
            assert verify(ledger, before).ok and verify(ledger).digest == before

    def test_database_refuses_checker_equal_to_maker(self, applied: Roles) -> None:
        """A raw INSERT by the writer with the checker equal to the maker is refused by the constraint and the trigger."""
        with Ledger.open(applied.as_(applied.writer)) as ledger:
            aid = Aid(ledger, approval_threshold=kzt("10000000"))
            aid.submit_tranche("DOSTYK", kzt("10000001"), milestone="roof", on=APRIL, actor="maker", code="T-3")
            head = ledger.head()
        engine = sa.create_engine(applied.as_(applied.writer))
        entry = {
            "seq": head.seq + 1,
            "id": str(uuid.uuid4()),
            "kind": "payment",
            "effective_at": 0,
            "effective_tz": "UTC",
            "recorded_at": 0,
            "actor": "maker",
            "memo": "",
            "approved_by": "maker",
            "prev_hash": head.hash,
            "hash": "0" * 64,
        }
        decision = {
            "seq": 10_000,
            "kind": "decision",
            "code": "T-3",
            "subject": "T-3",
            "actor": "maker",
            "body": "{}",
            "recorded_at": 0,
            "prev_hash": "0" * 64,
            "hash": "0" * 64,
        }
        try:
            with pytest.raises(sa.exc.IntegrityError, match="ck_entries_checker_not_maker"), engine.begin() as c:
                c.execute(sa.insert(t.entries).values(entry))
            with pytest.raises(sa.exc.DBAPIError, match="checker of a decision"), engine.begin() as c:
                c.execute(sa.insert(t.records).values(decision))
        finally:
            engine.dispose()

    def test_a_temporary_table_cannot_answer_for_records(self, applied: Roles) -> None:
        """The checker trigger reads the ledger's records even when the writer shadows them with a temporary table."""
        with Ledger.open(applied.as_(applied.writer)) as ledger:
            Aid(ledger, approval_threshold=kzt("1000000")).submit_tranche(
                "DOSTYK", kzt("2000000"), milestone="roof", on=APRIL, actor="maker", code="T-4"
            )
        engine = sa.create_engine(applied.as_(applied.writer))
        try:
            with pytest.raises(sa.exc.DBAPIError, match="checker of a decision"), engine.begin() as c:
                c.exec_driver_sql(f'SET LOCAL search_path = pg_temp, "{applied.schema}"')
                c.exec_driver_sql("CREATE TEMP TABLE records (kind text, code text, actor text)")
                c.exec_driver_sql("INSERT INTO pg_temp.records VALUES ('pending', 'T-4', 'someone else')")
                c.exec_driver_sql(
                    f'INSERT INTO "{applied.schema}".records (seq, kind, code, subject, actor, body, recorded_at, '
                    "prev_hash, hash) VALUES (10000, 'decision', 'T-4', 'T-4', 'maker', '{}', 0, '', '')"
                )
        finally:
            engine.dispose()


AUDITOR_REFUSED = {
    "INSERT INTO units (code, kind, exponent) VALUES ('XXX', 'currency', 2)": "permission denied for table units",
    "UPDATE balances SET total = 0": "permission denied for table balances",
    "DELETE FROM claims": "permission denied for table claims",
    "SELECT seq FROM ledger_head FOR UPDATE": "permission denied for table ledger_head",
    "SELECT name FROM registry_people": "permission denied for table registry_people",
    "SELECT nextval('registry_people_id_seq')": "permission denied for sequence registry_people_id_seq",
    "CREATE TABLE notes (x int)": "permission denied for schema",
}


class TestAuditor:
    def test_runs_every_audit(self, applied: Roles) -> None:
        """The auditor runs verify, reconcile, totals, the summary, journal tests and an export, as the superuser sees them."""
        with Ledger.open(applied.url) as admin:
            expected = (audit_totals(admin, by=["fund", "purpose"]), aid_summary(admin), verify(admin).digest)
        with Ledger.open(applied.as_(applied.auditor)) as ledger:
            verification = verify(ledger)
            assert verification.ok
            assert reconcile(ledger).ok
            found = (audit_totals(ledger, by=["fund", "purpose"]), aid_summary(ledger), verification.digest)
            assert found == expected
            assert journal_tests(ledger, seed=1).findings["sampled entries"] > 0
            assert export_beancount(ledger, io.StringIO()).entries == verification.entries

    def test_database_refuses_writes_and_the_registry(self, applied: Roles) -> None:
        """The auditor cannot write, lock, create, or read the registry (which PUBLIC could read before)."""
        found = {statement: refused(applied.as_(applied.auditor), statement) for statement in AUDITOR_REFUSED}
        assert {s: m for s, m in found.items() if AUDITOR_REFUSED[s] not in m} == {}

    def test_posting_is_a_typed_error(self, applied: Roles) -> None:
        """Posting as the auditor raises StorageError naming the refusal, and writes nothing."""
        with Ledger.open(applied.as_(applied.auditor)) as ledger:
            head = ledger.head()
            with pytest.raises(StorageError, match="permission denied"):
                Aid(ledger).donate("GENERAL", kzt("1"), donor="D", on=APRIL, actor="auditor")
            assert ledger.head() == head


class TestOwner:
    def test_owner_migrates_and_the_others_cannot(self, applied: Roles, tmp_path: Path) -> None:
        """A real Alembic migration runs as the owner and is refused to the writer and the auditor."""
        scripts = tmp_path / "migrations"
        shutil.copytree(Path(store_engine.__file__).parent / "migrations", scripts)
        probe = PROBE_MIGRATION.replace("{head}", store_engine.SCHEMA_REVISION)
        (scripts / "versions" / "9999_probe.py").write_text(probe, encoding="utf-8")
        config = Config()
        config.set_main_option("script_location", str(scripts))
        for role, allowed in ((applied.writer, False), (applied.auditor, False), (applied.owner, True)):
            engine = sa.create_engine(applied.as_(role))
            try:
                with engine.connect() as connection:
                    transaction = connection.begin()
                    config.attributes["connection"] = connection
                    if allowed:
                        command.upgrade(config, "probe")
                        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                        columns = sa.inspect(connection).get_columns("entries")
                        assert version == "probe" and "note" in {c["name"] for c in columns}
                        with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
                            connection.exec_driver_sql("DELETE FROM entries")
                    else:
                        with pytest.raises(sa.exc.ProgrammingError, match=r"must be owner|permission denied"):
                            command.upgrade(config, "probe")
                    transaction.rollback()
            finally:
                engine.dispose()
        with Ledger.open(applied.url) as ledger:  # rolled back: still the newest revision the library knows
            assert verify(ledger).ok


PROBE_MIGRATION = '''"""A migration as the next release might ship one.

Revision ID: probe
Revises: {head}
"""

import sqlalchemy as sa
from alembic import op

from aidledger.store import triggers

revision = "probe"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    triggers.drop(op.get_bind())
    op.add_column("entries", sa.Column("note", sa.Text))
    op.create_table("entry_notes", sa.Column("entry_seq", sa.BigInteger, primary_key=True))
    op.create_index("ix_entries_actor", "entries", ["actor"])
    triggers.create(op.get_bind())
'''


def privileges(admin: psycopg.Connection[tuple[object, ...]], role: str, table: str) -> set[str]:
    wanted = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    return {
        p for p in wanted if admin.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, p]).fetchone()[0]
    }  # type: ignore[index]


class TestSetup:
    def test_command_creates_missing_roles_and_is_safe_to_rerun(self, ledger_roles: Roles) -> None:
        """`aidledger roles` creates missing roles without LOGIN, and a second run changes nothing."""
        suffix = uuid.uuid4().hex[:8]
        names = [f"o_{suffix}", f"w_{suffix}", f"a_{suffix}"]
        arguments = ["roles", ledger_roles.url, "--owner", names[0], "--writer", names[1], "--auditor", names[2]]
        try:
            first = run(*arguments, "--json")
            assert first.returncode == 0, first.stderr
            data = json.loads(first.stdout)
            assert data["created"] == names and data["private"] == ["registry_people", "registry_people_id_seq"]
            assert data["privileges"][names[1]]["entries"] == ["SELECT", "INSERT"]
            assert data["privileges"][names[1]]["ledger_head"] == ["SELECT", "UPDATE(seq, hash, recorded_at)"]
            assert set(data["privileges"][names[2]]) == set(roles.ledger_tables())
            again = run(*arguments)
            assert again.returncode == 0, again.stderr
            assert "Created" not in again.stdout and "registry_people" in again.stdout
            with ledger_roles.admin() as admin:
                login = admin.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)", [names]).fetchall()
                assert login == [(False,)] * 3
                assert privileges(admin, names[1], "entries") == {"SELECT", "INSERT"}
                assert privileges(admin, names[2], "registry_people") == set()
                owner = admin.execute(
                    "SELECT tableowner FROM pg_tables WHERE tablename = 'entries' AND schemaname = %s",
                    [ledger_roles.schema],
                ).fetchone()
                assert owner == (names[0],)
        finally:
            with ledger_roles.admin() as admin:
                for role in names:
                    admin.execute(f"REASSIGN OWNED BY {role} TO postgres")
                    admin.execute(f"DROP OWNED BY {role}")
                    admin.execute(f"DROP ROLE {role}")

    def test_rerun_takes_back_broader_privileges(self, applied: Roles) -> None:
        """Privileges granted by hand beyond the plan (DELETE to the writer, the registry to the auditor) are revoked."""
        with applied.admin() as admin:
            admin.execute(f"GRANT DELETE, TRUNCATE ON entries TO {applied.writer}")
            admin.execute(f"GRANT SELECT ON registry_people TO {applied.auditor}")
            applied.apply()
            assert privileges(admin, applied.writer, "entries") == {"SELECT", "INSERT"}
            assert privileges(admin, applied.auditor, "registry_people") == set()

    @pytest.mark.parametrize(
        ("names", "message"),
        [
            ({"writer": "postgres"}, "is a superuser"),
            ({"auditor": "writer_same", "writer": "writer_same"}, "three different roles"),
            ({"owner": "x'); DROP TABLE entries; --"}, "lower-case name"),
            ({"auditor": "Auditor"}, "lower-case name"),
            ({"writer": "pg_write_all_data"}, "lower-case name"),
            ({"owner": "public"}, "lower-case name"),
        ],
    )
    def test_refuses_unusable_roles(self, ledger_roles: Roles, names: dict[str, str], message: str) -> None:
        """Bad names, a superuser writer and repeated roles are refused before anything is written."""
        with pytest.raises(InvalidArgument, match=message):
            ledger_roles.apply(**names)
        with ledger_roles.admin() as admin:
            assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ledger_roles.owner]).fetchone()
            assert privileges(admin, ledger_roles.writer, "entries") == set()
            tables = admin.execute(
                "SELECT count(*) FROM pg_tables WHERE tableowner = 'postgres' AND schemaname = %s",
                [ledger_roles.schema],
            ).fetchone()
            assert tables == (len(roles.ledger_tables()) + 1,)

    def test_refuses_roles_that_inherit_too_much(self, ledger_roles: Roles) -> None:
        """A writer in the owner role, or an auditor reaching the registry through a role, is refused, writing nothing."""
        with ledger_roles.admin() as admin:
            admin.execute(f"GRANT {ledger_roles.owner} TO {ledger_roles.writer}")
            with pytest.raises(InvalidArgument, match="member of the owner"):
                ledger_roles.apply()
            admin.execute(f"REVOKE {ledger_roles.owner} FROM {ledger_roles.writer}")
            reader = f"reader_{uuid.uuid4().hex[:8]}"
            admin.execute(f"CREATE ROLE {reader}")
            try:
                admin.execute(f"GRANT SELECT ON registry_people TO {reader}")
                admin.execute(f"GRANT {reader} TO {ledger_roles.auditor}")
                with pytest.raises(InvalidArgument, match="still reaches the private 'registry_people'"):
                    ledger_roles.apply()
                assert privileges(admin, ledger_roles.auditor, "entries") == set()
                assert privileges(admin, "public", "registry_people") == {"SELECT"}
            finally:
                admin.execute(f"DROP OWNED BY {reader}")
                admin.execute(f"DROP ROLE {reader}")

    def test_sqlite_has_no_roles(self, tmp_path: Path) -> None:
        """On SQLite the command refuses (the file is private to its owner) and creates no file; a non-engine is refused."""
        path = tmp_path / "l.db"
        done = run("roles", str(path), "--owner", "o", "--writer", "w", "--auditor", "a")
        assert done.returncode == 2 and "roles are for PostgreSQL" in done.stderr
        assert not path.exists()
        with Ledger.open(str(path)) as ledger, pytest.raises(InvalidArgument, match="PostgreSQL feature"):
            roles.apply(ledger.engine, owner="o", writer="w", auditor="a")
        with pytest.raises(InvalidArgument, match="expected a SQLAlchemy Engine"):
            roles.apply("postgresql://x/y", owner="o", writer="w", auditor="a")  # type: ignore[arg-type]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from aidledger.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
