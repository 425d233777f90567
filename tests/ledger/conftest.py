"""Ledgers with something in them, shared by the ledger's test modules."""

from __future__ import annotations

import pytest

from aidledger import Ledger
from tests.conftest import T0, Chart
from tests.helpers import transfer
from tests.ledger import fill


@pytest.fixture
def funded(ledger: Ledger, chart: type[Chart]) -> Ledger:
    ledger.post(transfer(chart.bank, chart.donations, chart.general, "1000", T0, kind="donation"))
    return ledger


@pytest.fixture
def filled(ledger: Ledger, chart: type[Chart]) -> Ledger:
    return fill(ledger, chart)
