"""Erasing a paid person from the registry, or destroying their key, leaves the journal and its checks as they were."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from aidledger import (
    Aid,
    DuplicateClaim,
    InvalidArgument,
    PaymentLine,
    PaymentStatus,
    ProviderLine,
    Pseudonymizer,
    Registry,
    audit_totals,
    programme_summary,
    reconcile,
    verify,
)
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, kzt
from tests.registry import KEYS, NEW_KEY, PEOPLE

FIRST, SECOND, THIRD = PEOPLE
ROTATED = Pseudonymizer({1: KEYS.keys[1], 2: NEW_KEY})


@pytest.fixture
def paid(aid: Aid, url: str) -> Iterator[tuple[Aid, Registry]]:
    """Three registered people, each paid 50,000 KZT once by programme ONE-OFF; the registry in the ledger's database."""
    with Registry.open(url, keys=KEYS) as registry:
        beneficiaries = [registry.register(registry_id, **data) for registry_id, data in PEOPLE.items()]
        aid.donate("CASH-AID", kzt("1000000"), donor="D-1", on=APRIL, actor="cashier")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
        lines = [PaymentLine(b, f"L-{i}", region="Abai") for i, b in enumerate(beneficiaries)]
        aid.pay("ONE-OFF", lines, actor="officer", on=APRIL, list_code="LIST-1")
        aid.send("LIST-1", provider="Kazpost", actor="cashier", on=APRIL.add(hours=2))
        report = [ProviderLine(line.reference, PaymentStatus.PAID, kzt("50000")) for line in lines]
        aid.settle("LIST-1", report, actor="cashier", on=APRIL.add(days=1))
        yield aid, registry


def figures(aid: Aid) -> tuple[object, ...]:
    """What an auditor sees: the chain, the reconciliation, the totals and the programme's summary."""
    ledger = aid.ledger
    verification, reconciliation = verify(ledger), reconcile(ledger)
    assert verification.ok and reconciliation.ok
    return (
        verification.entries,
        verification.head_hash,
        [(c.name, c.ok, c.compared) for c in reconciliation.checks],
        audit_totals(ledger, by=["programme", "region"]).as_dict(),
        audit_totals(ledger, flow="received", by=["fund", "donor"]).as_dict(),
        programme_summary(aid.ledger, "ONE-OFF"),
        snapshot(ledger),
    )


def pay_again(aid: Aid, beneficiary: object, programme: str = "ONE-OFF", reference: str = "AGAIN-1") -> None:
    line = PaymentLine(beneficiary, reference)  # type: ignore[arg-type]
    aid.pay(programme, [line], actor="officer", on=APRIL.add(days=3), list_code=f"LIST-{reference}")


class TestErasure:
    @pytest.mark.parametrize("how", ["erase", "forget_key"])
    def test_erasing_a_paid_person_leaves_every_check_and_total_unchanged(
        self, paid: tuple[Aid, Registry], how: str
    ) -> None:
        """After erase or forget_key: verify and reconcile pass, audit totals and the summary are the same."""
        aid, registry = paid
        before = figures(aid)
        assert getattr(registry, how)(FIRST) is True
        assert figures(aid) == before
        assert programme_summary(aid.ledger, "ONE-OFF").beneficiaries_paid == 3

    @pytest.mark.parametrize("how", ["erase", "forget_key"])
    def test_an_erased_person_cannot_be_paid_twice(self, paid: tuple[Aid, Registry], how: str) -> None:
        """Once per beneficiary still holds for the erased person: a second payment is refused and writes nothing."""
        aid, registry = paid
        getattr(registry, how)(FIRST)
        before = snapshot(aid.ledger)
        with pytest.raises(DuplicateClaim, match="already taken"):
            pay_again(aid, KEYS.pseudonym(FIRST))
        assert snapshot(aid.ledger) == before

    def test_registering_an_erased_person_again_gives_the_same_pseudonym(self, paid: tuple[Aid, Registry]) -> None:
        """An erased person who registers again gets the same pseudonym, so the programme still refuses them."""
        aid, registry = paid
        registry.erase(SECOND)
        beneficiary = registry.register(SECOND, **PEOPLE[SECOND])
        assert beneficiary == KEYS.pseudonym(SECOND)
        with pytest.raises(DuplicateClaim):
            pay_again(aid, beneficiary)


class TestKeyRotation:
    def test_a_programme_keeps_its_key_version_after_a_rotation(self, paid: tuple[Aid, Registry], url: str) -> None:
        """After rotating to key 2, the old programme refuses v2 pseudonyms and, under v1, the people it paid."""
        aid, _ = paid
        with Registry.open(url, keys=ROTATED) as registry:
            registry.rekey()
            registry.erase(THIRD)
        programme = aid.programme_of("ONE-OFF")
        assert programme.key_version == 1
        before = snapshot(aid.ledger)
        with pytest.raises(InvalidArgument, match="claims beneficiaries under pseudonym key version 1"):
            pay_again(aid, ROTATED.pseudonym(FIRST))
        for registry_id in (FIRST, THIRD):
            with pytest.raises(DuplicateClaim):
                pay_again(aid, ROTATED.pseudonym(registry_id, version=programme.key_version))
        assert snapshot(aid.ledger) == before

    def test_a_programme_made_after_the_rotation_pays_under_the_new_key_once(self, paid: tuple[Aid, Registry]) -> None:
        """A programme created with key_version=2 takes v2 pseudonyms only, and pays each person once."""
        aid, _ = paid
        aid.create_programme(
            "WINTER", fund="CASH-AID", purpose="cash-aid", amount=kzt("20000"), actor="admin", key_version=2
        )
        assert aid.programme_of("WINTER").key_version == 2
        with pytest.raises(InvalidArgument, match=re.escape("make it with keys.pseudonym(registry_id, version=2)")):
            pay_again(aid, KEYS.pseudonym(FIRST), "WINTER", "W-0")
        pay_again(aid, ROTATED.pseudonym(FIRST), "WINTER", "W-1")
        with pytest.raises(DuplicateClaim):
            pay_again(aid, ROTATED.pseudonym(FIRST), "WINTER", "W-2")

    def test_submitted_lists_are_held_to_the_programmes_key_version(self, paid: tuple[Aid, Registry]) -> None:
        """A list submitted for approval with pseudonyms of another version is refused before it is stored."""
        aid, _ = paid
        before = snapshot(aid.ledger)
        with pytest.raises(InvalidArgument, match=re.escape("line 1 (S-1)")):
            aid.submit_payments(
                "ONE-OFF", [PaymentLine(ROTATED.pseudonym(SECOND), "S-1")], actor="officer", on=APRIL, list_code="S"
            )
        assert snapshot(aid.ledger) == before

    @pytest.mark.parametrize("version", [0, 10_000, "2", True, 1.0])
    def test_a_bad_key_version_is_refused(self, aid: Aid, version: object) -> None:
        """create_programme takes a whole key version from 1 to 9999, and writes nothing otherwise."""
        before = snapshot(aid.ledger)
        with pytest.raises(InvalidArgument, match="key_version must be a whole number"):
            aid.create_programme(
                "BAD", fund="CASH-AID", purpose="cash-aid", amount=kzt("1"), actor="admin", key_version=version
            )  # type: ignore[arg-type]
        assert snapshot(aid.ledger) == before

    def test_first_key_programmes_keep_their_record(self, paid: tuple[Aid, Registry]) -> None:
        """A programme under key 1 stores the same record as before key versions existed (no key_version field)."""
        aid, _ = paid
        record = aid.ledger.record("programme", "ONE-OFF")
        assert record is not None and "key_version" not in record.body
