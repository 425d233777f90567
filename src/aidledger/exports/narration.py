"""What an exported transaction says to a reader: its payee, its narration and its dimensions.

The Beancount, hledger and CSV exports describe every journal entry the same way, from the entry's kind and tags
alone (:func:`describe`):

* the **payee** is the other party where there is one: the donor of a donation, a pledge or donated goods, the
  grantee of a grant, the provider a payment list was sent to.  A household is never a payee: a payment to one
  has no payee (its pseudonym stays in the ``beneficiary`` tag), so no personal data can appear there.
* the **narration** says what happened in words (``Donation from Diaspora fund, 1,000.00 USD at 425.50``,
  ``Cash aid payment, list FAM-1 line F1``, ``Food package delivered, Dostyk``, ``Housing grant tranche 2 of
  3, project DOSTYK``), followed by the entry's memo after a dash when it has one; a reversal starts with
  ``Reversal:``.

The **dimensions** (:data:`DIMENSIONS`) are the tags an auditor filters on; the exports write each as its own
Beancount metadata key and hledger tag, next to the entry's other tags.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from aidledger.core.entries import JournalEntry
from aidledger.core.errors import InvalidArgument
from aidledger.core.formatting import format_number
from aidledger.vocabulary import Event, Kind, Tag

__all__ = ["DIMENSIONS", "Description", "describe"]

#: The dimensions an auditor filters the books on, in the order the exports write them.
DIMENSIONS: Final = ("fund", Tag.PROGRAMME, Tag.PROJECT, Tag.PURPOSE, Tag.REGION, Tag.DONOR, Tag.LIST)

#: Which tag names the entry's payee, by kind (the first present wins).
_PAYEE_TAGS: Final[Mapping[str, tuple[str, ...]]] = {
    Kind.DONATION: (Tag.DONOR,),
    Kind.REFUND: (Tag.DONOR,),
    Kind.PLEDGE: (Tag.DONOR,),
    Kind.PLEDGE_WRITE_OFF: (Tag.DONOR,),
    Kind.GOODS_DONATION: (Tag.DONOR,),
    Kind.PAYMENT_TRANSFER: (Tag.PROVIDER,),
    Kind.PAYMENT_PAID: (Tag.PROVIDER,),
    Kind.PAYMENT_FAILED: (Tag.PROVIDER,),
    Kind.PAYMENT_RETURNED: (Tag.PROVIDER,),
    Kind.GRANT_COMMITMENT: (Tag.GRANTEE,),
    Kind.GRANT_TRANCHE: (Tag.GRANTEE,),
    Kind.GRANT_CLAWBACK: (Tag.GRANTEE,),
}


@attrs.frozen
class Description:
    """How an export names one journal entry.

    Attributes:
        payee: the other party (donor, grantee, provider), or ``None``; never a person's personal data.
        narration: what happened, in words, with the entry's memo after a dash; never empty.
    """

    payee: str | None
    narration: str


def _words(code: str) -> str:
    """A code as words: ``cash-aid`` → ``Cash aid``, ``FOOD-PACKAGE`` → ``Food package``."""
    text = code.replace("-", " ").replace("_", " ").strip().lower()
    return text[:1].upper() + text[1:]


def _grouped(number: str) -> str:
    """A decimal with thousands separators (``36000.00`` → ``36,000.00``); other text unchanged."""
    try:
        return format_number(Decimal(number))
    except (InvalidOperation, InvalidArgument):
        return number


def _joined(*parts: str | None) -> str:
    return ", ".join(part for part in parts if part)


def _from(tags: Mapping[str, str], name: str, word: str) -> str | None:
    return f"{word} {tags[name]}" if tags.get(name) else None


def _donation(tags: Mapping[str, str]) -> str:
    head = "Donation" + (f" from {tags[Tag.DONOR]}" if tags.get(Tag.DONOR) else "")
    if tags.get(Tag.ORIGINAL_AMOUNT) and tags.get(Tag.ORIGINAL_CURRENCY):
        foreign = f"{_grouped(tags[Tag.ORIGINAL_AMOUNT])} {tags[Tag.ORIGINAL_CURRENCY]}"
        return _joined(head, foreign + (f" at {tags[Tag.RATE]}" if tags.get(Tag.RATE) else ""))
    return head


def _payment(tags: Mapping[str, str], what: str) -> str:
    purpose = _words(tags.get(Tag.PURPOSE, "")) or "Aid"
    return _joined(f"{purpose} {what}", _from(tags, Tag.LIST, "list"), _from(tags, Tag.REFERENCE, "line"))


def _goods(tags: Mapping[str, str], what: str) -> str:
    goods = _words(tags.get(Tag.COMMODITY, "")) or "Goods"
    return _joined(
        f"{goods} {what}",
        _from(tags, Tag.DONOR, "from"),
        tags.get(Tag.SETTLEMENT),
        tags.get(Tag.REGION),
        _words(tags.get(Tag.REASON, "")),
    )


def _grant(tags: Mapping[str, str], what: str) -> str:
    """``Housing grant tranche 2 of 3, project DOSTYK, roofs``: the tranche's number and the project's count of
    tranches are the entry's own tags (``tranche``, ``tranches``), where the grant agreement gave them."""
    purpose = _words(tags.get(Tag.PURPOSE, "")) or "Grant"
    number, count = tags.get(Tag.TRANCHE), tags.get(Tag.TRANCHES)
    if number:
        what += f" {number}" + (f" of {count}" if count else "")
    elif count:
        what += f" in {count} tranches"
    return _joined(f"{purpose} {what}", _from(tags, Tag.PROJECT, "project"), tags.get(Tag.MILESTONE))


def _transfer(tags: Mapping[str, str], what: str) -> str:
    return _joined(what, _from(tags, Tag.FROM_FUND, "from"), _from(tags, Tag.TO_FUND, "to"))


_NARRATIONS: Final[Mapping[str, Callable[[Mapping[str, str]], str]]] = {
    Kind.DONATION: _donation,
    Kind.REFUND: lambda t: "Refund" + (f" to {t[Tag.DONOR]}" if t.get(Tag.DONOR) else ""),
    Kind.CONVERSION: lambda t: _joined("Currency conversion", _from(t, Tag.RATE, "at")),
    Kind.RELEASE: lambda t: _transfer(t, "Release from restriction"),
    Kind.DESIGNATION: lambda t: _transfer(t, "Designation by the board"),
    Kind.UNDESIGNATION: lambda t: _transfer(t, "Designation undone"),
    Kind.PLEDGE: lambda t: _from(t, Tag.PLEDGE, "Pledge") or "Pledge",
    Kind.PLEDGE_WRITE_OFF: lambda t: (_from(t, Tag.PLEDGE, "Pledge") or "Pledge") + " written off",
    Kind.PAYMENT: lambda t: _payment(t, "payment"),
    Kind.PAYMENT_TRANSFER: lambda t: " ".join(
        p for p in ("Payment list", t.get(Tag.LIST), "sent", _from(t, Tag.PROVIDER, "to")) if p
    ),
    Kind.PAYMENT_PAID: lambda t: _payment(t, "paid"),
    Kind.PAYMENT_FAILED: lambda t: _payment(t, "payment failed"),
    Kind.PAYMENT_RETURNED: lambda t: _payment(t, "payment returned"),
    Kind.GOODS_DONATION: lambda t: _goods(t, "received"),
    Kind.GOODS_PURCHASE: lambda t: _goods(t, "bought"),
    Kind.GOODS_DISPATCH: lambda t: _goods(t, "dispatched"),
    Kind.GOODS_DELIVERY: lambda t: _goods(t, "delivered"),
    Kind.GOODS_LOSS: lambda t: _goods(t, "written off"),
    Kind.GRANT_COMMITMENT: lambda t: _grant(t, "grant committed"),
    Kind.GRANT_TRANCHE: lambda t: _grant(t, "grant tranche"),
    Kind.GRANT_CLAWBACK: lambda t: _grant(t, "grant clawed back"),
}


def _payee(entry: JournalEntry) -> str | None:
    for name in _PAYEE_TAGS.get(entry.kind, ()):
        value = entry.tags.get(name, "").strip()
        if value:
            return value
    return None


def describe(entry: JournalEntry) -> Description:
    """The payee and narration of ``entry``, from its kind, tags and memo.

    >>> from aidledger.exports.narration import describe
    >>> import pendulum
    >>> from aidledger import Account, AccountType, Fund, JournalEntry, Money, Posting, currency
    >>> kzt = currency("KZT")
    >>> bank = Account("Assets:Bank:KZT", AccountType.ASSET, kzt)
    >>> income = Account("Revenue:Donations:KZT", AccountType.REVENUE, kzt)
    >>> fund = Fund("GENERAL")
    >>> entry = JournalEntry(kind="donation", effective_at=pendulum.datetime(2020, 4, 1, tz="Asia/Almaty"),
    ...     postings=[Posting.debit(bank, fund, Money("10", "KZT")), Posting.credit(income, fund, Money("10", "KZT"))],
    ...     actor="cashier", tags={"donor": "Halyk Bank"}, memo="statement line 1")
    >>> describe(entry)
    Description(payee='Halyk Bank', narration='Donation from Halyk Bank — statement line 1')
    """
    tags = entry.tags
    make = _NARRATIONS.get(entry.kind)
    text = make(tags) if make is not None else _words(entry.kind)
    if entry.reverses is not None:
        text = f"Reversal: {text}"
    elif tags.get(Tag.CORRECTS):
        text = f"Correction: {text}"
    if tags.get(Tag.EVENT) == Event.FULFILLED:
        text = _joined(text, _from(tags, Tag.PLEDGE, "pledge"))
    if entry.memo.strip() and entry.memo not in text:
        text = f"{text} — {entry.memo}"
    return Description(payee=_payee(entry), narration=text)
