"""reconcile(): every invariant checked on stored data, each failure named with its difference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Connection

from aidledger import Aid, CampaignPlan, Ledger, PaymentLine, Pseudonymizer, reconcile, run_campaign, verify
from tests.ledger.test_tamper import behind_the_library
from tests.operations.conftest import APRIL, kzt

KEYS = Pseudonymizer({1: bytes(range(32))})


@pytest.fixture
def campaign(url: str) -> Iterator[Ledger]:
    with Ledger.open(url) as ledger:
        run_campaign(Aid(ledger, approval_threshold=kzt("100000000")), CampaignPlan.scaled("0.0005"), keys=KEYS)
        yield ledger


def failed(ledger: Ledger) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {check.name: (check.difference, check.details) for check in reconcile(ledger).failed}


def test_a_campaign_reconciles(campaign: Ledger) -> None:
    """Every check holds on a whole campaign, and each says what it compared."""
    result = reconcile(campaign)
    assert result.ok, result.failed
    assert [c.name for c in result.checks] == [
        "hash chain",
        "maintained balances",
        "daily balances",
        "trial balance",
        "no negative balances",
        "fund net assets",
        "log tree",
        "approvals",
        "stock",
        "grants",
        "pledges",
        "payment lists settled",
        "budgets",
        "payment claims",
    ]
    assert all(check.compared for check in result.checks)
    assert result.verification == verify(campaign)  # the log it reconciled, verified once


def test_a_changed_maintained_balance_is_named(campaign: Ledger) -> None:
    """The balances cache is not the truth: a change to it is found and shown against the postings."""

    def work(connection: Connection) -> None:
        connection.exec_driver_sql(
            "UPDATE balances SET total = total + 1 WHERE account_id = "
            "(SELECT id FROM accounts WHERE code = 'Assets:Bank:KZT') AND fund_id = "
            "(SELECT id FROM funds WHERE code = 'GENERAL')"
        )

    behind_the_library(campaign, work)
    problems = failed(campaign)
    assert list(problems) == ["maintained balances"]
    difference, details = problems["maintained balances"]
    assert difference == "1 maintained balance(s) differ from their postings"
    assert details == (
        "Assets:Bank:KZT in GENERAL: postings sum to 14750000.00 KZT (7 postings), "
        "the maintained balance says 14750000.01 KZT (7 postings)",
    )


def test_an_edited_posting_breaks_chain_and_trial_balance(campaign: Ledger) -> None:
    """Money changed in a posting (with the triggers dropped) fails the chain, the cache and the trial balance."""

    def work(connection: Connection) -> None:
        connection.exec_driver_sql("UPDATE postings SET amount = amount + 100 WHERE entry_seq = 3 AND line = 1")

    behind_the_library(campaign, work)
    problems = failed(campaign)
    assert {"hash chain", "maintained balances", "trial balance"} <= problems.keys()
    assert problems["hash chain"][0].startswith("entry 3 ")
    assert "postings sum to 1.00 KZT" in " ".join(problems["trial balance"][1])


def test_an_inserted_overdraft_is_found(campaign: Ledger) -> None:
    """A forged withdrawal that takes a bank below zero at its time is named, even if the chain were re-hashed."""

    def work(connection: Connection) -> None:
        connection.exec_driver_sql(
            "INSERT INTO postings (entry_seq, line, account_id, fund_id, amount, effective_at) "
            "SELECT 1, 99, a.id, f.id, -100000000000, 0 FROM accounts a, funds f "
            "WHERE a.code = 'Assets:Bank:KZT' AND f.code = 'GENERAL'"
        )

    behind_the_library(campaign, work)
    problems = failed(campaign)
    assert "Assets:Bank:KZT in GENERAL went 1000000000.00 KZT below zero" in problems["no negative balances"][1]
    assert "fund GENERAL (KZT net assets) went 1000000000.00 KZT below zero" in problems["fund net assets"][1]


def test_an_unsettled_list_is_reported(campaign: Ledger) -> None:
    """A list approved and not sent, then sent and not settled, fails "payment lists settled"."""
    aid = Aid(campaign)
    aid.donate("CASH-AID", kzt("100000"), donor="D", on=APRIL.add(months=9), actor="c")
    line = PaymentLine(KEYS.pseudonym("new-family"), "NEW-1")
    aid.pay("FAMILIES-50K", [line], actor="m", on=APRIL.add(months=9), list_code="LATE")
    assert failed(campaign)["payment lists settled"][1] == (
        "payment list LATE: 1 payment(s) approved and not sent to a provider",
    )
    aid.send("LATE", provider="Kazpost", actor="c", on=APRIL.add(months=9))
    assert failed(campaign)["payment lists settled"][1] == (
        "payment list LATE: 1 of 1 payment(s) sent and not settled",
    )


def test_reconcile_needs_a_ledger() -> None:
    from aidledger import InvalidArgument

    with pytest.raises(InvalidArgument, match="expected a Ledger"):
        reconcile("aidledger.db")  # type: ignore[arg-type]


def test_the_checks_are_one_listed_order() -> None:
    """An auditor can list the checks reconcile runs, in order, each named and described."""
    from aidledger.queries.reconcile import CHECKS

    assert [check.__name__ for check in CHECKS] == [
        "check_books",
        "check_log_tree",
        "check_approvals",
        "check_stock",
        "check_grants",
        "check_pledges",
        "check_payment_lists",
        "check_budgets",
        "check_payment_claims",
    ]
    assert all(check.__doc__ for check in CHECKS)
