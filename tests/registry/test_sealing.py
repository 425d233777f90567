"""Sealing one person's data with their own key: AES-256-GCM bound to the person's row."""

from __future__ import annotations

import pytest

from aidledger import StorageError
from aidledger.registry.sealing import FORMAT, KEY_BYTES, NONCE_BYTES, new_key, seal, unseal
from tests.registry import fake

DATA = {"registry_id": "KZ-HH-0000001", **fake(1)}


class TestSealing:
    def test_sealed_data_opens_with_its_key_and_person(self) -> None:
        """What is sealed comes back exactly, Cyrillic included, and the ciphertext does not show it."""
        key = new_key()
        data = {"registry_id": "KZ-HH-0000005", **fake(5)}
        nonce, sealed = seal(key, "p-1", data)
        assert len(key) == KEY_BYTES and len(nonce) == NONCE_BYTES
        assert unseal(key, "p-1", nonce, sealed, FORMAT) == data
        assert not any(value.encode() in sealed for value in data.values())

    def test_every_seal_takes_a_fresh_nonce_and_every_person_a_fresh_key(self) -> None:
        """Sealing the same data twice gives different bytes; two keys are never the same."""
        key = new_key()
        assert seal(key, "p-1", DATA) != seal(key, "p-1", DATA)
        assert new_key() != new_key()

    def test_only_the_known_fields_are_sealed(self) -> None:
        """Fields beyond the registry's are left out; a missing field is a KeyError before anything is sealed."""
        key = new_key()
        nonce, sealed = seal(key, "p-1", {**DATA, "religion": "x"})
        assert unseal(key, "p-1", nonce, sealed, FORMAT) == DATA
        with pytest.raises(KeyError):
            seal(key, "p-1", {"registry_id": "x"})


class TestTampering:
    def test_a_row_moved_to_another_person_does_not_open(self) -> None:
        """The person's id is bound in: another person's sealed data under this id is refused, not misread."""
        key = new_key()
        nonce, sealed = seal(key, "p-1", DATA)
        with pytest.raises(StorageError, match="registry row p-2 does not open with its key"):
            unseal(key, "p-2", nonce, sealed, FORMAT)

    def test_a_changed_byte_or_another_key_does_not_open(self) -> None:
        """Any change to the ciphertext, or the wrong key, is a StorageError."""
        key = new_key()
        nonce, sealed = seal(key, "p-1", DATA)
        changed = bytes([sealed[0] ^ 1]) + sealed[1:]
        for attempt in ((key, nonce, changed), (new_key(), nonce, sealed)):
            with pytest.raises(StorageError, match="changed behind the registry"):
                unseal(attempt[0], "p-1", attempt[1], attempt[2], FORMAT)

    @pytest.mark.parametrize(("key_bytes", "format_"), [(KEY_BYTES, FORMAT + 1), (16, FORMAT)])
    def test_an_unknown_format_or_key_size_is_refused(self, key_bytes: int, format_: int) -> None:
        """A row of a format this version does not know is refused before decrypting."""
        key = new_key()
        nonce, sealed = seal(key, "p-1", DATA)
        with pytest.raises(StorageError, match="unknown format"):
            unseal(key[:key_bytes], "p-1", nonce, sealed, format_)
