"""The chart of accounts and funds."""

from __future__ import annotations

import enum
import re
from typing import Any

import attrs

from aidledger.core.amounts import Unit
from aidledger.core.errors import InvalidArgument
from aidledger.core.validators import instance_of

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}(:[A-Za-z0-9][A-Za-z0-9_-]{0,63}){0,15}\Z")


class Side(enum.Enum):
    """The side on which an account normally carries its balance."""

    DEBIT = 1
    CREDIT = -1


class AccountType(enum.Enum):
    """The five types of a chart of accounts, plus memo accounts (commitments, pledges).

    Memo accounts take part in double entry among themselves: a memo entry moves
    an amount between a memo account and its memo counterpart, so it balances
    like any other and never touches real money.
    """

    ASSET = "asset"
    LIABILITY = "liability"
    NET_ASSETS = "net_assets"
    REVENUE = "revenue"
    EXPENSE = "expense"
    MEMO = "memo"

    @property
    def normal_side(self) -> Side:
        if self in (AccountType.ASSET, AccountType.EXPENSE, AccountType.MEMO):
            return Side.DEBIT
        return Side.CREDIT


def check_code(kind: str, code: object) -> str:
    """Return ``code`` if it is a valid account or fund code, else raise InvalidArgument."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise InvalidArgument(
            f"{kind} code must be letters, digits, '_' and '-' in ':'-separated parts, "
            f"starting with a letter; got {code!r}",
            code=code,
        )
    return code


def _code(kind: str) -> Any:
    def check(_: object, __: object, value: object) -> None:
        check_code(kind, value)

    return check


def _check_name(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or "\x00" in value or len(value) > 1000:
        raise InvalidArgument(
            f"{attribute.name} must be text without NUL of at most 1000 characters, got {value!r}", value=value
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{attribute.name} is not valid Unicode text: {value!r}", value=value) from None


@attrs.frozen
class Account:
    """An account in the chart of accounts, held in one unit.

    Attributes:
        code: hierarchical code such as ``Assets:Bank:KZT``.
        type: asset, liability, net assets, revenue, expense or memo.
        unit: the currency or commodity every posting to this account is in.
        name: a human-readable name.
        normal_side: the side of its normal balance; by default the type's (memo: debit).
        allow_negative: whether its normal balance may go below zero.  By default
            no account may, which is what keeps cash and stock from going negative.
    """

    code: str = attrs.field(validator=_code("account"))
    type: AccountType = attrs.field(validator=instance_of(AccountType))
    unit: Unit = attrs.field(validator=instance_of(Unit))
    name: str = attrs.field(default="", validator=_check_name)
    normal_side: Side = attrs.field(validator=instance_of(Side))
    allow_negative: bool = attrs.field(default=False, validator=instance_of(bool))

    @normal_side.default
    def _default_side(self) -> Side:
        # A type that is not an AccountType is refused by its validator, which runs after the defaults.
        return self.type.normal_side if isinstance(self.type, AccountType) else Side.DEBIT


class Restriction(enum.Enum):
    """Who limits what a fund's money may be spent on."""

    UNRESTRICTED = "unrestricted"
    DONOR = "donor"  # restricted by the donor; released only by its own entry
    BOARD = "board"  # designated by the board; the board may undo it


@attrs.frozen
class Fund:
    """A self-balancing segment of the ledger.

    Attributes:
        code: short code such as ``CASH-AID``.
        name: a human-readable name.
        purpose: ``None`` for an unrestricted fund, else the purpose its money is for.
        restriction: unrestricted, donor-restricted or board-designated; by default
            donor-restricted when there is a purpose.
        allow_negative: whether the fund's net assets may go below zero (by default not).
    """

    code: str = attrs.field(validator=_code("fund"))
    name: str = attrs.field(default="", validator=_check_name)
    purpose: str | None = attrs.field(default=None)
    restriction: Restriction = attrs.field(validator=instance_of(Restriction))
    allow_negative: bool = attrs.field(default=False, validator=instance_of(bool))

    @restriction.default
    def _default_restriction(self) -> Restriction:
        return Restriction.UNRESTRICTED if self.purpose is None else Restriction.DONOR

    @purpose.validator
    def _check_purpose(self, _: object, value: object) -> None:
        if value is not None:
            check_code("purpose", value)

    def __attrs_post_init__(self) -> None:
        if (self.purpose is None) != (self.restriction is Restriction.UNRESTRICTED):
            raise InvalidArgument(
                f"fund {self.code}: a restricted or designated fund needs a purpose, and an unrestricted one has none "
                f"(purpose={self.purpose!r}, restriction={self.restriction.value})",
                code=self.code,
            )

    @property
    def restricted(self) -> bool:
        """Whether spending from this fund must match its purpose (donor-restricted or board-designated)."""
        return self.purpose is not None
