"""Donations, foreign currencies, pledges, refunds, restrictions and designations."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from aidledger import (
    Aid,
    ExceedsPledge,
    ExceedsReceived,
    InvalidAmount,
    InvalidArgument,
    Money,
    PurposeMismatch,
    Restriction,
    Rounding,
    UnknownFund,
    UnknownRecord,
    Window,
    pledge_status,
)
from tests.helpers import snapshot
from tests.operations.conftest import APRIL, kzt


class TestDonations:
    def test_cash_donation_lands_in_the_fund(self, aid: Aid) -> None:
        """A donation debits the bank and credits donations in its fund, tagged with the donor."""
        posted = aid.donate("CASH-AID", kzt("1000000"), donor="D-17", on=APRIL, actor="cashier", source="stmt 3")
        assert posted.entry.tags["donor"] == "D-17"
        assert aid.ledger.fund_balance("CASH-AID", "KZT") == kzt("1000000")
        assert aid.ledger.balance("Revenue:Donations:KZT", tags={"donor": "D-17"}) == kzt("-1000000")

    @pytest.mark.parametrize(
        ("amount", "error", "message"),
        [
            (Money("0", "KZT"), InvalidAmount, "must be positive"),
            (Money("-5", "KZT"), InvalidAmount, "must be positive"),
            ("100", InvalidAmount, "must be Money"),
        ],
    )
    def test_bad_donations_are_refused(self, aid: Aid, amount: object, error: type[Exception], message: str) -> None:
        """Zero, negative and non-Money amounts raise InvalidAmount and write nothing."""
        before = snapshot(aid.ledger)
        with pytest.raises(error, match=message):
            aid.donate("CASH-AID", amount, donor="D", on=APRIL, actor="x")  # type: ignore[arg-type]
        assert snapshot(aid.ledger) == before

    def test_unknown_fund_is_refused(self, aid: Aid) -> None:
        """A donation into a fund that does not exist raises UnknownFund."""
        with pytest.raises(UnknownFund, match="'NOPE'"):
            aid.donate("NOPE", kzt("1"), donor="D", on=APRIL, actor="x")

    def test_foreign_donation_converted_on_arrival(self, aid: Aid) -> None:
        """1,000.01 USD at 420.555 is 420,559.20555, so 420,559.21 KZT half up; rate and original stay on the entry."""
        posted = aid.donate_foreign(
            "GENERAL",
            Money("1000.01", "USD"),
            rate="420.555",
            rate_date=dt.date(2020, 3, 31),
            donor="D-US",
            on=APRIL,
            actor="cashier",
        )
        assert aid.ledger.balance("Assets:Bank:KZT") == kzt("420559.21")
        assert posted.entry.tags["original_amount"] == "1000.01"
        assert posted.entry.tags["rate"] == "420.555"
        assert posted.entry.tags["rate_date"] == "2020-03-31"

    def test_rounding_rule_is_named(self, aid: Aid) -> None:
        """The same conversion rounded down gives one tiyn less."""
        aid.donate_foreign(
            "GENERAL",
            Money("1000.01", "USD"),
            rate="420.555",
            rate_date=dt.date(2020, 3, 31),
            donor="D",
            on=APRIL,
            actor="c",
            rounding=Rounding.DOWN,
        )
        assert aid.ledger.balance("Assets:Bank:KZT") == kzt("420559.20")

    def test_foreign_donation_held_balances_in_each_currency(self, aid: Aid) -> None:
        """Held foreign money stays in USD; each currency balances on its own; a later conversion sells it."""
        aid.donate_foreign(
            "GENERAL",
            Money("500", "USD"),
            rate="420",
            rate_date=dt.date(2020, 3, 31),
            donor="D",
            on=APRIL,
            actor="c",
            converted=False,
        )
        assert aid.ledger.balance("Assets:Bank:USD") == Money("500", "USD")
        assert aid.ledger.balance("Revenue:Donations:KZT") == kzt("-210000")
        assert aid.ledger.trial_balance().balanced
        aid.convert(
            "GENERAL", Money("500", "USD"), rate="425", rate_date=dt.date(2020, 4, 2), on=APRIL.add(days=1), actor="c"
        )
        assert aid.ledger.balance("Assets:Bank:KZT") == kzt("212500")
        assert aid.ledger.balance("Assets:Bank:USD").is_zero()
        assert aid.ledger.balance("NetAssets:Conversion:KZT") == kzt("-2500")  # the gain on conversion

    @pytest.mark.parametrize(
        ("original", "rate"),
        [(Money("10", "KZT"), "1"), (Money("10", "USD"), "0"), (Money("10", "USD"), "-1"), (Money("10", "USD"), "abc")],
    )
    def test_bad_foreign_donations_are_refused(self, aid: Aid, original: Money, rate: str) -> None:
        """Same-currency, zero, negative and non-numeric rates are refused."""
        before = snapshot(aid.ledger)
        with pytest.raises(InvalidArgument):
            aid.donate_foreign(
                "GENERAL", original, rate=rate, rate_date=dt.date(2020, 1, 1), donor="D", on=APRIL, actor="c"
            )
        assert snapshot(aid.ledger) == before

    def test_refund_never_exceeds_what_the_donor_gave(self, aid: Aid) -> None:
        """A donor can be refunded up to their net donations to the fund, no more."""
        aid.donate("GENERAL", kzt("100"), donor="D-1", on=APRIL, actor="c")
        aid.donate("GENERAL", kzt("900"), donor="D-2", on=APRIL, actor="c")
        aid.refund("GENERAL", kzt("60"), donor="D-1", on=APRIL.add(days=1), actor="c", reason="double transfer")
        before = snapshot(aid.ledger)
        with pytest.raises(
            ExceedsReceived,
            match=re.escape("cannot refund 40.01 KZT to D-1: the donor's net donations to GENERAL are 40.00 KZT"),
        ):
            aid.refund("GENERAL", kzt("40.01"), donor="D-1", on=APRIL.add(days=2), actor="c", reason="x")
        assert snapshot(aid.ledger) == before


class TestPledges:
    def test_pledge_lifecycle(self, aid: Aid) -> None:
        """A pledge stays out of received totals until paid; part-paid, then the rest written off."""
        aid.pledge("HOUSING", kzt("5000000"), code="P-1", donor="Corp", on=APRIL, actor="c", due=dt.date(2020, 6, 1))
        assert all(line.account.type.value != "revenue" for line in aid.ledger.trial_balance().lines)
        assert aid.ledger.fund_balance("HOUSING", "KZT").is_zero()
        aid.fulfil_pledge("P-1", kzt("3000000"), on=APRIL.add(days=10), actor="c")
        assert aid.ledger.balance("Revenue:Donations:KZT") == kzt("-3000000")
        status = pledge_status(aid.ledger, "P-1")
        assert (status.fulfilled, status.outstanding, status.written_off) == (kzt("3000000"), kzt("2000000"), kzt("0"))
        aid.write_off_pledge("P-1", on=APRIL.add(days=90), actor="c", reason="company closed")
        status = pledge_status(aid.ledger, "P-1")
        assert (status.outstanding, status.written_off) == (kzt("0"), kzt("2000000"))
        assert pledge_status(aid.ledger, "P-1", window=Window(as_of=APRIL.add(days=20))).outstanding == kzt("2000000")

    def test_a_reversed_pledge_is_pledged_zero(self, aid: Aid) -> None:
        """Once its entry is reversed, a pledge holds nothing pledged or outstanding, and before it, its amount."""
        aid.pledge("HOUSING", kzt("5000000"), code="P-1", donor="Corp", on=APRIL, actor="c")
        entry = aid.ledger.entry_by_key("pledge:P-1")
        assert entry is not None
        aid.ledger.reverse(entry.id, actor="accountant", effective_at=APRIL.add(days=5))
        status = pledge_status(aid.ledger, "P-1")
        assert (status.pledge.amount, status.pledged, status.outstanding) == (kzt("5000000"), kzt("0"), kzt("0"))
        before = pledge_status(aid.ledger, "P-1", window=Window(as_of=APRIL.add(days=1)))
        assert (before.pledged, before.outstanding) == (kzt("5000000"), kzt("5000000"))

    def test_over_fulfilment_is_refused(self, aid: Aid) -> None:
        """Paying more than is outstanding raises ExceedsPledge and writes nothing."""
        aid.pledge("HOUSING", kzt("100"), code="P-2", donor="D", on=APRIL, actor="c")
        before = snapshot(aid.ledger)
        with pytest.raises(ExceedsPledge, match=re.escape("pledge P-2 has less than 100.01 KZT outstanding")):
            aid.fulfil_pledge("P-2", kzt("100.01"), on=APRIL, actor="c")
        assert snapshot(aid.ledger) == before
        aid.write_off_pledge("P-2", on=APRIL, actor="c", reason="gone")
        with pytest.raises(ExceedsPledge, match="nothing outstanding"):
            aid.write_off_pledge("P-2", on=APRIL, actor="c", reason="again")

    def test_unknown_pledge(self, aid: Aid) -> None:
        """A pledge code that was never recorded raises UnknownRecord."""
        with pytest.raises(UnknownRecord, match="no pledge 'P-9'"):
            aid.fulfil_pledge("P-9", kzt("1"), on=APRIL, actor="c")


class TestRestrictions:
    def test_release_moves_money_out_of_restriction(self, aid: Aid) -> None:
        """Releasing restricted money is its own entry; both funds stay balanced."""
        aid.donate("HOUSING", kzt("1000"), donor="D", on=APRIL, actor="c")
        posted = aid.release(
            "HOUSING",
            kzt("400"),
            to="GENERAL",
            on=APRIL.add(days=1),
            actor="board",
            reason="project finished under budget",
        )
        assert posted.entry.kind == "release"
        assert aid.ledger.fund_balance("HOUSING", "KZT") == kzt("600")
        assert aid.ledger.fund_balance("GENERAL", "KZT") == kzt("400")
        assert aid.ledger.trial_balance().balanced

    def test_release_rules(self, aid: Aid) -> None:
        """Only donor-restricted money is released, only into an unrestricted fund, never more than held."""
        from aidledger import InsufficientBalance

        aid.donate("HOUSING", kzt("100"), donor="D", on=APRIL, actor="c")
        with pytest.raises(InvalidArgument, match="GENERAL is unrestricted; this needs a donor-restricted fund"):
            aid.release("GENERAL", kzt("1"), to="HOUSING", on=APRIL, actor="b", reason="x")
        with pytest.raises(InvalidArgument, match="FOOD is donor"):
            aid.release("HOUSING", kzt("1"), to="FOOD", on=APRIL, actor="b", reason="x")
        with pytest.raises(InsufficientBalance, match="HOUSING"):
            aid.release("HOUSING", kzt("100.01"), to="GENERAL", on=APRIL, actor="b", reason="x")

    def test_board_designation_and_undoing_it(self, aid: Aid) -> None:
        """The board designates unrestricted money for a purpose and may undo it."""
        aid.donate("GENERAL", kzt("1000"), donor="D", on=APRIL, actor="c")
        aid.designate("GENERAL", kzt("700"), to="RESERVE", on=APRIL, actor="board", reason="winter reserve")
        assert aid.ledger.fund("RESERVE").restriction is Restriction.BOARD
        undone = aid.undesignate(
            "RESERVE", kzt("200"), to="GENERAL", on=APRIL.add(days=1), actor="board", reason="released"
        )
        assert undone.entry.kind == "undesignation"
        assert aid.ledger.fund_balance("RESERVE", "KZT") == kzt("500")
        with pytest.raises(InvalidArgument):
            aid.designate("HOUSING", kzt("1"), to="RESERVE", on=APRIL, actor="b", reason="x")

    def test_spending_must_match_the_purpose(self, aid: Aid) -> None:
        """A programme for food cannot pay from the housing fund; an unrestricted fund pays any purpose."""
        with pytest.raises(PurposeMismatch, match="is for 'food', but fund HOUSING is donor-restricted to 'housing'"):
            aid.create_programme("FOOD-CASH", fund="HOUSING", purpose="food", amount=kzt("1"), actor="a")
        aid.create_programme("ANY", fund="GENERAL", purpose="food", amount=kzt("1"), actor="a")
