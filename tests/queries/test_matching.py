"""Matching a bank statement and a provider's report with the ledger."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pendulum
import pytest

from aidledger import (
    Aid,
    BankLine,
    InvalidArgument,
    MalformedFile,
    PaymentStatus,
    ProviderLine,
    StatementMatch,
    UnknownAccount,
    UnknownRecord,
    match_provider_report,
    match_statement,
    read_statement,
)
from aidledger.core.amounts import Money
from tests.books import MAY, household
from tests.helpers import snapshot
from tests.operations.conftest import kzt

STATEMENT = """date,amount,reference,description
2020-04-01,9000000.00,,gift from D-1
2020-04-01,20000000.00,,gift for housing
2020-04-02,-150000.00,sent:L1,Kazpost
2020-04-04,50000.00,,failed payment back
2020-05-01,1000000.00,,gift from D-2
2020-05-01,50000.00,returned:ONE-OFF:R-3,
2020-05-01,-50001.00,sent:L2,Kazpost
2020-05-02,777.00,X-1,unknown
"""


class TestBankStatement:
    def test_matched_missing_and_different(self, books: Aid) -> None:
        """References match first, then amount and date; the rest is reported on either side."""
        lines = read_statement(io.StringIO(STATEMENT))
        before = snapshot(books.ledger)
        result = match_statement(books.ledger, lines, account="Assets:Bank:KZT", tz="Asia/Almaty")
        assert snapshot(books.ledger) == before  # matching writes nothing
        assert (result.start, result.end) == (dt.date(2020, 4, 1), dt.date(2020, 5, 2))
        assert len(result.matched) == 6
        ((pair,),) = (result.differences,)
        assert (pair.line.line, pair.item.kind, str(pair.difference)) == (8, "payment-transfer", "-1.00 KZT")
        assert [(x.line, str(x.amount)) for x in result.missing_in_ledger] == [(9, "777.00 KZT")]
        assert [(x.kind, str(x.amount)) for x in result.missing_in_statement] == [("grant-tranche", "-6000000.00 KZT")]
        assert not result.ok
        data = result.as_dict()
        assert (data["matched"], data["missing_in_ledger"][0]["line"]) == (6, 9)

    def test_a_clean_statement_is_ok(self, books: Aid) -> None:
        good = STATEMENT.replace("-50001.00", "-50000.00").replace("2020-05-02,777.00,X-1,unknown\n", "")
        good += "2020-05-01,-6000000.00,,tranche\n"
        result = match_statement(books.ledger, read_statement(io.StringIO(good)), account="Assets:Bank:KZT",
                                 tz="Asia/Almaty")  # fmt: skip
        assert result.ok and len(result.matched) == 8

    def test_dates_in_the_wrong_zone_need_tolerance(self, books: Aid) -> None:
        """Amount-only matches need the same date unless days= allows a gap."""
        lines = [BankLine(dt.date(2020, 4, 5), kzt("50000"))]
        strict = match_statement(books.ledger, lines, account="Assets:Bank:KZT", start=dt.date(2020, 4, 4),
                                 end=dt.date(2020, 4, 5))  # fmt: skip
        loose = match_statement(books.ledger, lines, account="Assets:Bank:KZT", start=dt.date(2020, 4, 4),
                                end=dt.date(2020, 4, 5), days=1)  # fmt: skip
        assert (len(strict.matched), len(loose.matched)) == (0, 1)

    def test_bad_arguments(self, books: Aid) -> None:
        with pytest.raises(UnknownAccount):
            match_statement(books.ledger, [], account="Assets:Nope")
        with pytest.raises(InvalidArgument, match="not in KZT"):
            match_statement(books.ledger, [BankLine(dt.date(2020, 4, 1), Money("1", "USD"))], account="Assets:Bank:KZT")
        with pytest.raises(InvalidArgument, match="days must be"):
            match_statement(books.ledger, [], account="Assets:Bank:KZT", days=-1)
        with pytest.raises(InvalidArgument, match="BankLine"):
            match_statement(books.ledger, ["x"], account="Assets:Bank:KZT")  # type: ignore[list-item]


class TestReadStatement:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("amount\n1\n", "line 1: missing column\\(s\\) date"),
            ("date,amount\n2020-13-01,1\n", "line 2: date '2020-13-01' is not an ISO date"),
            ("date,amount\n2020-04-01,1.001\n", "line 2: .*1.001"),
            ("date,amount\n2020-04-01,NaN\n", "line 2: .*NaN"),
            ("date,amount\n2020-04-01,1e3x\n", "line 2: amount '1e3x' is not a number"),
            ("date,amount\n2020-04-01,0\n", "line 2: the amount is zero"),
            ("date,amount\n\n2020-04-01,1,2\n", "line 3: expected 2 fields, found 3"),
        ],
    )
    def test_malformed(self, text: str, message: str) -> None:
        with pytest.raises(MalformedFile, match=message):
            read_statement(io.StringIO(text))

    def test_bytes_with_bom_and_currency(self) -> None:
        (line,) = read_statement(io.BytesIO("\ufeffDate,Amount,Currency\n2020-04-01T10:00,-2.50,usd\n".encode()))
        assert (line.date, line.amount, line.reference, line.line) == (dt.date(2020, 4, 1), Money("-2.5", "USD"), "", 2)

    def test_missing_file(self, tmp_path: object) -> None:
        with pytest.raises(MalformedFile, match="cannot read the statement"):
            read_statement("/nonexistent/statement.csv")


class TestProviderReport:
    def test_match_without_settling(self, books: Aid) -> None:
        """A report is compared with a list: agreeing lines, contradictions, unknown and unreported payments."""
        books.pay("ONE-OFF", [household(7, "Abai"), household(8, "Abai")], actor="maker", on=MAY, list_code="L3")
        report = [
            ProviderLine("R-7", PaymentStatus.PAID, kzt("50000"), line=2),
            ProviderLine("R-8", PaymentStatus.PAID, kzt("5000"), line=3),
            ProviderLine("R-1", PaymentStatus.PAID, kzt("50000"), line=4),
        ]
        before = snapshot(books.ledger)
        result = match_provider_report(books.ledger, "L3", report)
        assert snapshot(books.ledger) == before
        assert [p.line.reference for p in result.matched] == ["R-7"]
        assert [(p.line.reference, str(p.expected)) for p in result.amount_differences] == [("R-8", "50000.00 KZT")]
        assert [x.reference for x in result.missing_in_ledger] == ["R-1"]
        assert (result.missing_in_report, result.ok) == ((), False)

    def test_status_contradicting_the_ledger(self, books: Aid) -> None:
        """L1's R-2 failed in the ledger; a report now saying paid is a status difference; R-3 unreported."""
        report = [
            ProviderLine("R-1", PaymentStatus.PAID, kzt("50000")),
            ProviderLine("R-2", PaymentStatus.PAID, kzt("50000")),
        ]
        result = match_provider_report(books.ledger, "L1", report)
        assert [(p.line.reference, p.ledger_status) for p in result.status_differences] == [("R-2", "failed")]
        assert result.missing_in_report == ("R-3",)
        assert result.as_dict()["status_differences"][0]["ledger_status"] == "failed"

    def test_a_report_that_contradicts_itself_is_not_ok(self, books: Aid) -> None:
        """One reference both paid and failed, or paid twice, is a contradiction even where each line agrees."""
        books.pay("ONE-OFF", [household(7, "Abai"), household(8, "Abai")], actor="maker", on=MAY, list_code="L3")
        both = [
            ProviderLine("R-7", PaymentStatus.PAID, kzt("50000"), line=2),
            ProviderLine("R-7", PaymentStatus.FAILED, kzt("50000"), line=3),
            ProviderLine("R-8", PaymentStatus.PAID, kzt("50000"), line=4),
            ProviderLine("R-8", PaymentStatus.PAID, kzt("50000"), line=5),
        ]
        result = match_provider_report(books.ledger, "L3", both)
        assert [x.line for x in result.contradictions] == [2, 3, 4, 5]
        assert not result.ok
        assert [x["line"] for x in result.as_dict()["contradictions"]] == [2, 3, 4, 5]
        returned = [
            ProviderLine("R-7", PaymentStatus.PAID, kzt("50000"), line=2),
            ProviderLine("R-7", PaymentStatus.RETURNED, kzt("50000"), line=3),
            ProviderLine("R-8", PaymentStatus.PAID, kzt("50000"), line=4),
        ]
        assert match_provider_report(books.ledger, "L3", returned).contradictions == ()  # paid, then returned

    def test_a_reversed_payment_is_counted_once(self, books: Aid) -> None:
        """Issue 16: a reversed payment (and its reversal) is no longer in the list, not a payment of twice its amount;
        a reversed settlement no longer stands, so the payment is approved again in the ledger's eyes."""
        result = books.pay("ONE-OFF", [household(7, "Abai"), household(8, "Abai")], actor="maker", on=MAY,
                           list_code="L3")  # fmt: skip
        books.ledger.reverse(result.posted[0].id, actor="accountant", idempotency_key="fix-7")
        books.send("L3", provider="Kazpost", actor="treasurer", on=MAY)
        settled = books.settle("L3", [ProviderLine("R-8", PaymentStatus.PAID, kzt("50000"))], actor="t", on=MAY)
        books.ledger.reverse(settled.entries[0].id, actor="accountant", idempotency_key="fix-8")
        report = [
            ProviderLine("R-7", PaymentStatus.PAID, kzt("50000"), line=2),
            ProviderLine("R-8", PaymentStatus.FAILED, kzt("50000"), line=3),
        ]
        match = match_provider_report(books.ledger, "L3", report)
        assert match.amount_differences == ()
        assert [x.reference for x in match.missing_in_ledger] == ["R-7"]
        assert [(p.line.reference, p.ledger_status) for p in match.matched] == [("R-8", "approved")]
        assert match.status_differences == () and match.missing_in_report == ()

    def test_unknown_list(self, books: Aid) -> None:
        with pytest.raises(UnknownRecord, match="no payment-list 'NOPE'"):
            match_provider_report(books.ledger, "NOPE", [])


def day(n: int) -> pendulum.DateTime:
    return pendulum.datetime(2020, 6, n, 12, tz="Asia/Almaty")


def bank(n: int, amount: str, reference: str = "", line: int = 0) -> BankLine:
    return BankLine(dt.date(2020, 6, n), kzt(amount), reference, line=line or None)


class TestOneToMany:
    @pytest.fixture
    def gifts(self, aid: Aid) -> Aid:
        """Donations of 100 and 200 on June 1, 1000 on June 2, 10, 20, 30 and 40 on June 3; a list of three
        50,000 payments sent as one transfer on June 4."""
        for n, amount in ((1, "100"), (1, "200"), (2, "1000"), (3, "10"), (3, "20"), (3, "30"), (3, "40")):
            aid.donate("CASH-AID", kzt(amount), donor="D-1", on=day(n), actor="cashier")
        aid.donate("CASH-AID", kzt("9000000"), donor="D-2", on=day(1).subtract(months=1), actor="cashier")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
        aid.pay("ONE-OFF", [household(n, "Abai") for n in (1, 2, 3)], actor="maker", on=day(4), list_code="L1")
        aid.send("L1", provider="Halyk Bank", actor="treasurer", on=day(4))
        return aid

    def match(self, aid: Aid, lines: list[BankLine], **options: Any) -> StatementMatch:
        return match_statement(aid.ledger, lines, account="Assets:Bank:KZT", tz="Asia/Almaty", **options)

    def test_one_line_for_several_gifts_and_one_gift_over_several_lines(self, gifts: Aid) -> None:
        """300 pays the gifts of 100 + 200; 400 + 600 make up the gift of 1000; three debits make up one transfer."""
        lines = [bank(1, "300", line=2), bank(2, "400", line=3), bank(2, "600", line=4)]
        lines += [bank(4, "-50000", line=n) for n in (5, 6, 7)]
        result = self.match(gifts, lines, start=dt.date(2020, 6, 1), end=dt.date(2020, 6, 2))
        found = {tuple(x.line for x in g.lines): sorted(str(i.amount) for i in g.items) for g in result.groups}
        assert found == {(2,): ["100.00 KZT", "200.00 KZT"], (3, 4): ["1000.00 KZT"]}
        assert all(g.difference.is_zero() for g in result.groups)
        whole = self.match(gifts, lines[3:], start=dt.date(2020, 6, 4), end=dt.date(2020, 6, 4))
        ((group,),) = (whole.groups,)
        assert ([x.line for x in group.lines], [i.kind for i in group.items]) == ([5, 6, 7], ["payment-transfer"])
        assert whole.ok and whole.as_dict()["groups"][0]["lines"] == [5, 6, 7]

    def test_several_ways_to_add_up_are_listed_never_guessed(self, gifts: Aid) -> None:
        """50 is 10 + 40 and 20 + 30: nothing is matched; each line is listed with its candidates."""
        lines = [bank(3, "50", line=2), bank(3, "50", line=3)]
        result = self.match(gifts, lines)
        assert result.groups == () and not result.ok
        assert [x.line for x in result.missing_in_ledger] == [2, 3]
        line_views = [u for u in result.unresolved if u.line is not None]
        assert [(u.line.line, u.ambiguous) for u in line_views if u.line is not None] == [(2, True), (3, True)]
        assert sorted(str(c.amount) for c in line_views[0].candidates) == [
            "10.00 KZT", "20.00 KZT", "30.00 KZT", "40.00 KZT"
        ]  # fmt: skip

    def test_tolerance_is_explicit_and_zero_by_default(self, gifts: Aid) -> None:
        lines = [bank(1, "299.99", line=2)]
        strict = self.match(gifts, lines)
        assert strict.groups == () and [x.line for x in strict.missing_in_ledger] == [2]
        assert [str(c.amount) for c in strict.unresolved[0].candidates] == ["100.00 KZT", "200.00 KZT"]
        loose = self.match(gifts, lines, tolerance=kzt("0.01"))
        assert [str(g.difference) for g in loose.groups] == ["-0.01 KZT"] and loose.ok
        assert loose.as_dict()["tolerance"] == "0.01"
        with pytest.raises(InvalidArgument, match="tolerance must be Money"):
            self.match(gifts, lines, tolerance=Money("0.01", "USD"))

    def test_a_partial_settlement_stays_missing_with_its_candidates(self, gifts: Aid) -> None:
        """Two of three debits for a transfer: nothing adds up, so the transfer is listed with both lines."""
        result = self.match(gifts, [bank(4, "-50000", line=2), bank(4, "-50000", line=3)])
        assert result.groups == () and not result.ok
        (transfer,) = [u for u in result.unresolved if u.item is not None]
        assert [c.line for c in transfer.candidates if isinstance(c, BankLine)] == [2, 3]


class TestNetting:
    """A bank that nets money out against money in: one debit for a list net of its rejected payments."""

    @pytest.fixture
    def netted(self, aid: Aid) -> Aid:
        """List L1 of three 50,000 payments sent on June 4 as one transfer; R-1 rejected the same day."""
        aid.donate("CASH-AID", kzt("9000000"), donor="D-2", on=day(1), actor="cashier")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
        aid.pay("ONE-OFF", [household(n, "Abai") for n in (1, 2, 3)], actor="maker", on=day(4), list_code="L1")
        aid.send("L1", provider="Halyk Bank", actor="treasurer", on=day(4))
        aid.settle("L1", [ProviderLine("R-1", PaymentStatus.FAILED, kzt("50000"))], actor="t", on=day(4))
        return aid

    def match(self, aid: Aid, lines: list[BankLine], **options: Any) -> StatementMatch:
        return match_statement(aid.ledger, lines, account="Assets:Bank:KZT", tz="Asia/Almaty", **options)

    def test_one_debit_net_of_a_rejection(self, netted: Aid) -> None:
        """-100,000 on the statement is the transfer of -150,000 and the rejection of +50,000: one netted group."""
        result = self.match(netted, [bank(4, "-100000", line=2)])
        ((group,),) = (result.groups,)
        assert [i.kind for i in group.items] == ["payment-transfer", "payment-failed"]
        assert group.netted and group.difference.is_zero() and result.ok
        assert result.as_dict()["groups"] == [
            {"lines": [2], "entries": [i.seq for i in group.items], "netted": True, "difference": "0.00 KZT"}
        ]

    def test_an_unrelated_gift_is_not_netted_in(self, netted: Aid) -> None:
        """With a gift of 10 the same day and no line for it, the unique pair is netted and the gift stays missing."""
        netted.donate("CASH-AID", kzt("10"), donor="D-3", on=day(4), actor="cashier")
        result = self.match(netted, [bank(4, "-100000", line=2)])
        ((group,),) = (result.groups,)
        assert group.netted and sorted(str(i.amount) for i in group.items) == ["-150000.00 KZT", "50000.00 KZT"]
        assert [str(i.amount) for i in result.missing_in_statement] == ["10.00 KZT"] and not result.ok

    def test_several_ways_to_net_are_listed_never_guessed(self, netted: Aid) -> None:
        """R-2 rejected too, and a statement that nets only one rejection: which one is not for the matcher to say."""
        netted.settle("L1", [ProviderLine("R-2", PaymentStatus.FAILED, kzt("50000"))], actor="t", on=day(4))
        lines = [bank(4, "-100000", line=2), bank(4, "50001", line=3)]
        result = self.match(netted, lines)
        assert result.groups == () and not result.ok
        (unresolved,) = [u for u in result.unresolved if u.line is not None and u.line.line == 2]
        assert unresolved.ambiguous
        assert sorted(str(c.amount) for c in unresolved.candidates) == [
            "-150000.00 KZT", "50000.00 KZT", "50000.00 KZT"
        ]  # fmt: skip

    def test_tolerance_applies_to_the_net_and_is_zero_by_default(self, netted: Aid) -> None:
        lines = [bank(4, "-100000.01", line=2)]
        strict = self.match(netted, lines)
        assert strict.groups == () and [x.line for x in strict.missing_in_ledger] == [2]
        loose = self.match(netted, lines, tolerance=kzt("0.01"))
        assert [(g.netted, str(g.difference)) for g in loose.groups] == [(True, "-0.01 KZT")] and loose.ok

    def test_a_debit_and_a_credit_on_the_statement_against_one_entry(self, aid: Aid) -> None:
        """The bank shows -200,000 and +50,000 back; the ledger sent the list as one entry of -150,000."""
        aid.donate("CASH-AID", kzt("9000000"), donor="D-2", on=day(1), actor="cashier")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
        aid.pay("ONE-OFF", [household(n, "Abai") for n in (1, 2, 3)], actor="maker", on=day(4), list_code="L1")
        aid.send("L1", provider="Halyk Bank", actor="treasurer", on=day(4))
        result = self.match(aid, [bank(4, "-200000", line=2), bank(4, "50000", line=3)])
        ((group,),) = (result.groups,)
        assert [x.line for x in group.lines] == [2, 3] and group.netted and result.ok
