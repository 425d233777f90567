"""The log's commands: verify, prove, check-proof and migrate (registered on the app in ``cli/app.py``).

Each opens the ledger read-only, except ``migrate``, the one write an auditor
may ask for: bringing an older ledger to this library's schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from aidledger.cli.output import JsonOption, UrlArgument, emit_json, out
from aidledger.core.errors import InvalidArgument, SchemaMismatch
from aidledger.ledger.ledger import Ledger
from aidledger.queries.verification import verify as verify_chain
from aidledger.store.engine import SCHEMA_REVISION, known_revisions


def verify(
    url: UrlArgument,
    digest: Annotated[
        str | None,
        typer.Option(help="A digest printed by an earlier verify: prove nothing up to that item changed since."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="An earlier tree digest (tree:<size>:<root>) or chain digest: exit 1 unless the log extends it."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the ledger's log and its tree; exit 1 and name the first broken link if anything was changed."""
    from aidledger.queries.proofs import TreeDigest, check_extends, tree_check

    if since is not None and not TreeDigest.looks_like(since):
        if digest is not None:
            raise InvalidArgument("give an earlier chain digest with --digest or with --since, not both", since=since)
        digest, since = since, None
    with Ledger.open(url, read_only=True) as ledger:
        result = verify_chain(ledger, digest)
        tree = tree_check(ledger).digest
        extension = check_extends(ledger, since) if since is not None else None
    brk = result.first_break
    ok = result.ok and (extension is None or extension.ok)
    if as_json:
        emit_json(
            {
                "ok": ok,
                "entries": result.entries,
                "items": result.items,
                "head_seq": result.head_seq,
                "head_hash": result.head_hash,
                "digest": result.digest,
                "tree_digest": str(tree),
                "extends": None if extension is None else {"since": str(extension.old), "problem": extension.problem},
                "first_break": None
                if brk is None
                else {
                    "seq": brk.seq,
                    "entry_id": brk.entry_id,
                    "problem": brk.problem,
                    "expected": brk.expected,
                    "found": brk.found,
                },
            }
        )
    elif brk is None:
        checked = f"; matches digest {digest.strip()[:24]}…" if digest else ""
        out.print(Text(f"OK: {result.entries} entries, {result.items} items of the log intact{checked}"))
        out.print(Text(f"Digest (keep it outside the database): {result.digest}"))
        out.print(Text(f"Tree digest (publish it): {tree}"))
    else:
        out.print(
            Text.assemble(
                ("BROKEN", "bold red"),
                f" at entry {brk.seq} ({brk.entry_id}): {brk.problem}" if brk.entry_id else f": {brk.problem}",
            )
        )
        if brk.expected or brk.found:
            out.print(Text(f"  expected {brk.expected}\n  found    {brk.found}"))
    if extension is not None and not as_json:
        if extension.ok:
            out.print(Text(f"Extends the earlier digest: the log's first {extension.old.size} items are unchanged"))
        else:
            out.print(Text.assemble(("DOES NOT EXTEND", "bold red"), f" the earlier digest: {extension.problem}"))
    if not ok:
        raise typer.Exit(1)


def prove(
    url: UrlArgument,
    item: Annotated[
        str | None, typer.Option(help="An entry's id or idempotency key, or log:<n> for item n of the log.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Instead of an item: prove the log extends this earlier tree digest.")
    ] = None,
    digest: Annotated[
        str | None, typer.Option(help="The published tree digest to prove against (default: the tree now).")
    ] = None,
    receipt: Annotated[
        bool, typer.Option("--receipt", help="Print a donor receipt of the entry (its fields, hashes and proof).")
    ] = False,
) -> None:
    """Print the proof (JSON) that an item is in the log's tree at a digest, or that the log extends an earlier one."""
    from aidledger.queries.proofs import consistency_proof, donor_receipt, inclusion_proof

    if (item is None) == (since is None) or (receipt and item is None):
        raise InvalidArgument("give either --item (with --receipt for an entry's receipt) or --since", item=item)
    named: int | str | None = item
    if item is not None and item.startswith("log:"):
        if not item[4:].isdigit() or not item[4:].isascii() or receipt:
            raise InvalidArgument(f"a log item is log:<number> (a receipt names an entry), got {item!r}", item=item)
        named = int(item[4:])
    with Ledger.open(url, read_only=True) as ledger:
        if since is not None:
            document = consistency_proof(ledger, since, digest).as_json()
        elif receipt:
            document = donor_receipt(ledger, str(item), digest).as_json()
        else:
            document = inclusion_proof(ledger, named or 0, digest).as_json()
    typer.echo(document)


def check_proof(
    file: Annotated[str, typer.Argument(help="A receipt, item proof or log extension (JSON), or - for stdin.")],
    digest: Annotated[str, typer.Option(help="The published tree digest (tree:<size>:<root>) to check against.")],
    old_digest: Annotated[
        str | None, typer.Option(help="For a log extension: the earlier published tree digest.")
    ] = None,
) -> None:
    """Check a proof with the standalone verifier (aidledger.proofcheck) only; exit 1 if it does not hold."""
    from aidledger import proofcheck

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        doc = json.loads(text)
    except (OSError, ValueError) as error:
        raise InvalidArgument(f"cannot read the proof {file}: {error}", file=file) from None
    problem = proofcheck.document_problem(doc, digest, old_digest)
    if problem is None:
        out.print(Text("valid: it holds against the digest given"))
        return
    out.print(Text.assemble(("INVALID", "bold red"), f": {problem}"))
    raise typer.Exit(1)


def migrate(url: UrlArgument) -> None:
    """Bring an existing ledger to this aidledger's schema (the read-only commands never migrate), then verify it."""
    try:
        Ledger.open(url, read_only=True).close()
        before = None
    except SchemaMismatch as error:
        before = error.details.get("revision")
        if before not in known_revisions():
            raise
    with Ledger.open(url, create=False) as ledger:
        result = verify_chain(ledger)
    done = (
        f"migrated from schema revision {before} to {SCHEMA_REVISION}"
        if before
        else f"at schema revision {SCHEMA_REVISION} already"
    )
    out.print(Text(f"{ledger.url}: {done}"))
    if not result.ok:
        out.print(Text(f"BROKEN: {result.first_break.problem if result.first_break else ''}"))
        raise typer.Exit(1)
    out.print(Text(f"OK: {result.entries} entries, {result.items} items of the log intact"))
    out.print(Text(f"Digest (keep it outside the database): {result.digest}"))
