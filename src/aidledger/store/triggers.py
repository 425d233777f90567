"""Database triggers that make the journal tables append-only.

SQLite and PostgreSQL both refuse UPDATE and DELETE on every append-only table;
PostgreSQL also refuses TRUNCATE, which row triggers do not see.  What the
triggers cannot stop (someone who drops them first) the hash chain detects.
Three rules guard the maker-checker records besides: a decision's checker is
not its batch's maker, an entry's rows are frozen once it is logged, and an
entry above the approval policy in force carries its distinct approvals.
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


# An entry above the approval policy in force carries the distinct approvals it asks for.  The policies are
# the newest ``approval-policy`` record of each scope; an entry's batch is the subject of the newest record,
# which must be the approved decision its checker (``approved_by``) took just before it was posted; its
# approvals are that batch's ``approval`` and ``decision`` records, the maker's and the entry actor's own
# left out.  Actors are compared as stored: the library (and reconcile) compare them by identity_key, which
# is stricter.  The rule is checked as the entry becomes an item of the log, after its rows are written.
APPROVAL_MESSAGE = (
    "aidledger: the approval policy in force asks for more distinct approvals than this entry has "
    "(none of them its maker)"
)
_POLICY = "approval-policy"


def _needed(dialect: str, entry: str) -> str:
    """SQL for the distinct checkers entry number ``entry`` needs under the policies in force."""
    if dialect == "postgresql":
        body, tiers = "p.body::jsonb", "jsonb_array_elements(p.body::jsonb -> 'tiers') AS tier(value)"
        scope = {name: f"({body} -> 'scope' ->> '{name}')" for name in ("kind", "fund")}
        tag_name, tag_value = f"({body} -> 'scope' -> 'tag' ->> 0)", f"({body} -> 'scope' -> 'tag' ->> 1)"
        has_tag, unit = f"({body} -> 'scope' -> 'tag') IS NOT NULL", f"({body} ->> 'unit')"
        above, checkers = "(tier.value ->> 'above')::bigint", "(tier.value ->> 'checkers')::integer"
    else:
        tiers = "json_each(p.body, '$.tiers') AS tier"
        scope = {name: f"json_extract(p.body, '$.scope.{name}')" for name in ("kind", "fund")}
        tag_name, tag_value = "json_extract(p.body, '$.scope.tag[0]')", "json_extract(p.body, '$.scope.tag[1]')"
        has_tag, unit = "json_type(p.body, '$.scope.tag') IS NOT NULL", "json_extract(p.body, '$.unit')"
        above, checkers = "json_extract(tier.value, '$.above')", "json_extract(tier.value, '$.checkers')"
    return f"""(
        SELECT COALESCE(MAX({checkers}), 0) FROM records AS p, {tiers}
        WHERE p.kind = '{_POLICY}'
          AND p.seq = (SELECT MAX(q.seq) FROM records AS q WHERE q.kind = '{_POLICY}' AND q.subject = p.subject)
          AND ({scope["kind"]} IS NULL OR {scope["kind"]} = (SELECT e.kind FROM entries AS e WHERE e.seq = {entry}))
          AND ({scope["fund"]} IS NULL OR EXISTS (
                SELECT 1 FROM postings AS x JOIN funds AS f ON f.id = x.fund_id
                WHERE x.entry_seq = {entry} AND f.code = {scope["fund"]}))
          AND (NOT {has_tag} OR EXISTS (
                SELECT 1 FROM entry_tags AS g
                WHERE g.entry_seq = {entry} AND g.name = {tag_name} AND g.value = {tag_value}))
          AND (SELECT COALESCE(SUM(x.amount), 0) FROM postings AS x JOIN accounts AS a ON a.id = x.account_id
               WHERE x.entry_seq = {entry} AND x.amount > 0 AND a.type <> 'memo' AND a.unit_code = {unit}) > {above}
    )"""


def _have(dialect: str, entry: str) -> str:
    """SQL for the distinct approvals entry number ``entry`` carries from the batch decided just before it."""

    def approved(alias: str) -> str:
        if dialect == "postgresql":
            return f"({alias}.body::jsonb ->> 'decision') = 'approved'"
        return f"json_extract({alias}.body, '$.decision') = 'approved'"

    batch = f"""(
        SELECT d.subject FROM records AS d
        WHERE d.seq = (SELECT MAX(r.seq) FROM records AS r) AND d.kind = 'decision' AND {approved("d")}
          AND d.actor = (SELECT e.approved_by FROM entries AS e WHERE e.seq = {entry})
    )"""
    return f"""(
        SELECT COUNT(DISTINCT c.actor) FROM records AS c
        WHERE c.kind IN ('approval', 'decision') AND c.subject = {batch} AND {approved("c")}
          AND c.actor <> (SELECT m.actor FROM records AS m WHERE m.kind = 'pending' AND m.code = c.subject)
          AND c.actor <> (SELECT e.actor FROM entries AS e WHERE e.seq = {entry})
    )"""


def _policies_exist() -> str:
    return f"EXISTS (SELECT 1 FROM records WHERE kind = '{_POLICY}')"


def sqlite_approved() -> str:
    """The SQLite trigger refusing an entry's log item when the entry lacks its approvals."""
    return f"""
CREATE TRIGGER IF NOT EXISTS log_entry_approved BEFORE INSERT ON log
WHEN NEW.kind = 'entry' AND {_policies_exist()}
BEGIN
    SELECT RAISE(ABORT, '{APPROVAL_MESSAGE}')
    WHERE {_needed("sqlite", "NEW.entries")} > {_have("sqlite", "NEW.entries")};
END
"""


def postgresql_approved() -> tuple[str, str]:
    """The PostgreSQL function and trigger refusing an entry's log item when the entry lacks its approvals."""
    function = f"""
CREATE OR REPLACE FUNCTION aidledger_entry_approved() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    needed integer;
    have integer;
BEGIN
    IF NEW.kind <> 'entry' OR NOT {_policies_exist()} THEN
        RETURN NEW;
    END IF;
    needed := {_needed("postgresql", "NEW.entries")};
    IF needed = 0 THEN
        RETURN NEW;
    END IF;
    have := {_have("postgresql", "NEW.entries")};
    IF have < needed THEN
        RAISE EXCEPTION USING
            MESSAGE = '{APPROVAL_MESSAGE}',
            DETAIL = format('entry %s needs %s distinct approval(s) and has %s', NEW.entries, needed, have),
            ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$"""
    trigger = (
        "CREATE TRIGGER log_entry_approved BEFORE INSERT ON log "
        "FOR EACH ROW EXECUTE FUNCTION aidledger_entry_approved()"
    )
    return function, trigger


def create(
    connection: Connection,
    tables: Sequence[str] = APPEND_ONLY,
    *,
    checker: bool = True,
    frozen: bool = True,
    approved: bool = True,
) -> None:
    """Create the append-only triggers on ``tables``, the checker rule (with ``checker``), the rule
    that an entry's rows are frozen once the entry is in the log (with ``frozen``) and the rule that an
    entry carries the approvals the policy in force asks for (with ``approved``).

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
    if approved:
        for statement in postgresql_approved() if dialect == "postgresql" else (sqlite_approved(),):
            connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    """Drop the triggers (for migrations, and for tests that tamper behind the library)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS records_checker_not_maker ON records")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS log_entry_approved ON log")
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS records_checker_not_maker")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS log_entry_approved")
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
