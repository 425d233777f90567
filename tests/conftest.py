"""Fixtures: a ledger on every backend, and the PostgreSQL server the test command starts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
from hypothesis import HealthCheck, settings

from aidledger import Account, AccountType, Aid, Fund, Ledger, Restriction, currency
from aidledger.testing import PostgresServer, PostgresUnavailable, find_bindir
from tests.books import build_books
from tests.operations.conftest import kzt

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "long", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("AIDLEDGER_HYPOTHESIS", "ci"))

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL server; a missing server fails under CI=true, else skips."""
    if find_bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is missing: the test command should have installed it")
        yield None
        return
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(str(error))
        yield None
        return
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_database(postgres: PostgresServer | None) -> str | None:
    """One database for the session; each test gets its own schema in it."""
    if postgres is None:
        return None
    return postgres.create_database("aidledger_tests")


def new_url(backend: str, tmp_path: Path, pg_database: str | None) -> str:
    """A URL of an empty ledger database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'ledger-{uuid.uuid4().hex[:8]}.db'}"
    if pg_database is None:
        pytest.skip("PostgreSQL is not available on this machine")
    import psycopg

    schema = f"s_{uuid.uuid4().hex[:12]}"
    plain = pg_database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return f"{pg_database}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, tmp_path: Path, pg_database: str | None) -> str:
    return new_url(backend, tmp_path, pg_database)


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    with Ledger.open(url) as opened:
        yield opened


KZT = currency("KZT")
USD = currency("USD")
T0 = pendulum.datetime(2020, 4, 1, 9, tz="Asia/Almaty")


class Chart:
    """A small chart of accounts used across the tests."""

    bank = Account("Assets:Bank:KZT", AccountType.ASSET, KZT, name="Bank account")
    bank_usd = Account("Assets:Bank:USD", AccountType.ASSET, USD)
    payable = Account("Liabilities:Payable", AccountType.LIABILITY, KZT)
    donations = Account("Revenue:Donations", AccountType.REVENUE, KZT)
    donations_usd = Account("Revenue:Donations:USD", AccountType.REVENUE, USD)
    cash_aid = Account("Expenses:CashAid", AccountType.EXPENSE, KZT)
    equity = Account("NetAssets:Opening", AccountType.NET_ASSETS, KZT)
    general = Fund("GENERAL", name="Unrestricted")
    housing = Fund("HOUSING", name="Housing", purpose="housing")


@pytest.fixture
def chart(ledger: Ledger) -> type[Chart]:
    for name, value in vars(Chart).items():
        if isinstance(value, Account):
            ledger.add_account(value)
        elif isinstance(value, Fund) and not name.startswith("_"):
            ledger.add_fund(value)
    return Chart


@pytest.fixture
def aid(url: str) -> Iterator[Aid]:
    with Ledger.open(url) as ledger:
        operations = Aid(ledger, approval_threshold=kzt("10000000"))
        operations.create_fund("GENERAL", name="Unrestricted")
        operations.create_fund("CASH-AID", name="One-off cash aid", purpose="cash-aid")
        operations.create_fund("FOOD", name="Food packages", purpose="food")
        operations.create_fund("HOUSING", name="Housing for flooded villages", purpose="housing")
        operations.create_fund("RESERVE", name="Board reserve", purpose="cash-aid", restriction=Restriction.BOARD)
        yield operations


@pytest.fixture
def books(aid: Aid) -> Aid:
    """A small ledger with every kind of aid operation (see tests/books.py)."""
    return build_books(aid)
