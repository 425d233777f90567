"""The benchmark workload: one-off payments of a campaign, as aidledger entries and as raw rows.

Each payment is what the campaign posts for a family: 50,000 KZT from the bank
to cash aid, keyed, tagged with its region and beneficiary, claiming the
family once.  Effective times run forward through 2020 (as a real campaign's
do).  The raw rows are exactly the rows aidledger writes for the same entries
(entries, postings, tags, claims, the maintained balances and the head), with
placeholder ids and hashes: the database's own limit, without the ledger's
checks and hashing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pendulum

from aidledger import Account, AccountType, Claim, Fund, JournalEntry, Ledger, Money, Posting, currency
from aidledger.core.times import to_micros as micros

KZT = currency("KZT")
BANK = Account("Assets:Bank", AccountType.ASSET, KZT)
GIFTS = Account("Revenue:Donations", AccountType.REVENUE, KZT)
AID = Account("Expenses:CashAid", AccountType.EXPENSE, KZT)
FUND = Fund("CASH-AID")
T0 = pendulum.datetime(2020, 4, 1, tz="Asia/Almaty")
REGIONS = ("Abai", "Akmola", "Aktobe", "Almaty", "Atyrau", "Karaganda", "Kostanay", "Kyzylorda", "Mangystau",
           "Pavlodar", "Turkistan", "Zhetysu", "Ulytau", "Shymkent", "Astana", "Zhambyl", "Kazakhstan East")  # fmt: skip
BATCH = 5_000
PAYMENT_MINOR = 5_000_000
MICROS_PER_DAY = 86_400_000_000


def when(n: int, total: int) -> pendulum.DateTime:
    """Payment ``n`` of ``total``: spread over 240 days from T0, in order."""
    return T0.add(seconds=1 + n * (240 * 86_400) // max(total, 1))


def payments(total: int, start: int = 0) -> list[JournalEntry]:
    amount = Money("50000", KZT)
    return [
        JournalEntry(
            "payment",
            when(n, total),
            [Posting.debit(AID, FUND, amount), Posting.credit(BANK, FUND, amount)],
            actor="payments",
            idempotency_key=f"pay-{n}",
            tags={"region": REGIONS[n % len(REGIONS)], "beneficiary": f"v1-{n:064x}"},
            claims=[Claim("one-off", f"hh-{n}")],
        )
        for n in range(start, start + total)
    ]


def fresh_ledger(url: str, total: int) -> Ledger:
    """A ledger with the chart and a donation large enough for ``total`` payments."""
    ledger = Ledger.open(url)
    for account in (BANK, GIFTS, AID):
        ledger.add_account(account)
    ledger.add_fund(FUND)
    gift = Money.from_minor(PAYMENT_MINOR * (total + 1), KZT)
    ledger.post(
        JournalEntry("donation", T0, [Posting.debit(BANK, FUND, gift), Posting.credit(GIFTS, FUND, gift)], actor="x")
    )
    return ledger


def ids(ledger: Ledger) -> dict[str, int]:
    """Row ids of the accounts and the fund, and the newest item of the log, as the raw rows must use them."""
    with ledger.engine.connect() as connection:
        found = {row[0]: row[1] for row in connection.exec_driver_sql("SELECT code, id FROM accounts")}
        found["fund"] = connection.exec_driver_sql("SELECT id FROM funds").scalar_one()
        found["log"] = connection.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM log").scalar_one()
    return found


def raw_batches(total: int, chart: dict[str, int], first_seq: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """The rows of each batch of ``BATCH`` payments, table by table."""
    aid, bank, fund = chart[AID.code], chart[BANK.code], chart["fund"]
    for start in range(0, total, BATCH):
        rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        days: dict[tuple[int, int, int], int] = defaultdict(int)
        for n in range(start, min(start + BATCH, total)):
            seq = first_seq + n
            eff = micros(when(n, total))
            rows["entries"].append(
                (seq, f"id-{seq}", f"pay-{n}", "payment", eff, "Asia/Almaty", eff, "payments", "", None, None, None,
                 "0" * 64, f"{seq:064x}")
            )  # fmt: skip
            rows["postings"] += [(seq, 1, aid, fund, PAYMENT_MINOR, eff), (seq, 2, bank, fund, -PAYMENT_MINOR, eff)]
            rows["entry_tags"] += [(seq, "beneficiary", f"v1-{n:064x}"), (seq, "region", REGIONS[n % len(REGIONS)])]
            rows["claims"].append(("one-off", f"hh-{n}", 0, seq))
            item = chart["log"] + 1 + n
            rows["log"].append((item, "entry", str(seq), f"{seq:064x}", seq, f"{item - 1:064x}", f"{item:064x}"))
            days[(aid, fund, eff // MICROS_PER_DAY)] += PAYMENT_MINOR
            days[(bank, fund, eff // MICROS_PER_DAY)] -= PAYMENT_MINOR
        count = len(rows["claims"])
        rows["balances"] = [
            (aid, fund, PAYMENT_MINOR * count, eff, count),
            (bank, fund, -PAYMENT_MINOR * count, eff, count),
        ]
        rows["balance_days"] = [(*key, delta) for key, delta in days.items()]
        rows["head"] = [(seq, f"{seq:064x}", eff)]
        yield rows


ENTRY_COLUMNS = ("seq", "id", "idempotency_key", "kind", "effective_at", "effective_tz", "recorded_at", "actor", "memo",
                 "source", "reverses", "approved_by", "prev_hash", "hash")  # fmt: skip
COLUMNS = {
    "entries": ENTRY_COLUMNS,
    "postings": ("entry_seq", "line", "account_id", "fund_id", "amount", "effective_at"),
    "entry_tags": ("entry_seq", "name", "value"),
    "claims": ("scope", "key", "generation", "entry_seq"),
    "log": ("seq", "kind", "ref", "item", "entries", "prev_hash", "hash"),
}
#: The maintained rows, written as the ledger writes them (add to a balance; add to a day).
UPSERT_BALANCE = (
    "INSERT INTO balances (account_id, fund_id, total, last_effective, postings) VALUES ({m},{m},{m},{m},{m}) "
    "ON CONFLICT (account_id, fund_id) DO UPDATE SET total = balances.total + excluded.total, "
    "last_effective = excluded.last_effective, postings = balances.postings + excluded.postings"
)
UPSERT_DAY = (
    "INSERT INTO balance_days (account_id, fund_id, day, delta) VALUES ({m},{m},{m},{m}) "
    "ON CONFLICT (account_id, fund_id, day) DO UPDATE SET delta = balance_days.delta + excluded.delta"
)
UPDATE_HEAD = "UPDATE ledger_head SET seq = {m}, hash = {m}, recorded_at = {m} WHERE id = 1"


def insert_sql(table: str, mark: str) -> str:
    columns = COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
