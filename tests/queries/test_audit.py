"""Audit totals and fund statements, checked against figures worked out by hand."""

from __future__ import annotations

import pendulum
import pytest

from aidledger import (
    Aid,
    AuditTotals,
    Dimension,
    Flow,
    InvalidArgument,
    InvalidTime,
    Quantity,
    UnknownFund,
    Window,
    audit_totals,
    fund_statement,
)
from tests.books import MAY, PACKAGE, almaty
from tests.operations.conftest import APRIL, kzt


def table(totals: AuditTotals) -> list[tuple[object, ...]]:
    return [(*row.group.values(), str(row.amount), row.entries, row.beneficiaries) for row in totals.rows]


class TestAuditTotals:
    def test_spent_by_fund(self, books: Aid) -> None:
        """Spending nets failed and returned payments; beneficiaries count only those left with money."""
        totals = audit_totals(books.ledger, by=["fund"])
        assert table(totals) == [
            ("CASH-AID", "100000.00 KZT", 6, 2),
            ("FOOD", "2 FOOD-PACKAGE", 1, 1),
            ("FOOD", "30000.00 KZT", 1, 1),
            ("HOUSING", "6000000.00 KZT", 1, 0),
        ]
        assert totals.totals == {"FOOD-PACKAGE": Quantity("2", PACKAGE), "KZT": kzt("6130000")}
        assert (totals.entries, totals.beneficiaries) == (8, 2)

    def test_received_by_donor_and_currency(self, books: Aid) -> None:
        """Receipts by donor, goods in their own unit as well as at value."""
        totals = audit_totals(books.ledger, flow=Flow.RECEIVED, by=["donor", "currency"])
        assert table(totals) == [
            ("D-1", "KZT", "29000000.00 KZT", 2, 0),
            ("D-2", "KZT", "1000000.00 KZT", 1, 0),
            ("Magnum", "FOOD-PACKAGE", "100 FOOD-PACKAGE", 1, 0),
            ("Magnum", "KZT", "1500000.00 KZT", 1, 0),
        ]

    def test_by_month_in_a_time_zone(self, books: Aid) -> None:
        """Months are counted in the time zone asked for; a filter narrows to one programme."""
        totals = audit_totals(books.ledger, by=["month", "region"], where={"programme": "ONE-OFF"}, tz="Asia/Almaty")
        assert table(totals) == [
            ("2020-04", "Abai", "50000.00 KZT", 3, 1),
            ("2020-04", "Zhetisu", "50000.00 KZT", 1, 1),
            ("2020-05", "Abai", "50000.00 KZT", 1, 1),
            ("2020-05", "Zhetisu", "-50000.00 KZT", 1, 0),
        ]

    def test_month_boundary_moves_with_the_zone(self, books: Aid) -> None:
        """An entry at 01:00 in Almaty on 1 May is still April in UTC."""
        books.donate("GENERAL", kzt("7"), donor="late", on=almaty(2020, 5, 1, 1), actor="c")
        where = {"donor": "late"}
        local = audit_totals(books.ledger, flow="received", by="month", where=where, tz="Asia/Almaty")
        utc = audit_totals(books.ledger, flow="received", by="month", where=where)
        assert ([r["month"] for r in local.rows], [r["month"] for r in utc.rows]) == (["2020-05"], ["2020-04"])

    def test_quarter_year_and_purpose(self, books: Aid) -> None:
        totals = audit_totals(books.ledger, by=[Dimension.YEAR, Dimension.PURPOSE, Dimension.CURRENCY])
        assert [(r["year"], r["purpose"], str(r.amount)) for r in totals.rows] == [
            ("2020", "cash-aid", "100000.00 KZT"),
            ("2020", "food", "2 FOOD-PACKAGE"),
            ("2020", "food", "30000.00 KZT"),
            ("2020", "housing", "6000000.00 KZT"),
        ]
        quarters = audit_totals(books.ledger, by="quarter", where={"currency": "KZT"})
        assert [(r["quarter"], str(r.amount)) for r in quarters.rows] == [("2020-Q2", "6130000.00 KZT")]

    def test_period_and_as_of(self, books: Aid) -> None:
        """start/end select a period of effective time; as_of everything up to a moment."""
        april = audit_totals(books.ledger, by="fund", window=Window(start=APRIL, end=MAY), where={"currency": "KZT"})
        assert [(r["fund"], str(r.amount)) for r in april.rows] == [("CASH-AID", "100000.00 KZT")]
        assert audit_totals(books.ledger, by="fund", window=Window(as_of=APRIL.add(days=2))).totals == {
            "KZT": kzt("150000")
        }

    def test_known_at_reproduces_an_earlier_report(self, books: Aid) -> None:
        """A report re-run with known_at=T ignores entries recorded after T, back-dated or not."""
        then = pendulum.now("UTC")
        before = audit_totals(books.ledger, flow="received", by="donor", window=Window(known_at=then))
        books.donate("CASH-AID", kzt("5"), donor="D-1", on=APRIL, actor="cashier")  # back-dated
        assert audit_totals(books.ledger, flow="received", by="donor", window=Window(known_at=then)) == before
        assert audit_totals(books.ledger, flow="received", by="donor") != before

    def test_totals_agree_with_the_trial_balance(self, books: Aid) -> None:
        """Spent per account equals the expense accounts' balances to the minor unit."""
        totals = audit_totals(books.ledger, by="account")
        expected = {
            (line.account.code, str(line.balance))
            for line in books.ledger.trial_balance().lines
            if line.account.code.startswith("Expenses:")
        }
        by_account: dict[str, int] = {}
        for row in totals.rows:
            by_account[str(row["account"])] = by_account.get(str(row["account"]), 0) + row.amount.minor
        assert {(code, str(books.ledger.balance(code))) for code in by_account} == expected

    def test_each_row_names_the_kinds_of_its_entries(self, books: Aid) -> None:
        """A row's kinds (and its entry count) are those of the rows it splits into by kind."""
        by_fund = audit_totals(books.ledger, by="fund")
        by_kind = audit_totals(books.ledger, by=["fund", "kind"])
        for row in by_fund.rows:
            parts = [r for r in by_kind.rows if r["fund"] == row["fund"] and r.amount.unit == row.amount.unit]
            assert row.kinds == tuple(sorted(str(r["kind"]) for r in parts))
            assert row.entries == sum(r.entries for r in parts)
            assert all(r.kinds == (r["kind"],) for r in parts)

    def test_empty_ledger_and_as_dict(self, aid: Aid) -> None:
        totals = audit_totals(aid.ledger, by=["month", "fund"])
        assert (totals.rows, totals.totals, totals.entries) == ((), {}, 0)
        assert totals.as_dict()["rows"] == []

    def test_as_dict_is_json_ready(self, books: Aid) -> None:
        before_may = MAY.subtract(seconds=1)
        data = audit_totals(books.ledger, by="fund", window=Window(as_of=before_may)).as_dict()
        assert data["rows"][0] == {
            "fund": "CASH-AID",
            "unit": "KZT",
            "amount": "100000.00",
            "entries": 4,
            "beneficiaries": 2,
            "kinds": ["payment", "payment-failed"],
        }
        assert data["selection"]["as_of"] == before_may.isoformat()

    @pytest.mark.parametrize(
        ("call", "error", "message"),
        [
            ({"by": ["colour"]}, InvalidArgument, "unknown dimension 'colour'"),
            ({"by": ["fund", "fund"]}, InvalidArgument, "named twice"),
            ({"by": ["month", "year"]}, InvalidArgument, "at most one of"),
            ({"flow": "stolen"}, InvalidArgument, "flow must be"),
            ({"tz": "Mars/Olympus"}, InvalidArgument, "unknown time zone"),
            ({"start": MAY, "end": APRIL}, InvalidArgument, "is not after start"),
            ({"as_of": pendulum.naive(2020, 1, 1)}, InvalidTime, "no time zone"),
            ({"where": {"month": "2020-04"}}, InvalidArgument, "filter periods"),
            ({"where": {"fund": 3}}, InvalidArgument, "must be text"),
            ({"by": 7}, InvalidArgument, "by must be"),
            ({"window": "2020"}, InvalidArgument, "window must be a Window"),
        ],
    )
    def test_bad_arguments(self, aid: Aid, call: dict[str, object], error: type[Exception], message: str) -> None:
        with pytest.raises(error, match=message):
            call = dict(call)
            times = {k: call.pop(k) for k in ("start", "end", "as_of", "known_at") if k in call}  # a Window's bounds
            audit_totals(aid.ledger, **call, **({"window": Window(**times)} if times else {}))  # type: ignore[arg-type]

    def test_not_a_ledger(self) -> None:
        with pytest.raises(InvalidArgument, match="expected a Ledger"):
            audit_totals("fund.db")  # type: ignore[arg-type]


class TestFundStatement:
    def test_statement_of_a_period(self, books: Aid) -> None:
        """May's statement of CASH-AID: opened with April's balance, took a gift, paid and got money back."""
        (statement,) = fund_statement(books.ledger, "CASH-AID", window=Window(start=MAY, end=MAY.add(months=1)))
        assert statement.opening == kzt("8900000")
        assert [(line.label, str(line.amount), line.entries) for line in statement.receipts] == [
            ("donation", "1000000.00 KZT", 1)
        ]
        assert [(line.label, str(line.amount), line.entries) for line in statement.spending] == [
            ("cash-aid", "0.00 KZT", 2)
        ]
        assert statement.closing == kzt("9900000")
        assert statement.reconciles

    def test_whole_life_with_transfers(self, books: Aid) -> None:
        """A release shows on both funds' statements, in and out; each statement reconciles."""
        books.release("CASH-AID", kzt("100000"), to="GENERAL", on=MAY, actor="board", reason="surplus")
        (cash,) = fund_statement(books.ledger, "CASH-AID")
        (general,) = fund_statement(books.ledger, "GENERAL")
        assert [(x.label, str(x.amount)) for x in cash.transfers] == [("release", "-100000.00 KZT")]
        assert [(x.label, str(x.amount)) for x in general.transfers] == [("release", "100000.00 KZT")]
        assert (cash.opening, cash.received, cash.spent, cash.closing) == (
            kzt("0"),
            kzt("10000000"),
            kzt("100000"),
            kzt("9800000"),
        )
        assert cash.reconciles and general.reconciles

    def test_goods_fund_in_money(self, books: Aid) -> None:
        (food,) = fund_statement(books.ledger, "FOOD", currency="KZT")
        assert [(x.label, str(x.amount)) for x in food.receipts] == [("goods-donation", "1500000.00 KZT")]
        assert [(x.label, str(x.amount)) for x in food.spending] == [("food", "30000.00 KZT")]
        assert food.closing == kzt("1470000") and food.reconciles

    def test_unknown_fund_and_currency(self, books: Aid) -> None:
        with pytest.raises(UnknownFund, match="unknown fund 'NOPE'"):
            fund_statement(books.ledger, "NOPE")
        with pytest.raises(InvalidArgument, match="unknown currency 'FOOD-PACKAGE'"):
            fund_statement(books.ledger, "FOOD", currency="FOOD-PACKAGE")
