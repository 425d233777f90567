"""Least privilege on PostgreSQL: an owner, a writer and an auditor for one ledger schema.

- The **owner** owns the ledger's tables and trigger functions and may create in
  the schema: it runs migrations (new tables, columns, indexes and triggers).
- The **writer** may do what the ledger itself writes and nothing more.  The
  journal tables (:data:`aidledger.store.schema.APPEND_ONLY`) take INSERT and
  SELECT only.  The maintained caches are rows the ledger updates on every
  write: ``balances`` and ``balance_days`` take INSERT, SELECT and UPDATE of
  their value columns, ``ledger_head`` SELECT and UPDATE of its value columns
  (``reconcile`` compares the caches with the journal, so a wrong cache is
  found).  ``alembic_version`` is read on open.  No DELETE, TRUNCATE,
  REFERENCES or TRIGGER anywhere, and not owning a table, the writer can
  neither drop its triggers nor alter it.
- The **auditor** may read every ledger table and nothing else: in particular
  no privilege at all on the *private* tables, those whose names start with one
  of the given prefixes (a personal-data store kept beside the ledger).

The trigger functions get a fixed ``search_path`` (the ledger's schema, then
``pg_temp``): the maker-checker trigger looks up ``records``, and a writer's
temporary table of that name must not be what it finds.  A migration that
replaces the functions resets this, which is one more reason to run
:func:`apply` again after every migration.

:func:`apply` runs in one transaction and can be run again (after a migration
added a table, say): it revokes everything first and hands out exactly the
privileges above.  It refuses, writing nothing, role names that are not plain
identifiers, a writer or auditor that is a superuser, and a writer or auditor
that would inherit more through role membership (the owner's rights, or
any privilege on a private table).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

import attrs
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from aidledger.core.errors import InvalidArgument, StorageError
from aidledger.store.schema import APPEND_ONLY, metadata

VERSION_TABLE: Final = "alembic_version"
#: The maintained caches and the privileges the writer needs on them (UPDATE of their non-key columns).
CACHES: Final = {"balances": ("SELECT", "INSERT", "UPDATE"), "balance_days": ("SELECT", "INSERT", "UPDATE")}
HEAD: Final = "ledger_head"
#: The trigger functions of :mod:`aidledger.store.triggers`, owned by the owner.
FUNCTIONS: Final = (
    "aidledger_append_only()",
    "aidledger_checker_not_maker()",
    "aidledger_entry_frozen()",
    "aidledger_entry_approved()",
)
#: Every privilege PostgreSQL knows on a table.
TABLE_PRIVILEGES: Final = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
_RESERVED = frozenset({"public", "all", "none", "current_user", "session_user", "current_role", "user"})


@attrs.frozen
class RoleSetup:
    """The roles of a ledger schema, as :func:`apply` left them.

    Attributes:
        schema: the schema the ledger's tables are in.
        owner, writer, auditor: the role names.
        created: the roles that did not exist and were created (``NOLOGIN``; give them to login roles).
        privileges: per role name, per table, the privileges held (``UPDATE(col, ...)`` for columns).
        private: the private tables, on which the auditor holds nothing.
    """

    schema: str
    owner: str
    writer: str
    auditor: str
    created: tuple[str, ...]
    privileges: Mapping[str, Mapping[str, tuple[str, ...]]]
    private: tuple[str, ...]


def ledger_tables() -> tuple[str, ...]:
    """Every table of a ledger schema, Alembic's version table included."""
    return (*metadata.tables, VERSION_TABLE)


def writer_privileges() -> dict[str, tuple[str, ...]]:
    """Per ledger table, what the writer may do (column lists for UPDATE)."""
    found: dict[str, tuple[str, ...]] = {VERSION_TABLE: ("SELECT",)}
    for table in APPEND_ONLY:
        found[table] = ("SELECT", "INSERT")
    for table, privileges in {**CACHES, HEAD: ("SELECT", "UPDATE")}.items():
        values = ", ".join(c.name for c in metadata.tables[table].columns if not c.primary_key)
        found[table] = tuple(f"UPDATE({values})" if p == "UPDATE" else p for p in privileges)
    return found


def auditor_privileges() -> dict[str, tuple[str, ...]]:
    """Per ledger table, what the auditor may do: read."""
    return dict.fromkeys(ledger_tables(), ("SELECT",))


def check_name(what: str, name: object) -> str:
    """``name`` if it is a plain lower-case role name, else InvalidArgument."""
    if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED or name.startswith("pg_"):
        raise InvalidArgument(
            f"the {what} role must be a lower-case name of letters, digits and '_' (at most 63, not starting "
            f"with a digit or 'pg_'), got {name!r}",
            value=name,
        )
    return name


def apply(
    engine: Engine,
    *,
    owner: str,
    writer: str,
    auditor: str,
    private_prefixes: Sequence[str] = (),
) -> RoleSetup:
    """Create the three roles if missing and give each exactly its privileges on the connection's schema.

    Runs in one transaction on ``engine`` (a PostgreSQL engine whose connections'
    ``current_schema()`` holds an up-to-date ledger) as a role that may create
    roles and owns the ledger's tables (a superuser, typically).  Raises
    InvalidArgument for unusable names or roles, StorageError if the database
    refuses, and writes nothing then.
    """
    if not isinstance(engine, Engine):
        raise InvalidArgument(f"expected a SQLAlchemy Engine, got {engine!r}", value=engine)
    names = {"owner": check_name("owner", owner), "writer": check_name("writer", writer)}
    names["auditor"] = check_name("auditor", auditor)
    if len(set(names.values())) != 3:
        raise InvalidArgument(f"the owner, writer and auditor must be three different roles, got {names}", **names)
    prefixes = tuple(private_prefixes)
    for prefix in prefixes:
        if not isinstance(prefix, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", prefix):
            raise InvalidArgument(f"a private table prefix must be a lower-case identifier, got {prefix!r}")
    if engine.dialect.name != "postgresql":
        raise InvalidArgument(
            "roles are a PostgreSQL feature; a SQLite ledger is a file readable by its owner only", dialect="sqlite"
        )
    try:
        with engine.begin() as connection:
            return _apply(connection, names, prefixes)
    except DBAPIError as error:
        first = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
        raise StorageError(f"the database refused to set up the roles: {first}") from None


def _apply(connection: Connection, names: dict[str, str], prefixes: tuple[str, ...]) -> RoleSetup:
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    if schema is None:
        raise InvalidArgument("the connection has no current schema (check search_path)")
    present = set(
        connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}).scalars()
    )
    missing = [table for table in ledger_tables() if table not in present]
    if missing:
        raise InvalidArgument(
            f"schema {schema!r} holds no up-to-date ledger: missing tables {', '.join(missing)}",
            schema=schema,
            missing=missing,
        )
    quote = connection.dialect.identifier_preparer.quote
    q = {role: quote(name) for role, name in names.items()}
    s = quote(schema)
    created = []
    for role, name in names.items():
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
        if exists is None:
            connection.exec_driver_sql(f"CREATE ROLE {q[role]} NOLOGIN")
            created.append(name)
    _refuse_overpowered(connection, schema, names)
    private = _private_relations(connection, schema, prefixes)

    run = connection.exec_driver_sql
    run(f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC, {q['writer']}, {q['auditor']}")
    run(f"GRANT USAGE, CREATE ON SCHEMA {s} TO {q['owner']}")
    run(f"GRANT USAGE ON SCHEMA {s} TO {q['writer']}, {q['auditor']}")
    for table in ledger_tables():
        run(f"ALTER TABLE {s}.{quote(table)} OWNER TO {q['owner']}")
        run(f"REVOKE ALL ON TABLE {s}.{quote(table)} FROM PUBLIC, {q['writer']}, {q['auditor']}")
    for function in FUNCTIONS:
        run(f"ALTER FUNCTION {s}.{function} OWNER TO {q['owner']}")
        # The checker rule reads ``records``: without a pinned path, a writer's temporary table of that name
        # (pg_temp comes first by default) would answer instead.
        run(f"ALTER FUNCTION {s}.{function} SET search_path = {s}, pg_temp")
    plans = {names["writer"]: writer_privileges(), names["auditor"]: auditor_privileges()}
    for role, plan in plans.items():
        for table, privileges in plan.items():
            run(f"GRANT {', '.join(_sql(p, quote) for p in privileges)} ON TABLE {s}.{quote(table)} TO {quote(role)}")
    for relation, kind in private:
        what = "SEQUENCE" if kind == "S" else "TABLE"
        run(f"REVOKE ALL ON {what} {s}.{quote(relation)} FROM PUBLIC, {q['auditor']}")
    _refuse_leaks(connection, schema, names, plans, private)
    held: dict[str, dict[str, tuple[str, ...]]] = {names["owner"]: dict.fromkeys(ledger_tables(), ("OWNER",))}
    held.update(plans)
    return RoleSetup(
        schema=schema,
        owner=names["owner"],
        writer=names["writer"],
        auditor=names["auditor"],
        created=tuple(created),
        privileges=held,
        private=tuple(relation for relation, _ in private),
    )


def _sql(privilege: str, quote: Callable[[str], str]) -> str:
    """A privilege as SQL: ``UPDATE(a, b)`` becomes ``UPDATE ("a", "b")``."""
    head, _, columns = privilege.partition("(")
    if not columns:
        return head
    return f"{head} ({', '.join(quote(c.strip()) for c in columns.rstrip(')').split(','))})"


def _refuse_overpowered(connection: Connection, schema: str, names: dict[str, str]) -> None:
    """A superuser bypasses every privilege; a member of the owner, or of the schema's owner (who may drop
    any table in it), holds their rights."""
    for role in ("writer", "auditor"):
        name = names[role]
        superuser = connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :n"), {"n": name})
        if superuser.scalar_one():
            raise InvalidArgument(
                f"the {role} role {name!r} is a superuser, which no privilege can restrict", role=name
            )
        schema_owner = connection.execute(
            text(
                "SELECT r.rolname, pg_has_role(:n, n.nspowner, 'MEMBER') FROM pg_namespace n "
                "JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = :s"
            ),
            {"n": name, "s": schema},
        ).one()
        if schema_owner[1]:
            raise InvalidArgument(
                f"the {role} role {name!r} owns schema {schema!r} (as {schema_owner[0]!r}, which may drop its tables)",
                role=name,
                schema=schema,
            )
    for member, of in (("writer", "owner"), ("auditor", "owner"), ("auditor", "writer")):
        inherits = connection.execute(
            text("SELECT pg_has_role(:m, :o, 'MEMBER')"), {"m": names[member], "o": names[of]}
        ).scalar_one()
        if inherits:
            raise InvalidArgument(
                f"the {member} role {names[member]!r} is a member of the {of} role {names[of]!r} "
                f"and would hold its privileges",
                role=names[member],
                member_of=names[of],
            )


def _private_relations(connection: Connection, schema: str, prefixes: Iterable[str]) -> list[tuple[str, str]]:
    """The tables, views and sequences of ``schema`` whose names start with one of ``prefixes``, with their kind."""
    found: list[tuple[str, str]] = []
    for prefix in prefixes:
        rows = connection.execute(
            text(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') "
                "AND left(c.relname, length(:p)) = :p ORDER BY c.relname"
            ),
            {"s": schema, "p": prefix},
        )
        found.extend((str(name), str(kind)) for name, kind in rows)
    return found


def _refuse_leaks(
    connection: Connection,
    schema: str,
    names: dict[str, str],
    plans: dict[str, dict[str, tuple[str, ...]]],
    private: list[tuple[str, str]],
) -> None:
    """Check what the roles hold in the end, memberships included: the writer and the auditor nothing beyond
    their plan on a ledger table, the auditor nothing on a private relation."""
    table_check = text("SELECT has_table_privilege(:role, :relation, :privilege)")
    for role in ("writer", "auditor"):
        for table, planned in plans[names[role]].items():
            extra = [p for p in TABLE_PRIVILEGES if p not in planned]
            relation = f"{_quoted(schema)}.{_quoted(table)}"
            params = {"role": names[role], "relation": relation, "privilege": ",".join(extra)}
            if connection.execute(table_check, params).scalar_one():
                raise InvalidArgument(
                    f"the {role} role {names[role]!r} holds more than {', '.join(planned)} on {table} "
                    f"through a role it belongs to",
                    role=names[role],
                    table=table,
                )
    for relation, kind in private:
        if kind == "S":
            query = text("SELECT has_sequence_privilege(:role, :relation, 'USAGE,SELECT,UPDATE')")
            params = {"role": names["auditor"], "relation": f"{_quoted(schema)}.{_quoted(relation)}"}
        else:
            query = table_check
            params = {
                "role": names["auditor"],
                "relation": f"{_quoted(schema)}.{_quoted(relation)}",
                "privilege": ",".join(TABLE_PRIVILEGES),
            }
        if connection.execute(query, params).scalar_one():
            raise InvalidArgument(
                f"the auditor role {names['auditor']!r} still reaches the private {relation!r} "
                f"through a role it belongs to",
                role=names["auditor"],
                relation=relation,
            )


def _quoted(identifier: str) -> str:
    """An identifier quoted for a regclass text argument."""
    return '"' + identifier.replace('"', '""') + '"'
