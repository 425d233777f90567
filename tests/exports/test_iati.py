"""The IATI 2.03 export: schema-valid, exact to the minor unit, aggregated, and free of beneficiary data."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pendulum
import pytest
from lxml import etree

from aidledger import (
    FOOD_PACKAGE,
    Aid,
    Delivery,
    DuplicateDefinition,
    InvalidArgument,
    InvalidTime,
    Ledger,
    Money,
    PaymentLine,
    PaymentStatus,
    ProviderLine,
    Pseudonymizer,
    Quantity,
    ValuationBasis,
    Window,
    budget_vs_actual,
    grant_status,
)
from aidledger.exports.iati import DEFAULT_SECTORS, IatiSummary, ReportingOrg, export_iati

#: The IATI 2.03 schemas live in the shared folder beside the repository (beside a fresh clone in CI).
IATI_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "iati-2.03"

REF = "XM-DAC-000-0000"
ORG = ReportingOrg(ref=REF, name="Birgemiz public fund & partners", type="60")
HOSTILE = '<script>alert("x")</script> & \'single\' "double" \u200fשלום\u200e ]]> \x07bell'
DONOR_PERSON = "Ivanova Aigerim Serikovna"
GRANTEE = "Dostyk Builders «Cooperative» & Sons <LLP>"

APRIL = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")
MAY = pendulum.datetime(2020, 5, 4, 9, tz="Asia/Almaty")
END_OF_APRIL = pendulum.datetime(2020, 4, 30, 23, 59, 59, tz="Asia/Almaty")
GENERATED = pendulum.datetime(2020, 6, 1, 12, tz="UTC")
KEYS = Pseudonymizer({1: bytes(range(32))})
HOUSEHOLDS = [KEYS.pseudonym(f"household-{n}") for n in range(1, 8)]


def kzt(amount: str) -> Money:
    return Money(amount, "KZT")


class Clock:
    """A settable clock, so recorded times (and so ``known_at``) are under the test's control."""

    def __init__(self) -> None:
        self.time = pendulum.datetime(2020, 4, 1, tz="UTC")

    def __call__(self) -> pendulum.DateTime:
        return self.time


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """The IATI 2.03 activity schema (it includes iati-common.xsd and imports xml.xsd from the same folder)."""
    xsd = IATI_DIR / "iati-activities-schema.xsd"
    if not xsd.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the IATI 2.03 schemas are missing from {IATI_DIR.resolve()}; CI must provide shared/")
        pytest.skip(f"the IATI 2.03 schemas are not at {IATI_DIR.resolve()} (shared/ beside the repository)")
    return etree.XMLSchema(etree.parse(str(xsd)))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aid(url: str, clock: Clock) -> Iterator[Aid]:
    with Ledger.open(url, clock=clock) as ledger:
        operations = Aid(ledger)
        operations.create_fund("GENERAL", name="Unrestricted")
        operations.create_fund("CASH-AID", name=HOSTILE, purpose="cash-aid")
        operations.create_fund("FOOD", name="Food packages", purpose="food")
        operations.create_fund("HOUSING", name="Housing for the flooded village", purpose="housing")
        yield operations


@pytest.fixture
def campaign(aid: Aid, clock: Clock) -> Aid:
    """Donations, a pledge, a programme settled through the provider lifecycle, a grant, goods in kind.

    April is recorded on 2020-04-30, May on 2020-05-31 (see ``clock``).
    """
    clock.time = pendulum.datetime(2020, 4, 30, tz="UTC")
    aid.donate("CASH-AID", kzt("300000"), donor=DONOR_PERSON, on=APRIL, actor="cashier", memo=HOSTILE)
    aid.donate("CASH-AID", kzt("150000.50"), donor="Steppe Telecom JSC", on=APRIL.add(days=2), actor="cashier")
    aid.donate("HOUSING", kzt("400000000"), donor="Regional akimat", on=APRIL, actor="cashier")
    aid.pledge("HOUSING", kzt("50000000"), code="PL-1", donor="Big Donor LLP", on=APRIL, actor="cashier")

    aid.create_programme(
        "FAMILIES-50K", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="board", name=HOSTILE
    )
    lines = [PaymentLine(household, f"L-{n}", region="Akmola") for n, household in enumerate(HOUSEHOLDS[:5], 1)]
    aid.pay("FAMILIES-50K", lines, actor="maker", on=APRIL.add(days=1), list_code="L1")
    aid.send("L1", provider="Kazpost", actor="treasurer", on=APRIL.add(days=2))
    report = [
        ProviderLine("L-1", PaymentStatus.PAID, kzt("50000"), line=2),
        ProviderLine("L-2", PaymentStatus.FAILED, kzt("50000"), line=3),
        ProviderLine("L-3", PaymentStatus.PAID, kzt("50000"), line=4),
        ProviderLine("L-4", PaymentStatus.PAID, kzt("50000"), line=5),
    ]
    aid.settle("L1", report, actor="treasurer", on=APRIL.add(days=5))

    aid.commit_grant(
        "DOSTYK",
        fund="HOUSING",
        amount=kzt("340000000"),
        purpose="housing",
        grantee=GRANTEE,
        on=APRIL,
        actor="board",
        description="Housing for the residents of Dostyk village, Maktaaral district",
    )
    aid.disburse(
        "DOSTYK", kzt("100000000"), milestone="Foundations <poured> & checked", on=APRIL.add(days=10), actor="t"
    )

    aid.receive_goods(
        "FOOD",
        Quantity("100", FOOD_PACKAGE),
        value=kzt("1500000"),
        basis=ValuationBasis.MARKET_PRICE,
        donor="Retail chain",
        on=APRIL,
        actor="store",
    )
    deliveries = [Delivery(Quantity("1", FOOD_PACKAGE), to=household) for household in HOUSEHOLDS[:3]]
    aid.deliver_many("FOOD", deliveries, purpose="food", on=APRIL.add(days=3), actor="store", programme="food-2020")

    clock.time = pendulum.datetime(2020, 5, 31, tz="UTC")
    aid.settle("L1", [ProviderLine("L-3", PaymentStatus.RETURNED, kzt("50000"))], actor="treasurer", on=MAY)
    aid.settle("L1", [ProviderLine("L-5", PaymentStatus.PAID, kzt("50000"))], actor="treasurer", on=MAY)
    retry = [PaymentLine(HOUSEHOLDS[1], "L-2-retry"), PaymentLine(HOUSEHOLDS[5], "L-6")]
    aid.pay("FAMILIES-50K", retry, actor="maker", on=MAY.add(days=1), list_code="L2")
    aid.refund("CASH-AID", kzt("0.50"), donor="Steppe Telecom JSC", on=MAY, actor="cashier", reason="overpaid")
    aid.disburse("DOSTYK", kzt("150000000"), milestone="Walls and roofs", on=MAY, actor="t")
    aid.claw_back("DOSTYK", kzt("5000000.25"), on=MAY.add(days=10), actor="t", reason=f"Unspent: {HOSTILE}")
    aid.fulfil_pledge("PL-1", kzt("20000000"), on=MAY, actor="cashier")
    aid.write_off_pledge("PL-1", on=MAY.add(days=20), actor="cashier", reason="will not come")
    aid.deliver("FOOD", Quantity("10", FOOD_PACKAGE), purpose="food", settlement="Dostyk", on=MAY, actor="store")
    return aid


def export(ledger: Ledger, **options: object) -> tuple[bytes, IatiSummary]:
    out = io.BytesIO()
    summary = export_iati(ledger, out, reporting_org=ORG, generated_at=GENERATED, **options)  # type: ignore[arg-type]
    return out.getvalue(), summary


def valid(document: bytes, schema: etree.XMLSchema) -> etree._Element:
    root = etree.fromstring(document)
    assert schema.validate(root), "\n".join(str(error) for error in schema.error_log)
    return root


def activity(root: etree._Element, code: str) -> etree._Element:
    found = root.xpath("iati-activity[iati-identifier=$identifier]", identifier=f"{REF}-{code}")
    assert len(found) == 1, [a.findtext("iati-identifier") for a in root]
    return found[0]


def total(element: etree._Element, type_code: str, currency: str = "KZT") -> Decimal:
    """The exact sum of an activity's transactions of one type."""
    values = element.xpath("transaction[transaction-type/@code=$code]/value", code=type_code)
    assert all(value.get("currency") == currency for value in values)
    return sum((Decimal(value.text) for value in values), Decimal(0))


def money(amount: object) -> Decimal:
    assert isinstance(amount, Money)
    return amount.value


class TestDocument:
    def test_campaign_validates_against_the_schema(self, campaign: Aid, schema: etree.XMLSchema) -> None:
        """Every activity, with its transactions, is valid IATI 2.03 (element order included)."""
        document, summary = export(campaign.ledger, country="KZ")
        root = valid(document, schema)
        assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03"')
        assert root.get("generated-datetime") == "2020-06-01T12:00:00Z"
        identifiers = [a.findtext("iati-identifier") for a in root]
        assert identifiers == [f"{REF}-FAMILIES-50K", f"{REF}-DOSTYK", f"{REF}-GOODS-FOOD-food"]
        assert summary.identifiers == tuple(identifiers)
        assert summary.activities == 3
        assert summary.unattributed_funds == ()
        assert summary.transactions == len(root.findall("iati-activity/transaction"))
        for element in root:
            assert element.find("reporting-org").get("ref") == REF
            assert element.find("recipient-country").get("code") == "KZ"
            assert element.get("default-currency") == "KZT"

    def test_values_are_exact_decimals_with_currency_and_value_date(self, campaign: Aid) -> None:
        document, _ = export(campaign.ledger)
        root = etree.fromstring(document)
        values = root.findall("iati-activity/transaction/value")
        assert values
        for value in values:
            assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", value.text), value.text
            assert value.get("currency") == "KZT"
            date = value.getparent().find("transaction-date").get("iso-date")
            assert value.get("value-date") == date
        assert "450000.50" in {v.text for v in values}  # 300,000 + 150,000.50 donated in April

    def test_each_currency_with_its_own_exponent(self, aid: Aid, schema: etree.XMLSchema) -> None:
        """Donations kept in their own currency are written in it, to its minor unit (JPY 0, KWD 3 decimals)."""
        aid.create_programme("P", fund="CASH-AID", purpose="cash-aid", amount=kzt("1000"), actor="b")
        aid.donate("CASH-AID", Money("1200", "JPY"), donor="D", on=APRIL, actor="c")
        aid.donate("CASH-AID", Money("10.125", "KWD"), donor="D", on=APRIL, actor="c")
        aid.donate("CASH-AID", Money("99999999999999.99", "KZT"), donor="D", on=APRIL, actor="c")
        programme = activity(valid(export(aid.ledger)[0], schema), "P")
        shown = {(v.get("currency"), v.text) for v in programme.findall("transaction/value")}
        assert shown == {("JPY", "1200"), ("KWD", "10.125"), ("KZT", "99999999999999.99")}

    def test_output_is_deterministic(self, campaign: Aid) -> None:
        """The same ledger and generated_at give the same bytes (a published file can be reproduced)."""
        assert export(campaign.ledger)[0] == export(campaign.ledger)[0]

    def test_no_country_by_default(self, campaign: Aid, schema: etree.XMLSchema) -> None:
        root = valid(export(campaign.ledger)[0], schema)
        assert root.findall("iati-activity/recipient-country") == []

    def test_empty_ledger(self, ledger: Ledger, schema: etree.XMLSchema) -> None:
        """No activities: a well-formed root with no children; the schema's only objection is that it is empty.

        IATI 2.03 requires at least one iati-activity, so such a file is not for publication:
        the summary's ``activities == 0`` says so.
        """
        document, summary = export(ledger)
        assert summary == IatiSummary(activities=0, transactions=0, identifiers=(), unattributed_funds=())
        root = etree.fromstring(document)
        assert root.tag == "iati-activities" and root.get("version") == "2.03" and len(root) == 0
        assert not schema.validate(root)
        errors = [str(error) for error in schema.error_log]
        assert errors and all("Missing child element" in e and "iati-activity" in e for e in errors), errors

    def test_funds_without_activities_give_no_activities(self, aid: Aid) -> None:
        aid.donate("CASH-AID", kzt("1000"), donor="D", on=APRIL, actor="c")
        document, summary = export(aid.ledger)
        assert summary.activities == 0
        assert summary.unattributed_funds == ("CASH-AID",)
        assert b"1000.00" not in document


class TestProgramme:
    def test_stages_agree_with_the_ledger(self, campaign: Aid, schema: etree.XMLSchema) -> None:
        """Commitments (2) add up to the expense (approved − failed − returned), disbursements (3) to what was paid
        net of returns, and the difference to what is still due; no payment is reported as expenditure (4)."""
        root = valid(export(campaign.ledger)[0], schema)
        programme = activity(root, "FAMILIES-50K")
        tags = {"programme": "FAMILIES-50K"}
        in_ledger = campaign.ledger.balance("Expenses:CASH-AID:KZT", "CASH-AID", tags=tags)
        due = campaign.ledger.balance("Liabilities:PaymentsDue:KZT", "CASH-AID", tags=tags)
        # Seven approved (5 in April, 2 in May), L-2 failed, L-3 returned; L-1, L-3, L-4, L-5 paid.
        assert money(in_ledger) == Decimal("250000.00")
        assert total(programme, "2") == money(in_ledger)
        assert total(programme, "3") == Decimal("150000.00")  # four paid, one of them returned
        assert total(programme, "2") - total(programme, "3") == -money(due) == Decimal("100000.00")  # L2 unpaid
        assert total(programme, "4") == 0

    def test_payments_are_aggregated_per_month_kind_and_stage(self, campaign: Aid) -> None:
        root = etree.fromstring(export(campaign.ledger)[0])
        transactions = activity(root, "FAMILIES-50K").xpath(
            "transaction[transaction-type/@code='2' or transaction-type/@code='3']"
        )
        shown = sorted(
            (
                t.find("transaction-date").get("iso-date"),
                t.find("transaction-type").get("code"),
                t.findtext("value"),
                t.findtext("description/narrative"),
            )
            for t in transactions
        )
        assert [(date, type_, value) for date, type_, value, _ in shown] == [
            ("2020-04-02", "2", "250000.00"),  # five payments approved
            ("2020-04-06", "2", "-50000.00"),  # L-2 failed: its commitment released
            ("2020-04-06", "3", "150000.00"),  # L-1, L-3, L-4 paid
            ("2020-05-04", "2", "-50000.00"),  # L-3 returned: its commitment released ...
            ("2020-05-04", "3", "-50000.00"),  # ... and its disbursement taken back
            ("2020-05-04", "3", "50000.00"),  # L-5 paid
            ("2020-05-05", "2", "100000.00"),  # two payments approved
        ]
        texts = [text for *_, text in shown]
        assert "approved (committed)" in texts[0] and "the sum of 5 ledger entries" in texts[0]
        assert "failed (commitment released" in texts[1] and "reported paid" in texts[2]
        assert "returned (commitment released)" in texts[3] and "returned (money back" in texts[4]

    def test_budget_line_committed_is_commitments_less_disbursements(self, aid: Aid, schema: etree.XMLSchema) -> None:
        """With a budget line, what the line holds as committed is the activity's 2s less its 3s."""
        aid.donate("CASH-AID", kzt("1000000"), donor="D", on=APRIL, actor="c")
        aid.create_programme("P", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="board")
        aid.add_budget_line(
            "P-Q2", programme="P", amount=kzt("500000"), start=dt.date(2020, 4, 1), end=dt.date(2020, 6, 30),
            on=APRIL, actor="planner",
        )  # fmt: skip
        lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"R-{n}") for n in range(4)]
        aid.pay("P", lines, actor="maker", on=APRIL, list_code="B1")
        aid.send("B1", provider="Kazpost", actor="treasurer", on=APRIL.add(days=1))
        report = [
            ProviderLine("R-0", PaymentStatus.PAID, kzt("50000")),
            ProviderLine("R-1", PaymentStatus.PAID, kzt("50000")),
            ProviderLine("R-2", PaymentStatus.FAILED, kzt("50000")),
        ]
        aid.settle("B1", report, actor="treasurer", on=APRIL.add(days=2))
        aid.settle("B1", [ProviderLine("R-1", PaymentStatus.RETURNED, kzt("50000"))], actor="t", on=MAY)
        programme = activity(valid(export(aid.ledger)[0], schema), "P")
        (line,) = budget_vs_actual(aid.ledger).lines
        assert total(programme, "2") - total(programme, "3") == money(line.figures.committed) == Decimal("50000.00")
        assert total(programme, "3") == money(line.figures.disbursed) - money(line.figures.returned)
        assert [b.findtext("value") for b in programme.findall("budget")] == ["500000.00"]

    def test_many_payments_are_one_transaction(self, aid: Aid, schema: etree.XMLSchema) -> None:
        """A list of 150 payments is one expenditure transaction, not 150."""
        aid.donate("CASH-AID", kzt("10000000"), donor="D", on=APRIL, actor="c")
        aid.create_programme("BIG", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="board")
        lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"R-{n}") for n in range(150)]
        aid.pay("BIG", lines[:100], actor="maker", on=APRIL, list_code="B1")
        aid.pay("BIG", lines[100:], actor="maker", on=APRIL.add(days=3), list_code="B2")
        document, summary = export(aid.ledger)
        big = activity(valid(document, schema), "BIG")
        assert big.xpath("count(transaction[transaction-type/@code='2'])") == 1
        assert total(big, "2") == Decimal("7500000.00")
        assert summary.transactions == 2  # and one for the donation
        for line in lines:
            assert line.beneficiary.pseudonym.encode() not in document

    def test_incoming_funds_and_refunds(self, campaign: Aid) -> None:
        """Donations into the programme's own fund are incoming funds, net of refunds; no donor is named."""
        document, _ = export(campaign.ledger)
        programme = activity(etree.fromstring(document), "FAMILIES-50K")
        assert total(programme, "1") == Decimal("450000.00")  # 450,000.50 in, 0.50 refunded
        assert DONOR_PERSON.encode() not in document
        assert b"Steppe Telecom" not in document

    def test_a_shared_fund_is_not_attributed(self, aid: Aid, schema: etree.XMLSchema) -> None:
        """Two activities using one fund: its donations are reported on neither, and the summary names it."""
        aid.donate("GENERAL", kzt("200000"), donor="D", on=APRIL, actor="c")
        aid.create_programme("WINTER", fund="GENERAL", purpose="winter-clothes", amount=kzt("1000"), actor="b")
        aid.create_programme("FUEL", fund="GENERAL", purpose="cash-aid", amount=kzt("2000"), actor="b")
        aid.pay("WINTER", [PaymentLine(HOUSEHOLDS[0], "W-1")], actor="m", on=APRIL)
        document, summary = export(aid.ledger)
        root = valid(document, schema)
        assert summary.unattributed_funds == ("GENERAL",)
        assert root.xpath("count(//transaction[transaction-type/@code='1'])") == 0
        winter, fuel = activity(root, "WINTER"), activity(root, "FUEL")
        # A purpose without a DAC code is the reporting organisation's own (vocabulary 99).
        assert (winter.find("sector").get("vocabulary"), winter.find("sector").get("code")) == ("99", "winter-clothes")
        assert (fuel.find("sector").get("vocabulary"), fuel.find("sector").get("code")) == (
            "1",
            DEFAULT_SECTORS["cash-aid"],
        )
        assert winter.find("activity-status").get("code") == "2"
        # A programme that has paid nothing yet is in the pipeline, with a planned start.
        assert fuel.find("activity-status").get("code") == "1"
        assert fuel.find("activity-date").get("type") == "1"
        assert fuel.findall("transaction") == []

    def test_no_beneficiary_data_anywhere(self, campaign: Aid) -> None:
        document, _ = export(campaign.ledger, country="KZ")
        for household in HOUSEHOLDS:
            assert household.pseudonym.encode() not in document
            assert household.pseudonym.split("-", 1)[1].encode() not in document
        assert b"v1-" not in document
        assert b"Akmola" not in document  # region tags stay out
        assert b"provider report line" not in document


class TestGrant:
    def test_commitment_disbursements_and_clawback(self, campaign: Aid, schema: etree.XMLSchema) -> None:
        root = valid(export(campaign.ledger)[0], schema)
        grant = activity(root, "DOSTYK")
        status = grant_status(campaign.ledger, "DOSTYK")
        assert total(grant, "2") == money(status.committed) == Decimal("340000000.00")
        assert total(grant, "3") == money(status.disbursed) - money(status.clawed_back) == Decimal("244999999.75")
        disbursements = grant.xpath("transaction[transaction-type/@code='3']/value/text()")
        assert disbursements == ["100000000.00", "150000000.00", "-5000000.25"]
        for transaction in grant.xpath("transaction[transaction-type/@code='2' or transaction-type/@code='3']"):
            assert transaction.findtext("receiver-org/narrative") == GRANTEE
            assert transaction.find("provider-org").get("ref") == REF
            assert transaction.get("ref")  # the ledger entry's id, for an auditor to trace
        participants = {(p.get("role"), p.findtext("narrative")) for p in grant.findall("participating-org")}
        assert ("4", GRANTEE) in participants
        assert grant.find("activity-status").get("code") == "2"
        assert (grant.find("sector").get("vocabulary"), grant.find("sector").get("code")) == ("1", "73010")

    def test_pledges_and_incoming_funds_of_the_grant_fund(self, campaign: Aid) -> None:
        grant = activity(etree.fromstring(export(campaign.ledger)[0]), "DOSTYK")
        assert total(grant, "1") == Decimal("420000000.00")  # the akimat's gift, and the pledge fulfilled
        assert grant.xpath("transaction[transaction-type/@code='11']/value/text()") == [
            "50000000.00",
            "-30000000.00",  # written off
        ]

    def test_fully_disbursed_grant_is_in_finalisation(self, aid: Aid, schema: etree.XMLSchema) -> None:
        aid.donate("HOUSING", kzt("1000000"), donor="D", on=APRIL, actor="c")
        aid.commit_grant(
            "G1", fund="HOUSING", amount=kzt("500000"), purpose="housing", grantee="B", on=APRIL, actor="b"
        )
        aid.disburse("G1", kzt("500000"), milestone="all", on=APRIL.add(days=1), actor="t")
        grant = activity(valid(export(aid.ledger)[0], schema), "G1")
        assert grant.find("activity-status").get("code") == "3"
        assert grant.find("activity-date").get("iso-date") == "2020-04-01"

    def test_budget_lines_are_budgets(self, aid: Aid, schema: etree.XMLSchema) -> None:
        """A project's budget line is its activity's budget, before its transactions, and the file stays valid."""
        aid.donate("HOUSING", kzt("1000000"), donor="D", on=APRIL, actor="c")
        aid.commit_grant(
            "G1", fund="HOUSING", amount=kzt("500000"), purpose="housing", grantee="B", on=APRIL, actor="b"
        )
        aid.add_budget_line(
            "G1-2020", project="G1", amount=kzt("400000"), start=dt.date(2020, 4, 1), end=dt.date(2020, 12, 31),
            on=APRIL, actor="planner",
        )  # fmt: skip
        aid.disburse("G1", kzt("100000"), milestone="walls", on=APRIL.add(days=1), actor="t")
        grant = activity(valid(export(aid.ledger)[0], schema), "G1")
        (budget,) = grant.findall("budget")
        assert (budget.get("type"), budget.get("status")) == ("1", "1")
        assert budget.find("period-start").get("iso-date") == "2020-04-01"
        assert budget.find("period-end").get("iso-date") == "2020-12-31"
        assert budget.find("value").text == "400000.00"
        types = [t.find("transaction-type").get("code") for t in grant.findall("transaction")]
        assert types == ["1", "2", "3"]  # the fund's incoming funds, the commitment, the tranche


class TestGoods:
    def test_deliveries_in_kind_at_value(self, campaign: Aid) -> None:
        document, _ = export(campaign.ledger)
        goods = activity(etree.fromstring(document), "GOODS-FOOD-food")
        delivered = campaign.ledger.balance("Expenses:FOOD:KZT", "FOOD")
        assert total(goods, "4") == money(delivered) == Decimal("195000.00")  # 13 packages at 15,000
        descriptions = goods.xpath("transaction/description/narrative/text()")
        assert any("3 package of FOOD-PACKAGE" in d for d in descriptions), descriptions
        assert any("10 package of FOOD-PACKAGE" in d for d in descriptions), descriptions
        assert (goods.find("sector").get("vocabulary"), goods.find("sector").get("code")) == ("1", "72040")


class TestHostileText:
    def test_escaped_and_still_valid(self, campaign: Aid, schema: etree.XMLSchema) -> None:
        """Markup, ampersands, quotes, bidi marks and control characters in names and memos round-trip safely."""
        document, _ = export(campaign.ledger)
        root = valid(document, schema)
        assert b"<script>" not in document and b"<poured>" not in document
        shown = HOSTILE.replace("\x07", "\ufffd")  # XML 1.0 cannot carry a C0 control: replaced, not dropped
        programme = activity(root, "FAMILIES-50K")
        assert programme.findtext("title/narrative") == shown
        assert shown in programme.findtext("description/narrative")  # the fund's name
        grant = activity(root, "DOSTYK")
        described = grant.xpath("transaction/description/narrative/text()")
        assert f"Clawed back (returned by the grantee): Unspent: {shown}" in described
        assert "Tranche: Foundations <poured> & checked" in described

    def test_hostile_reporting_org_name(self, campaign: Aid, schema: etree.XMLSchema) -> None:
        org = ReportingOrg(ref="KZ-BIN-123456789012", name=HOSTILE, type="22")
        out = io.BytesIO()
        export_iati(campaign.ledger, out, reporting_org=org, generated_at=GENERATED)
        root = valid(out.getvalue(), schema)
        assert root.find("iati-activity/reporting-org/narrative").text == HOSTILE.replace("\x07", "\ufffd")
        assert root.find("iati-activity/iati-identifier").text == "KZ-BIN-123456789012-FAMILIES-50K"


class TestTimes:
    def test_as_of(self, campaign: Aid, schema: etree.XMLSchema) -> None:
        """Only entries effective by ``as_of``: the programme's April, and the ledger agrees."""
        root = valid(export(campaign.ledger, window=Window(as_of=END_OF_APRIL))[0], schema)
        programme = activity(root, "FAMILIES-50K")
        in_ledger = campaign.ledger.balance(
            "Expenses:CASH-AID:KZT", "CASH-AID", as_of=END_OF_APRIL, tags={"programme": "FAMILIES-50K"}
        )
        assert total(programme, "2") == money(in_ledger) == Decimal("200000.00")
        grant = activity(root, "DOSTYK")
        assert total(grant, "3") == Decimal("100000000.00")

    def test_known_at_reproduces_an_earlier_export(self, campaign: Aid, clock: Clock) -> None:
        """What was recorded by the end of April, exported again in June, is what April's export said."""
        known = pendulum.datetime(2020, 5, 1, tz="UTC")
        root = etree.fromstring(export(campaign.ledger, window=Window(known_at=known))[0])
        assert total(activity(root, "FAMILIES-50K"), "2") == Decimal("200000.00")
        assert total(activity(root, "DOSTYK"), "3") == Decimal("100000000.00")
        # A programme defined later is not in the earlier export.
        clock.time = pendulum.datetime(2020, 6, 2, tz="UTC")
        campaign.create_programme("LATER", fund="CASH-AID", purpose="cash-aid", amount=kzt("1"), actor="b")
        assert b"LATER" not in export(campaign.ledger, window=Window(known_at=known))[0]
        assert b"LATER" in export(campaign.ledger)[0]


class TestArguments:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("ref", "no identifier"),
            ("ref", "XMDAC"),
            ("ref", ""),
            ("name", ""),
            ("name", "a\x00b"),
            ("type", "99"),
            ("type", 60),
        ],
    )
    def test_reporting_org_is_checked(self, field: str, value: object) -> None:
        arguments: dict[str, object] = {"ref": REF, "name": "Fund", "type": "60"}
        arguments[field] = value
        with pytest.raises(InvalidArgument):
            ReportingOrg(**arguments)  # type: ignore[arg-type]

    def test_bad_arguments_write_nothing(self, ledger: Ledger) -> None:
        out = io.BytesIO()
        cases: list[dict[str, object]] = [
            {"reporting_org": "XM-DAC-000-0000"},
            {"reporting_org": ORG, "generated_at": dt.datetime(2020, 4, 1)},
            {"reporting_org": ORG, "default_currency": "XYZ"},
            {"reporting_org": ORG, "country": "Kazakhstan"},
            {"reporting_org": ORG, "country": "kz"},
            {"reporting_org": ORG, "sectors": {"food": "720"}},
            {"reporting_org": ORG, "sectors": ["food"]},
            {"reporting_org": ORG, "language": "english"},
        ]
        for options in cases:
            with pytest.raises(InvalidArgument):
                export_iati(ledger, out, **options)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            export_iati(ledger, out, reporting_org=ORG, window=Window(as_of=dt.datetime(2020, 4, 1)))  # naive
        with pytest.raises(InvalidArgument):
            export_iati(ledger, out, reporting_org=ORG, window=Window(known_at="2020-04-01"))
        assert out.getvalue() == b""
        with pytest.raises(InvalidTime):
            export_iati(ledger, out, reporting_org=ORG, window=Window(as_of=dt.datetime(2020, 4, 1)))
        with pytest.raises(InvalidArgument, match="binary stream"):
            export_iati(ledger, io.StringIO(), reporting_org=ORG)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="Ledger"):
            export_iati("sqlite://", out, reporting_org=ORG)  # type: ignore[arg-type]

    def test_sector_mapping_can_be_extended(self, aid: Aid, schema: etree.XMLSchema) -> None:
        aid.create_programme("WINTER", fund="GENERAL", purpose="winter-clothes", amount=kzt("1000"), actor="b")
        root = valid(export(aid.ledger, sectors={"winter-clothes": "72010"})[0], schema)
        sector = activity(root, "WINTER").find("sector")
        assert (sector.get("vocabulary"), sector.get("code")) == ("1", "72010")

    def test_same_identifier_twice_is_refused(self, aid: Aid) -> None:
        """A programme and a project with one code would share an identifier: refused before writing."""
        aid.donate("HOUSING", kzt("1000"), donor="D", on=APRIL, actor="c")
        aid.create_programme("X", fund="HOUSING", purpose="housing", amount=kzt("100"), actor="b")
        aid.commit_grant("X", fund="HOUSING", amount=kzt("100"), purpose="housing", grantee="G", on=APRIL, actor="b")
        out = io.BytesIO()
        with pytest.raises(DuplicateDefinition, match=f"{REF}-X"):
            export_iati(aid.ledger, out, reporting_org=ORG)
        assert out.getvalue() == b""
