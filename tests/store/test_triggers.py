"""The append-only triggers: the database itself refuses to change or delete what the journal holds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aidledger import Ledger, verify
from tests.conftest import Chart
from tests.ledger import fill


@pytest.fixture
def filled(ledger: Ledger, chart: type[Chart]) -> Ledger:
    return fill(ledger, chart)


APPEND_ONLY_CHANGES = [
    "UPDATE postings SET amount = amount * 2",
    "UPDATE entries SET memo = 'x'",
    "UPDATE accounts SET allow_negative = NOT allow_negative",
    "UPDATE entry_tags SET value = 'south'",
    "UPDATE claims SET key = 'other'",
    "DELETE FROM postings",
    "DELETE FROM entries WHERE seq = 6",
    "DELETE FROM claims",
    "DELETE FROM funds",
    "DELETE FROM period_closes",
    "UPDATE units SET exponent = 0",
]


@pytest.mark.parametrize("statement", APPEND_ONLY_CHANGES)
def test_triggers_refuse_updates_and_deletes(filled: Ledger, statement: str) -> None:
    """The database itself refuses UPDATE and DELETE on journal tables."""
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), filled.engine.begin() as connection:
        connection.exec_driver_sql(statement)
    assert verify(filled).ok


def test_truncate_is_refused_on_postgresql(filled: Ledger) -> None:
    """Row triggers miss TRUNCATE; a statement trigger refuses it too."""
    if filled.dialect != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    for table in ("postings", "entries", "claims"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), filled.engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {table} CASCADE")
