"""The registry's tables stand apart from the journal's, so both can share one database."""

from __future__ import annotations

from aidledger.registry import schema
from aidledger.store import schema as journal


def test_every_registry_table_is_named_registry_() -> None:
    """Each table name starts with ``registry_``, so grants and scans can tell the two apart."""
    assert schema.metadata.tables
    assert all(name.startswith("registry_") for name in schema.metadata.tables)


def test_no_table_or_index_name_is_the_journals() -> None:
    """No registry table or index shares a name with the journal's, which share a schema on PostgreSQL."""
    journal_indexes = {index.name for table in journal.metadata.tables.values() for index in table.indexes}
    registry_indexes = {index.name for table in schema.metadata.tables.values() for index in table.indexes}
    assert not set(schema.metadata.tables) & set(journal.metadata.tables)
    assert not registry_indexes & journal_indexes


def test_no_column_holds_personal_data_in_clear() -> None:
    """Personal values are stored sealed: the person table has a sealed blob and a nonce, not a column per field."""
    from aidledger.registry.sealing import FIELDS

    columns = {column.name for table in schema.metadata.tables.values() for column in table.columns}
    assert not columns & set(FIELDS)
