"""The standard chart: the accounts aid operations post to, named from their unit (and purpose, project, pledge).

:class:`Chart` builds each account as a value and writes nothing, so a query or
an export can name an account without creating it (a read must write
nothing).  The operations' own chart creates them on first use.

Account codes are Beancount-compatible: ``Assets:Bank:KZT``,
``Expenses:CASH-AID:KZT``, ``Assets:Stock:FOOD-PACKAGE``.
"""

from __future__ import annotations

from typing import Final

from aidledger.core.accounts import Account, AccountType, Side, check_code
from aidledger.core.amounts import Unit

#: The account that every fund transfer (release, designation) moves through, one per currency.
TRANSFERS_PREFIX: Final = "NetAssets:Transfers:"


def component(text: str) -> str:
    """``text`` as an account-code component that Beancount also accepts (upper case)."""
    return check_code("code", text).upper().replace("_", "-")


class Chart:
    """The standard chart's accounts, as values (see the module documentation)."""

    def _get(self, code: str, type_: AccountType, unit: Unit, **options: object) -> Account:
        return Account(code, type_, unit, **options)  # type: ignore[arg-type]

    def bank(self, unit: Unit) -> Account:
        return self._get(f"Assets:Bank:{unit.code}", AccountType.ASSET, unit, name=f"Bank, {unit.code}")

    def provider_clearing(self, unit: Unit) -> Account:
        return self._get(
            f"Assets:ProviderClearing:{unit.code}", AccountType.ASSET, unit, name="Money held by payment providers"
        )

    def payments_due(self, unit: Unit) -> Account:
        return self._get(
            f"Liabilities:PaymentsDue:{unit.code}", AccountType.LIABILITY, unit, name="Approved payments not yet paid"
        )

    def donations(self, unit: Unit) -> Account:
        return self._get(f"Revenue:Donations:{unit.code}", AccountType.REVENUE, unit, name="Cash donations")

    def in_kind_donations(self, unit: Unit) -> Account:
        return self._get(f"Revenue:InKind:{unit.code}", AccountType.REVENUE, unit, name="Donated goods, at value")

    def transfers(self, unit: Unit) -> Account:
        return self._get(
            f"{TRANSFERS_PREFIX}{unit.code}",
            AccountType.NET_ASSETS,
            unit,
            name="Releases and designations between funds",
            allow_negative=True,
        )

    def conversion(self, unit: Unit) -> Account:
        return self._get(
            f"NetAssets:Conversion:{unit.code}",
            AccountType.NET_ASSETS,
            unit,
            name="Currency conversions (trading account)",
            allow_negative=True,
        )

    def expenses(self, purpose: str, unit: Unit) -> Account:
        return self._get(f"Expenses:{component(purpose)}:{unit.code}", AccountType.EXPENSE, unit, name=purpose)

    def stock_losses(self, unit: Unit) -> Account:
        return self._get(
            f"Expenses:StockLosses:{unit.code}", AccountType.EXPENSE, unit, name="Goods lost or written off"
        )

    def stock(self, goods: Unit, *, in_transit: bool = False) -> Account:
        where = "StockInTransit" if in_transit else "Stock"
        return self._get(
            f"Assets:{where}:{goods.code}", AccountType.ASSET, goods, name=f"{goods.code} ({goods.measure})"
        )

    def stock_value(self, goods: Unit, unit: Unit, *, in_transit: bool = False) -> Account:
        where = "StockValueInTransit" if in_transit else "StockValue"
        return self._get(f"Assets:{where}:{goods.code}:{unit.code}", AccountType.ASSET, unit)

    def goods_in(self, goods: Unit) -> Account:
        return self._get(f"Revenue:GoodsIn:{goods.code}", AccountType.REVENUE, goods, name="Goods received, counted")

    def goods_delivered(self, goods: Unit) -> Account:
        return self._get(f"Expenses:GoodsDelivered:{goods.code}", AccountType.EXPENSE, goods)

    def goods_lost(self, goods: Unit) -> Account:
        return self._get(f"Expenses:GoodsLost:{goods.code}", AccountType.EXPENSE, goods)

    def commitment(self, project: str, unit: Unit) -> Account:
        return self._get(
            f"Memo:Grants:{component(project)}:{unit.code}", AccountType.MEMO, unit, name=f"Commitment to {project}"
        )

    def commitments_contra(self, unit: Unit) -> Account:
        return self._get(
            f"Memo:GrantsContra:{unit.code}",
            AccountType.MEMO,
            unit,
            normal_side=Side.CREDIT,
            name="Commitments made (counterpart; each project's own account is the one kept non-negative)",
            allow_negative=True,
        )

    def pledge(self, pledge: str, unit: Unit) -> Account:
        return self._get(
            f"Memo:Pledges:{component(pledge)}:{unit.code}", AccountType.MEMO, unit, name=f"Pledge {pledge}"
        )

    def pledges_contra(self, unit: Unit) -> Account:
        return self._get(
            f"Memo:PledgesContra:{unit.code}",
            AccountType.MEMO,
            unit,
            normal_side=Side.CREDIT,
            name="Pledges made (counterpart; each pledge's own account is the one kept non-negative)",
            allow_negative=True,
        )

    # -- budgets: each line's money moves free → committed → disbursed (and back to free when released) --

    def budget_free(self, line: str, unit: Unit) -> Account:
        return self._get(
            f"Memo:BudgetFree:{component(line)}:{unit.code}",
            AccountType.MEMO,
            unit,
            name=f"Budget line {line}: not yet committed",
        )

    def budget_committed(self, line: str, unit: Unit) -> Account:
        return self._get(
            f"Memo:BudgetCommitted:{component(line)}:{unit.code}",
            AccountType.MEMO,
            unit,
            name=f"Budget line {line}: approved, not yet paid",
        )

    def budget_disbursed(self, line: str, unit: Unit) -> Account:
        return self._get(
            f"Memo:BudgetDisbursed:{component(line)}:{unit.code}",
            AccountType.MEMO,
            unit,
            name=f"Budget line {line}: paid (net of returns)",
        )

    def budgets_contra(self, unit: Unit) -> Account:
        return self._get(
            f"Memo:BudgetsContra:{unit.code}",
            AccountType.MEMO,
            unit,
            normal_side=Side.CREDIT,
            name="Budgets made (counterpart; each line's own accounts are the ones kept non-negative)",
            allow_negative=True,
        )
