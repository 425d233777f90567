"""The demo: the motivating campaign of DESIGN.md built through the aid operations, then its report.

Every entry has an idempotency key, every payment and delivery a once-only
claim, and every approval and close is checked before it is made, so running
the demo twice on the same database posts nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from aidledger.core.amounts import Money, currency
from aidledger.core.beneficiaries import Pseudonymizer
from aidledger.demo import FOOD_PACKAGE, RELIEF_GOODS, CampaignPlan, CampaignResult, run_campaign
from aidledger.demo.plan import APPROVAL_THRESHOLD
from aidledger.ledger.ledger import Ledger
from aidledger.operations.aid import Aid
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
    status = grant_status(ledger, "KOKTEREK")
    grants = [
        {
            "project": status.project.code,
            "committed_kzt": status.committed.value,
            "disbursed_kzt": status.disbursed.value,
            "clawed_back_kzt": status.clawed_back.value,
            "remaining_kzt": status.remaining.value,
        }
    ]
    return DemoReport(result=result, funds=funds, programmes=programmes, stock=stock, grants=grants)
