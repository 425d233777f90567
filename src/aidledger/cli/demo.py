"""The demo: the motivating campaign of DESIGN.md built through the aid operations, then its report.

Every entry has an idempotency key, every payment and delivery a once-only
claim, and every approval and close is checked before it is made, so running
the demo twice on the same database posts nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from aidledger.core.amounts import Money, UnitKind, currency
from aidledger.core.beneficiaries import Pseudonymizer
from aidledger.demo import FOOD_PACKAGE, RELIEF_GOODS, CampaignPlan, CampaignResult, run_campaign
from aidledger.demo.plan import APPROVAL_THRESHOLD, HOUSING_PROJECT, VILLAGE
from aidledger.ledger.ledger import Ledger
from aidledger.operations.aid import Aid
from aidledger.queries.planning import budget_vs_actual
from aidledger.queries.positions import grant_status, stock_position
from aidledger.vocabulary import Chart

#: The demo's pseudonym key. A real deployment reads its own secret (see Pseudonymizer.from_environment).
DEMO_KEY = bytes.fromhex(b"d3m0".hex() * 8)

FUNDS = ("GENERAL", "CASH-AID", "MEDICS", "FOOD", "FLOOD", "HOUSING", "RESERVE")


@attrs.frozen
class DemoReport:
    """What the demo prints."""

    result: CampaignResult
    funds: list[dict[str, Any]]
    programmes: list[dict[str, Any]]
    stock: list[dict[str, Any]]
    grants: list[dict[str, Any]]
    foreign: list[dict[str, Any]] = attrs.Factory(list)
    budgets: list[dict[str, Any]] = attrs.Factory(list)


def run(ledger: Ledger, plan: CampaignPlan, progress: Callable[[str, int, int], None] | None = None) -> DemoReport:
    """Build (or finish building) the campaign on ``ledger`` and gather its report."""
    aid = Aid(ledger, approval_threshold=Money(APPROVAL_THRESHOLD, "KZT"))
    result = run_campaign(aid, plan, keys=Pseudonymizer({1: DEMO_KEY}), progress=progress)
    funds = [
        {
            "fund": code,
            "restriction": ledger.fund(code).restriction.value,
            "net_assets_kzt": ledger.fund_balance(code, "KZT").value,
        }
        for code in FUNDS
    ]
    programmes = []
    for programme in aid.programmes():
        paid = len(list(ledger.active_claims(programme.claim_scope)))
        spent = ledger.balance(Chart().expenses(programme.purpose, currency("KZT")), programme.fund)
        programmes.append({"programme": programme.code, "beneficiaries": paid, "paid_kzt": spent.value})
    stock = []
    for fund, goods in (("FOOD", FOOD_PACKAGE), ("FLOOD", RELIEF_GOODS)):
        position = stock_position(ledger, fund, goods)
        stock.append(
            {
                "commodity": goods.code,
                "measure": goods.measure or "",
                "received": position.received.value,
                "delivered": position.delivered.value,
                "lost": position.lost.value,
                "on_hand": position.on_hand.value,
                "on_hand_kzt": position.on_hand_value.value,
                "reconciles": position.reconciles,
            }
        )
    status = grant_status(ledger, HOUSING_PROJECT)
    grants = [
        {
            "project": status.project.code,
            "for": f"the residents of {VILLAGE}",
            "committed_kzt": status.committed.value,
            "disbursed_kzt": status.disbursed.value,
            "clawed_back_kzt": status.clawed_back.value,
            "remaining_kzt": status.remaining.value,
        }
    ]
    return DemoReport(
        result=result,
        funds=funds,
        programmes=programmes,
        stock=stock,
        grants=grants,
        foreign=_foreign(ledger),
        budgets=_budgets(ledger),
    )


def _foreign(ledger: Ledger) -> list[dict[str, Any]]:
    """What each fund holds in a currency other than tenge (the euro gift the general fund keeps in euros)."""
    units = [u for u in ledger.units().values() if u.kind is UnitKind.CURRENCY and u.code != "KZT"]
    rows = []
    for code in FUNDS:
        for unit in sorted(units, key=lambda u: u.code):
            held = ledger.fund_balance(code, unit)
            if not held.is_zero():
                rows.append({"fund": code, "currency": unit.code, "net_assets": held.value})
    return rows


def _budgets(ledger: Ledger) -> list[dict[str, Any]]:
    """Each budget line against its actuals, in tenge."""
    return [
        {
            "budget_line": status.line.code,
            "for": f"{status.line.owner.value} {status.line.owner_code}",
            "budgeted_kzt": status.figures.budgeted.value,
            "committed_kzt": status.figures.committed.value,
            "disbursed_kzt": status.figures.disbursed.value,
            "returned_kzt": status.figures.returned.value,
            "remaining_kzt": status.figures.remaining.value,
        }
        for status in budget_vs_actual(ledger).lines
    ]
