"""What aid records hold: programmes, pledges and projects read back from the ledger's records."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from aidledger import InvalidArgument, Money
from aidledger.ledger.results import Record
from aidledger.vocabulary import Pledge, Programme, Project, Scope


def record(kind: str, code: str, **body: object) -> Record:
    """A record as the ledger would return it."""
    return Record(kind, code, None, "admin", body, 1, pendulum.datetime(2020, 4, 1, tz="UTC"))


class TestProgramme:
    def test_a_programme_pays_a_fixed_amount_or_up_to_a_maximum(self) -> None:
        """Exactly one of amount and max_amount is given; it is the rule, and its unit the currency paid in."""
        fixed = Programme(
            code="ONE-OFF",
            fund="CASH-AID",
            purpose="cash-aid",
            scope=Scope.HOUSEHOLD,
            amount=Money("50000", "KZT"),
            max_amount=None,
            name="",
        )
        assert (fixed.rule, fixed.unit.code, fixed.claim_scope) == (Money("50000", "KZT"), "KZT", "programme:ONE-OFF")
        for amount, most in ((None, None), (Money("1", "KZT"), Money("2", "KZT"))):
            with pytest.raises(InvalidArgument, match="programme ODD needs either a fixed amount"):
                Programme(
                    code="ODD", fund="F", purpose="p", scope=Scope.INDIVIDUAL, amount=amount, max_amount=most, name=""
                )

    def test_a_programme_reads_back_from_its_record(self) -> None:
        """A programme record's body, JSON values only, becomes the programme; key_version defaults to 1."""
        programme = Programme.from_record(
            record(
                "programme",
                "MEDICS",
                fund="GENERAL",
                purpose="medical",
                scope="individual",
                amount=None,
                max_amount="120000.00",
                currency="KZT",
                name="Medical workers",
            )
        )
        assert programme.scope is Scope.INDIVIDUAL and programme.key_version == 1
        assert programme.rule == Money("120000", "KZT") and programme.amount is None


class TestPledgesAndProjects:
    def test_a_pledge_reads_back_with_or_without_a_due_date(self) -> None:
        """A pledge's amount is exact in its currency and its due date an ISO date or none."""
        due = Pledge.from_record(
            record("pledge", "P-1", fund="FOOD", donor="D-1", amount="1000.50", currency="USD", due="2020-06-30")
        )
        assert (due.amount, due.due) == (Money("1000.50", "USD"), dt.date(2020, 6, 30))
        open_ended = Pledge.from_record(
            record("pledge", "P-2", fund="FOOD", donor="D-1", amount="1", currency="KZT", due=None)
        )
        assert open_ended.due is None

    def test_a_project_reads_back_from_its_record(self) -> None:
        """A project record's amount is the commitment."""
        project = Project.from_record(
            record(
                "project",
                "DOSTYK",
                fund="HOUSING",
                purpose="housing",
                grantee="Builders LLP",
                amount="6000000.00",
                currency="KZT",
                description="rebuild 120 houses",
            )
        )
        assert (project.committed, project.grantee) == (Money("6000000", "KZT"), "Builders LLP")
