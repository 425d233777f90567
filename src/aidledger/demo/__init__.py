"""The demo campaign: the motivating case of the design, posted through the aid operations at any scale.

An example built on the library, not part of the domain: ``aidledger demo``
runs it, and the tests and benchmarks use it as a full year of a fund.
"""

from aidledger.demo.campaign import run_campaign
from aidledger.demo.plan import (
    FOOD_PACKAGE,
    RELIEF_GOODS,
    CampaignExpectations,
    CampaignPlan,
    CampaignResult,
)

__all__ = ["FOOD_PACKAGE", "RELIEF_GOODS", "CampaignExpectations", "CampaignPlan", "CampaignResult", "run_campaign"]
