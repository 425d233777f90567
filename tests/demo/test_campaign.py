"""The motivating campaign at 1/1000 scale: every operation, every refusal, and everything reconciles."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest

from aidledger import (
    FOOD_PACKAGE,
    RELIEF_GOODS,
    Aid,
    AidLedgerError,
    ApprovalRequired,
    CampaignPlan,
    CampaignResult,
    Delivery,
    DuplicateClaim,
    ExceedsCommitment,
    ExceedsPledge,
    ExceedsReceived,
    InsufficientBalance,
    InsufficientFunds,
    InsufficientStock,
    InvalidAmount,
    InvalidArgument,
    Ledger,
    Money,
    PaymentLine,
    PaymentStateError,
    PeriodClosed,
    Pseudonymizer,
    PurposeMismatch,
    Quantity,
    ValuationBasis,
    budget_vs_actual,
    double_payments,
    grant_status,
    pledge_status,
    reconcile,
    run_campaign,
    stock_position,
    verify,
)
from tests.conftest import BACKENDS, new_url
from tests.helpers import snapshot
from tests.operations.conftest import kzt

KEYS = Pseudonymizer({1: bytes(range(32))})
PLAN = CampaignPlan.scaled("0.001")
AUGUST = dt.datetime(2020, 8, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=6)))
MAY = dt.datetime(2020, 5, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=6)))


@pytest.fixture(scope="module", params=BACKENDS)
def campaign(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_database: str | None
) -> Iterator[tuple[Aid, CampaignResult]]:
    """One campaign per backend, shared by the module's tests (refusals leave it unchanged)."""
    url = new_url(str(request.param), tmp_path_factory.mktemp("campaign"), pg_database)
    with Ledger.open(url) as ledger:
        aid = Aid(ledger, approval_threshold=kzt("100000000"))
        yield aid, run_campaign(aid, PLAN, keys=KEYS)


def household(n: int) -> PaymentLine:
    return PaymentLine(KEYS.pseudonym(f"KZ-HH-{n:07d}"), f"EXTRA-{n}")


#: Every refusal the operations know, each as (what it tries, the error type, the message).
REFUSALS: list[tuple[str, Callable[[Aid], object], type[AidLedgerError], str]] = [
    (
        "a family the programme already paid",
        lambda aid: aid.pay("FAMILIES-50K", [household(7)], actor="officer", on=AUGUST, list_code="EXTRA-1"),
        DuplicateClaim,
        "already taken",
    ),
    (
        "a family fed twice in one programme",
        lambda aid: aid.deliver(
            "FOOD",
            Quantity(1, FOOD_PACKAGE),
            purpose="food",
            programme="food-2020",
            to=KEYS.pseudonym("KZ-HH-0000003"),
            on=AUGUST,
            actor="store",
        ),
        DuplicateClaim,
        "already taken",
    ),
    (
        "food beyond the packages on hand",
        lambda aid: aid.deliver_many(
            "FOOD", [Delivery(Quantity(5, FOOD_PACKAGE), settlement="Aksu")], purpose="food", on=AUGUST, actor="store"
        ),
        InsufficientStock,
        "holds 4 FOOD-PACKAGE",
    ),
    (
        "relief goods that were all shipped",
        lambda aid: aid.dispatch("FLOOD", Quantity("0.001", RELIEF_GOODS), to="Aksu", on=AUGUST, actor="store"),
        InsufficientStock,
        "holds 0.000 RELIEF-GOODS",
    ),
    (
        "food money spent on housing",
        lambda aid: aid.create_programme("FOOD-CASH", fund="FOOD", purpose="housing", amount=kzt("1"), actor="o"),
        PurposeMismatch,
        "fund FOOD is donor-restricted to 'food'",
    ),
    (
        "a tranche beyond the remaining commitment",
        lambda aid: aid.disburse(
            "DOSTYK",
            kzt("20400000.01"),
            milestone="extra",
            on=dt.datetime(2020, 12, 20, tzinfo=dt.UTC),
            actor="officer",
        ),
        ExceedsCommitment,
        "project DOSTYK has less than 20,400,000.01 KZT committed",
    ),
    (
        "a clawback of more than was paid",
        lambda aid: aid.claw_back("DOSTYK", kzt("319600000.01"), reason="x", on=AUGUST, actor="o"),
        ExceedsReceived,
        "only 319,600,000.00 KZT was paid out net",
    ),
    (
        "a tranche above the approval threshold without a checker",
        lambda aid: aid.disburse("DOSTYK", kzt("100000000.01"), milestone="m", on=AUGUST, actor="o"),
        ApprovalRequired,
        "above the approval threshold of 100,000,000.00 KZT",
    ),
    (
        "the maker approving their own list",
        lambda aid: (
            aid.submit_payments(
                "MEDICS-2020",
                [PaymentLine(KEYS.pseudonym("KZ-MED-99999"), "M99999", amount=kzt("300000"))],
                actor="officer",
                on=AUGUST,
                list_code="MED-2",
            ),
            aid.approve_payments("MED-2", checker="officer"),
        ),
        InvalidArgument,
        "cannot also approve",
    ),
    (
        "a donation into the closed half-year",
        lambda aid: aid.donate("GENERAL", kzt("1"), donor="D", on=MAY, actor="cashier"),
        PeriodClosed,
        "closed",
    ),
    (
        "more than the pledge still owes",
        lambda aid: aid.fulfil_pledge("KAZAKHMYS-2020", kzt("0.01"), on=AUGUST, actor="cashier"),
        ExceedsPledge,
        "pledge KAZAKHMYS-2020 has less than 0.01 KZT outstanding",
    ),
    (
        "a refund of more than the donor gave",
        lambda aid: aid.refund("MEDICS", kzt("9999999999"), donor="Halyk Bank", on=AUGUST, actor="c", reason="x"),
        ExceedsReceived,
        "cannot refund 9,999,999,999.00 KZT to Halyk Bank",
    ),
    (
        "a payment out of a fund's empty bank",
        lambda aid: aid.receive_goods(
            "FLOOD",
            Quantity(1, RELIEF_GOODS),
            value=kzt("1"),
            basis=ValuationBasis.PURCHASE_COST,
            on=AUGUST,
            actor="store",
        ),
        InsufficientBalance,
        "Assets:Bank:KZT in fund FLOOD",
    ),
    (
        "sending a list to a second provider",
        lambda aid: aid.send("FAM-00001", provider="Halyk Bank", actor="c", on=AUGUST),
        PaymentStateError,
        "payment list FAM-00001 was already sent to Kazpost",
    ),
    (
        "paying from a fund whose money was spent",
        lambda aid: aid.pay("FAMILIES-50K", [household(10_000_000)], actor="o", on=AUGUST, list_code="EXTRA-2"),
        InsufficientFunds,
        "payment list EXTRA-2 totals 50,000.00 KZT, but fund CASH-AID has 0.00 KZT available on 2020-08-01T10:00:00+06:00",
    ),
    (
        "a float amount",
        lambda aid: aid.donate("GENERAL", 1000.5, donor="D", on=AUGUST, actor="c"),  # type: ignore[arg-type]
        InvalidAmount,
        "must be Money",
    ),
    (
        "a loss without a typed reason",
        lambda aid: aid.write_off("FOOD", Quantity(1, FOOD_PACKAGE), reason="rats", on=AUGUST, actor="s"),  # type: ignore[arg-type]
        InvalidArgument,
        "reason must be a LossReason",
    ),
    (
        "releasing money from a fund that is not donor-restricted",
        lambda aid: aid.release("GENERAL", kzt("1"), to="RESERVE", on=AUGUST, actor="c", reason="x"),
        InvalidArgument,
        "fund GENERAL is unrestricted",
    ),
    (
        "a foreign donation with a float rate",
        lambda aid: aid.donate_foreign(
            "GENERAL",
            Money("10", "USD"),
            rate=425.5,
            rate_date=dt.date(2020, 8, 1),  # type: ignore[arg-type]
            donor="D",
            on=AUGUST,
            actor="c",
        ),
        InvalidAmount,
        "float",
    ),
]


def test_the_campaign_reconciles(campaign: tuple[Aid, CampaignResult]) -> None:
    """Every fund, stock account and grant ends exactly where the plan says; the books balance and verify."""
    aid, result = campaign
    ledger, expected = aid.ledger, PLAN.expectations()
    assert result.entries == ledger.head().seq >= 2 * PLAN.households + PLAN.food_families
    for fund, balance in expected.fund_balances.items():
        assert ledger.fund_balance(fund, "KZT") == balance, fund
    assert ledger.fund_balance("GENERAL", "EUR") == expected.euro_in_general
    gift = ledger.entry_by_key("campaign:usd")
    assert gift is not None
    assert (gift.entry.tags["original_amount"], gift.entry.tags["original_currency"]) == (
        f"{expected.usd_received.value:f}",
        "USD",
    )
    assert ledger.balance("Expenses:CASH-AID:KZT") == expected.household_payments
    assert ledger.balance("Expenses:MEDICAL-WORKERS:KZT") == expected.medic_payments
    for account in ("Liabilities:PaymentsDue:KZT", "Assets:ProviderClearing:KZT", "Memo:Pledges:KAZAKHMYS-2020:KZT"):
        assert ledger.balance(account).is_zero(), account
    food = stock_position(aid.ledger, "FOOD", FOOD_PACKAGE)
    assert (food.delivered, food.on_hand, food.on_hand_value) == (
        expected.food_delivered,
        expected.food_on_hand,
        expected.food_on_hand_value,
    )
    relief = stock_position(aid.ledger, "FLOOD", RELIEF_GOODS)
    assert (relief.delivered, relief.lost, relief.on_hand, relief.in_transit) == (
        expected.relief_delivered,
        expected.relief_lost,
        Quantity(0, RELIEF_GOODS),
        Quantity(0, RELIEF_GOODS),
    )
    assert food.reconciles and relief.reconciles
    grant = grant_status(aid.ledger, "DOSTYK")
    assert grant.remaining == expected.housing_remaining == grant.committed - grant.disbursed + grant.clawed_back
    (housing,) = budget_vs_actual(aid.ledger, project="DOSTYK").lines
    assert (housing.line.code, housing.figures.budgeted, housing.figures.remaining) == (
        "DOSTYK-HOUSING",
        grant.committed,
        expected.housing_remaining,
    )
    assert (housing.figures.disbursed, housing.figures.returned) == (grant.disbursed, grant.clawed_back)
    pledge = pledge_status(aid.ledger, "KAZAKHMYS-2020")
    assert (pledge.fulfilled, pledge.written_off) == (kzt("180000000"), kzt("20000000"))
    assert double_payments(aid.ledger) == ()
    assert ledger.trial_balance().balanced
    assert verify(ledger).ok


def test_the_housing_project_is_the_seeds(campaign: tuple[Aid, CampaignResult]) -> None:
    """340,000,000 KZT for the residents of Dostyk village, Maktaaral district: a grant, its budget line with the
    commitment and the tranches against it, and reconcile's budget check (committed = approved − paid − released)
    passes on it."""
    aid, _ = campaign
    grant = grant_status(aid.ledger, "DOSTYK")
    assert grant.committed == kzt("340000000")
    assert "residents of Dostyk village, Maktaaral district" in grant.project.description
    (housing,) = budget_vs_actual(aid.ledger).lines
    assert (housing.line.code, housing.line.amount) == ("DOSTYK-HOUSING", kzt("340000000"))
    assert housing.line.name == "Housing for the residents of Dostyk village, Maktaaral district, 2020"
    tranches = [e for e in aid.ledger.entries() if e.entry.kind == "grant-tranche"]
    assert {e.entry.tags["budget_line"] for e in tranches} == {"DOSTYK-HOUSING"}
    assert sum(e.entry.postings[0].minor for e in tranches) == housing.figures.disbursed.minor == 32_300_000_000
    assert any(e.entry.approved_by for e in tranches)  # the foundations tranche went through a checker
    (check,) = [c for c in reconcile(aid.ledger).checks if c.name == "budgets"]
    assert check.ok and "for 1 line(s)" in check.compared


def test_the_demo_report_shows_the_euro_gift_and_the_budget(campaign: tuple[Aid, CampaignResult]) -> None:
    """What ``aidledger demo`` prints holds the 50,000 EUR the general fund keeps in euros and the budget line."""
    from aidledger.cli.demo import run

    aid, _ = campaign
    report = run(aid.ledger, PLAN)
    assert report.foreign == [{"fund": "GENERAL", "currency": "EUR", "net_assets": Money("50000", "EUR").value}]
    assert [(b["budget_line"], b["for"], b["budgeted_kzt"]) for b in report.budgets] == [
        ("DOSTYK-HOUSING", "project DOSTYK", kzt("340000000").value)
    ]
    assert report.grants[0]["for"] == "the residents of Dostyk village, Maktaaral district"


def test_each_household_is_paid_exactly_once(campaign: tuple[Aid, CampaignResult]) -> None:
    """Failed and returned payments were paid again; every family holds one live payment of 50,000 KZT."""
    aid, _ = campaign
    holders = list(aid.ledger.active_claims("programme:FAMILIES-50K"))
    assert len(holders) == len({claim.key for claim in holders}) == PLAN.households
    assert len(PLAN.failed()) >= 1 and len(PLAN.returned()) >= 1


@pytest.mark.parametrize(("what", "attempt", "error", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_write_nothing(
    campaign: tuple[Aid, CampaignResult],
    what: str,
    attempt: Callable[[Aid], object],
    error: type[AidLedgerError],
    message: str,
) -> None:
    """Each refusal raises its own error type with its message; the journal is as it was (a submitted
    list waits outside it), and every fund still holds what the plan says."""
    aid, _ = campaign
    ledger = aid.ledger
    expected = PLAN.expectations()
    before = snapshot(ledger, records=False)
    with pytest.raises(error, match=re.escape(message)):
        attempt(aid)
    assert snapshot(ledger, records=False) == before, what
    for fund, balance in expected.fund_balances.items():
        assert ledger.fund_balance(fund, "KZT") == balance
    assert ledger.trial_balance().balanced


def test_running_it_again_posts_nothing(campaign: tuple[Aid, CampaignResult]) -> None:
    """Every step is keyed or checked first: a second run (a restart after a crash, say) changes nothing."""
    aid, result = campaign
    before = snapshot(aid.ledger)
    assert run_campaign(aid, PLAN, keys=KEYS).entries == result.entries
    assert snapshot(aid.ledger) == before


def test_another_plan_is_refused(campaign: tuple[Aid, CampaignResult]) -> None:
    """The plan is recorded: finishing the campaign with another size is refused before anything is posted."""
    from aidledger import DuplicateDefinition

    aid, _ = campaign
    before = snapshot(aid.ledger)
    with pytest.raises(DuplicateDefinition, match="campaign '2020' already exists with different content"):
        run_campaign(aid, CampaignPlan.scaled("0.002"), keys=KEYS)
    assert snapshot(aid.ledger) == before


def test_a_campaign_stopped_half_way_resumes(url: str) -> None:
    """Killed in the middle of the family lists, the campaign run again finishes it exactly once."""

    class Stop(Exception):
        pass

    def stop_half_way(stage: str, done: int, total: int) -> None:
        if stage == "families" and done >= total // 2:
            raise Stop

    with Ledger.open(url) as ledger:
        aid = Aid(ledger, approval_threshold=kzt("100000000"))
        with pytest.raises(Stop):
            run_campaign(aid, PLAN, keys=KEYS, progress=stop_half_way)
        assert ledger.head().seq > 0
        run_campaign(aid, PLAN, keys=KEYS)
        for fund, balance in PLAN.expectations().fund_balances.items():
            assert ledger.fund_balance(fund, "KZT") == balance, fund
        assert len(list(ledger.active_claims("programme:FAMILIES-50K"))) == PLAN.households
        from aidledger import reconcile

        assert reconcile(ledger).ok
