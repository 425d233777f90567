"""Sealing one person's personal data with their own key (AES-256-GCM).

Each person has a random 256-bit key.  Their data is a small JSON object,
encrypted with a fresh random 96-bit nonce; the associated data binds the
ciphertext to the person's row, so a sealed value copied onto another row does
not open.  Without the key the data cannot be read, which is what makes
deleting the key an erasure (crypto-shredding).
"""

from __future__ import annotations

import json
import os
from typing import Final

from aidledger.core.errors import StorageError

#: The sealed format's version, stored with each row.
FORMAT: Final = 1
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
FIELDS: Final = ("registry_id", "name", "national_id", "phone", "address")


def new_key() -> bytes:
    """A fresh random key for one person."""
    # cryptography is imported where it is used, so that `import aidledger` does not load it.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _associated(person_id: str) -> bytes:
    return f"aidledger-registry:{FORMAT}:{person_id}".encode()


def seal(key: bytes, person_id: str, data: dict[str, str]) -> tuple[bytes, bytes]:
    """``(nonce, ciphertext)`` of ``data`` (the :data:`FIELDS`) under ``key``, bound to ``person_id``."""
    plain = json.dumps({name: data[name] for name in FIELDS}, ensure_ascii=False, sort_keys=True).encode("utf-8")
    nonce = os.urandom(NONCE_BYTES)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return nonce, AESGCM(key).encrypt(nonce, plain, _associated(person_id))


def unseal(key: bytes, person_id: str, nonce: bytes, sealed: bytes, format_: int) -> dict[str, str]:
    """The data sealed by :func:`seal`; StorageError if the row was changed behind the registry."""
    if format_ != FORMAT or len(key) != KEY_BYTES:
        raise StorageError(f"registry row {person_id} has an unknown format {format_}", person=person_id)
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plain = AESGCM(key).decrypt(bytes(nonce), bytes(sealed), _associated(person_id))
    except InvalidTag:
        raise StorageError(
            f"registry row {person_id} does not open with its key: it was changed behind the registry",
            person=person_id,
        ) from None
    data = json.loads(plain.decode("utf-8"))
    if not isinstance(data, dict) or sorted(data) != sorted(FIELDS):
        raise StorageError(f"registry row {person_id} holds unexpected fields", person=person_id)
    return {name: str(data[name]) for name in FIELDS}
