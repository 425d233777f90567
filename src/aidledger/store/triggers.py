"""Database triggers that make the journal tables append-only.

SQLite and PostgreSQL both refuse UPDATE and DELETE on every append-only table;
PostgreSQL also refuses TRUNCATE, which row triggers do not see.  What the
triggers cannot stop (someone who drops them first) the hash chain detects.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from aidledger.store.schema import APPEND_ONLY

MESSAGE = "aidledger: {table} is append-only; corrections are reversal entries"


def sqlite_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE.format(table=table)}'); END"
        for op in ("UPDATE", "DELETE")
    ]


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION aidledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'aidledger: ' || TG_TABLE_NAME || ' is append-only; corrections are reversal entries',
        ERRCODE = 'insufficient_privilege';
END
$$
"""


def postgresql_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION aidledger_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION aidledger_append_only()",
    ]


# A decision on a pending record is never taken by the record's maker.
CHECKER_MESSAGE = "aidledger: the checker of a decision must not be the maker of what it decides"
SQLITE_CHECKER = f"""
CREATE TRIGGER IF NOT EXISTS records_checker_not_maker BEFORE INSERT ON records
WHEN NEW.kind = 'decision' AND NEW.actor = (SELECT actor FROM records WHERE kind = 'pending' AND code = NEW.subject)
BEGIN SELECT RAISE(ABORT, '{CHECKER_MESSAGE}'); END
"""
PG_CHECKER = (
    f"""
CREATE OR REPLACE FUNCTION aidledger_checker_not_maker() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'decision' AND NEW.actor = (
        SELECT actor FROM records WHERE kind = 'pending' AND code = NEW.subject
    ) THEN
        RAISE EXCEPTION USING MESSAGE = '{CHECKER_MESSAGE}', ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$""",
    "CREATE TRIGGER records_checker_not_maker BEFORE INSERT ON records "
    "FOR EACH ROW EXECUTE FUNCTION aidledger_checker_not_maker()",
)


# The rows of an entry (postings, tags, claims and their releases) are written with it, before it
# becomes an item of the log; once it is in the log nothing can be added to it.
ENTRY_ROWS = ("postings", "entry_tags", "claims", "claim_releases")
FROZEN_MESSAGE = "aidledger: the rows of an entry are append-only: once the entry is in the log nothing is added to it"
_NEWEST_LOGGED = "(SELECT COALESCE(MAX(entries), 0) FROM log)"
PG_FROZEN_FUNCTION = f"""
CREATE OR REPLACE FUNCTION aidledger_entry_frozen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.entry_seq <= {_NEWEST_LOGGED} THEN
        RAISE EXCEPTION USING MESSAGE = '{FROZEN_MESSAGE}', ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""


def _frozen_statements(dialect: str, table: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_frozen BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION aidledger_entry_frozen()"
        ]
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_frozen BEFORE INSERT ON {table} "
        f"WHEN NEW.entry_seq <= {_NEWEST_LOGGED} BEGIN SELECT RAISE(ABORT, '{FROZEN_MESSAGE}'); END"
    ]


def create(
    connection: Connection, tables: Sequence[str] = APPEND_ONLY, *, checker: bool = True, frozen: bool = True
) -> None:
    """Create the append-only triggers on ``tables``, the checker rule (with ``checker``) and the rule
    that an entry's rows are frozen once the entry is in the log (with ``frozen``).

    Migrations pass the tables and rules their revision adds.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(PG_FUNCTION)
    for table in tables:
        statements = postgresql_statements(table) if dialect == "postgresql" else sqlite_statements(table)
        for statement in statements:
            connection.exec_driver_sql(statement)
    if checker:
        for statement in PG_CHECKER if dialect == "postgresql" else (SQLITE_CHECKER,):
            connection.exec_driver_sql(statement)
    if frozen:
        if dialect == "postgresql":
            connection.exec_driver_sql(PG_FROZEN_FUNCTION)
        for table in ENTRY_ROWS:
            for statement in _frozen_statements(dialect, table):
                connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    """Drop the triggers (for migrations, and for tests that tamper behind the library)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS records_checker_not_maker ON records")
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS records_checker_not_maker")
    for table in ENTRY_ROWS:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table}")
        else:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_frozen")
    for table in APPEND_ONLY:
        if connection.dialect.name == "postgresql":
            for suffix in ("no_change", "no_truncate"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_{suffix} ON {table}")
        else:
            for op in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
