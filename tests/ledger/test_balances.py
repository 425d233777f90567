"""The balances room: trial balances, fund balances, balances as of a time, known at a time, by tags."""

from __future__ import annotations

from aidledger import Account, Fund, Ledger, Money, currency
from tests.conftest import KZT, T0, Chart
from tests.helpers import transfer
from tests.ledger import donate, pay, pay_household


class TestReads:
    def test_trial_balance_is_zero_per_unit_and_fund(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Totals per unit and per fund are zero, and lines are listed per account and fund."""
        donate(ledger)
        ledger.post(transfer(chart.bank_usd, chart.donations_usd, chart.housing, "250.75", T0))
        ledger.post(pay("50000"))
        trial = ledger.trial_balance()
        assert trial.balanced
        assert set(trial.totals) == {"KZT", "USD"}
        assert [(line.account.code, str(line.balance)) for line in trial.lines] == [
            ("Assets:Bank:KZT", "950000.00 KZT"),
            ("Assets:Bank:USD", "250.75 USD"),
            ("Expenses:CashAid", "50000.00 KZT"),
            ("Revenue:Donations", "-1000000.00 KZT"),
            ("Revenue:Donations:USD", "-250.75 USD"),
        ]
        assert ledger.trial_balance(as_of=T0).lines[0].balance == Money("1000000", KZT)

    def test_known_at_reproduces_an_earlier_report(self, backend: str, tmp_path, pg_database) -> None:  # type: ignore[no-untyped-def]
        """A balance asked with known_at ignores entries recorded later, back-dated ones included."""
        import pendulum

        from tests.conftest import new_url

        clock = [pendulum.datetime(2020, 5, 1, tz="UTC")]
        with Ledger.open(new_url(backend, tmp_path, pg_database), clock=lambda: clock[0]) as ledger:
            for value in vars(Chart).values():
                if isinstance(value, Account):
                    ledger.add_account(value)
                elif isinstance(value, Fund):
                    ledger.add_fund(value)
            donate(ledger, "100")
            report_time = clock[0]
            clock[0] = clock[0].add(days=30)
            donate(ledger, "7", days=-1)
            assert ledger.balance(Chart.bank, as_of=T0) == Money("107", KZT)
            assert ledger.balance(Chart.bank, as_of=T0, known_at=report_time) == Money("100", KZT)
            assert ledger.trial_balance(known_at=report_time).lines[0].balance == Money("100", KZT)

    def test_fund_balance_is_net_assets(self, ledger: Ledger, chart: type[Chart]) -> None:
        """A fund's balance is its assets minus its liabilities."""
        donate(ledger, "100")
        ledger.post(transfer(chart.cash_aid, chart.payable, chart.general, "30", T0.add(days=1)))
        assert ledger.fund_balance(chart.general, "KZT") == Money("70", KZT)
        assert ledger.fund_balance("GENERAL", currency("KZT"), as_of=T0) == Money("100", KZT)
        assert ledger.fund_balance(chart.housing, "KZT").is_zero()

    def test_balance_as_of_every_day(self, ledger: Ledger, chart: type[Chart]) -> None:
        """Balances as of each day match a running sum, whichever way they are computed."""
        donate(ledger, "1000", days=0)
        for day in range(1, 20):
            ledger.post(pay(str(day), days=day))
        running = 1000
        for day in range(0, 21):
            running -= day if 1 <= day < 20 else 0
            assert ledger.balance(chart.bank, as_of=T0.add(days=day, hours=1)) == Money(running, KZT), day
        # Just before an entry's time, it is not counted; at its time, it is.
        assert ledger.balance(chart.bank, as_of=T0.add(days=5).subtract(microseconds=1)) == Money(1000 - 10, KZT)
        assert ledger.balance(chart.bank, as_of=T0.add(days=5)) == Money(1000 - 15, KZT)


def test_balance_by_tags(funded: Ledger) -> None:
    """A balance can be limited to entries carrying given tag values."""
    funded.post(pay_household("10", tags={"region": "north"}))
    funded.post(pay_household("20", household="hh-2", tags={"region": "south"}))
    assert funded.balance(Chart.cash_aid, tags={"region": "south"}) == Money("20", KZT)
    assert funded.balance(Chart.cash_aid, tags={"region": "east"}).is_zero()
