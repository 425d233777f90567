"""Tampering behind the library: generated attacks are refused by the triggers or reported by the checks.

Each attempt changes a small filled ledger with raw SQL, either as a user the
triggers hold back, or as the owner who drops them first (and, on PostgreSQL,
switches foreign keys off).  The triggers must refuse every UPDATE and DELETE
of the journal (and nothing may have changed); whatever goes through must be
reported by ``verify(digest)`` (the chain and the auditor's digest) or by
``reconcile()``.  The database is then put back to its template, checked row
for row.  Seven kinds of attack: an amount updated, an entry deleted, an entry
inserted, the chain reordered, an entry forged and re-hashed in place, a
maintained balance changed, and the newest entries cut off; each with several
variants, from clumsy to a chain re-hashed from the forged entry on with its
caches rebuilt, which only the digest can catch.

By default 75 attempts per kind and backend (1,050 in all);
``AIDLEDGER_RELIABILITY=long`` makes it 500.  Failures name the seed of the
attempt (``<backend>:<kind>:<n>``), so one attempt can be replayed alone.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from aidledger import MAX_MINOR, Aid, Ledger, Verification, reconcile, verify
from aidledger.core import hashing
from aidledger.core.errors import StorageError
from aidledger.core.times import MICROS_PER_DAY
from aidledger.store import log as store_log
from aidledger.store import schema as t
from aidledger.store import triggers
from tests.books import MAY, build_books
from tests.conftest import new_url
from tests.operations.conftest import APRIL, kzt
from tests.reliability.dump import Dump, copy_ledger, dump, restore

LONG = os.environ.get("AIDLEDGER_RELIABILITY") == "long"
ATTEMPTS = 500 if LONG else 75
#: Share of the attempts made as a user whose UPDATE and DELETE the triggers hold back.
AS_USER = 0.25

CHILDREN = (t.postings, t.entry_tags, t.claims, t.claim_releases)


# -- the filled ledger ---------------------------------------------------------------


def fill(aid: Aid) -> Aid:
    """Add to the books of tests/books.py a tranche approved by a checker, a reversal and a period close,
    so that every table holds rows."""
    aid.submit_tranche("DOSTYK", kzt("1000000"), milestone="walls", on=MAY.add(days=2), actor="treasurer", code="T-1")
    aid.approve("T-1", checker="director")
    wrong = aid.donate("GENERAL", kzt("700.50"), donor="D-3", on=MAY.add(days=3), actor="cashier")
    aid.ledger.reverse(wrong.id, actor="controller", memo="posted to the wrong fund")
    aid.close_period(APRIL.add(hours=1), actor="closer")
    return aid


def open_filled(url: str) -> Ledger:
    """A new ledger at ``url`` with the funds of tests/conftest.py and :func:`fill`'s books."""
    ledger = Ledger.open(url)
    aid = Aid(ledger, approval_threshold=kzt("10000000"))
    aid.create_fund("GENERAL", name="Unrestricted")
    aid.create_fund("CASH-AID", name="One-off cash aid", purpose="cash-aid")
    aid.create_fund("FOOD", name="Food packages", purpose="food")
    aid.create_fund("HOUSING", name="Housing for flooded villages", purpose="housing")
    fill(build_books(aid))
    return ledger


@pytest.fixture
def filled(books: Aid) -> Ledger:
    return fill(books).ledger


# -- what an attacker with the library's source can do ---------------------------------------


def plain_engine(ledger: Ledger) -> Engine:
    """An engine without aidledger's settings (no foreign keys on SQLite), whose transactions are real."""
    engine = sa.create_engine(ledger.engine.url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _manual(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def definitions(c: Connection) -> tuple[dict[int, list[Any]], dict[int, list[Any]], dict[str, list[Any]]]:
    """The canonical definitions of accounts (by id), funds (by id) and units (by code), as entries hash them."""
    accounts = {
        r.id: ["account", r.code, r.type, r.unit_code, r.normal_side, bool(r.allow_negative), r.name]
        for r in c.execute(sa.select(t.accounts))
    }
    funds = {
        r.id: ["fund", r.code, r.purpose, r.restriction, bool(r.allow_negative), r.name]
        for r in c.execute(sa.select(t.funds))
    }
    units = {r.code: ["unit", r.code, r.kind, r.exponent, r.measure] for r in c.execute(sa.select(t.units))}
    return accounts, funds, units


def fields_of(c: Connection, seq: int, **overrides: Any) -> dict[str, Any]:
    """The canonical fields of stored entry ``seq`` (as the verifier rebuilds them), with ``overrides``."""
    accounts, funds, units = definitions(c)
    row = c.execute(sa.select(t.entries).where(t.entries.c.seq == seq)).one()

    def rows(table: sa.Table, *order: str) -> list[Any]:
        query = sa.select(table).where(table.c.entry_seq == seq).order_by(*(table.c[o] for o in order))
        return list(c.execute(query))

    postings, chart = [], {}
    for line in rows(t.postings, "line"):
        account, fund = accounts[line.account_id], funds[line.fund_id]
        postings.append((account[1], fund[1], account[3], line.amount))
        for definition in (account, fund, units[account[3]]):
            chart[(definition[0], definition[1])] = definition
    values: dict[str, Any] = {
        "kind": row.kind,
        "effective_at": row.effective_at,
        "effective_tz": row.effective_tz,
        "actor": row.actor,
        "memo": row.memo,
        "idempotency_key": row.idempotency_key,
        "source": row.source,
        "tags": {r.name: r.value for r in rows(t.entry_tags, "name")},
        "claims": [(r.scope, r.key) for r in rows(t.claims, "scope", "key")],
        "releases": [(r.scope, r.key) for r in rows(t.claim_releases, "scope", "key")],
        "reverses": row.reverses,
        "approved_by": row.approved_by,
        "postings": postings,
        "chart": list(chart.values()),
    }
    values.update(overrides)
    return hashing.draft_fields(**values)


def last_seq(c: Connection) -> int:
    return int(c.execute(sa.select(sa.func.coalesce(sa.func.max(t.entries.c.seq), 0))).scalar_one())


def hash_of(c: Connection, seq: int) -> str:
    if seq == 0:
        return hashing.GENESIS
    return str(c.execute(sa.select(t.entries.c.hash).where(t.entries.c.seq == seq)).scalar_one())


def rehash(c: Connection, start: int, stop: int | None = None) -> None:
    """Recompute the hashes of entries ``start``..``stop`` (default: to the end), each chained to the one before,
    and move the head onto the last entry when the chain was re-hashed to its end."""
    end = last_seq(c) if stop is None else stop
    for seq in range(start, end + 1):
        row = c.execute(sa.select(t.entries).where(t.entries.c.seq == seq)).one()
        prev = hash_of(c, seq - 1)
        digest = hashing.entry_hash(
            fields_of(c, seq), seq=seq, entry_id=row.id, recorded_at=row.recorded_at, prev_hash=prev
        )
        c.execute(sa.update(t.entries).where(t.entries.c.seq == seq).values(prev_hash=prev, hash=digest))
    if stop is None or stop == last_seq(c):
        move_head(c)


def move_head(c: Connection) -> None:
    """Point the head at the last entry, as the library would have, and re-hash the whole log over the rows."""
    seq = last_seq(c)
    recorded = c.execute(sa.select(t.entries.c.recorded_at).where(t.entries.c.seq == seq)).scalar()
    c.execute(sa.update(t.ledger_head).values(seq=seq, hash=hash_of(c, seq), recorded_at=recorded or 0))
    relog(c)


def relog(c: Connection) -> None:
    """Re-hash every item of the log, in its order, over the rows as they now are (an item whose row is gone
    is dropped), as an attacker with the library's source would to hide a change from verify() without a digest."""
    stored: dict[tuple[str, str], str] = {}
    for kind, table in (("entry", t.entries), ("close", t.period_closes), ("record", t.records)):
        stored.update({(kind, str(r.seq)): r.hash for r in c.execute(sa.select(table.c.seq, table.c.hash))})
    for kind, table in (("unit", t.units), ("account", t.accounts), ("fund", t.funds)):
        for r in c.execute(sa.select(table)):
            item = store_log.definition_item(kind, r._mapping)
            stored[(kind, item.ref)] = item.item
    items = [
        store_log.Item(r.kind, r.ref, stored[(r.kind, r.ref)], int(r.ref) if r.kind == "entry" else None)
        for r in c.execute(sa.select(t.log).order_by(t.log.c.seq))
        if (r.kind, r.ref) in stored
    ]
    c.execute(sa.delete(t.log))
    c.execute(sa.delete(t.log_tree))  # and the log's tree, rebuilt as the library appends it
    store_log.append(c, items)


def rebuild_caches(c: Connection) -> None:
    """Recompute the maintained balances and daily deltas from the postings, so that reconcile() agrees."""
    p = t.postings.c
    c.execute(sa.delete(t.balances))
    c.execute(sa.delete(t.balance_days))
    totals = c.execute(
        sa.select(
            p.account_id, p.fund_id, sa.func.sum(p.amount), sa.func.max(p.effective_at), sa.func.count()
        ).group_by(p.account_id, p.fund_id)
    ).all()
    if totals:
        c.execute(
            sa.insert(t.balances),
            [
                {"account_id": a, "fund_id": f, "total": int(s), "last_effective": int(last), "postings": int(n)}
                for a, f, s, last, n in totals
            ],
        )
    days: dict[tuple[int, int, int], int] = {}
    for a, f, eff, amount in c.execute(sa.select(p.account_id, p.fund_id, p.effective_at, p.amount)):
        key = (a, f, eff // MICROS_PER_DAY)
        days[key] = days.get(key, 0) + amount
    if days:
        c.execute(
            sa.insert(t.balance_days),
            [{"account_id": a, "fund_id": f, "day": d, "delta": v} for (a, f, d), v in days.items()],
        )


def delete_entry(c: Connection, seq: int) -> None:
    for table in CHILDREN:
        c.execute(sa.delete(table).where(table.c.entry_seq == seq))
    c.execute(sa.delete(t.entries).where(t.entries.c.seq == seq))


def move_entry(c: Connection, old: int, new: int) -> None:
    """Give entry ``old`` (and its rows) the number ``new``."""
    c.execute(sa.update(t.entries).where(t.entries.c.seq == old).values(seq=new))
    for table in CHILDREN:
        c.execute(sa.update(table).where(table.c.entry_seq == old).values(entry_seq=new))


def insert_copy(c: Connection, source: int, seq: int, *, hashed: bool, prev: str | None = None) -> None:
    """Insert a copy of entry ``source`` (new id, no key, claims or reversal) as entry ``seq``.

    With ``hashed``, its hash is computed properly and chained to ``prev`` (default: entry ``seq - 1``);
    the rows are inserted only, so a user the triggers hold back can do it too.
    """
    row = c.execute(sa.select(t.entries).where(t.entries.c.seq == source)).one()._asdict()
    prev = hash_of(c, seq - 1) if prev is None else prev
    entry_id = str(uuid.uuid4())
    digest = "f" * 64
    if hashed:
        fields = fields_of(c, source, idempotency_key=None, claims=[], releases=[], reverses=None)
        digest = hashing.entry_hash(fields, seq=seq, entry_id=entry_id, recorded_at=row["recorded_at"], prev_hash=prev)
    row.update(seq=seq, id=entry_id, idempotency_key=None, reverses=None, prev_hash=prev, hash=digest)
    c.execute(sa.insert(t.entries).values(row))
    for table in (t.postings, t.entry_tags):
        for child in c.execute(sa.select(table).where(table.c.entry_seq == source)).all():
            c.execute(sa.insert(table).values({**child._asdict(), "entry_seq": seq}))


# -- the attacks -----------------------------------------------------------------------


@attrs.frozen
class Attack:
    """One change behind the library: what it is, whether it needs UPDATE or DELETE on the journal, and the SQL."""

    description: str
    refusable: bool
    work: Callable[[Connection], object]


@attrs.frozen
class Facts:
    """What the attacks aim at, read from the template."""

    entries: list[dict[str, Any]]
    postings: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    records: list[dict[str, Any]]
    balances: list[dict[str, Any]]
    days: list[dict[str, Any]]
    unit_of: dict[int, str]  # account id -> unit code

    @classmethod
    def of(cls, rows: Dump) -> Facts:
        def dicts(table: sa.Table) -> list[dict[str, Any]]:
            names = [column.name for column in table.columns]
            return [dict(zip(names, row, strict=True)) for row in rows[table.name]]

        accounts = dicts(t.accounts)
        return cls(
            entries=dicts(t.entries),
            postings=dicts(t.postings),
            tags=dicts(t.entry_tags),
            claims=dicts(t.claims),
            records=dicts(t.records),
            balances=dicts(t.balances),
            days=dicts(t.balance_days),
            unit_of={a["id"]: a["unit_code"] for a in accounts},
        )

    @property
    def last(self) -> int:
        return len(self.entries)

    def lines(self, seq: int) -> list[dict[str, Any]]:
        return [p for p in self.postings if p["entry_seq"] == seq]

    def pairs(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(debit, credit) lines of one entry in the same fund and unit: changed by as much, they still balance."""
        found = []
        for debit in self.postings:
            for credit in self.lines(debit["entry_seq"]):
                if (
                    debit["amount"] > 0 > credit["amount"]
                    and debit["fund_id"] == credit["fund_id"]
                    and self.unit_of[debit["account_id"]] == self.unit_of[credit["account_id"]]
                ):
                    found.append((debit, credit))
        return found


def delta(rng: random.Random, old: int = 0) -> int:
    """A non-zero change, from one minor unit to 10^15, that does not make ``old`` zero."""
    while True:
        size = rng.choice([1, 2, 100, 10**6, 10**12, 10**15])
        change = rng.randint(1, size) * rng.choice([-1, 1])
        if old + change != 0 and abs(old + change) <= MAX_MINOR:
            return change


def text(rng: random.Random, *old: object) -> str:
    """Some text that is none of ``old``."""
    while True:
        new = rng.choice(["mallory", "nothing to see", "", "x", "корректировка", "approved"]) + str(rng.randint(0, 9))
        if new not in old:
            return new


def set_posting(seq: int, line: int, /, **values: Any) -> Callable[[Connection], object]:
    p = t.postings.c
    return lambda c: c.execute(sa.update(t.postings).where(p.entry_seq == seq, p.line == line).values(**values))


def amount_attack(rng: random.Random, facts: Facts) -> Attack:
    variant = rng.choice(
        ["one line", "one line and its balances", "a balanced pair", "a pair, caches rebuilt", "record"]
    )
    if variant == "record":
        record = rng.choice([r for r in facts.records if '"amount":"' in r["body"]])
        old = record["body"].split('"amount":"')[1].split('"')[0]
        new = f"{int(old.split('.')[0]) + rng.randint(1, 10**9)}.00"
        body = record["body"].replace(f'"amount":"{old}"', f'"amount":"{new}"')
        return Attack(
            f"amount of {record['kind']} record {record['code']} changed from {old} to {new}",
            True,
            lambda c: c.execute(sa.update(t.records).where(t.records.c.seq == record["seq"]).values(body=body)),
        )
    if variant.startswith("one line"):
        line = rng.choice(facts.postings)
        change = delta(rng, line["amount"])
        seq, number = line["entry_seq"], line["line"]
        work = set_posting(seq, number, amount=line["amount"] + change)

        def with_balances(c: Connection) -> None:
            work(c)
            b, d = t.balances.c, t.balance_days.c
            key = (b.account_id == line["account_id"], b.fund_id == line["fund_id"])
            c.execute(sa.update(t.balances).where(*key).values(total=b.total + change))
            c.execute(
                sa.update(t.balance_days)
                .where(
                    d.account_id == line["account_id"],
                    d.fund_id == line["fund_id"],
                    d.day == line["effective_at"] // MICROS_PER_DAY,
                )
                .values(delta=d.delta + change)
            )

        return Attack(
            f"{variant}: entry {seq} line {number} amount {line['amount']} changed by {change}",
            True,
            with_balances if variant == "one line and its balances" else work,
        )
    debit, credit = rng.choice(facts.pairs())
    change = delta(rng, debit["amount"])
    while credit["amount"] - change == 0:
        change = delta(rng, debit["amount"])

    def pair(c: Connection) -> None:
        set_posting(debit["entry_seq"], debit["line"], amount=debit["amount"] + change)(c)
        set_posting(credit["entry_seq"], credit["line"], amount=credit["amount"] - change)(c)
        if variant == "a pair, caches rebuilt":
            rebuild_caches(c)

    return Attack(
        f"{variant}: entry {debit['entry_seq']} lines {debit['line']} and {credit['line']} changed by ±{change}",
        True,
        pair,
    )


def deleted_attack(rng: random.Random, facts: Facts) -> Attack:
    seq = rng.randint(1, facts.last)
    variant = rng.choice(
        ["the entry row only", "the entry and its rows", "later entries renumbered", "caches rebuilt", "one posting"]
    )
    if variant == "one posting":
        line = rng.choice(facts.lines(seq))
        p = t.postings.c
        return Attack(
            f"line {line['line']} of entry {seq} deleted",
            True,
            lambda c: c.execute(sa.delete(t.postings).where(p.entry_seq == seq, p.line == line["line"])),
        )

    def work(c: Connection) -> None:
        if variant == "the entry row only":
            c.execute(sa.delete(t.entries).where(t.entries.c.seq == seq))
            return
        delete_entry(c, seq)
        if variant == "later entries renumbered":
            for later in range(seq + 1, facts.last + 1):
                move_entry(c, later, later - 1)
        if variant == "caches rebuilt":
            rebuild_caches(c)

    return Attack(f"entry {seq} deleted: {variant}", True, work)


def inserted_attack(rng: random.Random, facts: Facts) -> Attack:
    source = rng.randint(1, facts.last)
    variant = rng.choice(
        ["appended, made-up hash", "appended, hashed, head moved", "appended after a gap", "in the middle",
         "in the middle, chain re-hashed, caches rebuilt"]
    )  # fmt: skip
    if variant.startswith("appended"):
        seq = facts.last + (2 if variant == "appended after a gap" else 1)

        def append(c: Connection) -> None:
            insert_copy(c, source, seq, hashed=variant != "appended, made-up hash", prev=hash_of(c, facts.last))
            if variant == "appended, hashed, head moved":
                move_head(c)

        return Attack(f"copy of entry {source} {variant} as entry {seq}", False, append)
    at = rng.randint(1, facts.last)

    def middle(c: Connection) -> None:
        for seq in range(facts.last, at - 1, -1):
            move_entry(c, seq, seq + 1)
        insert_copy(c, source if source < at else source + 1, at, hashed=True)
        if variant.endswith("caches rebuilt"):
            rehash(c, at + 1)
            rebuild_caches(c)

    return Attack(f"copy of entry {source} inserted {variant} at {at}", True, middle)


def reordered_attack(rng: random.Random, facts: Facts) -> Attack:
    variant = rng.choice(
        ["two entries swapped", "swapped, chain re-hashed", "an entry moved to the end", "lines swapped"]
    )
    if variant == "lines swapped":
        seq = rng.randint(1, facts.last)
        first, second = rng.sample(range(1, len(facts.lines(seq)) + 1), 2)

        def lines(c: Connection) -> None:
            set_posting(seq, first, line=1000)(c)
            set_posting(seq, second, line=first)(c)
            set_posting(seq, 1000, line=second)(c)

        return Attack(f"lines {first} and {second} of entry {seq} swapped", True, lines)
    a, b = sorted(rng.sample(range(1, facts.last + 1), 2))

    def swap(c: Connection) -> None:
        if variant == "an entry moved to the end":
            move_entry(c, a, 1000)
            for seq in range(a + 1, facts.last + 1):
                move_entry(c, seq, seq - 1)
            move_entry(c, 1000, facts.last)
            return
        move_entry(c, a, 1000)
        move_entry(c, b, a)
        move_entry(c, 1000, b)
        if variant == "swapped, chain re-hashed":
            rehash(c, a)
            rebuild_caches(c)

    return Attack(f"{variant}: entries {a} and {b}", True, swap)


def forged_attack(rng: random.Random, facts: Facts) -> Attack:
    """One field of an entry changed and the entry's hash recomputed (alone, or with the rest of the chain)."""
    entry = rng.choice(facts.entries)
    seq = entry["seq"]
    e = t.entries.c
    changes: dict[str, Callable[[Connection], object]] = {
        "memo": lambda c: c.execute(sa.update(t.entries).where(e.seq == seq).values(memo=text(rng, entry["memo"]))),
        "actor": lambda c: c.execute(
            sa.update(t.entries).where(e.seq == seq).values(actor=text(rng, entry["actor"], entry["approved_by"]))
        ),
        "kind": lambda c: c.execute(
            sa.update(t.entries).where(e.seq == seq).values(kind="general" if entry["kind"] != "general" else "payment")
        ),
        "source": lambda c: c.execute(
            sa.update(t.entries).where(e.seq == seq).values(source=text(rng, entry["source"]))
        ),
        "idempotency key": lambda c: c.execute(
            sa.update(t.entries).where(e.seq == seq).values(idempotency_key=f"forged-{uuid.uuid4()}")
        ),
    }
    moved = delta(rng) % (400 * MICROS_PER_DAY) + 1

    def effective(c: Connection) -> None:
        c.execute(sa.update(t.entries).where(e.seq == seq).values(effective_at=e.effective_at + moved))
        c.execute(
            sa.update(t.postings)
            .where(t.postings.c.entry_seq == seq)
            .values(effective_at=t.postings.c.effective_at + moved)
        )

    changes["effective time"] = effective
    pairs = [pair for pair in facts.pairs() if pair[0]["entry_seq"] == seq]
    if pairs:
        debit, credit = rng.choice(pairs)
        change = delta(rng, debit["amount"])
        while credit["amount"] - change == 0:
            change = delta(rng, debit["amount"])

        def amounts(c: Connection) -> None:
            set_posting(seq, debit["line"], amount=debit["amount"] + change)(c)
            set_posting(seq, credit["line"], amount=credit["amount"] - change)(c)

        changes["amounts"] = amounts
    lines = facts.lines(seq)
    line = rng.choice(lines)
    others = [
        a for a, unit in facts.unit_of.items() if unit == facts.unit_of[line["account_id"]] and a != line["account_id"]
    ]
    if others:
        changes["account"] = set_posting(seq, line["line"], account_id=rng.choice(others))
    funds = sorted({b["fund_id"] for b in facts.balances} - {line["fund_id"] for line in lines})
    if funds and len({line["fund_id"] for line in lines}) == 1:
        fund = rng.choice(funds)
        changes["fund"] = lambda c: c.execute(
            sa.update(t.postings).where(t.postings.c.entry_seq == seq).values(fund_id=fund)
        )
    tags = [tag for tag in facts.tags if tag["entry_seq"] == seq]
    g = t.entry_tags.c
    if tags:
        tag = rng.choice(tags)
        changes["tag value"] = lambda c: c.execute(
            sa.update(t.entry_tags)
            .where(g.entry_seq == seq, g.name == tag["name"])
            .values(value=text(rng, tag["value"]))
        )
        changes["tag removed"] = lambda c: c.execute(
            sa.delete(t.entry_tags).where(g.entry_seq == seq, g.name == tag["name"])
        )
    changes["tag added"] = lambda c: c.execute(
        sa.insert(t.entry_tags).values(entry_seq=seq, name="zz-forged", value=text(rng, None))
    )
    claims = [claim for claim in facts.claims if claim["entry_seq"] == seq]
    if claims:
        claim = rng.choice(claims)
        k = t.claims.c
        changes["claim"] = lambda c: c.execute(
            sa.update(t.claims)
            .where(k.entry_seq == seq, k.scope == claim["scope"], k.key == claim["key"])
            .values(key="v1-" + "0" * 64)
        )
    field = rng.choice(sorted(changes))
    variant = rng.choice(["re-hashed alone", "re-hashed with the rest of the chain, caches rebuilt"])

    def work(c: Connection) -> None:
        changes[field](c)
        if variant == "re-hashed alone":
            rehash(c, seq, seq)
            if seq == facts.last:
                move_head(c)
        else:
            rehash(c, seq)
            rebuild_caches(c)

    return Attack(f"{field} of entry {seq} forged, {variant}", True, work)


def cache_attack(rng: random.Random, facts: Facts) -> Attack:
    b, d, h = t.balances.c, t.balance_days.c, t.ledger_head.c
    row = rng.choice(facts.balances)
    day = rng.choice([x for x in facts.days if x["delta"] != 0])
    key = (b.account_id == row["account_id"], b.fund_id == row["fund_id"])
    day_key = (d.account_id == day["account_id"], d.fund_id == day["fund_id"], d.day == day["day"])
    own_day = rng.choice(
        [x["day"] for x in facts.days if (x["account_id"], x["fund_id"]) == (row["account_id"], row["fund_id"])]
    )
    same_day = (d.account_id == row["account_id"], d.fund_id == row["fund_id"], d.day == own_day)
    change = delta(rng, row["total"])
    day_change = delta(rng, day["delta"])
    funds = sorted({x["fund_id"] for x in facts.balances})
    missing = sorted(
        (a, f)
        for a in facts.unit_of
        for f in funds
        if (a, f) not in {(x["account_id"], x["fund_id"]) for x in facts.balances}
    )
    account, fund = rng.choice(missing)
    attacks = {
        "total": lambda c: c.execute(sa.update(t.balances).where(*key).values(total=b.total + change)),
        "posting count": lambda c: c.execute(
            sa.update(t.balances).where(*key).values(postings=b.postings + rng.choice([-1, 1, 7]))
        ),
        "last effective time": lambda c: c.execute(
            sa.update(t.balances).where(*key).values(last_effective=b.last_effective + delta(rng))
        ),
        "daily delta": lambda c: c.execute(
            sa.update(t.balance_days).where(*day_key).values(delta=d.delta + day_change)
        ),
        "total and a daily delta alike": lambda c: (
            c.execute(sa.update(t.balances).where(*key).values(total=b.total + change)),
            c.execute(sa.update(t.balance_days).where(*same_day).values(delta=d.delta + change)),
        ),
        "balance row deleted": lambda c: c.execute(sa.delete(t.balances).where(*key)),
        "daily row deleted": lambda c: c.execute(sa.delete(t.balance_days).where(*day_key)),
        "balance row invented": lambda c: c.execute(
            sa.insert(t.balances).values(
                account_id=account, fund_id=fund, total=delta(rng), last_effective=0, postings=rng.randint(0, 3)
            )
        ),
        "head number": lambda c: c.execute(sa.update(t.ledger_head).values(seq=h.seq + rng.choice([-2, -1, 1, 5]))),
        "head hash": lambda c: c.execute(sa.update(t.ledger_head).values(hash=f"{rng.getrandbits(256):064x}")),
    }
    name = rng.choice(sorted(attacks))
    return Attack(
        f"maintained {name} changed (account {row['account_id']}, fund {row['fund_id']}, by {change})",
        False,
        attacks[name],
    )


def cut_off_attack(rng: random.Random, facts: Facts) -> Attack:
    keep = rng.randint(1, facts.last - 1)
    rebuilt = rng.random() < 0.5

    def work(c: Connection) -> None:
        for seq in range(facts.last, keep, -1):
            delete_entry(c, seq)
        move_head(c)
        if rebuilt:
            rebuild_caches(c)

    return Attack(
        f"entries after {keep} of {facts.last} cut off, head rolled back{', caches rebuilt' if rebuilt else ''}",
        True,
        work,
    )


def rehash_side_chains(c: Connection) -> None:
    """Recompute the period closes' and the records' own chains over their rows as they now are."""
    prev = hashing.GENESIS
    for r in c.execute(sa.select(t.period_closes).order_by(t.period_closes.c.seq)).all():
        new = hashing.close_hash(
            seq=r.seq, closed_through=r.closed_through, actor=r.actor, recorded_at=r.recorded_at, prev_hash=prev
        )
        c.execute(sa.update(t.period_closes).where(t.period_closes.c.seq == r.seq).values(prev_hash=prev, hash=new))
        prev = new
    prev = hashing.GENESIS
    for r in c.execute(sa.select(t.records).order_by(t.records.c.seq)).all():
        new = hashing.record_hash(
            seq=r.seq, kind=r.kind, code=r.code, subject=r.subject, actor=r.actor, body=r.body,
            recorded_at=r.recorded_at, prev_hash=prev,
        )  # fmt: skip
        c.execute(sa.update(t.records).where(t.records.c.seq == r.seq).values(prev_hash=prev, hash=new))
        prev = new


def log_item_attack(rng: random.Random, facts: Facts) -> Attack:
    """A change to an item of the log other than an entry, or to the log itself; re-hashed half the time."""
    record, claim = rng.choice(facts.records), rng.choice(facts.claims)
    g, r = t.log.c, t.records.c
    attacks: dict[str, Callable[[Connection], object]] = {
        "record deleted": lambda c: c.execute(sa.delete(t.records).where(r.seq == record["seq"])),
        "record's checker renamed": lambda c: c.execute(
            sa.update(t.records).where(r.seq == record["seq"]).values(actor=record["actor"] + "x")
        ),
        "record's body rewritten": lambda c: c.execute(
            sa.update(t.records).where(r.seq == record["seq"]).values(body=record["body"][:-1] + ',"forged":1}')
        ),
        "period close moved back": lambda c: c.execute(
            sa.update(t.period_closes).values(closed_through=t.period_closes.c.closed_through - 86_400_000_000)
        ),
        "period close deleted": lambda c: c.execute(sa.delete(t.period_closes)),
        "account renamed": lambda c: c.execute(sa.update(t.accounts).where(t.accounts.c.id == 1).values(name="x")),
        "fund made overdrawable": lambda c: c.execute(sa.update(t.funds).values(allow_negative=True)),
        "newest log item deleted": lambda c: c.execute(
            sa.delete(t.log).where(g.seq == sa.select(sa.func.max(g.seq)).scalar_subquery())
        ),
        "two log items swapped": lambda c: swap_log_items(c, rng),
        "claim generation changed": lambda c: c.execute(
            sa.update(t.claims)
            .where(t.claims.c.scope == claim["scope"], t.claims.c.key == claim["key"])
            .values(generation=t.claims.c.generation + 100)
        ),
    }
    name = rng.choice(sorted(attacks))
    rehashed = rng.random() < 0.5

    def work(c: Connection) -> None:
        attacks[name](c)
        if rehashed:
            rehash_side_chains(c)
            relog(c)

    return Attack(f"{name}{', side chains and log re-hashed' if rehashed else ''}", True, work)


def swap_log_items(c: Connection, rng: random.Random) -> None:
    """Give two neighbouring items of the log each other's place."""
    size = c.execute(sa.select(sa.func.max(t.log.c.seq))).scalar_one()
    first = rng.randint(1, size - 1)
    g = t.log.c
    c.execute(sa.update(t.log).where(g.seq == first).values(seq=-1))
    c.execute(sa.update(t.log).where(g.seq == first + 1).values(seq=first))
    c.execute(sa.update(t.log).where(g.seq == -1).values(seq=first + 1))


ATTACKS: dict[str, Callable[[random.Random, Facts], Attack]] = {
    "log item tampered": log_item_attack,
    "amount updated": amount_attack,
    "entry deleted": deleted_attack,
    "entry inserted": inserted_attack,
    "chain reordered": reordered_attack,
    "entry forged and re-hashed": forged_attack,
    "maintained balance changed": cache_attack,
    "newest entries cut off": cut_off_attack,
}


# -- the bench ---------------------------------------------------------------------------


class Bench:
    """A filled ledger, its template (every row) and digest, and the attacker's own connection."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.engine = plain_engine(ledger)
        self.postgres = self.engine.dialect.name == "postgresql"
        verification = verify(ledger)
        assert verification.ok and reconcile(ledger).ok
        self.digest = verification.digest
        self.template = self.rows()
        self.facts = Facts.of(self.template)

    def rows(self) -> Dump:
        with self.engine.connect() as connection:
            return dump(connection)

    def run(self, attack: Attack, *, as_owner: bool) -> str:
        """Make the change; return what caught it (or raise AssertionError naming what did not)."""
        refusal: DBAPIError | None = None
        try:
            with self.engine.begin() as connection:
                if as_owner:
                    if self.postgres:
                        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    triggers.drop(connection)
                attack.work(connection)
                if as_owner:
                    triggers.create(connection)
        except DBAPIError as error:
            refusal = error
        if refusal is not None:
            assert not as_owner, f"the owner's change failed: {refusal}"
            assert self.rows() == self.template, "a refused change left rows behind"
            if attack.refusable:
                assert "append-only" in str(refusal.orig)
            return "refused by the database"
        try:
            assert not (attack.refusable and not as_owner), (
                "the triggers let an UPDATE or DELETE of the journal through"
            )
            assert self.rows() != self.template, "the attack changed nothing (a bug in the test)"
            verification: Verification = verify(self.ledger, self.digest)
            if not verification.ok:
                assert verification.first_break is not None and verification.first_break.problem
                return "reported by verify(digest)"
            result = reconcile(self.ledger)
            assert not result.ok, "neither verify(digest) nor reconcile() reported the change"
            assert result.failed and all(check.difference for check in result.failed)
            return "reported by reconcile()"
        finally:
            with self.engine.begin() as connection:
                restore(connection, self.template)
            assert self.rows() == self.template, "the ledger could not be put back"

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def bench(filled: Ledger) -> Iterator[Bench]:
    opened = Bench(filled)
    yield opened
    opened.close()


@pytest.mark.parametrize("kind", list(ATTACKS))
def test_generated_tampering_is_refused_or_reported(bench: Bench, backend: str, kind: str) -> None:
    """Every generated attack of this kind is refused by the triggers (changing nothing) or reported."""
    outcomes: dict[str, int] = {}
    for number in range(ATTEMPTS):
        seed = f"{backend}:{kind}:{number}"
        rng = random.Random(seed)
        attack = ATTACKS[kind](rng, bench.facts)
        as_owner = rng.random() >= AS_USER
        try:
            outcome = bench.run(attack, as_owner=as_owner)
        except AssertionError as error:
            who = "the owner" if as_owner else "a user"
            raise AssertionError(f"attempt {seed} by {who}: {attack.description}: {error}") from None
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) == ATTEMPTS


def test_the_bench_restores_the_template_exactly(bench: Bench) -> None:
    """The helpers that rebuild caches and re-hash reproduce the library's own rows, so a caught attack is real."""
    with bench.engine.begin() as connection:
        triggers.drop(connection)
        rehash(connection, 1)
        rebuild_caches(connection)
        triggers.create(connection)
    assert bench.rows() == bench.template
    assert verify(bench.ledger, bench.digest).ok and reconcile(bench.ledger).ok


# -- dump and restore between the two databases --------------------------------------------


@pytest.mark.parametrize("origin", ["sqlite", "postgresql"])
def test_a_copy_between_sqlite_and_postgresql_raises_no_false_alarm(
    origin: str, tmp_path: Path, pg_database: str | None
) -> None:
    """A ledger copied table by table to the other database and back verifies, reconciles and matches its digest."""
    other = "postgresql" if origin == "sqlite" else "sqlite"
    with open_filled(new_url(origin, tmp_path, pg_database)) as source:
        with source.engine.connect() as connection:
            original = dump(connection)
        digest = verify(source).digest
        there = copy_ledger(source, new_url(other, tmp_path, pg_database))
        back = copy_ledger(there, new_url(origin, tmp_path, pg_database))
        with there, back:
            for copy in (there, back):
                with copy.engine.connect() as connection:
                    assert dump(connection) == original
                assert verify(copy).ok
                assert verify(copy, digest).ok
                result = reconcile(copy)
                assert result.ok, [check.difference for check in result.failed]
                assert copy.trial_balance() == source.trial_balance()
            # The copy is a working ledger: it takes a new entry, and the old digest still holds.
            aid = Aid(back)
            aid.donate("GENERAL", kzt("1.01"), donor="D-9", on=MAY.add(days=9), actor="cashier")
            assert verify(back, digest).ok and reconcile(back).ok


def test_reconcile_writes_nothing(filled: Ledger) -> None:
    """An auditor's reconcile() leaves every table as it found it."""
    with filled.engine.connect() as connection:
        before = dump(connection)
    assert reconcile(filled).ok
    with filled.engine.connect() as connection:
        assert dump(connection) == before


# -- tampering behind the library, and what it would have let through ---------------------------


def behind(ledger: Ledger, work: Callable[[Connection], object]) -> None:
    """Change rows as the owner would: triggers dropped (and foreign keys off), then put back."""
    engine = plain_engine(ledger)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        triggers.drop(connection)
        work(connection)
        triggers.create(connection)
    engine.dispose()


def test_a_daily_delta_moved_to_another_day_is_reported(filled: Ledger) -> None:
    """Moving a maintained daily delta changes balances as of a date, so reconcile() must report it."""
    bank = filled.account("Assets:Bank:KZT")
    before = filled.balance(bank, "CASH-AID", as_of=APRIL)
    d = t.balance_days.c
    with filled.engine.connect() as connection:
        account = connection.execute(sa.select(t.accounts.c.id).where(t.accounts.c.code == bank.code)).scalar_one()
        fund = connection.execute(sa.select(t.funds.c.id).where(t.funds.c.code == "CASH-AID")).scalar_one()
    pair = (d.account_id == account, d.fund_id == fund)
    # The May donation's delta, moved to the day before April 1st.
    behind(
        filled,
        lambda c: c.execute(
            sa.update(t.balance_days)
            .where(*pair, d.day == sa.select(sa.func.max(d.day)).where(*pair).scalar_subquery())
            .values(day=APRIL.subtract(days=1).int_timestamp // 86_400)
        ),
    )
    assert filled.balance(bank, "CASH-AID", as_of=APRIL) != before  # the tampering shows in a query ...
    assert verify(filled).ok
    assert not reconcile(filled).ok  # ... and reconcile() must say so


def test_the_newest_period_close_deleted_is_detected(filled: Ledger) -> None:
    """Deleting the newest period close reopens the period; verify() with the digest must report it."""
    digest = verify(filled).digest
    behind(filled, lambda c: c.execute(sa.delete(t.period_closes)))
    assert filled.closed_through() is None
    assert not verify(filled, digest).ok


def test_the_newest_record_deleted_is_detected(filled: Ledger) -> None:
    """Deleting the newest record (the approval of tranche T-1) is reported, and T-1 is not paid a second time."""
    digest = verify(filled).digest
    head = filled.head()
    behind(
        filled,
        lambda c: c.execute(
            sa.delete(t.records).where(t.records.c.seq == sa.select(sa.func.max(t.records.c.seq)).scalar_subquery())
        ),
    )
    found = verify(filled, digest)
    assert found.first_break is not None and "which is not stored" in found.first_break.problem
    assert not verify(filled).ok
    with pytest.raises(StorageError, match="changed behind the library"):
        Aid(filled).approve("T-1", checker="auditor")
    assert filled.head() == head  # nothing was paid again


def test_a_rewritten_records_chain_is_caught_by_the_digest(filled: Ledger) -> None:
    """A programme paying 60,000 instead of 50,000, with the records chain re-hashed, must fail verify(digest)."""
    digest = verify(filled).digest

    def forge(c: Connection) -> None:
        prev = hashing.GENESIS
        for r in c.execute(sa.select(t.records).order_by(t.records.c.seq)).all():
            body = r.body.replace('"amount":"50000.00"', '"amount":"60000.00"')
            new = hashing.record_hash(
                seq=r.seq, kind=r.kind, code=r.code, subject=r.subject, actor=r.actor, body=body,
                recorded_at=r.recorded_at, prev_hash=prev,
            )  # fmt: skip
            c.execute(sa.update(t.records).where(t.records.c.seq == r.seq).values(body=body, prev_hash=prev, hash=new))
            prev = new

    behind(filled, forge)
    assert Aid(filled).programme_of("ONE-OFF").amount == kzt("60000")
    assert not verify(filled, digest).ok or not reconcile(filled).ok


def test_a_changed_claim_generation_is_reported(filled: Ledger) -> None:
    """Renumbering claim releases changes which beneficiaries hold a live claim; verify() must report it."""
    before = list(filled.active_claims())
    behind(filled, lambda c: c.execute(sa.update(t.claim_releases).values(generation=7)))
    assert list(filled.active_claims()) != before
    assert not verify(filled).ok or not reconcile(filled).ok


def test_a_claim_release_inserted_by_the_writer_is_refused(filled: Ledger) -> None:
    """The writer's INSERT right cannot free a household's claim: once an entry is in the log, the database
    refuses rows added to it, so the household cannot be paid again through the API."""
    claim = next(iter(filled.active_claims()))
    c = t.claims.c
    with filled.engine.connect() as connection:
        seq = connection.execute(
            sa.select(sa.func.max(c.entry_seq)).where(c.scope == claim.scope, c.key == claim.key)
        ).scalar_one()
    engine = plain_engine(filled)
    try:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            release = {"scope": claim.scope, "key": claim.key, "generation": 0, "entry_seq": seq}
            connection.execute(sa.insert(t.claim_releases).values(release))
    finally:
        engine.dispose()
    assert claim in list(filled.active_claims())


def test_a_rewritten_head_is_refused_before_anything_is_written(filled: Ledger) -> None:
    """The writer may rewrite ledger_head.hash; the library then refuses to post on top of it, and verify says so."""
    before = verify(filled)
    engine = plain_engine(filled)
    with engine.begin() as connection:
        connection.execute(sa.update(t.ledger_head).values(hash="e" * 64))
    engine.dispose()
    with pytest.raises(StorageError, match="changed behind the library"):
        Aid(filled).donate("GENERAL", kzt("1.00"), donor="D-9", on=MAY.add(days=9), actor="cashier")
    after = verify(filled)
    assert after.first_break is not None and "ledger head does not match" in after.first_break.problem
    assert (after.items, after.entries) == (before.items, before.entries)


@pytest.mark.parametrize("column", ["account_id", "fund_id"])
def test_reconcile_reports_a_posting_to_an_unknown_account_or_fund(filled: Ledger, column: str) -> None:
    """A posting moved to an id the chart does not hold is a failed check, not a crash."""
    behind(filled, lambda c: c.execute(sa.update(t.postings).where(t.postings.c.entry_seq == 2).values({column: 999})))
    assert not verify(filled).ok
    assert not reconcile(filled).ok


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM units WHERE code = 'KZT'", "UPDATE accounts SET type = 'bogus' WHERE id = 1"],
    ids=["unit deleted", "account type unknown"],
)
def test_verify_reports_a_chart_broken_behind_the_library(filled: Ledger, statement: str) -> None:
    """A chart no ledger would write (a unit gone, an unknown account type) is a reported break, not a crash."""
    behind(filled, lambda c: c.exec_driver_sql(statement))
    result = verify(filled)
    assert result.first_break is not None and "chart of accounts was changed" in result.first_break.problem
