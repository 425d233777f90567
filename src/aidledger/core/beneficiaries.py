"""Pseudonymous beneficiary keys.

The journal knows a household or a person only by a keyed hash (HMAC-SHA-256)
of the registry's id under a secret that never enters the ledger database.
The key has a version, recorded in every pseudonym (``v1-…``), so keys can be
rotated: a pseudonymizer that holds the old keys as well as the new one can
say which pseudonyms belong to the same registry id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import attrs

from aidledger.core.errors import InvalidArgument
from aidledger.core.identity import identity_key

#: Environment variable that holds the pseudonym key (hex), if no key is passed in.
KEY_ENV: Final = "AIDLEDGER_PSEUDONYM_KEY"
#: Environment variable naming a file that holds the key (hex), as an alternative.
KEY_FILE_ENV: Final = "AIDLEDGER_PSEUDONYM_KEY_FILE"
_PSEUDONYM = re.compile(r"^v([0-9]{1,4})-([0-9a-f]{64})\Z")
MIN_KEY_BYTES: Final = 32


@attrs.frozen
class Beneficiary:
    """A beneficiary as the journal knows it: only a pseudonym.

    Attributes:
        pseudonym: ``v<key version>-<64 hex digits>``.
    """

    pseudonym: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.pseudonym, str) or not _PSEUDONYM.match(self.pseudonym):
            raise InvalidArgument(
                f"not a beneficiary pseudonym (expected v<version>-<64 hex digits>): {self.pseudonym!r}",
                value=self.pseudonym,
            )

    @property
    def key_version(self) -> int:
        # The pseudonym was checked against _PSEUDONYM on construction: "v<version>-<hash>".
        return int(self.pseudonym[1 : self.pseudonym.index("-")])

    def __str__(self) -> str:
        return self.pseudonym


def _to_keys(keys: Mapping[int, bytes]) -> Mapping[int, bytes]:
    if not isinstance(keys, Mapping):
        raise InvalidArgument("keys must map versions to secret bytes")
    return types.MappingProxyType(dict(keys))


def _check_keys(_: object, __: object, keys: Mapping[int, bytes]) -> None:
    if not keys:
        raise InvalidArgument("a pseudonymizer needs at least one key")
    for version, key in keys.items():
        if type(version) is not int or not 1 <= version <= 9999:
            raise InvalidArgument(f"key versions are integers from 1 to 9999, got {version!r}", value=version)
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise InvalidArgument(
                f"pseudonym key version {version} must be at least {MIN_KEY_BYTES} random bytes", version=version
            )


@attrs.frozen(repr=False)
class Pseudonymizer:
    """Turns registry ids into beneficiary pseudonyms with a secret key.

    Attributes:
        keys: the secret keys by version (keep old versions to recognise old pseudonyms).
        current: the version new pseudonyms are made with (by default the highest).
    """

    keys: Mapping[int, bytes] = attrs.field(converter=_to_keys, validator=_check_keys)
    current: int = attrs.field()

    @current.default
    def _newest(self) -> int:
        # The keys' validator runs after the defaults: an empty mapping is refused there, by name.
        return max(self.keys, default=0)

    def __attrs_post_init__(self) -> None:
        if self.current not in self.keys:
            raise InvalidArgument(f"no key with version {self.current}", version=self.current)

    def __repr__(self) -> str:  # never show the keys
        return f"Pseudonymizer(versions={sorted(self.keys)}, current={self.current})"

    @classmethod
    def from_hex(cls, key: str, version: int = 1) -> Pseudonymizer:
        """A pseudonymizer with one key given as hex text."""
        try:
            raw = bytes.fromhex(key.strip())
        except (ValueError, AttributeError):
            raise InvalidArgument("the pseudonym key must be hex text") from None
        return cls({version: raw})

    @classmethod
    def from_environment(cls, version: int = 1) -> Pseudonymizer:
        """The key from ``AIDLEDGER_PSEUDONYM_KEY`` (hex), or from the file ``AIDLEDGER_PSEUDONYM_KEY_FILE`` names."""
        if os.environ.get(KEY_ENV):
            return cls.from_hex(os.environ[KEY_ENV], version)
        if os.environ.get(KEY_FILE_ENV):
            path = Path(os.environ[KEY_FILE_ENV])
            try:
                return cls.from_hex(path.read_text(), version)
            except OSError as error:
                raise InvalidArgument(f"cannot read the pseudonym key file {str(path)!r}: {error.strerror}") from None
        raise InvalidArgument(f"no pseudonym key: set {KEY_ENV} (hex) or {KEY_FILE_ENV}")

    def pseudonym(self, registry_id: str, version: int | None = None) -> Beneficiary:
        """The beneficiary for ``registry_id`` under the current key (or the given version)."""
        if not isinstance(registry_id, str) or not registry_id.strip():
            raise InvalidArgument(f"a registry id must be non-empty text, got {registry_id!r}")
        version = self.current if version is None else version
        if version not in self.keys:
            raise InvalidArgument(f"no key with version {version}", version=version)
        # Two spellings of one id (case, spaces, Unicode hyphens, look-alike letters) are one beneficiary.
        normal = identity_key(registry_id, "registry id")
        digest = hmac.new(self.keys[version], normal.encode("utf-8"), hashlib.sha256).hexdigest()
        return Beneficiary(f"v{version}-{digest}")

    def all_pseudonyms(self, registry_id: str) -> tuple[Beneficiary, ...]:
        """The beneficiary's pseudonym under every key held, newest first."""
        return tuple(self.pseudonym(registry_id, version) for version in sorted(self.keys, reverse=True))
