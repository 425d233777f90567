"""10,000 households paid through a bank, end to end, on both databases.

pain.001 out (validated, its hash recorded), a camt.054 and a camt.053 back
(one debit for the whole file, rejected and returned transfers, a donation),
settled and matched, a follow-up list for the failures, reconciled.
"""

from __future__ import annotations

import datetime as dt
import time

import pendulum
import pytest
from lxml import etree

from aidledger import (
    Aid,
    PaymentLine,
    export_pain001,
    follow_up_lines,
    match_statement,
    post_credits,
    read_bank_file,
    reconcile,
    settle_statement,
    statement_lines,
    verify,
)
from aidledger.vocabulary import RecordKind
from tests.io.bank_messages import ACCOUNT, entry, message
from tests.io.bankfile_schemas import pain001_schema
from tests.operations.conftest import APRIL, KEYS, kzt

HOUSEHOLDS = 10_000
REJECTED = range(1, 51)  # the bank refuses these transfers (wrong account)
RETURNED = range(51, 101)  # these are paid, then come back (account closed)
DAY = pendulum.datetime(2020, 4, 3, 10, tz="Asia/Almaty")
BUDGET_SECONDS = 60


@pytest.mark.slow
def test_ten_thousand_households_through_a_bank(aid: Aid) -> None:
    """Every household is paid exactly once across the list and its follow-up, and the day's statement matches."""
    started = time.monotonic()
    aid.donate("CASH-AID", kzt("600000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
    references = [f"H-{n:05d}" for n in range(1, HOUSEHOLDS + 1)]
    lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), reference) for n, reference in enumerate(references, start=1)]
    aid.submit_payments("ONE-OFF", lines, actor="maker", on=APRIL, list_code="BIG")
    assert len(aid.approve_payments("BIG", checker="checker").posted) == HOUSEHOLDS

    accounts = {reference: f"KZ{n % 100:02d}125KZT{n:012d}" for n, reference in enumerate(references, start=1)}
    bank = {"debtor_name": "Kazakhstan Fund", "debtor_iban": ACCOUNT, "execution_date": dt.date(2020, 4, 3)}
    files = export_pain001(aid.ledger, "BIG", actor="treasurer", accounts=accounts, created=DAY, **bank)
    (pain,) = files.files
    assert pain001_schema("001.001.09").validate(etree.fromstring(pain.content))
    assert (pain.number_of_transactions, str(pain.control_sum)) == (HOUSEHOLDS, "500000000.00")
    record = aid.ledger.record(RecordKind.PAYMENT_FILE, "BIG")
    assert record is not None and record.body["sha256"] == pain.sha256
    aid.send("BIG", provider="Halyk Bank", actor="treasurer", on=DAY)

    rejected = {references[n - 1] for n in REJECTED}
    paid = [(reference, "50000.00") for reference in references if reference not in rejected]
    whole_file = entry("B-1", "500000000.00", "DBIT", paid)  # one debit for the whole file
    refused = [entry(f"R-{r}", "50000.00", "CRDT", [(r, "50000.00")], return_reason="AC01") for r in sorted(rejected)]
    came_back = [
        entry(f"T-{references[n - 1]}", "50000.00", "CRDT", [(references[n - 1], "50000.00")], return_reason="AC04")
        for n in RETURNED
    ]
    gift = entry("D-1", "1000000.00", "CRDT", [("NOTPROVIDED", "1000000.00")])
    notification = read_bank_file(message("054", [whole_file, *refused]), "camt054")
    first = settle_statement(aid, "BIG", notification, actor="treasurer", tz="Asia/Almaty")
    assert (len(first.paid), len(first.failed), first.outstanding) == (HOUSEHOLDS - 50, 50, ())

    closing = f"{600000000 - 500000000 + 100 * 50000 + 1000000}.00"
    day = read_bank_file(message("053", [whole_file, *refused, *came_back, gift], opening="600000000.00",
                                 closing=closing), "camt053")  # fmt: skip
    assert day[0].balance_check.result.value == "agrees"
    second = settle_statement(aid, "BIG", day, actor="treasurer", tz="Asia/Almaty")
    assert (len(second.returned), len(second.entries)) == (50, 50)
    assert len(post_credits(aid, day, fund="CASH-AID", actor="treasurer", tz="Asia/Almaty")) == 1
    matched = match_statement(aid.ledger, statement_lines(day), account="Assets:Bank:KZT", tz="Asia/Almaty")
    assert matched.ok, matched.as_dict()
    assert len(matched.matched) == 102  # the whole-file debit, 100 credits back, the gift

    again = follow_up_lines(aid.ledger, "BIG")
    assert len(again) == 100
    aid.pay("ONE-OFF", again, actor="maker", on=DAY, list_code="BIG-2")
    aid.send("BIG-2", provider="Halyk Bank", actor="treasurer", on=DAY)
    follow = message("054", [entry("B-2", "5000000.00", "DBIT", [(line.reference, "50000.00") for line in again])])
    settled = settle_statement(aid, "BIG-2", read_bank_file(follow, "camt054"), actor="treasurer", tz="Asia/Almaty")
    assert (len(settled.paid), settled.outstanding) == (100, ())
    assert aid.ledger.fund_balance("CASH-AID", "KZT") == kzt(f"{601000000 - HOUSEHOLDS * 50000}")
    assert reconcile(aid.ledger).ok and verify(aid.ledger).ok
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS, f"{elapsed:.1f} s"
