"""The command's help: a flag (``--json``, ``--help``, ``--version``) is shown without a value.

Typer's help shows every option's type, flags too (``--json <bool>``), as if
they took a value.  Here a flag's type column is left empty; an option that
takes a value keeps its type (``--seed <int>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandFunctionType


def _flags_without_type(params: list[Any]) -> list[Any]:
    """``params``, with every flag's shown type (its metavar) set to nothing."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class FlagCommand(TyperCommand):
    """A command whose help shows flags without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


class FlagGroup(TyperGroup):
    """The command group (``aidledger``): its own flags without a type, and every command a :class:`FlagCommand`."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


class FlagTyper(typer.Typer):
    """A Typer app whose commands show flags without a type in their help."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", FlagCommand)
        return super().command(*args, **kwargs)


__all__ = ["FlagCommand", "FlagGroup", "FlagTyper"]
