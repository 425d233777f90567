"""The registry's tables, apart from the journal's: every name starts with ``registry_``.

They may live in a database of their own or beside the ledger's tables in the
same PostgreSQL database.  Unlike the journal they are not append-only: a
person's rows are deleted when the person is erased.

- ``registry_people``: one row per person, their personal data sealed with
  AES-GCM under the person's own key (nothing in it is readable without that key).
- ``registry_keys``: each person's key; deleting the row makes the person's
  data unreadable for good (crypto-shredding).
- ``registry_pseudonyms``: the pseudonym index, the person's pseudonym under each
  key version (an HMAC of the registry id, never the id itself).
- ``registry_key_versions``: the pseudonym key versions the registry was used
  with, each with a fingerprint (an HMAC of a fixed text, not the key), so a
  registry opened with the wrong key refuses instead of indexing people under
  pseudonyms that the journal never saw.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()

people = Table(
    "registry_people",
    metadata,
    Column("person_id", String(32), primary_key=True),
    Column("format", Integer, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
)

keys = Table(
    "registry_keys",
    metadata,
    Column("person_id", String(32), ForeignKey("registry_people.person_id"), primary_key=True),
    Column("secret", LargeBinary, nullable=False),
)

pseudonyms = Table(
    "registry_pseudonyms",
    metadata,
    Column("pseudonym", String(72), primary_key=True),
    Column("person_id", String(32), ForeignKey("registry_people.person_id"), nullable=False, index=True),
    Column("key_version", Integer, nullable=False),
)

key_versions = Table(
    "registry_key_versions",
    metadata,
    Column("key_version", Integer, primary_key=True, autoincrement=False),
    Column("fingerprint", String(64), nullable=False),
    Column("complete", Boolean, nullable=False),
)
