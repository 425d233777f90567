"""Small builders shared by the tests."""

from __future__ import annotations

import datetime as dt

from aidledger import Account, Fund, JournalEntry, Ledger, Money, Posting


def transfer(
    debit: Account,
    credit: Account,
    fund: Fund,
    amount: str,
    when: dt.datetime,
    *,
    key: str | None = None,
    kind: str = "general",
    actor: str = "tester",
    **extra: object,
) -> JournalEntry:
    """An entry that moves ``amount`` from ``credit`` to ``debit`` within ``fund``."""
    money = Money(amount, debit.unit)
    return JournalEntry(
        kind=kind,
        effective_at=when,
        postings=[Posting.debit(debit, fund, money), Posting.credit(credit, fund, money)],
        actor=actor,
        idempotency_key=key,
        **extra,  # type: ignore[arg-type]
    )


def snapshot(ledger: Ledger, *, records: bool = True) -> tuple[object, ...]:
    """Everything a refused operation must leave unchanged (without ``records``: the journal alone)."""
    from sqlalchemy import func, select

    from aidledger.store import schema as t

    with ledger.engine.connect() as connection:
        counts = tuple(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (
                t.entries,
                t.postings,
                t.entry_tags,
                t.claims,
                t.claim_releases,
                t.period_closes,
                *([t.records] if records else []),
                t.balances,
                t.balance_days,
            )
        )
        head = tuple(connection.execute(select(t.ledger_head)).one())
        balances = tuple(connection.execute(select(t.balances).order_by(t.balances.c.account_id, t.balances.c.fund_id)))
    return counts, head, balances
