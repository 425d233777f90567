"""An Aid on each backend, with the funds of the motivating case."""

from __future__ import annotations

import pendulum

from aidledger import Aid, Money, Pseudonymizer

APRIL = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")
KEYS = Pseudonymizer({1: bytes(range(32))})


def kzt(amount: str) -> Money:
    return Money(amount, "KZT")


VILLAGE = "Housing for the residents of Dostyk village, Maktaaral district, after the flood"


def commit_village(aid: Aid) -> Aid:
    """400 million KZT in the housing fund, 340 million of it committed to one village (project DOSTYK)."""
    aid.donate("HOUSING", kzt("400000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.commit_grant(
        "DOSTYK",
        fund="HOUSING",
        amount=kzt("340000000"),
        purpose="housing",
        grantee="Dostyk builders LLP",
        description=VILLAGE,
        on=APRIL,
        actor="director",
    )
    return aid
