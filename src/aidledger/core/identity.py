"""How two spellings of one identity are recognised as the same: actors and registry ids.

A maker who approves their own batch as ``officer `` (a trailing space), as
``Оfficer`` (a Cyrillic ``О``) or with a zero-width space inside, and a household
registered as ``kz-hh-0000050`` and as ``KZ‐HH‐0000050`` (Unicode hyphens), are
the same person.  :func:`identity_key` is the one rule by which aidledger
compares actors (maker and checker) and by which it turns a registry id into
a pseudonym:

1. Unicode NFKC (full-width letters, ligatures and compatibility forms become plain ones);
2. upper case;
3. every Unicode dash or hyphen becomes ``-``;
4. letters that look like Latin ones (Cyrillic and Greek confusables such as ``А В Е К М Н О Р С Т Х``)
   become the Latin letter;
5. white space and invisible format characters (zero-width spaces and joiners, the BOM) are removed.

The steps are repeated until nothing changes (removing a space can let a mark compose anew), so the key
of a key is itself.

The key is only for comparing and hashing: what an entry stores as its actor
is the text the caller gave.  Zero padding is kept (``HH-050`` and ``HH-50``
stay two ids), since registries differ on whether it is significant.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from aidledger.core.errors import InvalidArgument

_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u058a\u05be\u1806\u2e3a\u2e3b"

# Upper- and lower-case Cyrillic and Greek letters that render like a Latin letter.
_CONFUSABLES: Final = str.maketrans(
    {
        **dict(zip("АВЕКМНОРСТХУІЈЅԁаеорсухіјѕԛԝ", "ABEKMHOPCTXYIJSdaeopcyxijsqw", strict=True)),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧο", "ABEZHIKMNOPTYXo", strict=True)),
        **dict.fromkeys(_DASHES, "-"),
    }
)


def identity_key(text: object, what: str = "identity") -> str:
    """The form in which two spellings of one actor or registry id compare equal (see the module's rule).

    >>> identity_key(" Оfficer\u200b ") == identity_key("OFFICER")
    True
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"{what} must be text, got {text!r}", value=text)
    kept = text
    for _ in range(4):  # removing a space can let marks compose anew: fold until nothing changes
        folded = _fold(kept)
        if folded == kept:
            break
        kept = folded
    if not kept:
        raise InvalidArgument(f"{what} {text!r} has no visible characters", value=text)
    return kept


def _fold(text: str) -> str:
    upper = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
    return "".join(c for c in upper.translate(_CONFUSABLES) if not c.isspace() and unicodedata.category(c) != "Cf")


def same_identity(left: str, right: str) -> bool:
    """Whether two actors (or registry ids) are one identity under :func:`identity_key`."""
    return identity_key(left) == identity_key(right)


__all__ = ["identity_key", "same_identity"]
