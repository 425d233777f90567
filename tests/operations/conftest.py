"""An Aid on each backend, with the funds of the motivating case."""

from __future__ import annotations

import pendulum

from aidledger import Money, Pseudonymizer

APRIL = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")
KEYS = Pseudonymizer({1: bytes(range(32))})


def kzt(amount: str) -> Money:
    return Money(amount, "KZT")
