"""attrs validators that raise aidledger's typed errors, naming the offending value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aidledger.core.errors import InvalidArgument


def instance_of(*types: type) -> Callable[[Any, Any, Any], None]:
    """Like ``attrs.validators.instance_of``, but refuses with :class:`InvalidArgument` (also a ValueError).

    The message names the field, the expected type and the value given:
    ``account must be an Account, got 'Assets:Bank:KZT' (str)``.
    """
    names = " or ".join(t.__name__ for t in types)

    def check(_: object, attribute: Any, value: object) -> None:
        if not isinstance(value, types):
            article = "an" if names[:1].lower() in "aeiou" else "a"
            raise InvalidArgument(
                f"{attribute.name} must be {article} {names}, got {value!r} ({type(value).__name__})", value=value
            )

    return check


__all__ = ["instance_of"]
