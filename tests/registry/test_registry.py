"""The registry: personal data sealed per person, found by registry id or pseudonym, erasable, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from aidledger import (
    DuplicateDefinition,
    InvalidArgument,
    Person,
    PersonStatus,
    Pseudonymizer,
    Registry,
    StorageError,
    UnknownRecord,
    verify,
)
from aidledger.registry import schema
from aidledger.store import engine as store_engine
from tests.registry import KEYS, NEW_KEY, PEOPLE

FIRST, SECOND, THIRD = PEOPLE


@pytest.fixture
def registry(url: str) -> Iterator[Registry]:
    with Registry.open(url, keys=KEYS) as opened:
        for registry_id, data in PEOPLE.items():
            opened.register(registry_id, **data)
        yield opened


def stored(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every registry table, read behind the registry's back."""
    engine = store_engine.create(store_engine.parse_url(url))
    try:
        with engine.connect() as connection:
            return {
                table.name: [tuple(row) for row in connection.execute(select(table))]
                for table in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def as_bytes(rows: dict[str, list[tuple[object, ...]]]) -> bytes:
    return b"\n".join(
        value if isinstance(value, bytes) else str(value).encode() for table in rows.values() for row in table
        for value in row
    )  # fmt: skip


class TestRegister:
    def test_register_returns_the_pseudonym_and_keeps_the_data(self, registry: Registry) -> None:
        """register gives the person's pseudonym under the current key; both lookups return their data."""
        beneficiary = KEYS.pseudonym(FIRST)
        assert registry.register(FIRST, **PEOPLE[FIRST]) == beneficiary
        by_id, by_pseudonym = registry.person(FIRST), registry.by_pseudonym(beneficiary.pseudonym)
        assert by_id == by_pseudonym
        assert (by_id.registry_id, by_id.name, by_id.national_id, by_id.phone, by_id.address) == (
            FIRST,
            *PEOPLE[FIRST].values(),
        )
        assert by_id.status is PersonStatus.REGISTERED and by_id.beneficiary == beneficiary
        assert registry.count() == 3

    def test_the_database_holds_no_personal_value_nor_registry_id_in_clear(self, registry: Registry, url: str) -> None:
        """Names, ids, phones, addresses and registry ids are sealed; only pseudonyms (HMACs) index people."""
        raw = as_bytes(stored(url))
        for registry_id, data in PEOPLE.items():
            for value in (registry_id, *data.values()):
                assert value.encode() not in raw, value
            assert KEYS.pseudonym(registry_id).pseudonym.encode() in raw

    def test_registering_again_is_idempotent_or_refused(self, registry: Registry, url: str) -> None:
        """The same data again changes nothing; other data is refused (without repeating it) and changes nothing."""
        before = stored(url)
        registry.register(FIRST, **PEOPLE[FIRST])
        with pytest.raises(DuplicateDefinition, match="already registered with other personal data") as caught:
            registry.register(FIRST, **{**PEOPLE[FIRST], "phone": "+7 700 999 9999"})
        assert "999" not in str(caught.value) and FIRST not in str(caught.value)
        assert stored(url) == before

    def test_update_changes_only_the_given_fields(self, registry: Registry) -> None:
        """update reseals the person's data with the changed fields; the rest stays."""
        person = registry.update(SECOND, phone="+7 (702) 000-0000", address="")
        assert registry.person(SECOND) == person
        assert (person.name, person.phone, person.address) == (PEOPLE[SECOND]["name"], "+7 (702) 000-0000", "")

    def test_lookup_reports_every_pseudonym_with_its_status(self, registry: Registry) -> None:
        """lookup answers for each pseudonym asked: registered with data, unreadable, or unknown."""
        registry.forget_key(SECOND)
        stranger = KEYS.pseudonym("KZ-HH-9999999")
        found = registry.lookup([KEYS.pseudonym(FIRST), KEYS.pseudonym(SECOND).pseudonym, stranger])
        assert [p.status for p in found.values()] == [
            {
                KEYS.pseudonym(FIRST).pseudonym: PersonStatus.REGISTERED,
                KEYS.pseudonym(SECOND).pseudonym: PersonStatus.UNREADABLE,
                stranger.pseudonym: PersonStatus.UNKNOWN,
            }[name]
            for name in found
        ]
        assert found[KEYS.pseudonym(FIRST).pseudonym].name == PEOPLE[FIRST]["name"]
        assert found[stranger.pseudonym].name == found[KEYS.pseudonym(SECOND).pseudonym].name == ""

    def test_repr_hides_personal_data(self, registry: Registry) -> None:
        """A Person's repr (in logs, tracebacks) shows its pseudonym and status only."""
        shown = repr(registry.person(FIRST))
        assert KEYS.pseudonym(FIRST).pseudonym in shown and "registered" in shown
        assert all(value not in shown for value in (FIRST, *PEOPLE[FIRST].values()))

    def test_concurrent_registrations_of_one_person_keep_one_person(self, url: str) -> None:
        """Several writers registering the same person at once leave one person, with one pseudonym per key."""
        from concurrent.futures import ThreadPoolExecutor

        registry_id = "KZ-HH-0000077"
        with Registry.open(url, keys=KEYS) as registry, ThreadPoolExecutor(4) as pool:
            found = set(pool.map(lambda _: registry.register(registry_id, name="Saule Omarova"), range(8)))
            assert found == {KEYS.pseudonym(registry_id)}
            assert registry.count() == 1

    def test_a_registry_can_share_the_ledgers_database(self, url: str) -> None:
        """Opened on a ledger's database, the registry adds its own registry_ tables beside the journal's."""
        from aidledger import Ledger

        with Ledger.open(url) as ledger, Registry.open(url, keys=KEYS) as registry:
            registry.register(FIRST, **PEOPLE[FIRST])
            assert verify(ledger).ok
            assert registry.person(FIRST).name == PEOPLE[FIRST]["name"]


class TestErase:
    def test_erase_deletes_the_persons_data_key_and_pseudonyms(self, registry: Registry, url: str) -> None:
        """After erase nothing of the person is left in any registry table; the others are untouched."""
        pseudonym = KEYS.pseudonym(FIRST)
        assert registry.erase(FIRST) is True
        rows = stored(url)
        assert [len(rows[name]) for name in ("registry_people", "registry_keys", "registry_pseudonyms")] == [2, 2, 2]
        assert pseudonym.pseudonym.encode() not in as_bytes(rows)
        with pytest.raises(UnknownRecord, match="never registered, or erased") as caught:
            registry.person(FIRST)
        assert caught.value.details["status"] is PersonStatus.UNKNOWN
        with pytest.raises(UnknownRecord):
            registry.by_pseudonym(pseudonym)
        assert registry.erase(FIRST) is False
        assert registry.person(SECOND).name == PEOPLE[SECOND]["name"]

    def test_forget_key_makes_the_data_unreadable_for_good(self, registry: Registry, url: str) -> None:
        """forget_key deletes only the person's key: the sealed row stays, unreadable; re-registering is refused."""
        assert registry.forget_key(FIRST) is True
        rows = stored(url)
        assert [len(rows[name]) for name in ("registry_people", "registry_keys", "registry_pseudonyms")] == [3, 2, 3]
        with pytest.raises(UnknownRecord, match="unreadable") as caught:
            registry.by_pseudonym(KEYS.pseudonym(FIRST))
        assert caught.value.details["status"] is PersonStatus.UNREADABLE
        with pytest.raises(DuplicateDefinition, match="erase it before registering it again"):
            registry.register(FIRST, **PEOPLE[FIRST])
        assert registry.forget_key(FIRST) is False
        assert registry.erase(FIRST) is True
        assert registry.register(FIRST, **PEOPLE[FIRST]) == KEYS.pseudonym(FIRST)

    def test_on_sqlite_erased_bytes_leave_the_files(self, tmp_path: Path) -> None:
        """On a SQLite file, a forgotten key and an erased row are overwritten on disk (secure_delete, WAL emptied)."""
        path = tmp_path / "registry.db"
        with Registry.open(str(path), keys=KEYS) as registry:
            for registry_id, data in PEOPLE.items():
                registry.register(registry_id, **data)
            engine = store_engine.create(store_engine.parse_url(str(path)))
            with engine.connect() as connection:
                key, sealed = connection.execute(
                    text(
                        "SELECT k.secret, p.sealed FROM registry_keys k JOIN registry_people p USING (person_id) "
                        "JOIN registry_pseudonyms s USING (person_id) WHERE s.pseudonym = :p"
                    ),
                    {"p": KEYS.pseudonym(FIRST).pseudonym},
                ).one()
            engine.dispose()

            def on_disk() -> bytes:
                return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("registry.db"))

            assert key in on_disk() and sealed in on_disk()
            registry.forget_key(FIRST)
            assert key not in on_disk() and sealed in on_disk()
            registry.erase(FIRST)
            assert sealed not in on_disk()
            assert KEYS.pseudonym(FIRST).pseudonym.encode() not in on_disk()


class TestKeys:
    def test_another_key_under_a_known_version_is_refused(self, registry: Registry, url: str) -> None:
        """A registry opened with a different key for a version it knows refuses before indexing anyone wrongly."""
        with pytest.raises(InvalidArgument, match="not the key this registry was used with"):
            Registry.open(url, keys=Pseudonymizer({1: bytes(32)}))

    def test_a_new_key_version_is_complete_after_rekey(self, registry: Registry, url: str) -> None:
        """A new version indexes people only after rekey; then either key finds them, and registering needs both."""
        rotated = Pseudonymizer({1: KEYS.keys[1], 2: NEW_KEY})
        only_new = Pseudonymizer({2: NEW_KEY})
        with Registry.open(url, keys=rotated) as both:
            assert both.person(FIRST).beneficiary == rotated.pseudonym(FIRST)
            assert both.lookup([rotated.pseudonym(FIRST)])[rotated.pseudonym(FIRST).pseudonym].status is (
                PersonStatus.UNKNOWN
            )
            with Registry.open(url, keys=only_new) as new, pytest.raises(InvalidArgument, match="run rekey"):
                new.person(FIRST)
            assert both.rekey() == 3
            assert both.rekey() == 0
            assert both.by_pseudonym(rotated.pseudonym(FIRST)).name == PEOPLE[FIRST]["name"]
            assert both.by_pseudonym(KEYS.pseudonym(FIRST)).name == PEOPLE[FIRST]["name"]
        with Registry.open(url, keys=only_new) as new:
            assert new.person(SECOND).name == PEOPLE[SECOND]["name"]
            with pytest.raises(InvalidArgument, match="open it with those keys too"):
                new.register("KZ-HH-0000100", name="Someone")
            assert new.erase(SECOND) is True
        with Registry.open(url, keys=rotated) as both:
            new_person = both.register("KZ-HH-0000100", name="Someone")
            assert new_person.key_version == 2
            assert both.by_pseudonym(KEYS.pseudonym("KZ-HH-0000100")).registry_id == "KZ-HH-0000100"

    def test_a_new_registry_is_complete_under_every_key_it_starts_with(self, url: str) -> None:
        """An empty registry opened with two versions indexes each person under both from the start."""
        rotated = Pseudonymizer({1: KEYS.keys[1], 2: NEW_KEY})
        with Registry.open(url, keys=rotated) as registry:
            registry.register(FIRST, **PEOPLE[FIRST])
            assert {registry.by_pseudonym(b).registry_id for b in rotated.all_pseudonyms(FIRST)} == {FIRST}
        with Registry.open(url, keys=Pseudonymizer({2: NEW_KEY})) as registry:
            assert registry.person(FIRST).name == PEOPLE[FIRST]["name"]


BAD_REGISTRATIONS = [
    ({"registry_id": 17}, "registry id must be text"),
    ({"registry_id": "  "}, "registry id must not be empty"),
    ({"registry_id": "KZ\x00-1"}, "registry id must not contain NUL"),
    ({"name": ""}, "name must not be empty"),
    ({"name": None}, "name must be text"),
    ({"national_id": 850101400000}, "national id must be text"),
    ({"phone": "+7\x00701"}, "phone must not contain NUL"),
    ({"address": "Abai " * 200}, "address is 1000 characters long"),
    ({"name": "Aigerim \ud800"}, "name is not valid Unicode"),
]


class TestValidation:
    @pytest.mark.parametrize(("change", "message"), BAD_REGISTRATIONS)
    def test_bad_registrations_are_refused_without_echoing_values(
        self, registry: Registry, url: str, change: dict[str, object], message: str
    ) -> None:
        """Each bad field raises InvalidArgument naming the field, never its (personal) value, and writes nothing."""
        arguments: dict[str, object] = {"registry_id": "KZ-HH-0000050", **PEOPLE[FIRST], **change}
        before = stored(url)
        with pytest.raises(InvalidArgument, match=message) as caught:
            registry.register(**arguments)  # type: ignore[arg-type]
        assert all(v not in str(caught.value) for v in change.values() if isinstance(v, str) and v.strip())
        assert stored(url) == before

    def test_other_bad_arguments_are_refused(self, registry: Registry, url: str, tmp_path: Path) -> None:
        """Wrong keys, a missing registry, malformed pseudonyms and empty updates are refused with InvalidArgument."""
        before = stored(url)
        with pytest.raises(InvalidArgument, match="keys must be a Pseudonymizer"):
            Registry.open(url, keys=b"secret")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="create must be True or False"):
            Registry.open(url, keys=KEYS, create="no")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="there is no registry"):
            Registry.open(str(tmp_path / "missing.db"), keys=KEYS, create=False)
        assert not (tmp_path / "missing.db").exists()
        with pytest.raises(InvalidArgument, match="not a beneficiary pseudonym"):
            registry.by_pseudonym("KZ-HH-0000000")
        with pytest.raises(InvalidArgument, match="expected a Beneficiary"):
            registry.lookup([17])  # type: ignore[list-item]
        for single in (KEYS.pseudonym(FIRST), KEYS.pseudonym(FIRST).pseudonym, 17):
            with pytest.raises(InvalidArgument, match="lookup takes an iterable of pseudonyms"):
                registry.lookup(single)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="name must not be empty"):
            registry.update(FIRST, name=" ")
        with pytest.raises(UnknownRecord):
            registry.update("KZ-HH-0000050", phone="+7")
        with pytest.raises(InvalidArgument, match="registry id must be text"):
            registry.erase(None)  # type: ignore[arg-type]
        assert stored(url) == before

    def test_an_empty_database_is_not_a_registry_without_create(self, tmp_path: Path) -> None:
        """create=False refuses a database that exists but holds no registry, and creates nothing in it."""
        from aidledger import Ledger

        path = tmp_path / "ledger.db"
        Ledger.open(str(path)).close()
        with pytest.raises(InvalidArgument, match="there is no registry"):
            Registry.open(str(path), keys=KEYS, create=False)
        assert "registry_people" not in stored_tables(path)

    def test_person_values_are_plain_attrs(self) -> None:
        """A Person is a frozen value: equal when its fields are."""
        one = Person(KEYS.pseudonym(FIRST), PersonStatus.UNKNOWN)
        assert one == Person(KEYS.pseudonym(FIRST), PersonStatus.UNKNOWN)


def stored_tables(path: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


class TestIndexIntegrity:
    def test_a_swapped_pseudonym_index_is_refused_not_misattributed(self, registry: Registry, url: str) -> None:
        """Two index rows swapped behind the registry: a look-up raises instead of naming the wrong person."""
        first, second = KEYS.pseudonym(FIRST), KEYS.pseudonym(SECOND)
        assert registry.by_pseudonym(first).registry_id == FIRST
        engine = store_engine.create(store_engine.parse_url(url))
        index = schema.pseudonyms
        with engine.begin() as connection:
            owners = dict(connection.execute(select(index.c.pseudonym, index.c.person_id)).all())
            swap = {first.pseudonym: owners[second.pseudonym], second.pseudonym: owners[first.pseudonym]}
            for pseudonym, person in swap.items():
                connection.execute(index.update().where(index.c.pseudonym == pseudonym).values(person_id=person))
        engine.dispose()
        with pytest.raises(StorageError, match="pseudonym index was changed"):
            registry.by_pseudonym(first)
        with pytest.raises(StorageError, match="pseudonym index was changed"):
            registry.lookup([second])
        with pytest.raises(StorageError, match="pseudonym index was changed"):
            registry.person(FIRST)
        with pytest.raises(StorageError, match="pseudonym index was changed"):
            registry.update(FIRST, phone="+7 700 000 0000")
        assert registry.person(THIRD).registry_id == THIRD  # the untouched people are still found
