"""The registry: personal data of beneficiaries, apart from the journal, erasable per person.

The journal knows a beneficiary only by a pseudonym (an HMAC of the registry
id under a secret key, see :class:`~aidledger.Pseudonymizer`).  The registry
keeps what the journal must not: names, national ids, phone numbers and
addresses, each person's sealed with their own key, and a pseudonym index to
find a person from a pseudonym.  The registry id itself is stored only inside
the sealed data, so erasing a person (:meth:`Registry.erase`) or destroying
their key (:meth:`Registry.forget_key`) leaves no readable trace of them here,
and nothing changes in the journal: its hash chain, totals and
once-per-beneficiary claims stay as they were.

Error messages never contain personal data, nor registry ids: they name a
person by pseudonym.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final, TypeVar

import attrs
from sqlalchemy import delete, event, func, insert, inspect, select, update
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from aidledger.core.beneficiaries import Beneficiary, Pseudonymizer
from aidledger.core.errors import DuplicateDefinition, InvalidArgument, StorageError, UnknownRecord
from aidledger.registry import schema as t
from aidledger.registry import sealing
from aidledger.store import engine as store_engine

T = TypeVar("T")

#: Longest registry id, name, national id, phone number or address, in characters.
MAX_FIELD: Final = 500
_PAGE: Final = 500
_RETRIES: Final = 5
_RETRYABLE_SQLSTATES: Final = ("40001", "40P01")
_LOCK: Final = 7341023  # PostgreSQL advisory lock that serialises registry writers
_FINGERPRINT: Final = b"aidledger registry: key fingerprint"


class PersonStatus(enum.Enum):
    """What the registry holds for a pseudonym."""

    REGISTERED = "registered"  # the person's data is readable
    UNREADABLE = "unreadable"  # the person's key was destroyed (forget_key): the data can never be read
    UNKNOWN = "unknown"  # nothing: never registered, or erased


@attrs.frozen(repr=False)
class Person:
    """A person as the registry holds them.  Its ``repr`` hides the personal data.

    Attributes:
        beneficiary: the pseudonym the person was looked up by (or their pseudonym under the current key).
        status: registered, unreadable (key destroyed) or unknown (never registered, or erased);
            the personal fields are empty unless registered.
        registry_id: the id in the registry (the text the pseudonym is made from).
        name: the person's (or the household head's) name.
        national_id: the national id number, if any.
        phone: the phone number, if any.
        address: the address, if any.
    """

    beneficiary: Beneficiary
    status: PersonStatus
    registry_id: str = ""
    name: str = ""
    national_id: str = ""
    phone: str = ""
    address: str = ""

    def __repr__(self) -> str:
        return f"Person(beneficiary={self.beneficiary.pseudonym!r}, status={self.status.value!r}, personal data hidden)"


def _field(what: str, value: object, *, required: bool) -> str:
    """``value`` if it is text the registry stores; the error never repeats the value (it may be personal)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidArgument(f"{what} must not be empty")
    if "\x00" in value:
        raise InvalidArgument(f"{what} must not contain NUL characters")
    if len(value) > MAX_FIELD:
        raise InvalidArgument(f"{what} is {len(value)} characters long; the limit is {MAX_FIELD}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{what} is not valid Unicode text") from None
    return value


def _beneficiary(value: object) -> Beneficiary:
    if isinstance(value, Beneficiary):
        return value
    if isinstance(value, str):
        return Beneficiary(value)
    raise InvalidArgument(f"expected a Beneficiary or a pseudonym, got {type(value).__name__}")


def fingerprint(key: bytes) -> str:
    """A value that tells keys apart without revealing them (an HMAC of a fixed text under the key)."""
    return hmac.new(key, _FINGERPRINT, hashlib.sha256).hexdigest()


class Registry:
    """Personal data of beneficiaries, sealed per person, found by registry id or by pseudonym.

    Open it with :meth:`open`; use it as a context manager or call :meth:`close`.
    """

    def __init__(self, engine: Engine, url: URL, keys: Pseudonymizer) -> None:
        """Use :meth:`open`."""
        self._engine = engine
        self._writer = engine.execution_options(**{store_engine.WRITE: True})
        self._url = url
        self._keys = keys
        self._postgres = engine.dialect.name == "postgresql"

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | URL = "registry.db", *, keys: Pseudonymizer, create: bool = True) -> Registry:
        """Open (or create) the registry at ``url`` with the pseudonym keys the journal's pseudonyms are made with.

        ``url`` is a database URL or a SQLite path, as for :meth:`aidledger.Ledger.open`;
        it may be the ledger's own PostgreSQL database (the registry's tables are
        prefixed ``registry_``).  On SQLite, deleted rows are overwritten
        (``secure_delete``).  A key version the registry has seen before must be
        the same key (else InvalidArgument); a new version is recorded, and on a
        registry that already holds people it is complete only after :meth:`rekey`.
        With ``create=False`` a database without a registry is refused
        (InvalidArgument) instead of getting one.
        """
        if not isinstance(keys, Pseudonymizer):
            raise InvalidArgument(f"keys must be a Pseudonymizer, got {type(keys).__name__}")
        if not isinstance(create, bool):
            raise InvalidArgument(f"create must be True or False, got {create!r}")
        parsed = store_engine.parse_url(url)
        sqlite_file = parsed.get_backend_name() == "sqlite" and not _in_memory(parsed)
        if not create and sqlite_file and not Path(parsed.database or "").is_file():
            raise InvalidArgument(f"there is no registry at {store_engine.shown(parsed)}")
        engine = store_engine.create(parsed)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _secure_delete)
        registry = cls(engine, parsed, keys)
        try:
            if not create and not registry._read(lambda c: inspect(c).has_table(t.people.name)):
                raise InvalidArgument(f"there is no registry at {registry.url}")
            registry._write(registry._setup)
        except BaseException:
            engine.dispose()
            raise
        return registry

    def _setup(self, connection: Connection) -> None:
        t.metadata.create_all(connection)
        recorded = {row.key_version: row for row in connection.execute(select(t.key_versions))}
        empty = connection.execute(select(func.count()).select_from(t.people)).scalar_one() == 0
        for version in sorted(self._keys.keys):
            mark = fingerprint(self._keys.keys[version])
            known = recorded.get(version)
            if known is None:
                connection.execute(insert(t.key_versions).values(key_version=version, fingerprint=mark, complete=empty))
            elif not hmac.compare_digest(known.fingerprint, mark):
                raise InvalidArgument(
                    f"pseudonym key version {version} is not the key this registry was used with "
                    f"(its fingerprint differs); open it with the same keys as the journal's pseudonyms",
                    version=version,
                )

    @property
    def url(self) -> str:
        """The database URL, with its password hidden."""
        return store_engine.shown(self._url)

    @property
    def keys(self) -> Pseudonymizer:
        """The pseudonym keys the registry was opened with."""
        return self._keys

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.url!r}, key versions {sorted(self._keys.keys)})"

    # -- transactions --------------------------------------------------------------------------

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction (registry writers queue), retried on conflicts."""
        for attempt in range(_RETRIES):
            try:
                with self._writer.begin() as connection:
                    if self._postgres:
                        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")
                    return work(connection)
            except DBAPIError as error:
                conflict = isinstance(error, IntegrityError) or _retryable(error)
                if not conflict or attempt == _RETRIES - 1:
                    raise StorageError(
                        f"the registry's database failed: {type(error.orig).__name__}: {_first_line(error.orig)}"
                    ) from None
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, work: Callable[[Connection], T]) -> T:
        try:
            with self._engine.connect() as connection:
                return work(connection)
        except DBAPIError as error:
            raise StorageError(
                f"the registry's database failed: {type(error.orig).__name__}: {_first_line(error.orig)}"
            ) from None

    def _versions(self, connection: Connection) -> dict[int, bool]:
        """The key versions the registry knows, each with whether every person is indexed under it."""
        return {row.key_version: row.complete for row in connection.execute(select(t.key_versions))}

    def _pseudonyms_of(self, registry_id: object, connection: Connection) -> tuple[Beneficiary, ...]:
        """The id's pseudonyms under every key held, the current key's first.

        InvalidArgument if no key held indexes everyone (a new key before :meth:`rekey`).
        """
        rid = _field("registry id", registry_id, required=True)
        versions = self._versions(connection)
        if not any(versions.get(v, False) for v in self._keys.keys):
            pending = sorted(v for v in self._keys.keys if not versions.get(v, False))
            raise InvalidArgument(
                f"this registry's people are not indexed under key version(s) {pending} yet: open it with the "
                f"older keys as well and run rekey()",
                versions=pending,
            )
        current = self._keys.pseudonym(rid)
        return (current, *(b for b in self._keys.all_pseudonyms(rid) if b != current))

    @staticmethod
    def _find(connection: Connection, pseudonyms: Iterable[Beneficiary]) -> str | None:
        """The person indexed under any of ``pseudonyms``, or ``None``."""
        names = [b.pseudonym for b in pseudonyms]
        found = {
            row.person_id
            for row in connection.execute(select(t.pseudonyms.c.person_id).where(t.pseudonyms.c.pseudonym.in_(names)))
        }
        if len(found) > 1:
            raise StorageError(f"pseudonyms of one registry id belong to {len(found)} people", pseudonym=names[0])
        return found.pop() if found else None

    @staticmethod
    def _data(connection: Connection, person_id: str) -> dict[str, str] | None:
        """The person's data, or ``None`` if their key was destroyed."""
        row = connection.execute(
            select(t.people, t.keys.c.secret)
            .select_from(t.people.outerjoin(t.keys, t.keys.c.person_id == t.people.c.person_id))
            .where(t.people.c.person_id == person_id)
        ).one()
        if row.secret is None:
            return None
        return sealing.unseal(bytes(row.secret), person_id, row.nonce, row.sealed, row.format)

    def _index(self, connection: Connection, person_id: str, pseudonyms: Iterable[Beneficiary]) -> int:
        """Add the pseudonyms the index does not hold yet; return how many."""
        wanted = {b.pseudonym: b.key_version for b in pseudonyms}
        held = {
            row.pseudonym
            for row in connection.execute(
                select(t.pseudonyms.c.pseudonym).where(t.pseudonyms.c.pseudonym.in_(list(wanted)))
            )
        }
        rows = [{"pseudonym": p, "person_id": person_id, "key_version": v} for p, v in wanted.items() if p not in held]
        if rows:
            connection.execute(insert(t.pseudonyms), rows)
        return len(rows)

    # -- writing -----------------------------------------------------------------------------------

    def register(
        self, registry_id: str, *, name: str, national_id: str = "", phone: str = "", address: str = ""
    ) -> Beneficiary:
        """Keep a person's personal data and return their beneficiary (pseudonym under the current key).

        The data is sealed with a new key of the person's own.  Registering the
        same person with the same data again returns the same beneficiary;
        with other data it raises DuplicateDefinition (use :meth:`update`).
        """
        data = {
            "registry_id": _field("registry id", registry_id, required=True),
            "name": _field("name", name, required=True),
            "national_id": _field("national id", national_id, required=False),
            "phone": _field("phone", phone, required=False),
            "address": _field("address", address, required=False),
        }

        def work(connection: Connection) -> None:
            pseudonyms = self._pseudonyms_of(registry_id, connection)
            versions = self._versions(connection)
            missing = sorted(v for v, complete in versions.items() if complete and v not in self._keys.keys)
            if missing:
                raise InvalidArgument(
                    f"this registry indexes everyone under key version(s) {missing} as well: open it with "
                    f"those keys too to register people",
                    versions=missing,
                )
            shown = pseudonyms[0].pseudonym
            found = self._find(connection, pseudonyms)
            if found is not None:
                existing = self._data(connection, found)
                if existing is None:
                    raise DuplicateDefinition(
                        f"beneficiary {shown} is in the registry with data made unreadable (its key was destroyed); "
                        f"erase it before registering it again",
                        beneficiary=shown,
                    )
                if existing != data:
                    raise DuplicateDefinition(
                        f"beneficiary {shown} is already registered with other personal data; use update() to "
                        f"change it",
                        beneficiary=shown,
                    )
                self._index(connection, found, pseudonyms)
                return
            person_id = uuid.uuid4().hex
            secret = sealing.new_key()
            nonce, sealed = sealing.seal(secret, person_id, data)
            connection.execute(
                insert(t.people).values(person_id=person_id, format=sealing.FORMAT, nonce=nonce, sealed=sealed)
            )
            connection.execute(insert(t.keys).values(person_id=person_id, secret=secret))
            self._index(connection, person_id, pseudonyms)

        self._write(work)
        return self._keys.pseudonym(data["registry_id"])

    def update(
        self,
        registry_id: str,
        *,
        name: str | None = None,
        national_id: str | None = None,
        phone: str | None = None,
        address: str | None = None,
    ) -> Person:
        """Change some of a registered person's data (the rest stays); return the person as now held.

        Raises UnknownRecord if the person is not registered, or their data is unreadable.
        """
        changes = {
            what: _field(label, value, required=what == "name")
            for what, label, value in (
                ("name", "name", name),
                ("national_id", "national id", national_id),
                ("phone", "phone", phone),
                ("address", "address", address),
            )
            if value is not None
        }

        def work(connection: Connection) -> Person:
            pseudonyms = self._pseudonyms_of(registry_id, connection)
            person_id, data = self._readable(connection, pseudonyms)
            data.update(changes)
            secret = connection.execute(select(t.keys.c.secret).where(t.keys.c.person_id == person_id)).scalar_one()
            nonce, sealed = sealing.seal(bytes(secret), person_id, data)
            connection.execute(
                update(t.people).where(t.people.c.person_id == person_id).values(nonce=nonce, sealed=sealed)
            )
            return _person(pseudonyms[0], data)

        return self._write(work)

    def erase(self, registry_id: str) -> bool:
        """Delete everything the registry holds on a person: data, key and pseudonyms.

        The journal is not touched: its pseudonyms stay, and so do the person's
        once-per-beneficiary claims.  Returns whether anything was erased (erasing
        twice is harmless).
        """

        def work(connection: Connection) -> bool:
            found = self._find(connection, self._pseudonyms_of(registry_id, connection))
            if found is None:
                return False
            for table in (t.pseudonyms, t.keys, t.people):
                connection.execute(delete(table).where(table.c.person_id == found))
            return True

        erased = self._write(work)
        if erased:
            self._flush()
        return erased

    def forget_key(self, registry_id: str) -> bool:
        """Destroy the person's own key, so that their data can never be read again (crypto-shredding).

        The sealed data and the pseudonyms stay (the person shows as
        ``PersonStatus.UNREADABLE``).  Returns whether a key was destroyed.
        """

        def work(connection: Connection) -> bool:
            found = self._find(connection, self._pseudonyms_of(registry_id, connection))
            if found is None:
                return False
            return connection.execute(delete(t.keys).where(t.keys.c.person_id == found)).rowcount > 0

        forgotten = self._write(work)
        if forgotten:
            self._flush()
        return forgotten

    def _flush(self) -> None:
        """On SQLite, move the write-ahead log into the (secure-deleting) file and empty it."""
        if self._engine.dialect.name == "sqlite" and not _in_memory(self._url):
            connection = self._engine.raw_connection()  # no BEGIN: a checkpoint runs outside transactions
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()

    def rekey(self) -> int:
        """Index every readable person under every key version held, and mark those versions complete.

        Run it once after adding a new key version (see the how-to on key
        rotation).  People whose key was destroyed cannot be indexed under a new
        version.  Returns how many pseudonyms were added.
        """

        def work(connection: Connection) -> int:
            added = 0
            for person_id, data in _readable_people(connection):
                added += self._index(connection, person_id, self._keys.all_pseudonyms(data["registry_id"]))
            connection.execute(
                update(t.key_versions)
                .where(t.key_versions.c.key_version.in_(sorted(self._keys.keys)))
                .values(complete=True)
            )
            return added

        return self._write(work)

    # -- reading ---------------------------------------------------------------------------------

    def _readable(self, connection: Connection, pseudonyms: tuple[Beneficiary, ...]) -> tuple[str, dict[str, str]]:
        shown = pseudonyms[0].pseudonym
        found = self._find(connection, pseudonyms)
        if found is None:
            raise UnknownRecord(
                f"no person in the registry under beneficiary {shown} (never registered, or erased)",
                beneficiary=shown,
                status=PersonStatus.UNKNOWN,
            )
        data = self._data(connection, found)
        if data is None:
            raise UnknownRecord(
                f"the personal data of beneficiary {shown} was made unreadable (its key was destroyed)",
                beneficiary=shown,
                status=PersonStatus.UNREADABLE,
            )
        self._indexed(pseudonyms, data)
        return found, data

    def person(self, registry_id: str) -> Person:
        """The person with this registry id.

        Raises UnknownRecord if they are not registered (or were erased), or their data is unreadable.
        """

        def work(connection: Connection) -> Person:
            pseudonyms = self._pseudonyms_of(registry_id, connection)
            return _person(pseudonyms[0], self._readable(connection, pseudonyms)[1])

        return self._read(work)

    def by_pseudonym(self, beneficiary: Beneficiary | str) -> Person:
        """The person a beneficiary pseudonym belongs to, from the pseudonym index (no key needed).

        Raises UnknownRecord if no registered person has it, or their data is unreadable.
        """
        wanted = _beneficiary(beneficiary)
        return self._read(lambda connection: _person(wanted, self._readable(connection, (wanted,))[1]))

    def _indexed(self, pseudonyms: tuple[Beneficiary, ...], data: Mapping[str, str]) -> Beneficiary:
        """The first of ``pseudonyms``, if one of them really is a pseudonym of the sealed registry id.

        The index maps pseudonyms to people outside the seal: a row changed behind
        the registry would attribute one person's payments to another.  The sealed
        id, hashed again under the pseudonym's key version, must give the pseudonym.
        A pseudonym of a key version the registry was not opened with cannot be
        checked (that takes the key): open the registry with every version to check all.
        """
        checkable = [b for b in pseudonyms if b.key_version in self._keys.keys]
        if checkable and not any(self._keys.pseudonym(data["registry_id"], b.key_version) == b for b in checkable):
            raise StorageError(
                f"the registry's pseudonym index was changed: {pseudonyms[0].pseudonym} is not a pseudonym of the "
                f"person it points to; restore the registry from a backup",
                pseudonym=pseudonyms[0].pseudonym,
            )
        return pseudonyms[0]

    def lookup(self, beneficiaries: Iterable[Beneficiary | str]) -> dict[str, Person]:
        """Many pseudonyms at once, by pseudonym: each with its status (never raises for unknown ones)."""
        if isinstance(beneficiaries, str | Beneficiary) or not isinstance(beneficiaries, Iterable):
            raise InvalidArgument(
                f"lookup takes an iterable of pseudonyms (by_pseudonym takes one), got {type(beneficiaries).__name__}"
            )
        wanted = {b.pseudonym: b for b in map(_beneficiary, beneficiaries)}

        def work(connection: Connection) -> dict[str, Person]:
            found: dict[str, Person] = {}
            names = sorted(wanted)
            for start in range(0, len(names), _PAGE):
                page = names[start : start + _PAGE]
                rows = connection.execute(
                    select(t.pseudonyms.c.pseudonym, t.people, t.keys.c.secret)
                    .select_from(
                        t.pseudonyms.join(t.people, t.people.c.person_id == t.pseudonyms.c.person_id).outerjoin(
                            t.keys, t.keys.c.person_id == t.people.c.person_id
                        )
                    )
                    .where(t.pseudonyms.c.pseudonym.in_(page))
                )
                for row in rows:
                    if row.secret is None:
                        found[row.pseudonym] = Person(wanted[row.pseudonym], PersonStatus.UNREADABLE)
                    else:
                        data = sealing.unseal(bytes(row.secret), row.person_id, row.nonce, row.sealed, row.format)
                        found[row.pseudonym] = _person(self._indexed((wanted[row.pseudonym],), data), data)
            return {name: found.get(name) or Person(wanted[name], PersonStatus.UNKNOWN) for name in names}

        return self._read(work)

    def count(self) -> int:
        """How many people the registry holds (those with unreadable data included)."""
        return self._read(lambda c: int(c.execute(select(func.count()).select_from(t.people)).scalar_one()))


def _person(beneficiary: Beneficiary, data: Mapping[str, str]) -> Person:
    return Person(beneficiary, PersonStatus.REGISTERED, **{name: data[name] for name in sealing.FIELDS})


def _readable_people(connection: Connection) -> Iterator[tuple[str, dict[str, str]]]:
    """Every person whose key is held, with their data, a page at a time."""
    after = ""
    while True:
        rows = connection.execute(
            select(t.people, t.keys.c.secret)
            .select_from(t.people.join(t.keys, t.keys.c.person_id == t.people.c.person_id))
            .where(t.people.c.person_id > after)
            .order_by(t.people.c.person_id)
            .limit(_PAGE)
        ).all()
        if not rows:
            return
        for row in rows:
            yield row.person_id, sealing.unseal(bytes(row.secret), row.person_id, row.nonce, row.sealed, row.format)
        after = rows[-1].person_id


def _secure_delete(dbapi_connection: object, _: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def _retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES or "database is locked" in str(error.orig)


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


__all__ = ["Person", "PersonStatus", "Registry"]
