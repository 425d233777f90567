"""An Aid on each backend, with the funds of the motivating case."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest

from aidledger import Aid, Ledger, Money, Pseudonymizer, Restriction

APRIL = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")
KEYS = Pseudonymizer({1: bytes(range(32))})


def kzt(amount: str) -> Money:
    return Money(amount, "KZT")


@pytest.fixture
def aid(url: str) -> Iterator[Aid]:
    with Ledger.open(url) as ledger:
        operations = Aid(ledger, approval_threshold=kzt("10000000"))
        operations.create_fund("GENERAL", name="Unrestricted")
        operations.create_fund("CASH-AID", name="One-off cash aid", purpose="cash-aid")
        operations.create_fund("FOOD", name="Food packages", purpose="food")
        operations.create_fund("HOUSING", name="Housing for flooded villages", purpose="housing")
        operations.create_fund("RESERVE", name="Board reserve", purpose="cash-aid", restriction=Restriction.BOARD)
        yield operations
