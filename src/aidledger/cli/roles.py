"""``aidledger roles``: an owner, a writer and an auditor role for a ledger on PostgreSQL.

See :mod:`aidledger.store.roles` for what each role may do, and the how-to
page ``docs/how-to/postgresql-roles.md`` for connecting services and auditors.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from aidledger.cli.output import emit_json, out
from aidledger.core.errors import InvalidArgument
from aidledger.ledger.ledger import Ledger
from aidledger.store import engine as store_engine
from aidledger.store import roles as store_roles

#: Tables of the personal-data registry kept beside the ledger: the auditor holds nothing on them.
PRIVATE_PREFIXES = ("registry_",)


def roles(
    url: Annotated[str, typer.Argument(help="PostgreSQL URL of the ledger, as a role that may create roles.")],
    owner: Annotated[str, typer.Option(help="The role that owns the tables and runs migrations.")],
    writer: Annotated[str, typer.Option(help="The role services post as: INSERT and SELECT on the journal.")],
    auditor: Annotated[str, typer.Option(help="The role auditors read as: SELECT on the ledger, nothing else.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")] = False,
) -> None:
    """Create (if missing) an owner, a writer and an auditor role and give each exactly its privileges.

    The owner owns the tables and runs migrations; the writer may post and nothing more; the auditor may read.

    The auditor holds nothing on the registry's tables (registry_*).  Safe to run again, after a migration too.
    """

    for what, name in (("owner", owner), ("writer", writer), ("auditor", auditor)):
        store_roles.check_name(what, name)
    if store_engine.parse_url(url).get_backend_name() != "postgresql":
        raise InvalidArgument("roles are for PostgreSQL; a SQLite ledger is a file readable by its owner only")
    with Ledger.open(url) as ledger:
        shown = ledger.url
        setup = store_roles.apply(
            ledger.engine, owner=owner, writer=writer, auditor=auditor, private_prefixes=PRIVATE_PREFIXES
        )
    if as_json:
        emit_json(
            {
                "url": shown,
                "schema": setup.schema,
                "owner": setup.owner,
                "writer": setup.writer,
                "auditor": setup.auditor,
                "created": list(setup.created),
                "privileges": {
                    role: {t: list(p) for t, p in tables.items()} for role, tables in setup.privileges.items()
                },
                "private": list(setup.private),
            }
        )
        return
    table = Table(title=f"Roles on schema {setup.schema} of {shown}")
    table.add_column("role")
    table.add_column("name")
    table.add_column("privileges", max_width=32)
    table.add_column("on tables", max_width=52)
    for role, name in (("owner", setup.owner), ("writer", setup.writer), ("auditor", setup.auditor)):
        groups: dict[tuple[str, ...], list[str]] = {}
        for ledger_table, privileges in setup.privileges[name].items():
            groups.setdefault(privileges, []).append(ledger_table)
        for index, (privileges, tables) in enumerate(groups.items()):
            first = index == 0
            table.add_row(
                Text(role if first else ""),
                Text(name if first else ""),
                Text(", ".join(privileges)),
                Text(", ".join(tables)),
            )
    out.print(table)
    if setup.created:
        out.print(Text(f"Created without LOGIN: {', '.join(setup.created)}."))
        out.print(
            Text("Give one to a login role (GRANT <role> TO <login>) or let it log in (ALTER ROLE <role> LOGIN).")
        )
    hidden = ", ".join(setup.private) or "none yet"
    out.print(Text(f"The auditor holds nothing on the registry's tables ({hidden})."))
