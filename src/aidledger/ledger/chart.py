"""The chart room: the accounts, funds and units a ledger knows, and adding to them.

A :class:`Chart` is what is stored at one moment; the ledger's :class:`Charts`
holds the newest one it read and swaps in a newer one when it is asked for a
code it does not know yet.  Definitions are append-only, so a newer chart is
always a superset of an older one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from aidledger.core import hashing
from aidledger.core.accounts import Account, AccountType, Fund, Restriction, Side
from aidledger.core.amounts import Unit, UnitKind
from aidledger.core.errors import (
    AidLedgerError,
    DuplicateDefinition,
    InvalidArgument,
    StorageError,
    UnknownAccount,
    UnknownFund,
)
from aidledger.store import log as store_log
from aidledger.store import schema as t

#: Account types whose balances make up a fund's net assets (assets minus liabilities).
NET_ASSET_TYPES: Final = (AccountType.ASSET, AccountType.LIABILITY)


#: What reading a definition no ledger would write raises.
_BROKEN: Final = (LookupError, ValueError, TypeError, AidLedgerError)


@attrs.frozen
class Unreadable:
    """A stored definition that cannot be read: it was changed behind the library.

    Attributes:
        kind: ``unit``, ``account`` or ``fund``.
        id: its id (units have none).
        code: its stored code.
        problem: why it cannot be read, naming the offending value.
    """

    kind: str
    id: int | None
    code: str
    problem: str

    def __str__(self) -> str:
        where = "" if self.id is None else f" (#{self.id})"
        return f"{self.kind} {self.code!r}{where} cannot be read: {self.problem}"


def _problem(error: Exception) -> str:
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


class Chart:
    """The accounts, funds and units the ledger knows, by code and by id.

    A chart is never changed once read: the ledger swaps in a new one (a
    superset, since definitions are append-only), so threads sharing a ledger
    never see one half-loaded.
    """

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.accounts: dict[str, tuple[int, Account]] = {}
        self.funds: dict[str, tuple[int, Fund]] = {}
        self.account_by_id: dict[int, Account] = {}
        self.fund_by_id: dict[int, Fund] = {}
        self.definitions: dict[tuple[str, str], list[object]] = {}
        self.texts: dict[tuple[tuple[str, str], ...], str] = {}
        self.unreadable: list[Unreadable] = []

    @classmethod
    def read(cls, connection: Connection) -> Chart:
        """The chart as stored."""
        chart = cls()
        chart.load(connection)
        return chart

    def load(self, connection: Connection) -> None:
        """Read every unit, account and fund stored into this (empty) chart.

        A definition no ledger would write (changed behind the library: its
        unit deleted, an unknown type) is not loaded; it is kept in
        :attr:`unreadable`, for ``verify`` and ``reconcile`` to report.
        """
        for row in connection.execute(select(t.units)):
            try:
                unit = Unit(code=row.code, kind=UnitKind(row.kind), exponent=row.exponent, measure=row.measure)
            except _BROKEN as error:
                self.unreadable.append(Unreadable("unit", None, str(row.code), _problem(error)))
                continue
            self.units[row.code] = unit
        for row in connection.execute(select(t.accounts)):
            try:
                account = self._account(row)
            except _BROKEN as error:
                self.unreadable.append(Unreadable("account", row.id, str(row.code), _problem(error)))
                continue
            self.accounts[row.code] = (row.id, account)
            self.account_by_id[row.id] = account
        for row in connection.execute(select(t.funds)):
            try:
                fund = Fund(
                    code=row.code,
                    name=row.name,
                    purpose=row.purpose,
                    restriction=Restriction(row.restriction),
                    allow_negative=bool(row.allow_negative),
                )
            except _BROKEN as error:
                self.unreadable.append(Unreadable("fund", row.id, str(row.code), _problem(error)))
                continue
            self.funds[row.code] = (row.id, fund)
            self.fund_by_id[row.id] = fund

    def _account(self, row: Any) -> Account:
        unit = self.units.get(row.unit_code)
        if unit is None:
            raise LookupError(f"its unit {row.unit_code!r} is not in the chart")
        return Account(
            code=row.code,
            type=AccountType(row.type),
            unit=unit,
            name=row.name,
            normal_side=Side(row.normal_side),
            allow_negative=bool(row.allow_negative),
        )

    def refuse_unreadable(self, kind: str, code: str) -> None:
        """Raise StorageError if the stored definition of this unit, account or fund cannot be read."""
        for found in self.unreadable:
            if (found.kind, found.code) == (kind, code):
                raise StorageError(
                    f"{found}; the chart of accounts was changed behind the library, run verify()",
                    kind=kind,
                    code=code,
                )

    def net_asset_ids(self, unit_code: str) -> list[int]:
        """The ids of the accounts in ``unit_code`` whose balances make up a fund's net assets."""
        return [i for i, a in self.account_by_id.items() if a.unit.code == unit_code and a.type in NET_ASSET_TYPES]

    def describe(self, account_id: int, fund_id: int) -> str:
        """``<account code> in <fund code>``, or the ids of what this chart does not know."""
        account, fund = self.account_by_id.get(account_id), self.fund_by_id.get(fund_id)
        return f"{account.code if account else self._missing('account', account_id)} in " + (
            fund.code if fund else self._missing("fund", fund_id)
        )

    def _missing(self, kind: str, id_: int) -> str:
        """``<kind> #<id>``, with its code if its stored definition is there but cannot be read."""
        code = next((u.code for u in self.unreadable if (u.kind, u.id) == (kind, id_)), None)
        return f"{kind} #{id_}" + ("" if code is None else f" ({code}, unreadable)")

    def definition(self, kind: str, code: str) -> list[object]:
        """The canonical definition of an account, fund or unit, as hashed into entries."""
        key = (kind, code)
        found = self.definitions.get(key)
        if found is None:
            if kind == "account":
                a = self.accounts[code][1]
                found = ["account", a.code, a.type.value, a.unit.code, a.normal_side.value, a.allow_negative, a.name]
            elif kind == "fund":
                f = self.funds[code][1]
                found = ["fund", f.code, f.purpose, f.restriction.value, f.allow_negative, f.name]
            else:
                u = self.units[code]
                found = ["unit", u.code, u.kind.value, u.exponent, u.measure]
            self.definitions[key] = found
        return found

    def text(self, referenced: Iterable[tuple[str, str]]) -> str:
        """The canonical JSON of the definitions an entry refers to (see ``hashing.chart_text``), cached."""
        key = tuple(referenced)
        found = self.texts.get(key)
        if found is None:
            found = self.texts[key] = hashing.chart_text([self.definition(kind, code) for kind, code in key])
        return found


class Charts:
    """A ledger's newest chart, read again when a code it lacks is asked for.

    ``connect`` opens a reading connection (the ledger's snapshot).
    """

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self.current = Chart()
        self._connect = connect

    def refresh(self) -> Chart:
        """Read the chart again, on a connection of its own."""
        with self._connect() as connection:
            return self.reload(connection)

    def reload(self, connection: Connection) -> Chart:
        """Read the chart again on ``connection`` (so it matches what else that connection reads)."""
        self.current = Chart.read(connection)
        return self.current

    def known_account(self, code: object) -> str:
        """The code of an account given as an Account or its code, or UnknownAccount."""
        if isinstance(code, Account):
            code = code.code
        if not isinstance(code, str):
            raise InvalidArgument(f"account must be an Account or its code, got {code!r}", value=code)
        if code not in self.current.accounts:
            self.refresh().refuse_unreadable("account", code)
            if code not in self.current.accounts:
                raise UnknownAccount(f"unknown account {code!r}", code=code)
        return code

    def known_fund(self, code: object) -> str:
        """The code of a fund given as a Fund or its code, or UnknownFund."""
        if isinstance(code, Fund):
            code = code.code
        if not isinstance(code, str):
            raise InvalidArgument(f"fund must be a Fund or its code, got {code!r}", value=code)
        if code not in self.current.funds:
            self.refresh().refuse_unreadable("fund", code)
            if code not in self.current.funds:
                raise UnknownFund(f"unknown fund {code!r}", code=code)
        return code

    def account(self, code: Account | str) -> Account:
        """The stored account with this code, or UnknownAccount."""
        return self.current.accounts[self.known_account(code)][1]

    def fund(self, code: Fund | str) -> Fund:
        """The stored fund with this code, or UnknownFund."""
        return self.current.funds[self.known_fund(code)][1]

    def resolve(self, account: Account | str, fund: Fund | str | None) -> tuple[int, Account, int | None]:
        """The id and definition of ``account``, and the id of ``fund`` (``None`` for every fund)."""
        account_id, found = self.current.accounts[self.known_account(account)]
        fund_id = None if fund is None else self.current.funds[self.known_fund(fund)][0]
        return account_id, found, fund_id

    def known_unit(self, unit: Unit | str) -> Unit:
        """The unit given as a Unit or its code, or InvalidArgument if the ledger does not know it."""
        unit_code = unit.code if isinstance(unit, Unit) else unit
        if unit_code not in self.current.units:
            self.refresh().refuse_unreadable("unit", unit_code)
        if unit_code not in self.current.units:
            raise InvalidArgument(f"unknown unit {unit_code!r}", unit=unit_code)
        return self.current.units[unit_code]


def add_account(connection: Connection, account: Account) -> Account:
    """Store ``account`` (and its unit); the same definition again does nothing, another is refused."""
    chart = Chart.read(connection)
    chart.refuse_unreadable("account", account.code)
    existing = chart.accounts.get(account.code)
    if existing is not None:
        if existing[1] != account:
            raise DuplicateDefinition(
                f"account {account.code} already exists as {existing[1]}, not {account}",
                code=account.code,
            )
        return account
    _add_unit(connection, account.unit, chart)
    new_id = (connection.execute(select(func.max(t.accounts.c.id))).scalar() or 0) + 1
    row = {
        "id": new_id,
        "code": account.code,
        "name": account.name,
        "type": account.type.value,
        "unit_code": account.unit.code,
        "normal_side": account.normal_side.value,
        "allow_negative": account.allow_negative,
    }
    connection.execute(insert(t.accounts).values(row))
    store_log.append(connection, [store_log.definition_item("account", row)])
    return account


def _add_unit(connection: Connection, unit: Unit, chart: Chart) -> None:
    chart.refuse_unreadable("unit", unit.code)
    existing = chart.units.get(unit.code)
    if existing is not None:
        if existing != unit:
            raise DuplicateDefinition(f"unit {unit.code} already exists as {existing}, not {unit}", code=unit.code)
        return
    row = {"code": unit.code, "kind": unit.kind.value, "exponent": unit.exponent, "measure": unit.measure}
    connection.execute(insert(t.units).values(row))
    store_log.append(connection, [store_log.definition_item("unit", row)])


def add_fund(connection: Connection, fund: Fund) -> Fund:
    """Store ``fund``; the same definition again does nothing, another is refused."""
    chart = Chart.read(connection)
    chart.refuse_unreadable("fund", fund.code)
    existing = chart.funds.get(fund.code)
    if existing is not None:
        if existing[1] != fund:
            raise DuplicateDefinition(f"fund {fund.code} already exists as {existing[1]}, not {fund}", code=fund.code)
        return fund
    new_id = (connection.execute(select(func.max(t.funds.c.id))).scalar() or 0) + 1
    row = {
        "id": new_id,
        "code": fund.code,
        "name": fund.name,
        "purpose": fund.purpose,
        "restriction": fund.restriction.value,
        "allow_negative": fund.allow_negative,
    }
    connection.execute(insert(t.funds).values(row))
    store_log.append(connection, [store_log.definition_item("fund", row)])
    return fund
