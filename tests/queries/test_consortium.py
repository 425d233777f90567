"""Two organisations find the households both serve, and nothing else, through consortium pseudonyms and PSI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aidledger import (
    Aid,
    Beneficiary,
    ConsortiumList,
    ConsortiumParty,
    InvalidArgument,
    Ledger,
    Money,
    PaymentLine,
    Pseudonymizer,
    Registry,
    SharedHouseholds,
)
from tests.conftest import new_url
from tests.operations.conftest import APRIL

CONSORTIUM = Pseudonymizer({1: bytes(range(100, 132))})


class Organisation:
    """One organisation: its ledger, its registry, its own key, one programme paying some households."""

    def __init__(self, url: str, registry_url: str, key: bytes, programme: str, households: range) -> None:
        self.ledger = Ledger.open(url)
        self.registry = Registry.open(registry_url, keys=Pseudonymizer({1: key}))
        aid = Aid(self.ledger)
        aid.create_fund("CASH-AID", name="Cash aid", purpose="cash-aid")
        aid.donate("CASH-AID", Money("10000000", "KZT"), donor="D", on=APRIL, actor="cashier")
        aid.create_programme(programme, fund="CASH-AID", purpose="cash-aid", amount=Money("50000", "KZT"), actor="a")
        self.own: dict[int, Beneficiary] = {}
        lines = []
        for n in households:
            beneficiary = self.registry.register(f"KZ-HH-{n:04d}", name=f"Household {n}")
            self.own[n] = beneficiary
            lines.append(PaymentLine(beneficiary, f"{programme}-{n}"))
        aid.pay(programme, lines, actor="officer", on=APRIL, list_code=f"{programme}-LIST")
        self.programme = programme

    def party(self) -> ConsortiumParty:
        return ConsortiumParty.of(self.ledger, self.registry, self.programme, CONSORTIUM)

    def close(self) -> None:
        self.ledger.close()
        self.registry.close()


@pytest.fixture
def two(url: str, backend: str, tmp_path: Path, pg_database: str | None) -> Iterator[tuple[Organisation, Organisation]]:
    """Organisation A pays households 1-6, B pays 5-9 (each in its own database, under its own key)."""
    a = Organisation(url, f"sqlite:///{tmp_path / 'a-registry.db'}", bytes(range(32)), "FAMILIES", range(1, 7))
    other = new_url(backend, tmp_path, pg_database)
    b = Organisation(other, f"sqlite:///{tmp_path / 'b-registry.db'}", bytes(range(1, 33)), "WINTER", range(5, 10))
    yield a, b
    a.close()
    b.close()


def exchange(a: ConsortiumParty, b: ConsortiumParty) -> tuple[SharedHouseholds, SharedHouseholds]:
    a_offer, b_offer = a.offer(), b.offer()
    a_answer, b_answer = b.answer(a_offer), a.answer(b_offer)
    return a.shared(b_offer, a_answer), b.shared(a_offer, b_answer)


def test_each_finds_exactly_the_shared_households(two: tuple[Organisation, Organisation]) -> None:
    """Each side gets its own pseudonyms of households 5 and 6, and the other list's size; nothing else."""
    a, b = two
    found_a, found_b = exchange(a.party(), b.party())
    assert found_a.beneficiaries == tuple(sorted((a.own[5], a.own[6]), key=lambda x: x.pseudonym))
    assert found_b.beneficiaries == tuple(sorted((b.own[5], b.own[6]), key=lambda x: x.pseudonym))
    assert (found_a.mine, found_a.theirs, found_b.mine, found_b.theirs) == (6, 5, 5, 6)
    assert a.own[5] != b.own[5]  # unrelated pseudonyms in the two ledgers


def test_nothing_identifying_is_sent(two: tuple[Organisation, Organisation]) -> None:
    """An offer holds no registry id, own pseudonym or consortium pseudonym, and differs at every exchange."""
    a, _ = two
    party = a.party()
    sent = " ".join(party.offer().elements)
    for n, beneficiary in a.own.items():
        assert f"KZ-HH-{n:04d}" not in sent
        assert beneficiary.pseudonym.split("-")[1] not in sent
        assert CONSORTIUM.pseudonym(f"KZ-HH-{n:04d}").pseudonym.split("-")[1] not in sent
    assert set(party.offer().elements).isdisjoint(a.party().offer().elements)  # a new secret per exchange


def test_consortium_key_must_not_be_an_own_key(two: tuple[Organisation, Organisation]) -> None:
    """Using an organisation's own key as the consortium key would link its ledger to the others': refused."""
    a, _ = two
    with pytest.raises(InvalidArgument, match="must not be one of the organisation's own"):
        ConsortiumParty.of(a.ledger, a.registry, a.programme, Pseudonymizer({1: bytes(range(32))}))


def test_bad_messages_are_refused(two: tuple[Organisation, Organisation]) -> None:
    """An element that is not 64 hex characters, or an answer of the wrong length, is refused."""
    a, b = two
    party = a.party()
    with pytest.raises(InvalidArgument, match="64 hex"):
        party.answer(ConsortiumList(["zz"]))
    with pytest.raises(InvalidArgument, match="this side offered 6"):
        party.shared(b.party().offer(), ConsortiumList([]))
